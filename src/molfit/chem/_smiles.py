"""SMILES parsing and standardization.

Parsing turns a string into an RDKit molecule or raises :class:`InvalidMoleculeError` with RDKit's
own reason ("unclosed ring", "Explicit valence for atom # 1 C, 5, is greater than permitted").
Standardization is the usual chain: cleanup, salt/solvent stripping, largest organic fragment,
neutralization, and optionally canonical tautomer; coordination compounds (molecules with a
metal other than an alkali or alkaline-earth counter-ion) are left as written, and every change
is reported on request (:class:`StandardizeResult`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, overload

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


# Elements that are not metals (metalloids B, Si, Ge, As, Sb, Te count as non-metals here).
_NON_METALS = frozenset(
    {1, 2, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32, 33, 34, 35, 36, 51, 52, 53, 54, 85, 86}
)
# Alkali and alkaline-earth metals: in organic data they are counter-ions of salts (bonds to them
# are ionic), so RDKit's metal disconnection and salt stripping are right for them.
_IONIC_METALS = frozenset({3, 4, 11, 12, 19, 20, 37, 38, 55, 56, 87, 88})


@dataclass(frozen=True)
class StandardizeResult:
    """What :func:`standardize` did to one molecule.

    Attributes:
        mol: the standardized, sanitized RDKit molecule.
        smiles: its canonical SMILES.
        input_smiles: canonical SMILES of the molecule as given (before standardization).
        changes: what was changed, in order, e.g. ``"removed salt/solvent fragment(s): [Na+]"``,
            ``"neutralized charges"``; empty when nothing changed.
        warnings: reasons to look at the molecule: heavy atoms lost beyond known salts and
            solvents (``"heavy-atom composition changed: dropped fragment(s) ..."``), or a metal
            complex kept as written.
    """

    mol: Chem.Mol
    smiles: str
    input_smiles: str
    changes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """True when the standardized molecule differs from the input."""
        return self.smiles != self.input_smiles


def coordination_metals(mol: Chem.Mol) -> list[str]:
    """Symbols of the metals in ``mol`` other than alkali and alkaline-earth counter-ions.

    Such metals (Pt, Fe, Cu, Zn, Al, Sn, lanthanides...) form coordination or organometallic
    bonds; a SMILES often writes their complexes as disconnected fragments (``N.N.Cl[Pt]Cl``,
    ``[cH-]1cccc1.[cH-]1cccc1.[Fe+2]``), so fragment selection would discard the ligands or
    the metal.
    """
    found = {
        a.GetSymbol()
        for a in mol.GetAtoms()
        if a.GetAtomicNum() not in _NON_METALS and a.GetAtomicNum() not in _IONIC_METALS
    }
    return sorted(found)


def _heavy_atoms(mol: Chem.Mol) -> Counter[str]:
    return Counter(a.GetSymbol() for a in mol.GetAtoms() if a.GetAtomicNum() > 1)


def _fragments(mol: Chem.Mol) -> Counter[str]:
    return Counter(Chem.MolToSmiles(f) for f in Chem.GetMolFrags(mol, asMols=True))


def _formula(counts: Counter[str]) -> str:
    return "".join(f"{el}{n if n > 1 else ''}" for el, n in sorted(counts.items()))


@overload
def standardize(
    x: MolLike,
    *,
    largest_fragment: bool = ...,
    neutralize: bool = ...,
    canonical_tautomer: bool = ...,
    report: Literal[False] = ...,
) -> Chem.Mol: ...


@overload
def standardize(
    x: MolLike,
    *,
    largest_fragment: bool = ...,
    neutralize: bool = ...,
    canonical_tautomer: bool = ...,
    report: Literal[True],
) -> StandardizeResult: ...


def standardize(
    x: MolLike,
    *,
    largest_fragment: bool = True,
    neutralize: bool = True,
    canonical_tautomer: bool = False,
    report: bool = False,
) -> Chem.Mol | StandardizeResult:
    """Standardize a molecule: cleanup, salt stripping, neutralization, optional tautomer.

    Molecules with a metal other than an alkali or alkaline-earth counter-ion (cisplatin
    ``N.N.Cl[Pt]Cl``, ferrocene) are coordination compounds: they are kept as written apart from
    explicit-hydrogen removal and functional-group normalization (no metal disconnection,
    fragment selection, reionization or neutralization), and the result carries a warning
    saying so. For other molecules, fragments in RDKit's list of salts and solvents (Na+, Cl-,
    HCl, water, acetic acid, ...) are removed first; if several fragments are still left, the
    largest organic one is kept and the dropped ones are a warning, because the heavy-atom
    composition then changed beyond known salts.

    Args:
        x: SMILES or RDKit molecule.
        largest_fragment: strip salts and solvents, then keep the largest organic fragment
            (``CC(=O)[O-].[Na+]`` becomes acetate).
        neutralize: neutralize charges where a neutral form exists (acetate becomes acetic acid,
            the glycine zwitterion becomes glycine; a quaternary ammonium stays charged).
        canonical_tautomer: replace by RDKit's canonical tautomer. Off by default: it is slow
            (milliseconds per molecule) and changes the molecule a chemist drew.
        report: return a :class:`StandardizeResult` (molecule, SMILES, changes, warnings)
            instead of the molecule alone.

    Returns:
        A new, sanitized RDKit molecule, or with ``report=True`` a :class:`StandardizeResult`.
    """
    original = Chem.Mol(to_mol(x))
    input_smiles = Chem.MolToSmiles(original)
    changes: list[str] = []
    warnings: list[str] = []
    metals = coordination_metals(original)
    if metals:
        mol = rdMolStandardize.Normalize(Chem.RemoveHs(original))
        warnings.append(
            f"contains {', '.join(metals)} (coordination compound): kept as written; metal "
            "disconnection, fragment selection and neutralization skipped"
        )
        if canonical_tautomer:
            mol = _tautomer(mol, changes)
    else:
        mol = rdMolStandardize.Cleanup(original)
        if Chem.MolToSmiles(mol) != input_smiles:
            changes.append("cleanup (metal disconnection, normalization, reionization)")
        salts: Counter[str] = Counter()
        if largest_fragment and len(Chem.GetMolFrags(mol)) > 1:
            before = _fragments(mol)
            mol = rdMolStandardize.FragmentRemover().remove(mol)
            removed = before - _fragments(mol)
            if removed:
                salts = sum(
                    (_heavy_atoms(Chem.MolFromSmiles(f)) for f in removed.elements()), Counter()
                )
                changes.append(
                    "removed salt/solvent fragment(s): " + ".".join(sorted(removed.elements()))
                )
            if len(Chem.GetMolFrags(mol)) > 1:
                before = _fragments(mol)
                mol = rdMolStandardize.LargestFragmentChooser(preferOrganic=True).choose(mol)
                dropped = before - _fragments(mol)
                changes.append(
                    "kept the largest fragment, dropped: " + ".".join(dropped.elements())
                )
        if neutralize:
            charged = Chem.MolToSmiles(mol)
            mol = rdMolStandardize.Uncharger().uncharge(mol)
            if Chem.MolToSmiles(mol) != charged:
                changes.append("neutralized charges")
        if canonical_tautomer:
            mol = _tautomer(mol, changes)
        lost = _heavy_atoms(original) - salts
        final = _heavy_atoms(mol)
        if lost != final:
            gone, gained = lost - final, final - lost
            what = []
            if gone:
                what.append(f"lost {_formula(gone)}")
            if gained:
                what.append(f"gained {_formula(gained)}")
            warnings.append(
                "heavy-atom composition changed beyond known salts and solvents: "
                + ", ".join(what)
                + f" ({input_smiles} -> {Chem.MolToSmiles(mol)})"
            )
    Chem.SanitizeMol(mol)
    if not report:
        return mol
    return StandardizeResult(
        mol=mol,
        smiles=Chem.MolToSmiles(mol),
        input_smiles=input_smiles,
        changes=tuple(changes),
        warnings=tuple(warnings),
    )


def _tautomer(mol: Chem.Mol, changes: list[str]) -> Chem.Mol:
    before = Chem.MolToSmiles(mol)
    mol = rdMolStandardize.TautomerEnumerator().Canonicalize(mol)
    if Chem.MolToSmiles(mol) != before:
        changes.append("replaced by the canonical tautomer")
    return mol


def standardize_smiles(x: MolLike, **options: bool) -> str:
    """Canonical SMILES of :func:`standardize` (same keyword options, without ``report``)."""
    options.pop("report", None)
    return Chem.MolToSmiles(standardize(x, **options))


def standardize_many(
    smiles: Iterable[MolLike], *, source: str | None = None, **options: bool
) -> tuple[list[StandardizeResult | None], list[RowIssue]]:
    """Standardize many molecules; a row per unparseable input and per standardization warning.

    Args:
        smiles: SMILES strings or molecules; row numbers are 1-based positions.
        source: file or dataset name for the issues.
        **options: keyword options of :func:`standardize` (``report`` is implied).

    Returns:
        ``(results, issues)``: ``results[i]`` is ``None`` where the input could not be parsed;
        ``issues`` holds those failures and one :class:`RowIssue` per warning (field
        ``"standardize"``), in row order.
    """
    options.pop("report", None)
    results: list[StandardizeResult | None] = []
    issues: list[RowIssue] = []
    for i, x in enumerate(smiles, start=1):
        try:
            result = standardize(x, report=True, **options)
        except InvalidMoleculeError as exc:
            results.append(None)
            issues.append(RowIssue(reason=str(exc), row=i, source=source))
            continue
        results.append(result)
        issues.extend(
            RowIssue(reason=w, row=i, source=source, field="standardize") for w in result.warnings
        )
    return results, issues


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
