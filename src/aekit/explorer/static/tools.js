// aekit explorer plugin: the error landscape (the plane shaded by how well each point reconstructs
// the input) and the interpolation path between two points, with its decodes.
"use strict";

(window.AekitExplorer = window.AekitExplorer || { plugins: [] }).plugins.push((core) => {
  const { $, state, hooks } = core;
  const LANDSCAPE_N = 24;  // 24 x 24 decodes, in requests of at most max_decode codes
  const PATH_STEPS = 10;

  // -- error landscape ------------------------------------------------------------------------
  // Cell (row i, column j) holds the MSE against the input of the decode at the cell's centre: the
  // plane's two dims at that point, the other dims at the dot's values.
  state.showLandscape = false;
  state.landscape = null;  // {key, n, codes and errors (n * n, row-major from the top), low, high}
  let landscapeToken = 0, image = null, inputVersion = 0;

  function landscapeKey() {
    const v = core.view();
    const others = state.code.filter((_, d) => !state.dims.includes(d));
    return JSON.stringify([state.model, inputVersion, state.dims, others, v.cx, v.cy, v.half]);
  }

  async function computeLandscape() {
    if (!state.showLandscape || !state.input) return;
    const key = landscapeKey();
    if (state.landscape && state.landscape.key === key) return;
    const token = ++landscapeToken;
    const v = core.view(), n = LANDSCAPE_N, cellPx = v.size / n;
    const codes = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) codes.push(core.codeAt(v, (j + 0.5) * cellPx, (i + 0.5) * cellPx));
    }
    const model = state.model, x = state.input, per = core.meta.limits.max_decode;
    const errors = [];
    state.pending++;
    try {
      for (let s = 0; s < codes.length; s += per) {
        const out = await core.backend.decode(model, codes.slice(s, s + per), x);
        if (token !== landscapeToken) return;
        errors.push(...out.errors);
      }
    } finally {
      state.pending--;
    }
    state.landscape = { key, n, codes, errors, low: Math.min(...errors), high: Math.max(...errors) };
    image = null;
    core.drawPlane();
  }

  // Low error light yellow, high error dark blue, on a log scale (errors span decades).
  function shade(t) {
    const stops = [[255, 247, 188], [254, 196, 79], [65, 182, 196], [34, 94, 168], [12, 44, 132]];
    const f = Math.min(1, Math.max(0, t)) * (stops.length - 1), k = Math.min(stops.length - 2, Math.floor(f));
    return stops[k].map((a, ch) => Math.round(a + (stops[k + 1][ch] - a) * (f - k)));
  }

  hooks.underlay.push((ctx, v) => {
    const land = state.landscape;
    if (!state.showLandscape || !land || land.key !== landscapeKey()) return;
    if (!image) {
      image = document.createElement("canvas");
      image.width = image.height = land.n;
      const small = image.getContext("2d");
      const data = small.createImageData(land.n, land.n);
      const lo = Math.log(land.low + 1e-12), span = Math.log(land.high + 1e-12) - lo || 1;
      land.errors.forEach((e, k) => {
        const rgb = shade((Math.log(e + 1e-12) - lo) / span);
        data.data.set([...rgb, 255], 4 * k);
      });
      small.putImageData(data, 0, 0);
    }
    ctx.imageSmoothingEnabled = false;
    ctx.globalAlpha = 0.7;
    ctx.drawImage(image, 0, 0, v.size, v.size);
    ctx.globalAlpha = 1;
    ctx.imageSmoothingEnabled = true;
  });

  function refreshLandscape() { computeLandscape().catch(core.report); }
  async function setLandscape(on) {
    state.showLandscape = Boolean(on);
    $("landscape-toggle").checked = state.showLandscape;
    hooks.toggle.forEach((fn) => fn("landscape"));
    core.drawPlane();
    await computeLandscape();
  }
  $("landscape-toggle").addEventListener("change", (event) => setLandscape(event.target.checked).catch(core.report));
  hooks.input.push(() => { inputVersion++; refreshLandscape(); });
  hooks.model.push(refreshLandscape);
  hooks.dims.push(refreshLandscape);
  let timer = null;
  hooks.code.push(() => {  // a slider moved the slice: the shading changes (once the sliding pauses)
    if (!state.showLandscape || (state.landscape && state.landscape.key === landscapeKey())) return;
    clearTimeout(timer);
    timer = setTimeout(refreshLandscape, 150);
  });

  // -- interpolation path ---------------------------------------------------------------------
  // Linear between the two codes; for a VAE spherical (slerp), which keeps intermediate codes at the
  // norms the Gaussian prior favours (White 2016, "Sampling Generative Networks").
  state.path = null;  // {a, b, kind, codes, images}
  let pathToken = 0;

  function slerp(a, b, t) {
    const na = Math.hypot(...a), nb = Math.hypot(...b);
    const cos = na && nb ? a.reduce((s, v, j) => s + v * b[j], 0) / (na * nb) : 1;
    const omega = Math.acos(Math.min(1, Math.max(-1, cos)));
    if (omega < 1e-4 || Math.PI - omega < 1e-4) return a.map((v, j) => v + (b[j] - v) * t);
    const s = Math.sin(omega);
    return a.map((v, j) => (Math.sin((1 - t) * omega) / s) * v + (Math.sin(t * omega) / s) * b[j]);
  }

  async function setPath(a, b) {
    const token = ++pathToken;
    a = a.map(Math.fround);
    if (!b) {  // the start only: drawn until the end is picked
      state.path = { a, b: null, kind: null, codes: [], images: [] };
      $("path-clear").disabled = false;
      core.drawPlane();
      return;
    }
    b = b.map(Math.fround);
    const kind = core.isCloud() ? "spherical" : "linear";
    const codes = Array.from({ length: PATH_STEPS }, (_, k) => {
      const t = k / (PATH_STEPS - 1);
      return (kind === "spherical" ? slerp(a, b, t) : a.map((v, j) => v + (b[j] - v) * t)).map(Math.fround);
    });
    state.pending++;
    let out;
    try {
      out = await core.backend.decode(state.model, codes);
    } finally {
      state.pending--;
    }
    if (token !== pathToken) return;
    state.path = { a, b, kind, codes, images: out.images };
    $("path-clear").disabled = false;
    $("path-panel").hidden = false;
    $("path-kind").textContent = `(${kind}, ${PATH_STEPS} steps)`;
    const strip = $("path-strip"), geom = core.imageGeometry();
    const tile = geom ? Math.max(geom.h, geom.w) * Math.max(1, Math.floor(24 / Math.max(geom.h, geom.w))) : 24;
    strip.width = PATH_STEPS * tile; strip.height = tile;
    out.images.forEach((img, k) => core.paint(strip, img, k * tile, 0, tile));
    core.drawPlane();
  }

  function clearPath() {
    pathToken++;
    state.path = null;
    $("path-clear").disabled = true;
    $("path-panel").hidden = true;
    core.drawPlane();
  }

  hooks.overlay.push((ctx, v) => {
    const path = state.path;
    if (!path) return;
    const pts = (path.codes.length ? path.codes : [path.a]).map((z) => core.codePx(v, z));
    ctx.strokeStyle = "#7a3db8"; ctx.fillStyle = "#7a3db8"; ctx.lineWidth = 2;
    ctx.beginPath();
    pts.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
    for (const [x, y] of pts) { ctx.beginPath(); ctx.arc(x, y, 3, 0, 2 * Math.PI); ctx.fill(); }
  });

  hooks.pick.push((code) => {
    const p = state.path;
    (p && !p.b ? setPath(p.a, code) : setPath(code)).catch(core.report);
  });
  hooks.model.push(clearPath);
  $("path-a").addEventListener("click", () => setPath(state.code.slice()).catch(core.report));
  $("path-b").addEventListener("click", () => {
    const start = state.path ? state.path.a : state.mean || state.code;
    setPath(start, state.code.slice()).catch(core.report);
  });
  $("path-clear").addEventListener("click", clearPath);

  // Clicking a decode in the strip (or arrow keys on it) moves the dot to that point of the path.
  let stripAt = 0;
  function goTo(k) {
    if (!state.path || !state.path.codes.length) return;
    stripAt = Math.min(PATH_STEPS - 1, Math.max(0, k));
    core.setCode(state.path.codes[stripAt]);
  }
  $("path-strip").addEventListener("click", (event) => {
    const [px] = core.canvasPoint($("path-strip"), event);
    goTo(Math.floor(px / ($("path-strip").width / PATH_STEPS)));
  });
  $("path-strip").addEventListener("keydown", (event) => {
    const step = { ArrowLeft: -1, ArrowRight: 1 }[event.key];
    if (step === undefined) return;
    event.preventDefault();
    goTo(stripAt + step);
  });

  Object.assign(core.explorer, { setLandscape, setPath, clearPath });
});
