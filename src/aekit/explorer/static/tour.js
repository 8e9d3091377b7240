// aekit explorer: the lesson tour beside the figure. Plain JavaScript, no dependencies, no build step.
//
// Six steps (the bottleneck, the latent space, blends, the holes, denoising, anomalies). Each explains one
// idea, states its claim with the number behind it measured on the live model as soon as the page is
// ready (lesson.js: presets that come back as themselves, how far apart their codes land, midpoints that
// decode to blends, random codes of the plain AE against the VAE's prior draws, inverted presets'
// errors), and offers an experiment that drives the page through window.explorer. A claim the model does
// not bear out is reported as such: no sentence of the tour asserts what the numbers do not show. The
// practice questions at the end are answered from what the reader ran on the page. It registers as a
// plugin (window.AekitExplorer.plugins) and asks the page's backend for meta and data codes, so an
// exported or notebook page (backend "local", data in <script id="aekit-data">) makes no request.
// Without the plugin hook it reads /api/meta and /api/codes from the server, and in a standalone page
// falls back to the presets' own codes.
//
// window.tour = { results, go(i), run(name), page } exposes what the experiments measured (the claims in
// results.claims, by model name and as .ae / .vae), for tests.
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
             (switches.length ? `; it changed at step ${switches.join(", ")}: watch the reconstruction there.` : ".")),
        line("Press again to walk between another pair of classes."),
      ];
    },

    async blend() {
      const claims = await claimsReady();
      const model = await useModel(false);
      const measured = claims.byModel[model];
      if (!measured || !measured.pairs.length) throw new Error("this page has fewer than two presets");
      // Blends first (nearer both presets), then switches (nearest one of them), then the rest.
      const order = measured.pairs.slice().sort((p, q) => (q.both - p.both) || (q.blend - p.blend));
      const chosen = order[(runs.blend - 1) % order.length];
      ex.setCode(chosen.code);
      await settle();
      const presets = core.presets;
      const { index, d } = window.AekitLesson.nearestPreset(state.reconstruction, presets);
      const names = presets.map((q) => q.name);
      const ia = names.indexOf(chosen.a), ib = names.indexOf(chosen.b);
      const others = Math.min(...d.filter((_, i) => i !== ia && i !== ib));
      const r = { model, a: chosen.a, b: chosen.b, code: state.code.slice(), reconstruction: state.reconstruction.slice(),
                  nearest: names[index], distances: Object.fromEntries(names.map((nm, i) => [nm, d[i]])),
                  blend: Math.min(d[ia], d[ib]) < others, both: Math.max(d[ia], d[ib]) < others };
      results.blend = r;
      const verdict = r.both ? `nearer to both ${r.a} and ${r.b} than to any other preset: a blend of the two.`
        : r.blend ? `nearest ${r.nearest}, one of the two: the decoder switches from one shape to the other here.`
          : `nearest ${r.nearest}, a third preset: the straight line from ${r.a} to ${r.b} passes through its region.`;
      return [
        line(`The dot is at the midpoint of the codes of ${r.a} and ${r.b}, ${vec(r.code)}. Its decode is `,
             num(r.nearest, "blend-nearest"), ` (${fmt(d[index])} from it) → ${verdict}`),
        line(`Press again for the next of the ${measured.pairs.length} pairs.`),
        pair([[r.a, presets[ia].x], ["midpoint decode", r.reconstruction], [r.b, presets[ib].x]]),
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
             `${against} (${(vaeD / vgap).toFixed(1)}× its typical gap): ` +
             (vaeD / vgap < aeD / gap ? "far nearer its data than the AE's hole, among the codes its decoder learned from."
               : "no nearer its data than the AE's hole is to the AE's.") + " The page now shows the VAE."),
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
      const kept = Math.round(100 * r.noiseOut / r.noiseIn);
      return [
        table([
          ["noisy input vs clean input", num(fmt(r.noiseIn), "noise-in")],
          ["reconstruction of the noisy input vs clean input", num(fmt(r.errorVsClean), "denoise-error")],
          ["reconstruction of the clean input vs clean input", num(fmt(r.floor), "denoise-floor")],
          ["noise that reached the output: reconstructions, noisy vs clean", num(fmt(r.noiseOut), "noise-out")],
        ], `MSE in data units, ${clean.name} with Gaussian noise σ = ${SIGMA}`),
        line((kept < 50 ? `Only ${kept}% of the input's noise reached the reconstruction. `
          : `${kept}% of the input's noise reached the reconstruction: the noise moved the code. `) +
             (r.errorVsClean < r.noiseIn
               ? "The reconstruction is closer to the clean input than the noisy input is: the model cleaned it."
               : r.floor >= 0.5 * r.noiseIn
                 ? "It is still no closer to the clean input than the noisy input, because the bottleneck's own error " +
                   "(third line) is about as large as the noise: the code is too small to rebuild this input sharply."
                 : "It is no closer to the clean input than the noisy input: the noisy input encoded away from the " +
                   "clean one's code (compare the last line with the third).")),
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
  // Each step: its explanation (no claim the numbers could contradict), then `claim`, built from the
  // measurements of lesson.js once they are in, saying whether this model bears the claim out.
  const STEPS = [
    { id: "bottleneck", title: "The bottleneck", run: "bottleneck", button: "Encode the next preset",
      text: (n, k) => [
        `An autoencoder squeezes each input through a narrow code and rebuilds the input from that code alone. ` +
        `Here each image is ${n} numbers and the code is ${k}, so the decoder must rebuild all ${n} from ${k}.`,
        "Training lowers the reconstruction error, the mean squared difference between input and reconstruction. " +
        "Whether the code kept which shape an input was shows in whether each preset comes back as itself, measured below."],
      claim: (c) => perModel(c, (m) => [num(`${m.self.length} of ${m.names.length}`, `claim-self-${m.model}`),
        ` presets come back as themselves on ${label(m).replace("The", "the")}` +
        (m.self.length === m.names.length ? "" : ` (${Object.entries(m.wrong).map(([a, b]) => `${a} comes back nearest ${b}`).join(", ")})`)],
        (ms) => (ms.every((m) => m.self.length === m.names.length)
          ? "Every preset's reconstruction is nearer its own preset than any other: the code keeps which shape it was."
          : "Where a preset comes back as another, the code lost which shape it was.")) },
    { id: "latent", title: "The latent space", run: "latent", button: "Walk between two classes",
      text: () => [
        "Every input lands at a point of the latent plane; the coloured scatter is the data set encoded, one colour per shape class.",
        "The model was never told the classes, so whether alike images land together and different shapes apart is " +
        "something it learned, or not: the numbers below measure it. Walk the dot from one cluster's middle to another's " +
        "and watch the reconstruction."] ,
      claim: (c) => perModel(c, (m) => [`${label(m)}: the closest two presets' codes (${m.closest.a} and ${m.closest.b}) are `,
        num(fmt(m.separation, 2), `claim-separation-${m.model}`), " of the codes' mean spread apart; the decoded " +
        `${m.gridN}×${m.gridN} grid shows `, num(`${m.grid.length} of ${m.names.length}`, `claim-grid-${m.model}`), " preset classes"],
        (ms) => (ms.every((m) => m.separation >= 0.2 && m.grid.length === m.names.length)
          ? "The presets land apart, each with its own region of the plane."
          : "Some presets land close together or have no region of the plane: this model mixes them up.")) },
    { id: "blend", title: "Blends", run: "blend", button: "Decode the midpoint of two presets",
      text: () => [
        "Between two presets' codes lie codes no training image had. Their decodes show what the decoder does between " +
        "shapes: a blend of the two, or a third shape on the way.",
        "Below, for every pair of presets, the midpoint of their two codes is decoded and compared with all the presets."],
      claim: (c) => perModel(c, (m) => [`${label(m)}: the midpoint decodes nearest one of its two presets for `,
        num(`${m.blends} of ${m.pairs.length}`, `claim-blends-${m.model}`), " pairs, nearer to both than to any third for ",
        num(String(m.blendsBoth), `claim-both-${m.model}`)],
        (ms) => (ms.every((m) => m.blends >= 0.8 * m.pairs.length)
          ? "Most midpoints decode to a blend of their two presets."
          : "Not every midpoint is a blend: on a plane, the straight line between two far presets crosses the " +
            "regions of others, and there the decode is a third shape.")) },
    { id: "holes", title: "The holes", run: "holes", button: "Jump into a hole, then sample the VAE",
      text: () => [
        "A plain autoencoder is trained only on the codes of real inputs, so nothing tells its decoder what to do in the " +
        "empty space between clusters, and a random code can land there.",
        "A VAE encodes each input as a small cloud and its KL term pulls every cloud toward a standard normal prior, to fill " +
        "the region where the prior puts its mass. Below, random codes of both are decoded and compared with the data."],
      claim: (c) => {
        if (!c.ae || !c.vae) return [line(`This page has ${c.ae ? "no VAE" : "no plain autoencoder"} to compare; the holes step needs both.`)];
        const ratio = c.ae.random / c.vae.random;
        return [line(`Decoded random codes, median distance (MSE) to the nearest of ${c.ae.dataIndices.length} data samples: ` +
          "plain AE, uniform over its plane: ", num(fmt(c.ae.random), "claim-random-ae"), "; VAE, drawn from its prior: ",
          num(fmt(c.vae.random), "claim-random-vae"), "."),
          line(ratio > 1 ? `The VAE's random decodes are ${ratio.toFixed(1)}× closer to the data: its prior's region is filled.`
            : "Here the VAE's prior draws decode no closer to the data than the plain AE's random points.")];
      } },
    { id: "denoise", title: "Denoising", run: "denoise", button: `Add noise (σ = ${SIGMA}) to the input`,
      text: () => [
        "Add noise to the input and see whether the reconstruction stays a clean shape: a small code has little room for " +
        "independent noise in every pixel.",
        "The tour measures the reconstruction against the clean input you started from, which the model never sees. " +
        "A denoising autoencoder is trained for exactly this, on corrupted inputs; this one denoises only through its " +
        "bottleneck, so it can be no sharper than its own reconstruction of the clean input."] },
    { id: "anomaly", title: "Anomalies", run: "anomaly", button: "Feed an inverted shape", extra: ["noise", "Feed random noise"],
      text: () => [
        "A model reconstructs well the inputs like those it was trained on; an input unlike all of them, such as a shape " +
        "with its colours inverted or pure noise, has no good code.",
        "That is anomaly detection with an autoencoder: score each new input by its reconstruction error and flag " +
        "those above a threshold set from the errors of normal data. Below, the inverted presets are scored."],
      claim: (c) => perModel(c, (m) => [`${label(m)}: the inverted presets' median error is `,
        num(`${fmt(m.anomaly, 2)}×`, `claim-anomaly-${m.model}`), " the largest preset's"],
        (ms) => (ms.every((m) => m.anomaly > 1) ? "A threshold above the presets' errors flags them."
          : "Their errors overlap the presets': the error alone would not flag them here.")) },
  ];

  // One line per model (plain AE first), then the verdict over all of them.
  function perModel(c, parts, verdict) {
    const ms = [c.ae, c.vae, ...Object.values(c.byModel).filter((m) => m !== c.ae && m !== c.vae)].filter(Boolean);
    return [...ms.map((m) => line(...parts(m), ".")), line(verdict(ms))];
  }
  function label(m) { return m.stochastic ? `The VAE (${m.model})` : `The plain AE (${m.model})`; }

  const PRACTICE = [
    { run: "bottleneck", question: "What does the bottleneck force the model to do?",
      answer: (r) => `Keep only what it needs to rebuild the whole data set: your ${r.name} became ${r.k} numbers instead ` +
        `of ${r.n} and came back with error ${fmt(r.error)}. ` + selfSummary() + " Detail those few numbers cannot " +
        "hold is lost, so the reconstruction is a blurred, typical version of the input." },
    { run: "latent", question: "Which two presets land closest together on the plain AE's plane, and what does that mean?",
      answer: (r) => {
        const m = (results.claims || {}).ae;
        const close = m ? `${m.closest.a} and ${m.closest.b}, ${fmt(m.separation, 2)} of the codes' mean spread apart` : "(not measured)";
        return `On this plane: ${close}. Codes close together decode to similar images, so the closer two presets land the ` +
          `more alike the model finds them; your walk from ${r.from} to ${r.to} changed the nearest class at step ` +
          `${r.switches.join(", ") || "none"}.`;
      } },
    { run: "blend", question: "What does the point halfway between two presets' codes decode to?",
      answer: (r) => `The midpoint of ${r.a} and ${r.b} decoded nearest ${r.nearest} (${fmt(r.distances[r.nearest])}), ` +
        (r.both ? "nearer to both than to any other preset: a blend." : r.blend ? "one of the two: the decoder switches shape there."
          : "a third preset: the line between them crosses its region.") + " " + blendSummary() },
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
        `them: yours was ${fmt(r.vaeDistance)} from its nearest code (${(r.vaeDistance / r.vaeGap).toFixed(1)}× the typical gap). ` +
        randomSummary() },
    { run: "denoise", question: "Name a use of an autoencoder beyond reconstruction.",
      answer: (r) => `Denoising: your noisy ${r.name} was ${fmt(r.noiseIn)} from the clean input, and only ${fmt(r.noiseOut)} ` +
        "of noise reached its reconstruction, because the code cannot hold the noise. The page shows others too: " +
        "anomaly detection by reconstruction error (step 6), the codes as a 2-D embedding for plotting and " +
        "clustering (step 2), and new samples drawn from a VAE's prior (step 4)." },
  ];

  // Sentences of the answers quoted from the claims' numbers (empty until they are measured).
  function selfSummary() {
    const m = (results.claims || {}).ae;
    return m ? `On the plain AE ${m.self.length} of ${m.names.length} presets come back as themselves.` : "";
  }
  function blendSummary() {
    const m = (results.claims || {}).ae;
    return m ? `Over all ${m.pairs.length} pairs on the plain AE, ${m.blends} midpoints decode nearest one of their two presets.` : "";
  }
  function randomSummary() {
    const c = results.claims || {};
    return c.ae && c.vae ? `Random decodes: median distance to the data ${fmt(c.ae.random)} (plain AE) vs ${fmt(c.vae.random)} (VAE).` : "";
  }

  // Measure every model once the page is ready, then fill in each step's claim.
  let claimsPromise = null;
  function claimsReady() {
    if (!claimsPromise) claimsPromise = measureClaims();
    return claimsPromise;
  }
  async function measureClaims() {
    const b = backend();
    if (!b || !core.presets.length || !window.AekitLesson) throw new Error("this page has no presets to measure the claims on");
    const m = core.meta, samples = new Map(), byModel = {};
    for (const info of m.models) byModel[info.name] = await window.AekitLesson.measure(b, m, core.presets, info.name, samples);
    const ae = m.models.find((info) => !info.stochastic), vae = m.models.find((info) => info.stochastic);
    results.claims = { byModel, ae: ae ? byModel[ae.name] : null, vae: vae ? byModel[vae.name] : null };
    return results.claims;
  }
  function showClaims() {
    claimsReady().then((c) => {
      for (const step of STEPS) if (step.claim) claimBoxes[step.id].replaceChildren(...step.claim(c));
      root.classList.add("tour-measured");
    }).catch((err) => {
      for (const step of STEPS) {
        if (step.claim) claimBoxes[step.id].replaceChildren(el("p", { className: "tour-error", text: `Not measured: ${err.message}` }));
      }
      root.classList.add("tour-measured");
    });
  }

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
  const claimBoxes = {};
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
      const claim = step.claim ? el("div", { className: "tour-claim", id: `tour-claim-${step.id}`, "aria-live": "polite" },
        el("p", { className: "tour-working", text: "Measuring this on the live model…" })) : null;
      if (claim) claimBoxes[step.id] = claim;
      sections.push(el("section", { className: "tour-step", id: `tour-${step.id}`, "aria-labelledby": `tour-h-${step.id}`, hidden: true }, [
        el("h3", { id: `tour-h-${step.id}`, tabindex: "-1", text: `${i + 1}. ${step.title}` }),
        ...step.text(n, k).map((t) => el("p", { text: t })),
        ...(claim ? [claim] : []),
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
    showClaims();
  }, 50);
})();
