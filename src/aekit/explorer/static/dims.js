// aekit explorer plugin: codes wider than 2 (which two dims the plane shows, sliders for the others)
// and, for a 3-D code, a view of the data's codes you can rotate.
"use strict";

(window.AekitExplorer = window.AekitExplorer || { plugins: [] }).plugins.push((core) => {
  const { $, state, hooks } = core;
  const STEPS = 200;  // slider positions across a dim's latent range

  // -- the slice ------------------------------------------------------------------------------
  let sliders = [];
  function buildSlice() {
    const m = core.models[state.model], k = m.code_dim;
    $("slice").hidden = k <= 2;
    if (k <= 2) return;
    for (const id of ["dim-x", "dim-y"]) {
      const select = $(id);
      select.replaceChildren(...Array.from({ length: k }, (_, d) => new Option(`z${d}`, String(d))));
    }
    const box = $("sliders");
    box.replaceChildren();
    sliders = m.latent_range.map(([lo, hi], d) => {
      const label = document.createElement("label");
      label.className = "slider";
      const name = document.createElement("span");
      name.textContent = `z${d}`;
      const input = document.createElement("input");
      Object.assign(input, { type: "range", id: `slider-${d}`, min: String(lo), max: String(hi), step: String((hi - lo) / STEPS) });
      input.setAttribute("aria-label", `code dimension ${d}`);
      const out = document.createElement("output");
      input.addEventListener("input", () => {
        const code = state.code.slice();
        code[d] = Number(input.value);
        core.setCode(code);
      });
      label.append(name, input, out);
      box.appendChild(label);
      return { label, input, out };
    });
    syncSlice();
  }

  // Selects show the plane's dims; each other dim has a slider at the dot's value.
  function syncSlice() {
    if (!sliders.length || core.models[state.model].code_dim <= 2) return;
    $("dim-x").value = String(state.dims[0]);
    $("dim-y").value = String(state.dims[1]);
    sliders.forEach(({ label, input, out }, d) => {
      label.hidden = state.dims.includes(d);
      if (state.code[d] === undefined) return;
      if (document.activeElement !== input) input.value = String(state.code[d]);
      out.textContent = state.code[d].toFixed(2);
    });
  }

  function chooseDims(axis) {
    const dims = state.dims.slice();
    const picked = Number($(axis === 0 ? "dim-x" : "dim-y").value);
    if (dims[1 - axis] === picked) dims[1 - axis] = dims[axis];  // picking the other axis's dim swaps them
    dims[axis] = picked;
    core.setDims(dims).catch(core.report);
  }
  $("dim-x").addEventListener("change", () => chooseDims(0));
  $("dim-y").addEventListener("change", () => chooseDims(1));
  hooks.model.push(buildSlice);
  hooks.dims.push(syncSlice);
  hooks.code.push(syncSlice);

  // -- the 3-D view ---------------------------------------------------------------------------
  // An orthographic projection of the codes, each dim scaled to its latent range: yaw turns about
  // the vertical z1 axis, pitch tilts towards the viewer; points are drawn far to near.
  state.rotation = { yaw: 0.6, pitch: 0.35 };
  const canvas = $("view3d");

  function project(z, range, size) {
    const [x, y, w] = [0, 1, 2].map((d) => (2 * (z[d] - (range[d][0] + range[d][1]) / 2)) / (range[d][1] - range[d][0]));
    const { yaw, pitch } = state.rotation;
    const x1 = x * Math.cos(yaw) + w * Math.sin(yaw), w1 = -x * Math.sin(yaw) + w * Math.cos(yaw);
    const y2 = y * Math.cos(pitch) - w1 * Math.sin(pitch), w2 = y * Math.sin(pitch) + w1 * Math.cos(pitch);
    const s = size * 0.3;
    return [size / 2 + x1 * s, size / 2 - y2 * s, w2];
  }

  let queued = false;
  function draw3d() {
    if (queued || $("view3d-panel").hidden) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; draw3dNow(); });
  }

  function draw3dNow() {
    const ctx = canvas.getContext("2d"), size = canvas.width, range = core.models[state.model].latent_range;
    ctx.clearRect(0, 0, size, size);
    ctx.font = "11px system-ui, sans-serif";
    const origin = project(range.map(([lo, hi]) => (lo + hi) / 2), range, size);
    [0, 1, 2].forEach((d) => {  // axes through the range's centre, to its upper edge
      const end = range.map(([lo, hi]) => (lo + hi) / 2);
      end[d] = range[d][1];
      const [ex, ey] = project(end, range, size);
      ctx.strokeStyle = "#9aa1ad"; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(origin[0], origin[1]); ctx.lineTo(ex, ey); ctx.stroke();
      ctx.fillStyle = "#6b7280"; ctx.fillText(`z${d}`, ex + 3, ey - 3);
    });
    const entry = core.layer();
    if (entry) {
      const pts = entry.codes.map((z, i) => [...project(z, range, size), i]).sort((p, q) => p[2] - q[2]);
      ctx.globalAlpha = 0.6;
      for (const [x, y, , i] of pts) {
        ctx.fillStyle = core.PALETTE[(entry.labels ? entry.labels[i] : 0) % core.PALETTE.length];
        ctx.beginPath(); ctx.arc(x, y, 2.2, 0, 2 * Math.PI); ctx.fill();
      }
      ctx.globalAlpha = 1;
    }
    if (state.mean) {
      const [mx, my] = project(state.mean, range, size);
      ctx.strokeStyle = "#111"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(mx - 5, my - 5); ctx.lineTo(mx + 5, my + 5);
      ctx.moveTo(mx + 5, my - 5); ctx.lineTo(mx - 5, my + 5); ctx.stroke();
    }
    if (state.code.length === 3) {
      const [px, py] = project(state.code, range, size);
      ctx.fillStyle = "#f28e2b"; ctx.strokeStyle = "#fff"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(px, py, 6, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    }
  }

  function rotate(dyaw, dpitch) {
    state.rotation.yaw = (state.rotation.yaw + dyaw) % (2 * Math.PI);
    state.rotation.pitch = Math.min(1.5, Math.max(-1.5, state.rotation.pitch + dpitch));
    draw3d();
    hooks.toggle.forEach((fn) => fn("rotation"));
  }
  let grab = null;
  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    grab = [event.clientX, event.clientY];
    canvas.setPointerCapture(event.pointerId);
    canvas.focus();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!grab) return;
    rotate((event.clientX - grab[0]) * 0.01, (event.clientY - grab[1]) * 0.01);
    grab = [event.clientX, event.clientY];
  });
  const release = (event) => {
    grab = null;
    if (canvas.hasPointerCapture(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
  };
  canvas.addEventListener("pointerup", release);
  canvas.addEventListener("pointercancel", release);
  canvas.addEventListener("keydown", (event) => {
    const step = { ArrowLeft: [-0.1, 0], ArrowRight: [0.1, 0], ArrowUp: [0, -0.1], ArrowDown: [0, 0.1] }[event.key];
    if (!step) return;
    event.preventDefault();
    rotate(...step);
  });

  hooks.model.push(() => {
    $("view3d-panel").hidden = core.models[state.model].code_dim !== 3;
    draw3d();
  });
  hooks.code.push(draw3d);
  hooks.input.push(draw3d);
  Object.assign(core.explorer, { rotate3d: (yaw, pitch) => { state.rotation = { yaw, pitch }; rotate(0, 0); } });
});
