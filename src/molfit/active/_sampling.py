"""Committee-driven active sampling of potentials (on-the-fly active learning).

``active_sample(START, OUT)`` builds a training set for a potential by letting a committee decide
which structures the oracle labels:

1. *Initial data.* ``START`` is either an extxyz file whose frames carry energies and forces
   (``initial`` frames evenly spaced through the file are the initial data; no oracle calls) or a
   structure / SMILES: ``initial`` copies of it with Gaussian displacements of ``rattle`` Å
   (seeded) are labelled by the oracle.
2. *Each round* ``k``: a committee (``committee`` independently seeded members of ``model``)
   is trained on every frame labelled so far; ``replicas`` copies of the start structure run
   Langevin MD with the committee (batched, :func:`molfit.atomistic.run_replicas`), stopped
   early when any force component's committee σ exceeds ``max_sigma`` eV/Å (the trajectory has
   left anything the committee knows; the frames after that point would be unphysical). Every
   written MD frame is a candidate; its score is the largest per-atom force σ,
   ``max_i sqrt(mean_m |F_m,i - F̄_i|²)`` (eV/Å, :meth:`predict_properties`' ``forces_std``).
   Selected: the candidates with a score above ``threshold`` (all of them, or the ``per_round``
   highest), taken greedily by score and skipping frames within ``gap`` frames (same replica)
   of one already taken, so one excursion is not labelled ten times. Only the selected frames go
   to the oracle; they are appended to the data and the next round retrains.
3. After the last round (or a round in which nothing passes the threshold: converged) the final
   committee is trained on all the data.

There is no warm start: molfit's trainer starts every fit from seeded initial weights, so each
round retrains from scratch (cheap for the small data sets of active sampling, and it keeps a
round's model a function of its data and seed only).

Everything is written as it is made, so ``kill -9`` and the same call carries on and ends with
the same files as an uninterrupted run: ``settings.json``; ``initial.extxyz`` (frame by frame);
per round ``round_KK/model/`` (written to a temporary directory, then renamed),
``round_KK/md.extxyz`` (resumable MD), ``round_KK/selected.json``, ``round_KK/labelled.extxyz``
(frame by frame; oracle failures in ``round_KK/failed.jsonl``) and ``round_KK/metrics.json``
(last: the round is done); at the end ``model/``, ``data.extxyz`` and ``metrics.json``. Models are
always re-read from disk and data from the files, so a resumed round sees exactly what an
uninterrupted one saw.

Units: Å, eV, eV/Å, fs, K.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from molfit.atomistic import (
    ORACLES,
    Calculator,
    FrameWriter,
    OracleError,
    evaluate,
    make_oracle,
    read_frames,
    repair,
    run_replicas,
    start_structure,
)
from molfit.errors import InputError
from molfit.models import get_model, load_model, save_model

#: small, fast committee members (a CPU core trains one on ~100 ethanol frames in seconds)
DEFAULT_MODEL_OPTIONS: dict[str, Any] = {
    "n_features": 32,
    "n_interactions": 2,
    "n_rbf": 16,
    "cutoff": 4.5,
    "epochs": 60,
    "batch_size": 8,
    "lr": 3e-3,
    "patience": 15,
}


@dataclass
class ActiveSampleResult:
    """What :func:`active_sample` did.

    Attributes:
        out: the output directory.
        rounds: each round's metrics (as in ``round_KK/metrics.json``).
        n_labels: labelled frames in the final data set (initial + selected ones).
        n_oracle_calls: oracle labels of the whole run (this process and earlier, killed ones).
        n_oracle_calls_this_process: oracle calls made by this call.
        converged: a round's full MD had no candidate above ``threshold``.
        stopped: why the rounds ended early otherwise (the MD left the committee's domain before
            its first frame: lower the temperature or raise ``max_sigma``), or ``""``.
        model: directory of the final committee.
        test: force and energy errors of the final committee on the ``test`` frames (or ``{}``).
    """

    out: Path
    rounds: list[dict[str, Any]] = field(default_factory=list)
    n_labels: int = 0
    n_oracle_calls: int = 0
    n_oracle_calls_this_process: int = 0
    converged: bool = False
    stopped: str = ""
    model: Path | None = None
    test: dict[str, float] = field(default_factory=dict)


def _write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temporary file, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def frame_sigma(model: Any, frames: list[Any]) -> np.ndarray:
    """Largest per-atom committee σ of the force of each frame, ``(n_frames,)`` eV/Å:
    ``max_i sqrt(mean_m |F_m,i - F̄_i|²)`` over the atoms ``i`` and committee members ``m``."""
    if not frames:
        return np.zeros(0)
    props = model.predict_properties(frames, forces=True)
    if "forces_std" not in props:
        raise InputError("active sampling needs a committee (committee >= 2 members)")
    return np.array([float(np.max(s)) for s in props["forces_std"]])


def select_frames(
    sigma: np.ndarray,
    replica: np.ndarray,
    index: np.ndarray,
    *,
    threshold: float | None,
    per_round: int | None,
    gap: int = 0,
) -> list[int]:
    """Positions of the candidates to label, highest σ first.

    Args:
        sigma: ``(n,)`` score of each candidate (eV/Å).
        replica, index: ``(n,)`` replica and frame number of each candidate in its trajectory.
        threshold: only candidates with ``sigma > threshold`` (``None``: no bound).
        per_round: at most this many (``None``: every candidate above ``threshold``).
        gap: skip a candidate within ``gap`` frames of one already taken in the same replica
            (``0``: no de-duplication in time).
    """
    if threshold is None and per_round is None:
        raise InputError("give a --threshold, a --per-round count, or both")
    order = np.argsort(-sigma, kind="stable")
    taken: list[int] = []
    for k in order:
        if threshold is not None and not sigma[k] > threshold:
            break
        if per_round is not None and len(taken) >= per_round:
            break
        if gap and any(
            replica[t] == replica[k] and abs(int(index[t]) - int(index[k])) <= gap for t in taken
        ):
            continue
        taken.append(int(k))
    return taken


def _errors(model: Any, frames: list[Any]) -> dict[str, float]:
    """Force MAE (meV/Å, per component), energy MAE (meV) and mean frame σ (eV/Å) of ``frames``."""
    props = model.predict_properties(frames, forces=True)
    f_true = np.concatenate([f.get_forces() for f in frames])
    f_pred = np.concatenate(props["forces"])
    e_true = np.array([f.get_potential_energy() for f in frames])
    sigma = [float(np.max(s)) for s in props.get("forces_std", [np.zeros(1)] * len(frames))]
    return {
        "force_mae_meV_A": float(np.abs(f_pred - f_true).mean() * 1000),
        "energy_mae_meV": float(np.abs(props["energy"] - e_true).mean() * 1000),
        "sigma_mean_eV_A": float(np.mean(sigma)),
    }


class _Oracle:
    """The oracle calculator, made on first use, with a count of its calls."""

    def __init__(self, oracle: Any, options: dict[str, Any]) -> None:
        self.spec, self.options = oracle, options
        self._calc: Any = None
        self.calls = 0

    @property
    def name(self) -> str:
        return self.spec if isinstance(self.spec, str) else type(self.spec).__name__

    def label(self, atoms: Any) -> dict[str, Any]:
        if self._calc is None:
            is_name = isinstance(self.spec, str)
            self._calc = make_oracle(self.spec, **self.options) if is_name else self.spec
        self.calls += 1
        # a fresh calculation: xTB would otherwise start its SCF from the previous frame's, and
        # a label would depend on the frames labelled before it (and differ after a resume)
        self._calc.reset()
        return evaluate(self._calc, atoms)


def _plain(atoms: Any) -> Any:
    out = atoms.copy()
    out.calc = None
    out.set_constraint()
    out.set_momenta(None)
    out.info = {}
    return out


def _initial_frames(start: str | Path, initial: int, rattle: float, seed: int,
                    conformer_seed: int) -> tuple[Any, list[Any], bool]:  # fmt: skip
    """The MD start structure, the initial structures, and whether they are labelled already."""
    path = Path(str(start))
    if path.is_file() and path.suffix.lower() in (".extxyz", ".xyz"):
        try:
            frames = read_frames(path)
        except InputError:
            frames = []
        labelled = bool(frames) and all(
            f.calc is not None and "forces" in f.calc.results and "energy" in f.calc.results
            for f in frames
        )
        if labelled:
            take = np.unique(np.linspace(0, len(frames) - 1, min(initial, len(frames))).round())
            chosen = [frames[int(i)] for i in take]
            start_atoms = _plain(frames[0])
            return start_atoms, chosen, True
    atoms, _ = start_structure(start, conformer_seed=conformer_seed)
    atoms = _plain(atoms)
    out = []
    for k in range(initial):
        rng = np.random.default_rng([seed, 7919, k])
        copy = atoms.copy()
        copy.positions = atoms.positions + rng.normal(0.0, rattle, atoms.positions.shape)
        out.append(copy)
    return atoms, out, False


def _label_into(path: Path, frames: list[Any], infos: list[dict[str, Any]], oracle: _Oracle,
                failed_path: Path | None = None) -> list[str]:  # fmt: skip
    """Label ``frames`` into ``path`` (resumed: frames whose ``key`` is already in ``path`` or
    in ``failed_path`` are skipped); the failure messages of this call."""
    repair(path)
    done = {int(f.info["key"]) for f in read_frames(path)} if path.exists() else set()
    if failed_path is not None and failed_path.exists():
        for line in failed_path.read_text().splitlines():
            if line.strip():
                done.add(int(json.loads(line)["key"]))
    messages = []
    with FrameWriter(path) as writer:
        for key, (atoms, info) in enumerate(zip(frames, infos, strict=True)):
            if key in done:
                continue
            try:
                labels = oracle.label(atoms)
            except OracleError as exc:
                if failed_path is None:
                    raise InputError(
                        f"initial frame {key + 1}: the oracle failed ({exc})"
                    ) from None
                record = {"key": key, **info, "reason": str(exc)}
                with open(failed_path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(record) + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                messages.append(f"frame {key + 1} of the selection: {exc}")
                continue
            writer.write(_plain(atoms), labels, {"key": key, **info})
    return messages


def _save_model_atomically(model: Any, directory: Path, extra: dict[str, Any]) -> None:
    tmp = directory.with_name(directory.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    save_model(model, tmp, extra=extra)
    os.replace(tmp, directory)


def active_sample(
    start: str | Path,
    out: str | Path,
    *,
    oracle: Any = "xtb",
    oracle_options: dict[str, Any] | None = None,
    model: str = "painn",
    model_options: dict[str, Any] | None = None,
    committee: int = 3,
    rounds: int = 5,
    initial: int = 8,
    rattle: float = 0.05,
    temperature: float = 500.0,
    steps: int = 400,
    every: int = 10,
    dt: float = 0.5,
    friction: float = 0.01,
    replicas: int = 4,
    threshold: float | None = None,
    per_round: int | None = 10,
    gap: int = 2,
    max_sigma: float = 2.0,
    test: str | Path | None = None,
    seed: int = 0,
    conformer_seed: int = 0,
    progress: bool = False,
) -> ActiveSampleResult:
    """Committee-driven active sampling; see the module docstring for the procedure and files.

    Args:
        start: a structure file or SMILES (the MD start; rattled copies are the initial data),
            or an extxyz file of labelled frames (the initial data; its first frame starts MD).
        out: output directory; an existing one with the same settings is resumed.
        oracle: ``xtb``, ``dft``, ``emt`` (or an ASE calculator); ``oracle_options`` go to
            :func:`molfit.atomistic.make_oracle`.
        model: registered potential (``painn``, ``schnet``, ``equivariant``, ``dimenet++``);
            ``model_options`` override :data:`DEFAULT_MODEL_OPTIONS`.
        committee: committee members (>= 2; 3 or more for a meaningful σ).
        rounds: MD + selection rounds. initial: initial frames. rattle: Å, displacement σ.
        temperature: K. steps, every: MD steps per replica per round, and frames every
            ``every`` steps (the candidates). dt: fs. friction: 1/fs. replicas: MD copies.
        threshold: eV/Å, only frames whose largest per-atom force σ exceeds it are labelled.
        per_round: at most this many labels per round (``None``: all above ``threshold``).
        gap: frames; de-duplication in time (see :func:`select_frames`).
        max_sigma: eV/Å, stop a round's MD when a force component's committee σ exceeds it.
        test: extxyz of labelled frames (never trained on) for errors per round.
        seed: seeds the rattling, the committee and the MD.

    Raises:
        InputError: an unknown oracle or model, a start that cannot be read, bad settings, or
            ``out`` holding a run with other settings.
    """
    if isinstance(oracle, str) and oracle.lower() not in ORACLES:
        raise InputError(f"unknown oracle {oracle!r}; available: {', '.join(ORACLES)}")
    if committee < 2:
        raise InputError(f"--committee must be at least 2 (σ needs members), got {committee}")
    if rounds < 1 or initial < 2 or replicas < 1:
        raise InputError(
            f"--rounds and --replicas must be >= 1 and --initial >= 2, got {rounds}, {replicas}, "
            f"{initial}"
        )
    if threshold is None and per_round is None:
        raise InputError("give a --threshold, a --per-round count, or both")
    if per_round is not None and per_round < 1:
        raise InputError(f"--per-round must be at least 1, got {per_round}")
    if threshold is not None and not threshold > 0:
        raise InputError(f"--threshold must be positive (eV/Å), got {threshold}")
    if not max_sigma > 0 or rattle < 0 or gap < 0:
        raise InputError("--max-sigma must be positive, --rattle and --gap >= 0")
    options = {**DEFAULT_MODEL_OPTIONS, **(model_options or {})}
    get_model(model, **options)  # an unknown model or option fails here, before any work
    start_atoms, initial_frames, labelled = _initial_frames(
        start, initial, rattle, seed, conformer_seed
    )
    test_frames = read_frames(test) if test is not None else None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    oracle_run = _Oracle(oracle, dict(oracle_options or {}))
    settings = {
        "start": str(start), "oracle": oracle_run.name, "oracle_options": oracle_options or {},
        "model": model, "model_options": options, "committee": committee, "rounds": rounds,
        "initial": initial, "rattle": rattle, "temperature_K": temperature, "steps": steps,
        "every": every, "dt_fs": dt, "friction": friction, "replicas": replicas,
        "threshold": threshold, "per_round": per_round, "gap": gap, "max_sigma": max_sigma,
        "seed": seed, "conformer_seed": conformer_seed,
    }  # fmt: skip
    settings_path = out / "settings.json"
    if settings_path.exists():
        old = json.loads(settings_path.read_text())
        differ = [f"{k}={old.get(k)!r} (now {v!r})" for k, v in settings.items()
                  if old.get(k) != json.loads(json.dumps(v))]  # fmt: skip
        if differ:
            raise InputError(
                f"{out} holds an active-sampling run with other settings ({', '.join(differ)}); "
                "give the same settings to resume it, or another --out"
            )
    else:
        _write_json(settings_path, settings)

    result = ActiveSampleResult(out)
    initial_path = out / "initial.extxyz"
    if labelled:
        if repair(initial_path) < len(initial_frames):
            tmp = out / "initial.extxyz.tmp"
            tmp.unlink(missing_ok=True)
            with FrameWriter(tmp) as writer:
                for key, frame in enumerate(initial_frames):
                    labels = {"energy": frame.get_potential_energy(), "forces": frame.get_forces()}
                    writer.write(_plain(frame), labels, {"key": key, "round": -1})
            os.replace(tmp, initial_path)
    else:
        _label_into(initial_path, initial_frames, [{"round": -1}] * len(initial_frames),
                    oracle_run)  # fmt: skip

    data_files = [initial_path]
    previous_selected: list[Any] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=rounds, unit="round", file=sys.stderr, leave=False)
    for k in range(rounds):
        rdir = out / f"round_{k:02d}"
        rdir.mkdir(exist_ok=True)
        metrics_path = rdir / "metrics.json"
        if metrics_path.exists():  # done in an earlier run
            metrics = json.loads(metrics_path.read_text())
            result.rounds.append(metrics)
            data_files.append(rdir / "labelled.extxyz")
            previous_selected = (
                read_frames(rdir / "labelled.extxyz") if metrics["n_labelled"] else []
            )
            if bar is not None:
                bar.update(1)
            if metrics["n_selected"] == 0:
                if metrics["md_stopped"]:
                    result.stopped = f"round {k}: the MD stopped before any frame"
                else:
                    result.converged = True
                break
            continue
        t_round = time.perf_counter()
        data = [f for path in data_files if path.exists() for f in read_frames(path)]
        committee_model, train_s = _trained(rdir / "model", data, model, options, committee,
                                            seed, {"active_round": k})  # fmt: skip
        metrics: dict[str, Any] = {"round": k, "n_labels": len(data), "train_seconds": train_s}
        if previous_selected:  # did retraining lower σ where the previous round asked?
            metrics["sigma_previous_selected_after"] = float(
                frame_sigma(committee_model, previous_selected).mean()
            )
        if test_frames is not None:
            metrics["test"] = _errors(committee_model, test_frames)
        md = _committee_md(
            rdir,
            start_atoms,
            committee_model,
            replicas=replicas,
            temperature=temperature,
            dt=dt,
            steps=steps,
            every=every,
            friction=friction,
            seed=seed * 1000 + k,
            max_sigma=max_sigma,
        )
        md_path = rdir / "md.extxyz"
        candidates = read_frames(md_path) if md["n_frames"] else []
        sigma = frame_sigma(committee_model, candidates)
        replica = np.array([int(f.info["replica"]) for f in candidates], dtype=int)
        index = np.array([int(f.info["step"]) // every for f in candidates], dtype=int)
        selected_path = rdir / "selected.json"
        if selected_path.exists():
            chosen = [int(c["candidate"]) for c in json.loads(selected_path.read_text())]
        else:
            chosen = select_frames(sigma, replica, index, threshold=threshold,
                                   per_round=per_round, gap=gap)  # fmt: skip
            _write_json(
                selected_path,
                [
                    {
                        "candidate": c,
                        "replica": int(replica[c]),
                        "step": int(candidates[c].info["step"]),
                        "sigma_eV_A": float(sigma[c]),
                    }
                    for c in chosen
                ],
            )
        infos = [{"round": k, "replica": int(replica[c]), "step": int(candidates[c].info["step"]),
                  "sigma_eV_A": float(sigma[c])} for c in chosen]  # fmt: skip
        labelled_path = rdir / "labelled.extxyz"
        failures = _label_into(labelled_path, [_plain(candidates[c]) for c in chosen], infos,
                               oracle_run, rdir / "failed.jsonl")  # fmt: skip
        for message in failures:
            print(f"round {k}: skipped {message}", file=sys.stderr)
        new = read_frames(labelled_path) if labelled_path.exists() and chosen else []
        n_failed = 0
        if (rdir / "failed.jsonl").exists():
            n_failed = sum(1 for line in (rdir / "failed.jsonl").read_text().splitlines() if line)
        metrics.update({
            "md_frames": md["n_frames"], "md_steps": md["n_frames"] * every,
            "md_stopped": md["stopped"], "md_steps_per_second": md["steps_per_second"],
            "sigma_max_eV_A": float(sigma.max()) if sigma.size else float("nan"),
            "sigma_median_eV_A": float(np.median(sigma)) if sigma.size else float("nan"),
            "n_candidates": int(sigma.size),
            "n_above_threshold": int((sigma > threshold).sum()) if threshold else None,
            "n_selected": len(chosen), "n_labelled": len(new), "n_failed": n_failed,
            "sigma_selected_mean_eV_A": float(sigma[chosen].mean()) if chosen else float("nan"),
            # labels made for this round, whichever process made them
            "oracle_calls": len(new) + n_failed,
            "seconds": time.perf_counter() - t_round,
        })  # fmt: skip
        _write_json(metrics_path, metrics)
        result.rounds.append(metrics)
        data_files.append(labelled_path)
        previous_selected = new
        if bar is not None:
            bar.update(1)
        if not chosen:
            if md["stopped"]:
                result.stopped = f"round {k}: the MD stopped before any frame: {md['stopped']}"
            else:
                result.converged = True
            break
    if bar is not None:
        bar.close()

    data = [f for path in data_files if path.exists() for f in read_frames(path)]
    final, train_s = _trained(out / "model", data, model, options, committee, seed,
                              {"active_round": "final"})  # fmt: skip
    summary: dict[str, Any] = {
        "n_labels": len(data),
        "rounds": len(result.rounds),
        "converged": result.converged,
        "stopped": result.stopped,
        "final_train_seconds": train_s,
    }
    if previous_selected:
        summary["sigma_previous_selected_after"] = float(
            frame_sigma(final, previous_selected).mean()
        )
    if test_frames is not None:
        result.test = _errors(final, test_frames)
        summary["test"] = result.test
    data_path = out / "data.extxyz"
    if not data_path.exists() or repair(data_path) != len(data):
        tmp = out / "data.extxyz.tmp"
        tmp.unlink(missing_ok=True)
        with FrameWriter(tmp) as writer:
            for f in data:
                writer.write(f, {"energy": f.get_potential_energy(), "forces": f.get_forces()},
                             {k: v for k, v in f.info.items() if np.isscalar(v)})  # fmt: skip
        os.replace(tmp, data_path)
    result.n_labels = len(data)
    # every label the oracle made for this run, whichever process made it
    result.n_oracle_calls = (0 if labelled else len(initial_frames)) + sum(
        m["oracle_calls"] for m in result.rounds
    )
    result.n_oracle_calls_this_process = oracle_run.calls
    summary["oracle_calls"] = result.n_oracle_calls
    _write_json(out / "metrics.json", summary)
    result.model = out / "model"
    return result


def _trained(directory: Path, data: list[Any], model: str, options: dict[str, Any],
             committee: int, seed: int, extra: dict[str, Any]) -> tuple[Any, float]:  # fmt: skip
    """The committee saved in ``directory`` (trained on ``data`` first when it is not there);
    always read back from disk, so a resumed run uses the very same weights."""
    from molfit.structures import Structures
    from molfit.train import Runtime

    seconds = 0.0
    if not directory.is_dir():
        t0 = time.perf_counter()
        estimator = get_model(model, **options, ensemble=committee, seed=seed)
        estimator.fit(Structures.from_atoms(data), None, runtime=Runtime(progress_bar=False))
        seconds = time.perf_counter() - t0
        _save_model_atomically(estimator, directory, {**extra, "n_train": len(data)})
    return load_model(directory), seconds


def _committee_md(rdir: Path, start_atoms: Any, model: Any, **options: Any) -> dict[str, Any]:
    """A round's committee MD (``md.extxyz``) and its summary (``md.json``).

    The trajectory is written to ``md.partial.extxyz`` and renamed when the MD ends, so a kill
    during it reruns the round's MD from its start: extxyz stores positions and momenta to 8
    decimals, and a trajectory resumed from them drifts from the uninterrupted one by round-off,
    which would change the selection. The committee's MD is seconds; the oracle labels and the
    training, the expensive parts, resume where they stopped.
    """
    summary_path = rdir / "md.json"
    if summary_path.exists() and (rdir / "md.extxyz").exists():
        return json.loads(summary_path.read_text())
    partial = rdir / "md.partial.extxyz"
    partial.unlink(missing_ok=True)
    md = run_replicas([start_atoms], Calculator(model), partial, ensemble="langevin",
                      n_replicas=options.pop("replicas"), progress=False, **options)  # fmt: skip
    summary = {"n_frames": int(md.n_frames), "stopped": md.stopped,
               "steps_per_second": float(md.steps_per_second)}  # fmt: skip
    if partial.exists():
        os.replace(partial, rdir / "md.extxyz")
    else:
        (rdir / "md.extxyz").write_text("")
    _write_json(summary_path, summary)
    return summary
