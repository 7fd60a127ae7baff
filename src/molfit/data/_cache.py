"""The local cache of parsed datasets: where it lives, how entries are keyed and written safely.

Entries are plain ``.npz`` files (read with ``allow_pickle=False``), never pickles. An entry's name
carries a key derived from the source files (name, size, modification time) and the parser's format
version, so a new package release or a new parser builds a new entry instead of reading a stale
one. Writes go to a temporary file in the same folder, then ``os.replace`` moves it into place, so
a reader never sees a half-written file, even with several processes racing to build it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from molfit.errors import InputError

ENV_VAR = "MOLFIT_CACHE_DIR"


def cache_dir() -> Path:
    """The cache folder: ``$MOLFIT_CACHE_DIR`` if set, else ``~/.cache/molfit`` (created)."""
    root = os.environ.get(ENV_VAR)
    path = Path(root).expanduser() if root else Path.home() / ".cache" / "molfit"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create the molfit cache folder {path} ({exc.strerror}); "
            f"set {ENV_VAR} to a writable folder"
        ) from None
    return path


def source_key(paths: Sequence[Path], version: int) -> str:
    """A short hex key for the state of ``paths`` (name, size, mtime) and parser ``version``."""
    parts: list[object] = [version]
    for p in paths:
        st = Path(p).stat()
        parts.append([Path(p).name, st.st_size, st.st_mtime_ns])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def write_npz_atomic(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` (plain ``.npz``) atomically: temp file + ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".npz.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a cache is as readable as a file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file, read eagerly with ``allow_pickle=False``."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
