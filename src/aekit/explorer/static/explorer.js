// aekit explorer: the page's core. Plain JavaScript and canvas, no dependencies, no build step.
//
// Everything the page knows lives in window.explorer.state, so tests, the tour and curious users can
// read it:
//   model        name of the model in use ("ae", "vae", ...)
//   code         the orange dot's code (code_dim float32 values)
//   dims         the code dimensions the plane shows ([x, y]; [0] for a 1-D code)
//   input        the input sample, flat (n_features values); inputName names it
//   mean, logvar the input's posterior (logvar null for a deterministic code)
//   reconstruction, error   what was decoded at `code`, exactly as drawn, and its MSE against the input
//   terms        the model's loss terms for the input (recon, kl, loss), in nats for a VAE
//   samples      codes drawn from the posterior cloud (seeded by ?seed=N), sampleImages their decodes
//   seq, drawnSeq   drag requests sent and the newest one drawn
//   pending      requests in flight; the page is idle when pending is 0 and drawnSeq equals seq
//   ready        true once the first input is drawn (and the view in the URL restored)
// After every redraw of the reconstruction the page dispatches `explorer:update` on document, with a
// shallow copy of state as its detail.
// window.explorer.latencies holds, per answered drag, milliseconds from the drag handler to the decoded
// pixels put on the canvas; window.explorer.eventLatencies the same from the input event's timeStamp.
//
// paint.js draws samples on canvases. The other scripts (input.js, tools.js, dims.js, url.js) are plugins: each pushes a function onto
// window.AekitExplorer.plugins, called with this file's `core` once the page knows its data; they add
// to the figure through core.hooks. backend.js says where answers come from (server or standalone).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const PALETTE = window.AekitPaint.PALETTE;
  const N_SAMPLES = 16;
  const GRID_N = 16;
  const MAX_LATENCIES = 5000;
  const ax = (window.AekitExplorer = window.AekitExplorer || { plugins: [] });

  const params = new URLSearchParams(location.search);
  const seedParam = Number.parseInt(params.get("seed") || "0", 10);
  const state = {
    ready: false, model: null, code: [], dims: [0, 1], input: null, inputName: "", mean: null, logvar: null,
    reconstruction: null, error: null, terms: null, samples: [], sampleImages: [],
    seed: Number.isFinite(seedParam) ? seedParam : 0, seq: 0, drawnSeq: 0, pending: 0, showGrid: false,
  };
  const latencies = [], eventLatencies = [];
  const sent = new Map();           // seq -> {handler, event}: when that drag was handled, when its input came
  const layers = new Map();         // model -> {codes, labels, indices, grid, canvas}
  const sampleCache = new Map();    // data row -> sample
  // Plugins' hooks: underlay/overlay(ctx, view) paint the plane below the points / above the dot;
  // input, model, dims, code, toggle are told after each change; pick(code) gets shift-clicks on the
  // plane; ready runs (async) before state.ready.
  const hooks = { underlay: [], overlay: [], input: [], model: [], dims: [], code: [], toggle: [], pick: [], ready: [] };
  let meta = null, models = {}, aeName = null, vaeName = null, backend = null, presets = [];
  let encodeToken = 0, dragging = false, hovered = null;
  const normal = window.AekitPaint.normals(state.seed);

  const explorer = { state, latencies, eventLatencies, selectInput, setModel, setCode, resample, setDims, setGrid };
  window.explorer = explorer;

  function emit(name, ...args) { for (const fn of hooks[name]) fn(...args); }
  function report(err) { status(err.message, true); }

  function status(text, bad) {
    const el = $("status");
    el.textContent = text;
    el.classList.toggle("bad", Boolean(bad));
  }

  // -- drawing samples (paint.js) ---------------------------------------------------------------
  const imageGeometry = () => window.AekitPaint.imageGeometry(meta);
  const paint = (canvas, values, x0, y0, size) => window.AekitPaint.paint(meta, canvas, values, x0, y0, size);

  // The reconstruction, its |x - x_hat| map and the numbers; then the tour and plugins hear of it.
  function showReconstruction(image, error) {
    state.reconstruction = image;
    state.error = error;
    paint($("recon-canvas"), image);
    paintDiff();
    showNumbers();
    document.dispatchEvent(new CustomEvent("explorer:update", { detail: { ...state } }));
  }

  // |x - x_hat| on the input's scale: black where the decode matches the input, white a full range off.
  function paintDiff() {
    const canvas = $("diff-canvas");
    if (!state.input || !state.reconstruction) return;
    const low = meta.dataset.value_range[0];
    paint(canvas, state.input.map((v, i) => low + Math.abs(v - state.reconstruction[i])));
  }

  function drawDecoded(msg) {
    const t = sent.get(msg.seq);
    for (const seq of sent.keys()) if (seq <= msg.seq) sent.delete(seq);
    if (msg.model !== state.model || msg.seq <= state.drawnSeq) return;  // superseded
    state.drawnSeq = msg.seq;
    showReconstruction(msg.image, msg.error);
    if (t !== undefined) {
      const now = performance.now();
      latencies.push(now - t.handler);
      eventLatencies.push(now - t.event);
      if (latencies.length > MAX_LATENCIES) { latencies.shift(); eventLatencies.shift(); }
    }
  }

  function showNumbers() {
    $("error").textContent = state.error === null ? "–" : state.error.toPrecision(4);
    $("code").textContent = `[${state.code.map((v) => v.toFixed(3)).join(", ")}]`;
    const terms = state.terms || {};
    $("kl").textContent = terms.kl === undefined ? "–" : terms.kl.toFixed(2);
    $("recon-term").textContent = terms.recon === undefined ? "–" : terms.recon.toFixed(2);
  }

  // -- the latent plane ------------------------------------------------------------------------
  // The view is a square in code units over the two shown dims, so circles stay circles.
  function view() {
    const range = models[state.model].latent_range;
    const [dx, dy] = state.dims;
    const [x0, x1] = range[dx];
    const [y0, y1] = dy === undefined ? [-1, 1] : range[dy];
    const half = Math.max(x1 - x0, y1 - y0) / 2;
    return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, half, size: $("plane").width, dx, dy };
  }
  function toPx(v, zx, zy) {
    return [(zx - v.cx + v.half) / (2 * v.half) * v.size, (v.cy + v.half - (zy ?? v.cy)) / (2 * v.half) * v.size];
  }
  function fromPx(v, px, py) {
    return [v.cx - v.half + (px / v.size) * 2 * v.half, v.cy + v.half - (py / v.size) * 2 * v.half];
  }
  // A full code's place on the plane: its two shown dims.
  function codePx(v, z) { return toPx(v, z[v.dx], v.dy === undefined ? undefined : z[v.dy]); }
  // The full code at a plane pixel: `base` with the shown dims replaced.
  function codeAt(v, px, py, base = state.code) {
    const [zx, zy] = fromPx(v, px, py);
    const code = base.slice();
    code[v.dx] = zx;
    if (v.dy !== undefined) code[v.dy] = zy;
    return code;
  }

  function layer() {
    const entry = layers.get(state.model);
    if (!entry || entry.canvas) return entry;
    const plane = $("plane");
    const canvas = document.createElement("canvas");
    canvas.width = plane.width; canvas.height = plane.height;
    const ctx = canvas.getContext("2d");
    const v = view();
    if (state.showGrid && entry.grid) {
      const g = entry.grid;
      const cell = g.xs.length > 1 ? Math.abs(toPx(v, g.xs[1], 0)[0] - toPx(v, g.xs[0], 0)[0]) : 8;
      const geom = imageGeometry();
      const tile = document.createElement("canvas");
      tile.width = tile.height = geom ? Math.max(geom.h, geom.w) : 32;  // native size; drawImage scales it
      ctx.filter = "invert(1)";  // a light map: dark strokes on white, faint behind the points
      ctx.globalAlpha = 0.4;
      g.images.forEach((image, k) => {
        const zx = g.xs[k % g.n], zy = g.ys ? g.ys[Math.floor(k / g.n)] : v.cy;
        paint(tile, image);
        const [px, py] = toPx(v, zx, zy);
        ctx.drawImage(tile, px - cell / 2, py - cell / 2, cell, cell);
      });
      ctx.filter = "none";
      ctx.globalAlpha = 1;
    }
    entry.codes.forEach((z, i) => {
      const [px, py] = codePx(v, z);
      ctx.fillStyle = PALETTE[(entry.labels ? entry.labels[i] : 0) % PALETTE.length];
      ctx.globalAlpha = 0.55;
      ctx.beginPath(); ctx.arc(px, py, 2.2, 0, 2 * Math.PI); ctx.fill();
    });
    ctx.globalAlpha = 1;
    entry.canvas = canvas;
    return entry;
  }

  let planeQueued = false;
  function drawPlane() {
    if (planeQueued) return;
    planeQueued = true;
    requestAnimationFrame(() => { planeQueued = false; drawPlaneNow(); });
  }

  function drawPlaneNow() {
    const plane = $("plane");
    const ctx = plane.getContext("2d");
    const v = view();
    ctx.clearRect(0, 0, plane.width, plane.height);
    for (const fn of hooks.underlay) fn(ctx, v);
    const entry = layer();
    if (entry) ctx.drawImage(entry.canvas, 0, 0);
    ctx.strokeStyle = "#c9ced6"; ctx.lineWidth = 1;
    const [ox, oy] = toPx(v, 0, 0);
    ctx.beginPath(); ctx.moveTo(ox, 0); ctx.lineTo(ox, v.size); ctx.moveTo(0, oy); ctx.lineTo(v.size, oy); ctx.stroke();
    ctx.fillStyle = "#6b7280"; ctx.font = "11px system-ui, sans-serif";
    ctx.fillText(`z${v.dx} ∈ [${(v.cx - v.half).toFixed(1)}, ${(v.cx + v.half).toFixed(1)}]`, 6, v.size - 6);
    if (v.dy !== undefined) ctx.fillText(`z${v.dy} ∈ [${(v.cy - v.half).toFixed(1)}, ${(v.cy + v.half).toFixed(1)}]`, 6, 14);
    if (hovered) {
      const [hx, hy] = codePx(v, hovered.z);
      ctx.strokeStyle = "#111"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.arc(hx, hy, 5, 0, 2 * Math.PI); ctx.stroke();
    }
    if (isCloud() && state.mean && state.logvar) {
      const [mx, my] = codePx(v, state.mean);
      const sx = Math.exp(0.5 * state.logvar[v.dx]) / (2 * v.half) * v.size;
      const sy = v.dy !== undefined ? Math.exp(0.5 * state.logvar[v.dy]) / (2 * v.half) * v.size : 0.5;
      ctx.fillStyle = "rgba(78, 121, 167, 0.12)"; ctx.strokeStyle = "#4e79a7";
      for (const k of [2, 1]) {
        ctx.lineWidth = k === 1 ? 2 : 1; ctx.setLineDash(k === 1 ? [] : [4, 3]);
        ctx.beginPath(); ctx.ellipse(mx, my, Math.max(k * sx, 1), Math.max(k * sy, 1), 0, 0, 2 * Math.PI);
        ctx.fill(); ctx.stroke();
      }
      ctx.setLineDash([]);
      ctx.fillStyle = "#1f3b57";
      for (const z of state.samples) {
        const [px, py] = codePx(v, z);
        ctx.beginPath(); ctx.arc(px, py, 2.5, 0, 2 * Math.PI); ctx.fill();
      }
    }
    if (state.mean) {  // where the input encodes to
      const [mx, my] = codePx(v, state.mean);
      ctx.strokeStyle = "#111"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(mx - 5, my - 5); ctx.lineTo(mx + 5, my + 5);
      ctx.moveTo(mx + 5, my - 5); ctx.lineTo(mx - 5, my + 5); ctx.stroke();
    }
    for (const fn of hooks.overlay) fn(ctx, v);
    if (state.code.length) {
      const [px, py] = codePx(v, state.code);
      ctx.fillStyle = "#f28e2b"; ctx.strokeStyle = "#fff"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(px, py, 7, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    }
  }

  function isCloud() { return Boolean(models[state.model] && models[state.model].stochastic); }

  // -- moving the dot -------------------------------------------------------------------------
  // Every code the page holds is float32-exact (Math.fround), so the backend decodes exactly it.
  function setCode(code, eventTime) {
    const limit = meta.limits.max_abs_code;  // the server refuses codes beyond it
    const previous = state.code;
    state.code = Array.from(code, (v) => Math.fround(Math.min(limit, Math.max(-limit, v))));
    const seq = ++state.seq;
    const handler = performance.now();
    sent.set(seq, { handler, event: eventTime || handler });
    backend.drag(state.model, state.code, seq);
    showNumbers();
    drawPlane();
    emit("code", previous);
    refreshSlice(previous);
  }

  // The pointer in canvas pixels: inside the border, scaled if CSS resized the canvas.
  function canvasPoint(canvas, event) {
    const rect = canvas.getBoundingClientRect();
    return [(event.clientX - rect.left - canvas.clientLeft) * (canvas.width / canvas.clientWidth),
            (event.clientY - rect.top - canvas.clientTop) * (canvas.height / canvas.clientHeight)];
  }

  function moveTo(event) {
    const [px, py] = canvasPoint($("plane"), event);
    setCode(codeAt(view(), px, py), event.timeStamp);
  }

  function nearest(event) {
    const entry = layers.get(state.model);
    if (!entry) return null;
    const [px, py] = canvasPoint($("plane"), event);
    const v = view();
    let best = null, bestD = 144;  // within 12 px
    entry.codes.forEach((z, i) => {
      const [x, y] = codePx(v, z);
      const d = (x - px) ** 2 + (y - py) ** 2;
      if (d < bestD) { bestD = d; best = { index: entry.indices[i], z }; }
    });
    return best;
  }

  async function sample(index) {
    if (!sampleCache.has(index)) sampleCache.set(index, await backend.sample(index));
    return sampleCache.get(index);
  }

  async function showHover(event) {
    const hit = nearest(event);
    const box = $("hover");
    if ((hit ? hit.index : -1) !== (hovered ? hovered.index : -1)) { hovered = hit; drawPlane(); }
    if (!hit) { box.hidden = true; return; }
    box.style.left = `${event.clientX + 14}px`;
    box.style.top = `${event.clientY + 14}px`;
    const found = await sample(hit.index);
    if (!hovered || hovered.index !== hit.index) return;
    paint($("hover-canvas"), found.x);
    $("hover-label").textContent = `#${found.index}${found.label_name ? " " + found.label_name : ""}`;
    box.hidden = false;
  }

  function bindPlane() {
    const plane = $("plane");
    let raw = false;  // whether this drag gets pointerrawupdate events
    plane.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      plane.focus();
      if (event.shiftKey) {  // shift-click picks a point for the plugins (the interpolation path)
        const [px, py] = canvasPoint(plane, event);
        emit("pick", codeAt(view(), px, py));
        return;
      }
      dragging = true;
      raw = false;
      plane.setPointerCapture(event.pointerId);
      $("hover").hidden = true;
      moveTo(event);
    });
    // pointerrawupdate (Chromium) arrives as soon as the input does; pointermove waits for the next
    // animation frame, up to 16 ms later. Drags use the earlier one where the browser has it.
    // Touch may get no raw updates: pointermove moves the dot until a raw update has been seen.
    plane.addEventListener("pointerrawupdate", (event) => { if (dragging) { raw = true; moveTo(event); } });
    plane.addEventListener("pointermove", (event) => {
      if (dragging) { if (!raw) moveTo(event); }
      else showHover(event).catch(report);
    });
    const stop = (event) => {
      dragging = false;
      if (plane.hasPointerCapture(event.pointerId)) plane.releasePointerCapture(event.pointerId);
    };
    plane.addEventListener("pointerup", stop);
    plane.addEventListener("pointercancel", stop);
    plane.addEventListener("pointerleave", () => { $("hover").hidden = true; hovered = null; drawPlane(); });
    plane.addEventListener("dblclick", async (event) => {
      const hit = nearest(event);
      if (!hit) return;
      const found = await sample(hit.index);
      selectInput(`sample #${found.index}${found.label_name ? " (" + found.label_name + ")" : ""}`, found.x)
        .catch(report);
    });
    plane.addEventListener("keydown", (event) => {
      const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
      const step = steps[event.key];
      if (!step || !state.code.length) return;
      event.preventDefault();
      const v = view();
      const size = (2 * v.half / 100) * (event.shiftKey ? 10 : 1);
      const code = state.code.slice();
      code[v.dx] += step[0] * size;
      if (v.dy !== undefined) code[v.dy] += step[1] * size;
      setCode(code, event.timeStamp);
    });
  }

  // -- inputs, models, samples ----------------------------------------------------------------
  async function selectInput(name, x) {
    const token = ++encodeToken;
    x = Array.from(x);
    state.input = x;
    state.inputName = name;
    $("input-name").textContent = name;
    for (const b of $("presets").children) b.setAttribute("aria-pressed", String(b.dataset.name === name));
    paint($("input-canvas"), x);
    backend.setInput(x);
    const model = state.model;
    state.pending++;
    let out;
    try {
      out = await backend.encode(model, x);
    } finally {
      state.pending--;
    }
    if (token !== encodeToken || model !== state.model) return;  // a newer input or model won
    state.mean = out.mean;
    state.logvar = out.logvar;
    state.terms = out.terms;
    state.code = out.mean.map(Math.fround);
    state.drawnSeq = ++state.seq;  // drags still in flight are older than this input
    showReconstruction(out.reconstruction, out.error);
    emit("input");
    emit("code", null);
    refreshSlice(null);
    if (isCloud()) await resample();
    drawPlane();
  }

  async function setModel(name) {
    if (!models[name]) throw new Error(`unknown model ${name}; this page has: ${Object.keys(models).join(", ")}`);
    state.model = name;
    $("vae-toggle").checked = isCloud();
    $("vae-panel").hidden = !isCloud();
    $("resample").disabled = !isCloud();
    state.samples = []; state.sampleImages = [];
    const k = models[name].code_dim;
    if (state.dims.some((d) => d >= k) || state.dims.length !== Math.min(2, k)) state.dims = k === 1 ? [0] : [0, 1];
    if (state.code.length !== k) state.code = new Array(k).fill(0);
    await loadLayer(name);
    showDims();
    emit("model");
    if (state.input) await selectInput(state.inputName, state.input);
  }

  // Show code dims `dims` ([x, y]) on the plane; the other dims keep their values.
  async function setDims(dims) {
    const k = models[state.model].code_dim;
    const ok = dims.length === Math.min(2, k) && new Set(dims).size === dims.length &&
      dims.every((d) => Number.isInteger(d) && d >= 0 && d < k);
    if (!ok) throw new Error(`dims=${JSON.stringify(dims)} must be ${Math.min(2, k)} distinct integers in [0, ${k - 1}]`);
    state.dims = dims.slice();
    for (const entry of layers.values()) { entry.canvas = null; entry.grid = null; }
    showDims();
    emit("dims");
    drawPlane();
    await loadLayer(state.model);
    drawPlane();
  }

  async function setGrid(on) {
    state.showGrid = Boolean(on);
    $("grid-toggle").checked = state.showGrid;
    for (const entry of layers.values()) entry.canvas = null;
    emit("toggle", "grid");
    await loadLayer(state.model);
    drawPlane();
  }

  // The grid decodes a slice through the current code: for codes wider than 2 it follows the other dims.
  function gridBase() { return models[state.model].code_dim > 2 ? state.code.slice() : null; }
  function otherDims(code) { return code ? code.filter((_, d) => !state.dims.includes(d)).join(",") : ""; }
  let sliceTimer = null;
  function refreshSlice(previous) {
    if (!state.showGrid || models[state.model].code_dim <= 2 || otherDims(previous) === otherDims(state.code)) return;
    clearTimeout(sliceTimer);
    sliceTimer = setTimeout(() => {
      const entry = layers.get(state.model);
      if (entry) entry.grid = null;
      loadLayer(state.model).then(drawPlane).catch(report);
    }, 120);
  }

  async function loadLayer(name) {
    state.pending++;
    try {
      if (!layers.has(name)) layers.set(name, { ...(await backend.codes(name)), grid: null, canvas: null });
      const entry = layers.get(name);
      if (state.showGrid && !entry.grid) {
        const dims = state.dims.slice(), base = name === state.model ? gridBase() : null;
        const grid = await backend.grid(name, Math.min(GRID_N, meta.limits.max_grid), dims, base);
        if (String(dims) === String(state.dims)) { entry.grid = grid; entry.canvas = null; }
      }
    } finally {
      state.pending--;
    }
  }

  // Posterior draws z = mean + exp(logvar / 2) * eps, eps from the page's seeded generator.
  async function resample() {
    if (!isCloud() || !state.mean) return;
    const sd = state.logvar.map((lv) => Math.exp(0.5 * lv));
    state.samples = Array.from({ length: N_SAMPLES },
      () => state.mean.map((m, j) => Math.fround(m + sd[j] * normal())));
    const model = state.model, samples = state.samples;
    state.pending++;
    let out;
    try {
      out = await backend.decode(model, samples);
    } finally {
      state.pending--;
    }
    if (samples !== state.samples) return;
    state.sampleImages = out.images;
    const strip = $("samples");
    const ctx = strip.getContext("2d");
    ctx.fillStyle = "#000"; ctx.fillRect(0, 0, strip.width, strip.height);
    const per = strip.width / 8;  // sized by sizeCanvases
    out.images.forEach((image, k) => paint(strip, image, (k % 8) * per, Math.floor(k / 8) * per, per));
    drawPlane();
  }

  function showDims() {
    const k = models[state.model].code_dim;
    $("dims-note").textContent = k > 2 ? `(dims ${state.dims[0]} and ${state.dims[1]} of ${k}; sliders set the others)`
      : k === 1 ? "(1-D code: only the horizontal axis)" : "";
  }

  // Image canvases take the sample's shape at the largest integer scale within 192 px (24 px per
  // sample in the strip), so every sample pixel is a whole block of canvas pixels.
  function sizeCanvases() {
    const geom = imageGeometry();
    if (!geom) return;
    const scale = Math.max(1, Math.floor(192 / Math.max(geom.h, geom.w)));
    for (const id of ["input-canvas", "recon-canvas", "diff-canvas"]) {
      $(id).width = geom.w * scale;
      $(id).height = geom.h * scale;
    }
    const tile = Math.max(geom.h, geom.w) * Math.max(1, Math.floor(24 / Math.max(geom.h, geom.w)));
    $("samples").width = 8 * tile;
    $("samples").height = 2 * tile;
  }

  function buildControls(presets) {
    const box = $("presets");
    for (const p of presets) {
      const b = document.createElement("button");
      b.type = "button"; b.className = "preset"; b.textContent = p.name; b.dataset.name = p.name;
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", () => selectInput(p.name, p.x).catch(report));
      box.appendChild(b);
    }
    const toggle = $("vae-toggle");
    toggle.disabled = !(aeName && vaeName);
    toggle.addEventListener("change", () => setModel(toggle.checked ? vaeName : aeName).catch(report));
    $("grid-toggle").addEventListener("change", (event) => setGrid(event.target.checked).catch(report));
    $("resample").addEventListener("click", () => resample().catch(report));
    const legend = $("legend");
    (meta.dataset.label_names || []).forEach((name, i) => {
      const span = document.createElement("span");
      span.textContent = name;
      span.style.setProperty("--swatch", PALETTE[i % PALETTE.length]);
      legend.appendChild(span);
    });
  }

  // What plugins get: the state, the backend, drawing helpers and the hooks.
  const core = {
    state, explorer, hooks, $, paint, status, report, view, toPx, fromPx, codePx, codeAt, canvasPoint,
    drawPlane, setCode, selectInput, setModel, setDims, setGrid, imageGeometry, isCloud, PALETTE,
    get meta() { return meta; }, get models() { return models; }, get backend() { return backend; },
    get presets() { return presets; },
    layer: () => layers.get(state.model),
  };

  async function start() {
    backend = window.AekitBackend.create({
      pending: (delta) => { state.pending += delta; },
      status,
      decoded: drawDecoded,
      failed: (message, seq) => {
        status(message, true);
        if (seq > state.drawnSeq) state.drawnSeq = seq;  // answered, with nothing to draw
      },
    });
    meta = await backend.meta();
    for (const m of meta.models) models[m.name] = m;
    aeName = (meta.models.find((m) => !m.stochastic) || {}).name || null;
    vaeName = (meta.models.find((m) => m.stochastic) || {}).name || null;
    const ds = meta.dataset;
    $("subtitle").textContent = `${ds.name || "data"} · ${ds.n} samples of shape ${ds.sample_shape.join("×")} · ` +
      meta.models.map((m) => `${m.name}: ${m.variant}, code ${m.code_dim}`).join(" · ");
    presets = await backend.presets();
    sizeCanvases();
    buildControls(presets);
    for (const plugin of ax.plugins) plugin(core);
    bindPlane();
    backend.connect();
    await setModel(aeName || vaeName);
    if (meta.view && meta.view.dims) await setDims(meta.view.dims);  // the view a notebook asked for
    const first = presets[0] || { name: "sample #0", x: (await sample(0)).x };
    await selectInput(first.name, first.x);
    for (const fn of hooks.ready) await fn();
    drawPlaneNow();
    state.ready = true;
  }

  // Plugins load after this file: start once every script has run.
  const go = () => start().catch((err) => status(`could not start: ${err.message}`, true));
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
  else go();
})();
