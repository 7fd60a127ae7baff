"""``screen``: predict a saved run over a library of any size, chunk by chunk, resumably.

Layout of ``out_dir``::

    part-00000.parquet ...  one part per chunk of ``chunk_size`` library rows, every row kept
    progress.json           config of the screen + parts done; rewritten atomically after each
    summary.json            counts, score statistics, first errors (at the end)
    top.csv                 the ``top`` best rows by score (at the end)

Each part is written to a temporary file and renamed into place, then ``progress.json`` is
replaced the same way, so a run killed at any moment (``kill -9``) leaves complete parts and a
progress file that names them; running the same command again skips the library rows of the
finished parts and goes on with the next one. ``summary.json`` and ``top.csv`` are computed
from the parts alone, so a resumed screen ends with the same files as an uninterrupted one. At
most one chunk of work is lost by a kill.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from molfit.errors import InputError
from molfit.screen._filters import apply_filters, check_filters
from molfit.screen._library import LibraryChunk, iter_library, library_format, resolve_library

PROGRESS = "progress.json"
SUMMARY = "summary.json"
REPORT = "summary.html"
TOP = "top.csv"
FORMAT_VERSION = 2  # 2: the dedupe key column only with --dedupe; several runs


@dataclass
class ScreenSummary:
    """What a screen did.

    Attributes:
        out_dir: the output folder.
        n_rows: library rows read (good and bad).
        n_predicted: rows with a prediction.
        n_failed: rows without one (``error`` column says why).
        n_outside_domain: predicted rows outside the applicability domain (several runs:
            outside the domain of at least one).
        n_duplicates: rows whose canonical SMILES or InChIKey came earlier (``--dedupe``).
        n_flagged: rows failing the requested filters, by filter (``pains``, ``brenk``,
            ``lipinski``: more than one rule-of-five violation).
        n_parts: parts written.
        resumed_parts: parts found done when this call started (0 for a fresh screen).
        score_column: the column ranked by ``top`` (``probability`` or a prediction;
            ``ensemble_score`` for several runs).
        score_stats: ``min``/``mean``/``max`` and the 5/50/95 % quantiles of the score over
            the predicted rows.
        top: the path of ``top.csv``.
        n_top: rows in ``top.csv``.
        report: the path of ``summary.html`` (self-contained: score distributions, domain
            fraction, the top hits drawn).
        models: several runs: per run ``label``, ``score_column``, ``direction``,
            ``n_predicted``, ``n_outside_domain``, ``score_stats`` (empty for one run).
        ranking: several runs: ``ensemble`` or ``pareto`` (``top.csv``'s order).
        errors: the first 20 bad rows, ``"row N: reason"``.
        input_error: why reading the library stopped early (a truncated gzip), else ``""``.
        seconds: wall time of this call.
    """

    out_dir: Path
    n_rows: int = 0
    n_predicted: int = 0
    n_failed: int = 0
    n_outside_domain: int = 0
    n_duplicates: int = 0
    n_flagged: dict[str, int] = field(default_factory=dict)
    n_parts: int = 0
    resumed_parts: int = 0
    score_column: str = ""
    score_stats: dict[str, float] = field(default_factory=dict)
    top: Path | None = None
    n_top: int = 0
    report: Path | None = None
    models: list[dict[str, Any]] = field(default_factory=list)
    ranking: str = ""
    errors: list[str] = field(default_factory=list)
    input_error: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["out_dir"] = str(self.out_dir)
        out["top"] = str(self.top) if self.top is not None else None
        out["report"] = str(self.report) if self.report is not None else None
        return out


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _write_parquet_atomic(path: Path, frame: pd.DataFrame) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def part_path(out_dir: Path, index: int) -> Path:
    """``out_dir/part-00000.parquet`` for chunk ``index``."""
    return out_dir / f"part-{index:05d}.parquet"


DEDUPE_KEYS = {"smiles": "canonical_smiles", "inchikey": "inchikey"}


def check_dedupe(dedupe: bool | str | None) -> str | None:
    """``None`` (no dedupe), ``"smiles"`` (``True`` means this) or ``"inchikey"``."""
    if dedupe is None or dedupe is False or dedupe == "":
        return None
    if dedupe is True:
        return "smiles"
    key = str(dedupe).strip().lower()
    if key not in DEDUPE_KEYS:
        raise InputError(f"--dedupe: {dedupe!r} is not one of smiles, inchikey")
    return key


def _molecule_key(mol: Any, kind: str) -> str:
    from rdkit import Chem

    if mol is None:
        return ""
    if kind == "smiles":
        return Chem.MolToSmiles(mol)
    try:
        return Chem.MolToInchiKey(mol) or ""
    except Exception:  # RDKit's InChI layer raises on a few exotic molecules: no key, no dedupe
        return ""


class ChunkScreener:
    """Picklable per-chunk job: parse once, featurize once per featurizer, predict with each
    model, filter. Models are loaded once per process (inherited by forked workers; re-loaded
    once by a worker that receives a pickled copy).

    Args:
        run_dirs: one run directory, or several (then every model column is prefixed with its
            ``label/``).
        filters: filter names (:func:`molfit.screen.check_filters`).
        units: the targets' units of each run, ``{target: unit}``.
        models: the loaded models, in the order of ``run_dirs`` (else loaded lazily).
        labels: the column prefix of each run (several runs only).
        dedupe: ``"smiles"`` (a ``canonical_smiles`` column), ``"inchikey"`` (an ``inchikey``
            column) or ``None`` (neither: canonical SMILES cost about a third of a parse).
    """

    def __init__(
        self,
        run_dirs: str | Sequence[str],
        filters: list[str],
        units: dict[str, str] | Sequence[dict[str, str]],
        model: Any = None,
        *,
        models: Sequence[Any] | None = None,
        labels: Sequence[str] | None = None,
        dedupe: str | None = "smiles",
    ):
        single = isinstance(run_dirs, str)
        self.run_dirs = [run_dirs] if single else list(run_dirs)
        self.filters = filters
        self.units = [units] if isinstance(units, dict) else list(units)
        if model is not None:
            models = [model]
        self._models = list(models) if models is not None else [None] * len(self.run_dirs)
        self.labels = list(labels) if labels is not None else None
        self.dedupe = dedupe

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_models"] = [None] * len(self.run_dirs)
        return state

    @property
    def models(self) -> list[Any]:
        if any(m is None for m in self._models):
            from molfit.workflows import load_run_model

            self._models = [
                m if m is not None else load_run_model(d)
                for m, d in zip(self._models, self.run_dirs, strict=True)
            ]
        return self._models

    @property
    def model(self) -> Any:
        """The first (for one run: the) model."""
        return self.models[0]

    def __call__(self, chunks: Sequence[LibraryChunk]) -> list[tuple[int, pd.DataFrame]]:
        return [(chunk.index, self.screen_chunk(chunk)) for chunk in chunks]

    def screen_chunk(self, chunk: LibraryChunk) -> pd.DataFrame:
        """One output part: ``row``, ``name``, ``smiles``, the dedupe key column, the model's
        columns (units in names), ``score``, filter columns, ``error``. Several runs: each
        run's columns, ``score`` and ``error`` as ``label/column``, then a row ``error`` that
        joins the parse error and the runs' errors (``label: reason``)."""
        from rdkit import RDLogger

        from molfit.chem import parse_smiles

        RDLogger.DisableLog("rdApp.*")
        mols: list[Any] = []
        reasons: dict[int, str] = dict(chunk.errors)
        for i, s in enumerate(chunk.smiles):
            if i in reasons:
                mols.append(None)
                continue
            try:
                mols.append(parse_smiles(s))
            except InputError as exc:
                reasons[i] = str(exc)
                mols.append(None)
        valid = [i for i, m in enumerate(mols) if m is not None]
        shared: dict[str, np.ndarray] = {}
        out = pd.DataFrame(
            {
                "row": np.asarray(chunk.rows, dtype=np.int64),
                "name": chunk.names,
                "smiles": chunk.smiles,
            }
        )
        if self.dedupe is not None:
            out[DEDUPE_KEYS[self.dedupe]] = [_molecule_key(m, self.dedupe) for m in mols]
        columns: list[pd.DataFrame] = [out]
        row_errors = [reasons.get(i, "") for i in range(len(mols))]
        for m, (model, units) in enumerate(zip(self.models, self.units, strict=True)):
            key = model.feature_key() if hasattr(model, "feature_key") else None
            features = None
            if key is not None and valid:
                if key not in shared:
                    part = model.featurize([mols[i] for i in valid])
                    full = np.zeros((len(mols), part.shape[1]), dtype=part.dtype)
                    full[valid] = part
                    shared[key] = full
                features = shared[key]
            table = _model_columns(model, mols, features, units, reasons)
            if self.labels is None:
                columns.append(table)
                continue
            label = self.labels[m]
            for i, reason in enumerate(table["error"].tolist()):
                if reason and i not in reasons:
                    joined = f"{label}: {reason}"
                    row_errors[i] = f"{row_errors[i]}; {joined}" if row_errors[i] else joined
            columns.append(table.add_prefix(f"{label}/"))
        out = pd.concat(columns, axis=1)
        for column, values in apply_filters(mols, self.filters).items():
            if column != "passes_filters" or self.filters:
                out[column] = values
        if self.labels is None:
            out["error"] = out.pop("error")
        else:
            out["error"] = row_errors
        return out


def _model_columns(
    model: Any,
    mols: list[Any],
    features: np.ndarray | None,
    units: dict[str, str],
    reasons: dict[int, str],
) -> pd.DataFrame:
    """One model's columns of a part: its prediction frame (units in the names), ``score``
    (class-1 probability, else the first prediction) and ``error`` last."""
    kwargs = {} if features is None else {"features": features}
    table = model.predict(mols, **kwargs).to_frame(None)
    for i, reason in reasons.items():
        table.iloc[i, table.columns.get_loc("error")] = reason
    score = table["probability"] if "probability" in table else table[_first_prediction(table)]
    rename = {}
    single = len(units) == 1
    for target, unit in units.items():
        prefix = "" if single else f"{target}_"
        for base in ("prediction", "std", "lower", "upper"):
            if prefix + base in table.columns and unit:
                rename[prefix + base] = f"{prefix + base} [{unit}]"
    table = table.rename(columns=rename).reset_index(drop=True)
    error = table.pop("error").astype(str).to_numpy()
    table["score"] = pd.to_numeric(score, errors="coerce").astype(np.float64).to_numpy()
    table["error"] = error
    return table


def _first_prediction(table: pd.DataFrame) -> str:
    for c in table.columns:
        if str(c).endswith("prediction") and table[c].dtype.kind == "f":
            return str(c)
    raise InputError("the run's predictions have no numeric prediction column to rank by")


def _key(canonical: str) -> int:
    return int.from_bytes(hashlib.blake2b(canonical.encode(), digest_size=8).digest(), "little")


def _mark_duplicates(frame: pd.DataFrame, seen: dict[int, int], column: str) -> None:
    first: list[Any] = []
    for row, smi in zip(frame["row"].tolist(), frame[column].tolist(), strict=True):
        if not smi:
            first.append(pd.NA)
            continue
        key = _key(smi)
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = row
            first.append(pd.NA)
        else:
            first.append(earlier)
    frame["duplicate_of"] = pd.array(first, dtype="Int64")


def _library_identity(resolved: Path | str) -> dict[str, Any]:
    if isinstance(resolved, str):
        return {"library": resolved}
    stat = resolved.stat()
    return {
        "library": str(resolved.resolve()),
        "library_bytes": stat.st_size,
        "library_mtime_ns": stat.st_mtime_ns,
    }


def _total_rows(resolved: Path | str) -> int | None:
    if isinstance(resolved, str):
        from molfit.data import info

        return info(resolved).n_molecules
    from molfit.data import moses_file

    try:
        if resolved.resolve() == moses_file().resolve():
            from molfit.data import info

            return info("moses").n_molecules
    except InputError:
        pass
    fmt, gz = library_format(resolved)
    if gz or fmt == "sdf" or resolved.stat().st_size > 2 << 30:
        return None
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(resolved).metadata.num_rows)
    n, last = 0, b"\n"
    with resolved.open("rb") as fh:
        while block := fh.read(1 << 20):
            n += block.count(b"\n")
            last = block[-1:]
    n += last != b"\n"
    return max(n - (fmt != "smi"), 0)


