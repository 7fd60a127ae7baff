// Demos 1–5: they follow the pointer, so they compute in the page with reference.js.

import { el, clear, show, makePlot, draggable } from "./plot.js";
import * as ref from "./reference.js";

// 1 · linear regression ----------------------------------------------------------------------
export function linearRegression() {
  const svg = document.getElementById("linreg-plot");
  const plot = makePlot(svg, { x: [0, 10], y: [0, 10] });
  const points = [[1, 2.1], [2, 2.9], [3, 4.2], [4.5, 4.4], [6, 6.3], [7.5, 6.9], [9, 8.6]];
  plot.axes(svg, { xticks: [0, 2, 4, 6, 8, 10], yticks: [0, 2, 4, 6, 8, 10], xlabel: "x", ylabel: "y" });
  const resid = el("g", {}, svg);
  const fitLine = el("line", { class: "fit" }, svg);
  const dots = points.map((p, i) => {
    const c = el("circle", { r: 9, class: "pt drag", "data-index": i, tabindex: 0, "data-own-keys": "true", "aria-label": `point ${i + 1}: arrow keys move it` }, svg);
    const place = (x, y) => {
      points[i] = [Math.min(10, Math.max(0, x)), Math.min(10, Math.max(0, y))];
      render();
    };
    draggable(c, plot, svg, place);
    // keyboard: arrows move the point by 0.25 (Shift: by 1)
    c.addEventListener("keydown", (e) => {
      const d = e.shiftKey ? 1 : 0.25;
      const move = { ArrowLeft: [-d, 0], ArrowRight: [d, 0], ArrowUp: [0, d], ArrowDown: [0, -d] }[e.key];
      if (!move) return;
      e.preventDefault();
      place(points[i][0] + move[0], points[i][1] + move[1]);
    });
    return c;
  });
  function render() {
    const fit = ref.leastSquaresLine(points);
    fitLine.setAttribute("x1", plot.sx(0)); fitLine.setAttribute("y1", plot.sy(fit.intercept));
    fitLine.setAttribute("x2", plot.sx(10)); fitLine.setAttribute("y2", plot.sy(fit.slope * 10 + fit.intercept));
    clear(resid);
    points.forEach(([x, y], i) => {
      dots[i].setAttribute("cx", plot.sx(x)); dots[i].setAttribute("cy", plot.sy(y));
      dots[i].dataset.x = String(x); dots[i].dataset.y = String(y);
      el("line", { x1: plot.sx(x), x2: plot.sx(x), y1: plot.sy(y), y2: plot.sy(fit.slope * x + fit.intercept), class: "residual" }, resid);
    });
    svg.dataset.points = JSON.stringify(points);
    show("linreg-slope", fit.slope); show("linreg-intercept", fit.intercept); show("linreg-loss", fit.loss);
  }
  render();
}

