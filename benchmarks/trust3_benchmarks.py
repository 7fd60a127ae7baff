"""Issue 15, continued: conformal methods per similarity bin / class, `compare` on B3DB
classification, active-learning strategies against random, and domain signals that catch the
large errors under shift.

    OMP_NUM_THREADS=1 taskset -c 1 python benchmarks/trust3_benchmarks.py [--out DIR] [--only X]
    python benchmarks/trust3_benchmarks.py --table     # the RESULTS.md tables

Resumable: every finished piece is DIR/<piece>.json, skipped on a rerun; campaign runs and
comparison fits are cached under DIR too. DIR/machine.json holds the CPU model (lscpu).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np

from molfit.active import learn
from molfit.data import load
from molfit.data.split import make_split
from molfit.models import ExtraTreesModel, get_model
from molfit.trust import compare_models, comparison_json, shift_split, spearman
from molfit.uncertainty import CalibratedModel

EDGES = (0.3, 0.5)
METHODS_BIG = ("split", "cv+", "mondrian")
STRATEGIES = {
    "gp-tanimoto": ("max-std", "variance", "ucb", "ei", "diverse"),
    "extratrees": ("variance", "ei", "diverse"),
}


def _save(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=float))
    os.replace(tmp, path)


def _regression(data: str) -> tuple[list[str], np.ndarray]:
    ds = load("freesolv" if data == "freesolv" else "b3db-regression")
    return list(ds.smiles), ds.y[:, 0].astype(float)


# -- conformal methods ------------------------------------------------------------------------
def conformal_piece(data: str) -> dict:
    """Coverage per similarity bin of split / CV+ / jackknife+ / Mondrian (ridge, ECFP6) on a
    scaffold split (FreeSolv) or the B3DB by-weight shift (train light, test heavy)."""
    from molfit.evaluate import coverage_by_similarity

    smiles, y = _regression(data)
    if data == "freesolv":
        split = make_split("scaffold", smiles=smiles, seed=0)
        train, test = np.concatenate([split.train, split.valid]), split.test
    else:
        train, test = shift_split(smiles, "weight")
    S = lambda idx: [smiles[i] for i in idx]  # noqa: E731
    out: dict = {"data": data, "n_train": len(train), "n_test": len(test), "methods": {}}
    # jackknife+ refits once per molecule (133 s for FreeSolv's 513); not repeated on B3DB
    methods = ("split", "cv+", "jackknife+", "mondrian") if data == "freesolv" else METHODS_BIG
    for method in methods:
        t0 = time.time()
        model = CalibratedModel(get_model("ridge"), method=method, seed=0).fit(S(train), y[train])
        p = model.predict(S(test))
        hit = (y[test] >= p.lower) & (y[test] <= p.upper)
        out["methods"][method] = {
            "coverage": float(hit.mean()),
            "mean_width": float(np.mean(p.upper - p.lower)),
            "bins": coverage_by_similarity(
                y[test], p.similarity, lower=p.lower, upper=p.upper, edges=EDGES
            ),
            "seconds": time.time() - t0,
        }
    return out


def _b3db_class() -> tuple[list[str], np.ndarray]:
    """B3DB classification without the rows RDKit cannot parse (one in 7,807)."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    ds = load("b3db")
    ok = np.array([Chem.MolFromSmiles(s) is not None for s in ds.smiles])
    return [s for s, k in zip(ds.smiles, ok, strict=True) if k], ds.y[ok, 0]


def conformal_class_piece() -> dict:
    """Split vs Mondrian (per class) prediction sets on B3DB classification, scaffold split."""
    smiles, y = _b3db_class()
    split = make_split("scaffold", smiles=smiles, seed=0)
    train, test = np.concatenate([split.train, split.valid]), split.test
    S = lambda idx: [smiles[i] for i in idx]  # noqa: E731
    yt = y[test].astype(int)
    out: dict = {"n_train": len(train), "n_test": len(test), "methods": {}}
    for method in ("split", "mondrian"):
        model = CalibratedModel(ExtraTreesModel(n_estimators=100), method=method).fit(
            S(train), y[train]
        )
        sets = model.predict(S(test)).sets
        hit = sets[np.arange(len(yt)), yt]
        out["methods"][method] = {
            "coverage": float(hit.mean()),
            "per_class": {str(c): float(hit[yt == c].mean()) for c in (0, 1)},
            "n_per_class": {str(c): int((yt == c).sum()) for c in (0, 1)},
            "mean_set_size": float(sets.sum(axis=1).mean()),
        }
    return out


# -- compare on classification ----------------------------------------------------------------
def compare_class_piece(work: Path) -> dict:
    smiles, y = _b3db_class()
    rows = np.sort(np.random.default_rng(0).choice(len(smiles), size=1500, replace=False))
    c = compare_models(
        [smiles[i] for i in rows],
        y[rows],
        ["extratrees", "rf", "ridge"],
        seeds=5,
        splits=("random", "scaffold", "cluster"),
        target="bbb",
        work_dir=work / "compare-b3db-fits",
    )
    return comparison_json(c)