def _labels(run_dirs: Sequence[Path]) -> list[str]:
    """Column prefix of each run: its folder name, made unique by a ``-2``, ``-3`` suffix."""
    labels: list[str] = []
    for d in run_dirs:
        base = d.name or "run"
        label, n = base, 1
        while label in labels:
            n += 1
            label = f"{base}-{n}"
        labels.append(label)
    return labels


def screen(
    run_dir: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    library: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    chunk_size: int = 2_000,
    top: int = 100,
    diverse: bool = False,
    filters: Sequence[str] | str | None = None,
    dedupe: bool | str | None = False,
    workers: int = 1,
    smiles_column: str | None = None,
    lowest: bool = False,
    minimize: Sequence[str | os.PathLike[str]] | None = None,
    rank: str = "ensemble",
    progress: bool = True,
    dask: bool = False,
    scheduler: str | None = None,
    _stop_after_parts: int | None = None,
) -> ScreenSummary:
    """Screen ``library`` with the saved run ``run_dir`` (or several runs in one pass); write
    parts, ``summary.json``, ``summary.html`` and ``top.csv`` to ``out_dir`` (resumes a screen
    that ``out_dir`` holds).

    Args:
        run_dir: a molecule run directory written by ``molfit train``, or a list of them: then
            the library is read, parsed and featurized once per chunk (models with the same
            featurizer share one matrix) and each run's columns are prefixed ``label/`` (its
            folder name); ``top.csv`` is ranked by ``rank``.
        library: a ``.smi``/``.csv``/``.tsv``/``.parquet``/``.sdf`` file (``.gz`` allowed but
            for Parquet) or a built-in dataset name, e.g. ``"moses"``.
        out_dir: output folder (created; an existing screen there with the same runs, library
            and options is resumed).
        chunk_size: library rows per part (memory grows with it, not with the library).
        top: rows in ``top.csv``, ranked by ``score`` (class-1 probability, or the first
            target's prediction); rows with an error, failing a filter or duplicates are never
            ranked.
        diverse: pick the ``top`` by RDKit's MaxMin picker on ECFP4 (2048 bits, Tanimoto)
            from the ``10 * top`` best, starting with the best one, instead of the plain best.
        filters: any of ``pains``, ``brenk``, ``lipinski`` (list or comma-separated).
        dedupe: ``"smiles"`` (or ``True``: canonical RDKit SMILES, a ``canonical_smiles``
            column) or ``"inchikey"`` (standard InChIKey, an ``inchikey`` column): flag rows
            whose key appeared earlier (``duplicate_of`` = that earlier row) and leave them out
            of ``top.csv``.
        workers: processes predicting chunks (molfit.parallel; forked, each with the models
            loaded once); results do not depend on it.
        smiles_column: the SMILES column of a table (default: detected).
        lowest: rank the lowest scores first (every run).
        minimize: the runs (as given in ``run_dir``, or their labels) whose lowest scores rank
            first, e.g. a predicted toxicity; the others rank highest first.
        rank: several runs: ``"ensemble"`` (mean z-score of the oriented scores) or
            ``"pareto"`` (non-dominated fronts, then the mean z-score within a front).
        progress: progress bar (molecules/s) on stderr.
        dask: run the chunks on a new ``dask.distributed`` LocalCluster of ``workers``
            single-threaded processes on 127.0.0.1 (``pip install 'molfit[dask]'``).
        scheduler: run them on the Dask cluster at this address (``tcp://HOST:PORT``); its
            workers must see the run directories at the same path and load the models once
            each. Either way the parts equal a local run's.

    Returns:
        A :class:`ScreenSummary` (also written to ``summary.json``).

    Raises:
        InputError: a bad run, library, option, or an ``out_dir`` holding something else. A
            library that cannot be read to its end (truncated gzip) raises after the parts
            read so far, ``summary.json``, ``summary.html`` and ``top.csv`` have been written.
    """
    from tqdm.auto import tqdm

    from molfit.parallel import Executor
    from molfit.workflows import RunDirectory, open_run

    t0 = time.perf_counter()
    if chunk_size < 1:
        raise InputError(f"--chunk-size must be >= 1, got {chunk_size}")
    if top < 0:
        raise InputError(f"--top must be >= 0, got {top}")
    from molfit.screen._rank import RANKINGS

    if rank not in RANKINGS:
        raise InputError(f"--rank: {rank!r} is not one of {', '.join(RANKINGS)}")
    names = check_filters(filters)
    key = check_dedupe(dedupe)
    single = isinstance(run_dir, str | os.PathLike)
    run_paths = [Path(run_dir)] if single else [Path(d) for d in run_dir]  # type: ignore[union-attr]
    if not run_paths:
        raise InputError("screen: give at least one run directory")
    labels = _labels([p.resolve() for p in run_paths])
    wanted_min = {str(m) for m in (minimize or [])}
    known = {str(p) for p in run_paths} | {str(p.resolve()) for p in run_paths} | set(labels)
    unknown = sorted(wanted_min - known)
    if unknown:
        raise InputError(f"--minimize {unknown[0]}: not one of the runs ({', '.join(labels)})")
    maximize = [
        not (lowest or {str(p), str(p.resolve()), label} & wanted_min)
        for p, label in zip(run_paths, labels, strict=True)
    ]
    for p in run_paths:
        if RunDirectory(p).check().input_kind != "molecules":
            raise InputError(f"{p}: a 3D (structure) run cannot screen a SMILES library")
    resolved = resolve_library(library)
    if not isinstance(resolved, str):
        library_format(resolved)
    models, units = [], []
    for p in run_paths:
        run, _, model = open_run(p)
        targets = list(model.targets_)
        models.append(model)
        units.append(
            {t: (run.run_config.get("targets") or {}).get(t, {}).get("unit", "") for t in targets}
        )
    out = Path(out_dir)
    runs = [str(p.resolve()) for p in run_paths]
    config = {
        "format": FORMAT_VERSION,
        **({"run": runs[0]} if len(runs) == 1 else {"runs": runs}),
        **_library_identity(resolved),
        "chunk_size": chunk_size,
        "filters": names,
        "dedupe": key or False,
        "smiles_column": smiles_column,
    }
    key_column = DEDUPE_KEYS[key] if key else None
    done = _start(out, config)
    summary = ScreenSummary(out_dir=out, resumed_parts=done)
    seen: dict[int, int] = {}
    if key_column:
        for i in range(done):
            part = pd.read_parquet(part_path(out, i), columns=["row", key_column])
            for row, value in zip(part["row"].tolist(), part[key_column], strict=True):
                if value:
                    seen.setdefault(_key(value), row)
    state: dict[str, Any] = {"rows_done": 0}
    if done:
        state["rows_done"] = int(_read_progress(out)["rows_done"])

    def pending() -> Iterator[LibraryChunk]:
        try:
            for chunk in iter_library(resolved, chunk_size, smiles_column=smiles_column):
                if chunk.index >= done:
                    yield chunk
        except InputError as exc:
            state["input_error"] = exc

    worker = ChunkScreener(
        runs[0] if len(runs) == 1 else runs,
        names,
        units,
        models=models,
        labels=None if len(runs) == 1 else labels,
        dedupe=key,
    )
    total = _total_rows(resolved)
    bar = tqdm(
        total=total,
        initial=state["rows_done"],
        desc="screen",
        unit="mol",
        unit_scale=True,
        disable=not progress,
        file=sys.stderr,
        smoothing=0.1,
        leave=False,
    )
    backend = "processes" if workers > 1 else "serial"
    if dask or scheduler is not None:
        backend = "dask"
    parts = done
    try:
        with Executor(backend, n_workers=workers, chunk_size=1, address=scheduler) as executor:
            for results in executor.imap(worker, pending(), chunk_size=1):
                for index, frame in results:
                    if key_column:
                        _mark_duplicates(frame, seen, key_column)
                    _write_parquet_atomic(part_path(out, index), frame)
                    parts = index + 1
                    state["rows_done"] += len(frame)
                    _write_json_atomic(
                        out / PROGRESS,
                        {
                            "config": config,
                            "parts_done": parts,
                            "rows_done": state["rows_done"],
                            "complete": False,
                        },
                    )
                    bar.update(len(frame))
                    if _stop_after_parts is not None and parts - done >= _stop_after_parts:
                        raise _Stopped(parts)
    except _Stopped:
        return summary
    finally:
        bar.close()
    input_error = state.get("input_error")
    setup = _Setup(
        top=top,
        diverse=diverse,
        filters=names,
        dedupe=key_column is not None,
        labels=None if len(runs) == 1 else labels,
        maximize=maximize,
        rank=rank,
        run_labels=labels,
    )
    summary, page = _finalize(out, parts, setup, summary)
    summary.input_error = str(input_error) if input_error is not None else ""
    summary.seconds = round(time.perf_counter() - t0, 3)
    from molfit.screen._report import write_report

    title = f"molfit screen: {library}"
    write_report(out / REPORT, page(title, summary))
    _write_json_atomic(out / SUMMARY, summary.to_json())
    _write_json_atomic(
        out / PROGRESS,
        {
            "config": config,
            "parts_done": parts,
            "rows_done": state["rows_done"],
            "complete": input_error is None,
        },
    )
    if input_error is not None:
        raise input_error
    return summary


