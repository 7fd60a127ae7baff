"""Active learning: which molecules to measure next (:func:`suggest`: max-std, EI, UCB, diverse,
variance-reduction and density batches) and simulated campaigns on labelled data next to random
selection (:func:`learn`); for potentials, committee-driven active sampling of MD frames
(:func:`active_sample`)."""

from molfit.active._design import representativeness, variance_reduction_batch
from molfit.active._learn import Campaign, Oracle, campaign_figure, learn
from molfit.active._sampling import (
    DEFAULT_MODEL_OPTIONS,
    ActiveSampleResult,
    active_sample,
    frame_sigma,
    select_frames,
)
from molfit.active._suggest import (
    STRATEGIES,
    acquisition,
    expected_improvement,
    mean_std,
    select_batch,
    suggest,
)

__all__ = [
    "DEFAULT_MODEL_OPTIONS",
    "STRATEGIES",
    "ActiveSampleResult",
    "Campaign",
    "Oracle",
    "acquisition",
    "active_sample",
    "campaign_figure",
    "expected_improvement",
    "frame_sigma",
    "learn",
    "mean_std",
    "representativeness",
    "select_batch",
    "select_frames",
    "suggest",
    "variance_reduction_batch",
]
