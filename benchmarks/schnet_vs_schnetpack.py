"""Benchmark: molfit's SchNet against schnetpack 2.1.1's SchNet on a seeded QM9 subset (U0).

Both sides get the very same molecules (train / validation / test drawn with one seed), cutoff,
feature size, interactions, radial basis size, batch size, learning rate and epochs, and run with
the same pinned threads (``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` and ``taskset`` on the same
cores), each in its own process: schnetpack in its virtualenv (benchmarks/.venvs/schnetpack, see
``_schnetpack_runner.py``), molfit in this Python. Reported: test MAE (meV) of the best
validation checkpoint and training wall time per epoch (fit time / epochs, validation included).
Then a learning curve of molfit's SchNet (test MAE against training-set size, log-log PNG),
with the smaller sets trained for the same epochs as the full run, for the same number of
optimizer steps, or both (``--curve-mode``).

The issue's full benchmark (10k / 1k / 10k), schnetpack on core 1 while molfit uses core 0::

    python benchmarks/schnet_vs_schnetpack.py --n-train 10000 --n-val 1000 --n-test 10000 \\
        --epochs 30 --n-features 64 --n-interactions 3 --curve 1000,5000,10000 --threads 1 \\
        --parallel --resume --out benchmarks/out/full

Every run writes its result JSON with the settings that made it; ``--resume`` reuses results
whose settings match, so an interrupted benchmark picks up where it stopped.

A short end-to-end check::

    python benchmarks/schnet_vs_schnetpack.py --n-train 500 --n-val 100 --limit-test 500 \\
        --epochs 2 --n-features 64 --n-interactions 3 --curve 100,250,500

Outputs go to ``benchmarks/out/`` (git-ignored): ``schnet_vs_schnetpack.json`` / ``.md`` and
``qm9_learning_curve.png`` (copied to ``docs/img/qm9_learning_curve.png`` with ``--docs-figure``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_PYTHON = HERE / ".venvs" / "schnetpack" / "bin" / "python"
# QM9's free-atom U0 (Hartree, B3LYP/6-31G(2df,p)), the references schnetpack's QM9 recipe uses
U0_ATOMREF_HARTREE = {1: -0.500273, 6: -37.846772, 7: -54.583861, 8: -75.064579, 9: -99.718730}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n-train", type=int, default=10000)
    p.add_argument("--n-val", type=int, default=1000)
    p.add_argument("--n-test", type=int, default=10000)
    p.add_argument("--limit-test", type=int, default=None, help="use only this many test rows")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--n-features", type=int, default=128)
    p.add_argument("--n-interactions", type=int, default=6)
    p.add_argument("--n-rbf", type=int, default=20)
    p.add_argument("--cutoff", type=float, default=5.0)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="threads (and cores) for each side")
    p.add_argument("--curve", default="1000,5000,10000", help="training sizes; '' skips it")
    p.add_argument(
        "--curve-mode",
        choices=["epochs", "steps", "both"],
        default="both",
        help="learning-curve runs: the same epochs as the full run, the same optimizer steps "
        "(epochs scaled by n_train / n), or both",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="reuse a run's result JSON in --out when it was made with the same settings",
    )
    p.add_argument(
        "--parallel",
        action="store_true",
        help="run schnetpack on the next cores while molfit trains (same pinning per side)",
    )
    p.add_argument("--skip-schnetpack", action="store_true")
    p.add_argument("--out", type=Path, default=HERE / "out")
    p.add_argument("--docs-figure", action="store_true", help="copy the PNG to docs/img/")
    # internal: run one molfit training in this process (used through a pinned subprocess)
    p.add_argument("--side", choices=["driver", "molfit"], default="driver")
    p.add_argument("--data", type=Path)
    p.add_argument("--n-train-used", type=int)
    p.add_argument("--result", type=Path)
    return p.parse_args(argv)


# -- data ---------------------------------------------------------------------------------------
def write_subset(args: argparse.Namespace, path: Path) -> dict[str, int]:
    """Draw train/val/test from QM9 with ``args.seed``; write them (in that order) to ``path``."""
    from ase.units import Hartree

    from molfit.data import load

    dataset = load("qm9")
    n_test = args.n_test if args.limit_test is None else min(args.n_test, args.limit_test)
    sizes = {"train": args.n_train, "val": args.n_val, "test": n_test}
    order = np.random.default_rng(args.seed).permutation(len(dataset.frame))
    chosen = order[: sum(sizes.values())]
    subset = dataset.structures.subset(chosen)
    u0 = dataset.frame["U0"].to_numpy()[chosen]
    a, b = sizes["train"], sizes["train"] + sizes["val"]
    np.savez(
        path,
        numbers=subset.numbers,
        positions=subset.positions,
        offsets=subset.offsets,
        U0=u0,
        qm9_index=chosen,
        train_idx=np.arange(0, a),
        val_idx=np.arange(a, b),
        test_idx=np.arange(b, len(chosen)),
        ref_z=np.array(list(U0_ATOMREF_HARTREE)),
        ref_u0=np.array(list(U0_ATOMREF_HARTREE.values())) * Hartree,
    )
    return sizes


def _pinned(
    cmd: list[str], threads: int, first_core: int | None = None
) -> tuple[list[str], dict[str, str]]:
    """``cmd`` pinned to ``threads`` cores: from ``first_core`` on, else BENCH_CORES, else 0."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    start = 0 if first_core is None else first_core
    cores = f"{start}-{start + threads - 1}" if threads > 1 else str(start)
    if first_core is None and os.environ.get("BENCH_CORES"):
        cores = os.environ["BENCH_CORES"]  # e.g. "1" when another benchmark holds core 0
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", cores, *cmd]
    return cmd, env


