// Demos 6–8: computed by molfit's Python behind the local API; the page only draws.

import { el, clear, show, makePlot, api } from "./plot.js";

// Run `fn` for the latest request only: slider drags fire faster than fits return.
function latestOnly(fn) {
  let ticket = 0;
  return async (...args) => {
    const mine = ++ticket;
    const out = await fn(...args);
    return mine === ticket ? out : undefined;
  };
}

// 6 · under- and overfitting --------------------------------------------------------------------
export function polynomial() {
  const svg = document.getElementById("poly-plot");
  const sweepSvg = document.getElementById("poly-sweep");
  const slider = document.getElementById("poly-degree");
  const plot = makePlot(svg, { x: [-1, 1], y: [-2.5, 2.5] });
  plot.axes(svg, { xticks: [-1, -0.5, 0, 0.5, 1], yticks: [-2, -1, 0, 1, 2], xlabel: "x", ylabel: "y" });
  const layer = el("g", {}, svg);
  const sweep = makePlot(sweepSvg, { x: [0, 12], y: [-2.2, 0.6], margin: { l: 40, r: 10, t: 10, b: 26 } });
  const fetchFit = latestOnly((d) => api(`/api/poly?degree=${d}`));
  async function update() {
    const degree = Number(slider.value);
    show("poly-degree-value", degree, 0);
    svg.dataset.done = "false";
    let r;
    try {
      r = await fetchFit(degree);
    } catch (err) {
      show("poly-train", NaN); show("poly-test", NaN);
      return;
    }
    if (!r) return;
    clear(layer);
    r.test.x.forEach((x, i) => el("circle", { cx: plot.sx(x), cy: plot.sy(r.test.y[i]), r: 4, class: "pt test" }, layer));
    el("path", { d: plot.line(r.x, r.truth), class: "truth" }, layer);
    el("path", { d: plot.line(r.x, r.fit), class: "fit" }, layer);
    r.train.x.forEach((x, i) => el("circle", { cx: plot.sx(x), cy: plot.sy(r.train.y[i]), r: 6, class: "pt" }, layer));
    show("poly-train", r.train_loss, 3); show("poly-test", r.test_loss, 3);
    drawSweep(r);
    svg.dataset.degree = String(r.degree);
    svg.dataset.done = "true";
  }
  function drawSweep(r) {
    clear(sweepSvg);
    const lg = (v) => Math.log10(Math.max(v, 1e-3));
    sweep.axes(sweepSvg, { xticks: [0, 3, 6, 9, 12], yticks: [], xlabel: "degree", ylabel: "log₁₀ loss" });
    const ds = r.sweep.map((s) => s.degree);
    el("path", { d: sweep.line(ds, r.sweep.map((s) => lg(s.train_loss))), class: "train-line" }, sweepSvg);
    el("path", { d: sweep.line(ds, r.sweep.map((s) => lg(s.test_loss))), class: "test-line" }, sweepSvg);
    el("line", { x1: sweep.sx(r.degree), x2: sweep.sx(r.degree), y1: sweep.py0, y2: sweep.py1, class: "guide" }, sweepSvg);
  }
  slider.addEventListener("input", update);
  return update;
}

