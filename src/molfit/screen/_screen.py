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
TOP = "top.csv"
FORMAT_VERSION = 1


@dataclass
class ScreenSummary:
    """What a screen did.

    Attributes:
        out_dir: the output folder.
        n_rows: library rows read (good and bad).
        n_predicted: rows with a prediction.
        n_failed: rows without one (``error`` column says why).
        n_outside_domain: predicted rows outside the applicability domain.
        n_duplicates: rows whose canonical SMILES came earlier (``--dedupe``).
        n_flagged: rows failing the requested filters, by filter (``pains``, ``brenk``,
            ``lipinski``: more than one rule-of-five violation).
        n_parts: parts written.
        resumed_parts: parts found done when this call started (0 for a fresh screen).
        score_column: the column ranked by ``top`` (``probability`` or a prediction).
        score_stats: ``min``/``mean``/``max`` and the 5/50/95 % quantiles of the score over
            the predicted rows.
        top: the path of ``top.csv``.
        n_top: rows in ``top.csv``.
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
    errors: list[str] = field(default_factory=list)
    input_error: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["out_dir"] = str(self.out_dir)
        out["top"] = str(self.top) if self.top is not None else None
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


class ChunkScreener:
    """Picklable per-chunk job: parse, predict, filter. The model is loaded once per process
    (inherited by forked workers; re-loaded once by a worker that receives a pickled copy)."""

    def __init__(self, run_dir: str, filters: list[str], units: dict[str, str], model: Any = None):
        self.run_dir = run_dir
        self.filters = filters
        self.units = units
        self._model = model

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_model"] = None
        return state

    @property
    def model(self) -> Any:
        if self._model is None:
            from molfit.workflows import load_run_model

            self._model = load_run_model(self.run_dir)
        return self._model

    def __call__(self, chunks: Sequence[LibraryChunk]) -> list[tuple[int, pd.DataFrame]]:
        return [(chunk.index, self.screen_chunk(chunk)) for chunk in chunks]

    def screen_chunk(self, chunk: LibraryChunk) -> pd.DataFrame:
        """One output part: ``row``, ``name``, ``smiles``, ``canonical_smiles``, the model's
        columns (units in names), ``score``, filter columns, ``error``."""
        from rdkit import Chem, RDLogger

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
        table = self.model.predict(mols).to_frame(None)
        for i, reason in reasons.items():
            table.iloc[i, table.columns.get_loc("error")] = reason
        model_errors = table["error"].astype(str).to_numpy()
        for i in np.flatnonzero(model_errors != ""):
            mols[i] = None  # a molecule the model could not use is not a hit either
        canonical = [Chem.MolToSmiles(m) if m is not None else "" for m in mols]
        score = table["probability"] if "probability" in table else table[_first_prediction(table)]
        rename = {}
        single = len(self.units) == 1
        for target, unit in self.units.items():
            prefix = "" if single else f"{target}_"
            for base in ("prediction", "std", "lower", "upper"):
                if prefix + base in table.columns and unit:
                    rename[prefix + base] = f"{prefix + base} [{unit}]"
        table = table.rename(columns=rename)
        error = table.pop("error")
        out = pd.DataFrame(
            {
                "row": np.asarray(chunk.rows, dtype=np.int64),
                "name": chunk.names,
                "smiles": chunk.smiles,
                "canonical_smiles": canonical,
            }
        )
        out = pd.concat([out, table.reset_index(drop=True)], axis=1)
        out["score"] = pd.to_numeric(score, errors="coerce").astype(np.float64).to_numpy()
        for column, values in apply_filters(mols, self.filters).items():
            if column != "passes_filters" or self.filters:
                out[column] = values
        out["error"] = error.astype(str).to_numpy()
        return out


def _first_prediction(table: pd.DataFrame) -> str:
    for c in table.columns:
        if str(c).endswith("prediction") and table[c].dtype.kind == "f":
            return str(c)
    raise InputError("the run's predictions have no numeric prediction column to rank by")


def _key(canonical: str) -> int:
    return int.from_bytes(hashlib.blake2b(canonical.encode(), digest_size=8).digest(), "little")


def _mark_duplicates(frame: pd.DataFrame, seen: dict[int, int]) -> None:
    first: list[Any] = []
    for row, smi in zip(frame["row"].tolist(), frame["canonical_smiles"].tolist(), strict=True):
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


def screen(
    run_dir: str | os.PathLike[str],
    library: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    chunk_size: int = 2_000,
    top: int = 100,
    diverse: bool = False,
    filters: Sequence[str] | str | None = None,
    dedupe: bool = False,
    workers: int = 1,
    smiles_column: str | None = None,
    lowest: bool = False,
    progress: bool = True,
    dask: bool = False,
    scheduler: str | None = None,
    _stop_after_parts: int | None = None,
) -> ScreenSummary:
    """Screen ``library`` with the saved run ``run_dir``; write parts, ``summary.json`` and
    ``top.csv`` to ``out_dir`` (resumes a screen that ``out_dir`` holds).

    Args:
        run_dir: a molecule run directory written by ``molfit train``.
        library: a ``.smi``/``.csv``/``.tsv``/``.parquet``/``.sdf`` file (``.gz`` allowed but
            for Parquet) or a built-in dataset name, e.g. ``"moses"``.
        out_dir: output folder (created; an existing screen there with the same run, library
            and options is resumed).
        chunk_size: library rows per part (memory grows with it, not with the library).
        top: rows in ``top.csv``, ranked by ``score`` (class-1 probability, or the first
            target's prediction); rows with an error, failing a filter or duplicates are never
            ranked.
        diverse: pick the ``top`` by RDKit's MaxMin picker on ECFP4 (2048 bits, Tanimoto)
            from the ``10 * top`` best, starting with the best one, instead of the plain best.
        filters: any of ``pains``, ``brenk``, ``lipinski`` (list or comma-separated).
        dedupe: flag rows whose canonical SMILES appeared earlier (``duplicate_of`` = that
            earlier row) and leave them out of ``top.csv``.
        workers: processes predicting chunks (molfit.parallel; forked, each with the model
            loaded once); results do not depend on it.
        smiles_column: the SMILES column of a table (default: detected).
        lowest: rank the lowest scores first (e.g. a predicted energy or toxicity).
        progress: progress bar (molecules/s) on stderr.
        dask: run the chunks on a new ``dask.distributed`` LocalCluster of ``workers``
            single-threaded processes on 127.0.0.1 (``pip install 'molfit[dask]'``).
        scheduler: run them on the Dask cluster at this address (``tcp://HOST:PORT``); its
            workers must see ``run_dir`` at the same path and load the model once each.
            Either way the parts equal a local run's.

    Returns:
        A :class:`ScreenSummary` (also written to ``summary.json``).

    Raises:
        InputError: a bad run, library, option, or an ``out_dir`` holding something else. A
            library that cannot be read to its end (truncated gzip) raises after the parts
            read so far, ``summary.json`` and ``top.csv`` have been written.
    """
    from tqdm.auto import tqdm

    from molfit.parallel import Executor
    from molfit.workflows import RunDirectory, open_run

    t0 = time.perf_counter()
    if chunk_size < 1:
        raise InputError(f"--chunk-size must be >= 1, got {chunk_size}")
    if top < 0:
        raise InputError(f"--top must be >= 0, got {top}")
    names = check_filters(filters)
    if RunDirectory(run_dir).check().input_kind != "molecules":
        raise InputError(f"{run_dir}: a 3D (structure) run cannot screen a SMILES library")
    resolved = resolve_library(library)
    if not isinstance(resolved, str):
        library_format(resolved)
    run, _, model = open_run(run_dir)
    targets = list(model.targets_)
    units = {t: (run.run_config.get("targets") or {}).get(t, {}).get("unit", "") for t in targets}
    out = Path(out_dir)
    config = {
        "format": FORMAT_VERSION,
        "run": str(Path(run_dir).resolve()),
        **_library_identity(resolved),
        "chunk_size": chunk_size,
        "filters": names,
        "dedupe": dedupe,
        "smiles_column": smiles_column,
    }
    done = _start(out, config)
    summary = ScreenSummary(out_dir=out, resumed_parts=done)
    seen: dict[int, int] = {}
    if dedupe:
        for i in range(done):
            part = pd.read_parquet(part_path(out, i), columns=["row", "canonical_smiles"])
            for row, smi in zip(part["row"].tolist(), part["canonical_smiles"], strict=True):
                if smi:
                    seen.setdefault(_key(smi), row)
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

    worker = ChunkScreener(str(Path(run_dir).resolve()), names, units, model=model)
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
                    if dedupe:
                        _mark_duplicates(frame, seen)
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
    summary = _finalize(out, parts, top, diverse, names, dedupe, lowest, summary)
    summary.input_error = str(input_error) if input_error is not None else ""
    summary.seconds = round(time.perf_counter() - t0, 3)
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


def _finalize(
    out: Path,
    parts: int,
    top: int,
    diverse: bool,
    filters: list[str],
    dedupe: bool,
    lowest: bool,
    summary: ScreenSummary,
) -> ScreenSummary:
    """Counts and ``top.csv`` from the parts alone (so a resumed screen ends the same)."""
    pool_size = top * 10 if diverse else top
    pool: pd.DataFrame | None = None
    scores: list[np.ndarray] = []
    flagged = dict.fromkeys(filters, 0)
    for i in range(parts):
        frame = pd.read_parquet(part_path(out, i))
        if not summary.score_column:
            summary.score_column = next(
                (c for c in frame.columns if c == "probability" or c.startswith("prediction")), ""
            )
        failed = frame["error"].astype(str) != ""
        summary.n_rows += len(frame)
        summary.n_failed += int(failed.sum())
        if "in_domain" in frame:
            summary.n_outside_domain += int((~frame["in_domain"].astype(bool) & ~failed).sum())
        for row, reason in zip(frame["row"][failed][:20], frame["error"][failed][:20], strict=True):
            if len(summary.errors) < 20:
                summary.errors.append(f"row {row}: {reason}")
        ok = ~failed
        if "pains" in flagged:
            flagged["pains"] += int((frame["pains"] != "").sum())
        if "brenk" in flagged:
            flagged["brenk"] += int((frame["brenk"] != "").sum())
        if "lipinski" in flagged:
            flagged["lipinski"] += int((frame["lipinski_violations"] > 1).sum())
        if filters:
            ok &= frame["passes_filters"].astype(bool)
        if dedupe:
            dup = frame["duplicate_of"].notna()
            summary.n_duplicates += int(dup.sum())
            ok &= ~dup
        scores.append(frame["score"][~failed].to_numpy(dtype=np.float64))
        if pool_size:
            pool = _best(
                pd.concat([pool, frame[ok]]) if pool is not None else frame[ok], pool_size, lowest
            )
    summary.n_parts = parts
    summary.n_predicted = summary.n_rows - summary.n_failed
    summary.n_flagged = flagged
    summary.score_stats = _score_stats(np.concatenate(scores) if scores else np.empty(0))
    if pool is None:
        pool = pd.DataFrame()
    pool = _diverse(pool, top, lowest) if diverse and len(pool) > top else pool.head(top)
    hits = pool.reset_index(drop=True)
    hits.insert(0, "rank", np.arange(1, len(hits) + 1))
    from molfit.workflows import write_table_atomic

    summary.top = write_table_atomic(hits, out / TOP)
    summary.n_top = len(hits)
    return summary


def _best(frame: pd.DataFrame, n: int, lowest: bool) -> pd.DataFrame:
    # ties broken by library row, so the result never depends on chunking or workers
    ordered = frame.sort_values(["score", "row"], ascending=[lowest, True], kind="mergesort")
    return ordered.head(n)


def _diverse(pool: pd.DataFrame, k: int, lowest: bool) -> pd.DataFrame:
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator
    from rdkit.SimDivFilters.rdSimDivPickers import MaxMinPicker

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [generator.GetFingerprint(Chem.MolFromSmiles(s)) for s in pool["canonical_smiles"]]
    picks = list(MaxMinPicker().LazyBitVectorPick(fps, len(fps), k, firstPicks=[0], seed=0))
    return _best(pool.iloc[sorted(picks)], k, lowest)


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
