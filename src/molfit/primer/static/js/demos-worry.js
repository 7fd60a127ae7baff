// The 3D-properties slide and the "what to worry about" demos: distribution shift, data
// leakage, symmetries, Rashomon. Every number comes from molfit through the local API.

import { el, clear, show, makePlot, api } from "./plot.js";
import { viewer } from "./view3d.js";

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
const fmt = (v, d = 2) => (v === null || v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(d));
const num = (key, v, d = 2) => `<span class="num" data-key="${key}" data-value="${v}">${fmt(v, d)}</span>`;

function form(id, handler) {
  document.getElementById(id).addEventListener("submit", (evt) => { evt.preventDefault(); handler(evt.target.querySelector("input").value); });
}

// 3D properties -----------------------------------------------------------------------------
export function properties3d() {
  const svg = document.getElementById("props-view");
  const out = document.getElementById("props-result");
  const view = viewer(svg);
  async function run(smiles) {
    out.dataset.state = "loading";
    out.innerHTML = `<p class="muted">embedding and predicting…</p>`;
    try {
      const r = await api(`/api/props3d?smiles=${encodeURIComponent(smiles)}`);
      view.setMolecule({ symbols: r.symbols, bonds: r.bonds }, r.positions);
      svg.dataset.positions = JSON.stringify(r.positions);
      const rows = r.predictions.map((p) => `<tr><th>${escapeHtml(p.property)}</th><td>${
        p.error ? `<span class="error-inline">${escapeHtml(p.error)}</span>` :
        `${num(`${p.name}-mean`, p.mean, 3)}${p.std === null ? "" : ` ± ${num(`${p.name}-std`, p.std, 3)}`} ${escapeHtml(p.unit)}`}</td><td class="muted">${escapeHtml(p.name)}</td></tr>`).join("");
      out.innerHTML = `<p class="mono-label"><code>${escapeHtml(r.smiles)}</code> · ${r.symbols.length} atoms</p>
        <table class="numbers props">${rows}${Object.entries(r.missing || {}).map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td colspan="2" class="muted">not available: ${escapeHtml(v)}</td></tr>`).join("")}</table>
        <p class="small-text muted">Geometry: ${escapeHtml(r.geometry)}.${r.predictions.some((p) => p.std !== null) ? " ± is the committee's spread." : ""}
          Models: ${r.models.map((m) => { const t = Object.keys(m.metrics || {})[0]; const mae = t ? m.metrics[t].mae : undefined; return `molfit zoo “${escapeHtml(m.name)}” (${escapeHtml(m.model)} on ${escapeHtml(m.data ?? m.dataset ?? "?")}${Number.isFinite(mae) ? `; test MAE ${mae.toFixed(3)} ${escapeHtml(m.targets?.[t]?.unit ?? "")}` : ""})`; }).join("; ")}.</p>
        ${r.warnings.map((w) => `<p class="status">${escapeHtml(w)}</p>`).join("")}`;
      out.dataset.state = "ok";
    } catch (err) {
      out.innerHTML = `<p class="error" role="alert">${escapeHtml(err.message)}</p>`;
      out.dataset.state = "error";
    }
  }
  form("props-form", run);
  return () => run(document.querySelector("#props-form input").value);
}

// distribution shift -------------------------------------------------------------------------
export function distributionShift() {
  const svg = document.getElementById("shift-plot");
  const list = document.getElementById("shift-list");
  const points = [];
  function draw() {
    clear(svg);
    const ymax = Math.max(0.1, ...points.map((p) => p.std * 1.25));
    const p = makePlot(svg, { x: [0, 1], y: [0, ymax], margin: { l: 46, r: 14, t: 14, b: 34 } });
    p.axes(svg, { xticks: [0, 0.2, 0.4, 0.6, 0.8, 1], yticks: [0, Number((ymax / 3).toFixed(2)), Number(((2 * ymax) / 3).toFixed(2))], xlabel: "similarity →", ylabel: `σ, ${points[0]?.unit ?? ""}` });
    if (points.length) {
      const t = points[0].threshold;
      el("line", { x1: p.sx(t), x2: p.sx(t), y1: p.py0, y2: p.py1, class: "guide" }, svg);
      el("text", { x: p.sx(t) + 4, y: p.py1 + 24, class: "tick", "text-anchor": "start" }, svg).textContent = `domain threshold ${t.toFixed(2)}`;
    }
    points.forEach((q, i) => {
      el("circle", { cx: p.sx(q.similarity), cy: p.sy(q.std), r: 8, class: q.in_domain ? "pt in-domain" : "pt out-domain", "data-index": i }, svg);
      el("text", { x: p.sx(q.similarity), y: p.sy(q.std) - 12, class: "tick" }, svg).textContent = q.label || q.smiles.slice(0, 18);
    });
    svg.dataset.points = String(points.length);
  }
  function row(q, i) {
    return `<tr data-index="${i}"><td><code>${escapeHtml(q.smiles.length > 28 ? `${q.smiles.slice(0, 26)}…` : q.smiles)}</code></td><td>${num("mean", q.mean)} ± ${num("std", q.std)}</td><td>${num("similarity", q.similarity)}</td>
      <td class="${q.in_domain ? "ok" : "flag"}" data-key="in_domain" data-value="${q.in_domain}">${q.in_domain ? "in domain" : `out: ${escapeHtml(q.note)}`}</td></tr>`;
  }
  async function add(smiles, label = "") {
    const status = document.getElementById("shift-status");
    status.dataset.state = "loading";
    try {
      const r = await api(`/api/shift?smiles=${encodeURIComponent(smiles)}`);
      r.label = label;
      points.push(r);
      list.innerHTML = `<tr><th>molecule</th><th>ΔG<sub>hyd</sub>, ${escapeHtml(points[0].unit)}</th><th>similarity</th><th>domain</th></tr>${points.map(row).join("")}`;
      draw();
      status.textContent = "";
      status.dataset.state = "ok";
    } catch (err) {
      status.textContent = err.message;
      status.dataset.state = "error";
    }
  }
  form("shift-form", (s) => add(s));
  draw();
  return async () => {
    await add("CCCCCC(C)O", "heptan-2-ol (organic)");
    await add("[Fe+2].c1cc[cH-]c1.c1cc[cH-]c1", "ferrocene (organometallic)");
  };
}

// data leakage ------------------------------------------------------------------------------
export function leakage() {
  return async () => {
    const status = document.getElementById("leak-status");
    status.textContent = "fitting both splits on a B3DB subset…";
    try {
      const r = await api("/api/leakage");
      for (const method of ["random", "scaffold"]) {
        const s = r[method];
        show(`leak-${method}-auc`, s.roc_auc, 3);
        show(`leak-${method}-acc`, s.accuracy, 3);
        show(`leak-${method}-sim`, s.similarity_median, 2);
        document.getElementById(`leak-${method}-n`).textContent = `${s.n_train} train / ${s.n_test} test`;
        const svg = document.getElementById(`leak-${method}-hist`);
        clear(svg);
        const p = makePlot(svg, { x: [0, 1], y: [0, 0.3], margin: { l: 40, r: 10, t: 10, b: 30 } });
        p.axes(svg, { xticks: [0, 0.2, 0.4, 0.6, 0.8, 1], yticks: [0, 0.1, 0.2, 0.3], xlabel: "similarity", ylabel: "fraction" });
        s.hist.forEach((h, i) => {
          const x0 = r.edges[i], x1 = r.edges[i + 1];
          el("rect", { x: p.sx(x0) + 1, y: p.sy(Math.min(h, 0.3)), width: p.sx(x1) - p.sx(x0) - 2, height: p.py0 - p.sy(Math.min(h, 0.3)), class: `bar ${method}` }, svg);
        });
        el("line", { x1: p.sx(s.similarity_median), x2: p.sx(s.similarity_median), y1: p.py0, y2: p.py1, class: "guide" }, svg);
        svg.dataset.hist = JSON.stringify(s.hist);
      }
      document.getElementById("leak-model").textContent = `${r.model} · ${r.dataset} · ${r.similarity}.`;
      status.textContent = "";
      document.getElementById("slide-leakage").dataset.done = "true";
    } catch (err) {
      status.textContent = `error: ${err.message}`;
    }
  };
}

// symmetries --------------------------------------------------------------------------------
export function symmetries() {
  const svg = document.getElementById("sym-view");
  const sliders = ["yaw", "pitch", "roll"].map((k) => document.getElementById(`sym-${k}`));
  let shuffle = 0, ticket = 0;
  const wrap = (v) => ((((v + 180) % 360) + 360) % 360) - 180;
  const view = viewer(svg, {
    labels: true,
    arrowScale: 0.8,
    onDrag: (dx, dy, roll) => {
      sliders[0].value = String(Math.round(wrap(Number(sliders[0].value) + dx)));
      sliders[1].value = String(Math.round(wrap(Number(sliders[1].value) + dy)));
      if (roll) sliders[2].value = String(Math.round(wrap(Number(sliders[2].value) + roll)));
      update();
    },
  });
  let first = true;
  async function update() {
    const mine = ++ticket;
    const body = { yaw: Number(sliders[0].value), pitch: Number(sliders[1].value), roll: Number(sliders[2].value), shuffle };
    sliders.forEach((s) => show(`${s.id}-value`, Number(s.value), 0));
    svg.dataset.done = "false";
    try {
      const r = await api("/api/symmetry", body);
      if (mine !== ticket) return;
      view.setForces(r.potential.forces);
      if (first) { view.setMolecule({ symbols: r.symbols, bonds: r.bonds }, r.positions); first = false; }
      else { view.setMolecule({ symbols: r.symbols, bonds: r.bonds }, r.positions); }
      show("sym-pot", r.potential.energy, 4);
      show("sym-pot-delta", 1000 * r.potential_delta, 2);
      show("sym-toy", r.toy.energy, 4);
      show("sym-toy-delta", 1000 * r.toy_delta, 1);
      show("sym-force-err", 1000 * r.forces_rotated_error, 3);
      document.getElementById("sym-order").textContent = `atom order: ${r.shuffle === 0 ? "as built" : `shuffle #${r.shuffle}`} (${r.permutation.map((i) => i + 1).join(" ")})`;
      document.getElementById("sym-toy-note").textContent =
        `Toy: raw x, y, z of the 9 atoms → MLP 27→64→64→1, trained here in ${r.toy_seconds.toFixed(1)} s on 160 jittered ethanol geometries labelled by the potential (training RMSE ${(1000 * r.toy_train_rmse).toFixed(1)} meV).`;
      svg.dataset.request = JSON.stringify(body);
      svg.dataset.done = "true";
    } catch (err) {
      document.getElementById("sym-toy-note").textContent = `error: ${err.message}`;
    }
  }
  sliders.forEach((s) => s.addEventListener("input", update));
  document.getElementById("sym-shuffle").addEventListener("click", () => { shuffle += 1; update(); });
  document.getElementById("sym-reset").addEventListener("click", () => { shuffle = 0; sliders.forEach((s) => { s.value = "0"; }); update(); });
  return update;
}

// Rashomon ----------------------------------------------------------------------------------
export function rashomon() {
  const svg = document.getElementById("rash-plot");
  let data = null;
  function draw() {
    clear(svg);
    const rows = data.smiles.map((s, i) => ({ smiles: s, name: data.names?.[i] || s, a: data.predictions[data.labels[0]][i], b: data.predictions[data.labels[1]][i] }));
    const all = rows.flatMap((r) => [r.a, r.b]);
    const lo = Math.floor(Math.min(-12, ...all)), hi = Math.ceil(Math.max(0, ...all));
    const H = svg.viewBox.baseVal.height;
    const p = makePlot(svg, { x: [lo, hi], y: [0, rows.length + 1], margin: { l: 110, r: 14, t: 10, b: 30 } });
    const ticks = []; for (let t = lo; t <= hi; t += 2) ticks.push(t);
    p.axes(svg, { xticks: ticks, yticks: [], xlabel: "kcal/mol" });
    rows.forEach((r, i) => {
      const y = p.sy(rows.length - i);
      el("text", { x: p.px0 - 8, y: y + 4, class: "tick", "text-anchor": "end" }, svg).textContent = r.name.length > 14 ? `${r.name.slice(0, 13)}…` : r.name;
      el("line", { x1: p.sx(r.a), x2: p.sx(r.b), y1: y, y2: y, class: "dumbbell" }, svg);
      el("circle", { cx: p.sx(r.a), cy: y, r: 6, class: "pt model-a" }, svg);
      el("circle", { cx: p.sx(r.b), cy: y, r: 6, class: "pt model-b" }, svg);
    });
    svg.dataset.rows = String(rows.length);
    void H;
  }
  async function load() {
    const status = document.getElementById("rash-status");
    status.textContent = "comparing two models on FreeSolv…";
    try {
      const r = await api("/api/rashomon");
      data = { ...r, names: r.new_molecules.map((m) => m.name) };
      const table = document.getElementById("rash-table");
      table.innerHTML = `<tr><th></th><th>test RMSE, kcal/mol</th><th>95 % CI</th><th>p vs best</th><th></th></tr>` +
        r.labels.map((k, i) => { const c = r.comparison[k]; return `<tr><td><i class="sw ${i ? "model-b" : "model-a"}"></i> ${escapeHtml(k)}</td><td>${num(`rmse-${i}`, c.rmse)}</td><td>[${fmt(c.ci[0])}, ${fmt(c.ci[1])}]</td><td>${num(`p-${i}`, c.p_value, 2)}</td><td>${c.equally_good ? "equally good" : "worse"}</td></tr>`; }).join("");
      document.getElementById("rash-protocol").textContent = `${r.dataset}; ${r.protocol}.`;
      draw();
      status.textContent = "";
      document.getElementById("slide-rashomon").dataset.done = "true";
    } catch (err) {
      status.textContent = `error: ${err.message}`;
    }
  }
  form("rash-form", async (smiles) => {
    const status = document.getElementById("rash-status");
    try {
      const r = await api(`/api/rashomon/predict?smiles=${encodeURIComponent(smiles)}`);
      for (const k of data.labels) data.predictions[k].push(r.predictions[k][0]);
      data.smiles.push(r.smiles[0]); data.names.push(r.smiles[0]); data.difference.push(r.difference[0]);
      if (data.smiles.length > 9) { for (const k of data.labels) data.predictions[k].splice(0, 1); data.smiles.splice(0, 1); data.names.splice(0, 1); data.difference.splice(0, 1); }
      draw();
      status.innerHTML = `${escapeHtml(r.smiles[0])}: ${data.labels.map((k) => `${escapeHtml(k.split(" ")[0])} ${fmt(r.predictions[k][0])}`).join(" vs ")} · difference ${num("difference", r.difference[0])} kcal/mol${r.in_training_set[0] ? " (in FreeSolv: both fitted it)" : ""}`;
    } catch (err) {
      status.textContent = `error: ${err.message}`;
    }
  });
  return load;
}
