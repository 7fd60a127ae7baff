"""Knowing what a model does not know: conformal intervals and sets, probability calibration,
the applicability domain, and :class:`CalibratedModel`, which wraps any molfit estimator in all
three."""

from molfit.uncertainty._calibrated import CalibratedModel, calibrated_std
from molfit.uncertainty._conformal import (
    ProbabilityCalibrator,
    conformal_quantile,
    cv_plus_interval,
    jackknife_plus_interval,
    mondrian_interval,
    mondrian_quantiles,
    prediction_sets,
    similarity_bins,
)
from molfit.uncertainty._domain import (
    AD_FINGERPRINT,
    ApplicabilityDomain,
    nearest_neighbour_similarity,
)

__all__ = [
    "AD_FINGERPRINT",
    "ApplicabilityDomain",
    "CalibratedModel",
    "ProbabilityCalibrator",
    "calibrated_std",
    "conformal_quantile",
    "cv_plus_interval",
    "jackknife_plus_interval",
    "mondrian_interval",
    "mondrian_quantiles",
    "nearest_neighbour_similarity",
    "prediction_sets",
    "similarity_bins",
]