// 2 · gradient descent -----------------------------------------------------------------------
export const GD_STEPS = 50;
export function gradientDescent() {
  const svg = document.getElementById("gd-plot");
  const plot = makePlot(svg, { x: [-6, 6], y: [-1.5, 10] });
  const slider = document.getElementById("gd-lr");
  const status = document.getElementById("gd-status");
  plot.axes(svg, { xticks: [-6, -4, -2, 0, 2, 4, 6], yticks: [0, 2, 4, 6, 8, 10], xlabel: "θ", ylabel: "ℒ(θ)" });
  const xs = Array.from({ length: 400 }, (_, i) => -6 + (12 * i) / 399);
  el("path", { d: plot.line(xs, xs.map(ref.lossValue)), class: "curve" }, svg);
  const bg = el("rect", { x: plot.px0, y: plot.py1, width: plot.px1 - plot.px0, height: plot.py0 - plot.py1, class: "bg-click" }, svg);
  const trail = el("g", {}, svg);
  const ball = el("circle", { r: 10, class: "ball", visibility: "hidden" }, svg);
  let theta0 = null, timer = null;
  const lr = () => Math.pow(10, Number(slider.value));
  function showLr() { show("gd-lr-value", lr(), 3); }
  function place(theta) {
    const t = Math.max(-6.3, Math.min(6.3, theta));
    ball.setAttribute("cx", plot.sx(t)); ball.setAttribute("cy", plot.sy(ref.lossValue(t)));
    ball.setAttribute("visibility", "visible");
  }
  function run() {
    if (theta0 === null) return;
    clearInterval(timer);
    clear(trail);
    svg.dataset.done = "false";
    svg.dataset.theta0 = String(theta0);
    svg.dataset.lr = String(lr());
    const { thetas, diverged } = ref.gradientDescent(theta0, lr(), GD_STEPS);
    let i = 0;
    const tick = () => {
      const t = thetas[i];
      if (i > 0) {
        const a = Math.max(-6.3, Math.min(6.3, thetas[i - 1])), b = Math.max(-6.3, Math.min(6.3, t));
        el("line", { x1: plot.sx(a), y1: plot.sy(ref.lossValue(a)), x2: plot.sx(b), y2: plot.sy(ref.lossValue(b)), class: "trail" }, trail);
      }
      el("circle", { cx: plot.sx(Math.max(-6.3, Math.min(6.3, t))), cy: plot.sy(ref.lossValue(Math.max(-6.3, Math.min(6.3, t)))), r: 3, class: "trail-dot" }, trail);
      place(t);
      show("gd-step", i, 0); show("gd-theta", t, 3); show("gd-loss", ref.lossValue(t), 3);
      i += 1;
      if (i >= thetas.length) {
        clearInterval(timer);
        const last = thetas[thetas.length - 1];
        const moving = Math.abs(ref.lossGrad(last)) > 1e-3;
        status.textContent = diverged ? "diverged — η too large" : moving ? (lr() < 0.02 ? "crawling — η too small" : "still bouncing — η large") : "converged (a local minimum?)";
        status.dataset.state = diverged ? "diverged" : moving ? "moving" : "converged";
        svg.dataset.done = "true";
      }
    };
    status.textContent = "descending…"; status.dataset.state = "running";
    tick();
    timer = setInterval(tick, 30);
  }
  bg.addEventListener("click", (evt) => { theta0 = plot.toData(evt)[0]; run(); });
  slider.addEventListener("input", () => { showLr(); });
  slider.addEventListener("change", () => { showLr(); run(); });
  showLr();
}

// 3 · one neuron ------------------------------------------------------------------------------
export function neuron() {
  const svg = document.getElementById("neuron-plot");
  const plot = makePlot(svg, { x: [-5, 5], y: [-1.5, 3] });
  plot.axes(svg, { xticks: [-4, -2, 0, 2, 4], yticks: [-1, 0, 1, 2, 3], xlabel: "z", ylabel: "σ(z)" });
  const zs = Array.from({ length: 300 }, (_, i) => -5 + (10 * i) / 299);
  const curves = {};
  for (const name of Object.keys(ref.ACTIVATIONS)) {
    curves[name] = el("path", { d: plot.line(zs, zs.map(ref.ACTIVATIONS[name])), class: "curve", opacity: 0.15 }, svg);
  }
  const gv = el("line", { class: "guide" }, svg), gh = el("line", { class: "guide" }, svg);
  const marker = el("circle", { r: 8, class: "marker" }, svg);
  const ids = ["x1", "x2", "w1", "w2", "b"];
  const sliders = Object.fromEntries(ids.map((k) => [k, document.getElementById(`neuron-${k}`)]));
  const buttons = [...document.querySelectorAll("#neuron-acts button")];
  let act = "relu";
  function render() {
    const v = Object.fromEntries(ids.map((k) => [k, Number(sliders[k].value)]));
    const { z, h } = ref.neuron([v.x1, v.x2], [v.w1, v.w2], v.b, act);
    for (const [name, path] of Object.entries(curves)) {
      path.setAttribute("opacity", name === act ? 1 : 0.15);
      path.setAttribute("class", name === act ? "fit" : "curve");
    }
    const zc = Math.max(-5, Math.min(5, z)), hc = Math.max(-1.5, Math.min(3, h));
    marker.setAttribute("cx", plot.sx(zc)); marker.setAttribute("cy", plot.sy(hc));
    gv.setAttribute("x1", plot.sx(zc)); gv.setAttribute("x2", plot.sx(zc)); gv.setAttribute("y1", plot.py0); gv.setAttribute("y2", plot.sy(hc));
    gh.setAttribute("x1", plot.px0); gh.setAttribute("x2", plot.sx(zc)); gh.setAttribute("y1", plot.sy(hc)); gh.setAttribute("y2", plot.sy(hc));
    svg.dataset.inputs = JSON.stringify({ x: [v.x1, v.x2], w: [v.w1, v.w2], b: v.b, activation: act });
    show("neuron-z", z, 3); show("neuron-h", h, 3);
  }
  for (const b of buttons) {
    b.addEventListener("click", () => {
      act = b.dataset.act;
      buttons.forEach((o) => o.classList.toggle("on", o === b));
      render();
    });
  }
  Object.values(sliders).forEach((s) => s.addEventListener("input", render));
  render();
}

