"""Extended-XYZ trajectories written one frame at a time, so a killed run loses at most the frame
it was writing.

Each frame is formatted in memory by ASE's extxyz writer and appended with one ``write`` followed
by ``flush`` and ``fsync``. :func:`repair` finds the complete frames of a file and cuts off a
frame that was only partly written (a kill during the write), so the next run can append to it.
Frames carry ``energy`` (eV), ``forces`` (eV/Å), ``stress`` (eV/Å³, periodic cells) and, for MD,
``momenta`` (amu·Å/fs in ASE units) and ``step`` in their comment line.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from molfit.errors import InputError


def _frame_spans(data: bytes) -> tuple[list[tuple[int, int]], int]:
    """Byte spans ``(start, end)`` of the complete frames, and the end of the last one."""
    spans: list[tuple[int, int]] = []
    pos, n = 0, len(data)
    while pos < n:
        line_end = data.find(b"\n", pos)
        if line_end < 0:
            break
        head = data[pos:line_end].strip()
        if not head:  # blank line between frames
            pos = line_end + 1
            continue
        if not head.isdigit():
            raise InputError(
                f"not an XYZ frame at byte {pos}: expected an atom count, found {head[:40]!r}"
            )
        end = line_end
        complete = True
        for _ in range(int(head) + 1):  # comment line + atom lines
            nxt = data.find(b"\n", end + 1)
            if nxt < 0:
                complete = False
                break
            end = nxt
        if not complete:
            break
        spans.append((pos, end + 1))
        pos = end + 1
    last = spans[-1][1] if spans else 0
    return spans, last


def repair(path: str | Path) -> int:
    """Cut a partly written last frame off ``path``; the number of complete frames.

    A missing file has 0 frames. Raises :class:`InputError` when the file is not XYZ at all.
    """
    path = Path(path)
    if not path.exists():
        return 0
    data = path.read_bytes()
    try:
        spans, last = _frame_spans(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    if last < len(data) and data[last:].strip():
        with open(path, "r+b") as fh:
            fh.truncate(last)
    return len(spans)


def read_frames(path: str | Path, index: Any = ":") -> list[Any]:
    """Frames of an extxyz file as ASE ``Atoms`` (with their stored results)."""
    from ase.io import read

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        frames = read(path, index=index, format="extxyz")
    except Exception as exc:  # ASE raises assorted errors for malformed files
        raise InputError(f"{path}: cannot read as extended XYZ ({exc})") from None
    return frames if isinstance(frames, list) else [frames]


def format_frame(
    atoms: Any, results: dict[str, Any] | None = None, info: dict[str, Any] | None = None
) -> str:
    """One extxyz frame as text: positions, the ``results`` (energy, forces, stress) and
    ``info`` (scalars) in the comment line, momenta when ``atoms`` has them."""
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write

    frame = atoms.copy()
    frame.set_constraint()  # the labels are written as given, never projected by a constraint
    frame.info = {**{k: v for k, v in atoms.info.items() if np.isscalar(v)}, **(info or {})}
    if results:
        frame.calc = SinglePointCalculator(frame, **results)
    buf = io.StringIO()
    write(buf, frame, format="extxyz")
    return buf.getvalue()


class FrameWriter:
    """Append frames to an extxyz file, each flushed to disk before the next is computed."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        os.chmod(self.path, 0o644)

    def write(
        self, atoms: Any, results: dict[str, Any] | None = None, info: dict[str, Any] | None = None
    ) -> None:
        self._fh.write(format_frame(atoms, results, info))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def truncate_frames(path: str | Path, n_frames: int) -> int:
    """Keep only the first ``n_frames`` complete frames of ``path`` (a partly written tail goes
    too); the number of frames kept."""
    path = Path(path)
    if not path.exists():
        return 0
    data = path.read_bytes()
    try:
        spans, _ = _frame_spans(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    keep = min(n_frames, len(spans))
    end = spans[keep - 1][1] if keep else 0
    if end < len(data):
        with open(path, "r+b") as fh:
            fh.truncate(end)
    return keep
