/*
 * aekit's MLP decoder (and encoder) mirrored in plain JavaScript, so an exported
 * explorer page decodes codes and encodes drawings with no server.
 *
 * It evaluates the JSON spec written by aekit.explorer.export (decoder_spec,
 * encoder_spec, model_spec): the same layers, activations, output transform,
 * clip and preprocessing inverse as est.inverse_transform(z) and est.transform(x).
 * Sums accumulate in float64; results are returned as float32, as torch's are.
 *
 *   const model = AekitDecoder.fromSpec(spec);
 *   model.decode([0.5, -1.0]);              // Float32Array(n_features), data space
 *   model.decodeBatch(zs, n);               // zs: n * code_dim values, row-major
 *   model.encode(x);                        // {mean, logvar?, indices?}
 *
 * No dependencies, no modules: it sets window.AekitDecoder (globalThis in workers),
 * and module.exports where CommonJS exists.
 */
(function (root) {
  "use strict";

  var TWO_OVER_SQRT_PI = 1.1283791670955126;
  var ONE_OVER_SQRT_PI = 0.5641895835477563;
  var SQRT_HALF = 0.7071067811865476;
  var SQRT_TWO_OVER_PI = 0.7978845608028654;

  /*
   * erf(x), accurate to about 1e-15 absolute (JavaScript has no Math.erf).
   * |x| < 2.5: erf x = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1))
   *   (Abramowitz & Stegun 7.1.6): every term is positive, so nothing cancels; at
   *   most ~40 terms.
   * |x| >= 2.5: erfc x = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
   *   (A&S 7.1.14), the continued fraction evaluated bottom-up from 40 terms
   *   (relative error under 4e-15 there).
   */
  function erfc_cf(ax) {
    var f = ax;
    for (var k = 40; k >= 1; k--) f = ax + (0.5 * k) / f;
    return ONE_OVER_SQRT_PI * Math.exp(-ax * ax) / f;
  }

  function erf(x) {
    var ax = Math.abs(x);
    var r;
    if (ax < 2.5) {
      var x2 = ax * ax;
      var term = ax;
      var sum = ax;
      for (var n = 1; term > 1e-17 * sum; n++) {
        term *= (2 * x2) / (2 * n + 1);
        sum += term;
      }
      r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
    } else {
      r = 1 - erfc_cf(ax); // NaN stays NaN; erfc_cf(Infinity) is 0
    }
    return x < 0 ? -r : r;
  }

  /*
   * Element-wise activations on a Float64Array, in place, one per name in
   * aekit.nn.ACTIVATIONS, with torch's defaults unless the spec says otherwise.
   */
  var ACTIVATIONS = {
    relu: function (h) {
      for (var i = 0; i < h.length; i++) if (h[i] < 0) h[i] = 0;
    },
    gelu: function (h, spec) {
      var i;
      if (spec.approximate === "tanh") {
        for (i = 0; i < h.length; i++) {
          var v = h[i];
          h[i] = 0.5 * v * (1 + Math.tanh(SQRT_TWO_OVER_PI * (v + 0.044715 * v * v * v)));
        }
      } else {
        // torch.nn.GELU(): the exact form x * Phi(x) = x/2 * (1 + erf(x / sqrt 2)).
        for (i = 0; i < h.length; i++) h[i] = 0.5 * h[i] * (1 + erf(h[i] * SQRT_HALF));
      }
    },
    silu: function (h) {
      for (var i = 0; i < h.length; i++) h[i] = h[i] / (1 + Math.exp(-h[i]));
    },
    tanh: function (h) {
      for (var i = 0; i < h.length; i++) h[i] = Math.tanh(h[i]);
    },
    elu: function (h, spec) {
      var alpha = spec.alpha === undefined ? 1.0 : spec.alpha;
      for (var i = 0; i < h.length; i++) if (h[i] <= 0) h[i] = alpha * Math.expm1(h[i]);
    },
    leaky_relu: function (h, spec) {
      var slope = spec.negative_slope === undefined ? 0.01 : spec.negative_slope;
      for (var i = 0; i < h.length; i++) if (h[i] < 0) h[i] = slope * h[i];
    },
  };

  var TO_DATA = {
    identity: null,
    sigmoid: function (h) {
      for (var i = 0; i < h.length; i++) h[i] = 1 / (1 + Math.exp(-h[i]));
    },
  };

  function fail(message) {
    throw new Error("AekitDecoder: " + message);
  }

  /* Little-endian float32 values from base64, widened to float64. */
  function floats(b64, count, what) {
    if (typeof b64 !== "string") fail(what + " must be a base64 string, got " + typeof b64);
    var bin = atob(b64);
    if (bin.length !== 4 * count) {
      fail(what + " holds " + bin.length / 4 + " float32 values, the spec says " + count);
    }
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var view = new DataView(bytes.buffer);
    var out = new Float64Array(count);
    for (var j = 0; j < count; j++) out[j] = view.getFloat32(4 * j, true);
    return out;
  }

  /*
   * One affine layer y = W h + b with W stored (out, in) row-major. A tied layer
   * (transpose: true) arrives as the encoder's (in, out) matrix and is transposed
   * once here, so the hot loop always reads contiguous rows.
   */
  function makeLayer(spec, what) {
    var nIn = spec["in"];
    var nOut = spec.out;
    var raw = floats(spec.weight, nIn * nOut, what + ".weight");
    var w = raw;
    if (spec.transpose) {
      w = new Float64Array(nIn * nOut);
      for (var r = 0; r < nIn; r++) for (var c = 0; c < nOut; c++) w[c * nIn + r] = raw[r * nOut + c];
    }
    return { nIn: nIn, nOut: nOut, w: w, b: floats(spec.bias, nOut, what + ".bias") };
  }

  /* x (n, nIn) -> (n, nOut), both row-major Float64Arrays. Each weight row stays in
   * cache while it meets every sample, four samples per pass so each weight is read
   * once per four products (a 16x16 grid of a 784-pixel model decodes in ~0.1 s). */
  function affine(layer, x, n) {
    var nIn = layer.nIn, nOut = layer.nOut, w = layer.w, b = layer.b;
    var y = new Float64Array(n * nOut);
    var n4 = n - (n % 4);
    var o, s, i, row, wi;
    for (o = 0; o < nOut; o++) {
      row = o * nIn;
      for (s = 0; s < n4; s += 4) {
        var x0 = s * nIn, x1 = x0 + nIn, x2 = x1 + nIn, x3 = x2 + nIn;
        var a0 = b[o], a1 = b[o], a2 = b[o], a3 = b[o];
        for (i = 0; i < nIn; i++) {
          wi = w[row + i];
          a0 += wi * x[x0 + i];
          a1 += wi * x[x1 + i];
          a2 += wi * x[x2 + i];
          a3 += wi * x[x3 + i];
        }
        y[s * nOut + o] = a0;
        y[(s + 1) * nOut + o] = a1;
        y[(s + 2) * nOut + o] = a2;
        y[(s + 3) * nOut + o] = a3;
      }
      for (; s < n; s++) {
        var xs = s * nIn;
        var acc = b[o];
        for (i = 0; i < nIn; i++) acc += w[row + i] * x[xs + i];
        y[s * nOut + o] = acc;
      }
    }
    return y;
  }

  function makeActivation(spec) {
    if (spec === null || spec === undefined) return null;
    var fn = ACTIVATIONS[spec.name];
    if (!fn) fail("activation " + JSON.stringify(spec.name) + " is not one of: " + Object.keys(ACTIVATIONS).join(", "));
    return function (h) { fn(h, spec); };
  }

  /* linear(x) + mlp(x), the body shared by both sides (aekit.nn.mlp._LinearPlusMLP). */
  function makeNet(spec, what) {
    var mlp = spec.mlp.map(function (layer, i) { return makeLayer(layer, what + ".mlp[" + i + "]"); });
    var linear = spec.linear ? makeLayer(spec.linear, what + ".linear") : null;
    var act = makeActivation(spec.activation);
    if (mlp.length > 1 && !act) fail(what + " has hidden layers but no activation");
    return function (x, n) {
      var h = x;
      for (var i = 0; i < mlp.length; i++) {
        h = affine(mlp[i], h, n);
        if (i < mlp.length - 1) act(h); // between layers, not after the last
      }
      if (linear) {
        var l = affine(linear, x, n);
        for (var j = 0; j < h.length; j++) h[j] += l[j];
      }
      return h;
    };
  }

  function makePreprocessing(spec, nFeatures, what) {
    if (!spec) return null;
    return {
      shift: floats(spec.shift, nFeatures, what + ".shift"),
      scale: floats(spec.scale, nFeatures, what + ".scale"),
    };
  }

  /* Rows as one flat Float64Array; accepts a flat typed array/array or an array of rows. */
  function rows(values, width, n, what) {
    var flat;
    if (values.length && typeof values[0] === "object" && values[0] !== null && values[0].length !== undefined) {
      n = values.length;
      flat = new Float64Array(n * width);
      for (var r = 0; r < n; r++) {
        if (values[r].length !== width) {
          fail(what + " row " + r + " has " + values[r].length + " values, expected " + width);
        }
        for (var c = 0; c < width; c++) flat[r * width + c] = values[r][c];
      }
    } else {
      if (n === undefined) n = values.length / width;
      if (!(n >= 0) || n !== Math.floor(n) || values.length !== n * width) {
        fail(what + " have " + values.length + " values, expected a multiple of " + width);
      }
      flat = Float64Array.from(values);
    }
    for (var i = 0; i < flat.length; i++) {
      if (!isFinite(flat[i])) fail(what + " contain NaN or infinite values (value " + i + ")");
    }
    return { x: flat, n: n };
  }

  function checkFormat(spec, format) {
    if (!spec || spec.format !== format) fail("expected a spec of format " + format + ", got " + (spec && spec.format));
    if (spec.version !== 1) fail("spec version " + spec.version + " is not supported (this file reads version 1)");
  }

  /* Code (batch, code_dim) -> data space, as est.inverse_transform does. */
  function makeDecoder(spec) {
    checkFormat(spec, "aekit.decoder");
    var net = makeNet(spec, "decoder");
    if (!Object.prototype.hasOwnProperty.call(TO_DATA, spec.to_data)) {
      fail("to_data " + JSON.stringify(spec.to_data) + " is not one of: " + Object.keys(TO_DATA).join(", "));
    }
    var toData = TO_DATA[spec.to_data];
    var range = spec.output_range;
    var nFeatures = spec.n_features;
    var pre = makePreprocessing(spec.preprocessing, nFeatures, "decoder.preprocessing");
    return function (z, n) {
      var batch = rows(z, spec.code_dim, n, "codes");
      var h = net(batch.x, batch.n); // (n, n_features) raw decoder output
      if (toData) toData(h);
      var out = new Float32Array(h.length);
      for (var i = 0; i < h.length; i++) {
        // torch computes in float32: round after each step that torch rounds.
        var v = Math.fround(h[i]);
        if (range) v = Math.min(Math.max(v, range[0]), range[1]);
        if (pre) {
          var f = i % nFeatures;
          v = Math.fround(Math.fround(v * pre.scale[f]) + pre.shift[f]);
        }
        out[i] = v;
      }
      return out;
    };
  }

  /* Data space (batch, n_features) -> {mean, logvar?, indices?}, as est.transform does. */
  function makeEncoder(spec) {
    checkFormat(spec, "aekit.encoder");
    var net = makeNet(spec, "encoder");
    var nFeatures = spec.n_features;
    var codeDim = spec.code_dim;
    var pre = makePreprocessing(spec.preprocessing, nFeatures, "encoder.preprocessing");
    var bn = spec.bottleneck;
    var codebook = null;
    if (bn.kind === "vq") {
      codebook = floats(bn.codebook, bn.codebook_size * bn.token_dim, "encoder.bottleneck.codebook");
    } else if (bn.kind !== "deterministic" && bn.kind !== "gaussian") {
      fail("bottleneck " + JSON.stringify(bn.kind) + " is not one of: deterministic, gaussian, vq");
    }
    return function (x, n) {
      var batch = rows(x, nFeatures, n, "inputs");
      var xs = batch.x;
      n = batch.n;
      if (pre) {
        for (var i = 0; i < xs.length; i++) {
          var f = i % nFeatures;
          xs[i] = Math.fround(Math.fround(xs[i] - pre.shift[f]) / pre.scale[f]);
        }
      } else {
        for (var k = 0; k < xs.length; k++) xs[k] = Math.fround(xs[k]);
      }
      var h = net(xs, n); // (n, bottleneck in_features)
      var width = h.length / n;
      var mean = new Float32Array(n * codeDim);
      var out = { mean: mean };
      var s, j;
      if (bn.kind === "gaussian") {
        // The heads are h.chunk(2, dim=1): mean first, then log-variance (clamped).
        var logvar = new Float32Array(n * codeDim);
        for (s = 0; s < n; s++) {
          for (j = 0; j < codeDim; j++) {
            mean[s * codeDim + j] = h[s * width + j];
            var lv = h[s * width + codeDim + j];
            logvar[s * codeDim + j] = Math.min(Math.max(lv, bn.logvar_range[0]), bn.logvar_range[1]);
          }
        }
        out.logvar = logvar;
      } else if (bn.kind === "vq") {
        // Each contiguous token of token_dim values snaps to its nearest codebook vector.
        var td = bn.token_dim, nt = bn.n_tokens, size = bn.codebook_size;
        var indices = new Int32Array(n * nt);
        for (s = 0; s < n; s++) {
          for (var t = 0; t < nt; t++) {
            var base = s * width + t * td;
            var best = 0, bestD = Infinity;
            for (var c = 0; c < size; c++) {
              var d = 0;
              for (j = 0; j < td; j++) {
                var diff = Math.fround(h[base + j]) - codebook[c * td + j];
                d += diff * diff;
              }
              if (d < bestD) { bestD = d; best = c; }
            }
            indices[s * nt + t] = best;
            for (j = 0; j < td; j++) mean[s * codeDim + t * td + j] = codebook[best * td + j];
          }
        }
        out.indices = indices;
      } else {
        for (var m = 0; m < mean.length; m++) mean[m] = h[m];
      }
      return out;
    };
  }

  function slice(result, s, codeDim, nTokens) {
    var one = { mean: result.mean.subarray(s * codeDim, (s + 1) * codeDim) };
    if (result.logvar) one.logvar = result.logvar.subarray(s * codeDim, (s + 1) * codeDim);
    if (result.indices) one.indices = result.indices.subarray(s * nTokens, (s + 1) * nTokens);
    return one;
  }

  /*
   * fromSpec(spec): spec is a model spec ({format: "aekit.model", decoder, encoder}),
   * or a decoder or encoder spec alone. Returns {codeDim, nFeatures, inputShape,
   * decode, decodeBatch, encode, encodeBatch}; the methods a spec lacks throw.
   */
  function fromSpec(spec) {
    var format = spec && spec.format;
    var decSpec = null, encSpec = null;
    if (format === "aekit.model") {
      if (spec.version !== 1) fail("spec version " + spec.version + " is not supported (this file reads version 1)");
      decSpec = spec.decoder || null;
      encSpec = spec.encoder || null;
    } else if (format === "aekit.decoder") {
      decSpec = spec;
    } else if (format === "aekit.encoder") {
      encSpec = spec;
    }
    if (!decSpec && !encSpec) {
      fail("spec format " + JSON.stringify(format) + " is not one of: aekit.model, aekit.decoder, aekit.encoder");
    }
    var dec = decSpec ? makeDecoder(decSpec) : null;
    var enc = encSpec ? makeEncoder(encSpec) : null;
    var part = decSpec || encSpec;
    var codeDim = part.code_dim;
    var nFeatures = part.n_features;
    var nTokens = encSpec && encSpec.bottleneck.kind === "vq" ? encSpec.bottleneck.n_tokens : 0;
    function needDecoder() { if (!dec) fail("this spec has no decoder"); }
    function needEncoder() { if (!enc) fail("this spec has no encoder"); }
    return {
      codeDim: codeDim,
      nFeatures: nFeatures,
      inputShape: part.input_shape,
      /* One code (code_dim values) -> Float32Array(n_features) in data space. */
      decode: function (z) {
        needDecoder();
        if (z.length !== codeDim) fail("a code has " + codeDim + " values, got " + z.length);
        return dec(z, 1);
      },
      /* n codes, flat (n * code_dim) or an array of rows -> Float32Array(n * n_features). */
      decodeBatch: function (z, n) { needDecoder(); return dec(z, n); },
      /* One sample (n_features values, data units) -> {mean, logvar?, indices?}. */
      encode: function (x) {
        needEncoder();
        if (x.length !== nFeatures) fail("a sample has " + nFeatures + " values, got " + x.length);
        return slice(enc(x, 1), 0, codeDim, nTokens);
      },
      /* n samples -> {mean: Float32Array(n * code_dim), logvar?, indices?: Int32Array(n * n_tokens)}. */
      encodeBatch: function (x, n) { needEncoder(); return enc(x, n); },
    };
  }

  var AekitDecoder = {
    fromSpec: fromSpec,
    erf: erf,
    activations: Object.keys(ACTIVATIONS),
    /* Apply one activation spec ({name, ...params}) to values: for tests and the curious. */
    activate: function (spec, values) {
      var h = Float64Array.from(values);
      makeActivation(spec)(h);
      return h;
    },
  };

  root.AekitDecoder = AekitDecoder;
  if (typeof module !== "undefined" && module.exports) module.exports = AekitDecoder;
})(typeof window !== "undefined" ? window : globalThis);