def _run(cmd: list[str], threads: int) -> None:
    cmd, env = _pinned(cmd, threads)
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, env=env, check=True, cwd=ROOT)


def _start(cmd: list[str], threads: int, first_core: int) -> subprocess.Popen:
    """Start ``cmd`` pinned to ``threads`` cores from ``first_core`` on; do not wait."""
    cmd, env = _pinned(cmd, threads, first_core)
    print("+", " ".join(cmd), flush=True)
    return subprocess.Popen(cmd, env=env, cwd=ROOT)


# -- molfit side --------------------------------------------------------------------------------
def run_molfit(args: argparse.Namespace) -> None:
    """Train molfit's SchNet on the subset file and write a JSON result (runs pinned)."""
    import torch

    from molfit.models import SchNetModel
    from molfit.structures import Structures
    from molfit.train import Runtime

    torch.set_num_threads(args.threads)
    with np.load(args.data) as f:
        data = {k: f[k] for k in f.files}
    structures = Structures(data["numbers"], data["positions"], data["offsets"])
    y = data["U0"]
    train = data["train_idx"][: args.n_train_used]
    model = SchNetModel(
        n_features=args.n_features,
        n_interactions=args.n_interactions,
        n_rbf=args.n_rbf,
        cutoff=args.cutoff,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        # schnetpack's runner trains at a constant learning rate: use the same schedule here
        lr_ratio=1.0,
        warmup_epochs=0.0,
        patience=None,
        seed=args.seed,
    )
    t0 = time.perf_counter()
    feats = model.featurize(structures)  # neighbour pairs, once for all rows
    prep_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.fit(
        feats[train],
        y[train],
        X_val=feats[data["val_idx"]],
        y_val=y[data["val_idx"]],
        runtime=Runtime(progress_bar=False),
    )
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = model.predict(feats[data["test_idx"]])
    predict_s = time.perf_counter() - t0
    mae = float(np.mean(np.abs(pred - y[data["test_idx"]])))
    n_params = sum(p.numel() for p in model.models_[0].parameters())
    result = {
        "tool": "molfit",
        "torch": torch.__version__,
        "n_train": len(train),
        "test_mae_meV": mae * 1000.0,
        "fit_s": fit_s,
        "epochs": args.epochs,
        "epoch_s_mean": fit_s / args.epochs,
        "neighbour_pairs_s": prep_s,
        "predict_s": predict_s,
        "n_parameters": int(n_params),
        "best_epoch": model.history_[0]["best_epoch"],
    }
    args.result.write_text(json.dumps(result, indent=2))


