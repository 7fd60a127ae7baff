"""Run orchestration: ``molfit train / predict / evaluate`` as Python functions over run
directories. The CLI is a thin layer over these."""

from molfit.workflows._pipeline import (
    RunResult,
    build_run_dir,
    checked_params,
    evaluate_run,
    load_data,
    load_run_model,
    predict_file,
    read_input_table,
    score,
    train_run,
    write_csv_atomic,
)
from molfit.workflows._structures import is_structure_model, is_structure_run

__all__ = [
    "RunResult",
    "build_run_dir",
    "checked_params",
    "evaluate_run",
    "is_structure_model",
    "is_structure_run",
    "load_data",
    "load_run_model",
    "predict_file",
    "read_input_table",
    "score",
    "train_run",
    "write_csv_atomic",
]
