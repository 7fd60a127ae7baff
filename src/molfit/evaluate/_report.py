"""``report.html``: one self-contained page (plots as base64 PNG) describing a training run."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from molfit.evaluate._metrics import regression_calibration_curve
from molfit.models import Prediction


def _subplots(*grid: int, figsize: tuple[float, float]) -> tuple[Any, Any]:
    """A figure drawn by the Agg canvas alone: pyplot's global backend is never touched, so
    importing or using molfit leaves a user's matplotlib set-up as it was."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _labelled(y: np.ndarray, *arrays: np.ndarray) -> list[np.ndarray]:
    keep = np.isfinite(y)
    for a in arrays:
        keep &= np.isfinite(a)
    return [y[keep]] + [a[keep] for a in arrays]


def regression_figures(y: np.ndarray, pred: Prediction, t: int, unit: str) -> dict[str, str]:
    """Parity plot (with intervals), calibration curve, error vs similarity for task ``t``."""
    col = (lambda a: a) if pred.n_tasks == 1 else (lambda a: a[:, t])
    mean, lower, upper = col(pred.mean), col(pred.lower), col(pred.upper)
    yt, m, lo, hi, sim = _labelled(y, mean, lower, upper, pred.similarity)
    figs = {}
    fig, ax = _subplots(figsize=(4.5, 4.5))
    ax.errorbar(yt, m, yerr=[m - lo, hi - m], fmt="none", ecolor="0.8", lw=0.6, zorder=1)
    inside = (yt >= lo) & (yt <= hi)
    ax.scatter(yt[inside], m[inside], s=8, c="C0", label="inside interval", zorder=2)
    ax.scatter(yt[~inside], m[~inside], s=8, c="C3", label="outside interval", zorder=3)
    span = [min(yt.min(), m.min()), max(yt.max(), m.max())]
    ax.plot(span, span, "k--", lw=0.8)
    ax.set(xlabel=f"measured {unit}", ylabel=f"predicted {unit}", title="Parity (test)")
    _few_ticks(ax)
    ax.legend(fontsize=8)
    figs["Parity plot"] = _png(fig)
    if pred.std is not None:
        s = _labelled(y, mean, col(pred.std))
        exp, obs = regression_calibration_curve(s[0], s[1], s[2])
        fig, ax = _subplots(figsize=(4.5, 4.5))
        ax.plot(exp, obs, "o-", ms=3, label="model std (Gaussian)")
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        ax.axvline(pred.coverage or 0.9, color="0.7", lw=0.6)
        cov = inside.mean()
        ax.plot([pred.coverage], [cov], "r*", ms=12, label=f"conformal interval: {cov:.2f}")
        ax.set(xlabel="expected coverage", ylabel="observed coverage", title="Calibration")
        ax.legend(fontsize=8)
        figs["Calibration curve"] = _png(fig)
    fig, ax = _subplots(figsize=(4.5, 3.5))
    ax.scatter(sim, np.abs(yt - m), s=8)
    ax.set(xlabel="max Tanimoto similarity to train", ylabel=f"|error| {unit}")
    ax.set_title("Error vs similarity to training set")
    figs["Error vs similarity"] = _png(fig)
    return figs


def classification_figures(y: np.ndarray, pred: Prediction, t: int) -> dict[str, str]:
    """ROC and PR curves, reliability diagram, error vs similarity for task ``t``."""
    proba = pred.proba if pred.n_tasks == 1 else pred.proba[:, t]
    yt, p, sim = _labelled(y, proba, pred.similarity)
    yt = yt.astype(int)
    figs = {}
    if len(np.unique(yt)) == 2:
        fig, axes = _subplots(1, 2, figsize=(9, 4))
        fpr, tpr, _ = roc_curve(yt, p)
        axes[0].plot(fpr, tpr)
        axes[0].plot([0, 1], [0, 1], "k--", lw=0.8)
        axes[0].set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
        prec, rec, _ = precision_recall_curve(yt, p)
        axes[1].plot(rec, prec)
        axes[1].axhline(yt.mean(), color="k", ls="--", lw=0.8)
        axes[1].set(xlabel="recall", ylabel="precision", title="Precision-recall")
        figs["ROC and PR curves"] = _png(fig)
    bins = np.linspace(0, 1, 11)
    idx = np.minimum(np.digitize(p, bins) - 1, 9)
    centres, freq = [], []
    for b in range(10):
        if (idx == b).any():
            centres.append(p[idx == b].mean())
            freq.append(yt[idx == b].mean())
    fig, ax = _subplots(figsize=(4.5, 4.5))
    ax.plot(centres, freq, "o-")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set(xlabel="predicted P(1)", ylabel="observed frequency", title="Calibration (reliability)")
    figs["Calibration curve"] = _png(fig)
    fig, ax = _subplots(figsize=(4.5, 3.5))
    ax.scatter(sim, np.abs(yt - p), s=8)
    ax.set(xlabel="max Tanimoto similarity to train", ylabel="|y - P(1)|")
    ax.set_title("Error vs similarity to training set")
    figs["Error vs similarity"] = _png(fig)
    return figs


