"""One self-contained HTML report of a :class:`~molfit.trust.Comparison`: the splits side by
side, metrics with confidence intervals, the equally good set, disagreement against similarity
to the training set, and the molecules the equally good models disagree on most, drawn."""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

import numpy as np

from molfit.trust._compare import Comparison


def _png(fig) -> str:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


class _Raw(str):
    """Cell content that is already HTML (a drawing)."""


def _fmt(v: object) -> str:
    if isinstance(v, _Raw):
        return str(v)
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "nan" if np.isnan(v) else f"{v:.4g}"
    return html.escape(str(v))


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _svg(smiles: str) -> str:
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return html.escape(smiles)
    drawer = rdMolDraw2D.MolDraw2DSVG(180, 140)
    drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    svg = drawer.GetDrawingText()
    return svg[svg.find("<svg") :]


def comparison_figure(comparison: Comparison) -> str:
    """Base64 PNG: disagreement (target units) against similarity to the training set, one panel
    per split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(comparison.splits)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.4), squeeze=False)
    for ax, (method, c) in zip(axes[0], comparison.splits.items(), strict=True):
        sim = np.array([m["similarity"] for m in c.molecules])
        dis = np.array([m["disagreement"] for m in c.molecules])
        flag = np.array([m["in_domain"] for m in c.molecules], bool)
        ax.scatter(sim[flag], dis[flag], s=6, alpha=0.5, label="in domain")
        ax.scatter(sim[~flag], dis[~flag], s=8, alpha=0.7, c="tab:red", label="out of domain")
        ax.set_title(f"{method} split")
        ax.set_xlabel("max Tanimoto similarity to training set")
        ax.set_ylabel(
            "disagreement (std of P(class 1))"
            if comparison.task == "classification"
            else f"disagreement ({comparison.unit or 'target units'})"
        )
        ax.legend(fontsize=7)
    fig.tight_layout()
    out = _png(fig)
    plt.close(fig)
    return out


def write_comparison_report(
    comparison: Comparison, path: str | os.PathLike[str], n_molecules: int = 12
) -> Path:
    """Write the HTML report atomically and return its path."""
    unit = f" ({comparison.unit})" if comparison.unit else ""
    cls = comparison.task == "classification"
    key = comparison.primary
    key_name = "ROC-AUC" if cls else "RMSE"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>molfit compare</title><style>body{font-family:sans-serif;max-width:1100px;",
        "margin:2em auto;color:#222}table{border-collapse:collapse;margin:0.5em 0}th,td{",
        "border:1px solid #ccc;padding:3px 8px;font-size:90%}img{max-width:100%}</style>",
        f"</head><body><h1>Model comparison: {html.escape(comparison.target)}{unit}</h1>",
        f"<p>{len(comparison.models)} models, seeds {comparison.seeds}; each seed is one split. ",
        "Confidence intervals are 95 % Student-t over seeds; 'equally good' means the paired ",
        f"t-test of seed-wise {key_name} against the best model gives p ≥ 0.05.",
        " Classification: disagreement is the std of the equally good models' P(class 1); the ",
        "own uncertainty is min(p, 1 − p); the signals are ranked against misclassification.</p>"
        if cls
        else "</p>",
        f"<h2>Splits side by side ({key_name}, mean [95 % CI])</h2>",
    ]
    methods = list(comparison.splits)
    rows = []
    for model in comparison.models:
        row: list[object] = [model]
        for m in methods:
            s = comparison.splits[m].summary()[model]
            star = " *" if s["equally_good"] else ""
            row.append(f"{s[key]:.4g} [{s[key + '_lo']:.4g}, {s[key + '_hi']:.4g}]{star}")
        rows.append(row)
    parts.append(_table(["model", *methods], rows))
    parts.append("<p>* in the equally good set of that split.</p>")
    for m, c in comparison.splits.items():
        parts.append(f"<h2>{html.escape(m)} split</h2>")
        summ = c.summary()
        metrics = ("roc_auc", "pr_auc", "brier") if cls else ("rmse", "mae", "r2")
        names = {"roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "brier": "Brier"}
        names.update({"rmse": "RMSE", "mae": "MAE", "r2": "R²"})
        parts.append(
            _table(
                ["model", *(f"{names[m]} [95 % CI]" for m in metrics), "p vs best", "equally good"],
                [
                    [
                        k,
                        *(f"{v[m]:.4g} [{v[m + '_lo']:.4g}, {v[m + '_hi']:.4g}]" for m in metrics),
                        v["p_vs_best"],
                        v["equally_good"],
                    ]
                    for k, v in summ.items()
                ],
            )
        )
        sig = c.signal_summary()
        own = "min(p, 1 − p)" if cls else "σ"
        parts.append(f"<h3>Is disagreement a better error signal than the model's own {own}?</h3>")
        parts.append(
            f"<p>Spearman correlations with the absolute error of "
            f"{html.escape(c.reference)}, the best model with a{'n' if cls else ''} {own} of its "
            "own.</p>"
        )
        parts.append(_table(["signal", "value"], [[k, v] for k, v in sig.items()]))
        top = sorted(c.molecules, key=lambda r: -r["disagreement"])[:n_molecules]
        parts.append("<h3>Molecules the equally good models disagree on most</h3>")
        parts.append(
            _table(
                [
                    "molecule",
                    "smiles",
                    "y",
                    "best P(class 1)" if cls else "best prediction",
                    "disagreement",
                    "similarity",
                    "in domain",
                ],
                [
                    [
                        _Raw(_svg(r["smiles"])),
                        r["smiles"],
                        r["y"],
                        r["prediction"],
                        r["disagreement"],
                        r["similarity"],
                        r["in_domain"],
                    ]
                    for r in top
                ],
            )
        )
    parts.append("<h2>Disagreement against similarity to the training set</h2>")
    parts.append(
        f"<img alt='disagreement' src='data:image/png;base64,{comparison_figure(comparison)}'>"
    )
    parts.append("</body></html>")
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(parts), encoding="utf-8")
    os.replace(tmp, path)
    return path
