"""Featurization speed on the 100k polarizability SMILES: molfit beside raw RDKit and chemprop.

    OMP_NUM_THREADS=1 python benchmarks/featurize_speed.py --limit 20000

Measures molecules per second for parsing, ECFP6/1024 and graph featurization on one core (the
process pins itself to ``--core``; chemprop runs in its own virtualenv at
``benchmarks/.venvs/chemprop``, pinned to the same core, driven block by block), then the gain of 2
worker processes over 1 on two cores, in wall time and in CPU time (workers included: a CPU-time
ratio near 1 means the split adds no work, so free cores give a near-linear gain even when a
shared machine has none to give). Each round walks the SMILES in blocks of ``--block`` and
times every contender on a block before moving on, so load from other processes hits all of them
alike; each figure is the best of ``--repeats`` rounds and ratios are taken within the run. Prints
a markdown table and writes JSON to ``benchmarks/out/``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import csv
import datetime
import importlib.util
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rdkit
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from molfit.chem import ECFP, GraphFeaturizer, parse_many

ROOT = Path(__file__).resolve().parent
CHEMPROP_PYTHON = ROOT / ".venvs" / "chemprop" / "bin" / "python"


def polarizability_smiles(limit: int | None) -> list[str]:
    """The SMILES column of chemml's published polarizability set, read by path (no import)."""
    spec = importlib.util.find_spec("chemml")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("chemml is not installed (pip install --no-deps chemml)")
    path = Path(spec.submodule_search_locations[0]) / "published/RI/input_files/properties.csv"
    with path.open(newline="") as handle:
        smiles = [row["Mol_Smiles"] for row in csv.DictReader(handle)]
    return smiles[:limit] if limit else smiles


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed_cpu(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and CPU seconds of this process plus its finished children (the workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = time.process_time() + children.ru_utime + children.ru_stime
    wall = timed(fn)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, time.process_time() + children.ru_utime + children.ru_stime - cpu0


def raw_ecfp(smiles: list[str]) -> np.ndarray:
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=3, fpSize=1024)
    out = np.empty((len(smiles), 1024), dtype=np.uint8)
    for i, s in enumerate(smiles):
        out[i] = gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s))
    return out


