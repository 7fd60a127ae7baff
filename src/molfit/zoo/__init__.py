"""Pretrained models shipped with molfit: small run directories in the package data, each made by
``scripts/train_pretrained.py`` with a stated data set, split, seed and test figures.

``pretrained(name)`` returns a shipped model's run directory (after checking its files against
their SHA-256 manifest), usable wherever a run directory is: ``molfit.workflows.open_run`` /
``load_run_model``, ``molfit.atomistic.load_calculator`` for the potential, and every CLI verb
taking ``RUN`` (``molfit predict qm9-u0 CCO``). ``list_models()`` returns their
:class:`ModelCard` s. Importing this package imports neither torch nor RDKit.

Shipped: ``qm9-u0`` and ``qm9-gap`` (SchNet on QM9, eV), ``ethanol-xtb`` (a committee potential
on GFN2-xTB ethanol frames), ``b3db`` (ExtraTrees on ECFP, blood-brain barrier) and
``freesolv-gp`` (Tanimoto GP, hydration free energy, eV). ``docs/pretrained.md`` has the details.
"""

from molfit.zoo._store import (
    CARD_FILE,
    MANIFEST_FILE,
    MODELS_DIR,
    ModelCard,
    list_models,
    model_card,
    model_names,
    package_run,
    pretrained,
    verify,
    write_manifest,
)

__all__ = [
    "CARD_FILE",
    "MANIFEST_FILE",
    "MODELS_DIR",
    "ModelCard",
    "list_models",
    "model_card",
    "model_names",
    "package_run",
    "pretrained",
    "verify",
    "write_manifest",
]