# -- active learning --------------------------------------------------------------------------
def active_piece(data: str, model: str, strategy: str, work: Path) -> dict:
    smiles, y = _regression(data)
    c = learn(
        smiles,
        y,
        start=50,
        batch=10,
        rounds=20,
        strategy=strategy,
        seeds=5,
        model=model,
        params={"n_estimators": 100} if model == "extratrees" else {},
        work_dir=work / f"learn-{data}-{model}",  # random's runs are shared by the strategies
    )
    return {"data": data, "model": model, **c.to_json()}


# -- domain signals under shift ---------------------------------------------------------------
def ood_piece(kind: str) -> dict:
    """Fraction of the 10 % largest errors caught by the out-of-domain flag, with the domain
    similarity the max Tanimoto (k = 1) or the mean over the k nearest training molecules."""
    if kind == "size":
        ds = load("qm9")
        smiles = list(ds.smiles)
        y = ds.y[:, list(ds.target_columns).index("gap")].astype(float)
        train, test = shift_split(smiles, "size", max_train_heavy=7, test_heavy=9)
        test = np.sort(np.random.default_rng(0).choice(test, size=2000, replace=False))
    else:
        smiles, y = _regression("b3db")
        train, test = shift_split(smiles, kind)
    S = lambda idx: [smiles[i] for i in idx]  # noqa: E731
    base = CalibratedModel(ExtraTreesModel(n_estimators=100), method="split").fit(
        S(train), y[train]
    )
    out: dict = {"kind": kind, "n_train": len(train), "n_test": len(test), "signals": {}}
    pred = base.predict(S(test))
    err = np.abs(pred.mean - y[test])
    big = err > np.quantile(err, 0.9)
    out["signals"]["model std"] = _caught(pred.raw_std, big, err, None)
    for k in (1, 3, 5, 10):
        base.domain_neighbours = k
        base.domain_ = base.domain_.with_neighbours(k)
        p = base.predict(S(test))
        out["signals"][f"tanimoto k={k}"] = _caught(-p.similarity, big, err, p.in_domain)
    return out


def _caught(score: np.ndarray, big: np.ndarray, err: np.ndarray, flag) -> dict:  # type: ignore[no-untyped-def]
    """Large errors caught by the flag (if any) and by the 20 % highest scores."""
    top = score >= np.quantile(score, 0.8)
    out = {"caught_top20": float(top[big].mean()), "spearman": spearman(score, err)}
    if flag is not None:
        out["caught_flag"] = float((~flag[big]).mean())
        out["flagged"] = float((~flag).mean())
    return out


# -- tables -----------------------------------------------------------------------------------
def _f(v, d=3) -> str:  # type: ignore[no-untyped-def]
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{d}f}"