def parity_figures(
    y: np.ndarray, mean: np.ndarray, std: np.ndarray | None, unit: str
) -> dict[str, str]:
    """Parity plot (with ±std bars for an ensemble) and error histogram, as base64 PNG."""
    keep = np.isfinite(y) & np.isfinite(mean)
    yt, m = y[keep], mean[keep]
    label = f"[{unit}]" if unit else ""
    figs = {}
    fig, ax = _subplots(figsize=(4.5, 4.5))
    if std is not None:
        ax.errorbar(yt, m, yerr=std[keep], fmt="none", ecolor="0.75", lw=0.6, zorder=1)
    ax.scatter(yt, m, s=8, c="C0", zorder=2)
    span = [min(yt.min(), m.min()), max(yt.max(), m.max())]
    ax.plot(span, span, "k--", lw=0.8)
    ax.set(xlabel=f"reference {label}", ylabel=f"predicted {label}", title="Parity (test)")
    _few_ticks(ax)
    figs["Parity plot"] = _png(fig)
    err = m - yt
    scale, unit_e = (1000.0, "meV") if unit == "eV" else (1.0, unit)
    fig, ax = _subplots(figsize=(4.5, 3.5))
    ax.hist(err * scale, bins=40)
    ax.set(xlabel=f"predicted − reference [{unit_e}]", ylabel="molecules", title="Test errors")
    figs["Error histogram"] = _png(fig)
    if std is not None and np.isfinite(std[keep]).any():
        exp, obs = regression_calibration_curve(yt, m, std[keep])
        fig, ax = _subplots(figsize=(4.5, 4.5))
        ax.plot(exp, obs, "o-", ms=3, label="ensemble std (Gaussian)")
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        ax.set(xlabel="expected coverage", ylabel="observed coverage", title="Calibration")
        ax.legend(fontsize=8)
        figs["Calibration curve"] = _png(fig)
    return figs


def force_figures(numbers: np.ndarray, reference: np.ndarray, predicted: np.ndarray
                  ) -> dict[str, str]:  # fmt: skip
    """Force parity plot (every Cartesian component, coloured by element) and per-element force
    MAE bars, as base64 PNG; forces ``(n_atoms, 3)`` eV/Å, ``numbers`` ``(n_atoms,)``."""
    from ase.data import chemical_symbols

    from molfit.evaluate._metrics import force_metrics

    numbers = np.asarray(numbers)
    ref = np.asarray(reference, dtype=float).reshape(-1, 3)
    pred = np.asarray(predicted, dtype=float).reshape(-1, 3)
    keep = np.isfinite(ref).all(axis=1) & np.isfinite(pred).all(axis=1)
    figs = {}
    fig, ax = _subplots(figsize=(4.5, 4.5))
    for k, element in enumerate(sorted(set(numbers[keep].tolist()))):
        sel = keep & (numbers == element)
        ax.scatter(ref[sel].ravel(), pred[sel].ravel(), s=3, alpha=0.5, c=f"C{k}",
                   label=chemical_symbols[element])  # fmt: skip
    span = [np.nanmin(ref[keep]), np.nanmax(ref[keep])] if keep.any() else [0.0, 1.0]
    ax.plot(span, span, "k--", lw=0.8)
    ax.set(xlabel="reference force [eV/Å]", ylabel="predicted force [eV/Å]",
           title="Force parity (test, all components)")  # fmt: skip
    ax.legend(fontsize=8, markerscale=3)
    _few_ticks(ax)
    figs["Force parity plot"] = _png(fig)
    per = force_metrics(numbers, ref, pred)["forces_per_element"]
    fig, ax = _subplots(figsize=(4.5, 3.5))
    names = list(per)
    ax.bar(names, [per[n]["mae_meV_per_A"] for n in names], color="C0")
    for x, n in enumerate(names):
        ax.annotate(f"{per[n]['n_atoms']} atoms", (x, per[n]["mae_meV_per_A"]), ha="center",
                    va="bottom", fontsize=7)  # fmt: skip
    ax.set(ylabel="force MAE [meV/Å]", title="Force error per element (test)")
    figs["Force error per element"] = _png(fig)
    return figs


def _few_ticks(ax: Any) -> None:
    """At most five ticks per axis so that long tick labels (total energies in eV) never overlap."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))


def leakage_figure(
    similarity: dict[str, np.ndarray],
    threshold: float | None,
    fingerprint: str = "ECFP6/1024",
) -> str:
    """Histograms of each part's max similarity to the training set.

    ``fingerprint`` names the fingerprint the similarities were computed with; it is printed on
    the axis, next to the split-leakage table's own ``fingerprint`` entry.
    """
    fig, ax = _subplots(figsize=(6, 3.5))
    bins = np.linspace(0, 1, 41)
    for name, values in similarity.items():
        v = np.asarray(values, float)
        ax.hist(v[np.isfinite(v)], bins=bins, alpha=0.5, density=True, label=name)
    if threshold is not None:
        ax.axvline(threshold, color="k", ls="--", lw=0.8, label="domain threshold")
    ax.set(xlabel=f"max Tanimoto similarity to train ({fingerprint})", ylabel="density")
    ax.set_title("Split leakage: how close valid/test molecules are to train")
    ax.legend(fontsize=8)
    return _png(fig)


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
    """Write a self-contained HTML report (figures are base64 PNG strings)."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>",
        "body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}",
        "table{border-collapse:collapse;margin:0.5em 0}th,td{border:1px solid #ccc;",
        "padding:3px 8px;text-align:left;font-size:90%}img{max-width:100%}",
        "pre.json{white-space:pre-wrap;word-break:break-all;margin:0;font-size:90%}",
        "</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Run</h2>",
        _table(summary),
    ]
    for name, block in metrics.items():
        parts += [f"<h2>Metrics: {html.escape(name)}</h2>", _table(block)]
    for name, png in figures.items():
        parts += [f"<h2>{html.escape(name)}</h2>", f"<img alt='{html.escape(name)}' "]
        parts += [f"src='data:image/png;base64,{png}'>"]
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
