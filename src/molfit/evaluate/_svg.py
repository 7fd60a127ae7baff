"""Small, dependency-free SVG charts for the run reports.

A :class:`Chart` is one x–y panel: axes with round-number ticks, scatter points, lines, vertical
error bars, histograms and labelled bars, a legend and a title, written as one ``<svg>`` element
that a self-contained HTML page embeds inline. The reports draw four or five such panels per
run; drawing them here instead of with matplotlib saves its import and rendering (about a
second of every ``molfit train``, where the whole command is measured against chemprop's) and
gives vector figures that stay sharp when zoomed.

Data coordinates are mapped linearly to the plot area; everything outside the axis limits is
clipped. Scatter panels with more than ``max_points`` points draw an evenly spaced subset and
say so in the title, so that a report stays a few hundred kB whatever the test set's size.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: matplotlib's "tab10" colours, so that figures look the way users of the field expect
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip

_FONT = "font-family='DejaVu Sans, Arial, sans-serif'"
_CLIP_IDS = itertools.count()  # one page may hold many charts: every clip path gets its own id


def colour(c: int | str) -> str:
    """A palette index (``0`` → first tab10 colour) or any SVG colour string, as SVG colour."""
    return PALETTE[c % len(PALETTE)] if isinstance(c, int) else c


def nice_ticks(lo: float, hi: float, max_ticks: int = 6) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 × 10^k) covering ``[lo, hi]``, at most
    ``max_ticks`` of them inside it."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    power = 10.0 ** math.floor(math.log10((hi - lo) / max(max_ticks, 1)))
    ticks: list[float] = []
    for step in (m * power * f for f in (1.0, 10.0) for m in (1.0, 2.0, 2.5, 5.0)):
        first = math.ceil(lo / step - 1e-9)
        last = math.floor(hi / step + 1e-9)
        if last - first + 1 <= max_ticks:  # the finest round step that fits
            ticks = [k * step for k in range(first, last + 1)]
            break
    return ticks


def tick_label(value: float, step: float) -> str:
    """``value`` with as many decimals as the tick ``step`` needs (``0.25`` → 2)."""
    if not math.isfinite(value):
        return str(value)
    if value == 0 or abs(value) < 1e-9 * max(step, 1e-300):
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-4:
        return f"{value:.3g}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    if step > 0 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6:
        decimals += 1  # 2.5 × 10^k
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text.replace("-", "−")


@dataclass
class _Item:
    kind: str
    data: dict[str, Any]
    label: str | None = None
    style: dict[str, Any] = field(default_factory=dict)


class Chart:
    """One x–y panel, drawn as SVG by :meth:`svg`.

    Args:
        width, height: size in CSS pixels.
        title, xlabel, ylabel: texts around the plot area.
        xlim, ylim: axis limits; by default the data's range with 4 % margins.
        legend: ``"upper left"``, ``"upper right"``, ``"lower right"`` or ``None``.
        max_points: at most this many points are drawn per :meth:`scatter` call.
    """

    def __init__(
        self,
        width: int = 420,
        height: int = 400,
        *,
        title: str = "",
        xlabel: str = "",
        ylabel: str = "",
        xlim: tuple[float, float] | None = None,
        ylim: tuple[float, float] | None = None,
        legend: str | None = "upper left",
        max_points: int = 5000,
    ) -> None:
        self.width, self.height = width, height
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.xlim, self.ylim = xlim, ylim
        self.legend = legend
        self.max_points = max_points
        self.items: list[_Item] = []
        self.categories: list[str] | None = None
        self.notes: list[str] = []

    # -- adding data ----------------------------------------------------------------------------
    def scatter(
        self,
        x: Any,
        y: Any,
        *,
        color: int | str = 0,
        size: float = 2.5,
        label: str | None = None,
        opacity: float = 1.0,
    ) -> Chart:
        """Points ``(x[i], y[i])`` of radius ``size`` px; non-finite points are left out."""
        x, y = _finite_pairs(x, y)
        n = len(x)
        if n > self.max_points:
            keep = np.linspace(0, n - 1, self.max_points).astype(int)
            x, y = x[keep], y[keep]
            self.notes.append(f"{self.max_points:,} of {n:,} points drawn")
        self.items.append(
            _Item("scatter", {"x": x, "y": y}, label, {"color": color, "size": size, "op": opacity})
        )
        return self

    def line(
        self,
        x: Any,
        y: Any,
        *,
        color: int | str = 0,
        width: float = 1.5,
        dash: bool = False,
        markers: bool = False,
        label: str | None = None,
    ) -> Chart:
        """A polyline through ``(x[i], y[i])`` (dashed, with point markers if asked)."""
        x, y = _finite_pairs(x, y)
        style = {"color": color, "width": width, "dash": dash, "markers": markers}
        self.items.append(_Item("line", {"x": x, "y": y}, label, style))
        return self

    def errorbars(self, x: Any, lower: Any, upper: Any, *, color: int | str = "#c8c8c8") -> Chart:
        """Vertical bars from ``lower[i]`` to ``upper[i]`` at ``x[i]``."""
        x, lo, hi = (np.asarray(a, dtype=np.float64).ravel() for a in (x, lower, upper))
        keep = np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
        x, lo, hi = x[keep], lo[keep], hi[keep]
        if len(x) > self.max_points:
            sel = np.linspace(0, len(x) - 1, self.max_points).astype(int)
            x, lo, hi = x[sel], lo[sel], hi[sel]
        self.items.append(_Item("errorbars", {"x": x, "lo": lo, "hi": hi}, None, {"color": color}))
        return self

    def vline(self, x: float, *, color: int | str = "#000", label: str | None = None) -> Chart:
        """A dashed vertical line at ``x`` over the whole plot height."""
        self.items.append(_Item("vline", {"x": float(x)}, label, {"color": color}))
        return self

    def hline(self, y: float, *, color: int | str = "#000", label: str | None = None) -> Chart:
        """A dashed horizontal line at ``y`` over the whole plot width."""
        self.items.append(_Item("hline", {"y": float(y)}, label, {"color": color}))
        return self

    def hist(
        self,
        values: Any,
        bins: Any,
        *,
        density: bool = False,
        color: int | str = 0,
        label: str | None = None,
        opacity: float = 0.55,
    ) -> Chart:
        """A histogram of the finite ``values`` (``bins``: a count or the edges, as numpy's);
        ``density`` normalises the area to 1."""
        v = np.asarray(values, dtype=np.float64).ravel()
        v = v[np.isfinite(v)]
        if not len(v):
            return self
        counts, edges = np.histogram(v, bins=bins, density=density)
        self.items.append(
            _Item(
                "hist",
                {"counts": counts, "edges": edges},
                label,
                {"color": color, "op": opacity},
            )
        )
        return self

    def bars(
        self,
        names: Sequence[str],
        heights: Sequence[float],
        *,
        notes: Sequence[str] | None = None,
        color: int | str = 0,
    ) -> Chart:
        """One bar per category ``names[i]`` of height ``heights[i]``, ``notes[i]`` above it."""
        self.categories = [str(n) for n in names]
        h = np.asarray(heights, dtype=np.float64)
        data = {"x": np.arange(len(h), dtype=np.float64), "h": h, "notes": list(notes or [])}
        self.items.append(_Item("bars", data, None, {"color": color}))
        return self

    # -- drawing --------------------------------------------------------------------------------
    def _limits(self) -> tuple[tuple[float, float], tuple[float, float]]:
        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        for it in self.items:
            d = it.data
            if it.kind in ("scatter", "line"):
                xs.append(d["x"])
                ys.append(d["y"])
            elif it.kind == "errorbars":
                xs.append(d["x"])
                ys += [d["lo"], d["hi"]]
            elif it.kind == "hist":
                xs.append(d["edges"])
                ys.append(np.append(d["counts"], 0.0))
            elif it.kind == "bars":
                xs.append(np.array([-0.6, len(d["h"]) - 0.4]))
                ys.append(np.append(d["h"], 0.0))
            elif it.kind == "vline":
                xs.append(np.array([d["x"]]))
            elif it.kind == "hline":
                ys.append(np.array([d["y"]]))
        return (
            self.xlim or _span(xs, zero_based=False),
            self.ylim or _span(ys, zero_based=any(i.kind in ("hist", "bars") for i in self.items)),
        )

    def svg(self) -> str:
        """The chart as one ``<svg>`` element (UTF-8 text)."""
        (x0, x1), (y0, y1) = self._limits()
        left, right, top, bottom = 62.0, 14.0, 30.0, 46.0
        pw, ph = self.width - left - right, self.height - top - bottom

        def sx(v: Any) -> Any:
            return left + (np.asarray(v, dtype=np.float64) - x0) / (x1 - x0) * pw

        def sy(v: Any) -> Any:
            return top + ph - (np.asarray(v, dtype=np.float64) - y0) / (y1 - y0) * ph

        clip = f"molfit-clip-{next(_CLIP_IDS)}"
        out = [
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{self.width}' height='{self.height}' "
            f"viewBox='0 0 {self.width} {self.height}' role='img' "
            f"aria-label='{html.escape(self.title, quote=True)}' {_FONT} font-size='11'>",
            f"<defs><clipPath id='{clip}'><rect x='{left}' y='{top}' width='{pw}' height='{ph}'/>"
            "</clipPath></defs>",
            f"<rect x='{left}' y='{top}' width='{pw}' height='{ph}' fill='white' stroke='#333'/>",
        ]
        out += self._ticks(x0, x1, y0, y1, sx, sy, left, top, pw, ph)
        out.append(f"<g clip-path='url(#{clip})'>")
        for it in self.items:
            out += self._draw(it, sx, sy, y0, y1, x0, x1)
        out.append("</g>")
        out += self._texts(left, top, pw, ph)
        out += self._legend(left, top, pw, ph)
        out.append("</svg>")
        return "".join(out)

    def _ticks(self, x0, x1, y0, y1, sx, sy, left, top, pw, ph) -> list[str]:  # type: ignore[no-untyped-def]
        out = []
        if self.categories is not None:
            for k, name in enumerate(self.categories):
                px = float(sx(k))
                out.append(
                    f"<text x='{px:.1f}' y='{top + ph + 15:.1f}' text-anchor='middle'>"
                    f"{html.escape(name)}</text>"
                )
        else:
            xt = nice_ticks(x0, x1)
            step = xt[1] - xt[0] if len(xt) > 1 else 1.0
            for v in xt:
                px = float(sx(v))
                out.append(
                    f"<line x1='{px:.1f}' y1='{top + ph}' x2='{px:.1f}' y2='{top + ph + 4}' "
                    "stroke='#333'/>"
                    f"<text x='{px:.1f}' y='{top + ph + 15:.1f}' text-anchor='middle'>"
                    f"{tick_label(v, step)}</text>"
                )
        yt = nice_ticks(y0, y1)
        step = yt[1] - yt[0] if len(yt) > 1 else 1.0
        for v in yt:
            py = float(sy(v))
            out.append(
                f"<line x1='{left - 4}' y1='{py:.1f}' x2='{left}' y2='{py:.1f}' stroke='#333'/>"
                f"<text x='{left - 6}' y='{py + 3.5:.1f}' text-anchor='end'>"
                f"{tick_label(v, step)}</text>"
            )
        return out

    def _draw(self, it: _Item, sx, sy, y0, y1, x0, x1) -> list[str]:  # type: ignore[no-untyped-def]
        d, s = it.data, it.style
        c = colour(s.get("color", 0))
        if it.kind == "scatter":
            r, op = s["size"], s["op"]
            xy = zip(sx(d["x"]), sy(d["y"]), strict=True)
            dots = "".join(f"<circle cx='{a:.1f}' cy='{b:.1f}' r='{r}'/>" for a, b in xy)
            return [f"<g fill='{c}' fill-opacity='{op}'>{dots}</g>"]
        if it.kind == "line":
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(sx(d["x"]), sy(d["y"]), strict=True))
            dash = " stroke-dasharray='5,4'" if s["dash"] else ""
            out = [
                f"<polyline points='{pts}' fill='none' stroke='{c}' "
                f"stroke-width='{s['width']}'{dash}/>"
            ]
            if s["markers"]:
                out.append(
                    f"<g fill='{c}'>"
                    + "".join(
                        f"<circle cx='{a:.1f}' cy='{b:.1f}' r='2.5'/>"
                        for a, b in zip(sx(d["x"]), sy(d["y"]), strict=True)
                    )
                    + "</g>"
                )
            return out
        if it.kind == "errorbars":
            segs = "".join(
                f"M{a:.1f} {lo:.1f}V{hi:.1f}"
                for a, lo, hi in zip(sx(d["x"]), sy(d["lo"]), sy(d["hi"]), strict=True)
            )
            return [f"<path d='{segs}' stroke='{c}' stroke-width='0.7' fill='none'/>"]
        if it.kind in ("vline", "hline"):
            if it.kind == "vline":
                a = float(sx(d["x"]))
                seg = f"x1='{a:.1f}' x2='{a:.1f}' y1='{float(sy(y0)):.1f}' y2='{float(sy(y1)):.1f}'"
            else:
                b = float(sy(d["y"]))
                seg = f"y1='{b:.1f}' y2='{b:.1f}' x1='{float(sx(x0)):.1f}' x2='{float(sx(x1)):.1f}'"
            return [f"<line {seg} stroke='{c}' stroke-dasharray='5,4'/>"]
        if it.kind == "hist":
            edges, counts = d["edges"], d["counts"]
            base = float(sy(0.0))
            rects = []
            for k, n in enumerate(counts):
                if n <= 0:
                    continue
                xa, xb, yt = float(sx(edges[k])), float(sx(edges[k + 1])), float(sy(n))
                rects.append(
                    f"<rect x='{xa:.1f}' y='{yt:.1f}' width='{max(xb - xa, 0.5):.1f}' "
                    f"height='{max(base - yt, 0.0):.1f}'/>"
                )
            return [f"<g fill='{c}' fill-opacity='{s['op']}'>{''.join(rects)}</g>"]
        if it.kind == "bars":
            base = float(sy(0.0))
            out = []
            half = (float(sx(0.4)) - float(sx(0.0))) if len(d["h"]) else 0.0
            for k, h in enumerate(d["h"]):
                if not math.isfinite(h):
                    continue
                xm, yt = float(sx(k)), float(sy(h))
                out.append(
                    f"<rect x='{xm - half:.1f}' y='{yt:.1f}' width='{2 * half:.1f}' "
                    f"height='{max(base - yt, 0.0):.1f}' fill='{c}'/>"
                )
                if k < len(d["notes"]):
                    out.append(
                        f"<text x='{xm:.1f}' y='{yt - 3:.1f}' text-anchor='middle' "
                        f"font-size='9'>{html.escape(d['notes'][k])}</text>"
                    )
            return out
        raise ValueError(f"unknown chart item {it.kind!r}")

    def _texts(self, left: float, top: float, pw: float, ph: float) -> list[str]:
        title = self.title + (f" ({'; '.join(self.notes)})" if self.notes else "")
        out = []
        if title:
            out.append(
                f"<text x='{left + pw / 2:.1f}' y='18' text-anchor='middle' font-size='12.5'>"
                f"{html.escape(title)}</text>"
            )
        if self.xlabel:
            out.append(
                f"<text x='{left + pw / 2:.1f}' y='{top + ph + 34:.1f}' text-anchor='middle'>"
                f"{html.escape(self.xlabel)}</text>"
            )
        if self.ylabel:
            cy = top + ph / 2
            turn = f"rotate(-90 14 {cy:.1f})"
            out.append(
                f"<text x='14' y='{cy:.1f}' text-anchor='middle' transform='{turn}'>"
                f"{html.escape(self.ylabel)}</text>"
            )
        return out

    def _legend(self, left: float, top: float, pw: float, ph: float) -> list[str]:
        entries = [it for it in self.items if it.label]
        if not entries or self.legend is None:
            return []
        row, box_w = 15.0, 12.0 + 6.2 * max(len(it.label or "") for it in entries) + 22.0
        box_h = row * len(entries) + 6
        x = left + 6 if "left" in self.legend else left + pw - box_w - 6
        y = top + 6 if "upper" in self.legend else top + ph - box_h - 6
        out = [
            f"<rect x='{x:.1f}' y='{y:.1f}' width='{box_w:.1f}' height='{box_h:.1f}' "
            "fill='white' fill-opacity='0.85' stroke='#ccc'/>"
        ]
        for k, it in enumerate(entries):
            c = colour(it.style.get("color", 0))
            cy = y + 3 + row * (k + 0.5)
            if it.kind in ("scatter",):
                mark = f"<circle cx='{x + 12:.1f}' cy='{cy:.1f}' r='3' fill='{c}'/>"
            elif it.kind == "hist":
                mark = (
                    f"<rect x='{x + 6:.1f}' y='{cy - 4:.1f}' width='12' height='8' fill='{c}' "
                    f"fill-opacity='{it.style['op']}'/>"
                )
            else:
                dash = (
                    " stroke-dasharray='4,3'"
                    if it.kind in ("vline", "hline") or it.style.get("dash")
                    else ""
                )
                mark = (
                    f"<line x1='{x + 4:.1f}' x2='{x + 20:.1f}' y1='{cy:.1f}' y2='{cy:.1f}' "
                    f"stroke='{c}' stroke-width='1.5'{dash}/>"
                )
            out.append(
                mark + f"<text x='{x + 26:.1f}' y='{cy + 3.5:.1f}' font-size='10'>"
                f"{html.escape(it.label or '')}</text>"
            )
        return out


def _finite_pairs(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {x.shape[0]} and {y.shape[0]}")
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def _span(arrays: list[np.ndarray], zero_based: bool) -> tuple[float, float]:
    values = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays] or [[]])
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.04 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    if zero_based and lo < 0 <= lo + pad:
        lo = 0.0
    return lo, hi


def side_by_side(*charts: Chart) -> str:
    """Several charts in one row, as one ``<svg>`` (the ROC and precision–recall pair)."""
    width = sum(c.width for c in charts)
    height = max(c.height for c in charts)
    parts, x = [], 0
    for c in charts:
        parts.append(f"<g transform='translate({x} 0)'>{c.svg()}</g>")
        x += c.width
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}'>" + "".join(parts) + "</svg>"
    )
