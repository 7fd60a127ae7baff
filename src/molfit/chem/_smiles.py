"""SMILES parsing and standardization.

Parsing turns a string into an RDKit molecule or raises :class:`InvalidMoleculeError` with RDKit's
own reason ("unclosed ring", "Explicit valence for atom # 1 C, 5, is greater than permitted").
Standardization is the usual chain: cleanup, largest organic fragment (salt stripping),
neutralization, and optionally canonical tautomer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rdkit import Chem, RDLogger
from rdkit.Chem.MolStandardize import rdMolStandardize

from molfit.errors import InvalidMoleculeError, RowIssue

MolLike = str | Chem.Mol

RDLogger.DisableLog("rdApp.*")  # reasons are collected on the failure path instead


def parse_smiles(smiles: str, *, sanitize: bool = True) -> Chem.Mol:
    """Parse one SMILES string into an RDKit molecule.

    Args:
        smiles: the SMILES string; surrounding whitespace is ignored.
        sanitize: run RDKit's sanitization (valence, aromaticity). Keep it on unless you know why.

    Returns:
        The RDKit molecule (implicit hydrogens, no conformer).

    Raises:
        InvalidMoleculeError: the string is empty, not a string, or RDKit rejects it; the message
            carries the reason, e.g. ``cannot parse SMILES 'C1CC' (unclosed ring)``.
    """
    if not isinstance(smiles, str):
        raise InvalidMoleculeError(f"expected a SMILES string, got {type(smiles).__name__}")
    text = smiles.strip()
    if not text:
        raise InvalidMoleculeError("empty SMILES")
    mol = Chem.MolFromSmiles(text, sanitize=sanitize)
    if mol is None:
        raise InvalidMoleculeError(f"cannot parse SMILES {text!r} ({_diagnose(text)})")
    if mol.GetNumAtoms() == 0:
        raise InvalidMoleculeError(f"SMILES {text!r} has no atoms")
    return mol


def _diagnose(text: str) -> str:
    """Why RDKit rejects ``text``: a syntax problem or a chemistry problem (slow path only)."""
    raw = Chem.MolFromSmiles(text, sanitize=False)
    if raw is not None:
        problems = Chem.DetectChemistryProblems(raw)
        if problems:
            message = problems[0].Message()
            if problems[0].GetType() == "KekulizeException":
                return "cannot kekulize the aromatic system"
            return message
        return "RDKit sanitization failed"
    return _syntax_reason(text)


def _syntax_reason(text: str) -> str:
    if text.count("(") > text.count(")"):
        return "unclosed parenthesis"
    if text.count(")") > text.count("("):
        return "unmatched closing parenthesis"
    if text.count("[") != text.count("]"):
        return "unbalanced square brackets"
    digits = re.findall(r"%\d\d|(?<!\[)\d", re.sub(r"\[[^\]]*\]", "", text))
    counts: dict[str, int] = {}
    for d in digits:
        counts[d] = counts.get(d, 0) + 1
    if any(c % 2 for c in counts.values()):
        return "unclosed ring"
    return "syntax error"


def to_mol(x: MolLike) -> Chem.Mol:
    """Return an RDKit molecule for a SMILES string or a molecule (returned as is)."""
    if isinstance(x, Chem.Mol):
        return x
    return parse_smiles(x)


def parse_many(
    smiles: Iterable[str], *, source: str | None = None, strict: bool = False
) -> tuple[list[Chem.Mol | None], list[RowIssue]]:
    """Parse many SMILES, collecting a :class:`RowIssue` per failure instead of stopping.

    Args:
        smiles: the strings, in order; row numbers in issues are 1-based positions.
        source: name of the file or dataset, used in the issues.
        strict: raise on the first bad SMILES instead of collecting.

    Returns:
        ``(mols, issues)`` where ``mols[i]`` is ``None`` for a SMILES that failed.
    """
    mols: list[Chem.Mol | None] = []
    issues: list[RowIssue] = []
    for i, s in enumerate(smiles, start=1):
        try:
            mols.append(parse_smiles(s))
        except InvalidMoleculeError as exc:
            issue = RowIssue(reason=str(exc), row=i, source=source, input=None)
            if strict:
                raise InvalidMoleculeError(str(issue), issue) from None
            mols.append(None)
            issues.append(issue)
    return mols, issues


def canonical_smiles(x: MolLike, *, isomeric: bool = True) -> str:
    """Canonical RDKit SMILES of a molecule or SMILES string."""
    return Chem.MolToSmiles(to_mol(x), isomericSmiles=isomeric)


def standardize(
    x: MolLike,
    *,
    largest_fragment: bool = True,
    neutralize: bool = True,
    canonical_tautomer: bool = False,
) -> Chem.Mol:
    """Standardize a molecule: cleanup, salt stripping, neutralization, optional tautomer.

    Args:
        x: SMILES or RDKit molecule.
        largest_fragment: keep only the largest organic fragment (strips counter-ions and
            solvents: ``CC(=O)[O-].[Na+]`` becomes acetate).
        neutralize: neutralize charges where a neutral form exists (acetate becomes acetic acid).
        canonical_tautomer: replace by RDKit's canonical tautomer. Off by default: it is slow
            (milliseconds per molecule) and changes the molecule a chemist drew.

    Returns:
        A new, sanitized RDKit molecule.
    """
    mol = Chem.Mol(to_mol(x))
    mol = rdMolStandardize.Cleanup(mol)
    if largest_fragment:
        mol = rdMolStandardize.LargestFragmentChooser(preferOrganic=True).choose(mol)
    if neutralize:
        mol = rdMolStandardize.Uncharger().uncharge(mol)
    if canonical_tautomer:
        mol = rdMolStandardize.TautomerEnumerator().Canonicalize(mol)
    Chem.SanitizeMol(mol)
    return mol


def standardize_smiles(x: MolLike, **options: bool) -> str:
    """Canonical SMILES of :func:`standardize` (same keyword options)."""
    return Chem.MolToSmiles(standardize(x, **options))


def to_mols(xs: Sequence[MolLike]) -> list[Chem.Mol]:
    """Molecules for a sequence of SMILES or molecules; raises on the first bad one, naming it.

    Raises:
        InvalidMoleculeError: ``row N: cannot parse SMILES ...`` with N 1-based.
    """
    out = []
    for i, x in enumerate(xs, start=1):
        try:
            out.append(to_mol(x))
        except InvalidMoleculeError as exc:
            issue = RowIssue(reason=str(exc), row=i)
            raise InvalidMoleculeError(str(issue), issue) from None
    return out
