"""Knowing what the model does not know, at the level of a study: several models compared over
seeds and splits (the Rashomon effect), the disagreement of equally good models as an error
signal, and distribution-shift splits with in- vs out-of-domain error and coverage."""

from molfit.trust._compare import (
    Comparison,
    SplitComparison,
    compare_models,
    comparison_json,
    equally_good,
    mean_ci,
    paired_test,
    spearman,
    write_json_atomic,
)
from molfit.trust._report import comparison_figure, write_comparison_report
from molfit.trust._shift import SHIFTS, shift_report, shift_split

__all__ = [
    "SHIFTS",
    "Comparison",
    "SplitComparison",
    "compare_models",
    "comparison_figure",
    "comparison_json",
    "equally_good",
    "mean_ci",
    "paired_test",
    "shift_report",
    "shift_split",
    "spearman",
    "write_comparison_report",
    "write_json_atomic",
]
