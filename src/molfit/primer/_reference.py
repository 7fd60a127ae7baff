"""Reference implementations of the primer's in-page demos (the numbers the page must show).

The demos that follow a mouse drag (linear regression, gradient descent, one neuron, a network's
forward pass, a backpropagation step) compute in the browser so that they keep up with the pointer.
Their JavaScript twin lives in ``static/js/reference.js`` and mirrors these functions line by
line, summing in the same order, so that both give the same doubles for the same inputs. The browser
tests read the page's numbers and compare them with these functions.

All quantities are dimensionless: the demos live in abstract plot units.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Point = tuple[float, float]

ACTIVATIONS: tuple[str, ...] = ("relu", "sigmoid", "tanh", "gelu")


# --- 1. linear regression ------------------------------------------------------------------------


@dataclass(frozen=True)
class LineFit:
    """Least-squares line ``ŷ = slope·x + intercept`` and its mean squared error ``loss``."""

    slope: float
    intercept: float
    loss: float


def least_squares_line(points: Sequence[Point]) -> LineFit:
    """Fit ``ŷ = m·x + b`` by ordinary least squares (closed form).

    Args:
        points: ``(x, y)`` pairs, at least one.

    Returns:
        The slope ``m``, the intercept ``b`` and the loss ``1/n Σ (ŷᵢ − yᵢ)²``. With fewer than two
        distinct ``x`` the slope is 0 and the intercept is the mean of ``y``.
    """
    n = len(points)
    if n == 0:
        raise ValueError("least_squares_line needs at least one point")
    sx = 0.0
    sy = 0.0
    for x, y in points:
        sx += x
        sy += y
    mx = sx / n
    my = sy / n
    sxy = 0.0
    sxx = 0.0
    for x, y in points:
        sxy += (x - mx) * (y - my)
        sxx += (x - mx) * (x - mx)
    slope = sxy / sxx if sxx > 0 else 0.0
    intercept = my - slope * mx
    sse = 0.0
    for x, y in points:
        r = slope * x + intercept - y
        sse += r * r
    return LineFit(slope, intercept, sse / n)


# --- 2. gradient descent on a non-convex loss -----------------------------------------------------


@dataclass(frozen=True)
class NonConvexLoss:
    """The 1D loss of the gradient-descent demo: ``ℒ(θ) = a·θ² + c·sin(k·θ)``.

    With the defaults it has three local minima on ``[-6, 6]`` (θ ≈ −3.42, −0.70, 2.08); plain
    gradient descent crawls for ``η ≲ 0.01``, overshoots and bounces between basins for
    ``η ≳ 0.25`` and diverges for ``η > 1/a = 4`` (the quadratic part then amplifies each step).
    """

    a: float = 0.25
    c: float = 1.0
    k: float = 2.0

    def value(self, theta: float) -> float:
        """ℒ(θ)."""
        return self.a * theta * theta + self.c * math.sin(self.k * theta)

    def grad(self, theta: float) -> float:
        """dℒ/dθ."""
        return 2.0 * self.a * theta + self.c * self.k * math.cos(self.k * theta)


PRIMER_LOSS = NonConvexLoss()
DIVERGENCE_LIMIT = 1.0e6


def gradient_descent(
    loss: NonConvexLoss, theta0: float, lr: float, steps: int
) -> tuple[list[float], bool]:
    """Run ``θₜ₊₁ = θₜ − η·∇ℒ(θₜ)`` from ``theta0``.

    Args:
        loss: the loss (value and gradient).
        theta0: starting point.
        lr: the learning rate ``η`` (> 0).
        steps: number of updates.

    Returns:
        ``(thetas, diverged)``: the visited points ``[θ₀, θ₁, ...]`` (``steps + 1`` of them unless
        the run diverged, i.e. ``|θ|`` exceeded 1e6, in which case it stops there).
    """
    thetas = [theta0]
    theta = theta0
    for _ in range(steps):
        theta = theta - lr * loss.grad(theta)
        thetas.append(theta)
        if not math.isfinite(theta) or abs(theta) > DIVERGENCE_LIMIT:
            return thetas, True
    return thetas, False


# --- 3. one neuron ------------------------------------------------------------------------------


def relu(z: float) -> float:
    """max(0, z)."""
    return z if z > 0 else 0.0


def sigmoid(z: float) -> float:
    """1 / (1 + e^−z)."""
    return 1.0 / (1.0 + math.exp(-z))


def tanh(z: float) -> float:
    """tanh(z)."""
    return math.tanh(z)


def gelu(z: float) -> float:
    """Exact GELU, ``z·Φ(z) = z/2·(1 + erf(z/√2))`` (PyTorch's default form)."""
    return 0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0)))


