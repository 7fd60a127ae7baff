// The in-page twins of molfit/apply/primer/_reference.py: same formulas, same summation order.
// The browser tests compare what the page shows with the Python functions for the same inputs.

export function leastSquaresLine(points) {
  const n = points.length;
  let sx = 0, sy = 0;
  for (const [x, y] of points) { sx += x; sy += y; }
  const mx = sx / n, my = sy / n;
  let sxy = 0, sxx = 0;
  for (const [x, y] of points) { sxy += (x - mx) * (y - my); sxx += (x - mx) * (x - mx); }
  const slope = sxx > 0 ? sxy / sxx : 0;
  const intercept = my - slope * mx;
  let sse = 0;
  for (const [x, y] of points) { const r = slope * x + intercept - y; sse += r * r; }
  return { slope, intercept, loss: sse / n };
}

// ℒ(θ) = a·θ² + c·sin(kθ)
export const LOSS = { a: 0.25, c: 1.0, k: 2.0 };
export const lossValue = (t) => LOSS.a * t * t + LOSS.c * Math.sin(LOSS.k * t);
export const lossGrad = (t) => 2.0 * LOSS.a * t + LOSS.c * LOSS.k * Math.cos(LOSS.k * t);
export const DIVERGENCE_LIMIT = 1.0e6;

export function gdStep(theta, lr) { return theta - lr * lossGrad(theta); }

export function gradientDescent(theta0, lr, steps) {
  const thetas = [theta0];
  let theta = theta0;
  for (let i = 0; i < steps; i++) {
    theta = gdStep(theta, lr);
    thetas.push(theta);
    if (!Number.isFinite(theta) || Math.abs(theta) > DIVERGENCE_LIMIT) return { thetas, diverged: true };
  }
  return { thetas, diverged: false };
}

// erf to ~1e-15: Taylor series near 0, continued fraction for erfc in the tails.
export function erf(x) {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x, sum = x;
    const x2 = x * x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) evaluated by Lentz's method
  const tiny = 1e-300;
  let f = ax, c = ax, d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = ax + an * d; d = Math.abs(d) < tiny ? tiny : d; d = 1 / d;
    c = ax + an / c; c = Math.abs(c) < tiny ? tiny : c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

export const ACTIVATIONS = {
  relu: (z) => (z > 0 ? z : 0),
  sigmoid: (z) => 1.0 / (1.0 + Math.exp(-z)),
  tanh: (z) => Math.tanh(z),
  gelu: (z) => 0.5 * z * (1.0 + erf(z / Math.sqrt(2.0))),
};

export function neuron(x, w, b, act) {
  let z = b;
  for (let i = 0; i < x.length; i++) z += w[i] * x[i];
  return { z, h: ACTIVATIONS[act](z) };
}

// 2 → 3 (tanh) → 1 (linear)
export function forward(net, x) {
  const hidden = [];
  for (let j = 0; j < net.w1.length; j++) {
    let z = net.b1[j];
    for (let i = 0; i < x.length; i++) z += net.w1[j][i] * x[i];
    hidden.push(Math.tanh(z));
  }
  let out = net.b2;
  for (let j = 0; j < hidden.length; j++) out += net.w2[j] * hidden[j];
  return { hidden, out };
}

// 1 → 2 (tanh) → 1, ℒ = (ŷ − y)²
function tinyForward(net, x) {
  const z = net.w1.map((w, j) => w * x + net.b1[j]);
  const h = z.map((v) => Math.tanh(v));
  let yHat = net.b2;
  for (let j = 0; j < h.length; j++) yHat += net.w2[j] * h[j];
  return { z, h, yHat };
}

export function backpropStep(net, x, y, lr) {
  const { z, h, yHat } = tinyForward(net, x);
  const err = yHat - y;
  const loss = err * err;
  const dYHat = 2.0 * err;
  const dW2 = h.map((hj) => dYHat * hj);
  const dB2 = dYHat;
  const dH = net.w2.map((w) => dYHat * w);
  const dZ = dH.map((dh, j) => dh * (1.0 - h[j] * h[j]));
  const dW1 = dZ.map((dz) => dz * x);
  const dB1 = dZ.slice();
  const updated = {
    w1: net.w1.map((w, j) => w - lr * dW1[j]),
    b1: net.b1.map((b, j) => b - lr * dB1[j]),
    w2: net.w2.map((w, j) => w - lr * dW2[j]),
    b2: net.b2 - lr * dB2,
  };
  const after = tinyForward(updated, x).yHat;
  const lossAfter = (after - y) * (after - y);
  return { z, h, yHat, loss, dYHat, dW2, dB2, dH, dZ, dW1, dB1, updated, lossAfter };
}
