"""Reader of XYZ / extended-XYZ files (through ASE) with a report per frame.

The file is first cut into frames by its own atom-count lines, so one frame whose count does not
match its atom lines is named (file, frame, line) and skipped while the others load. Each good
frame is then parsed by ASE's extxyz reader: positions in Å; ``energy`` (eV), ``forces``
(eV/Å) and ``stress`` (eV/Å^3, ASE's Voigt or 3x3 layout) are taken from the frame's properties
when present. A frame whose labels are not finite or whose forces are not ``(n_atoms, 3)`` is named
in the report and skipped. :func:`write_extxyz` writes structures with their labels back.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from molfit.errors import InputError, InputReport, RowIssue, check_file
from molfit.structures._structures import Structures


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _atom_like(line: str) -> bool:
    """An atom line: a symbol (or atomic number) followed by at least three numbers."""
    tokens = line.split()
    if len(tokens) < 4:
        return False
    head = tokens[0]
    return (head.isalpha() or head.isdigit()) and all(_is_float(t) for t in tokens[1:4])


def _split_frames(lines: list[str]) -> list[tuple[int, int, int, str | None]]:
    """``(frame, first_line, end_line, problem)`` per frame; 0-based line bounds, end exclusive."""
    frames: list[tuple[int, int, int, str | None]] = []
    i, frame = 0, 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        frame += 1
        tokens = lines[i].split()
        if len(tokens) != 1 or not tokens[0].isdigit():
            j = i + 1
            while j < len(lines) and not (lines[j].strip().isdigit()):
                j += 1
            problem = f"expected an atom count on line {i + 1}, found {lines[i].strip()[:40]!r}"
            frames.append((frame, i, j, problem))
            i = j
            continue
        declared = int(tokens[0])
        start = i + 2
        j = start
        while j < len(lines) and _atom_like(lines[j]):
            j += 1
        found = max(j - start, 0)
        problem = None
        if found != declared:
            problem = (
                f"atom count mismatch: line {i + 1} declares {declared} atoms but "
                f"{found} atom lines follow"
            )
        frames.append((frame, i, max(j, min(start, len(lines))), problem))
        i = max(j, i + 1)
    return frames


def read_frames(
    path: str | Path, *, strict: bool = False
) -> tuple[Structures, pd.DataFrame, InputReport]:
    """Read an XYZ or extended-XYZ file: its structures, a table of per-frame values, a report.

    Args:
        path: ``.xyz`` or ``.extxyz`` file with one or more frames.
        strict: raise on the first bad frame instead of skipping it.

    Returns:
        ``(structures, frame, report)``. ``frame`` has one row per structure (``frame`` =
        1-based frame number in the file, ``formula``, ``n_atoms``, ``energy`` in eV when any
        frame has one, and other scalar ``key=value`` entries of the comment line); the
        structures hold atomic numbers, positions (Å), cells/pbc for periodic frames and forces
        (eV/Å) when every frame has them; the report names each skipped frame.

    Raises:
        InputError: missing/empty file, no readable frame, or with ``strict`` the first bad frame
            (file, frame number, line and reason).
    """
    from ase.io import read as ase_read

    path = Path(path)
    check_file(path)
    source = str(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
    frames = _split_frames(lines)
    if not frames:
        raise InputError(f"{path}: the file is empty (no frames)")

    issues: list[RowIssue] = []
    atoms_list, rows = [], []
    for number, first, end, problem in frames:
        atoms = None
        if problem is None:
            try:
                text = "\n".join(lines[first:end]) + "\n"
                atoms = ase_read(io.StringIO(text), format="extxyz", index=0)
            except Exception as exc:  # ASE raises assorted errors for malformed frames
                problem = f"ASE cannot parse the frame starting on line {first + 1} ({exc})"
        if problem is None:
            problem = _label_problem(atoms, first)
        if problem is not None:
            issue = RowIssue(reason=problem, row=number, source=source, input=f"frame {number}")
            if strict:
                raise InputError(str(issue), issue)
            issues.append(issue)
            continue
        atoms_list.append(atoms)
        rows.append(_row(number, atoms))
    report = InputReport(source=source, n_rows=len(frames), n_ok=len(atoms_list), issues=issues)
    if not atoms_list:
        raise InputError(f"{path}: no readable frame\n{report.summary()}")
    frame = pd.DataFrame(rows)
    if "energy" in frame.columns:
        frame["energy"] = frame["energy"].astype(np.float64)
    return Structures.from_atoms(atoms_list), frame, report


def _label_problem(atoms, first: int) -> str | None:
    """Why the labels of a parsed frame are unusable (``None`` when they are fine)."""
    results = getattr(atoms.calc, "results", None) or {}
    n = len(atoms)
    for key in ("forces",):
        value = results.get(key, atoms.arrays.get(key))
        if value is None:
            continue
        arr = np.asarray(value)
        if arr.shape != (n, 3):
            return (
                f"forces of the frame starting on line {first + 1} have shape {arr.shape}, "
                f"expected ({n}, 3) eV/Å"
            )
        if not np.isfinite(arr.astype(np.float64)).all():
            return f"forces of the frame starting on line {first + 1} contain NaN or inf"
    energy = results.get("energy", atoms.info.get("energy"))
    if energy is not None:
        try:
            finite = np.isfinite(float(energy))
        except (TypeError, ValueError):
            finite = False
        if not finite:
            return f"energy of the frame starting on line {first + 1} is {energy!r}, not a number"
    stress = results.get("stress", atoms.info.get("stress"))
    if stress is not None:
        arr = np.asarray(stress, dtype=np.float64).reshape(-1)
        if arr.size not in (6, 9):
            return (
                f"stress of the frame starting on line {first + 1} has {arr.size} values, not 6/9"
            )
        if not np.isfinite(arr).all():
            return f"stress of the frame starting on line {first + 1} contains NaN or inf"
    return None


def write_extxyz(path: str | Path, structures: Structures) -> Path:
    """Write ``structures`` as an extended-XYZ file through ASE, labels included.

    Each frame carries its cell and pbc (periodic structures), ``energy`` (eV) and ``stress``
    (eV/Å^3, Voigt) on the comment line and per-atom ``forces`` (eV/Å) columns, where known
    (``NaN`` labels are left out). :func:`read_frames` reads the file back.

    Returns:
        the path written.
    """
    from ase.io import write as ase_write

    path = Path(path)
    if len(structures) == 0:
        raise InputError(f"{path}: no structures to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = [structures.to_atoms(k) for k in range(len(structures))]
    ase_write(str(path), frames, format="extxyz")
    return path


def _row(number: int, atoms) -> dict[str, object]:
    row: dict[str, object] = {
        "frame": number,
        "formula": atoms.get_chemical_formula(),
        "n_atoms": len(atoms),
    }
    results = getattr(atoms.calc, "results", None) or {}
    if "energy" in results:
        row["energy"] = float(results["energy"])
    elif "energy" in atoms.info:
        row["energy"] = float(atoms.info["energy"])
    for key, value in atoms.info.items():
        if key not in row and isinstance(value, (int, float, np.integer, np.floating)):
            row[key] = value
    return row