@dataclass
class _Setup:
    """The options of the last step (they may change between calls of a finished screen)."""

    top: int
    diverse: bool
    filters: list[str]
    dedupe: bool
    labels: list[str] | None
    maximize: list[bool]
    rank: str
    run_labels: list[str]


class _Stopped(Exception):
    """Test hook: stop after N parts, as a kill would (no summary)."""


def _read_progress(out: Path) -> dict[str, Any]:
    try:
        return json.loads((out / PROGRESS).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{out / PROGRESS}: unreadable progress file ({exc})") from None


def _start(out: Path, config: dict[str, Any]) -> int:
    """Parts already done in ``out`` for this ``config`` (0 for a new screen)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    if (out / PROGRESS).is_file():
        previous = _read_progress(out)
        if previous.get("config") != config:
            old = previous.get("config", {})
            diff = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
            raise InputError(
                f"--out {out}: holds a screen with other settings ({', '.join(diff)} differ); "
                "use another --out folder, or delete this one to start again"
            )
        done = int(previous.get("parts_done", 0))
        for i in range(done):
            if not part_path(out, i).is_file():
                raise InputError(f"{out}: {part_path(out, i).name} is missing; start again")
        return done
    if out.is_dir() and any(out.iterdir()):
        raise InputError(f"--out {out}: the folder is not empty and holds no screen")
    out.mkdir(parents=True, exist_ok=True)
    return 0


def _score_column_of(frame: pd.DataFrame, prefix: str = "") -> str:
    for c in frame.columns:
        if not c.startswith(prefix):
            continue
        base = c[len(prefix) :]
        if base == "probability" or base.startswith("prediction"):
            return base
    return ""


def _eligible(frame: pd.DataFrame, setup: _Setup) -> pd.Series:
    ok = frame["error"].astype(str) == ""
    if setup.filters:
        ok &= frame["passes_filters"].astype(bool)
    if setup.dedupe:
        ok &= frame["duplicate_of"].isna()
    return ok


def _count_common(frame: pd.DataFrame, setup: _Setup, summary: ScreenSummary) -> None:
    failed = frame["error"].astype(str) != ""
    summary.n_rows += len(frame)
    summary.n_failed += int(failed.sum())
    for row, reason in zip(frame["row"][failed][:20], frame["error"][failed][:20], strict=True):
        if len(summary.errors) < 20:
            summary.errors.append(f"row {row}: {reason}")
    flagged = summary.n_flagged
    if "pains" in flagged:
        flagged["pains"] += int((frame["pains"] != "").sum())
    if "brenk" in flagged:
        flagged["brenk"] += int((frame["brenk"] != "").sum())
    if "lipinski" in flagged:
        flagged["lipinski"] += int((frame["lipinski_violations"] > 1).sum())
    if setup.dedupe:
        summary.n_duplicates += int(frame["duplicate_of"].notna().sum())


def _finalize(out: Path, parts: int, setup: _Setup, summary: ScreenSummary) -> tuple[Any, Any]:
    """Counts and ``top.csv`` from the parts alone (so a resumed screen ends the same); returns
    the summary and a function ``(title, summary) -> HTML page``."""
    from molfit.screen._report import ModelPanel, histogram, render
    from molfit.workflows import write_table_atomic

    summary.n_flagged = dict.fromkeys(setup.filters, 0)
    if setup.labels is None:
        hits, scores, n_in, n_pred = _top_single(out, parts, setup, summary)
        counts, edges = histogram(scores)
        panels = [
            ModelPanel(
                label=setup.run_labels[0],
                score_column=summary.score_column,
                counts=counts,
                edges=edges,
                n_predicted=n_pred,
                n_in_domain=n_in,
                direction="max" if setup.maximize[0] else "min",
            )
        ]
        shown = ["score", summary.score_column]
    else:
        hits, panels = _top_multi(out, parts, setup, summary)
        shown = ["ensemble_score", "pareto_front"] if setup.rank == "pareto" else ["ensemble_score"]
        shown += [f"{label}/score" for label in setup.labels]
    summary.n_parts = parts
    summary.n_predicted = summary.n_rows - summary.n_failed
    hits = hits.reset_index(drop=True)
    hits.insert(0, "rank", np.arange(1, len(hits) + 1))
    summary.top = write_table_atomic(hits, out / TOP)
    summary.n_top = len(hits)
    summary.report = out / REPORT

    def page(title: str, done: ScreenSummary) -> str:
        counts: dict[str, object] = {
            "library rows": done.n_rows,
            "predicted": done.n_predicted,
            "failed (error column)": done.n_failed,
            "outside the applicability domain": done.n_outside_domain,
            "duplicates": done.n_duplicates,
            **{f"flagged by {k}": v for k, v in done.n_flagged.items()},
            "parts": done.n_parts,
            "ranked by": done.score_column if setup.labels is None else setup.rank,
            "seconds (this call)": done.seconds,
        }
        return render(title, panels, hits, counts, shown)

    return summary, page


def _top_single(
    out: Path, parts: int, setup: _Setup, summary: ScreenSummary
) -> tuple[pd.DataFrame, np.ndarray, int, int]:
    lowest = not setup.maximize[0]
    pool_size = setup.top * 10 if setup.diverse else setup.top
    pool: pd.DataFrame | None = None
    scores: list[np.ndarray] = []
    n_in = 0
    for i in range(parts):
        frame = pd.read_parquet(part_path(out, i))
        if not summary.score_column:
            summary.score_column = _score_column_of(frame)
        _count_common(frame, setup, summary)
        failed = frame["error"].astype(str) != ""
        if "in_domain" in frame:
            inside = frame["in_domain"].astype(bool) & ~failed
            n_in += int(inside.sum())
            summary.n_outside_domain += int((~failed).sum()) - int(inside.sum())
        ok = _eligible(frame, setup)
        scores.append(frame["score"][~failed].to_numpy(dtype=np.float64))
        if pool_size:
            pool = _best(
                pd.concat([pool, frame[ok]]) if pool is not None else frame[ok], pool_size, lowest
            )
    all_scores = np.concatenate(scores) if scores else np.empty(0)
    summary.score_stats = _score_stats(all_scores)
    if pool is None:
        pool = pd.DataFrame()
    k = setup.top
    pool = _diverse(pool, k, lowest) if setup.diverse and len(pool) > k else pool.head(k)
    return pool, all_scores, n_in, len(all_scores)


def _top_multi(
    out: Path, parts: int, setup: _Setup, summary: ScreenSummary
) -> tuple[pd.DataFrame, list[Any]]:
    """Several runs: per-run counts, then the ranking over all eligible rows (their rows and
    scores are held: 8 bytes per run and row, plus the row), then the chosen rows re-read."""
    from molfit.screen._rank import oriented, ranking_order
    from molfit.screen._report import ModelPanel, histogram

    labels = setup.labels or []
    per_model = [
        {"label": label, "score_column": "", "n_predicted": 0, "n_outside_domain": 0}
        for label in labels
    ]
    model_scores: list[list[np.ndarray]] = [[] for _ in labels]
    rows: list[np.ndarray] = []
    points: list[np.ndarray] = []
    outside_any = 0
    for i in range(parts):
        frame = pd.read_parquet(part_path(out, i))
        _count_common(frame, setup, summary)
        failed = frame["error"].astype(str) != ""
        outside = np.zeros(len(frame), dtype=bool)
        for m, label in enumerate(labels):
            entry = per_model[m]
            if not entry["score_column"]:
                entry["score_column"] = _score_column_of(frame, f"{label}/")
            own_ok = frame[f"{label}/error"].astype(str) == ""
            entry["n_predicted"] += int(own_ok.sum())
            if f"{label}/in_domain" in frame:
                out_m = own_ok & ~frame[f"{label}/in_domain"].astype(bool)
                entry["n_outside_domain"] += int(out_m.sum())
                outside |= out_m.to_numpy() & ~failed.to_numpy()
            model_scores[m].append(frame[f"{label}/score"][own_ok].to_numpy(dtype=np.float64))
        outside_any += int(outside.sum())
        ok = _eligible(frame, setup).to_numpy()
        matrix = np.column_stack(
            [frame[f"{label}/score"].to_numpy(dtype=np.float64) for label in labels]
        )
        ok = ok & np.isfinite(matrix).all(axis=1)
        rows.append(frame["row"].to_numpy(dtype=np.int64)[ok])
        points.append(matrix[ok])
    summary.n_outside_domain = outside_any
    panels = []
    for m, entry in enumerate(per_model):
        scores = np.concatenate(model_scores[m]) if model_scores[m] else np.empty(0)
        entry["direction"] = "max" if setup.maximize[m] else "min"
        entry["score_stats"] = _score_stats(scores)
        counts, edges = histogram(scores)
        panels.append(
            ModelPanel(
                label=entry["label"],
                score_column=entry["score_column"],
                counts=counts,
                edges=edges,
                n_predicted=entry["n_predicted"],
                n_in_domain=entry["n_predicted"] - entry["n_outside_domain"],
                direction=entry["direction"],
            )
        )
    summary.models = per_model
    summary.ranking = setup.rank
    summary.score_column = "ensemble_score"
    all_rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    all_points = np.concatenate(points) if points else np.zeros((0, len(labels)))
    summary.score_stats = {}
    pool_size = setup.top * 10 if setup.diverse else setup.top
    if not pool_size or not len(all_rows):
        return pd.DataFrame(), panels
    chosen, ensemble, fronts = ranking_order(
        all_rows, oriented(all_points, setup.maximize), setup.rank, pool_size
    )
    wanted = all_rows[chosen]
    extra = pd.DataFrame({"row": wanted, "ensemble_score": ensemble, "pareto_front": fronts})
    picked = []
    wanted_set = set(wanted.tolist())
    for i in range(parts):
        frame = pd.read_parquet(part_path(out, i))
        picked.append(frame[frame["row"].isin(wanted_set)])
    pool = extra.merge(pd.concat(picked), on="row", how="left", validate="one_to_one")
    if setup.rank != "pareto":
        pool = pool.drop(columns="pareto_front")
    k = setup.top
    if setup.diverse and len(pool) > k:
        pool = _diverse_order(pool, k)
    return pool.head(k), panels


def _best(frame: pd.DataFrame, n: int, lowest: bool) -> pd.DataFrame:
    # ties broken by library row, so the result never depends on chunking or workers
    ordered = frame.sort_values(["score", "row"], ascending=[lowest, True], kind="mergesort")
    return ordered.head(n)


def _diverse(pool: pd.DataFrame, k: int, lowest: bool) -> pd.DataFrame:
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator
    from rdkit.SimDivFilters.rdSimDivPickers import MaxMinPicker

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [generator.GetFingerprint(Chem.MolFromSmiles(s)) for s in pool["smiles"]]
    picks = list(MaxMinPicker().LazyBitVectorPick(fps, len(fps), k, firstPicks=[0], seed=0))
    return _best(pool.iloc[sorted(picks)], k, lowest)


def _diverse_order(pool: pd.DataFrame, k: int) -> pd.DataFrame:
    """MaxMin pick of ``k`` from ``pool`` (already in ranking order), kept in that order."""
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator
    from rdkit.SimDivFilters.rdSimDivPickers import MaxMinPicker

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [generator.GetFingerprint(Chem.MolFromSmiles(s)) for s in pool["smiles"]]
    picks = list(MaxMinPicker().LazyBitVectorPick(fps, len(fps), k, firstPicks=[0], seed=0))
    return pool.iloc[sorted(picks)]


def _score_stats(scores: np.ndarray) -> dict[str, float]:
    scores = scores[np.isfinite(scores)]
    if not len(scores):
        return {}
    return {
        "min": float(scores.min()),
        "mean": float(scores.mean()),
        "max": float(scores.max()),
        "q05": float(np.quantile(scores, 0.05)),
        "q50": float(np.quantile(scores, 0.5)),
        "q95": float(np.quantile(scores, 0.95)),
    }
