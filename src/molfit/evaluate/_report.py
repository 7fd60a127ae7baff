"""``report.html``: one self-contained page (plots as inline SVG, see :mod:`._svg`) describing a
training run."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from molfit.evaluate._metrics import regression_calibration_curve
from molfit.evaluate._svg import Chart, side_by_side
from molfit.models import Prediction


def _labelled(y: np.ndarray, *arrays: np.ndarray) -> list[np.ndarray]:
    keep = np.isfinite(y)
    for a in arrays:
        keep &= np.isfinite(a)
    return [y[keep]] + [a[keep] for a in arrays]


def _diagonal(chart: Chart, *arrays: np.ndarray) -> None:
    """The ``y = x`` line across the joint range of ``arrays``, and equal axis limits."""
    values = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])
    values = values[np.isfinite(values)]
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.04 * (hi - lo)
    chart.xlim = chart.ylim = (lo - pad, hi + pad)
    chart.line([lo - pad, hi + pad], [lo - pad, hi + pad], color="#000", width=0.8, dash=True)


def regression_figures(y: np.ndarray, pred: Prediction, t: int, unit: str) -> dict[str, str]:
    """Parity plot (with intervals), calibration curve, error vs similarity for task ``t``, as
    inline SVG."""
    col = (lambda a: a) if pred.n_tasks == 1 else (lambda a: a[:, t])
    mean, lower, upper = col(pred.mean), col(pred.lower), col(pred.upper)
    yt, m, lo, hi, sim = _labelled(y, mean, lower, upper, pred.similarity)
    figs = {}
    inside = (yt >= lo) & (yt <= hi)
    chart = Chart(title="Parity (test)", xlabel=f"measured {unit}", ylabel=f"predicted {unit}")
    chart.errorbars(yt, lo, hi)
    _diagonal(chart, yt, m)
    chart.scatter(yt[inside], m[inside], color=0, label="inside interval")
    chart.scatter(yt[~inside], m[~inside], color=3, label="outside interval")
    figs["Parity plot"] = chart.svg()
    if pred.std is not None:
        s = _labelled(y, mean, col(pred.std))
        exp, obs = regression_calibration_curve(s[0], s[1], s[2])
        chart = Chart(
            title="Calibration",
            xlabel="expected coverage",
            ylabel="observed coverage",
            xlim=(0.0, 1.0),
            ylim=(0.0, 1.02),
        )
        chart.line([0, 1], [0, 1], color="#000", width=0.8, dash=True)
        chart.vline(pred.coverage or 0.9, color="#b3b3b3")
        chart.line(exp, obs, color=0, markers=True, label="model std (Gaussian)")
        cov = float(inside.mean()) if len(inside) else float("nan")
        chart.scatter(
            [pred.coverage or 0.9], [cov], color=3, size=5, label=f"conformal interval: {cov:.2f}"
        )
        figs["Calibration curve"] = chart.svg()
    chart = Chart(
        height=320,
        title="Error vs similarity to training set",
        xlabel="max Tanimoto similarity to train",
        ylabel=f"|error| {unit}",
        legend=None,
    )
    chart.scatter(sim, np.abs(yt - m))
    figs["Error vs similarity"] = chart.svg()
    return figs


def classification_figures(y: np.ndarray, pred: Prediction, t: int) -> dict[str, str]:
    """ROC and PR curves, reliability diagram, error vs similarity for task ``t``, as inline
    SVG."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    proba = pred.proba if pred.n_tasks == 1 else pred.proba[:, t]
    yt, p, sim = _labelled(y, proba, pred.similarity)
    yt = yt.astype(int)
    figs = {}
    unit_box = {"xlim": (0.0, 1.0), "ylim": (0.0, 1.02)}
    if len(np.unique(yt)) == 2:
        fpr, tpr, _ = roc_curve(yt, p)
        roc = Chart(
            title="ROC",
            xlabel="false positive rate",
            ylabel="true positive rate",
            legend=None,
            **unit_box,
        )
        roc.line([0, 1], [0, 1], color="#000", width=0.8, dash=True).line(fpr, tpr)
        prec, rec, _ = precision_recall_curve(yt, p)
        pr = Chart(
            title="Precision-recall", xlabel="recall", ylabel="precision", legend=None, **unit_box
        )
        pr.hline(float(yt.mean())).line(rec, prec)
        figs["ROC and PR curves"] = side_by_side(roc, pr)
    bins = np.linspace(0, 1, 11)
    idx = np.minimum(np.digitize(p, bins) - 1, 9)
    centres, freq = [], []
    for b in range(10):
        if (idx == b).any():
            centres.append(p[idx == b].mean())
            freq.append(yt[idx == b].mean())
    chart = Chart(
        title="Calibration (reliability)",
        xlabel="predicted P(1)",
        ylabel="observed frequency",
        legend=None,
        **unit_box,
    )
    chart.line([0, 1], [0, 1], color="#000", width=0.8, dash=True)
    chart.line(centres, freq, markers=True)
    figs["Calibration curve"] = chart.svg()
    chart = Chart(
        height=320,
        title="Error vs similarity to training set",
        xlabel="max Tanimoto similarity to train",
        ylabel="|y − P(1)|",
        legend=None,
    )
    chart.scatter(sim, np.abs(yt - p))
    figs["Error vs similarity"] = chart.svg()
    return figs


