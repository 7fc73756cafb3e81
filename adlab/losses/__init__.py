"""Contrastive losses, in-batch triplet mining and embedding diagnostics.

Each loss is a plain function returning the mean over anchors as a 0-d tensor; it works in
float32/float64, on any device, and is differentiable. See each module's docstring for the paper,
the formula and the shapes. Each loss module is also the loss's entry in :mod:`adlab.registry`
(its settings, training step, breakdown and instant view): :mod:`adlab.losses.base` has the contract.
"""

from adlab.losses.diagnostics import AnchorBreakdown, alignment, anchor_breakdown, uniformity
from adlab.losses.mining import (
    CATEGORY_NAMES,
    STRATEGIES,
    ClassifiedTriplets,
    Triplets,
    classify_triplets,
    mine_triplets,
    pairwise_distances,
    triplet_counts,
)
from adlab.losses.npair import NPairConfig, npair
from adlab.losses.ntxent import SimCLRConfig, nt_xent, nt_xent_slide
from adlab.losses.supcon import SupConConfig, supcon, supcon_slide
from adlab.losses.triplet import TripletConfig, triplet, triplet_slide

__all__ = [
    "CATEGORY_NAMES",
    "STRATEGIES",
    "AnchorBreakdown",
    "ClassifiedTriplets",
    "NPairConfig",
    "SimCLRConfig",
    "SupConConfig",
    "TripletConfig",
    "Triplets",
    "alignment",
    "anchor_breakdown",
    "classify_triplets",
    "mine_triplets",
    "npair",
    "nt_xent",
    "nt_xent_slide",
    "pairwise_distances",
    "supcon",
    "supcon_slide",
    "triplet",
    "triplet_slide",
    "triplet_counts",
    "uniformity",
]
