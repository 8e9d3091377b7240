// aekit explorer plugin: the view kept in the URL's fragment (model, code, dims, toggles, a preset
// input, the 3-D view's rotation), written with history.replaceState and restored on load. The
// fragment, not the query, so it also works for an exported page opened from file://.
"use strict";

(window.AekitExplorer = window.AekitExplorer || { plugins: [] }).plugins.push((core) => {
  const { state, hooks } = core;
  let restoring = true, timer = null;
  const num = (v) => Number(v.toPrecision(9));  // 9 significant digits round-trip a float32

  function fragment() {
    const p = new URLSearchParams();
    p.set("model", state.model);
    if (core.presets.some((q) => q.name === state.inputName)) p.set("input", state.inputName);
    p.set("code", state.code.map(num).join(","));
    p.set("dims", state.dims.join(","));
    if (state.showGrid) p.set("grid", "1");
    if (state.showLandscape) p.set("landscape", "1");
    if (core.models[state.model].code_dim === 3) p.set("rot", [state.rotation.yaw, state.rotation.pitch].map((v) => v.toFixed(3)).join(","));
    return p.toString();
  }

  // A page inside an <iframe srcdoc> (a notebook's explorer) has no URL of its own to write to.
  const writable = !location.href.startsWith("about:");
  // At most one write per 200 ms: browsers throttle (and warn about) faster history updates.
  function save() {
    if (restoring || timer || !writable) return;
    timer = setTimeout(() => {
      timer = null;
      history.replaceState(history.state, "", `${location.pathname}${location.search}#${fragment()}`);
    }, 200);
  }
  for (const name of ["code", "model", "dims", "toggle", "input"]) hooks[name].push(save);

  const numbers = (text) => (text ? text.split(",").map(Number) : null);
  hooks.ready.push(async () => {
    const p = new URLSearchParams(location.hash.slice(1));
    try {
      const model = p.get("model");
      if (model && model !== state.model && core.models[model]) await core.setModel(model);
      const input = p.get("input");
      const preset = core.presets.find((q) => q.name === input);
      if (preset && input !== state.inputName) await core.selectInput(preset.name, preset.x);
      const dims = numbers(p.get("dims"));
      if (dims && String(dims) !== String(state.dims)) await core.setDims(dims);
      if (p.get("grid") === "1") await core.setGrid(true);
      if (p.get("landscape") === "1" && core.explorer.setLandscape) await core.explorer.setLandscape(true);
      const rot = numbers(p.get("rot"));
      if (rot && rot.length === 2 && rot.every(Number.isFinite)) core.explorer.rotate3d(rot[0], rot[1]);
      const code = numbers(p.get("code"));
      if (code && code.length === state.code.length && code.every(Number.isFinite)) core.setCode(code);
    } catch (err) {
      core.status(`could not restore the view in the URL: ${err.message}`, true);
    } finally {
      restoring = false;
    }
    save();
  });
});
