// aekit explorer plugin: draw your own input on the pixel grid, or drop (or open) a PNG.
// The drawing is encoded as it grows (at most one encode in flight), so the dot jumps to its code.
"use strict";

(window.AekitExplorer = window.AekitExplorer || { plugins: [] }).plugins.push((core) => {
  const { $, state } = core;
  const geom = core.imageGeometry();
  if (!geom) return;  // tables have no pixel grid to paint
  const { c, h, w } = geom;
  const [low, high] = core.meta.dataset.value_range;
  const canvas = $("input-canvas");
  const cursor = { i: Math.floor(h / 2), j: Math.floor(w / 2), shown: false };
  let drawing = null, encoding = false, dirty = false, painting = null, last = null;
  $("draw-tools").hidden = false;
  $("draw-help").hidden = false;

  // Encode the drawing: one request at a time, the newest drawing when it ends.
  function encodeSoon() {
    if (encoding) { dirty = true; return; }
    encoding = true;
    dirty = false;
    core.selectInput("drawing", drawing.slice()).catch(core.report).finally(() => {
      encoding = false;
      if (dirty) encodeSoon();
    });
  }

  function startDrawing() {
    if (state.inputName !== "drawing" || !drawing) drawing = state.input ? state.input.slice() : new Array(c * h * w).fill(low);
  }

  // A 1-pixel brush on small images (12x12); on larger ones (MNIST's 28x28) a soft 3x3 one, like a pen.
  function dab(i, j, value) {
    const soft = Math.max(h, w) >= 20;
    for (let di = -1; di <= 1; di++) {
      for (let dj = -1; dj <= 1; dj++) {
        const ii = i + di, jj = j + dj;
        if (ii < 0 || jj < 0 || ii >= h || jj >= w || ((di || dj) && !soft)) continue;
        const v = di || dj ? low + (value - low) * (di && dj ? 0.25 : 0.5) : value;
        for (let ch = 0; ch < c; ch++) {
          const k = ch * h * w + ii * w + jj;
          drawing[k] = value >= drawing[k] ? Math.max(drawing[k], v) : (di || dj ? drawing[k] : v);
        }
      }
    }
  }

  function cell(event) {
    const [px, py] = core.canvasPoint(canvas, event);
    const scale = Math.max(1, Math.floor(Math.min(canvas.width / w, canvas.height / h)));
    return [Math.min(h - 1, Math.max(0, Math.floor(py / scale))), Math.min(w - 1, Math.max(0, Math.floor(px / scale)))];
  }

  // Paint every cell on the segment from the last point, so fast strokes leave no gaps.
  function stroke(to, value) {
    const from = last || to;
    const n = Math.max(Math.abs(to[0] - from[0]), Math.abs(to[1] - from[1]), 1);
    for (let s = 0; s <= n; s++) {
      dab(Math.round(from[0] + ((to[0] - from[0]) * s) / n), Math.round(from[1] + ((to[1] - from[1]) * s) / n), value);
    }
    last = to;
    redraw();
    encodeSoon();
  }

  function redraw() {
    core.paint(canvas, drawing || state.input);
    if (!cursor.shown) return;
    const scale = Math.max(1, Math.floor(Math.min(canvas.width / w, canvas.height / h)));
    const ctx = canvas.getContext("2d");
    ctx.strokeStyle = "#f28e2b"; ctx.lineWidth = 2;
    ctx.strokeRect(cursor.j * scale + 1, cursor.i * scale + 1, scale - 2, scale - 2);
  }

  canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 && event.button !== 2) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    startDrawing();
    painting = event.button === 2 || event.altKey ? low : high;
    last = null;
    stroke(cell(event), painting);
  });
  canvas.addEventListener("pointermove", (event) => { if (painting !== null) stroke(cell(event), painting); });
  const stop = (event) => {
    painting = null;
    if (canvas.hasPointerCapture(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
  };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);

  canvas.addEventListener("focus", () => { cursor.shown = true; redraw(); });
  canvas.addEventListener("blur", () => { cursor.shown = false; redraw(); });
  canvas.addEventListener("keydown", (event) => {
    const moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    if (moves[event.key]) {
      cursor.i = Math.min(h - 1, Math.max(0, cursor.i + moves[event.key][0]));
      cursor.j = Math.min(w - 1, Math.max(0, cursor.j + moves[event.key][1]));
    } else if (event.key !== " " && event.key !== "Enter" && event.key !== "Delete" && event.key !== "Backspace") {
      return;
    }
    event.preventDefault();
    const value = event.key === "Delete" || event.key === "Backspace" ? low : high;
    if (!moves[event.key] || event.shiftKey) {  // space, enter, delete; or shift+arrow paints while moving
      startDrawing();
      last = null;
      stroke([cursor.i, cursor.j], value);
    } else {
      redraw();
    }
  });

  function clear() {
    drawing = new Array(c * h * w).fill(low);
    redraw();
    encodeSoon();
  }
  $("clear-input").addEventListener("click", clear);

  // A PNG (or any image the browser decodes), resized to the model's input size; greyscale by ITU-R
  // 601 luma (as PIL's convert("L")) for one channel; transparent pixels count as black.
  async function loadImage(file) {
    if (!file || !/^image\//.test(file.type)) throw new Error(`${file ? file.name : "nothing"} is not an image`);
    const bitmap = await createImageBitmap(file);
    const small = document.createElement("canvas");
    small.width = w; small.height = h;
    const ctx = small.getContext("2d", { willReadFrequently: true });
    ctx.fillStyle = "#000"; ctx.fillRect(0, 0, w, h);
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, 0, 0, w, h);
    const rgba = ctx.getImageData(0, 0, w, h).data;
    const x = new Array(c * h * w);
    for (let k = 0; k < h * w; k++) {
      const [r, g, b] = [rgba[4 * k], rgba[4 * k + 1], rgba[4 * k + 2]];
      if (c === 1) x[k] = low + ((0.299 * r + 0.587 * g + 0.114 * b) / 255) * (high - low);
      else for (let ch = 0; ch < c; ch++) x[ch * h * w + k] = low + ([r, g, b][ch] / 255) * (high - low);
    }
    drawing = null;
    await core.selectInput(file.name, x.map(Math.fround));
  }
  canvas.addEventListener("dragover", (event) => { event.preventDefault(); canvas.classList.add("drop"); });
  canvas.addEventListener("dragleave", () => canvas.classList.remove("drop"));
  canvas.addEventListener("drop", (event) => {
    event.preventDefault();
    canvas.classList.remove("drop");
    loadImage(event.dataTransfer.files[0]).catch(core.report);
  });
  $("png-file").addEventListener("change", (event) => {
    loadImage(event.target.files[0]).catch(core.report).finally(() => { event.target.value = ""; });
  });
  core.hooks.input.push(() => {
    if (state.inputName !== "drawing") drawing = null;
    if (drawing || cursor.shown) redraw();  // the newest strokes, not the drawing just encoded
  });
  Object.assign(core.explorer, { clearInput: clear });
});
