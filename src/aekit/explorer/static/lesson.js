// aekit explorer: the lesson's numbers, measured on the live model for the tour's claims.
//
// The JavaScript twin of aekit/explorer/lesson.py: for one model it asks the page's backend (the
// server, or the models mirrored in this page) for the presets' codes and reconstructions, the data
// codes, decodes of the presets' midpoints, a 10x10 grid over the latent range and decodes of random
// codes, and returns what they show:
//   self       names of the presets whose reconstruction is nearer their own preset than any other
//   wrong      {name: the preset its reconstruction is nearest} for the others
//   separation smallest distance between two presets' codes over the data codes' mean spread (the
//              mean distance of the page's data codes from their centroid); closest: that pair
//   grid       preset names nearest to at least one tile of the decoded 10x10 grid
//   blends     pairs whose midpoint code decodes nearest one of the two; blendsBoth: nearer both than
//              any third; pairs: every pair with its midpoint's code, decode and nearest preset
//   random     median mean squared distance from decoded random codes (uniform over the plane for a
//              deterministic code, N(0, I) draws for a stochastic one) to the nearest data sample
//   anomaly    reconstruction error of each preset inverted (low + high - x) over the largest preset's
// Distances between images are mean squared differences in the data's units, as in lesson.py.
"use strict";

(function (root) {
  const RANDOM_CODES = 64;   // random codes decoded for the holes
  const DATA_SAMPLES = 200;  // data samples they are compared with
  const GRID_N = 10;

  function mse(a, b) {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
    return s / a.length;
  }
  const dist = (a, b) => Math.sqrt(a.reduce((s, v, j) => s + (v - b[j]) ** 2, 0));
  function median(values) {
    const s = values.slice().sort((a, b) => a - b);
    const n = s.length;
    return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : NaN;
  }
  // Index of the preset nearest an image, and the distances to all of them.
  function nearestPreset(image, presets) {
    const d = presets.map((p) => mse(image, p.x));
    let best = 0;
    d.forEach((v, i) => { if (v < d[best]) best = i; });
    return { index: best, d };
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

  async function decodeAll(backend, model, codes, per) {
    const images = [];
    for (let s = 0; s < codes.length; s += per) images.push(...(await backend.decode(model, codes.slice(s, s + per))).images);
    return images;
  }

  // Everything above for `model` (a name from meta). `samples` caches data samples between models.
  async function measure(backend, meta, presets, model, samples = new Map(), seed = 0) {
    const info = meta.models.find((m) => m.name === model);
    const per = meta.limits.max_decode;
    const names = presets.map((p) => p.name);
    const encoded = [];
    for (const p of presets) encoded.push(await backend.encode(model, p.x));
    const codes = encoded.map((e) => e.mean.map(Math.fround));
    const self = [], wrong = {};
    encoded.forEach((e, i) => {
      const k = nearestPreset(e.reconstruction, presets).index;
      if (k === i) self.push(names[i]); else wrong[names[i]] = names[k];
    });

    const data = await backend.codes(model);
    const dim = codes[0].length;
    const centroid = Array.from({ length: dim }, (_, j) => data.codes.reduce((s, c) => s + c[j], 0) / data.codes.length);
    const spread = data.codes.reduce((s, c) => s + dist(c, centroid), 0) / data.codes.length;
    let closest = null;
    const pairs = [];
    for (let a = 0; a < codes.length; a++) {
      for (let b = a + 1; b < codes.length; b++) {
        const d = dist(codes[a], codes[b]);
        if (!closest || d < closest.d) closest = { a: names[a], b: names[b], d };
        pairs.push({ a, b, code: codes[a].map((v, j) => Math.fround((v + codes[b][j]) / 2)) });
      }
    }
    const mids = await decodeAll(backend, model, pairs.map((p) => p.code), per);
    let blends = 0, blendsBoth = 0;
    pairs.forEach((p, k) => {
      const { index, d } = nearestPreset(mids[k], presets);
      const others = Math.min(...d.filter((_, i) => i !== p.a && i !== p.b));
      p.image = mids[k];
      p.nearest = names[index];
      p.blend = Math.min(d[p.a], d[p.b]) < others;
      p.both = Math.max(d[p.a], d[p.b]) < others;
      blends += p.blend; blendsBoth += p.both;
      p.a = names[p.a]; p.b = names[p.b];
    });

    const dims = dim > 1 ? [0, 1] : [0];
    const grid = await backend.grid(model, GRID_N, dims, null);
    const shown = new Set(grid.images.map((image) => nearestPreset(image, presets).index));

    // Random codes: uniform over the latent range for a deterministic code, the prior for a VAE.
    const rng = mulberry32(1000 + seed);
    const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    const randomCodes = Array.from({ length: RANDOM_CODES }, () => info.latent_range.map(([lo, hi]) =>
      Math.fround(info.stochastic ? normal() : lo + (hi - lo) * rng())));
    const randomImages = await decodeAll(backend, model, randomCodes, per);
    const indices = data.indices.slice(0, DATA_SAMPLES);
    const missing = indices.filter((index) => !samples.has(index));
    for (let s = 0; s < missing.length; s += 25) {  // a few at a time: the server answers them side by side
      const part = missing.slice(s, s + 25);
      const got = await Promise.all(part.map((index) => backend.sample(index)));
      got.forEach((found, k) => samples.set(part[k], found.x));
    }
    const rows = indices.map((index) => samples.get(index));
    const randomDistances = randomImages.map((image) => Math.min(...rows.map((x) => mse(image, x))));

    // An input unlike the data: each preset inverted, against the presets' own errors.
    const [low, high] = meta.dataset.value_range;
    const presetErrors = encoded.map((e) => e.error);
    const inverted = [];
    for (const p of presets) inverted.push((await backend.encode(model, p.x.map((v) => Math.fround(low + high - v)))).error);

    return {
      model, stochastic: Boolean(info.stochastic), names, codes, self, wrong,
      spread, separation: closest ? closest.d / spread : NaN, closest,
      grid: names.filter((_, i) => shown.has(i)), gridN: GRID_N,
      blends, blendsBoth, pairs,
      random: median(randomDistances), randomCodes, randomFrom: info.stochastic ? "prior" : "plane",
      dataIndices: indices,
      presetErrors, inverted, anomaly: median(inverted) / Math.max(...presetErrors),
    };
  }

  root.AekitLesson = { measure, mse, median, nearestPreset, RANDOM_CODES, DATA_SAMPLES, GRID_N };
})(window);
