"""Triplet loss (Schroff, Kalenichenko & Philbin, "FaceNet", CVPR 2015)."""

from __future__ import annotations

from torch import Tensor

from adlab.losses._checks import check_matrix, check_non_negative, check_same_shape, safe_sqrt

NAME = "triplet"  # the registry key (adlab.registry), used in links, exports and the CLI
LABEL = "Triplet"
PAPER_KEY = ""  # no anomaly-detection numbers in adlab.papers


def triplet(
    anchor: Tensor, positive: Tensor, negative: Tensor, *, margin: float, squared: bool = True
) -> Tensor:
    r"""Mean hinge loss over explicit triplets.

    .. math:: L = \frac1N \sum_i \max\big(d(a_i, p_i) - d(a_i, n_i) + m,\ 0\big)

    ``d`` is the squared Euclidean distance ``||a - p||^2`` when ``squared`` (FaceNet's choice; the
    common reference code uses it on L2-normalised embeddings with ``m = 0.2``), otherwise the
    plain Euclidean distance (pytorch-metric-learning's default, there with ``m = 0.05``).
    Nothing is normalised here: pass normalised embeddings if that is what you mean.

    Shapes: ``anchor``, ``positive``, ``negative`` are ``(N, d)``; row ``i`` of the three is one
    triplet. Returns a 0-d tensor. ``margin`` must be ``>= 0``. The Euclidean distance has a zero
    (not NaN) gradient where two points coincide.
    """
    check_matrix("anchor", anchor)
    check_matrix("positive", positive)
    check_matrix("negative", negative)
    check_same_shape(anchor=anchor, positive=positive, negative=negative)
    margin = check_non_negative("margin", margin)
    d_ap = (anchor - positive).pow(2).sum(1)  # (N,)
    d_an = (anchor - negative).pow(2).sum(1)  # (N,)
    if not squared:
        d_ap, d_an = safe_sqrt(d_ap), safe_sqrt(d_an)
    return (d_ap - d_an + margin).clamp_min(0.0).mean()