// shared drawing of a layered network with draggable weights ---------------------------------
function weightStyle(line, w) {
  line.setAttribute("stroke", w >= 0 ? "var(--pos)" : "var(--neg)");
  line.setAttribute("stroke-width", (1 + 3.2 * Math.min(3, Math.abs(w))).toFixed(2));
  line.setAttribute("opacity", (0.35 + 0.65 * Math.min(1, Math.abs(w) / 2)).toFixed(2));
}

// 4 · a network, forward ----------------------------------------------------------------------
export function networkForward() {
  const svg = document.getElementById("forward-plot");
  const plot = makePlot(svg, { x: [0, 900], y: [380, 0], margin: { l: 0, r: 0, t: 0, b: 0 } });
  const net = { w1: [[0.8, -0.5], [-0.6, 1.1], [0.4, 0.9]], b1: [0.1, -0.2, 0.0], w2: [1.2, -0.7, 0.5], b2: 0.0 };
  const x = [1.0, -0.5];
  const inPos = [[130, 120], [130, 260]], hidPos = [[450, 70], [450, 190], [450, 310]], outPos = [770, 190];
  const edges = [];
  const layer = el("g", {}, svg);
  const addEdge = (key, from, to, get, set) => {
    const line = el("line", { x1: from[0], y1: from[1], x2: to[0], y2: to[1], class: "weight", "data-edge": key }, layer);
    const hit = el("line", { x1: from[0], y1: from[1], x2: to[0], y2: to[1], class: "weight-hit", "data-edge": key, tabindex: 0, "data-own-keys": "true", "aria-label": `weight ${key}: up and down arrows change it` }, layer);
    // keyboard: ↑/↓ change the weight by 0.1 (Shift: by 0.5)
    hit.addEventListener("keydown", (e) => {
      const d = { ArrowUp: 1, ArrowDown: -1 }[e.key];
      if (!d) return;
      e.preventDefault();
      set(Math.max(-3, Math.min(3, get() + d * (e.shiftKey ? 0.5 : 0.1))));
      render();
    });
    const t = key.startsWith("w1") ? 0.27 : 0.5; // keep the labels of crossing edges apart
    const label = el("text", { x: from[0] + (to[0] - from[0]) * t, y: from[1] + (to[1] - from[1]) * t - 8, class: "weight-label" }, svg);
    let startY = 0, startW = 0;
    hit.addEventListener("pointerdown", (e) => { startY = plot.toData(e)[1]; startW = get(); });
    draggable(hit, plot, svg, (_, py) => {
      set(Math.max(-3, Math.min(3, startW + (startY - py) / 40)));
      render();
    });
    edges.push({ key, line, hit, label, get });
  };
  for (let j = 0; j < 3; j++) {
    for (let i = 0; i < 2; i++) addEdge(`w1-${j}-${i}`, inPos[i], hidPos[j], () => net.w1[j][i], (v) => { net.w1[j][i] = v; });
    addEdge(`w2-${j}`, hidPos[j], outPos, () => net.w2[j], (v) => { net.w2[j] = v; });
  }
  const unit = (pos, name, cls = "unit") => {
    el("circle", { cx: pos[0], cy: pos[1], r: 34, class: cls }, svg);
    const value = el("text", { x: pos[0], y: pos[1] + 5, class: "unit-label" }, svg);
    el("text", { x: pos[0], y: pos[1] + 54, class: "unit-name" }, svg).textContent = name;
    return value;
  };
  const inVals = inPos.map((p, i) => unit(p, `x${i + 1}`));
  const hidVals = hidPos.map((p, j) => unit(p, `h${j + 1} = tanh(·)`));
  const outVal = unit(outPos, "ŷ", "unit out");
  function render() {
    const { hidden, out } = ref.forward(net, x);
    for (const e of edges) {
      const w = e.get();
      weightStyle(e.line, w);
      e.line.dataset.w = String(w); e.hit.dataset.w = String(w);
      e.label.textContent = w.toFixed(2);
    }
    inVals.forEach((t, i) => { t.textContent = x[i].toFixed(2); });
    hidVals.forEach((t, j) => { t.textContent = hidden[j].toFixed(2); });
    outVal.textContent = out.toFixed(2);
    svg.dataset.net = JSON.stringify(net);
    svg.dataset.x = JSON.stringify(x);
    show("forward-x1", x[0]); show("forward-x2", x[1]); show("forward-out", out, 3);
  }
  render();
}