def run_settings(args: argparse.Namespace, n_train: int, epochs: int) -> dict:
    """Everything that decides a run's result (stored in its JSON, compared by --resume)."""
    keys = ("n_val", "n_test", "limit_test", "batch_size", "n_features", "n_interactions",
            "n_rbf", "cutoff", "lr", "seed", "threads")  # fmt: skip
    return {"n_train": n_train, "epochs": epochs, **{k: getattr(args, k) for k in keys}}


def reuse(args: argparse.Namespace, path: Path, settings: dict) -> dict | None:
    """The result at ``path`` when ``--resume`` is on and it was made with ``settings``."""
    if args.resume and path.exists():
        result = json.loads(path.read_text())
        if result.get("settings") == settings:
            print(f"reusing {path} (same settings)", flush=True)
            return result
    return None


def stamp(path: Path, settings: dict) -> dict:
    """Add ``settings`` to the result JSON at ``path`` (rewritten atomically); return it."""
    result = json.loads(path.read_text())
    result["settings"] = settings
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, path)
    return result


def molfit_once(
    args: argparse.Namespace, data: Path, n_train: int, result: Path, epochs: int | None = None
) -> dict:
    epochs = epochs or args.epochs
    settings = run_settings(args, n_train, epochs)
    done = reuse(args, result, settings)
    if done is not None:
        return done
    cmd = [sys.executable, str(Path(__file__).resolve()), "--side", "molfit"]
    cmd += ["--epochs", str(epochs)]
    for key in ("batch_size", "n_features", "n_interactions", "n_rbf", "cutoff", "lr"):
        cmd += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    cmd += ["--seed", str(args.seed), "--threads", str(args.threads), "--data", str(data)]
    cmd += ["--n-train-used", str(n_train), "--result", str(result)]
    _run(cmd, args.threads)
    return stamp(result, settings)


def schnetpack_cmd(args: argparse.Namespace, data: Path, result: Path) -> list[str]:
    if not VENV_PYTHON.exists():
        raise SystemExit(f"schnetpack's virtualenv is missing: {VENV_PYTHON} (see docs)")
    cmd = [str(VENV_PYTHON), str(HERE / "_schnetpack_runner.py"), "--data", str(data)]
    cmd += ["--out", str(result), "--workdir", str(args.out / "schnetpack_work")]
    for key in ("epochs", "batch_size", "n_features", "n_interactions", "n_rbf", "cutoff", "lr"):
        cmd += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    cmd += ["--seed", str(args.seed)]
    return cmd


