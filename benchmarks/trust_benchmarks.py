"""Issue 15 benchmarks: distribution shift (B3DB logBB by weight and by element/ring set, QM9 gap
by size) with split vs Mondrian conformal per similarity bin; active learning on FreeSolv and
B3DB logBB against random selection; a model comparison on FreeSolv over three splits.

    OMP_NUM_THREADS=1 taskset -c 1 python benchmarks/trust_benchmarks.py [--out DIR] [--only X]

Resumable: every finished piece is written to DIR/<piece>.json (and campaign / fit caches under
DIR) and skipped on a rerun. Prints one JSON line per piece; DIR/machine.json holds the CPU.
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
from molfit.chem import max_tanimoto, to_mols
from molfit.data import load
from molfit.models import ExtraTreesModel
from molfit.trust import compare_models, comparison_json, shift_report, shift_split
from molfit.uncertainty import (
    AD_FINGERPRINT,
    ApplicabilityDomain,
    CalibratedModel,
    conformal_quantile,
    mondrian_interval,
    mondrian_quantiles,
    similarity_bins,
)

EDGES = (0.3, 0.5)


def _save(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=float))
    os.replace(tmp, path)


def _shift_data(name: str):
    if name.startswith("b3db"):
        ds = load("b3db-regression")
        return list(ds.smiles), ds.y[:, 0].astype(float)
    ds = load("qm9")
    y = ds.y[:, list(ds.target_columns).index("gap")].astype(float)
    return list(ds.smiles), y


def shift_piece(kind: str, data: str) -> dict:
    smiles, y = _shift_data(data)
    if data == "qm9":
        train, test = shift_split(smiles, "size", max_train_heavy=7, test_heavy=9)
        rng = np.random.default_rng(0)
        test = np.sort(rng.choice(test, size=2000, replace=False))
    else:
        train, test = shift_split(smiles, kind)
    rng = np.random.default_rng(1)
    perm = rng.permutation(train)
    n_id = max(20, int(0.15 * len(perm)))
    id_test, train = np.sort(perm[:n_id]), np.sort(perm[n_id:])
    S = lambda idx: [smiles[i] for i in idx]  # noqa: E731
    model = CalibratedModel(ExtraTreesModel(n_estimators=100), coverage=0.9).fit(S(train), y[train])
    out: dict = {"data": data, "kind": kind, "n_train": len(train)}
    for label, idx in (("in_distribution_test", id_test), ("shifted_test", test)):
        p = model.predict(S(idx))
        out[label] = shift_report(y[idx], p.mean, p.lower, p.upper, p.in_domain)
    # split vs Mondrian (per similarity bin) conformal, calibrated on 20 % of the training set
    perm = np.random.default_rng(2).permutation(train)
    n_cal = int(0.2 * len(perm))
    cal, proper = perm[:n_cal], perm[n_cal:]
    et = ExtraTreesModel(n_estimators=100).fit(S(proper), y[proper])
    bits = AD_FINGERPRINT(smiles)
    scores = np.abs(y[cal] - et.predict(S(cal)))
    g_cal = similarity_bins(max_tanimoto(bits[cal], bits[proper]), EDGES)
    q = mondrian_quantiles(scores, g_cal, 0.9)
    q_all = conformal_quantile(scores, 0.9)
    per_bin = {}
    for label, idx in (("in_distribution_test", id_test), ("shifted_test", test)):
        mu = et.predict(S(idx))
        g = similarity_bins(max_tanimoto(bits[idx], bits[proper]), EDGES)
        lo, hi = mondrian_interval(mu, np.ones(len(idx)), g, q, fallback=max(q.values()))
        ok_m = (y[idx] >= lo) & (y[idx] <= hi)
        ok_s = np.abs(y[idx] - mu) <= q_all
        per_bin[label] = {
            int(b): {
                "n": int((g == b).sum()),
                "n_cal": int((g_cal == b).sum()),
                "split": float(ok_s[g == b].mean()),
                "mondrian": float(ok_m[g == b].mean()),
            }
            for b in np.unique(g)
        }
    out["conformal_per_similarity_bin"] = per_bin
    out["bin_edges"] = EDGES
    ad = ApplicabilityDomain().fit(to_mols(S(train)), bits=bits[train])
    out["ad_threshold"] = ad.threshold_
    return out


def active_piece(data: str, strategy: str, work: Path) -> dict:
    ds = load("freesolv") if data == "freesolv" else load("b3db-regression")
    c = learn(
        ds.smiles,
        ds.y[:, 0],
        start=50,
        batch=10,
        rounds=20,
        strategy=strategy,
        seeds=5,
        params={"n_estimators": 100},
        work_dir=work / f"learn-{data}-{strategy}",
    )
    return {"data": data, **c.to_json()}


def compare_piece(work: Path) -> dict:
    ds = load("freesolv")
    c = compare_models(
        ds.smiles,
        ds.y,
        ["extratrees", "rf", "gp-tanimoto", "ridge"],
        seeds=5,
        splits=("random", "scaffold", "cluster"),
        target="dG_hydration",
        unit="eV",
        work_dir=work / "compare-fits",
    )
    return comparison_json(c)


def _f(v, d=3) -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{d}f}"


def tables(out: Path) -> str:
    """Markdown tables of the finished pieces."""
    lines = [
        "Shift benchmarks (ExtraTrees 100 trees in CalibratedModel, 90 % intervals):",
        "",
        "| benchmark | test | n in / out of domain | RMSE in / out | coverage in / out "
        "| large errors flagged | flagged fraction |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("shift-b3db-weight", "shift-b3db-elements", "shift-qm9-size"):
        f = out / f"{name}.json"
        if not f.exists():
            continue
        d = json.loads(f.read_text())
        for t in ("in_distribution_test", "shifted_test"):
            r = d[t]
            lines.append(
                f"| {name[6:]} | {t.split('_')[0]} | {r['n_in']} / {r['n_out']} | "
                f"{_f(r['rmse_in'])} / {_f(r['rmse_out'])} | {_f(r['coverage_in'], 2)} / "
                f"{_f(r['coverage_out'], 2)} | {_f(r['large_errors_flagged'], 2)} | "
                f"{_f(r['flagged_fraction'], 2)} |"
            )
    lines += [
        "",
        "Split vs Mondrian conformal (90 %) per similarity-to-train bin "
        "(bins: < 0.3, 0.3–0.5, ≥ 0.5), shifted test set:",
        "",
        "| benchmark | bin | n test | n calib | split coverage | Mondrian coverage |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("shift-b3db-weight", "shift-b3db-elements", "shift-qm9-size"):
        f = out / f"{name}.json"
        if not f.exists():
            continue
        d = json.loads(f.read_text())
        for b, r in d["conformal_per_similarity_bin"]["shifted_test"].items():
            lines.append(
                f"| {name[6:]} | {b} | {r['n']} | {r['n_cal']} | {_f(r['split'], 2)} | "
                f"{_f(r['mondrian'], 2)} |"
            )
    lines += [
        "",
        "Active learning, start 50, batch 10, 20 rounds (250 labels), 5 seeds, "
        "ExtraTrees 100 trees:",
        "",
        "| data | strategy | final RMSE strategy / random | labels to reach random's final "
        "RMSE (fraction) | top-1 % found strategy / random (of) |",
        "|---|---|---|---|---|",
    ]
    for data in ("freesolv", "b3db"):
        for strat in ("max-std", "ucb"):
            f = out / f"active-{data}-{strat}.json"
            if not f.exists():
                continue
            d = json.loads(f.read_text())
            s = d["summary"]
            frac = s["label_fraction_vs_random"]
            lines.append(
                f"| {data} | {strat} | {_f(s[f'rmse_final_{strat}'])} / "
                f"{_f(s['rmse_final_random'])} | "
                f"{s['labels_to_reach_random_final_rmse'] or 'not reached'}"
                f"{f' ({frac:.0%})' if frac else ''} | {_f(s[f'top_found_final_{strat}'], 1)} / "
                f"{_f(s['top_found_final_random'], 1)} (of {d['n_top'][0]}) |"
            )
    f = out / "compare-freesolv.json"
    if f.exists():
        d = json.loads(f.read_text())
        splits = list(d["splits"])
        lines += [
            "",
            "FreeSolv model comparison, 5 seeds, RMSE (eV) mean [95 % CI], * = equally good:",
            "",
            "| model | " + " | ".join(splits) + " |",
            "|---|" + "---|" * len(splits),
        ]
        for m in d["models"]:
            cells = []
            for sp in splits:
                r = d["splits"][sp]["models"][m]
                cells.append(
                    f"{r['rmse']:.3f} [{r['rmse_lo']:.3f}, {r['rmse_hi']:.3f}]"
                    f"{' *' if r['equally_good'] else ''}"
                )
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "| split | Spearman(disagreement, abs error) | Spearman(own std, abs error) "
            "| disagreement in / out of domain (eV) | n out of domain |",
            "|---|---|---|---|---|",
        ]
        for sp in splits:
            g = d["splits"][sp]["signals"]
            lines.append(
                f"| {sp} | {_f(g['spearman_disagreement'])} | {_f(g['spearman_own_std'])}"
                f" | {_f(g['disagreement_in_domain'], 4)} / "
                f"{_f(g['disagreement_out_of_domain'], 4)} | {g['n_out_of_domain']} |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/out/trust")
    ap.add_argument("--only", default=None, help="comma-separated piece names")
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
        "shift-b3db-weight": lambda: shift_piece("weight", "b3db"),
        "shift-b3db-elements": lambda: shift_piece("elements", "b3db"),
        "shift-qm9-size": lambda: shift_piece("size", "qm9"),
        "active-freesolv-max-std": lambda: active_piece("freesolv", "max-std", out),
        "active-freesolv-ucb": lambda: active_piece("freesolv", "ucb", out),
        "active-b3db-max-std": lambda: active_piece("b3db", "max-std", out),
        "active-b3db-ucb": lambda: active_piece("b3db", "ucb", out),
        "compare-freesolv": lambda: compare_piece(out),
    }
    only = set(args.only.split(",")) if args.only else set(pieces)
    for name, fn in pieces.items():
        if name not in only:
            continue
        file = out / f"{name}.json"
        if file.exists():
            print(name, "done (cached)")
            continue
        t0 = time.time()
        result = fn()
        result["seconds"] = time.time() - t0
        _save(file, result)
        print(name, json.dumps(result.get("summary", result), default=float)[:600], flush=True)


if __name__ == "__main__":
    main()
