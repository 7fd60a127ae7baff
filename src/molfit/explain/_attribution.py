"""Atom-level attributions for graph-network predictions, drawn as RDKit similarity maps.

Integrated gradients (Sundararajan et al., 2017) on the atom features: with ``x`` the atom feature
matrix of a molecule and the all-zero baseline ``x'``,

.. math::

    a_v = \\sum_f (x_{vf} - x'_{vf}) \\frac{1}{S} \\sum_{s=1}^{S}
          \\frac{\\partial \\hat y(x' + \\alpha_s (x - x'))}{\\partial x_{vf}},
    \\qquad \\alpha_s = (s - \\tfrac12) / S

so each atom ``v`` gets one number in the prediction's units, and ``Σ_v a_v ≈ ŷ(x) - ŷ(x')``
(completeness; the gap shrinks as ``steps`` grows). The ``S`` interpolated copies are run as one
batch. Bond features and molecule descriptors stay at their real values. For an ensemble the
members' attributions are averaged. Classification attributions are on P(class 1).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rdkit import Chem

from molfit.chem import to_mol
from molfit.errors import InputError


def atom_attributions(
    model: Any, molecule: Any, *, target: int | str = 0, steps: int = 64
) -> np.ndarray:
    """Integrated-gradients attribution of each atom to a prediction.

    Args:
        model: a fitted graph model (``DMPNNModel``, ``GCNModel``), or a calibrated model
            wrapping one (what ``molfit train`` saves).
        molecule: SMILES or RDKit molecule.
        target: task index, or target name (for a calibrated model).
        steps: interpolation steps of the integral (more: closer to completeness).

    Returns:
        ``(n_atoms,)`` float64, one value per atom of the molecule as parsed (heavy atoms for
        a SMILES without explicit hydrogens), in the prediction's units.

    Raises:
        InvalidMoleculeError: the SMILES cannot be parsed.
        InputError: the model is not a fitted graph model, or ``target`` is unknown.
    """
    model, names = _unwrap(model)
    if not hasattr(model, "members_") or not hasattr(model, "featurize"):
        raise InputError(f"{type(model).__name__} is not a fitted graph model; cannot explain it")
    task = _task_index(model, target, names)
    mol = to_mol(molecule)
    feats = model._features([mol], fitting=False)
    graph = feats.graphs[0]
    if graph.n_atoms == 0:
        raise InputError("the molecule has no atoms")
    from molfit.chem import collate_graphs

    batch = collate_graphs([graph] * steps)
    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps
    x_real = batch.x.clone()
    extras: tuple = ()
    if feats.descriptors is not None:
        extras = (torch.from_numpy(np.repeat(feats.descriptors, steps, axis=0)),)
    total = np.zeros(graph.n_atoms)
    for module in model.members_:
        module.eval()
        x = (alphas[batch.batch][:, None] * x_real).requires_grad_(True)
        scaled_batch = dataclasses.replace(batch, x=x)
        out = module.unscale(module(scaled_batch, *extras))
        if out.dim() == 3:
            out = out[..., 0]  # the mean of a mean-variance head
        (grad,) = torch.autograd.grad(out[:, task].sum(), x)
        mean_grad = grad.view(steps, graph.n_atoms, -1).mean(dim=0)
        total += (mean_grad * torch.from_numpy(graph.x)).sum(dim=1).double().numpy()
    return total / len(model.members_)


def _unwrap(model: Any) -> tuple[Any, list[str]]:
    """The graph estimator inside a calibrated model (``molfit.evaluate.CalibratedModel``) and
    its target names."""
    names = list(getattr(model, "targets_", []) or [])
    inner = getattr(model, "model_", None)
    return (inner if inner is not None else model), names


def _task_index(model: Any, target: int | str, names: list[str]) -> int:
    n_tasks = int(model.n_tasks_)
    if isinstance(target, str):
        if target not in names:
            if target.isdigit():
                target = int(target)
            else:
                raise InputError(
                    f"unknown target {target!r}; the model predicts {names or n_tasks}"
                )
        else:
            target = names.index(target)
    if not 0 <= int(target) < n_tasks:
        raise InputError(f"target index {target} out of range: the model has {n_tasks} task(s)")
    return int(target)


def attribution_caption(prediction: float | None, unit: str | None, scale: float) -> str:
    """The caption of an attribution image: the prediction and what the colours mean.

    Args:
        prediction: the predicted value, or ``None`` to leave it out.
        unit: its unit, or ``None``.
        scale: the largest absolute atom weight (full colour intensity).
    """
    lines = []
    if prediction is not None:
        lines.append(f"prediction {prediction:.4g}" + (f" {unit}" if unit else ""))
    lines.append(f"green raises, pink lowers the prediction (full colour = {scale:.2g})")
    return "\n".join(lines)


def draw_attributions(
    molecule: Any,
    weights: np.ndarray,
    path: str | Path | None = None,
    *,
    size: tuple[int, int] = (450, 400),
    fmt: str | None = None,
    prediction: float | None = None,
    unit: str | None = None,
) -> bytes:
    """Render atom weights as an RDKit similarity map (green positive, pink negative).

    A caption at the top says what the colours mean and, with ``prediction``, the predicted
    value (see :func:`attribution_caption`).

    Args:
        molecule: SMILES or RDKit molecule (atoms in the order of ``weights``).
        weights: ``(n_atoms,)`` per-atom values (e.g. from :func:`atom_attributions`).
        path: write the image here (``.png`` or ``.svg``); ``None`` only returns it.
        size: image width and height in pixels.
        fmt: ``"png"`` or ``"svg"``; by default from ``path``'s suffix (PNG without a path).
        prediction: the model's prediction for the molecule, shown in the caption.
        unit: the prediction's unit (e.g. ``"kcal/mol"``), shown after it.

    Returns:
        The image: PNG bytes, or SVG text encoded as UTF-8.
    """
    from rdkit.Chem.Draw import SimilarityMaps, rdMolDraw2D

    mol = Chem.Mol(to_mol(molecule))
    weights = np.asarray(weights, dtype=np.float64)
    if len(weights) != mol.GetNumAtoms():
        raise InputError(f"{len(weights)} weights for a molecule with {mol.GetNumAtoms()} atoms")
    if fmt is None:
        fmt = Path(path).suffix.lower().lstrip(".") if path is not None else "png"
    if fmt not in ("png", "svg"):
        raise InputError(f"cannot draw to {fmt!r}: use a .png or .svg file")
    drawer = rdMolDraw2D.MolDraw2DCairo(*size) if fmt == "png" else rdMolDraw2D.MolDraw2DSVG(*size)
    # all-zero weights would divide by zero inside RDKit's scaling
    scale = float(np.abs(weights).max()) or 1.0
    SimilarityMaps.GetSimilarityMapFromWeights(mol, weights.tolist(), drawer, scale=scale)
    from rdkit.Geometry import Point2D

    drawer.SetFontSize(12)
    for k, line in enumerate(attribution_caption(prediction, unit, scale).split("\n")):
        drawer.DrawString(line, Point2D(size[0] / 2, 12 + 16 * k), 0, rawCoords=True)
    drawer.FinishDrawing()
    data = drawer.GetDrawingText()
    out = data.encode() if isinstance(data, str) else bytes(data)
    if path is not None:
        Path(path).write_bytes(out)
    return out


def explain(
    model: Any,
    molecule: Any,
    out: str | Path | None = None,
    *,
    target: int | str = 0,
    steps: int = 64,
) -> tuple[np.ndarray, float]:
    """Attributions of one molecule, optionally drawn to ``out``.

    Returns ``(attributions (n_atoms,), prediction)`` where the prediction is the model's value
    for ``target`` (P(class 1) for a classifier).
    """
    weights = atom_attributions(model, molecule, target=target, steps=steps)
    model, names = _unwrap(model)
    task = _task_index(model, target, names)
    feats = model._features([to_mol(molecule)], fitting=False)
    mean, _ = model.predict_features(feats)
    if out is not None:
        draw_attributions(molecule, weights, out, prediction=float(mean[0, task]))
    return weights, float(mean[0, task])