def activation(name: str) -> Callable[[float], float]:
    """The activation function called ``name`` (one of :data:`ACTIVATIONS`)."""
    table = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh, "gelu": gelu}
    if name not in table:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return table[name]


def neuron(x: Sequence[float], w: Sequence[float], b: float, act: str) -> tuple[float, float]:
    """One neuron: ``z = w·x + b`` then ``h = σ(z)``; returns ``(z, h)``."""
    z = b
    for xi, wi in zip(x, w, strict=True):
        z += wi * xi
    return z, activation(act)(z)


# --- 4. a small network's forward pass ---------------------------------------------------------


@dataclass
class Network:
    """A 2 → 3 → 1 network with tanh hidden units and a linear output.

    Attributes:
        w1: hidden weights, ``(3, 2)`` nested lists (row = hidden unit).
        b1: hidden biases, 3 numbers.
        w2: output weights, 3 numbers.
        b2: output bias.
    """

    w1: list[list[float]]
    b1: list[float]
    w2: list[float]
    b2: float = 0.0


def forward(net: Network, x: Sequence[float]) -> tuple[list[float], float]:
    """Forward pass: ``h = tanh(W₁x + b₁)``, ``ŷ = w₂·h + b₂``; returns ``(h, ŷ)``."""
    hidden = []
    for row, bias in zip(net.w1, net.b1, strict=True):
        z = bias
        for wi, xi in zip(row, x, strict=True):
            z += wi * xi
        hidden.append(math.tanh(z))
    out = net.b2
    for wi, hi in zip(net.w2, hidden, strict=True):
        out += wi * hi
    return hidden, out


# --- 5. one backpropagation step ---------------------------------------------------------------


@dataclass
class TinyNet:
    """A 1 → 2 → 1 network with tanh hidden units, trained on one example with ``ℒ = (ŷ − y)²``."""

    w1: list[float] = field(default_factory=lambda: [0.5, -0.8])
    b1: list[float] = field(default_factory=lambda: [0.1, 0.2])
    w2: list[float] = field(default_factory=lambda: [0.9, 0.4])
    b2: float = -0.1


@dataclass
class BackpropStep:
    """Everything one training iteration computes, phase by phase.

    Forward: ``z``, ``h``, ``y_hat``, ``loss``. Backward: ``d_y_hat = ∂ℒ/∂ŷ``, the gradients
    ``d_w2``, ``d_b2``, ``d_h``, ``d_z``, ``d_w1``, ``d_b1``. Update: ``updated`` (the network after
    ``θ ← θ − η∇θℒ``) and ``loss_after`` (the loss of the updated network on the same example).
    """

    z: list[float]
    h: list[float]
    y_hat: float
    loss: float
    d_y_hat: float
    d_w2: list[float]
    d_b2: float
    d_h: list[float]
    d_z: list[float]
    d_w1: list[float]
    d_b1: list[float]
    updated: TinyNet
    loss_after: float


def _tiny_forward(net: TinyNet, x: float) -> tuple[list[float], list[float], float]:
    z = [w * x + b for w, b in zip(net.w1, net.b1, strict=True)]
    h = [math.tanh(v) for v in z]
    y_hat = net.b2
    for w, hi in zip(net.w2, h, strict=True):
        y_hat += w * hi
    return z, h, y_hat


def backprop_step(net: TinyNet, x: float, y: float, lr: float) -> BackpropStep:
    """One forward pass, the chain rule right to left, and one gradient-descent update."""
    z, h, y_hat = _tiny_forward(net, x)
    err = y_hat - y
    loss = err * err
    d_y_hat = 2.0 * err
    d_w2 = [d_y_hat * hi for hi in h]
    d_b2 = d_y_hat
    d_h = [d_y_hat * w for w in net.w2]
    d_z = [dh * (1.0 - hi * hi) for dh, hi in zip(d_h, h, strict=True)]
    d_w1 = [dz * x for dz in d_z]
    d_b1 = list(d_z)
    updated = TinyNet(
        w1=[w - lr * g for w, g in zip(net.w1, d_w1, strict=True)],
        b1=[b - lr * g for b, g in zip(net.b1, d_b1, strict=True)],
        w2=[w - lr * g for w, g in zip(net.w2, d_w2, strict=True)],
        b2=net.b2 - lr * d_b2,
    )
    _, _, y_after = _tiny_forward(updated, x)
    loss_after = (y_after - y) * (y_after - y)
    return BackpropStep(
        z, h, y_hat, loss, d_y_hat, d_w2, d_b2, d_h, d_z, d_w1, d_b1, updated, loss_after
    )
