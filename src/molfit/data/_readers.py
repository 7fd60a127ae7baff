"""Readers of user files (CSV, TSV, Parquet, SMILES files, SDF) with row-level reports.

A reader never stops at the first bad row unless asked to: unparseable SMILES and non-numeric
labels become :class:`~molfit.errors.RowIssue` entries naming file, 1-based data row (header
excluded), input and reason; the row is skipped and the rest is loaded. ``strict=True`` raises
:class:`~molfit.errors.InputError` on the first one instead. Problems with the whole file (missing,
empty, a missing column) always raise. Empty label cells are missing labels (``NaN``), not errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from molfit.data._dataset import Dataset
from molfit.errors import InputError, InputReport, InvalidMoleculeError, RowIssue, check_file
from molfit.structures import XYZ_SUFFIXES

SMILES_NAMES = (
    "smiles",
    "canonical_smiles",
    "isomeric_smiles",
    "smi",
    "mol_smiles",
    "smiles_string",
)
MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "none", "null"})
_ID_NAMES = frozenset({"id", "idx", "index", "no", "no.", "cid", "name", "split", "fold"})
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": None}
SMILES_SUFFIXES = (".smi", ".smiles", ".ism", ".can")
SDF_SUFFIXES = (".sdf", ".sd")
PARQUET_SUFFIXES = (".parquet", ".pq")


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".xz", ".zst") and len(suffixes) > 1:
        return suffixes[-2]
    return suffixes[-1] if suffixes else ""


def read(path: str | Path, **options: Any) -> Dataset:
    """Read a user file, choosing the reader by suffix.

    ``.csv .tsv .tab .txt .parquet .pq .smi .smiles .sdf .sd`` (optionally ``.gz``) go to
    :func:`read_table`; ``.xyz .extxyz`` go to :func:`read_structures`.
    """
    path = Path(path)
    suffix = _suffix(path)
    if suffix in XYZ_SUFFIXES:
        return read_structures(path, **options)
    known = (*TABLE_SUFFIXES, *PARQUET_SUFFIXES, *SMILES_SUFFIXES, *SDF_SUFFIXES)
    if suffix not in known:
        raise InputError(
            f"{path}: unknown file type {suffix or '(no suffix)'!r}; molfit reads "
            f"{', '.join(known + XYZ_SUFFIXES)}"
        )
    return read_table(path, **options)


def read_table(
    path: str | Path,
    *,
    smiles_column: str | None = None,
    target_columns: Sequence[str] | str | None = None,
    task: str | None = None,
    strict: bool = False,
) -> Dataset:
    """Read molecules (SMILES) and labels from CSV/TSV/Parquet/``.smi``/SDF into a :class:`Dataset`.

    Args:
        path: the file; the format follows the suffix.
        smiles_column: the SMILES column; default: the first column named ``smiles``,
            ``canonical_smiles``, ``isomeric_smiles``, ``smi``... (case-insensitive), else one
            whose name contains "smiles". SDF files get their SMILES from the structures.
        target_columns: label columns; default: every column (other than SMILES and id-like
            columns such as ``id``, ``name``, ``split``) whose non-empty cells are mostly numbers.
        task: ``"classification"`` or ``"regression"``; default: classification when every
            label is 0 or 1.
        strict: raise on the first bad row instead of skipping it.

    Returns:
        The dataset; its ``frame`` has the SMILES in column ``smiles``, labels as ``float64``
        with ``NaN`` for empty cells, other columns as read, and ``report`` lists skipped rows.

    Raises:
        InputError: missing or empty file, unknown column (the message lists the available
            ones), or, with ``strict``, the first bad row (file, row, input and reason).
    """
    path = Path(path)
    check_file(path)
    suffix = _suffix(path)
    pre_issues: dict[int, RowIssue] = {}
    if suffix in SDF_SUFFIXES:
        raw, pre_issues = _read_sdf(path, strict=strict)
        smiles_column = "smiles"
    elif suffix in SMILES_SUFFIXES:
        raw = _read_smi(path)
    elif suffix in PARQUET_SUFFIXES:
        try:
            raw = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for corrupt files
            raise InputError(f"{path}: cannot read as Parquet ({exc})") from None
    else:
        raw, pre_issues = _read_delimited(path, TABLE_SUFFIXES.get(suffix, ","), strict)
    if raw.shape[0] == 0:
        raise InputError(f"{path}: no data rows (columns: {list(raw.columns)})")
    return _assemble(path, raw, smiles_column, target_columns, task, strict, pre_issues)


def _read_delimited(
    path: Path, sep: str | None, strict: bool
) -> tuple[pd.DataFrame, dict[int, RowIssue]]:
    """Read a delimited table as strings; rows with the wrong number of fields become issues.

    pandas' fast parser stops at the first ragged line; then the file is read again with the
    ``csv`` module so that such a row is reported (file, row, field counts) and skipped while the
    others load, keeping every row at its own number.
    """
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            engine="python" if sep is None else "c",
        )
        return frame, {}
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty (no header, no rows)") from None
    except pd.errors.ParserError as exc:
        if sep is None:
            raise InputError(f"{path}: malformed table ({str(exc).strip()})") from None
    return _read_ragged(path, sep, strict)


def _read_ragged(path: Path, sep: str, strict: bool) -> tuple[pd.DataFrame, dict[int, RowIssue]]:
    import csv
    import io

    with _open_maybe_compressed(path) as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline="")
        records = list(csv.reader(text, delimiter=sep))
    header, body = records[0], [r for r in records[1:] if r]
    issues: dict[int, RowIssue] = {}
    rows = []
    for i, fields in enumerate(body, start=1):
        if len(fields) != len(header):
            plural = "s" * (len(header) != 1)
            issue = RowIssue(
                reason=f"expected {len(header)} field{plural}, found {len(fields)}",
                row=i,
                source=str(path),
                input=sep.join(fields),
            )
            if strict:
                raise InputError(str(issue), issue)
            issues[i] = issue
            fields = [""] * len(header)
        rows.append(fields)
    return pd.DataFrame(rows, columns=header, dtype=str), issues


def _read_smi(path: Path) -> pd.DataFrame:
    """One molecule per line: SMILES, then an optional name; an optional ``smiles`` header."""
    smiles, names = [], []
    with open(path, encoding="utf-8") as fh:
        lines = [line.strip() for line in fh]
    lines = [line for line in lines if line and not line.startswith("#")]
    if lines and lines[0].split()[0].lower() in SMILES_NAMES:
        lines = lines[1:]
    for line in lines:
        parts = line.split(maxsplit=1)
        smiles.append(parts[0])
        names.append(parts[1] if len(parts) > 1 else "")
    return pd.DataFrame({"smiles": smiles, "name": names}, dtype=str)


def _read_sdf(path: Path, strict: bool) -> tuple[pd.DataFrame, dict[int, RowIssue]]:
    """SDF records as rows: SMILES from the structure, SD fields as string columns."""
    from rdkit import Chem

    from molfit.chem import canonical_smiles  # noqa: F401  (keeps RDKit logging quiet)

    rows: list[dict[str, str]] = []
    issues: dict[int, RowIssue] = {}
    opener = _open_maybe_compressed(path)
    with opener as fh:
        supplier = Chem.ForwardSDMolSupplier(fh, sanitize=False, removeHs=False)
        for i, mol in enumerate(supplier, start=1):
            row: dict[str, str] = {"smiles": ""}
            reason = None
            if mol is None:
                reason = "RDKit cannot read this record's molblock"
            else:
                row.update({k: str(v) for k, v in mol.GetPropsAsDict().items()})
                row["name"] = mol.GetProp("_Name") if mol.HasProp("_Name") else ""
                problems = Chem.DetectChemistryProblems(mol)
                if problems:
                    reason = f"invalid structure ({problems[0].Message()})"
                else:
                    Chem.SanitizeMol(mol)
                    row["smiles"] = Chem.MolToSmiles(Chem.RemoveHs(mol, sanitize=False))
            if reason is not None:
                issue = RowIssue(reason=reason, row=i, source=str(path), input=row.get("name"))
                if strict:
                    raise InvalidMoleculeError(str(issue), issue)
                issues[i] = issue
            rows.append(row)
    if not rows:
        raise InputError(f"{path}: no SDF records found")
    return pd.DataFrame(rows).fillna(""), issues


def _open_maybe_compressed(path: Path):
    if path.suffix.lower() == ".gz":
        import gzip

        return gzip.open(path, "rb")
    return open(path, "rb")


def _find_column(path: Path, frame: pd.DataFrame, name: str, what: str) -> str:
    if name in frame.columns:
        return name
    lowered = {str(c).lower(): c for c in frame.columns}
    if name.lower() in lowered:
        return lowered[name.lower()]
    raise InputError(
        f"{path}: {what} column {name!r} not found; available columns: "
        f"{', '.join(map(str, frame.columns))}"
    )


def _detect_smiles_column(path: Path, frame: pd.DataFrame) -> str:
    lowered = {str(c).lower(): c for c in frame.columns}
    for candidate in SMILES_NAMES:
        if candidate in lowered:
            return lowered[candidate]
    for low, col in lowered.items():
        if "smiles" in low:
            return col
    raise InputError(
        f"{path}: no SMILES column (looked for a column named smiles, canonical_smiles, ...); "
        f"available columns: {', '.join(map(str, frame.columns))}; pass smiles_column=..."
    )


def _missing_mask(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values):
        return values.isna().to_numpy()
    text = values.astype(str).str.strip().str.lower()
    return (values.isna() | text.isin(MISSING_TOKENS)).to_numpy()


def _to_float(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Float values (NaN where missing or not a number) and the mask of non-numeric cells."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(len(values), bool)
    missing = _missing_mask(values)
    numbers = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
    floats = np.array(numbers.to_numpy(dtype=np.float64, na_value=np.nan), copy=True)
    bad = np.isnan(floats) & ~missing
    floats[missing] = np.nan
    return floats, bad


def _auto_targets(frame: pd.DataFrame, smiles_col: str) -> list[str]:
    targets = []
    for col in frame.columns:
        low = str(col).lower()
        if col == smiles_col or low in _ID_NAMES or low.endswith("_id") or "smiles" in low:
            continue
        floats, bad = _to_float(frame[col])
        n_numeric = int((~np.isnan(floats)).sum())
        if n_numeric and n_numeric >= 0.5 * (n_numeric + int(bad.sum())):
            targets.append(col)
    return targets


def _infer_task(y: np.ndarray) -> str:
    present = y[~np.isnan(y)]
    if y.shape[1] and present.size and np.isin(present, (0.0, 1.0)).all():
        return "classification"
    return "regression"


def _assemble(
    path: Path,
    raw: pd.DataFrame,
    smiles_column: str | None,
    target_columns: Sequence[str] | str | None,
    task: str | None,
    strict: bool,
    pre_issues: dict[int, RowIssue],
) -> Dataset:
    source = str(path)
    raw = raw.reset_index(drop=True)
    raw.columns = [str(c) for c in raw.columns]
    if smiles_column is None:
        smiles_col = _detect_smiles_column(path, raw)
    else:
        smiles_col = _find_column(path, raw, smiles_column, "SMILES")
    if isinstance(target_columns, str):
        target_columns = [target_columns]
    if target_columns is None:
        targets = _auto_targets(raw, smiles_col)
    else:
        targets = [_find_column(path, raw, t, "target") for t in target_columns]
    if task not in (None, "classification", "regression"):
        raise InputError(f"task must be 'classification' or 'regression', got {task!r}")

    n = len(raw)
    label_issues: dict[int, list[RowIssue]] = {}
    y = np.empty((n, len(targets)))
    for j, col in enumerate(targets):
        y[:, j], bad = _to_float(raw[col])
        for i in np.flatnonzero(bad):
            issue = RowIssue(
                reason="label is not a number",
                row=int(i) + 1,
                source=source,
                input=str(raw[col].iat[i]),
                field=col,
            )
            label_issues.setdefault(int(i) + 1, []).append(issue)

    smiles = raw[smiles_col].astype(str).str.strip().to_numpy()
    smiles[_missing_mask(raw[smiles_col])] = ""
    keep, report = validate_smiles(
        smiles, source=source, strict=strict, extra_issues=label_issues, pre_issues=pre_issues
    )

    frame = raw.drop(columns=[smiles_col, *targets])
    for col in frame.columns:
        frame[col] = _maybe_numeric(frame[col])
    frame.insert(0, "smiles", smiles)
    for j, col in enumerate(targets):
        frame[col] = y[:, j]
    frame = frame.iloc[keep].reset_index(drop=True)
    report.labelled = {col: int(frame[col].notna().sum()) for col in targets}
    inferred = task or _infer_task(frame[targets].to_numpy(dtype=np.float64))
    return Dataset(
        info=None,
        frame=frame,
        target_columns=list(targets),
        task=inferred,  # type: ignore[arg-type]
        smiles_column="smiles",
        report=report,
    )


def _maybe_numeric(values: pd.Series) -> pd.Series:
    """A text column as numbers when every non-empty cell is one, else unchanged."""
    if pd.api.types.is_numeric_dtype(values) or not len(values):
        return values
    floats, bad = _to_float(values)
    if bad.any() or np.isnan(floats).all():
        return values
    if np.array_equal(floats, np.round(floats)) and not np.isnan(floats).any():
        return pd.Series(floats.astype(np.int64), index=values.index)
    return pd.Series(floats, index=values.index)


def validate_smiles(
    smiles: Sequence[str] | np.ndarray,
    *,
    source: str,
    strict: bool = False,
    extra_issues: dict[int, list[RowIssue]] | None = None,
    pre_issues: dict[int, RowIssue] | None = None,
) -> tuple[np.ndarray, InputReport]:
    """Parse every SMILES with RDKit; return the indices of good rows and a report.

    Args:
        smiles: the strings; row ``i + 1`` is ``smiles[i]``.
        source: file or dataset name for the issues.
        strict: raise :class:`InputError` on the first bad row (in row order).
        extra_issues: other problems per 1-based row (labels); such rows are dropped too.
        pre_issues: rows already known to be bad (unreadable SDF records): not parsed again.

    Returns:
        ``(keep, report)``: ``keep`` is an ``int64`` array of 0-based good rows.
    """
    from molfit.chem import parse_smiles

    extra_issues = extra_issues or {}
    pre_issues = pre_issues or {}
    issues: list[RowIssue] = []
    keep: list[int] = []
    for i, s in enumerate(smiles):
        row = i + 1
        row_issues: list[RowIssue] = []
        if row in pre_issues:
            row_issues.append(pre_issues[row])
        else:
            try:
                parse_smiles(s)
            except InvalidMoleculeError as exc:
                # the input is its own field: keep the reason free of a second copy of it
                reason = str(exc).replace(f" {s.strip()!r}", "") if s else "empty SMILES"
                row_issues.append(RowIssue(reason=reason, row=row, source=source, input=s or None))
        row_issues.extend(extra_issues.get(row, ()))
        if row_issues:
            if strict:
                first = row_issues[0]
                raise InputError(str(first), first)
            issues.extend(row_issues)
        else:
            keep.append(i)
    report = InputReport(source=source, n_rows=len(smiles), n_ok=len(keep), issues=issues)
    return np.asarray(keep, dtype=np.int64), report


def read_structures(path: str | Path, *, strict: bool = False) -> Dataset:
    """Read an XYZ or extended-XYZ file into a :class:`Dataset` with ``structures``.

    The ``frame`` table has one row per structure (``frame`` = 1-based frame number in the file,
    ``formula``, ``n_atoms``, ``energy`` in eV when any frame has one, and other scalar
    ``key=value`` entries); ``target_columns`` is ``["energy"]`` when energies are present.
    See :func:`molfit.structures.read_frames` for the frame-level report.
    """
    from molfit.structures import read_frames

    structures, frame, report = read_frames(path, strict=strict)
    targets = ["energy"] if "energy" in frame.columns else []
    return Dataset(
        info=None,
        frame=frame,
        target_columns=targets,
        task="regression",
        structures=structures,
        report=report,
    )


def find_smiles_column(frame: pd.DataFrame, column: str | None, source: str) -> str:
    """The SMILES column of ``frame``: ``column`` if given (checked), else the first named
    ``smiles``, ``canonical_smiles`` or ``smi`` (any case)."""
    if column is not None:
        if column not in frame.columns:
            raise InputError(f"{source}: no column {column!r}; columns: {list(frame.columns)}")
        return column
    for c in frame.columns:
        if str(c).strip().lower() in ("smiles", "canonical_smiles", "smi"):
            return c
    raise InputError(
        f"{source}: no SMILES column found; name it with --smiles-column (columns: "
        f"{list(frame.columns)})"
    )


def read_input_table(path: str | Path) -> pd.DataFrame:
    """Read the rows to predict, keeping every row (bad SMILES are reported, not dropped)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
            header = "infer"
            if path.suffix.lower() in (".smi", ".txt"):
                sep, header = r"\s+", None
            frame = pd.read_csv(path, sep=sep, header=header, dtype=str, keep_default_na=False)
            if header is None:
                frame = frame.rename(columns={0: "smiles"})
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None
    except pd.errors.ParserError:
        if header is None:
            raise InputError(f"{path}: cannot read as a SMILES file") from None
        # a row with the wrong number of fields: keep it (empty) and say why in its error cell
        frame, issues = _read_ragged(path, sep, strict=False)
        frame.attrs["row_errors"] = {row: issue.reason for row, issue in issues.items()}
    if len(frame) == 0:
        raise InputError(f"{path}: no data rows")
    return frame
