"""Metrics of accuracy and calibration, figures, and self-contained HTML reports."""

from molfit.evaluate._metrics import (
    classification_metrics,
    coverage_by_similarity,
    expected_calibration_error,
    force_metrics,
    gaussian_nll,
    interval_coverage,
    mean_interval_width,
    miscalibration_area,
    regression_calibration_curve,
    regression_metrics,
    set_metrics,
    spearman,
    uncertainty_metrics,
)
from molfit.evaluate._report import (
    classification_figures,
    force_figures,
    leakage_figure,
    parity_figures,
    regression_figures,
    write_report,
)

__all__ = [
    "classification_figures",
    "classification_metrics",
    "coverage_by_similarity",
    "expected_calibration_error",
    "force_figures",
    "force_metrics",
    "gaussian_nll",
    "interval_coverage",
    "leakage_figure",
    "mean_interval_width",
    "miscalibration_area",
    "parity_figures",
    "regression_calibration_curve",
    "regression_figures",
    "regression_metrics",
    "set_metrics",
    "spearman",
    "uncertainty_metrics",
    "write_report",
]
