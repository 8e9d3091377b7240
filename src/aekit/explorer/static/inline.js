// aekit explorer in a notebook (aekit.explore(), AutoEncoder.explore()): the page runs inside an
// <iframe srcdoc> and tells the iframe how tall it is, so the notebook shows it whole without a
// scrollbar. Directly through frameElement when the notebook shares the page's origin, else by a
// postMessage the cell's small listener answers. It never reaches anything outside the page.
"use strict";

(function () {
  if (window.parent === window) return;  // a page of its own (opened from disk): nothing to size
  let last = 0;
  function report() {
    const height = Math.ceil(document.documentElement.scrollHeight) + 4;
    if (Math.abs(height - last) < 2) return;
    last = height;
    let frame = null;
    try { frame = window.frameElement; } catch (err) { frame = null; }  // cross-origin: null or a throw
    if (frame) frame.style.height = `${height}px`;
    else window.parent.postMessage({ aekitExplorerHeight: height }, "*");
  }
  function start() {
    report();
    if (typeof ResizeObserver === "function") new ResizeObserver(report).observe(document.body);
    else setInterval(report, 500);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
