"""Metrics, conformal uncertainty, probability calibration, applicability domain and reports."""

from molfit.evaluate._calibrated import CalibratedModel
from molfit.evaluate._conformal import (
    ProbabilityCalibrator,
    conformal_quantile,
    cv_plus_interval,
    prediction_sets,
)
from molfit.evaluate._domain import ApplicabilityDomain, nearest_neighbour_similarity
from molfit.evaluate._metrics import (
    classification_metrics,
    expected_calibration_error,
    gaussian_nll,
    interval_coverage,
    mean_interval_width,
    miscalibration_area,
    regression_calibration_curve,
    regression_metrics,
    set_metrics,
    uncertainty_metrics,
)

__all__ = [
    "ApplicabilityDomain",
    "CalibratedModel",
    "ProbabilityCalibrator",
    "classification_metrics",
    "conformal_quantile",
    "cv_plus_interval",
    "expected_calibration_error",
    "gaussian_nll",
    "interval_coverage",
    "mean_interval_width",
    "miscalibration_area",
    "nearest_neighbour_similarity",
    "prediction_sets",
    "regression_calibration_curve",
    "regression_metrics",
    "set_metrics",
    "uncertainty_metrics",
]
