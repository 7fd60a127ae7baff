"""Oracles: the quantum-chemistry or force-field codes that label structures with energies and
forces (and stress for periodic cells), each as an ASE calculator.

- ``xtb``: GFN2-xTB through ``tblite`` (about 10 ms for a drug-sized molecule on one core).
- ``dft``: Kohn–Sham DFT through ``pyscf``, B3LYP/def2-SVP with density fitting by default; the
  converged density of one frame seeds the next, which roughly halves the SCF cycles along an MD
  trajectory.
- ``emt``: ASE's effective-medium theory for fcc metals (Al, Ni, Cu, Pd, Ag, Pt, Au).
- ``chgnet``: the pretrained universal potential CHGNet (``pip install molfit[universal]``; its
  weights ship inside the wheel, so it runs offline), for periodic cells of elements H..Pu.
- ``sevenn``: the pretrained universal potential SevenNet-0 (``7net-0``, ``pip install sevenn``;
  weights inside the wheel, offline), for periodic cells of the 89 elements it was trained on.

Every oracle returns eV and eV/Å (stress eV/Å³). A frame it cannot handle (an SCF that does not
converge, an element it has no parameters for) raises :class:`OracleError`, which the callers turn
into a reported, skipped frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from molfit.errors import InputError, MolfitError
from molfit.units import HARTREE_EV, HARTREE_PER_BOHR_EV_PER_ANGSTROM

ORACLES = ("xtb", "dft", "emt", "chgnet", "sevenn")
EMT_ELEMENTS = frozenset({"H", "C", "N", "O", "Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au"})
CHGNET_MAX_Z = 94  #: CHGNet's training set (Materials Project) covers H..Pu


class OracleError(MolfitError):
    """An oracle could not label a structure (the message says why)."""


def _pyscf_calculator_class() -> type:
    from ase.calculators.calculator import Calculator, all_changes

    class PySCFDFT(Calculator):
        """Kohn–Sham DFT energies and forces from pyscf (closed or open shell).

        Args:
            xc: exchange-correlation functional (pyscf's name, e.g. ``"b3lyp"``, ``"pbe"``).
            basis: basis set (e.g. ``"def2-svp"``).
            density_fit: use density fitting (RI-J), much faster at a small error.
            charge, spin: total charge and 2S (number of unpaired electrons).
            conv_tol: SCF energy convergence, Hartree.
            max_cycle: SCF iterations before giving up.
        """

        implemented_properties = ["energy", "forces"]  # noqa: RUF012 (ASE's interface)

        def __init__(
            self,
            xc: str = "b3lyp",
            basis: str = "def2-svp",
            density_fit: bool = True,
            charge: int = 0,
            spin: int = 0,
            conv_tol: float = 1e-9,
            max_cycle: int = 100,
            **kwargs: Any,
        ) -> None:
            super().__init__(**kwargs)
            self.xc, self.basis, self.density_fit = xc, basis, density_fit
            self.charge, self.spin = charge, spin
            self.conv_tol, self.max_cycle = conv_tol, max_cycle
            self._guess: tuple[tuple[int, ...], Any] | None = None

        def calculate(
            self, atoms: Any = None, properties: Any = None, system_changes: Any = all_changes
        ) -> None:
            super().calculate(atoms, properties, system_changes)
            from pyscf import dft, gto

            atoms = self.atoms
            mol = gto.M(
                atom=[
                    (s, tuple(p))
                    for s, p in zip(atoms.get_chemical_symbols(), atoms.positions, strict=True)
                ],
                unit="Angstrom",
                basis=self.basis,
                charge=self.charge,
                spin=self.spin,
                verbose=0,
            )
            mf = dft.RKS(mol) if self.spin == 0 else dft.UKS(mol)
            mf.xc = self.xc
            mf.conv_tol = self.conv_tol
            mf.max_cycle = self.max_cycle
            if self.density_fit:
                mf = mf.density_fit()
            key = tuple(int(z) for z in atoms.numbers)
            dm0 = self._guess[1] if self._guess is not None and self._guess[0] == key else None
            energy = mf.kernel(dm0=dm0)
            if not mf.converged:
                self._guess = None
                raise OracleError(
                    f"DFT ({self.xc}/{self.basis}) SCF did not converge in {self.max_cycle} cycles"
                )
            self._guess = (key, mf.make_rdm1())
            gradient = mf.nuc_grad_method().kernel()
            self.results = {
                "energy": float(energy) * HARTREE_EV,
                "forces": -np.asarray(gradient) * HARTREE_PER_BOHR_EV_PER_ANGSTROM,
            }

    return PySCFDFT


def make_oracle(name: str, **options: Any) -> Any:
    """A new ASE calculator for oracle ``name`` (``xtb``, ``dft`` or ``emt``).

    Options: ``xtb``: ``method`` (``"GFN2-xTB"``), ``charge``, ``multiplicity``,
    ``accuracy``, ``max_iterations``; ``dft``: ``xc``, ``basis``, ``density_fit``, ``charge``,
    ``spin``, ``conv_tol``, ``max_cycle``; ``emt``: none; ``chgnet``: ``use_device``
    (``"cpu"`` by default), ``model_name`` (a CHGNet checkpoint version shipped in the wheel);
    ``sevenn``: ``model`` (``"7net-0"``, a checkpoint shipped in the wheel), ``device``.

    Raises:
        InputError: unknown oracle or option, or the oracle's package is not installed (the
            message says what to ``pip install``).
    """
    key = name.lower()
    try:
        if key == "xtb":
            from tblite.ase import TBLite

            opts = {"method": "GFN2-xTB", "verbosity": 0, **options}
            return TBLite(**opts)
        if key == "dft":
            return _pyscf_calculator_class()(**options)
        if key == "emt":
            from ase.calculators.emt import EMT

            if options:
                raise InputError(f"oracle 'emt' takes no options, got {sorted(options)}")
            return EMT()
        if key == "chgnet":
            return _chgnet_calculator(**options)
        if key == "sevenn":
            return _sevenn_calculator(**options)
    except ImportError as exc:
        package = {"xtb": "tblite", "dft": "pyscf"}.get(key, key)
        raise InputError(
            f"oracle {name!r} needs the {package!r} package: pip install {package} ({exc})"
        ) from None
    except TypeError as exc:
        raise InputError(f"oracle {name!r}: bad option ({exc})") from None
    raise InputError(f"unknown oracle {name!r}; available: {', '.join(ORACLES)}")


def _chgnet_calculator(use_device: str = "cpu", model_name: str | None = None) -> Any:
    """CHGNet's own ASE calculator (energy eV, forces eV/Å, stress eV/Å³), loaded quietly."""
    import contextlib
    import io
    import warnings

    from chgnet.model import CHGNet
    from chgnet.model.dynamics import CHGNetCalculator

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CHGNet.load(model_name=model_name) if model_name else CHGNet.load()
        # stress_weight converts CHGNet's GPa to eV/Å³, molfit's (and ASE's) stress unit
        from ase.units import GPa

        return CHGNetCalculator(model=model, use_device=use_device, stress_weight=GPa)