// 7 · Gaussian process --------------------------------------------------------------------------
export function gaussianProcess() {
  const svg = document.getElementById("gp-plot");
  const slider = document.getElementById("gp-ls");
  const plot = makePlot(svg, { x: [-5, 5], y: [-3, 3] });
  plot.axes(svg, { xticks: [-4, -2, 0, 2, 4], yticks: [-3, -2, -1, 0, 1, 2, 3], xlabel: "x", ylabel: "f(x)" });
  const bg = el("rect", { x: plot.px0, y: plot.py1, width: plot.px1 - plot.px0, height: plot.py0 - plot.py1, class: "bg-click" }, svg);
  const layer = el("g", { "pointer-events": "none" }, svg);
  const points = [];
  const fetchGp = latestOnly((body) => api("/api/gp", body));
  async function update() {
    const ls = Number(slider.value);
    show("gp-ls-value", ls, 2);
    show("gp-n", points.length, 0);
    svg.dataset.done = "false";
    const body = { x: points.map((p) => p[0]), y: points.map((p) => p[1]), length_scale: ls, noise: 0.01 };
    let r;
    try {
      r = await fetchGp(body);
    } catch (err) {
      document.getElementById("gp-engine").textContent = `error: ${err.message}`;
      return;
    }
    if (!r) return;
    clear(layer);
    el("path", { d: plot.area(r.x, r.lower, r.upper), class: "band" }, layer);
    el("path", { d: plot.line(r.x, r.mean), class: "fit" }, layer);
    points.forEach(([x, y]) => el("circle", { cx: plot.sx(x), cy: plot.sy(y), r: 6, class: "pt" }, layer));
    show("gp-maxstd", Math.max(...r.std), 2);
    document.getElementById("gp-engine").textContent = `posterior computed by ${r.engine === "molfit.models" ? "molfit.models.ExactGP" : "molfit's exact RBF GP"} · noise σ² = 0.01`;
    svg.dataset.points = JSON.stringify(points);
    svg.dataset.lengthScale = String(ls);
    svg.dataset.done = "true";
  }
  bg.addEventListener("click", (evt) => { points.push(plot.toData(evt)); update(); });
  slider.addEventListener("input", update);
  document.getElementById("gp-clear").addEventListener("click", () => { points.length = 0; update(); });
  return update;
}

// 8 · physics-informed network ------------------------------------------------------------------
export function pinn() {
  const svg = document.getElementById("pinn-plot");
  const lossSvg = document.getElementById("pinn-losses");
  const slider = document.getElementById("pinn-mix");
  const status = document.getElementById("pinn-status");
  const plot = makePlot(svg, { x: [0, 2 * Math.PI], y: [-1.6, 1.6] });
  plot.axes(svg, { xticks: [0, 1, 2, 3, 4, 5, 6], yticks: [-1.5, -1, -0.5, 0, 0.5, 1, 1.5], xlabel: "x", ylabel: "u(x)" });
  const truth = Array.from({ length: 200 }, (_, i) => (2 * Math.PI * i) / 199);
  el("path", { d: plot.line(truth, truth.map(Math.sin)), class: "truth" }, svg);
  const layer = el("g", {}, svg);
  const losses = makePlot(lossSvg, { x: [0, 400], y: [-7, 1], margin: { l: 34, r: 10, t: 10, b: 24 } });
  function mix() {
    const lp = Number(slider.value);
    show("pinn-lp", lp, 2); show("pinn-ld", 1 - lp, 2);
    return lp;
  }
  async function train() {
    const lp = mix();
    status.textContent = "training…"; svg.dataset.done = "false";
    try {
      const r = await api("/api/pinn", { physics_weight: lp, steps: 400 });
      clear(layer);
      el("path", { d: plot.line(r.x, r.u), class: "fit" }, layer);
      r.data.x.forEach((x, i) => el("circle", { cx: plot.sx(x), cy: plot.sy(r.data.y[i]), r: 6, class: "pt" }, layer));
      show("pinn-dloss", r.data_loss, 4); show("pinn-ploss", r.physics_loss, 4); show("pinn-err", r.max_error, 3);
      clear(lossSvg);
      losses.axes(lossSvg, { xticks: [0, 200, 400], yticks: [-6, -3, 0], xlabel: "step", ylabel: "log₁₀ ℒ" });
      const steps = r.history.map((h) => h[0]);
      const lg = (v) => Math.log10(Math.max(v, 1e-7));
      el("path", { d: losses.line(steps, r.history.map((h) => lg(h[1]))), class: "train-line" }, lossSvg);
      el("path", { d: losses.line(steps, r.history.map((h) => lg(h[2]))), class: "test-line" }, lossSvg);
      status.textContent = `trained 400 steps (λp = ${lp.toFixed(2)}) — orange: data loss, blue: physics loss`;
      svg.dataset.physicsWeight = String(r.physics_weight);
      svg.dataset.done = "true";
    } catch (err) {
      status.textContent = `error: ${err.message}`;
    }
  }
  slider.addEventListener("input", mix);
  slider.addEventListener("change", train);
  document.getElementById("pinn-train").addEventListener("click", train);
  mix();
  return train;
}
