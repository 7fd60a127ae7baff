"""Active learning: which molecules to measure next (:func:`suggest`: max-std, EI, UCB, diverse
batches) and simulated campaigns on labelled data next to random selection (:func:`learn`)."""

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
    "select_batch",
    "suggest",
]
