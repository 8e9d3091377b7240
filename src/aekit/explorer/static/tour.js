// aekit explorer: the lesson tour beside the figure. Plain JavaScript, no dependencies, no build step.
//
// Five steps (the bottleneck, the latent space, the holes, denoising, anomalies), each a short text and a
// live experiment that drives the page through window.explorer, then the lesson's four practice
// questions, each answer revealed once the reader has run the experiment that answers it. Every number
// the tour shows is measured on the live model. It registers as a plugin (window.AekitExplorer.plugins)
// and asks the page's backend for meta and data codes, so an exported page (backend "local", data in
// <script id="aekit-data">) makes no request. Without the plugin hook it reads /api/meta and /api/codes
// from the server, and in a standalone page falls back to the presets' own codes.
//
// window.tour = { results, go(i), run(name), page } exposes what the experiments measured, for tests.
"use strict";

(function () {
  const root = document.getElementById("tour");
  const ex = window.explorer;
  if (!root || !ex) return;
  const state = ex.state;
  const SIGMA = 0.3;       // the denoising experiment's noise
  const WALK_STEPS = 24;   // steps of the latent walk
  const results = {};      // experiment name -> what it measured
  const runs = {};         // experiment name -> times run (seeds its random draws)
  const codeCache = new Map();
  let meta = null, busy = false, page = 0, lastClean = null, core = null;
  const plugins = window.AekitExplorer && window.AekitExplorer.plugins;
  if (Array.isArray(plugins)) plugins.push((c) => { core = c; });

  // -- talking to the page ------------------------------------------------------------------
  function backend() { return core && core.backend ? core.backend : null; }
  function local() {
    const b = backend();
    return ex.backend === "local" || (b !== null && b.kind === "local") ||
      Boolean(document.getElementById("aekit-data")) || location.protocol === "file:";
  }
  function isIdle() { return state.ready && state.pending === 0 && state.drawnSeq === state.seq; }

  // Resolves once the page has drawn everything asked of it (and `extra` holds): checked on every
  // explorer:update event, and by polling, which also covers redraws that dispatch no event.
  function settle(extra, timeout = 15000) {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      let timer = 0;
      const check = () => {
        if (isIdle() && (!extra || extra())) { done(); resolve(); }
        else if (performance.now() - t0 > timeout) { done(); reject(new Error("the page did not finish drawing")); }
      };
      const done = () => { clearInterval(timer); document.removeEventListener("explorer:update", check); };
      document.addEventListener("explorer:update", check);
      timer = setInterval(check, 25);
      check();
    });
  }
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function getMeta() {
    if (core && core.meta) return core.meta;
    if (meta || local()) return meta;
    const response = await fetch("/api/meta");
    if (!response.ok) throw new Error(`/api/meta answered ${response.status}`);
    meta = await response.json();
    return meta;
  }

  // Codes of the data set for `model` as {codes, labels, from}: the server's encoded subsample, an
  // exported page's payload codes, else the presets' own codes.
  async function dataCodes(model) {
    if (codeCache.has(model)) return codeCache.get(model);
    let out = null;
    if (backend()) {
      const body = await backend().codes(model);
      out = { codes: body.codes, labels: body.labels, from: "data" };
    } else if (!local()) {
      const response = await fetch(`/api/codes?model=${encodeURIComponent(model)}`);
      const body = await response.json();
      if (!response.ok) throw new Error(body.error || `/api/codes answered ${response.status}`);
      out = { codes: body.codes, labels: body.labels, from: "data" };
    }
    if (!out) {
      const measured = await measurePresets();
      out = { codes: measured.map((p) => p.mean), labels: measured.map((p, i) => i), from: "presets",
              names: measured.map((p) => p.name) };
    }
    codeCache.set(model, out);
    return out;
  }

  async function labelNames(codes) {
    if (codes.names) return codes.names;
    const m = await getMeta().catch(() => null);
    if (m && m.dataset && m.dataset.label_names) return m.dataset.label_names;
    const legend = [...document.querySelectorAll("#legend span")].map((s) => s.textContent);
    return legend.length ? legend : null;
  }

  async function valueRange() {
    const m = await getMeta().catch(() => null);
    if (m && m.dataset && m.dataset.value_range) return m.dataset.value_range;
    return [0, 1];
  }

  function presetButtons() { return [...document.querySelectorAll("#presets button")]; }

  // Pick a preset with the page's own button and wait until it is encoded and drawn.
  async function pickPreset(button) {
    const name = button.dataset.name || button.textContent;
    button.click();
    await settle(() => state.inputName === name && state.mean !== null);
    remember();
    return name;
  }

  // Every preset through the model in use: [{name, x, mean, error}]. The page shows each in turn.
  async function measurePresets() {
    const out = [];
    for (const b of presetButtons()) {
      const name = await pickPreset(b);
      out.push({ name, x: state.input.slice(), mean: state.mean.slice(), error: state.error });
    }
    return out;
  }

  async function useModel(stochastic) {
    const toggle = document.getElementById("vae-toggle");
    await settle();
    if (toggle.checked !== stochastic) {
      if (toggle.disabled) throw new Error(`this page has no ${stochastic ? "VAE" : "plain autoencoder"}`);
      const before = state.model;
      toggle.click();
      await settle(() => state.model !== before);
    }
    return state.model;
  }

  async function selectCustom(name, x) {
    await ex.selectInput(name, x);
    await settle(() => state.inputName === name);
  }

  const TOUR_NAMES = /^(noisy |inverted |random noise)/;
  function remember() {
    if (state.input && !TOUR_NAMES.test(state.inputName)) lastClean = { name: state.inputName, x: state.input.slice() };
  }
  async function cleanInput() {
    remember();
    if (lastClean) return lastClean;
    const first = presetButtons()[0];
    if (first) await pickPreset(first);
    return lastClean;
  }

  // -- numbers --------------------------------------------------------------------------------
  function mse(a, b) {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
    return s / a.length;
  }
  const dist = (a, b) => Math.sqrt(a.reduce((s, v, j) => s + (v - b[j]) ** 2, 0));
  function nearest(codes, z) {
    let best = Infinity, index = -1;
    codes.forEach((c, i) => { const d = dist(c, z); if (d < best) { best = d; index = i; } });
    return { d: best, index };
  }
  function median(values) {
    const s = values.slice().sort((a, b) => a - b);
    const n = s.length;
    return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : NaN;
  }
  // The typical gap between neighbouring data codes: the median nearest-neighbour distance.
  function typicalGap(codes) {
    const sample = codes.slice(0, 800);
    return median(sample.map((c, i) => {
      let best = Infinity;
      sample.forEach((o, j) => { if (j !== i) best = Math.min(best, dist(c, o)); });
      return best;
    }));
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
  function normals(rng) {  // Box-Muller
    return () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  }
  const fmt = (v, digits = 3) => (v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toPrecision(digits));
  const vec = (z) => `(${z.map((v) => v.toFixed(2)).join(", ")})`;

  // -- the experiments ------------------------------------------------------------------------
  const experiments = {
    async bottleneck() {
      const buttons = presetButtons();
      let name;
      if (buttons.length) {
        const at = buttons.findIndex((b) => b.dataset.name === state.inputName);
        name = await pickPreset(buttons[(at + 1) % buttons.length]);
      } else {
        const clean = await cleanInput();
        await selectCustom(clean.name, clean.x);
        name = clean.name;
      }
      const n = state.input.length, k = state.mean.length;
      const r = { model: state.model, name, n, k, code: state.mean.slice(), error: state.error,
                  input: state.input.slice(), reconstruction: state.reconstruction.slice() };
      results.bottleneck = r;
      return [
        line(`${name}: ${n} numbers → ${k} numbers, the code ${vec(r.code)}: ${(n / k).toFixed(0)}× fewer.`),
        line("Reconstruction error (MSE): ", num(r.error.toPrecision(4), "bottleneck-error"),
             ", the number under the reconstruction."),
        pair([["input", r.input], ["reconstruction", r.reconstruction]]),
      ];
    },

    async latent() {
      const model = await useModel(false);
      const data = await dataCodes(model);
      const names = await labelNames(data);
      const labels = data.labels || data.codes.map(() => 0);
      const groups = new Map();
      data.codes.forEach((c, i) => { if (!groups.has(labels[i])) groups.set(labels[i], []); groups.get(labels[i]).push(c); });
      if (groups.size < 2) throw new Error("the data set has a single class: no boundary to cross");
      // Each class's middle: the data code nearest its centroid (a real point, inside the cluster).
      const middles = [...groups].map(([label, codes]) => {
        const centroid = codes[0].map((_, j) => codes.reduce((s, c) => s + c[j], 0) / codes.length);
        const code = codes[nearest(codes, centroid).index];
        return { label, code };
      });
      // Walk first between the farthest apart clusters that are still neighbours (the nearest data point's
      // class changes at most twice along the line), so the dot visibly moves; later presses take the others.
      const along = (a, b) => Array.from({ length: WALK_STEPS + 1 }, (_, s) =>
        labels[nearest(data.codes, a.map((v, j) => v + (s / WALK_STEPS) * (b[j] - v))).index]);
      const pairs = [];
      for (let a = 0; a < middles.length; a++) {
        for (let b = a + 1; b < middles.length; b++) {
          const labelsAlong = along(middles[a].code, middles[b].code);
          const changes = labelsAlong.filter((l, s) => s > 0 && l !== labelsAlong[s - 1]).length;
          pairs.push([middles[a], middles[b], dist(middles[a].code, middles[b].code), changes <= 2 ? 0 : 1]);
        }
      }
      pairs.sort((p, q) => p[3] - q[3] || q[2] - p[2]);
      const [from, to] = pairs[(runs.latent - 1) % pairs.length];
      const nameOf = (label) => (names && names[label] !== undefined ? names[label] : `class ${label}`);
      const path = [];
      for (let s = 0; s <= WALK_STEPS; s++) {
        const t = s / WALK_STEPS;
        const z = from.code.map((v, j) => v + t * (to.code[j] - v));
        ex.setCode(z);
        path.push(labels[nearest(data.codes, state.code).index]);
        await pause(40);
      }
      await settle();
      const switches = [];
      path.forEach((label, s) => { if (s > 0 && label !== path[s - 1]) switches.push(s); });
      results.latent = { model, from: nameOf(from.label), to: nameOf(to.label), start: from.code, end: to.code,
                         path: path.map(nameOf), switches, code: state.code.slice(), reconstruction: state.reconstruction.slice(),
                         source: data.from };
      const runsOf = [];
      path.forEach((label) => {
        const last = runsOf[runsOf.length - 1];
        if (last && last[0] === label) last[1]++; else runsOf.push([label, 1]);
      });
      return [
        line(`The dot walked from the middle of ${nameOf(from.label)} ${vec(from.code)} to the middle of ` +
             `${nameOf(to.label)} ${vec(to.code)} in ${WALK_STEPS} steps.`),
        line(`Class of the nearest ${data.from === "data" ? "data point" : "preset"} along the way: ` +
             runsOf.map(([label, count]) => `${nameOf(label)} ×${count}`).join(" → ") +
             (switches.length ? `; it changed at step ${switches.join(", ")}, where the decode changes shape.` : ".")),
        line("Press again to walk between another pair of classes."),
      ];
    },

    async holes() {
      const ae = await useModel(false);
      const data = await dataCodes(ae);
      const gap = typicalGap(data.codes);
      const hole = findHole(data.codes);
      ex.setCode(hole.code);
      await settle();
      const aeImage = state.reconstruction.slice();
      const aeD = nearest(data.codes, state.code).d;
      const aeCode = state.code.slice();
      const vae = await useModel(true);
      const vdata = await dataCodes(vae);
      const vgap = typicalGap(vdata.codes);
      const draw = normals(mulberry32(1000 + runs.holes));
      const prior = state.code.map(() => draw());
      ex.setCode(prior);
      await settle();
      const vaeD = nearest(vdata.codes, state.code).d;
      results.holes = { ae, vae, aeCode, aeDistance: aeD, aeGap: gap, aeImage, vaeCode: state.code.slice(),
                        vaeDistance: vaeD, vaeGap: vgap, vaeImage: state.reconstruction.slice(), source: data.from };
      const against = data.from === "data" ? "data code" : "preset's code";
      return [
        line(`Plain AE: the emptiest spot among its codes is ${vec(aeCode)}, `, num(fmt(aeD), "hole-distance"),
             ` from the nearest ${against}: ${(aeD / gap).toFixed(0)}× the typical gap between neighbouring codes (${fmt(gap, 2)}). Nothing trained the decoder there.`),
        line(`VAE: a draw from its prior N(0, I) lands at ${vec(results.holes.vaeCode)}, ${fmt(vaeD)} from the nearest ` +
             `${against} (${(vaeD / vgap).toFixed(1)}× its typical gap): inside the region its decoder learned. The page now shows the VAE.`),
        pair([["AE, in a hole", aeImage], ["VAE, prior draw", results.holes.vaeImage]]),
      ];
    },

    async denoise() {
      const clean = await cleanInput();
      await selectCustom(clean.name, clean.x);
      const recClean = state.reconstruction.slice();
      const [low, high] = await valueRange();
      const draw = normals(mulberry32(runs.denoise));
      const noisy = clean.x.map((v) => Math.min(high, Math.max(low, v + SIGMA * (high - low) * draw())));
      const name = `noisy ${clean.name}`;
      await selectCustom(name, noisy);
      const rec = state.reconstruction.slice();
      const r = { model: state.model, name: clean.name, clean: clean.x.slice(), noisy, recClean, reconstruction: rec,
                  noiseIn: mse(noisy, clean.x), errorVsClean: mse(rec, clean.x), floor: mse(recClean, clean.x),
                  noiseOut: mse(rec, recClean) };
      results.denoise = r;
      const kept = (100 * r.noiseOut / r.noiseIn).toFixed(0);
      return [
        table([
          ["noisy input vs clean input", num(fmt(r.noiseIn), "noise-in")],
          ["reconstruction of the noisy input vs clean input", num(fmt(r.errorVsClean), "denoise-error")],
          ["reconstruction of the clean input vs clean input", num(fmt(r.floor), "denoise-floor")],
          ["noise that reached the output: reconstructions, noisy vs clean", num(fmt(r.noiseOut), "noise-out")],
        ], `MSE in data units, ${clean.name} with Gaussian noise σ = ${SIGMA}`),
        line(`Only ${kept}% of the input's noise reached the reconstruction. ` +
             (r.errorVsClean < r.noiseIn
               ? "The reconstruction is closer to the clean input than the noisy input is: the model cleaned it."
               : "It is still no closer to the clean input than the noisy input, because the bottleneck's own error " +
                 "(third line) is already as large as the noise: the code is too small to rebuild this input sharply.")),
        pair([["noisy input", noisy], ["its reconstruction", rec], ["clean input", clean.x]]),
      ];
    },

    async anomaly(kind = "inverted") {
      remember();
      const baseName = lastClean && lastClean.name;  // measuring the presets moves the page's input
      const measured = await measurePresets();
      const [low, high] = await valueRange();
      let name, x;
      if (kind === "noise") {
        const rng = mulberry32(2000 + runs.anomaly);
        name = "random noise";
        x = measured[0].x.map(() => low + (high - low) * rng());
      } else {
        const base = measured.find((p) => p.name === baseName) || measured[0];
        name = `inverted ${base.name}`;
        x = base.x.map((v) => low + high - v);
      }
      await selectCustom(name, x);
      const errors = measured.map((p) => p.error);
      const worst = Math.max(...errors);
      const r = { model: state.model, name, x: x.slice(), error: state.error, presets: Object.fromEntries(measured.map((p) => [p.name, p.error])),
                  ratio: state.error / worst };
      results.anomaly = r;
      return [
        line(`Presets (like the training data): error ${fmt(Math.min(...errors))} to ${fmt(worst)}, median ${fmt(median(errors))}.`),
        line(`${name}: error `, num(fmt(r.error), "anomaly-error"), `, ${r.ratio.toFixed(1)}× the largest preset's.`),
        pair([[name, x], ["its reconstruction", state.reconstruction.slice()]]),
      ];
    },
  };

  // The emptiest code inside the data's region: on a grid over the codes' bounding box, restricted to
  // the disc holding 90 % of the codes around their mean, the point farthest from every code.
  function findHole(codes) {
    const k = codes[0].length;
    const mean = codes[0].map((_, j) => codes.reduce((s, c) => s + c[j], 0) / codes.length);
    const radius = quantile(codes.map((c) => dist(c, mean)), 0.9);
    const lo = [0, 1].map((j) => Math.min(...codes.map((c) => c[j] ?? 0)));
    const hi = [0, 1].map((j) => Math.max(...codes.map((c) => c[j] ?? 0)));
    const n = 48;
    let best = { d: -1, code: mean };
    for (let a = 0; a <= n; a++) {
      for (let b = 0; b <= n; b++) {
        const z = mean.slice();
        z[0] = lo[0] + (hi[0] - lo[0]) * a / n;
        if (k > 1) z[1] = lo[1] + (hi[1] - lo[1]) * b / n;
        if (dist(z, mean) > radius) continue;
        const d = nearest(codes, z).d;
        if (d > best.d) best = { d, code: z };
      }
    }
    return best;
  }
  function quantile(values, q) {
    const s = values.slice().sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(q * s.length))];
  }

  // -- what the tour says --------------------------------------------------------------------
  const STEPS = [
    { id: "bottleneck", title: "The bottleneck", run: "bottleneck", button: "Encode the next preset",
      text: (n, k) => [
        `An autoencoder squeezes each input through a narrow code and rebuilds the input from that code alone. ` +
        `Here each image is ${n} numbers and the code is ${k}, so the decoder must rebuild all ${n} from ${k}.`,
        `Training lowers the reconstruction error, the mean squared difference between input and reconstruction, ` +
        `so the code comes to hold what varies most across the data set (which shape, roughly where) and fine detail is lost.`] },
    { id: "latent", title: "The latent space", run: "latent", button: "Walk between two classes",
      text: () => [
        "Every input lands at a point of the latent plane; the coloured scatter is the data set encoded, one colour per shape class.",
        "The model was never told the classes, yet alike images land together: nearby codes decode to similar images, " +
        "so the encoder does best by putting similar inputs close. Walk the dot from one cluster's middle to another's " +
        "and watch the reconstruction change shape as it crosses the boundary."] },
    { id: "holes", title: "The holes", run: "holes", button: "Jump into a hole, then sample the VAE",
      text: () => [
        "A plain autoencoder is trained only on the codes of real inputs, so nothing tells its decoder what to do in the " +
        "empty space between clusters: a code there decodes to a smear or a blend of shapes. That is why random codes make poor samples.",
        "A VAE encodes each input as a small cloud and its KL term pulls every cloud toward a standard normal prior, " +
        "so the region where the prior puts its mass is filled with codes the decoder learned from, and a draw from the prior lands among them."] },
    { id: "denoise", title: "Denoising", run: "denoise", button: `Add noise (σ = ${SIGMA}) to the input`,
      text: () => [
        "Add noise to the input and the reconstruction stays a clean shape: the small code has no room for the " +
        "independent noise in every pixel, so the noisy image encodes to nearly the same code as the clean one.",
        "The tour measures the reconstruction against the clean input you started from, which the model never sees. " +
        "A denoising autoencoder is trained for exactly this, on corrupted inputs; this one denoises only through its " +
        "bottleneck, so it can be no sharper than its own reconstruction of the clean input."] },
    { id: "anomaly", title: "Anomalies", run: "anomaly", button: "Feed an inverted shape", extra: ["noise", "Feed random noise"],
      text: () => [
        "A model reconstructs well only inputs like those it was trained on. An input unlike all of them, such as a " +
        "shape with its colours inverted or pure noise, has no good code, so its reconstruction error is far above that of typical inputs.",
        "That is anomaly detection with an autoencoder: score each new input by its reconstruction error and flag " +
        "those above a threshold set from the errors of normal data."] },
  ];

  const PRACTICE = [
    { run: "bottleneck", question: "What does the bottleneck force the model to do?",
      answer: (r) => `Keep only what it needs to rebuild the whole data set: your ${r.name} became ${r.k} numbers instead ` +
        `of ${r.n} and came back with error ${fmt(r.error)}. Those few numbers hold the shape class and its rough ` +
        "placement, what varies most across the data; detail they cannot hold is lost, so the reconstruction is a blurred, typical version of the input." },
    { run: "anomaly", question: "What does the reconstruction error say about a new input?",
      answer: (r) => {
        const errors = Object.values(r.presets);
        return `How well it fits what the model learned: the presets, like the training data, scored ${fmt(Math.min(...errors))} ` +
          `to ${fmt(Math.max(...errors))}, and your ${r.name} scored ${fmt(r.error)}, ${r.ratio.toFixed(1)}× the largest. ` +
          "A high error flags an input unlike the training data (an anomaly); it is a score, not a probability, so " +
          "the threshold comes from the errors of normal data.";
      } },
    { run: "holes", question: "Why does a plain autoencoder sample badly?",
      answer: (r) => `Its codes form clusters with empty space between them, and training never asks the decoder to ` +
        `make sense there: the code you jumped to, ${fmt(r.aeDistance)} from every data code (${(r.aeDistance / r.aeGap).toFixed(0)}× ` +
        "the typical gap), decoded to whatever the decoder extrapolates, and a random code easily lands in such a hole, since " +
        "nothing says where the codes lie. The VAE's KL term packs its codes into the prior's region, so a prior draw lands among " +
        `them: yours was ${fmt(r.vaeDistance)} from its nearest code (${(r.vaeDistance / r.vaeGap).toFixed(1)}× the typical gap).` },
    { run: "denoise", question: "Name a use of an autoencoder beyond reconstruction.",
      answer: (r) => `Denoising: your noisy ${r.name} was ${fmt(r.noiseIn)} from the clean input, and only ${fmt(r.noiseOut)} ` +
        "of noise reached its reconstruction, because the code cannot hold the noise. The page shows others too: " +
        "anomaly detection by reconstruction error (step 5), the codes as a 2-D embedding for plotting and " +
        "clustering (step 2), and new samples drawn from a VAE's prior (step 3)." },
  ];

  // -- building the tour ----------------------------------------------------------------------
  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (key === "hidden") node.hidden = Boolean(value);
      else if (key === "disabled") node.disabled = Boolean(value);
      else node.setAttribute(key, value);
    }
    for (const child of [].concat(children)) node.append(child);
    return node;
  }
  function line(...parts) { return el("p", {}, parts); }
  function num(text, id) { return el("output", { className: "tour-num", "data-result": id, text }); }
  function table(rows, caption) {
    return el("table", { className: "tour-table" }, [
      el("caption", { text: caption }),
      el("tbody", {}, rows.map(([label, value]) => el("tr", {}, [el("th", { scope: "row", text: label }), el("td", {}, value)]))),
    ]);
  }
  // Small copies of flat images side by side (square single-channel images only).
  function pair(items) {
    const n = items[0][1].length, side = Math.round(Math.sqrt(n));
    if (side * side !== n) return "";
    return el("div", { className: "tour-images" }, items.map(([label, values]) => {
      const scale = Math.max(1, Math.floor(72 / side));
      const canvas = el("canvas", { width: String(side * scale), height: String(side * scale), "aria-label": label });
      const ctx = canvas.getContext("2d");
      const image = ctx.createImageData(side * scale, side * scale);
      for (let y = 0; y < side * scale; y++) {
        for (let x = 0; x < side * scale; x++) {
          const v = Math.round(255 * Math.min(1, Math.max(0, values[Math.floor(y / scale) * side + Math.floor(x / scale)])));
          const o = (y * side * scale + x) * 4;
          image.data[o] = image.data[o + 1] = image.data[o + 2] = v; image.data[o + 3] = 255;
        }
      }
      ctx.putImageData(image, 0, 0);
      return el("figure", {}, [canvas, el("figcaption", { text: label })]);
    }));
  }

  const sections = [];
  const runButtons = [];
  const outputs = {};
  const reveals = [];

  function build() {
    const n = state.input ? state.input.length : 144, k = state.code.length || 2;
    root.replaceChildren();
    root.append(el("h2", { id: "tour-title", text: "Lesson tour" }));
    const dots = el("ol", { className: "tour-dots", "aria-label": "tour pages" });
    const counter = el("p", { className: "tour-counter", "aria-live": "polite", id: "tour-counter" });
    const pages = el("div", { className: "tour-pages" });
    STEPS.forEach((step, i) => {
      const out = el("div", { className: "tour-output", "aria-live": "polite", id: `tour-out-${step.id}` });
      outputs[step.id] = out;
      const buttons = [[undefined, step.button], ...(step.extra ? [step.extra] : [])].map(([arg, label]) => {
        const b = el("button", { type: "button", className: "tour-run", "data-run": step.run, "data-arg": arg || "",
                                 text: label, disabled: true });
        b.addEventListener("click", () => run(step.run, arg));
        runButtons.push(b);
        return b;
      });
      sections.push(el("section", { className: "tour-step", id: `tour-${step.id}`, "aria-labelledby": `tour-h-${step.id}`, hidden: true }, [
        el("h3", { id: `tour-h-${step.id}`, tabindex: "-1", text: `${i + 1}. ${step.title}` }),
        ...step.text(n, k).map((t) => el("p", { text: t })),
        el("div", { className: "tour-actions" }, buttons),
        out,
      ]));
    });
    const questions = PRACTICE.map((q, i) => {
      const answer = el("p", { className: "tour-answer", id: `tour-answer-${i}`, hidden: true });
      const reveal = el("button", { type: "button", className: "tour-reveal", disabled: true, text: "Show the answer",
                                    "aria-controls": answer.id, "aria-expanded": "false" });
      const step = STEPS.findIndex((s) => s.run === q.run);
      const tryIt = el("button", { type: "button", className: "tour-run tour-try", "data-run": q.run, disabled: true,
                                   text: `Try it: ${STEPS[step].button[0].toLowerCase()}${STEPS[step].button.slice(1)}` });
      tryIt.addEventListener("click", () => run(q.run));
      runButtons.push(tryIt);
      const hint = el("p", { className: "tour-hint", text: `The answer opens once you have run the experiment of step ${step + 1} (here or there).` });
      reveal.addEventListener("click", () => {
        if (!results[q.run]) return;
        answer.textContent = q.answer(results[q.run]);
        answer.hidden = false;
        reveal.setAttribute("aria-expanded", "true");
      });
      reveals.push({ q, reveal, answer, hint });
      return el("li", { className: "tour-question" }, [el("p", { className: "tour-q", text: q.question }),
        el("div", { className: "tour-actions" }, [tryIt, reveal]), hint, answer]);
    });
    sections.push(el("section", { className: "tour-step", id: "tour-practice", "aria-labelledby": "tour-h-practice", hidden: true }, [
      el("h3", { id: "tour-h-practice", tabindex: "-1", text: "Practice questions" }),
      el("p", { text: "Each question is answered by something you do on the page: try it, then open the answer." }),
      el("ol", { className: "tour-questions" }, questions),
    ]));
    sections.forEach((s, i) => {
      pages.append(s);
      const dot = el("button", { type: "button", className: "tour-dot", text: i < STEPS.length ? String(i + 1) : "?",
                                 "aria-label": i < STEPS.length ? `step ${i + 1}: ${STEPS[i].title}` : "practice questions" });
      dot.addEventListener("click", () => go(i));
      dots.append(el("li", {}, dot));
    });
    const prev = el("button", { type: "button", className: "tour-prev", text: "← Previous" });
    const next = el("button", { type: "button", className: "tour-next", text: "Next →" });
    prev.addEventListener("click", () => go(page - 1));
    next.addEventListener("click", () => go(page + 1));
    root.append(dots, counter, pages, el("nav", { className: "tour-nav", "aria-label": "tour navigation" }, [prev, next]));
    root.addEventListener("keydown", (event) => {
      if (event.altKey || event.ctrlKey || event.metaKey || /^(INPUT|SELECT|TEXTAREA)$/.test(event.target.tagName)) return;
      if (event.key === "ArrowRight" || event.key === "PageDown") { event.preventDefault(); go(page + 1, true); }
      else if (event.key === "ArrowLeft" || event.key === "PageUp") { event.preventDefault(); go(page - 1, true); }
    });
    go(0);
  }

  function go(i, focusHeading = false) {
    page = Math.max(0, Math.min(sections.length - 1, i));
    sections.forEach((s, j) => { s.hidden = j !== page; });
    root.querySelectorAll(".tour-dot").forEach((d, j) => {
      if (j === page) d.setAttribute("aria-current", "step"); else d.removeAttribute("aria-current");
    });
    const prev = root.querySelector(".tour-prev"), next = root.querySelector(".tour-next");
    const active = document.activeElement;
    prev.disabled = page === 0;
    next.disabled = page === sections.length - 1;
    document.getElementById("tour-counter").textContent = page < STEPS.length
      ? `Step ${page + 1} of ${STEPS.length}: ${STEPS[page].title}` : "Practice questions";
    window.tour.page = page;
    // Keep the keyboard where it was unless that button just became disabled, or arrows moved the page.
    if (focusHeading || (active && active.disabled)) sections[page].querySelector("h3").focus();
  }

  async function run(name, arg) {
    if (busy || !state.ready) return;
    busy = true;
    runs[name] = (runs[name] || 0) + 1;
    runButtons.forEach((b) => { b.disabled = true; });
    const out = outputs[name];
    out.replaceChildren(el("p", { className: "tour-working", text: "running…" }));
    root.setAttribute("aria-busy", "true");
    try {
      const parts = await experiments[name](arg);
      out.replaceChildren(...parts.filter(Boolean));
    } catch (err) {
      out.replaceChildren(el("p", { className: "tour-error", text: `The experiment stopped: ${err.message}` }));
    } finally {
      busy = false;
      root.removeAttribute("aria-busy");
      runButtons.forEach((b) => { b.disabled = false; });
      updateReveals();
    }
  }

  function updateReveals() {
    for (const { q, reveal, hint } of reveals) {
      const ready = Boolean(results[q.run]);
      reveal.disabled = !ready;
      hint.hidden = ready;
    }
  }

  window.tour = { results, go: (i) => go(i), run: (name, arg) => run(name, arg), page: 0 };
  build();
  // Experiments wait for the page's first drawing.
  const start = setInterval(() => {
    if (!state.ready) return;
    clearInterval(start);
    remember();
    runButtons.forEach((b) => { b.disabled = false; });
    root.classList.add("tour-ready");
  }, 50);
})();