// 5 · backpropagation stepper ----------------------------------------------------------------
export const BACKPROP = { x: 1.5, y: 0.8, lr: 0.1, net: { w1: [0.5, -0.8], b1: [0.1, 0.2], w2: [0.9, 0.4], b2: -0.1 } };
export function backprop() {
  const svg = document.getElementById("backprop-plot");
  const table = document.getElementById("backprop-table");
  const phases = ["forward", "backward", "update"];
  let net, step, phase, iter;
  const pos = { x: [60, 150], h: [[240, 80], [240, 220]], y: [420, 150], L: [520, 150] };
  const g = el("g", {}, svg);
  const f = (v) => (v >= 0 ? " " : "") + v.toFixed(4);
  function cell(key, value) { return `<td data-key="${key}" data-value="${value}">${f(value)}</td>`; }
  function draw() {
    clear(g);
    const shown = phase === "update" ? step.updated : net;
    const hi = (kind) => (phase === "backward" ? "active-edge" : "") + (kind ? ` ${kind}` : "");
    shown.w1.forEach((w, j) => {
      const l = el("line", { x1: pos.x[0], y1: pos.x[1], x2: pos.h[j][0], y2: pos.h[j][1], class: `weight ${hi()}` }, g);
      weightStyle(l, w);
      el("text", { x: (pos.x[0] + pos.h[j][0]) / 2, y: (pos.x[1] + pos.h[j][1]) / 2 - 8, class: "weight-label" }, g).textContent = `w₁${j + 1}=${w.toFixed(2)}`;
    });
    shown.w2.forEach((w, j) => {
      const l = el("line", { x1: pos.h[j][0], y1: pos.h[j][1], x2: pos.y[0], y2: pos.y[1], class: `weight ${hi()}` }, g);
      weightStyle(l, w);
      el("text", { x: (pos.h[j][0] + pos.y[0]) / 2, y: (pos.h[j][1] + pos.y[1]) / 2 - 8, class: "weight-label" }, g).textContent = `w₂${j + 1}=${w.toFixed(2)}`;
    });
    el("line", { x1: pos.y[0], y1: pos.y[1], x2: pos.L[0], y2: pos.L[1], class: "axis" }, g);
    const node = (p, top, bottom, cls = "unit") => {
      el("circle", { cx: p[0], cy: p[1], r: 30, class: cls }, g);
      el("text", { x: p[0], y: p[1] + 5, class: "unit-label" }, g).textContent = top;
      el("text", { x: p[0], y: p[1] + 48, class: "unit-name" }, g).textContent = bottom;
    };
    node(pos.x, BACKPROP.x.toFixed(2), "x");
    pos.h.forEach((p, j) => node(p, step.h[j].toFixed(2), phase === "backward" ? `∂ℒ/∂h=${step.dH[j].toFixed(2)}` : `h${j + 1}`));
    node(pos.y, step.yHat.toFixed(2), phase === "backward" ? `∂ℒ/∂ŷ=${step.dYHat.toFixed(2)}` : "ŷ", "unit out");
    node(pos.L, (phase === "update" ? step.lossAfter : step.loss).toFixed(3), `ℒ vs y=${BACKPROP.y}`);
  }
  function fillTable() {
    const s = step;
    const rows = [];
    rows.push(`<tr class="${phase === "forward" ? "fresh" : ""}"><th>forward</th>${cell("z.0", s.z[0])}${cell("z.1", s.z[1])}${cell("h.0", s.h[0])}${cell("h.1", s.h[1])}${cell("y_hat", s.yHat)}${cell("loss", s.loss)}</tr>`);
    rows.push(`<tr><th></th><td>z₁</td><td>z₂</td><td>h₁</td><td>h₂</td><td>ŷ</td><td>ℒ</td></tr>`);
    if (phase !== "forward") {
      rows.push(`<tr class="${phase === "backward" ? "fresh" : ""}"><th>backward</th>${cell("d_y_hat", s.dYHat)}${cell("d_w2.0", s.dW2[0])}${cell("d_w2.1", s.dW2[1])}${cell("d_b2", s.dB2)}${cell("d_w1.0", s.dW1[0])}${cell("d_w1.1", s.dW1[1])}</tr>`);
      rows.push(`<tr><th></th><td>∂ℒ/∂ŷ</td><td>∂ℒ/∂w₂₁</td><td>∂ℒ/∂w₂₂</td><td>∂ℒ/∂b₂</td><td>∂ℒ/∂w₁₁</td><td>∂ℒ/∂w₁₂</td></tr>`);
    }
    if (phase === "update") {
      const u = s.updated;
      rows.push(`<tr class="fresh"><th>update</th>${cell("new_w1.0", u.w1[0])}${cell("new_w1.1", u.w1[1])}${cell("new_w2.0", u.w2[0])}${cell("new_w2.1", u.w2[1])}${cell("new_b2", u.b2)}${cell("loss_after", s.lossAfter)}</tr>`);
      rows.push(`<tr><th></th><td>w₁₁</td><td>w₁₂</td><td>w₂₁</td><td>w₂₂</td><td>b₂</td><td>ℒ after</td></tr>`);
    }
    table.innerHTML = rows.join("");
  }
  function render() {
    draw();
    fillTable();
    document.getElementById("backprop-phase").textContent = phase;
    show("backprop-iter", iter, 0);
    show("backprop-loss", phase === "update" ? step.lossAfter : step.loss, 4);
    svg.dataset.net = JSON.stringify(net);
    svg.dataset.phase = phase;
  }
  function reset() {
    net = structuredClone(BACKPROP.net);
    step = ref.backpropStep(net, BACKPROP.x, BACKPROP.y, BACKPROP.lr);
    phase = "forward"; iter = 0;
    render();
  }
  document.getElementById("backprop-step").addEventListener("click", () => {
    const next = phases[(phases.indexOf(phase) + 1) % 3];
    if (next === "forward") {
      net = step.updated;
      step = ref.backpropStep(net, BACKPROP.x, BACKPROP.y, BACKPROP.lr);
    }
    if (next === "update") iter += 1;
    phase = next;
    render();
  });
  document.getElementById("backprop-reset").addEventListener("click", reset);
  reset();
}