def _sevenn_calculator(model: str = "7net-0", device: str = "cpu") -> Any:
    """SevenNet's own ASE calculator (energy eV, forces eV/Å, stress eV/Å³ as ASE's), loaded
    quietly; the elements it knows are its ``type_map`` (atomic numbers)."""
    import contextlib
    import io
    import warnings

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sevenn.calculator import SevenNetCalculator

        return SevenNetCalculator(model, device=device)


def check_supported(name: str, atoms: Any, calculator: Any = None) -> None:
    """Raise :class:`OracleError` when oracle ``name`` has no parameters for an element (or,
    for ``chgnet`` and ``sevenn``, the structure is not a periodic cell). ``calculator``: the
    oracle's calculator, where its element list lives (SevenNet's ``type_map``)."""
    if name.lower() == "sevenn":
        if not (atoms.pbc.all() and atoms.cell.rank == 3):
            raise OracleError("SevenNet labels periodic cells only (this structure has no 3D cell)")
        known = getattr(calculator, "type_map", None)
        if known:
            missing = sorted({s for s, z in zip(atoms.get_chemical_symbols(), atoms.numbers,
                                                strict=True) if int(z) not in known})  # fmt: skip
            if missing:
                raise OracleError(f"SevenNet has no training data for {', '.join(missing)}")
    if name.lower() == "chgnet":
        if not (atoms.pbc.all() and atoms.cell.rank == 3):
            raise OracleError("CHGNet labels periodic cells only (this structure has no 3D cell)")
        heavy = sorted({s for s, z in zip(atoms.get_chemical_symbols(), atoms.numbers,
                                           strict=True) if z > CHGNET_MAX_Z})  # fmt: skip
        if heavy:
            raise OracleError(f"CHGNet has no training data for {', '.join(heavy)} (Z > 94)")
    if name.lower() == "emt":
        unknown = sorted(set(atoms.get_chemical_symbols()) - EMT_ELEMENTS)
        if unknown:
            raise OracleError(
                f"EMT has no parameters for {', '.join(unknown)} "
                f"(it knows {', '.join(sorted(EMT_ELEMENTS))})"
            )


def evaluate(calculator: Any, atoms: Any, *, stress: bool | None = None) -> dict[str, Any]:
    """Energy (eV), forces (eV/Å) and, for periodic cells, stress (eV/Å³, 3×3) of ``atoms``.

    Raises:
        OracleError: the calculation failed or gave non-finite numbers.
    """
    atoms = atoms.copy()
    atoms.calc = calculator
    want_stress = bool(atoms.pbc.all()) if stress is None else stress
    try:
        out = {
            "energy": float(atoms.get_potential_energy()),
            "forces": np.asarray(atoms.get_forces(), dtype=np.float64),
        }
        if want_stress:
            out["stress"] = np.asarray(atoms.get_stress(voigt=False), dtype=np.float64)
    except OracleError:
        raise
    except Exception as exc:  # each oracle raises its own types for failed calculations
        raise OracleError(f"{type(exc).__name__}: {exc}".strip()) from None
    if not np.isfinite(out["energy"]) or not np.isfinite(out["forces"]).all():
        raise OracleError("the oracle returned non-finite energy or forces")
    return out
