"""D-MPNN screening of 100,000 MOSES molecules: ``molfit screen`` against ``chemprop predict``
(issue 14).

The same B3DB logBB data and scaffold split (seed 0) train both tools' D-MPNN
(``benchmarks/dmpnn_cli_vs_chemprop.py`` writes them under ``out/dmpnn_cli/b3db-regression-0``);
molfit also trains one with ``--precision bf16-mixed`` (it predicts in bfloat16 as saved). Each
command runs whole (start-up, model load, reading, writing), pinned to one core and one thread;
wall time, CPU time and the peak RSS of the process tree are recorded (``screen_scale.timed``).
Steps are skipped when their result is in ``out/screen_dmpnn/results.json``.

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/screen_dmpnn_vs_chemprop.py [--steps A,B]

``molfit-fp32-torch-gemm`` is the float32 screen with ``MOLFIT_GEMM=torch`` (every product in
torch's MKL, as before ``molfit.nn.linear``); ``--steps`` runs only the steps named.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
import time
from pathlib import Path

from _machine import cpu_model
from screen_scale import moses_path, timed

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "screen_dmpnn"
DATA = ROOT / "out" / "dmpnn_cli" / "b3db-regression-0"
CHEMPROP = ROOT / ".venvs" / "chemprop" / "bin" / "chemprop"
N = 100_000
MOLFIT = [sys.executable, "-c", "from molfit.cli import main; main()"]


def library() -> tuple[Path, Path]:
    smi, csv = OUT / "moses100k.smi", OUT / "moses100k.csv"
    if csv.exists() and "\n\n" in smi.read_text()[:1000]:
        # written before 2026-12-07 with an empty line after every molecule (the MOSES file
        # has one column, so the line's newline stayed on the SMILES): write them again
        smi.unlink()
        csv.unlink()
    if not csv.exists():
        with gzip.open(moses_path(), "rt") as fh:
            next(fh)
            rows = [next(fh).split(",")[0].strip() for _ in range(N)]
        smi.write_text("".join(r + "\n" for r in rows))
        csv.write_text("smiles\n" + "".join(r + "\n" for r in rows))
    return smi, csv


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    results_path = OUT / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    smi, csv = library()
    bf16_run = OUT / "run-bf16"
    steps = {
        "train-bf16": lambda: timed([*MOLFIT, "train", str(DATA / "data.csv"), "--target", "y",
                                     "--model", "dmpnn", "--epochs", "30", "--split-file",
                                     str(DATA / "split.json"), "--precision", "bf16-mixed",
                                     "--no-progress", "--out", str(bf16_run)], "1"),
        "molfit-fp32": lambda: timed([*MOLFIT, "screen", str(DATA / "molfit"), str(smi), "-o",
                                      str(OUT / "screen-fp32"), "--no-progress"], "1"),
        "molfit-fp32-torch-gemm": lambda: timed(["env", "MOLFIT_GEMM=torch", *MOLFIT, "screen",
                                                 str(DATA / "molfit"), str(smi), "-o",
                                                 str(OUT / "screen-fp32"), "--no-progress"], "1"),
        "molfit-bf16": lambda: timed([*MOLFIT, "screen", str(bf16_run), str(smi), "-o",
                                      str(OUT / "screen-bf16"), "--no-progress"], "1"),
        "chemprop": lambda: timed([str(CHEMPROP), "predict", "-i", str(csv), "--model-paths",
                                   str(DATA / "chemprop" / "model_0" / "best.pt"), "-o",
                                   str(OUT / "chemprop_preds.csv"), "--accelerator", "cpu",
                                   "-n", "0"], "1"),
    }  # fmt: skip
    wanted = sys.argv[sys.argv.index("--steps") + 1].split(",") if "--steps" in sys.argv else steps
    for name, step in steps.items():
        if name in results or name not in wanted:
            continue
        for leftover in (OUT / "screen-fp32", OUT / "screen-bf16"):
            if leftover.name.split("-")[1] in name and leftover.exists():
                shutil.rmtree(leftover)
        row = step()
        row.update(cpu=cpu_model(), date=time.strftime("%Y-%m-%d"), molecules=N)
        if name != "train-bf16":
            row["molecules_per_s"] = round(N / row["wall_s"], 1)
            row["molecules_per_cpu_s"] = round(N / row["cpu_s"], 1)
        results[name] = row
        tmp = results_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(results, indent=1))
        os.replace(tmp, results_path)
        print(name, json.dumps({k: v for k, v in row.items() if k != "stdout_tail"}), flush=True)


if __name__ == "__main__":
    main()