def parity_figures(
    y: np.ndarray, mean: np.ndarray, std: np.ndarray | None, unit: str
) -> dict[str, str]:
    """Parity plot (with ±std bars for an ensemble) and error histogram, as inline SVG."""
    keep = np.isfinite(y) & np.isfinite(mean)
    yt, m = y[keep], mean[keep]
    label = f"[{unit}]" if unit else ""
    figs = {}
    chart = Chart(
        title="Parity (test)", xlabel=f"reference {label}", ylabel=f"predicted {label}", legend=None
    )
    if std is not None:
        chart.errorbars(yt, m - std[keep], m + std[keep])
    _diagonal(chart, yt, m)
    chart.scatter(yt, m)
    figs["Parity plot"] = chart.svg()
    err = m - yt
    scale, unit_e = (1000.0, "meV") if unit == "eV" else (1.0, unit)
    chart = Chart(
        height=320,
        title="Test errors",
        xlabel=f"predicted − reference [{unit_e}]",
        ylabel="molecules",
        legend=None,
    )
    chart.hist(err * scale, bins=40, opacity=1.0)
    figs["Error histogram"] = chart.svg()
    if std is not None and np.isfinite(std[keep]).any():
        exp, obs = regression_calibration_curve(yt, m, std[keep])
        chart = Chart(
            title="Calibration",
            xlabel="expected coverage",
            ylabel="observed coverage",
            xlim=(0.0, 1.0),
            ylim=(0.0, 1.02),
        )
        chart.line([0, 1], [0, 1], color="#000", width=0.8, dash=True)
        chart.line(exp, obs, markers=True, label="ensemble std (Gaussian)")
        figs["Calibration curve"] = chart.svg()
    return figs


def force_figures(
    numbers: np.ndarray, reference: np.ndarray, predicted: np.ndarray
) -> dict[str, str]:
    """Force parity plot (every Cartesian component, coloured by element) and per-element force
    MAE bars, as inline SVG; forces ``(n_atoms, 3)`` eV/Å, ``numbers`` ``(n_atoms,)``."""
    from ase.data import chemical_symbols

    from molfit.evaluate._metrics import force_metrics

    numbers = np.asarray(numbers)
    ref = np.asarray(reference, dtype=float).reshape(-1, 3)
    pred = np.asarray(predicted, dtype=float).reshape(-1, 3)
    keep = np.isfinite(ref).all(axis=1) & np.isfinite(pred).all(axis=1)
    figs = {}
    chart = Chart(
        title="Force parity (test, all components)",
        xlabel="reference force [eV/Å]",
        ylabel="predicted force [eV/Å]",
        max_points=3000,
    )
    _diagonal(chart, ref[keep], pred[keep])
    for k, element in enumerate(sorted(set(numbers[keep].tolist()))):
        sel = keep & (numbers == element)
        chart.scatter(
            ref[sel].ravel(),
            pred[sel].ravel(),
            size=1.5,
            opacity=0.5,
            color=k,
            label=chemical_symbols[element],
        )
    figs["Force parity plot"] = chart.svg()
    per = force_metrics(numbers, ref, pred)["forces_per_element"]
    names = list(per)
    chart = Chart(
        height=320, title="Force error per element (test)", ylabel="force MAE [meV/Å]", legend=None
    )
    chart.bars(
        names,
        [per[n]["mae_meV_per_A"] for n in names],
        notes=[f"{per[n]['n_atoms']} atoms" for n in names],
    )
    figs["Force error per element"] = chart.svg()
    return figs


