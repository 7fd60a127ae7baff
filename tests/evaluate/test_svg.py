"""The report's SVG charts: ticks, coordinates, clipping ids, subsampling and the report pages."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from molfit.evaluate import leakage_figure, parity_figures, write_report
from molfit.evaluate._svg import Chart, nice_ticks, side_by_side, tick_label

NS = "{http://www.w3.org/2000/svg}"


def _circles(svg: str) -> list[tuple[float, float]]:
    root = ET.fromstring(svg)
    return [(float(c.get("cx")), float(c.get("cy"))) for c in root.iter(f"{NS}circle")]


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0.0, 0.9, [0.0, 0.2, 0.4, 0.6, 0.8]),
        (-1.13, 0.17, [-1.0, -0.8, -0.6, -0.4, -0.2, 0.0]),
        (-10450.0, -10410.0, [-10450.0, -10440.0, -10430.0, -10420.0, -10410.0]),
    ],
)
def test_ticks_are_round_numbers_inside_the_range(lo, hi, expected) -> None:
    ticks = nice_ticks(lo, hi)
    assert ticks == pytest.approx(expected)
    assert all(lo <= t <= hi for t in ticks) and len(ticks) <= 6


def test_tick_labels_carry_the_decimals_of_the_step() -> None:
    assert tick_label(0.25, 0.25) == "0.25"
    assert tick_label(0.5, 0.25) == "0.50"
    assert tick_label(-0.5, 0.5) == "−0.5"
    assert tick_label(1e-17, 0.2) == "0"  # floating-point noise at zero
    assert tick_label(-10440.0, 10.0) == "−10440"


def test_points_land_where_their_data_coordinates_say() -> None:
    chart = Chart(width=400, height=300, xlim=(0.0, 10.0), ylim=(0.0, 5.0))
    chart.scatter([0.0, 10.0, 5.0], [0.0, 5.0, 2.5])
    (ax, ay), (bx, by), (cx, cy) = _circles(chart.svg())
    # plot area: 62 px from the left, 14 from the right, 30 from the top, 46 from the bottom
    assert (ax, ay) == pytest.approx((62.0, 254.0), abs=0.06)
    assert (bx, by) == pytest.approx((386.0, 30.0), abs=0.06)
    assert (cx, cy) == pytest.approx(((ax + bx) / 2, (ay + by) / 2), abs=0.06)


def test_non_finite_points_are_left_out_and_lengths_must_match() -> None:
    chart = Chart().scatter([0.0, np.nan, 2.0, 3.0], [1.0, 1.0, np.inf, 3.0])
    assert len(_circles(chart.svg())) == 2
    with pytest.raises(ValueError, match="differ in length"):
        Chart().scatter([1.0, 2.0], [1.0])


def test_large_scatters_are_subsampled_and_say_so() -> None:
    x = np.arange(12_000, dtype=float)
    svg = Chart(max_points=1000, title="Force parity").scatter(x, x).svg()
    assert len(_circles(svg)) == 1000
    assert "1,000 of 12,000 points drawn" in svg


def test_every_chart_on_a_page_has_its_own_clip_path() -> None:
    ids = set()
    for _ in range(5):  # charts built and dropped one after another, as the report does
        svg = Chart().scatter([0, 1], [0, 1]).svg()
        ids |= set(re.findall(r"clipPath id='([^']+)'", svg))
    assert len(ids) == 5
    pair = side_by_side(Chart().line([0, 1], [0, 1]), Chart().line([0, 1], [1, 0]))
    root = ET.fromstring(pair)  # well-formed XML with both panels inside
    assert len(root.findall(f"{NS}g")) == 2 and root.get("width") == "840"


def test_histogram_bar_heights_follow_the_counts() -> None:
    chart = Chart(ylim=(0.0, 4.0), xlim=(0.0, 3.0), legend=None)
    chart.hist([0.5, 1.5, 1.6, 2.5, 2.6, 2.7, 2.8], bins=[0, 1, 2, 3])
    bars = next(g for g in ET.fromstring(chart.svg()).iter(f"{NS}g") if g.get("fill-opacity"))
    heights = sorted(float(r.get("height")) for r in bars.iter(f"{NS}rect"))
    plot_h = 400 - 30 - 46
    assert heights == pytest.approx([plot_h / 4, plot_h / 2, plot_h], abs=0.1)


def test_report_figures_are_inline_svg_without_matplotlib(tmp_path) -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    figs = parity_figures(y, y + rng.normal(scale=0.1, size=200), np.full(200, 0.1), "eV")
    figs["leakage"] = leakage_figure({"test": rng.uniform(size=50)}, threshold=0.3)
    for name, svg in figs.items():
        ET.fromstring(svg)  # each is one well-formed <svg> element
        assert svg.startswith("<svg"), name
    assert "matplotlib" not in sys.modules or "matplotlib.figure" not in sys.modules
    page = write_report(tmp_path / "r.html", title="t", summary={}, metrics={}, figures=figs)
    text = page.read_text()
    assert text.count("<figure><svg") == len(figs)
    assert "Test errors" in text and "domain threshold" in text
    # a base64 PNG (as older callers pass) is still embedded as an image
    page = write_report(tmp_path / "p.html", title="t", summary={}, metrics={},
                        figures={"png": "iVBORw0KGgo="})  # fmt: skip
    assert "data:image/png;base64,iVBORw0KGgo=" in page.read_text()
