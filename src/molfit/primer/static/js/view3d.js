// Ball-and-stick molecules in SVG, drawn by the primer itself: orthographic view with a little
// perspective, painter's order (back to front), CPK-like colours, optional σ halos, force
// arrows and atom numbers. Rotate with the mouse or a finger (pointer events) or, once the
// drawing has focus, with the arrow keys (Shift: roll).

import { el, clear } from "./plot.js";

const COLOURS = { H: "#e8e8e8", C: "#505058", N: "#3060d8", O: "#d83a3a", F: "#44b04a", S: "#d8b020", Cl: "#30a040", P: "#e08020", Br: "#9a3a20", I: "#6a2a9a", Fe: "#c06a30" };
const RADII = { H: 0.28, C: 0.42, N: 0.40, O: 0.40, F: 0.38, S: 0.5, Cl: 0.5, P: 0.5, Br: 0.55, I: 0.6 };

export function matMul(a, b) {
  const out = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) out[i][j] += a[i][k] * b[k][j];
  return out;
}

export function axisRotation(axis, deg) {
  const t = (deg * Math.PI) / 180, c = Math.cos(t), s = Math.sin(t);
  if (axis === "x") return [[1, 0, 0], [0, c, -s], [0, s, c]];
  if (axis === "y") return [[c, 0, s], [0, 1, 0], [-s, 0, c]];
  return [[c, -s, 0], [s, c, 0], [0, 0, 1]];
}

// viewer(svg, {labels, onDrag}): onDrag(dxDeg, dyDeg) replaces the built-in rotation (the
// symmetry slide rotates the molecule itself, on the server, instead of the camera).
export function viewer(svg, { labels = false, onDrag = null, arrowScale = 1.2 } = {}) {
  const vb = svg.viewBox.baseVal;
  const W = vb.width, H = vb.height;
  let view = matMul(axisRotation("x", -20), axisRotation("y", 25));
  let mol = { symbols: [], bonds: [] };
  let positions = [], sigma = null, forces = null, centre = [0, 0, 0], scale = 40;
  const defs = el("defs", {}, svg);
  const marker = el("marker", { id: `${svg.id}-arrow`, viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 5, markerHeight: 5, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z", class: "force-head" }, marker);
  const layer = el("g", {}, svg);
  svg.setAttribute("tabindex", "0");
  svg.dataset.ownKeys = "true";
  svg.classList.add("mol3d");

  function fit() {
    if (!positions.length) return;
    const n = positions.length;
    centre = [0, 1, 2].map((k) => positions.reduce((s, p) => s + p[k], 0) / n);
    const r = Math.max(1.2, ...positions.map((p) => Math.hypot(p[0] - centre[0], p[1] - centre[1], p[2] - centre[2])));
    scale = (0.42 * Math.min(W, H)) / (r + 0.6);
  }

  function project(p) {
    const d = [p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]];
    const v = view.map((row) => row[0] * d[0] + row[1] * d[1] + row[2] * d[2]);
    const persp = 1 / (1 - v[2] / 30);
    return { x: W / 2 + v[0] * scale * persp, y: H / 2 - v[1] * scale * persp, z: v[2], persp };
  }

  function draw() {
    clear(layer);
    if (!positions.length) return;
    const pts = positions.map(project);
    const items = [];
    mol.bonds.forEach(([i, j]) => items.push({ z: (pts[i].z + pts[j].z) / 2 - 0.01, kind: "bond", i, j }));
    pts.forEach((p, i) => items.push({ z: p.z, kind: "atom", i }));
    items.sort((a, b) => a.z - b.z);
    const maxSigma = sigma ? Math.max(1e-9, ...sigma) : 1;
    for (const it of items) {
      if (it.kind === "bond") {
        const a = pts[it.i], b = pts[it.j];
        el("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: "bond3d", "stroke-width": 0.16 * scale * (a.persp + b.persp) / 2 }, layer);
        continue;
      }
      const p = pts[it.i], s = mol.symbols[it.i];
      const r = (RADII[s] ?? 0.5) * scale * p.persp;
      if (sigma) {
        const halo = r * (1.15 + 1.6 * (sigma[it.i] / maxSigma));
        el("circle", { cx: p.x, cy: p.y, r: halo, class: "halo", "data-atom": it.i, "data-sigma": sigma[it.i] }, layer);
      }
      el("circle", { cx: p.x, cy: p.y, r, fill: COLOURS[s] ?? "#d070c0", class: "atom3d", "data-atom": it.i }, layer);
      if (labels) el("text", { x: p.x, y: p.y + 4, class: s === "H" ? "atom-num dark" : "atom-num" }, layer).textContent = String(it.i + 1);
      if (forces) {
        const f = forces[it.i];
        const tip = project([positions[it.i][0] + arrowScale * f[0], positions[it.i][1] + arrowScale * f[1], positions[it.i][2] + arrowScale * f[2]]);
        if (Math.hypot(tip.x - p.x, tip.y - p.y) > 2) {
          el("line", { x1: p.x, y1: p.y, x2: tip.x, y2: tip.y, class: "force", "marker-end": `url(#${svg.id}-arrow)` }, layer);
        }
      }
    }
  }

  function rotateBy(dx, dy, roll = 0) {
    if (onDrag) { onDrag(dx, dy, roll); return; }
    view = matMul(axisRotation("z", roll), matMul(axisRotation("x", -dy), matMul(axisRotation("y", dx), view)));
    draw();
  }

  let last = null;
  svg.addEventListener("pointerdown", (e) => { last = [e.clientX, e.clientY]; svg.setPointerCapture?.(e.pointerId); svg.focus({ preventScroll: true }); });
  svg.addEventListener("pointermove", (e) => {
    if (!last) return;
    const dx = e.clientX - last[0], dy = e.clientY - last[1];
    last = [e.clientX, e.clientY];
    if (dx || dy) rotateBy(dx * 0.6, dy * 0.6);
  });
  const up = () => { last = null; };
  svg.addEventListener("pointerup", up);
  svg.addEventListener("pointercancel", up);
  svg.addEventListener("keydown", (e) => {
    const step = 10;
    const map = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (!(e.key in map)) return;
    e.preventDefault();
    e.stopPropagation();
    const [dx, dy] = map[e.key];
    if (e.shiftKey) rotateBy(0, 0, dx || dy); else rotateBy(dx, dy);
  });

  return {
    setMolecule(m, pos) { mol = m; positions = pos; fit(); draw(); },
    setPositions(pos) { positions = pos; draw(); },
    setSigma(s) { sigma = s; },
    setForces(f) { forces = f; },
    refit() { fit(); draw(); },
    draw,
    get view() { return view; },
  };
}
