"""Active learning: which molecules to measure next (:func:`suggest`: max-std, EI, UCB, diverse,
variance-reduction and density batches) and simulated campaigns on labelled data next to random
selection (:func:`learn`)."""

from molfit.active._design import representativeness, variance_reduction_batch
from molfit.active._learn import Campaign, Oracle, campaign_figure, learn
from molfit.active._suggest import (
    STRATEGIES,
    acquisition,
    expected_improvement,
    mean_std,
    select_batch,
    suggest,
)

__all__ = [
    "STRATEGIES",
    "Campaign",
    "Oracle",
    "acquisition",
    "campaign_figure",
    "expected_improvement",
    "learn",
    "mean_std",
    "representativeness",
    "select_batch",
    "suggest",
    "variance_reduction_batch",
]
