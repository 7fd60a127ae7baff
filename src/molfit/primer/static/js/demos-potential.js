// The potentials slide: ethanol moving under the shipped committee potential. The server runs
// the MD in chunks of a few steps (/api/md/step); the page draws the frames, the energy trace
// and each atom's committee σ, and times one oracle call against one potential call.

import { el, clear, show, makePlot, api } from "./plot.js";
import { viewer } from "./view3d.js";

const CHUNK = 10;
const TRACE = 400;

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

export function potentialSlide() {
  const section = document.getElementById("slide-case2");
  const svg = document.getElementById("md-view");
  const traceSvg = document.getElementById("md-trace");
  const slider = document.getElementById("md-temp");
  const status = document.getElementById("md-status");
  const playBtn = document.getElementById("md-play");
  const view = viewer(svg);
  let session = null, playing = true, busy = false, trace = [], e0 = 0, generation = 0;

  function temperature() { return Number(slider.value); }
  function showTemp() { show("md-temp-value", temperature(), 0); }

  function drawTrace() {
    clear(traceSvg);
    if (!trace.length) return;
    const xs = trace.map((t) => t.time_fs);
    const series = { e_kin: trace.map((t) => t.e_kin), e_pot: trace.map((t) => t.e_pot - e0), e_tot: trace.map((t) => t.e_tot - e0) };
    const all = [...series.e_kin, ...series.e_pot, ...series.e_tot];
    let lo = Math.min(...all), hi = Math.max(...all);
    const pad = 0.1 * (hi - lo || 0.1);
    lo -= pad; hi += pad;
    const p = makePlot(traceSvg, { x: [xs[0], Math.max(xs[xs.length - 1], xs[0] + 1)], y: [lo, hi], margin: { l: 48, r: 10, t: 10, b: 24 } });
    const ticks = [lo + pad, (lo + hi) / 2, hi - pad].map((v) => Number(v.toFixed(2)));
    p.axes(traceSvg, { xticks: [], yticks: ticks, xlabel: "time, fs", ylabel: "" });
    el("path", { d: p.line(xs, series.e_kin), class: "ekin-line" }, traceSvg);
    el("path", { d: p.line(xs, series.e_pot), class: "epot-line" }, traceSvg);
    el("path", { d: p.line(xs, series.e_tot), class: "etot-line" }, traceSvg);
  }

  function showState(s) {
    view.setSigma(s.sigma);
    view.setPositions(s.positions);
    show("md-step", s.step, 0);
    show("md-ekin", s.e_kin, 3);
    show("md-epot", s.e_pot, 3);
    show("md-etot", s.e_tot, 3);
    show("md-T", s.T, 0);
    show("md-sigma", Math.max(...s.sigma), 3);
    svg.dataset.positions = JSON.stringify(s.positions);
    svg.dataset.sigma = JSON.stringify(s.sigma);
    svg.dataset.step = String(s.step);
  }

  async function start() {
    const mine = ++generation;
    session = null; trace = [];
    status.textContent = "starting…";
    status.dataset.state = "loading";
    try {
      const r = await api("/api/md/start", { temperature: temperature(), seed: 0 });
      if (mine !== generation) return;
      session = r.session;
      e0 = r.state.e_pot;
      view.setMolecule({ symbols: r.symbols, bonds: r.bonds }, r.state.positions);
      showState(r.state);
      trace.push(r.state);
      drawTrace();
      document.getElementById("md-model").textContent =
        `Potential: molfit zoo “${r.model.name}”${r.model.title ? `, ${r.model.title}` : ` (${r.model.model}, trained on GFN2-xTB energies and forces of ethanol)`}${r.model.headline ? `; test ${r.model.headline}` : ""}. ` +
        `Langevin MD (${r.dt_fs} fs steps, friction 0.02/fs) on the server, ${CHUNK} steps per request; start: ETKDG + MMFF94 conformer of ${r.smiles}.`;
      status.textContent = "running";
      status.dataset.state = "ok";
      svg.dataset.session = session;
      loop(mine);
    } catch (err) {
      status.textContent = `error: ${err.message}`;
      status.dataset.state = "error";
    }
  }

  async function loop(mine) {
    while (mine === generation) {
      if (!playing || !section.classList.contains("active") || busy) { await new Promise((r) => setTimeout(r, 200)); continue; }
      busy = true;
      try {
        const r = await api("/api/md/step", { session, steps: CHUNK, temperature: temperature() });
        if (mine !== generation) return;
        for (const f of r.frames) {
          showState(f);
          trace.push(f);
          await new Promise((res) => requestAnimationFrame(res));
        }
        if (trace.length > TRACE) trace = trace.slice(trace.length - TRACE);
        drawTrace();
      } catch (err) {
        status.textContent = `error: ${err.message}`;
        status.dataset.state = "error";
        playing = false;
        playBtn.textContent = "play ▸";
      } finally {
        busy = false;
      }
    }
  }

  async function waitIdle() { while (busy) await new Promise((r) => setTimeout(r, 20)); }

  playBtn.addEventListener("click", () => {
    playing = !playing;
    playBtn.textContent = playing ? "pause ❚❚" : "play ▸";
    if (status.dataset.state === "ok") status.textContent = playing ? "running" : "paused";
    svg.dataset.playing = String(playing);
  });
  document.getElementById("md-restart").addEventListener("click", async () => { await waitIdle(); start(); });
  slider.addEventListener("input", showTemp);

  async function timing(oracle) {
    const out = document.getElementById("md-timing");
    out.dataset.state = "loading";
    out.innerHTML = `<p class="muted">timing one ${oracle === "dft" ? "DFT" : "xTB"} call and one potential call…</p>`;
    try {
      const r = await api("/api/md/timing", { oracle });
      const faster = r.ratio >= 1;
      out.innerHTML = `<p><b>${escapeHtml(r.oracle)}</b> <span class="num" data-key="oracle_ms" data-value="${r.oracle_ms}">${r.oracle_ms.toFixed(1)}</span> ms ·
        potential <span class="num" data-key="potential_ms" data-value="${r.potential_ms}">${r.potential_ms.toFixed(1)}</span> ms ·
        <b class="accent-text" data-key="ratio" data-value="${r.ratio}">${faster ? `${r.ratio.toFixed(r.ratio < 10 ? 1 : 0)}× faster` : `${(1 / r.ratio).toFixed(1)}× slower`}</b></p>
        <p class="caveat">Measured now, ${r.n_atoms} atoms, one call each, on this machine's CPU (shared, not pinned). ${
          r.oracle_key === "xtb"
            ? "xTB is itself a cheap semi-empirical method, and for 9 atoms the network's cost is fixed per-call overhead: the 10³–10⁶× of the slide is against DFT, for larger systems, where DFT grows as N³–N⁴ and the potential as N."
            : "One DFT single point from scratch (no density guess). The gap grows with system size: DFT as N³–N⁴, the potential as N."
        }</p>`;
      out.dataset.state = "ok";
    } catch (err) {
      out.innerHTML = `<p class="error" role="alert">${escapeHtml(err.message)}</p>`;
      out.dataset.state = "error";
    }
  }
  document.getElementById("md-time-xtb").addEventListener("click", () => timing("xtb"));
  document.getElementById("md-time-dft").addEventListener("click", () => timing("dft"));

  // bad input: another molecule for the potential (one with an element it never saw is refused)
  document.getElementById("md-form").addEventListener("submit", async (evt) => {
    evt.preventDefault();
    const out = document.getElementById("md-form-result");
    const smiles = evt.target.querySelector("input").value;
    out.dataset.state = "loading";
    try {
      await waitIdle();
      const r = await api("/api/md/start", { smiles, temperature: temperature(), seed: 0 });
      generation++;
      const mine = generation;
      session = r.session; trace = [r.state]; e0 = r.state.e_pot;
      view.setMolecule({ symbols: r.symbols, bonds: r.bonds }, r.state.positions);
      showState(r.state); drawTrace();
      out.innerHTML = `<p class="muted">running ${escapeHtml(r.smiles)} under the ethanol potential: watch σ.</p>`;
      out.dataset.state = "ok";
      loop(mine);
    } catch (err) {
      out.innerHTML = `<p class="error" role="alert">${escapeHtml(err.message)}</p>`;
      out.dataset.state = "error";
    }
  });

  showTemp();
  return start;
}
