// aekit explorer: drawing samples on canvases, the label colours and the page's seeded random numbers.
// Plain functions of the page's meta data (GET /api/meta, or an exported page's payload).
"use strict";

(function (root) {
  const PALETTE = ["#4e79a7", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948",
                   "#9c755f", "#ff9da7", "#bab0ac", "#86bcb6", "#8cd17d", "#d37295"];

  // {c, h, w} of an image data set's samples; null for tables.
  function imageGeometry(meta) {
    const shape = meta.dataset.sample_shape;
    if (meta.dataset.kind === "image" && shape.length === 3) return { c: shape[0], h: shape[1], w: shape[2] };
    return null;
  }

  // Paint a flat sample into a canvas (or a size x size box of it) at the largest integer scale that
  // fits: pixel (i, j) covers a scale x scale block of grey round(255 * (v - low) / (high - low)),
  // so the canvas shows exactly the values it was given.
  function paint(meta, canvas, values, x0 = 0, y0 = 0, size = null) {
    const ctx = canvas.getContext("2d");
    const geom = imageGeometry(meta);
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

  // Standard normal draws from a seeded generator: the same seed draws the same cloud.
  function normals(seed) {
    const rng = mulberry32(seed);
    return () => {  // Box-Muller
      const u = 1 - rng(), v = rng();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    };
  }

  root.AekitPaint = { PALETTE, imageGeometry, paint, normals };
})(window);