def tables(out: Path) -> str:
    lines: list[str] = []

    def load_json(name: str) -> dict | None:
        f = out / f"{name}.json"
        return json.loads(f.read_text()) if f.exists() else None

    lines += [
        "Conformal methods, ridge on ECFP6 (1024 bits), 90 % intervals, coverage per "
        "similarity-to-train "
        "bin (n test):",
        "",
        "| data / split | method | coverage | mean width | < 0.3 | 0.3–0.5 | ≥ 0.5 "
        "| fit+predict s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for data, label in (("freesolv", "FreeSolv scaffold"), ("b3db", "B3DB logBB by weight")):
        d = load_json(f"conformal-{data}")
        if not d:
            continue
        for m, r in d["methods"].items():
            cells = [f"{_f(b['coverage'], 2)} ({b['n']})" for b in r["bins"].values()]
            lines.append(
                f"| {label} | {m} | {_f(r['coverage'], 2)} | {_f(r['mean_width'])} | "
                + " | ".join(cells)
                + f" | {r['seconds']:.0f} |"
            )
    d = load_json("conformal-b3db-class")
    if d:
        lines += [
            "",
            "B3DB classification (scaffold split, ExtraTrees 100), 90 % prediction sets:",
            "",
            "| method | coverage | BBB− coverage (n) | BBB+ coverage (n) | mean set size |",
            "|---|---|---|---|---|",
        ]
        for m, r in d["methods"].items():
            lines.append(
                f"| {m} | {_f(r['coverage'], 2)} | {_f(r['per_class']['0'], 2)} "
                f"({r['n_per_class']['0']}) | {_f(r['per_class']['1'], 2)} "
                f"({r['n_per_class']['1']}) | {_f(r['mean_set_size'], 2)} |"
            )
    d = load_json("compare-b3db-class")
    if d:
        splits = list(d["splits"])
        lines += [
            "",
            "B3DB classification model comparison (1,500 molecules, 5 seeds), ROC-AUC / PR-AUC / "
            "Brier mean [95 % CI], * = equally good (paired t-test on ROC-AUC):",
            "",
            "| model | " + " | ".join(splits) + " |",
            "|---|" + "---|" * len(splits),
        ]
        for m in d["models"]:
            cells = []
            for sp in splits:
                r = d["splits"][sp]["models"][m]
                cells.append(
                    f"{r['roc_auc']:.3f} [{r['roc_auc_lo']:.3f}, {r['roc_auc_hi']:.3f}] / "
                    f"{r['pr_auc']:.3f} / {r['brier']:.3f}{' *' if r['equally_good'] else ''}"
                )
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "| split | Spearman(disagreement, misclassified) | Spearman(min(p, 1−p), "
            "misclassified) | disagreement in / out of domain | n out of domain |",
            "|---|---|---|---|---|",
        ]
        for sp in splits:
            g = d["splits"][sp]["signals"]
            lines.append(
                f"| {sp} | {_f(g['spearman_disagreement'])} | {_f(g['spearman_own_std'])} | "
                f"{_f(g['disagreement_in_domain'], 4)} / {_f(g['disagreement_out_of_domain'], 4)}"
                f" | {g['n_out_of_domain']} |"
            )
    lines += [
        "",
        "Active learning, start 50, batch 10, 20 rounds (250 labels), 5 seeds; RMSE in target "
        "units (FreeSolv eV, B3DB logBB):",
        "",
        "| data | model | strategy | RMSE at 150 labels strategy / random | final RMSE strategy "
        "/ random | labels to reach random's final RMSE (fraction) | top-1 % found strategy / "
        "random (of) |",
        "|---|---|---|---|---|---|---|",
    ]
    for data in ("freesolv", "b3db"):
        for model, strats in STRATEGIES.items():
            for s in strats:
                d = load_json(f"active-{data}-{model}-{s}")
                if not d:
                    continue
                m = d["summary"]
                at = d["labels"].index(150)
                r150 = np.mean([r[at] for r in d["rmse"][s]])
                q150 = np.mean([r[at] for r in d["rmse"]["random"]])
                frac = m["label_fraction_vs_random"]
                reach = m["labels_to_reach_random_final_rmse"]
                lines.append(
                    f"| {data} | {model} | {s} | {_f(r150)} / {_f(q150)} | "
                    f"{_f(m[f'rmse_final_{s}'])} / {_f(m['rmse_final_random'])} | "
                    f"{reach if reach else 'not reached'}{f' ({frac:.0%})' if reach else ''} | "
                    f"{_f(m[f'top_found_final_{s}'], 1)} / {_f(m['top_found_final_random'], 1)} "
                    f"(of {d['n_top'][0]}) |"
                )
    lines += [
        "",
        "Domain signals under shift: fraction of the 10 % largest errors caught (ExtraTrees 100 "
        "in CalibratedModel):",
        "",
        "| benchmark | signal | caught by the flag | flagged | caught by the top 20 % | "
        "Spearman with abs error |",
        "|---|---|---|---|---|---|",
    ]
    for kind, label in (
        ("weight", "b3db-weight"),
        ("elements", "b3db-elements"),
        ("size", "qm9-size"),
    ):
        d = load_json(f"ood-{kind}")
        if not d:
            continue
        for name, r in d["signals"].items():
            lines.append(
                f"| {label} | {name} | {_f(r.get('caught_flag'), 2)} | {_f(r.get('flagged'), 2)}"
                f" | {_f(r['caught_top20'], 2)} | {_f(r['spearman'])} |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/out/trust3")
    ap.add_argument("--only", default=None, help="comma-separated piece names or prefixes")
    ap.add_argument("--table", action="store_true", help="print the RESULTS.md tables and exit")
    args = ap.parse_args()
    out = Path(args.out)
    if args.table:
        print(tables(out))
        return
    out.mkdir(parents=True, exist_ok=True)
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpu.splitlines() if ln.startswith("Model name")),
        "unknown",
    )
    _save(
        out / "machine.json",
        {"cpu": model, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())},
    )
    pieces = {
        "conformal-freesolv": lambda: conformal_piece("freesolv"),
        "conformal-b3db": lambda: conformal_piece("b3db"),
        "conformal-b3db-class": conformal_class_piece,
        "compare-b3db-class": lambda: compare_class_piece(out),
        "ood-weight": lambda: ood_piece("weight"),
        "ood-elements": lambda: ood_piece("elements"),
        "ood-size": lambda: ood_piece("size"),
    }
    for data in ("freesolv", "b3db"):
        for m, strats in STRATEGIES.items():
            for s in strats:
                pieces[f"active-{data}-{m}-{s}"] = lambda data=data, m=m, s=s: active_piece(
                    data, m, s, out
                )
    only = args.only.split(",") if args.only else None
    for name, fn in pieces.items():
        if only and not any(name.startswith(o) for o in only):
            continue
        file = out / f"{name}.json"
        if file.exists():
            print(name, "done (cached)")
            continue
        t0 = time.time()
        result = fn()
        result["seconds_total"] = time.time() - t0
        _save(file, result)
        print(name, f"{result['seconds_total']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
