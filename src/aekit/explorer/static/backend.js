// aekit explorer: where the page's answers come from. Two backends with the same methods:
//
//   remote  the aekit server (`aekit explore`): fetch for requests, a WebSocket for drags
//   local   a standalone page (`aekit explore MODEL --export page.html`): the models mirrored in
//           JavaScript by decoder.js, the data inlined in <script id="aekit-data">; no request at all
//
// Both: meta(), presets(), sample(index), codes(model), encode(model, x), decode(model, codes, x?),
// grid(model, n, dims, base?) return promises of the server's JSON answers; setInput(x) sets the input
// drag errors are measured against; drag(model, z, seq) answers through hooks.decoded({seq, model, z,
// image, error}) or hooks.failed(message, seq); connect() starts it. hooks.pending(+1 / -1) counts
// requests in flight and hooks.status(text, bad) reports.
"use strict";

(function (root) {
  function remote(hooks) {
    let socket = null, input = null, meta = null;

    async function api(path, body) {
      const init = body === undefined ? {} : {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
      hooks.pending(1);
      try {
        const response = await fetch(path, init);
        const data = await response.json();
        if (!response.ok) throw new Error(data.error || response.statusText);
        return data;
      } finally {
        hooks.pending(-1);
      }
    }

    function connect() {
      const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/drag`);
      ws.onopen = () => {
        socket = ws;
        hooks.status(`connected: ${meta ? meta.dataset.name : ""}`);
        if (input) ws.send(JSON.stringify({ type: "input", x: input }));
      };
      ws.onmessage = (event) => {
        const msg = JSON.parse(event.data);
        if (msg.type === "decoded") hooks.decoded(msg);
        else if (msg.type === "error") hooks.failed(msg.error, msg.seq);
      };
      ws.onclose = () => {
        if (socket === ws) socket = null;
        hooks.status("connection lost; decoding over HTTP, reconnecting…", true);
        setTimeout(connect, 1000);
      };
    }

    const open = () => socket && socket.readyState === WebSocket.OPEN;
    const backend = {
      kind: "remote",
      meta: async () => (meta = await api("/api/meta")),
      presets: () => api("/api/presets"),
      sample: (index) => api(`/api/sample?index=${index}`),
      codes: (model) => api(`/api/codes?model=${encodeURIComponent(model)}`),
      encode: (model, x) => api("/api/encode", { model, x }),
      decode: (model, codes, x) => api("/api/decode", { model, codes, ...(x ? { x } : {}) }),
      grid: (model, n, dims, base) => api("/api/grid", { model, n, dims, ...(base ? { base } : {}) }),
      setInput(x) {
        input = x;
        if (open()) socket.send(JSON.stringify({ type: "input", x }));
      },
      drag(model, z, seq) {
        if (open()) {
          socket.send(JSON.stringify({ type: "decode", model, z, seq }));
          return;
        }
        backend.decode(model, [z], input)
          .then((out) => hooks.decoded({ seq, model, z, image: out.images[0], error: out.errors ? out.errors[0] : null }))
          .catch((err) => hooks.failed(err.message, seq));
      },
      connect,
    };
    return backend;
  }

  // Little-endian float32 values from base64 (the export's format for weights and samples).
  function floats(b64) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return new Float32Array(bytes.buffer);
  }

  function local(payload, hooks) {
    if (!root.AekitDecoder) throw new Error("this standalone page lacks decoder.js");
    const meta = payload.meta;
    const nf = meta.dataset.n_features;
    const nets = {}, scalings = {};
    for (const [name, spec] of Object.entries(payload.models)) {
      nets[name] = root.AekitDecoder.fromSpec(spec);
      const pre = spec.decoder.preprocessing;
      scalings[name] = pre ? { shift: floats(pre.shift), scale: floats(pre.scale) } : null;
    }
    const points = payload.points;
    const X = floats(points.x);  // (m * n_features): the rows behind the scatter and the hover
    const m = points.indices.length;
    const rowOf = new Map(points.indices.map((row, k) => [row, k]));
    const names = meta.dataset.label_names;
    let input = null;

    function net(model) {
      const found = Object.prototype.hasOwnProperty.call(nets, model) ? nets[model] : null;
      if (!found) throw new Error(`unknown model '${model}'; this page has: ${Object.keys(nets).join(", ")}`);
      return found;
    }

    // Mean squared error per decoded row against x, in the model's scaled space, as the server measures it.
    function errors(model, images, n, x) {
      if (!x) return null;
      const s = scalings[model];
      const scaled = (v, i) => (s ? Math.fround(Math.fround(v - s.shift[i]) / s.scale[i]) : v);
      const target = Float64Array.from(x, (v, i) => scaled(Math.fround(v), i));
      const out = [];
      for (let r = 0; r < n; r++) {
        let sum = 0;
        for (let i = 0; i < nf; i++) sum += (scaled(images[r * nf + i], i) - target[i]) ** 2;
        out.push(Math.fround(sum / nf));
      }
      return out;
    }

    function decode(model, codes, x) {
      const flat = codes.map((row) => row.map(Math.fround));
      const images = net(model).decodeBatch(flat, flat.length);  // (n * n_features)
      const rows = flat.map((_, r) => Array.from(images.subarray(r * nf, (r + 1) * nf)));
      return { codes: flat, images: rows, errors: errors(model, images, flat.length, x) };
    }

    const linspace = (lo, hi, n) => Array.from({ length: n }, (_, i) => Math.fround(lo + ((hi - lo) * i) / (n - 1)));

    return {
      kind: "local",
      meta: async () => meta,
      presets: async () => payload.presets,
      async sample(index) {
        const k = rowOf.get(index);
        if (k === undefined) throw new Error(`index=${index} is not one of the ${m} samples this page holds`);
        const label = points.labels ? points.labels[k] : null;
        return { index, label, label_name: label === null ? null : (names ? names[label] : String(label)),
                 x: Array.from(X.subarray(k * nf, (k + 1) * nf)) };
      },
      async codes(model) {
        const net_ = net(model), dim = net_.codeDim;
        const mean = net_.encodeBatch(X, m).mean;  // (m * code_dim): est.transform mirrored
        const codes = Array.from({ length: m }, (_, k) => Array.from(mean.subarray(k * dim, (k + 1) * dim)));
        return { codes, indices: points.indices, labels: points.labels };
      },
      async encode(model, x) {
        const net_ = net(model);
        const code = net_.encode(Float32Array.from(x));
        const recon = net_.decode(code.mean);
        const terms = {};
        if (code.logvar) {  // the analytic KL of N(mean, exp(logvar)) from N(0, I), in nats
          let kl = 0;
          code.logvar.forEach((lv, j) => { kl += 0.5 * (code.mean[j] ** 2 + Math.exp(lv) - 1 - lv); });
          terms.kl = kl;
        }
        return { mean: Array.from(code.mean), logvar: code.logvar ? Array.from(code.logvar) : null,
                 reconstruction: Array.from(recon), error: errors(model, recon, 1, x)[0], terms };
      },
      decode: async (model, codes, x) => decode(model, codes, x),
      async grid(model, n, dims, base) {
        const ranges = meta.models.find((mm) => mm.name === model).latent_range;
        const start = base ? base.map(Math.fround) : new Array(net(model).codeDim).fill(0);
        const xs = linspace(...ranges[dims[0]], n);
        const ys = dims.length > 1 ? linspace(...ranges[dims[1]], n).reverse() : null;
        const codes = [];
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            const z = start.slice();
            z[dims[0]] = xs[j];
            if (ys) z[dims[1]] = ys[i];
            codes.push(z);
          }
        }
        return { n, dims, xs, ys, images: decode(model, codes).images };
      },
      setInput(x) { input = x; },
      drag(model, z, seq) {
        Promise.resolve().then(() => {
          const out = decode(model, [z], input);
          hooks.decoded({ seq, model, z: out.codes[0], image: out.images[0], error: out.errors ? out.errors[0] : null });
        }).catch((err) => hooks.failed(err.message, seq));
      },
      connect() { hooks.status(`standalone page: ${meta.dataset.name}, decoded in this browser`); },
    };
  }

  // The local backend when the page carries its data (an exported page), else the server.
  function create(hooks) {
    const data = document.getElementById("aekit-data");
    return data ? local(JSON.parse(data.textContent), hooks) : remote(hooks);
  }

  root.AekitBackend = { create, remote, local, floats };
})(window);
