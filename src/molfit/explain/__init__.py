"""Why a model predicts what it does: per-atom attributions and their drawings."""

from molfit.explain._attribution import (
    atom_attributions,
    attribution_caption,
    draw_attributions,
    explain,
)

__all__ = ["atom_attributions", "attribution_caption", "draw_attributions", "explain"]
