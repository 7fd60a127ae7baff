// A tiny SVG plotting kit: linear scales, axes, paths, pointer → data coordinates.

const NS = "http://www.w3.org/2000/svg";

export function el(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

export function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

// Show a number: text rounded for people, data-value exact for tests.
export function show(id, value, digits = 2) {
  const node = document.getElementById(id);
  node.dataset.value = String(value);
  node.textContent = Number.isFinite(value) ? value.toFixed(digits) : String(value);
}

export function makePlot(svg, { x, y, margin = { l: 44, r: 14, t: 14, b: 30 } }) {
  const vb = svg.viewBox.baseVal;
  const W = vb.width, H = vb.height;
  const px0 = margin.l, px1 = W - margin.r, py0 = H - margin.b, py1 = margin.t;
  const sx = (v) => px0 + ((v - x[0]) / (x[1] - x[0])) * (px1 - px0);
  const sy = (v) => py0 + ((v - y[0]) / (y[1] - y[0])) * (py1 - py0);
  const ix = (p) => x[0] + ((p - px0) / (px1 - px0)) * (x[1] - x[0]);
  const iy = (p) => y[0] + ((p - py0) / (py1 - py0)) * (y[1] - y[0]);
  const clampY = (v) => Math.max(y[0] - (y[1] - y[0]), Math.min(y[1] + (y[1] - y[0]), v));
  const line = (xs, ys) => xs.map((xv, i) => `${i ? "L" : "M"}${sx(xv).toFixed(2)},${sy(clampY(ys[i])).toFixed(2)}`).join("");
  const area = (xs, lo, hi) => {
    const top = xs.map((xv, i) => `${i ? "L" : "M"}${sx(xv).toFixed(2)},${sy(clampY(hi[i])).toFixed(2)}`).join("");
    const bottom = xs.map((_, k) => { const i = xs.length - 1 - k; return `L${sx(xs[i]).toFixed(2)},${sy(clampY(lo[i])).toFixed(2)}`; }).join("");
    return `${top}${bottom}Z`;
  };
  // Pointer event → SVG user units → data units.
  const toData = (evt) => {
    const pt = svg.createSVGPoint();
    pt.x = evt.clientX; pt.y = evt.clientY;
    const p = pt.matrixTransform(svg.getScreenCTM().inverse());
    return [ix(p.x), iy(p.y)];
  };
  const axes = (parent, { xticks = [], yticks = [], xlabel = "", ylabel = "" } = {}) => {
    const g = el("g", {}, parent);
    for (const t of yticks) {
      el("line", { x1: px0, x2: px1, y1: sy(t), y2: sy(t), class: "gridline" }, g);
      el("text", { x: px0 - 8, y: sy(t) + 4, class: "tick", "text-anchor": "end" }, g).textContent = t;
    }
    for (const t of xticks) el("text", { x: sx(t), y: py0 + 18, class: "tick" }, g).textContent = t;
    el("line", { x1: px0, x2: px1, y1: py0, y2: py0, class: "axis" }, g);
    el("line", { x1: px0, x2: px0, y1: py0, y2: py1, class: "axis" }, g);
    if (xlabel) el("text", { x: px1, y: py0 - 6, class: "tick", "text-anchor": "end" }, g).textContent = xlabel;
    if (ylabel) el("text", { x: px0 + 6, y: py1 + 10, class: "tick", "text-anchor": "start" }, g).textContent = ylabel;
    return g;
  };
  return { W, H, px0, px1, py0, py1, sx, sy, ix, iy, line, area, toData, axes };
}

// Drag helper: calls onMove(dataX, dataY, evt) while the pointer is down on `target`.
export function draggable(target, plot, svg, onMove, onEnd = () => {}) {
  target.addEventListener("pointerdown", (evt) => {
    evt.preventDefault();
    evt.stopPropagation();
    target.setPointerCapture?.(evt.pointerId);
    const move = (e) => onMove(...plot.toData(e), e);
    const up = (e) => {
      svg.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      onEnd(e);
    };
    svg.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  });
}

export async function api(path, body = undefined) {
  const res = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}
