"""Run orchestration: ``molfit train / predict / evaluate`` as Python functions over run
directories, one pipeline for molecule and structure runs (input adapters). The CLI is a thin
layer over these."""

from molfit.workflows._inputs import (
    InputAdapter,
    MoleculeInputs,
    StructureInputs,
    default_readout,
    target_kinds,
    target_units,
)
from molfit.workflows._output import TableWriter, iter_table, write_table_atomic
from molfit.workflows._pipeline import (
    Evaluation,
    PredictSummary,
    RunResult,
    checked_params,
    evaluate_run,
    is_structure_model,
    is_structure_run,
    load_run_model,
    molecule_keys,
    open_run,
    predict_file,
    score,
    standardize_all,
    train_run,
)
from molfit.workflows._run_dir import RunDirectory

__all__ = [
    "Evaluation",
    "InputAdapter",
    "MoleculeInputs",
    "PredictSummary",
    "RunDirectory",
    "RunResult",
    "StructureInputs",
    "TableWriter",
    "checked_params",
    "default_readout",
    "evaluate_run",
    "is_structure_model",
    "is_structure_run",
    "iter_table",
    "load_run_model",
    "molecule_keys",
    "open_run",
    "predict_file",
    "score",
    "standardize_all",
    "target_kinds",
    "target_units",
    "train_run",
    "write_table_atomic",
]