def leakage_figure(
    similarity: dict[str, np.ndarray],
    threshold: float | None,
    fingerprint: str = "ECFP6/1024",
) -> str:
    """Histograms of each part's max similarity to the training set, as inline SVG.

    ``fingerprint`` names the fingerprint the similarities were computed with; it is printed on
    the axis, next to the split-leakage table's own ``fingerprint`` entry.
    """
    chart = Chart(
        width=560,
        height=320,
        xlim=(0.0, 1.0),
        legend="upper right",
        title="Split leakage: how close valid/test molecules are to train",
        xlabel=f"max Tanimoto similarity to train ({fingerprint})",
        ylabel="density",
    )
    bins = np.linspace(0, 1, 41)
    for k, (name, values) in enumerate(similarity.items()):
        chart.hist(values, bins, density=True, color=k, label=name)
    if threshold is not None:
        chart.vline(threshold, label="domain threshold")
    return chart.svg()


def _table(rows: dict[str, Any]) -> str:
    cells = []
    for key, value in rows.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        elif isinstance(value, dict | list):
            # rendered whole (never cut), one entry per line, wrapped by the browser
            text = json.dumps(value, default=str, indent=1, sort_keys=True)
            cells.append(
                f"<tr><th>{html.escape(str(key))}</th><td><pre class='json'>"
                f"{html.escape(text)}</pre></td></tr>"
            )
            continue
        cells.append(f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(str(value))}</td></tr>")
    return "<table>" + "".join(cells) + "</table>"


def write_report(
    path: str | Path,
    *,
    title: str,
    summary: dict[str, Any],
    metrics: dict[str, dict[str, Any]],
    figures: dict[str, str],
    leakage: dict[str, Any] | None = None,
) -> Path:
    """Write a self-contained HTML report.

    ``figures``: title -> figure, either an inline ``<svg>`` element (what this module's figure
    functions return) or a base64-encoded PNG."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>",
        "body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}",
        "table{border-collapse:collapse;margin:0.5em 0}th,td{border:1px solid #ccc;",
        "padding:3px 8px;text-align:left;font-size:90%}img,svg{max-width:100%;height:auto}",
        "figure{margin:0}",
        "pre.json{white-space:pre-wrap;word-break:break-all;margin:0;font-size:90%}",
        "</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Run</h2>",
        _table(summary),
    ]
    for name, block in metrics.items():
        parts += [f"<h2>Metrics: {html.escape(name)}</h2>", _table(block)]
    for name, figure in figures.items():
        parts.append(f"<h2>{html.escape(name)}</h2>")
        if figure.lstrip().startswith("<svg"):
            parts.append(f"<figure>{figure}</figure>")
        else:
            parts.append(f"<img alt='{html.escape(name)}' src='data:image/png;base64,{figure}'>")
    if leakage:
        scalars = {k: v for k, v in leakage.items() if not isinstance(v, list | dict)}
        nested = {k: v for k, v in leakage.items() if isinstance(v, dict)}
        parts += ["<h2>Split leakage figures</h2>", _table(scalars)]
        for name, block in nested.items():
            flat = {k: v for k, v in block.items() if not isinstance(v, list)}
            parts += [f"<h3>{html.escape(name)}</h3>", _table(flat)]
    parts.append("</body></html>")
    path = Path(path)
    path.write_text("".join(parts), encoding="utf-8")
    return path