# -- report -------------------------------------------------------------------------------------
def plot_curve(
    points: list[tuple[int, float, int, str]],
    path: Path,
    title: str,
    theirs: tuple[int, float] | None,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.8, 3.6), dpi=150)
    labels = {"epochs": "molfit SchNet, same epochs", "steps": "molfit SchNet, same steps"}
    for mode, style in (("epochs", "o-"), ("steps", "^--")):
        line = sorted((n, m) for n, m, _, md in points if md == mode)
        if line:
            n, mae = zip(*line, strict=True)
            ax.loglog(n, mae, style, label=labels[mode])
    if theirs is not None:
        ax.loglog([theirs[0]], [theirs[1]], "s", label="schnetpack 2.1.1 SchNet")
    ax.set_xlabel("training molecules")
    ax.set_ylabel("test MAE of U0 (meV)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def markdown(args: argparse.Namespace, sizes: dict, ours: dict, theirs: dict | None,
             curve: list[tuple[int, float, int, str]], command: str) -> str:  # fmt: skip
    lines = [
        "# molfit SchNet vs schnetpack 2.1.1 SchNet (QM9 U0, CPU)",
        "",
        f"Command: `{command}`",
        "",
        f"Subset (seed {args.seed}): {sizes['train']} train / {sizes['val']} validation / "
        f"{sizes['test']} test. SchNet: {args.n_features} features, {args.n_interactions} "
        f"interactions, {args.n_rbf} Gaussian RBFs, cutoff {args.cutoff} Å, batch "
        f"{args.batch_size}, lr {args.lr}, {args.epochs} epochs; {args.threads} threads pinned "
        "per side.",
        "",
        "| | test MAE (meV) | time / epoch (s) | parameters |",
        "| --- | ---: | ---: | ---: |",
        f"| molfit | {ours['test_mae_meV']:.1f} | {ours['epoch_s_mean']:.2f} | "
        f"{ours['n_parameters']} |",
    ]
    if theirs is not None:
        spk_epoch = theirs["fit_s"] / theirs["epochs"]
        lines.append(
            f"| schnetpack | {theirs['test_mae_meV']:.1f} | {spk_epoch:.2f} | "
            f"{theirs['n_parameters']} |"
        )
        lines += ["", f"Time ratio molfit / schnetpack: {ours['epoch_s_mean'] / spk_epoch:.2f}"]
    if curve:
        lines += ["", "Learning curve (molfit SchNet, same test set):", ""]
        lines += ["| training molecules | epochs | optimizer steps | test MAE (meV) |",
                  "| ---: | ---: | ---: | ---: |"]  # fmt: skip
        runs = {(n, e): m for n, m, e, _ in curve}  # the full run belongs to both modes
        for (n, e), m in sorted(runs.items()):
            lines.append(f"| {n} | {e} | {-(-n // args.batch_size) * e} | {m:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.side == "molfit":
        run_molfit(args)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    data = args.out / "qm9_subset.npz"
    sizes = write_subset(args, data)
    spk_result = args.out / "schnetpack.json"
    spk_settings = run_settings(args, sizes["train"], args.epochs)
    theirs = None if args.skip_schnetpack else reuse(args, spk_result, spk_settings)
    background = None
    if args.parallel and not args.skip_schnetpack and theirs is None:
        # schnetpack on the cores after molfit's, while molfit trains
        background = _start(schnetpack_cmd(args, data, spk_result), args.threads, args.threads)
    ours = molfit_once(args, data, sizes["train"], args.out / "molfit.json")
    curve: list[tuple[int, float, int, str]] = []
    modes = ["epochs", "steps"] if args.curve_mode == "both" else [args.curve_mode]
    for n in [int(v) for v in args.curve.split(",") if v.strip()]:
        if n > sizes["train"]:
            print(f"skipping learning-curve size {n} > --n-train {sizes['train']}")
            continue
        for mode in modes:
            epochs = args.epochs
            if mode == "steps":
                epochs = max(1, round(args.epochs * sizes["train"] / n))
            r = ours if n == sizes["train"] else molfit_once(
                args, data, n, args.out / f"molfit_n{n}_e{epochs}.json", epochs
            )  # fmt: skip
            curve.append((n, r["test_mae_meV"], epochs, mode))
    if background is not None:
        if background.wait() != 0:
            raise SystemExit(f"schnetpack's run failed (exit {background.returncode})")
        theirs = stamp(spk_result, spk_settings)
    elif not args.skip_schnetpack and theirs is None:
        _run(schnetpack_cmd(args, data, spk_result), args.threads)
        theirs = stamp(spk_result, spk_settings)
    if curve:
        png = args.out / "qm9_learning_curve.png"
        title = (f"QM9 U0, SchNet {args.n_features} features x {args.n_interactions}, "
                 f"full run {args.epochs} epochs")  # fmt: skip
        point = None if theirs is None else (sizes["train"], theirs["test_mae_meV"])
        plot_curve(curve, png, title, point)
        if args.docs_figure:
            (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
            shutil.copy(png, ROOT / "docs" / "img" / "qm9_learning_curve.png")
    command = "python benchmarks/schnet_vs_schnetpack.py " + " ".join(argv or sys.argv[1:])
    report = {"sizes": sizes, "molfit": ours, "schnetpack": theirs, "curve": curve,
              "args": {k: str(v) for k, v in vars(args).items()}}  # fmt: skip
    (args.out / "schnet_vs_schnetpack.json").write_text(json.dumps(report, indent=2))
    text = markdown(args, sizes, ours, theirs, curve, command)
    (args.out / "schnet_vs_schnetpack.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
