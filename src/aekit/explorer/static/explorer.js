// aekit explorer: the page's logic. Plain JavaScript and canvas, no dependencies, no build step.
//
// Everything the page knows lives in window.explorer.state, so tests and curious users can read it:
//   model        name of the model in use ("ae", "vae", ...)
//   code         the orange dot's code (code_dim float32 values; dims 0 and 1 are the plane's axes)
//   input        the input sample, flat (n_features values); inputName names it
//   mean, logvar the input's posterior (logvar null for a deterministic code)
//   reconstruction, error   what the server decoded at `code`, exactly as drawn, and its MSE
//   terms        the model's loss terms for the input (recon, kl, loss), in nats for a VAE
//   samples      codes drawn from the posterior cloud (seeded by ?seed=N), sampleImages their decodes
//   seq, drawnSeq   drag requests sent and the newest one drawn
//   pending      HTTP requests in flight; the page is idle when pending is 0 and drawnSeq equals seq
//   ready        true once the first input is drawn
// window.explorer.latencies holds, per answered drag, milliseconds from the drag handler to the decoded
// pixels put on the canvas; window.explorer.eventLatencies the same from the input event's timeStamp,
// which adds the browser's own input queueing.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const PALETTE = ["#4e79a7", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948",
                   "#9c755f", "#ff9da7", "#bab0ac", "#86bcb6", "#8cd17d", "#d37295"];
  const N_SAMPLES = 16;
  const GRID_N = 16;
  const MAX_LATENCIES = 5000;

  const params = new URLSearchParams(location.search);
  const seedParam = Number.parseInt(params.get("seed") || "0", 10);
  const state = {
    ready: false, model: null, code: [], input: null, inputName: "", mean: null, logvar: null,
    reconstruction: null, error: null, terms: null, samples: [], sampleImages: [],
    seed: Number.isFinite(seedParam) ? seedParam : 0, seq: 0, drawnSeq: 0, pending: 0, showGrid: false,
  };
  const latencies = [], eventLatencies = [];
  const sent = new Map();           // seq -> {handler, event}: when that drag was handled, when its input came
  const layers = new Map();         // model -> {codes, labels, indices, grid, canvas}
  const sampleCache = new Map();    // data row -> sample
  let meta = null, models = {}, aeName = null, vaeName = null;
  let socket = null, encodeToken = 0, rng = mulberry32(state.seed), dragging = false, hovered = null;

  window.explorer = { state, latencies, eventLatencies, selectInput, setModel, setCode, resample };

  // -- talking to the server -----------------------------------------------------------------
  async function api(path, body) {
    const init = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    state.pending++;
    try {
      const response = await fetch(path, init);
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || response.statusText);
      return data;
    } finally {
      state.pending--;
    }
  }

  function status(text, bad) {
    const el = $("status");
    el.textContent = text;
    el.classList.toggle("bad", Boolean(bad));
  }

  function connect() {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/drag`);
    ws.onopen = () => {
      socket = ws;
      status(`connected: ${meta.dataset.name}`);
      if (state.input) ws.send(JSON.stringify({ type: "input", x: state.input }));
    };
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "decoded") drawDecoded(msg);
      else if (msg.type === "error") {
        status(msg.error, true);
        if (msg.seq > state.drawnSeq) state.drawnSeq = msg.seq;  // answered, with nothing to draw
      }
    };
    ws.onclose = () => {
      if (socket === ws) socket = null;
      status("connection lost; decoding over HTTP, reconnecting…", true);
      setTimeout(connect, 1000);
    };
  }

  // -- drawing samples ------------------------------------------------------------------------
  function imageGeometry() {
    const shape = meta.dataset.sample_shape;
    if (meta.dataset.kind === "image" && shape.length === 3) return { c: shape[0], h: shape[1], w: shape[2] };
    return null;
  }

  // Paint a flat sample into a canvas (or a size x size box of it) at the largest integer scale that
  // fits: pixel (i, j) covers a scale x scale block of grey round(255 * (v - low) / (high - low)),
  // so the canvas shows exactly the values the server sent.
  function paint(canvas, values, x0 = 0, y0 = 0, size = null) {
    const ctx = canvas.getContext("2d");
    const geom = imageGeometry();
    const [low, high] = meta.dataset.value_range;
    const span = high - low || 1;
    const level = (v) => Math.round(255 * Math.min(1, Math.max(0, (v - low) / span)));
    const box = size || Math.min(canvas.width, canvas.height);
    if (!geom) {  // a table row: one bar per feature
      ctx.fillStyle = "#000";
      ctx.fillRect(x0, y0, box, box);
      const width = box / values.length;
      ctx.fillStyle = "#f5f5f5";
      values.forEach((v, i) => {
        const h = (level(v) / 255) * box;
        ctx.fillRect(x0 + i * width, y0 + box - h, Math.max(1, width - 1), h);
      });
      return;
    }
    const { c, h, w } = geom;
    const fit = size ? Math.min(size / w, size / h) : Math.min(canvas.width / w, canvas.height / h);
    const scale = Math.max(1, Math.floor(fit));
    const image = ctx.createImageData(w * scale, h * scale);
    const px = image.data;
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const k = i * w + j;
        const rgb = c === 3 ? [values[k], values[h * w + k], values[2 * h * w + k]].map(level)
          : [level(values[k]), level(values[k]), level(values[k])];
        for (let di = 0; di < scale; di++) {
          let o = ((i * scale + di) * w * scale + j * scale) * 4;
          for (let dj = 0; dj < scale; dj++, o += 4) {
            px[o] = rgb[0]; px[o + 1] = rgb[1]; px[o + 2] = rgb[2]; px[o + 3] = 255;
          }
        }
      }
    }
    ctx.putImageData(image, x0, y0);
  }

  function drawDecoded(msg) {
    const t = sent.get(msg.seq);
    for (const seq of sent.keys()) if (seq <= msg.seq) sent.delete(seq);
    if (msg.model !== state.model || msg.seq <= state.drawnSeq) return;  // superseded
    paint($("recon-canvas"), msg.image);
    state.reconstruction = msg.image;
    state.error = msg.error;
    state.drawnSeq = msg.seq;
    if (t !== undefined) {
      const now = performance.now();
      latencies.push(now - t.handler);
      eventLatencies.push(now - t.event);
      if (latencies.length > MAX_LATENCIES) { latencies.shift(); eventLatencies.shift(); }
    }
    showNumbers();
  }

  function showNumbers() {
    $("error").textContent = state.error === null ? "–" : state.error.toPrecision(4);
    $("code").textContent = `[${state.code.map((v) => v.toFixed(3)).join(", ")}]`;
    const terms = state.terms || {};
    $("kl").textContent = terms.kl === undefined ? "–" : terms.kl.toFixed(2);
    $("recon-term").textContent = terms.recon === undefined ? "–" : terms.recon.toFixed(2);
  }

  // -- the latent plane ------------------------------------------------------------------------
  // The view is a square in code units over dims 0 and 1, so circles stay circles.
  function view() {
    const range = models[state.model].latent_range;
    const [x0, x1] = range[0];
    const [y0, y1] = range.length > 1 ? range[1] : [-1, 1];
    const half = Math.max(x1 - x0, y1 - y0) / 2;
    return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, half, size: $("plane").width };
  }
  function toPx(v, zx, zy) {
    return [(zx - v.cx + v.half) / (2 * v.half) * v.size, (v.cy + v.half - (zy ?? v.cy)) / (2 * v.half) * v.size];
  }
  function fromPx(v, px, py) {
    return [v.cx - v.half + (px / v.size) * 2 * v.half, v.cy + v.half - (py / v.size) * 2 * v.half];
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
      const [px, py] = toPx(v, z[0], z[1]);
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
    const entry = layer();
    if (entry) ctx.drawImage(entry.canvas, 0, 0);
    ctx.strokeStyle = "#c9ced6"; ctx.lineWidth = 1;
    const [ox, oy] = toPx(v, 0, 0);
    ctx.beginPath(); ctx.moveTo(ox, 0); ctx.lineTo(ox, v.size); ctx.moveTo(0, oy); ctx.lineTo(v.size, oy); ctx.stroke();
    ctx.fillStyle = "#6b7280"; ctx.font = "11px system-ui, sans-serif";
    ctx.fillText(`z0 ∈ [${(v.cx - v.half).toFixed(1)}, ${(v.cx + v.half).toFixed(1)}]`, 6, v.size - 6);
    if (models[state.model].code_dim > 1) ctx.fillText(`z1 ∈ [${(v.cy - v.half).toFixed(1)}, ${(v.cy + v.half).toFixed(1)}]`, 6, 14);
    if (hovered) {
      const [hx, hy] = toPx(v, hovered.z[0], hovered.z[1]);
      ctx.strokeStyle = "#111"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.arc(hx, hy, 5, 0, 2 * Math.PI); ctx.stroke();
    }
    if (isCloud() && state.mean && state.logvar) {
      const [mx, my] = toPx(v, state.mean[0], state.mean[1]);
      const sx = Math.exp(0.5 * state.logvar[0]) / (2 * v.half) * v.size;
      const sy = state.logvar.length > 1 ? Math.exp(0.5 * state.logvar[1]) / (2 * v.half) * v.size : 0.5;
      ctx.fillStyle = "rgba(78, 121, 167, 0.12)"; ctx.strokeStyle = "#4e79a7";
      for (const k of [2, 1]) {
        ctx.lineWidth = k === 1 ? 2 : 1; ctx.setLineDash(k === 1 ? [] : [4, 3]);
        ctx.beginPath(); ctx.ellipse(mx, my, Math.max(k * sx, 1), Math.max(k * sy, 1), 0, 0, 2 * Math.PI);
        ctx.fill(); ctx.stroke();
      }
      ctx.setLineDash([]);
      ctx.fillStyle = "#1f3b57";
      for (const z of state.samples) {
        const [px, py] = toPx(v, z[0], z[1]);
        ctx.beginPath(); ctx.arc(px, py, 2.5, 0, 2 * Math.PI); ctx.fill();
      }
    }
    if (state.mean) {  // where the input encodes to
      const [mx, my] = toPx(v, state.mean[0], state.mean[1]);
      ctx.strokeStyle = "#111"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(mx - 5, my - 5); ctx.lineTo(mx + 5, my + 5);
      ctx.moveTo(mx + 5, my - 5); ctx.lineTo(mx - 5, my + 5); ctx.stroke();
    }
    if (state.code.length) {
      const [px, py] = toPx(v, state.code[0], state.code[1]);
      ctx.fillStyle = "#f28e2b"; ctx.strokeStyle = "#fff"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(px, py, 7, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    }
  }

  function isCloud() { return Boolean(models[state.model] && models[state.model].stochastic); }

  // -- moving the dot -------------------------------------------------------------------------
  // Every code the page holds is float32-exact (Math.fround), so the server decodes exactly it.
  function setCode(code, eventTime) {
    const limit = meta.limits.max_abs_code;  // the server refuses codes beyond it
    state.code = code.map((v) => Math.fround(Math.min(limit, Math.max(-limit, v))));
    const seq = ++state.seq;
    const handler = performance.now();
    sent.set(seq, { handler, event: eventTime || handler });
    const z = state.code, model = state.model;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "decode", model, z, seq }));
    } else {
      api("/api/decode", { model, codes: [z], ...(state.input ? { x: state.input } : {}) })
        .then((out) => drawDecoded({ type: "decoded", seq, model, z,
          image: out.images[0], error: out.errors ? out.errors[0] : null }))
        .catch((err) => status(err.message, true));
    }
    showNumbers();
    drawPlane();
  }

  // The pointer in canvas pixels: inside the border, scaled if CSS resized the canvas.
  function planePoint(event) {
    const plane = $("plane");
    const rect = plane.getBoundingClientRect();
    return [(event.clientX - rect.left - plane.clientLeft) * (plane.width / plane.clientWidth),
            (event.clientY - rect.top - plane.clientTop) * (plane.height / plane.clientHeight)];
  }

  function moveTo(event) {
    const [px, py] = planePoint(event);
    const [zx, zy] = fromPx(view(), px, py);
    const code = state.code.slice();
    code[0] = zx;
    if (code.length > 1) code[1] = zy;
    setCode(code, event.timeStamp);
  }

  function nearest(event) {
    const entry = layers.get(state.model);
    if (!entry) return null;
    const [px, py] = planePoint(event);
    const v = view();
    let best = null, bestD = 144;  // within 12 px
    entry.codes.forEach((z, i) => {
      const [x, y] = toPx(v, z[0], z[1]);
      const d = (x - px) ** 2 + (y - py) ** 2;
      if (d < bestD) { bestD = d; best = { index: entry.indices[i], z }; }
    });
    return best;
  }

  async function showHover(event) {
    const hit = nearest(event);
    const box = $("hover");
    if ((hit ? hit.index : -1) !== (hovered ? hovered.index : -1)) { hovered = hit; drawPlane(); }
    if (!hit) { box.hidden = true; return; }
    box.style.left = `${event.clientX + 14}px`;
    box.style.top = `${event.clientY + 14}px`;
    let sample = sampleCache.get(hit.index);
    if (!sample) {
      sample = await api(`/api/sample?index=${hit.index}`);
      sampleCache.set(hit.index, sample);
    }
    if (!hovered || hovered.index !== hit.index) return;
    paint($("hover-canvas"), sample.x);
    $("hover-label").textContent = `#${sample.index}${sample.label_name ? " " + sample.label_name : ""}`;
    box.hidden = false;
  }

  function bindPlane() {
    const plane = $("plane");
    let raw = false;  // whether this drag gets pointerrawupdate events
    plane.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      dragging = true;
      raw = false;
      plane.setPointerCapture(event.pointerId);
      plane.focus();
      $("hover").hidden = true;
      moveTo(event);
    });
    // pointerrawupdate (Chromium) arrives as soon as the input does; pointermove waits for the next
    // animation frame, up to 16 ms later. Drags use the earlier one where the browser has it.
    // Touch may get no raw updates: pointermove moves the dot until a raw update has been seen.
    plane.addEventListener("pointerrawupdate", (event) => { if (dragging) { raw = true; moveTo(event); } });
    plane.addEventListener("pointermove", (event) => {
      if (dragging) { if (!raw) moveTo(event); }
      else showHover(event).catch((err) => status(err.message, true));
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
      const sample = sampleCache.get(hit.index) || await api(`/api/sample?index=${hit.index}`);
      selectInput(`sample #${sample.index}${sample.label_name ? " (" + sample.label_name + ")" : ""}`, sample.x);
    });
    plane.addEventListener("keydown", (event) => {
      const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
      const step = steps[event.key];
      if (!step || !state.code.length) return;
      event.preventDefault();
      const size = (2 * view().half / 100) * (event.shiftKey ? 10 : 1);
      const code = state.code.slice();
      code[0] += step[0] * size;
      if (code.length > 1) code[1] += step[1] * size;
      setCode(code, event.timeStamp);
    });
  }

  // -- inputs, models, samples ----------------------------------------------------------------
  async function selectInput(name, x) {
    const token = ++encodeToken;
    state.input = x;
    state.inputName = name;
    $("input-name").textContent = name;
    for (const b of $("presets").children) b.setAttribute("aria-pressed", String(b.dataset.name === name));
    paint($("input-canvas"), x);
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "input", x }));
    const model = state.model;
    const out = await api("/api/encode", { model, x });
    if (token !== encodeToken || model !== state.model) return;  // a newer input or model won
    state.mean = out.mean;
    state.logvar = out.logvar;
    state.terms = out.terms;
    state.code = out.mean.map(Math.fround);
    state.reconstruction = out.reconstruction;
    state.error = out.error;
    state.drawnSeq = ++state.seq;  // drags still in flight are older than this input
    paint($("recon-canvas"), out.reconstruction);
    showNumbers();
    if (isCloud()) await resample();
    drawPlane();
  }

  async function setModel(name) {
    if (!models[name]) throw new Error(`unknown model ${name}`);
    state.model = name;
    $("vae-toggle").checked = isCloud();
    $("vae-panel").hidden = !isCloud();
    $("resample").disabled = !isCloud();
    state.samples = []; state.sampleImages = [];
    await loadLayer(name);
    showDims();
    if (state.input) await selectInput(state.inputName, state.input);
  }

  async function loadLayer(name) {
    if (!layers.has(name)) {
      const out = await api(`/api/codes?model=${encodeURIComponent(name)}`);
      layers.set(name, { ...out, grid: null, canvas: null });
    }
    const entry = layers.get(name);
    if (state.showGrid && !entry.grid) {
      entry.grid = await api("/api/grid", { model: name, n: Math.min(GRID_N, meta.limits.max_grid) });
      entry.canvas = null;
    }
  }

  // Posterior draws z = mean + exp(logvar / 2) * eps, eps from the page's seeded generator.
  async function resample() {
    if (!isCloud() || !state.mean) return;
    const sd = state.logvar.map((lv) => Math.exp(0.5 * lv));
    state.samples = Array.from({ length: N_SAMPLES },
      () => state.mean.map((m, j) => Math.fround(m + sd[j] * normal())));
    const model = state.model, samples = state.samples;
    const out = await api("/api/decode", { model, codes: samples });
    if (samples !== state.samples) return;
    state.sampleImages = out.images;
    const strip = $("samples");
    const ctx = strip.getContext("2d");
    ctx.fillStyle = "#000"; ctx.fillRect(0, 0, strip.width, strip.height);
    const per = strip.width / 8;  // sized by sizeCanvases
    out.images.forEach((image, k) => paint(strip, image, (k % 8) * per, Math.floor(k / 8) * per, per));
    drawPlane();
  }

  function mulberry32(seed) {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  function normal() {  // Box-Muller
    const u = 1 - rng(), v = rng();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  function showDims() {
    const k = models[state.model].code_dim;
    $("dims-note").textContent = k > 2 ? `(dims 0 and 1 of ${k}; the others stay at the input's code)`
      : k === 1 ? "(1-D code: only the horizontal axis)" : "";
  }

  // Image canvases take the sample's shape at the largest integer scale within 192 px (24 px per
  // sample in the strip), so every sample pixel is a whole block of canvas pixels.
  function sizeCanvases() {
    const geom = imageGeometry();
    if (!geom) return;
    const scale = Math.max(1, Math.floor(192 / Math.max(geom.h, geom.w)));
    for (const id of ["input-canvas", "recon-canvas"]) {
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
      b.addEventListener("click", () => selectInput(p.name, p.x).catch((err) => status(err.message, true)));
      box.appendChild(b);
    }
    const toggle = $("vae-toggle");
    toggle.disabled = !(aeName && vaeName);
    toggle.addEventListener("change", () =>
      setModel(toggle.checked ? vaeName : aeName).catch((err) => status(err.message, true)));
    $("grid-toggle").addEventListener("change", (event) => {
      state.showGrid = event.target.checked;
      for (const entry of layers.values()) entry.canvas = null;
      loadLayer(state.model).then(drawPlane).catch((err) => status(err.message, true));
    });
    $("resample").addEventListener("click", () => resample().catch((err) => status(err.message, true)));
    const legend = $("legend");
    (meta.dataset.label_names || []).forEach((name, i) => {
      const span = document.createElement("span");
      span.textContent = name;
      span.style.setProperty("--swatch", PALETTE[i % PALETTE.length]);
      legend.appendChild(span);
    });
  }

  async function start() {
    meta = await api("/api/meta");
    for (const m of meta.models) models[m.name] = m;
    aeName = (meta.models.find((m) => !m.stochastic) || {}).name || null;
    vaeName = (meta.models.find((m) => m.stochastic) || {}).name || null;
    const ds = meta.dataset;
    $("subtitle").textContent = `${ds.name || "data"} · ${ds.n} samples of shape ${ds.sample_shape.join("×")} · ` +
      meta.models.map((m) => `${m.name}: ${m.variant}, code ${m.code_dim}`).join(" · ");
    const presets = await api("/api/presets");
    sizeCanvases();
    buildControls(presets);
    bindPlane();
    connect();
    await setModel(aeName || vaeName);
    const first = presets[0] || { name: `sample #0`, x: (await api("/api/sample?index=0")).x };
    await selectInput(first.name, first.x);
    drawPlaneNow();
    state.ready = true;
  }

  start().catch((err) => status(`could not start: ${err.message}`, true));
})();
