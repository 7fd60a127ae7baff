"""``summary.html``: one self-contained page (inline SVG and CSS, no scripts, no external
resources) with each model's score distribution, the in-domain fraction, and the top hits drawn
by RDKit with their score and σ."""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

N_BINS = 30
N_DRAWN = 24


@dataclass
class ModelPanel:
    """What the page shows for one model.

    Attributes:
        label: the model's name (its run directory's name).
        score_column: what its score is (``probability`` or a prediction with its unit).
        counts: histogram counts of the score over predicted rows, ``(N_BINS,)``.
        edges: histogram bin edges, ``(N_BINS + 1,)``.
        n_predicted: rows it predicted.
        n_in_domain: of those, rows inside its applicability domain.
        direction: ``"max"`` or ``"min"`` (what ranks first).
    """

    label: str
    score_column: str
    counts: np.ndarray
    edges: np.ndarray
    n_predicted: int
    n_in_domain: int
    direction: str = "max"


def histogram(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(counts, edges)`` of the finite scores in :data:`N_BINS` equal bins."""
    finite = scores[np.isfinite(scores)]
    if not len(finite):
        return np.zeros(N_BINS, dtype=np.int64), np.linspace(0.0, 1.0, N_BINS + 1)
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return np.histogram(finite, bins=N_BINS, range=(lo, hi))


def _histogram_svg(panel: ModelPanel, width: int = 420, height: int = 160) -> str:
    counts = np.asarray(panel.counts, dtype=np.float64)
    top = max(float(counts.max()), 1.0)
    pad_left, pad_bottom = 8, 22
    plot_w, plot_h = width - 2 * pad_left, height - pad_bottom - 6
    bar_w = plot_w / len(counts)
    bars = []
    for i, c in enumerate(counts):
        h = plot_h * c / top
        x = pad_left + i * bar_w
        lo, hi = panel.edges[i], panel.edges[i + 1]
        bars.append(
            f'<rect x="{x:.1f}" y="{6 + plot_h - h:.1f}" width="{max(bar_w - 1, 0.5):.1f}" '
            f'height="{h:.1f}" fill="#3b6ea5"><title>{lo:.3g} to {hi:.3g}: {int(c)}</title></rect>'
        )
    y = height - 6
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="score distribution of {html.escape(panel.label)}">'
        + "".join(bars)
        + f'<line x1="{pad_left}" y1="{6 + plot_h}" x2="{width - pad_left}" y2="{6 + plot_h}" '
        'stroke="#444"/>'
        f'<text x="{pad_left}" y="{y}" font-size="11">{panel.edges[0]:.3g}</text>'
        f'<text x="{width - pad_left}" y="{y}" font-size="11" text-anchor="end">'
        f"{panel.edges[-1]:.3g}</text>"
        f'<text x="{width / 2}" y="{y}" font-size="11" text-anchor="middle">'
        f"{html.escape(panel.score_column)} (max bar {int(top)})</text></svg>"
    )


def molecule_svg(smiles: str, width: int = 220, height: int = 170) -> str:
    """RDKit's 2D drawing of ``smiles`` as an inline SVG (an empty box if it does not parse)."""
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    mol = Chem.MolFromSmiles(smiles) if smiles else None
    if mol is None:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"></svg>'
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    text = drawer.GetDrawingText()
    return text[text.index("<svg") :]  # drop the XML declaration: the SVG sits inside HTML


def _sigma_columns(hits: pd.DataFrame) -> list[str]:
    """The calibrated σ columns (``std``, ``target_std``, with a unit; not ``raw_std``)."""
    out = []
    for c in hits.columns:
        base = str(c).split("/")[-1].split(" [")[0]
        if base == "std" or (base.endswith("_std") and not base.endswith("raw_std")):
            out.append(str(c))
    return out


def _fmt(value: object) -> str:
    if isinstance(value, float | np.floating):
        return "–" if not np.isfinite(value) else f"{float(value):.3g}"
    return html.escape(str(value))


def render(
    title: str,
    panels: Sequence[ModelPanel],
    hits: pd.DataFrame,
    counts: dict[str, object],
    score_columns: Sequence[str],
) -> str:
    """The page as a string. ``hits``: ``top.csv``'s rows (the first :data:`N_DRAWN` drawn);
    ``score_columns``: the hit columns shown under each drawing (σ columns are added)."""
    sigma = _sigma_columns(hits)
    cards = []
    for _, hit in hits.head(N_DRAWN).iterrows():
        lines = [f"<b>#{int(hit['rank'])}</b> row {int(hit['row'])}"]
        if str(hit.get("name", "")) not in ("", "nan"):
            lines.append(html.escape(str(hit["name"])))
        for column in [*score_columns, *sigma]:
            if column in hit.index:
                label = "σ" if column in sigma and "/" not in column else column
                lines.append(f"{html.escape(label)}: {_fmt(hit[column])}")
        cards.append(
            '<figure class="hit">'
            + molecule_svg(str(hit["smiles"]))
            + "<figcaption>"
            + "<br>".join(lines)
            + f"<br><code>{html.escape(str(hit['smiles']))}</code></figcaption></figure>"
        )
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{_fmt(v)}</td></tr>" for k, v in counts.items()
    )
    models = []
    for p in panels:
        fraction = p.n_in_domain / p.n_predicted if p.n_predicted else float("nan")
        first = "highest" if p.direction == "max" else "lowest"
        models.append(
            f"<section><h3>{html.escape(p.label)} ({first} first)</h3>{_histogram_svg(p)}"
            f"<p>in domain: {p.n_in_domain:,} of {p.n_predicted:,} predicted "
            f"(<b>{_fmt(fraction * 100)} %</b>)</p></section>"
        )
    style = (
        "body{font-family:sans-serif;margin:1.5em;color:#222}"
        "table{border-collapse:collapse}th,td{padding:2px 10px;text-align:left;"
        "border-bottom:1px solid #ddd}.models{display:flex;flex-wrap:wrap;gap:2em}"
        ".hits{display:flex;flex-wrap:wrap;gap:12px}.hit{margin:0;border:1px solid #ccc;"
        "padding:4px;width:228px;font-size:12px}.hit code{word-break:break-all;font-size:10px}"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{style}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><table>{rows}</table>"
        f'<h2>Scores and applicability domain</h2><div class="models">{"".join(models)}</div>'
        f"<h2>Top hits ({min(len(hits), N_DRAWN)} of {len(hits)} in top.csv)</h2>"
        f'<div class="hits">{"".join(cards)}</div></body></html>'
    )


def write_report(path: Path, page: str) -> Path:
    """Write ``page`` to ``path`` atomically (a temporary file renamed into place)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(page)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path
