"""The run directory of ``molfit train``: one object for its layout, creation and reading.

A run directory holds ``model/`` (a saved model; its ``config.json`` has a ``run`` section),
``split.json``, ``metrics.json``, ``test_predictions.csv``, ``train_keys.json`` (hashed identity
keys of the molecules the model saw, for overlap checks) and ``report.html``. It is built in a
temporary sibling folder and renamed into place at the end, so a failed run leaves nothing behind;
in a distributed fit only rank 0 writes it (the other ranks build into a scratch folder that is
deleted).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from molfit.errors import InputError, MolfitError


def _rank() -> int:
    from molfit.train import global_rank

    return global_rank()


class RunDirectory:
    """Paths and configuration of one run directory (or of a bare model directory).

    Args:
        path: the run directory; a directory that itself holds ``config.json`` is taken as a bare
            model directory (``model_dir`` is then ``path``).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    # -- layout ---------------------------------------------------------------------------------
    @property
    def model_dir(self) -> Path:
        """``model/`` of a run, or the directory itself for a bare model directory."""
        sub = self.path / "model"
        return sub if sub.is_dir() or not (self.path / "config.json").is_file() else self.path

    @property
    def split_path(self) -> Path:
        return self.path / "split.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.json"

    @property
    def report_path(self) -> Path:
        return self.path / "report.html"

    @property
    def test_predictions_path(self) -> Path:
        return self.path / "test_predictions.csv"

    @property
    def train_keys_path(self) -> Path:
        return self.path / "train_keys.json"

    # -- creation -------------------------------------------------------------------------------
    @classmethod
    @contextlib.contextmanager
    def create(
        cls, out: str | os.PathLike[str] | None, default_name: str
    ) -> Iterator[RunDirectory]:
        """Yield a :class:`RunDirectory` on a temporary folder; rename it to ``out`` on success.

        ``out`` defaults to ``runs/<default_name>-<timestamp>``; an existing non-empty ``out`` is
        an error. On failure the temporary folder is removed. On a rank other than 0 of a
        distributed run the folder is scratch space that is always removed, so only rank 0
        writes ``out``. The yielded object's ``path`` is ``out`` after the block ends.
        """
        if out is None:
            out = Path("runs") / f"{default_name}-{time.strftime('%Y%m%d-%H%M%S')}"
        out = Path(out)
        rank = _rank()
        if rank != 0:
            tmp = Path(tempfile.mkdtemp(prefix=f"molfit-rank{rank}-"))
            run = cls(tmp)
            try:
                yield run
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
                run.path = out
            return
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise InputError(f"{out} already exists and is not empty; choose another --out")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        run = cls(tmp)
        try:
            yield run
            tmp.chmod(0o755)  # mkdtemp makes it private; a run directory is an ordinary folder
            if out.exists():
                out.rmdir()
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        run.path = out

    def write_json(self, path: Path, payload: Any) -> Path:
        """Write ``payload`` as indented JSON (NaN allowed, as Python's json writes it)."""
        path.write_text(json.dumps(payload, indent=2, default=_jsonable))
        return path

    # -- reading --------------------------------------------------------------------------------
    def check(self) -> RunDirectory:
        """Raise :class:`InputError` unless this is a readable run or model directory."""
        if not self.path.is_dir():
            raise InputError(f"{self.path}: no such run directory")
        if not (self.model_dir / "config.json").is_file():
            raise InputError(
                f"{self.path}: not a run directory (no model/config.json); "
                "give the folder `molfit train` printed"
            )
        return self

    def config(self) -> dict[str, Any]:
        """The model's ``config.json`` (hyper-parameters, ``run`` section...)."""
        path = self.check().model_dir / "config.json"
        try:
            config = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(
                f"{path}: not valid JSON ({exc}); the file is corrupt or was edited"
            ) from None
        if not isinstance(config, dict):
            raise InputError(f"{path}: not a molfit model configuration")
        return config

    @property
    def run_config(self) -> dict[str, Any]:
        """The ``run`` section that ``molfit train`` wrote (``{}`` for a bare model)."""
        return self.config().get("run") or {}

    @property
    def input_kind(self) -> str:
        """``"structures"`` for a 3D run, else ``"molecules"``."""
        config = self.config()
        run = config.get("run") or {}
        fitted = config.get("fitted") or {}
        kinds = (run.get("input_kind"), fitted.get("input_kind"))
        return "structures" if "structures" in kinds else "molecules"

    def train_keys(self) -> set[str] | None:
        """The hashed identity keys of the molecules the model was fitted on, or ``None`` for
        runs written before they were stored."""
        if not self.train_keys_path.is_file():
            return None
        try:
            data = json.loads(self.train_keys_path.read_text())
            return set(data["keys"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"{self.train_keys_path}: corrupt ({exc})") from None

    def load_model(self, loader: Any) -> Any:
        """``loader(model_dir)``, with any failure of a damaged directory as an InputError."""
        model_dir = self.check().model_dir
        try:
            return loader(model_dir)
        except MolfitError:
            raise
        except Exception as exc:
            raise InputError(
                f"{model_dir}: cannot load the saved model ({type(exc).__name__}: {exc}); its "
                "files are corrupt, truncated or from another version; retrain or restore them"
            ) from None


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)
