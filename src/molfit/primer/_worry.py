"""The "what to worry about" slides, computed: distribution shift, data leakage, Rashomon.

- :func:`shift_point`: one molecule through a calibrated molecule model (the shipped FreeSolv
  GP): prediction, calibrated σ, maximum Tanimoto similarity to the training set and the
  applicability-domain flag with its reason.
- :func:`leakage_study`: B3DB, a seeded subset, one ExtraTrees classifier (ECFP6/1024, the talk's
  baseline) fitted on a random and on a scaffold split; test ROC AUC and accuracy side by side,
  and the histograms of each test molecule's maximum Tanimoto similarity to its training set
  (the scaffold split's test molecules are farther away: the gap).
- :class:`RashomonPair`: two model classes on FreeSolv (Tanimoto GP and ExtraTrees on ECFP)
  compared over seeded random splits by :func:`molfit.trust.compare_models`, then both fitted on
  all of FreeSolv; on new molecules their predictions disagree although neither is better.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from molfit.errors import InputError

LEAKAGE_SUBSET = 1500
LEAKAGE_TREES = 100
HIST_EDGES = np.linspace(0.0, 1.0, 21)
RASHOMON_SEEDS = 3
RASHOMON_MODELS = {
    "GP (Tanimoto, ECFP4/2048)": ("gp-tanimoto", {"radius": 2, "n_bits": 2048}),
    "ExtraTrees (ECFP4 counts/2048)": (
        "extratrees",
        {"n_estimators": 200, "n_jobs": 1, "counts": True, "radius": 2, "n_bits": 2048},
    ),
}
#: molecules outside FreeSolv for the Rashomon slide (drugs; none is in FreeSolv)
NEW_MOLECULES = (
    ("propranolol", "CC(C)NCC(O)COc1cccc2ccccc12"),
    ("diazepam", "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21"),
    ("paracetamol", "CC(=O)Nc1ccc(O)cc1"),
    ("ibuprofen", "CC(C)Cc1ccc(cc1)C(C)C(=O)O"),
    ("nicotine", "CN1CCCC1c1cccnc1"),
    ("lidocaine", "CCN(CC)CC(=O)Nc1c(C)cccc1C"),
)


def shift_point(model: Any, smiles: str) -> dict[str, Any]:
    """A calibrated model's answer for one molecule, with what says how far it is from training.

    Args:
        model: a :class:`molfit.uncertainty.CalibratedModel` (regression).
        smiles: the molecule.

    Returns:
        ``smiles``, ``mean``, ``std`` (calibrated σ), ``lower``/``upper`` (conformal interval),
        ``coverage``, ``similarity`` (max Tanimoto, ECFP6/1024, to the training set),
        ``in_domain``, ``note`` (why not), ``threshold`` (the domain's similarity threshold).

    Raises:
        InputError: the SMILES does not parse.
    """
    from molfit.chem import canonical_smiles, parse_smiles

    mol = parse_smiles(smiles)
    p = model.predict([mol])
    return {
        "smiles": canonical_smiles(mol),
        "mean": float(np.ravel(p.mean)[0]),
        "std": float(np.ravel(p.std)[0]),
        "lower": float(np.ravel(p.lower)[0]),
        "upper": float(np.ravel(p.upper)[0]),
        "coverage": float(p.coverage),
        "similarity": float(p.similarity[0]),
        "in_domain": bool(p.in_domain[0]),
        "note": str(p.domain_note[0]),
        "threshold": float(model.domain_.threshold_),
    }


def _histogram(values: np.ndarray) -> list[float]:
    counts, _ = np.histogram(np.clip(values, 0.0, 1.0), bins=HIST_EDGES)
    return (counts / max(len(values), 1)).tolist()


def leakage_study(n: int = LEAKAGE_SUBSET, seed: int = 0) -> dict[str, Any]:
    """B3DB on a random and on a scaffold split, one classifier each (see the module docstring).

    Args:
        n: molecules in the seeded B3DB subset.
        seed: seeds the subset, the splits and the trees.

    Returns:
        ``dataset``, ``model``, ``n``, ``edges`` (histogram bin edges) and per split
        (``random``, ``scaffold``): ``n_train``, ``n_test``, ``roc_auc``, ``accuracy``,
        ``similarity_median``, ``hist`` (fraction of test molecules per similarity bin).
    """
    from sklearn.metrics import accuracy_score, roc_auc_score

    from molfit.chem import ecfp, max_tanimoto
    from molfit.data import load
    from molfit.data.split import make_split
    from molfit.models import get_model

    ds = load("b3db")
    rows = np.sort(np.random.default_rng(seed).choice(len(ds.smiles), size=n, replace=False))
    smiles = [ds.smiles[i] for i in rows]
    y = np.asarray(ds.y, dtype=float).reshape(len(ds.smiles), -1)[rows, 0]
    bits = ecfp(smiles, radius=3, n_bits=1024)
    out: dict[str, Any] = {
        "dataset": f"B3DB (blood–brain barrier, {len(ds.smiles)} molecules; seeded subset of {n})",
        "model": f"ExtraTrees, {LEAKAGE_TREES} trees, ECFP6/1024",
        "similarity": "max Tanimoto (ECFP6/1024) of each test molecule to its training set",
        "n": n,
        "edges": HIST_EDGES.tolist(),
    }
    for method in ("random", "scaffold"):
        split = make_split(method, smiles=smiles, seed=seed)
        train = np.concatenate([split.train, split.valid]).astype(np.int64)
        test = np.asarray(split.test, dtype=np.int64)
        model = get_model("extratrees", n_estimators=LEAKAGE_TREES, n_jobs=1, seed=seed)
        model.fit([smiles[i] for i in train], y[train])
        proba = model.predict_proba([smiles[i] for i in test])[:, 1]
        sim = max_tanimoto(bits[test], bits[train])
        out[method] = {
            "n_train": len(train),
            "n_test": len(test),
            "roc_auc": float(roc_auc_score(y[test], proba)),
            "accuracy": float(accuracy_score(y[test], proba >= 0.5)),
            "similarity_median": float(np.median(sim)),
            "hist": _histogram(sim),
        }
    return out


class RashomonPair:
    """Two equally good FreeSolv models and their disagreement (see the module docstring).

    Attributes:
        comparison: ``{label: {"rmse", "ci", "p_value", "equally_good"}}`` on seeded random
            splits (:data:`RASHOMON_SEEDS` of them).
        models: ``{label: fitted model}`` on all of FreeSolv.
    """

    def __init__(self, seeds: int = RASHOMON_SEEDS) -> None:
        from molfit.chem import canonical_smiles
        from molfit.data import load
        from molfit.models import get_model
        from molfit.trust import compare_models

        ds = load("freesolv", validate=True)
        smiles = [canonical_smiles(s) for s in ds.smiles]
        y = ds.frame["expt_kcal_mol"].to_numpy(dtype=float)
        comp = compare_models(smiles, y, RASHOMON_MODELS, seeds=seeds, splits=("random",))
        summary = comp.splits["random"].summary()
        self.comparison = {
            label: {
                "rmse": float(summary[label]["rmse"]),
                "ci": [float(summary[label]["rmse_lo"]), float(summary[label]["rmse_hi"])],
                "p_value": float(summary[label]["p_vs_best"]),
                "equally_good": bool(summary[label]["equally_good"]),
            }
            for label in RASHOMON_MODELS
        }
        self.seeds = seeds
        self.train_smiles = set(smiles)
        self.models = {}
        for label, (name, params) in RASHOMON_MODELS.items():
            self.models[label] = get_model(name, seed=0, **params).fit(smiles, y)

    def predict(self, smiles: list[str]) -> dict[str, Any]:
        """Both models' ΔG_hyd (kcal/mol) for ``smiles`` and their difference.

        Raises:
            InputError: a SMILES that does not parse, or more than 20 of them.
        """
        from molfit.chem import canonical_smiles, parse_smiles

        if not 1 <= len(smiles) <= 20:
            raise InputError(f"give 1 to 20 molecules, got {len(smiles)}")
        mols = [parse_smiles(s) for s in smiles]
        labels = list(self.models)
        preds = {k: np.ravel(self.models[k].predict(mols)).astype(float) for k in labels}
        canon = [canonical_smiles(m) for m in mols]
        return {
            "labels": labels,
            "smiles": canon,
            "in_training_set": [c in self.train_smiles for c in canon],
            "predictions": {k: v.tolist() for k, v in preds.items()},
            "difference": (preds[labels[0]] - preds[labels[1]]).tolist(),
            "unit": "kcal/mol",
        }

    def describe(self) -> dict[str, Any]:
        """The comparison, for the page."""
        return {
            "dataset": "FreeSolv (642 molecules, hydration free energy, kcal/mol)",
            "protocol": f"{self.seeds} seeded random splits (80/10/10, train+valid fit, "
            "test scored); equally good = not worse than the best at p < 0.05 (paired t-test)",
            "comparison": self.comparison,
            "new_molecules": [{"name": n, "smiles": s} for n, s in NEW_MOLECULES],
        }
