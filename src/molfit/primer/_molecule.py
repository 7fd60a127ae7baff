"""One molecule three ways for the primer's data slide: its SMILES, its ECFP bits, its graph.

Everything is derived from the SMILES by molfit (:func:`molfit.chem.parse_smiles`,
:func:`molfit.chem.ecfp`) and RDKit's 2D depiction (``rdMolDraw2D`` SVG, 2D coordinates).
"""

from __future__ import annotations

from typing import Any

from rdkit import Chem
from rdkit.Chem import rdDepictor
from rdkit.Chem.Draw import rdMolDraw2D

from molfit.chem import canonical_smiles, ecfp, parse_smiles

ASPIRIN = "CC(=O)OC1=CC=CC=C1C(=O)O"
FINGERPRINT_BITS = 1024
FINGERPRINT_RADIUS = 2  # ECFP4: the bits stay few enough to see on a slide


def structure_svg(mol: Chem.Mol, width: int = 360, height: int = 260) -> str:
    """RDKit's 2D drawing of ``mol`` as an SVG string (transparent background)."""
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    options = drawer.drawOptions()
    options.clearBackground = False
    options.bondLineWidth = 2
    options.addStereoAnnotation = False
    rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
    drawer.FinishDrawing()
    svg = drawer.GetDrawingText()
    return svg[svg.index("<svg") :]  # drop the XML declaration: the page inlines it


def molecule_graph(mol: Chem.Mol) -> dict[str, Any]:
    """Heavy atoms as nodes (element, 2D position in Å-like depiction units), bonds as edges."""
    mol = Chem.Mol(mol)
    rdDepictor.Compute2DCoords(mol)
    conf = mol.GetConformer()
    nodes = [
        {
            "index": atom.GetIdx(),
            "element": atom.GetSymbol(),
            "aromatic": atom.GetIsAromatic(),
            "x": conf.GetAtomPosition(atom.GetIdx()).x,
            "y": conf.GetAtomPosition(atom.GetIdx()).y,
        }
        for atom in mol.GetAtoms()
    ]
    edges = [
        {
            "source": bond.GetBeginAtomIdx(),
            "target": bond.GetEndAtomIdx(),
            "order": bond.GetBondTypeAsDouble(),
        }
        for bond in mol.GetBonds()
    ]
    return {"nodes": nodes, "edges": edges}


def molecule_panel(smiles: str = ASPIRIN) -> dict[str, Any]:
    """The data slide's content for ``smiles``.

    Returns:
        ``smiles`` (as given), ``canonical`` (RDKit canonical SMILES), ``n_bits``, ``radius``,
        ``on_bits`` (indices of the set ECFP bits), ``svg`` (2D structure) and ``graph``.

    Raises:
        InvalidMoleculeError: the SMILES does not parse.
    """
    mol = parse_smiles(smiles)
    bits = ecfp(mol, radius=FINGERPRINT_RADIUS, n_bits=FINGERPRINT_BITS)
    return {
        "smiles": smiles.strip(),
        "canonical": canonical_smiles(mol),
        "n_bits": FINGERPRINT_BITS,
        "radius": FINGERPRINT_RADIUS,
        "on_bits": [int(i) for i in bits.nonzero()[0]],
        "svg": structure_svg(mol),
        "graph": molecule_graph(mol),
    }
