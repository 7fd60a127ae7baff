// The data slide (aspirin three ways) and the case-study predictor, both served by molfit.

import { el, clear, api } from "./plot.js";

export async function dataSlide(smiles = "CC(=O)OC1=CC=CC=C1C(=O)O") {
  const r = await api(`/api/molecule?smiles=${encodeURIComponent(smiles)}`);
  document.getElementById("data-smiles").textContent = r.smiles;
  document.getElementById("data-structure").innerHTML = r.svg;
  // 1024 bits as a 64 × 16 grid
  const bits = document.getElementById("data-bits");
  clear(bits);
  const on = new Set(r.on_bits);
  const cols = 64, w = 320 / cols, h = 160 / (r.n_bits / cols);
  for (let i = 0; i < r.n_bits; i++) {
    el("rect", { x: (i % cols) * w + 0.4, y: Math.floor(i / cols) * h + 0.6, width: w - 0.8, height: h - 1.2, rx: 0.8, class: on.has(i) ? "bit on" : "bit" }, bits);
  }
  bits.dataset.onBits = JSON.stringify(r.on_bits);
  document.getElementById("data-bits-caption").textContent =
    `Hash substructures to ${r.n_bits} bits · ECFP${2 * r.radius}: ${r.on_bits.length} set`;
  // graph: RDKit 2D coordinates, scaled into the card
  const graph = document.getElementById("data-graph");
  clear(graph);
  const xs = r.graph.nodes.map((n) => n.x), ys = r.graph.nodes.map((n) => n.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const s = Math.min(290 / (x1 - x0 || 1), 135 / (y1 - y0 || 1));
  const px = (x) => 160 + (x - (x0 + x1) / 2) * s, py = (y) => 80 - (y - (y0 + y1) / 2) * s;
  for (const e of r.graph.edges) {
    const a = r.graph.nodes[e.source], b = r.graph.nodes[e.target];
    el("line", { x1: px(a.x), y1: py(a.y), x2: px(b.x), y2: py(b.y), class: "graph-bond", "stroke-width": e.order > 1 ? 4.5 : 2.4 }, graph);
  }
  for (const n of r.graph.nodes) {
    const cls = ["C", "O", "N"].includes(n.element) ? n.element : "other";
    el("circle", { cx: px(n.x), cy: py(n.y), r: 10, class: `graph-atom ${cls}` }, graph);
    el("text", { x: px(n.x), y: py(n.y) + 4, class: "graph-label" }, graph).textContent = n.element;
  }
  graph.dataset.nodes = String(r.graph.nodes.length);
  graph.dataset.edges = String(r.graph.edges.length);
  return r;
}

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

async function predict(form) {
  const out = document.getElementById(`${form.dataset.target}-result`);
  const smiles = form.querySelector(".smiles-input").value;
  out.dataset.state = "loading";
  out.innerHTML = `<p class="muted">predicting…</p>`;
  try {
    const [p, m] = await Promise.all([
      api(`/api/predict?smiles=${encodeURIComponent(smiles)}`),
      api(`/api/molecule?smiles=${encodeURIComponent(smiles)}`),
    ]);
    const lo = -25, hi = 5, pct = (v) => `${(100 * (Math.min(hi, Math.max(lo, v)) - lo)) / (hi - lo)}%`;
    const ood = p.nearest.similarity < 0.3;
    out.innerHTML = `
      <div class="mol">${m.svg}</div>
      <div>
        <p class="card-label">${escapeHtml(p.property)} (FreeSolv GP)</p>
        <p class="value"><span data-key="mean" data-value="${p.mean}">${p.mean.toFixed(2)}</span>
          <span class="pm">± <span data-key="std" data-value="${p.std}">${p.std.toFixed(2)}</span> ${escapeHtml(p.unit)}</span></p>
        <div class="interval"><div class="track"></div><div class="range" style="left:${pct(p.lower)};width:calc(${pct(p.upper)} - ${pct(p.lower)})"></div><div class="mean" style="left:${pct(p.mean)}"></div></div>
        <p>95 % interval [${p.lower.toFixed(2)}, ${p.upper.toFixed(2)}] · nearest training molecule <code>${escapeHtml(p.nearest.smiles)}</code>
          (Tanimoto ${p.nearest.similarity.toFixed(2)}, measured ${p.nearest.value.toFixed(2)})${p.in_training_set ? " · in the training set" : ""}</p>
        ${ood ? `<p class="status">far from the training data: trust the σ, not the mean</p>` : ""}
      </div>`;
    out.dataset.state = "ok";
  } catch (err) {
    out.innerHTML = `<p class="error" role="alert">${escapeHtml(err.message)}</p>`;
    out.dataset.state = "error";
  }
}

export function caseStudies() {
  for (const form of document.querySelectorAll(".predict-form[data-target]")) {
    form.addEventListener("submit", (evt) => { evt.preventDefault(); predict(form); });
  }
  api("/api/model").then((d) => {
    document.getElementById("case1-model").textContent =
      `Model: ${d.model} on ${d.features}, trained on ${d.dataset} (${d.n_train} molecules). ` +
      `Held-out RMSE ${d.held_out_rmse.toFixed(2)} ${d.unit}; ${(100 * d.held_out_coverage95).toFixed(0)} % of held-out values inside the 95 % interval.`;
  }).catch((err) => { document.getElementById("case1-model").textContent = err.message; });
}