class Chemprop:
    """chemprop's featurizer in its own virtualenv, pinned to ``core``, timed block by block."""

    def __init__(self, smiles_file: Path, core: int) -> None:
        cmd = [str(CHEMPROP_PYTHON), str(ROOT / "chemprop_featurize.py"), str(smiles_file)]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(core), *cmd],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.header = json.loads(self._readline())

    def _readline(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            sys.exit("chemprop_featurize.py stopped; run it by hand to see why")
        return line

    def time_block(self, start: int, end: int) -> dict[str, float]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{start} {end}\n")
        self.proc.stdin.flush()
        return json.loads(self._readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.close()
        self.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=20000, help="first N SMILES (0: all 100k)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--block", type=int, default=1000, help="molecules per interleaved block")
    parser.add_argument("--core", type=int, default=0, help="core for the one-core figures")
    parser.add_argument("--no-chemprop", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "featurize_speed.json")
    args = parser.parse_args()

    smiles = polarizability_smiles(args.limit)
    n = len(smiles)
    all_cores = os.sched_getaffinity(0)
    load_before = os.getloadavg()
    os.sched_setaffinity(0, {args.core})
    ecfp, graphs = ECFP(radius=3, n_bits=1024), GraphFeaturizer()
    assert np.array_equal(ecfp(smiles[:2000]), raw_ecfp(smiles[:2000])), "ECFP differs from RDKit"

    # each task times itself on one block; "from mols" tasks parse their block before the clock
    def from_mols(fn: Callable[[list[Chem.Mol]], object]) -> Callable[[list[str]], float]:
        def task(block: list[str]) -> float:
            mols = [Chem.MolFromSmiles(s) for s in block]
            return timed(lambda: fn(mols))

        return task

    tasks: dict[str, Callable[[list[str]], float]] = {
        "parse_rdkit": lambda b: timed(lambda: [Chem.MolFromSmiles(s) for s in b]),
        "parse_molfit": lambda b: timed(lambda: parse_many(b)),
        "ecfp_rdkit": lambda b: timed(lambda: raw_ecfp(b)),
        "ecfp_molfit": lambda b: timed(lambda: ecfp(b)),
        "graph_molfit_from_smiles": lambda b: timed(lambda: graphs.many(b)),
        "graph_molfit_from_mols": from_mols(graphs.many),
    }
    rounds: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        smiles_file = Path(tmp) / "smiles.txt"
        smiles_file.write_text("\n".join(smiles))
        chemprop = None
        if not args.no_chemprop and CHEMPROP_PYTHON.exists():
            chemprop = Chemprop(smiles_file, args.core)
        for _ in range(args.repeats):
            total = dict.fromkeys(tasks, 0.0)
            if chemprop is not None:
                total |= {"graph_chemprop_from_smiles": 0.0, "graph_chemprop_from_mols": 0.0}
            for i, start in enumerate(range(0, n, args.block)):
                block = smiles[start : start + args.block]
                order = [*tasks, "chemprop"] if chemprop is not None else list(tasks)
                shift = i % len(order)  # rotate who goes first: no contender always runs cold
                for key in order[shift:] + order[:shift]:
                    if key != "chemprop":
                        total[key] += tasks[key](block)
                        continue
                    assert chemprop is not None
                    times = chemprop.time_block(start, start + len(block))
                    total["graph_chemprop_from_smiles"] += times["from_smiles"]
                    total["graph_chemprop_from_mols"] += times["from_mols"]
            for key, seconds in total.items():
                rounds.setdefault(key, []).append(seconds)
        if chemprop is not None:
            chemprop.close()

    two = sorted(all_cores)[:2]
    cpu: dict[str, list[float]] = {}
    if len(two) == 2:
        os.sched_setaffinity(0, set(two))
        for r in range(args.repeats):
            for jobs in (1, 2) if r % 2 == 0 else (2, 1):
                for name, fn in (("ecfp", ecfp), ("graph", graphs.many)):
                    wall, cpu_s = timed_cpu(lambda f=fn, j=jobs: f(smiles, n_jobs=j))
                    rounds.setdefault(f"{name}_molfit_{jobs}proc", []).append(wall)
                    cpu.setdefault(f"{name}_molfit_{jobs}proc", []).append(cpu_s)
    os.sched_setaffinity(0, all_cores)
    best = {k: min(v) for k, v in rounds.items()}
    rate = {k: n / v for k, v in best.items()}
    spread = {k: (max(v) - min(v)) / min(v) for k, v in rounds.items()}

    rows = [
        ("parse SMILES", "parse_molfit", "parse_rdkit", "Chem.MolFromSmiles", "-"),
        ("ECFP6/1024 from SMILES", "ecfp_molfit", "ecfp_rdkit", "RDKit generator", ">= 1/1.2"),
        ("graph from SMILES", "graph_molfit_from_smiles", "graph_chemprop_from_smiles",
         "chemprop 2.3.1", ">= 2"),
        ("graph from RDKit mols", "graph_molfit_from_mols", "graph_chemprop_from_mols",
         "chemprop 2.3.1", ">= 2"),
        ("ECFP, 2 processes vs 1", "ecfp_molfit_2proc", "ecfp_molfit_1proc", "molfit, 1 process",
         "~2"),
        ("graph, 2 processes vs 1", "graph_molfit_2proc", "graph_molfit_1proc",
         "molfit, 1 process", "~2"),
    ]  # fmt: skip
    lines = [
        f"{n} polarizability SMILES, best of {args.repeats}; one-core rows pinned to core "
        f"{args.core}, OMP_NUM_THREADS=1",
        "",
        "| task | molfit (mol/s) | reference | reference (mol/s) | ratio | per-round ratios "
        "| goal |",
        "| --- | ---: | --- | ---: | ---: | --- | --- |",
    ]
    table = []
    for label, ours, ref, ref_name, goal in rows:
        if ours not in rate or ref not in rate:
            continue
        ratio = rate[ours] / rate[ref]
        per_round = [r / o for o, r in zip(rounds[ours], rounds[ref], strict=True)]
        table.append({"task": label, "molfit_per_s": rate[ours], "reference": ref_name,
                      "reference_per_s": rate[ref], "ratio": ratio, "ratio_per_round": per_round,
                      "goal": goal})  # fmt: skip
        figures = f"{rate[ours]:,.0f} | {ref_name} | {rate[ref]:,.0f} | {ratio:.2f}x"
        spread_text = f"{min(per_round):.2f}-{max(per_round):.2f}"
        lines.append(f"| {label} | {figures} | {spread_text} | {goal} |")
    for name in ("ecfp", "graph"):
        one, two_ = f"{name}_molfit_1proc", f"{name}_molfit_2proc"
        if one in cpu and two_ in cpu:
            efficiency = min(cpu[one]) / min(cpu[two_])
            table.append({"task": f"{name}, CPU-time efficiency of 2 processes",
                          "ratio": efficiency, "goal": "~1"})  # fmt: skip
            per_round = [a / b for a, b in zip(cpu[one], cpu[two_], strict=True)]
            spread_text = f"{min(per_round):.2f}-{max(per_round):.2f}"
            lines.append(
                f"| {name}: CPU seconds, 1 process / 2 processes | | | | {efficiency:.2f} "
                f"| {spread_text} | ~1 |"
            )
    worst = max(spread.values())
    load_after = os.getloadavg()
    lines += [
        "",
        f"absolute times varied by up to {100 * worst:.0f}% between rounds (load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after); ratios, taken block by block, "
        "vary far less (per-round column)",
    ]
    print("\n".join(lines))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "n_molecules": n,
        "repeats": args.repeats,
        "rdkit": rdkit.__version__,
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "load_average_before_after": [load_before[0], load_after[0]],
        "seconds_per_round": rounds,
        "cpu_seconds_per_round": cpu,
        "best_seconds": best,
        "molecules_per_second": rate,
        "table": table,
    }
    args.out.write_text(json.dumps(record, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
