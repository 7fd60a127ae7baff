// The deck: scaling to the window, keyboard/arrow navigation, the tweaks panel, demo start-up.

import * as basic from "./demos-basic.js";
import * as fits from "./demos-fits.js";
import { dataSlide, caseStudies } from "./molecules.js";
import { potentialSlide } from "./demos-potential.js";
import * as worry from "./demos-worry.js";

const deck = document.getElementById("deck");
const slides = [...document.querySelectorAll(".slide")];
let current = 0;

function fit() {
  const s = Math.min(window.innerWidth / 1280, (window.innerHeight - 8) / 720);
  deck.style.transform = `scale(${s})`;
}

function go(i) {
  current = Math.max(0, Math.min(slides.length - 1, i));
  slides.forEach((s, k) => s.classList.toggle("active", k === current));
  document.getElementById("counter").textContent = `${current + 1} / ${slides.length}`;
  document.getElementById("progress-bar").style.width = `${(100 * (current + 1)) / slides.length}%`;
  document.body.dataset.slide = String(current + 1);
  if (location.hash !== `#${current + 1}`) history.replaceState(null, "", `#${current + 1}`);
}

function fromHash() {
  const n = parseInt(location.hash.slice(1), 10);
  go(Number.isFinite(n) ? n - 1 : 0);
}

document.addEventListener("keydown", (evt) => {
  const tag = evt.target.tagName;
  if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return; // sliders keep their arrows
  if (evt.target.closest?.("[data-own-keys]")) return; // 3D drawings rotate with the arrows
  if (["ArrowRight", "PageDown", " "].includes(evt.key)) { evt.preventDefault(); go(current + 1); }
  else if (["ArrowLeft", "PageUp"].includes(evt.key)) { evt.preventDefault(); go(current - 1); }
  else if (evt.key === "Home") go(0);
  else if (evt.key === "End") go(slides.length - 1);
});
document.getElementById("prev").addEventListener("click", () => go(current - 1));
document.getElementById("next").addEventListener("click", () => go(current + 1));
window.addEventListener("hashchange", fromHash);
window.addEventListener("resize", fit);

// tweaks: accent colour, display font, background — remembered in localStorage
const tweaks = document.getElementById("tweaks");
document.getElementById("tweaks-toggle").addEventListener("click", () => { tweaks.hidden = !tweaks.hidden; });
function applyTweaks(t) {
  document.documentElement.style.setProperty("--accent", t.accent);
  document.body.dataset.font = t.font;
  document.body.dataset.bg = t.bg;
  document.querySelectorAll("#tweak-accent button").forEach((b) => b.classList.toggle("on", b.dataset.value === t.accent));
  document.querySelectorAll("#tweak-bg button").forEach((b) => b.classList.toggle("on", b.dataset.value === t.bg));
  document.getElementById("tweak-font").value = t.font;
  try { localStorage.setItem("molfit-primer-tweaks", JSON.stringify(t)); } catch { /* private mode */ }
}
let settings = { accent: "#e4572e", font: "serif", bg: "paper" };
try { Object.assign(settings, JSON.parse(localStorage.getItem("molfit-primer-tweaks") || "{}")); } catch { /* ignore */ }
document.querySelectorAll("#tweak-accent button").forEach((b) => b.addEventListener("click", () => { settings.accent = b.dataset.value; applyTweaks(settings); }));
document.querySelectorAll("#tweak-bg button").forEach((b) => b.addEventListener("click", () => { settings.bg = b.dataset.value; applyTweaks(settings); }));
document.getElementById("tweak-font").addEventListener("change", (e) => { settings.font = e.target.value; applyTweaks(settings); });

applyTweaks(settings);
fit();
fromHash();

basic.linearRegression();
basic.gradientDescent();
basic.neuron();
basic.networkForward();
basic.backprop();
const loads = [fits.polynomial()(), fits.gaussianProcess()(), dataSlide()];
fits.pinn();
caseStudies();
Promise.allSettled(loads).then(() => { document.body.dataset.ready = "true"; });

// the science slides: each starts once its models are ready (the server loads them in the
// background), independently of the others and of the basic demos
const science = [
  ["props", worry.properties3d()],
  ["md", potentialSlide()],
  ["shift", worry.distributionShift()],
  ["leakage", worry.leakage()],
  ["symmetry", worry.symmetries()],
  ["rashomon", worry.rashomon()],
];
Promise.allSettled(science.map(([, start]) => start())).then(() => { document.body.dataset.science = "ready"; });
