"""Medicinal-chemistry filters for screening hits: RDKit's PAINS and Brenk filter catalogs and
Lipinski's rule of five.

Each filter adds a column and never removes a row: ``pains`` / ``brenk`` hold the description of
the first matching catalog entry (``""`` when clean), ``lipinski_violations`` the number of
rule-of-five violations (molecular weight > 500 Da, Crippen logP > 5, H-bond donors > 5, H-bond
acceptors > 10). ``passes_filters`` is true when no requested filter flags the molecule (PAINS
and Brenk: no match; Lipinski: at most one violation, Lipinski's own allowance).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from molfit.errors import InputError

FILTERS: tuple[str, ...] = ("pains", "brenk", "lipinski")

_CATALOGS: dict[str, Any] = {}


def check_filters(names: Sequence[str] | str | None) -> list[str]:
    """The filter names in ``names`` (a list or a comma-separated string), checked.

    Raises:
        InputError: an unknown filter name.
    """
    if names is None:
        return []
    if isinstance(names, str):
        names = [n for n in names.split(",")]
    out: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        if name not in FILTERS:
            raise InputError(f"--filter: unknown filter {raw!r}; choose from {', '.join(FILTERS)}")
        if name not in out:
            out.append(name)
    return out


def _catalog(name: str) -> Any:
    if name not in _CATALOGS:
        from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

        params = FilterCatalogParams()
        params.AddCatalog(
            FilterCatalogParams.FilterCatalogs.PAINS
            if name == "pains"
            else FilterCatalogParams.FilterCatalogs.BRENK
        )
        _CATALOGS[name] = FilterCatalog(params)
    return _CATALOGS[name]


def lipinski_violations(mol: Any) -> int:
    """Rule-of-five violations of an RDKit molecule (0-4): MW > 500 Da, Crippen logP > 5,
    H-bond donors > 5, H-bond acceptors > 10 (RDKit's Lipinski definitions)."""
    from rdkit.Chem import Crippen, Descriptors, Lipinski

    return (
        int(Descriptors.MolWt(mol) > 500)
        + int(Crippen.MolLogP(mol) > 5)
        + int(Lipinski.NumHDonors(mol) > 5)
        + int(Lipinski.NumHAcceptors(mol) > 10)
    )


def apply_filters(mols: Sequence[Any], names: Sequence[str]) -> dict[str, list[Any]]:
    """Filter columns for ``mols`` (``None`` entries get empty/neutral values).

    Returns:
        ``{column: values}``: ``pains`` and ``brenk`` (str), ``lipinski_violations`` (int, -1
        for a missing molecule) for the requested filters, and ``passes_filters`` (bool).
    """
    columns: dict[str, list[Any]] = {}
    passes = [m is not None for m in mols]
    for name in names:
        if name in ("pains", "brenk"):
            catalog = _catalog(name)
            values = []
            for i, mol in enumerate(mols):
                entry = catalog.GetFirstMatch(mol) if mol is not None else None
                values.append(entry.GetDescription() if entry is not None else "")
                if entry is not None:
                    passes[i] = False
            columns[name] = values
        elif name == "lipinski":
            counts = []
            for i, mol in enumerate(mols):
                n = lipinski_violations(mol) if mol is not None else -1
                counts.append(n)
                if n > 1:
                    passes[i] = False
            columns["lipinski_violations"] = counts
    columns["passes_filters"] = passes
    return columns
