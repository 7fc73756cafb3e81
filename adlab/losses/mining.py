"""Online triplet mining inside a batch (FaceNet, Schroff et al. CVPR 2015; batch-hard from
Hermans, Beyer & Leibe, "In Defense of the Triplet Loss for Person Re-Identification", 2017).

Categories of a valid triplet ``(a, p, n)`` (``a != p``, ``y_a = y_p``, ``y_n != y_a``) with
margin ``m``, decided in this order so that they never overlap (matters at ``m = 0``); written for
a distance ``d`` (for a similarity ``s`` every comparison flips and ``+ m`` becomes ``- m``):

- ``hard``:      ``d(a,n) <= d(a,p)``            (the negative is no farther than the positive)
- ``semi-hard``: ``d(a,p) < d(a,n) < d(a,p) + m`` (right order, but inside the margin: loss > 0)
- ``easy``:      ``d(a,n) >= d(a,p) + m``         (and not hard; loss 0)

The geometry is an :class:`adlab.distances.embedding.EmbeddingDistance` (or its name), squared
Euclidean by default (FaceNet). Everything works on the embeddings as given (callers normalise)
and under ``no_grad``; the valid-triplet mask is ``(B, B, B)`` booleans, fine for teaching-size
batches (B of a few hundred).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from adlab.distances.embedding import SQUARED_EUCLIDEAN, EmbeddingDistance, embedding_distance
from adlab.losses._checks import check_choice, check_labels, check_matrix, check_non_negative

CATEGORY_NAMES = ("easy", "semi-hard", "hard")  # codes 0, 1, 2 in ClassifiedTriplets.category
STRATEGIES = ("all", "semi-hard", "hard", "batch-hard")


class Triplets(NamedTuple):
    """Row indices into the batch, each ``(T,)`` long; row ``t`` is one triplet."""

    anchor: Tensor
    positive: Tensor
    negative: Tensor


class ClassifiedTriplets(NamedTuple):
    """Every valid triplet with its distances, hinge loss and category code (``(T,)`` each)."""

    anchor: Tensor
    positive: Tensor
    negative: Tensor
    d_ap: Tensor
    d_an: Tensor
    loss: Tensor
    category: Tensor  # long codes into CATEGORY_NAMES


def pairwise_distances(
    embeddings: Tensor, *, distance: EmbeddingDistance | str = SQUARED_EUCLIDEAN
) -> Tensor:
    """(B, d) -> (B, B) values of ``distance`` between the rows (a distance has a zero diagonal)."""
    return embedding_distance(distance).pairwise(check_matrix("embeddings", embeddings))


def classify_triplets(
    embeddings: Tensor, labels: Tensor, *, margin: float, distance: EmbeddingDistance | str = SQUARED_EUCLIDEAN
) -> ClassifiedTriplets:
    """All valid ``(a, p, n)`` in lexicographic order, classified as easy / semi-hard / hard.

    ``d_ap`` / ``d_an`` are values of ``distance`` (similarities for a similarity); ``loss`` is the
    hinge ``max(violation + m, 0)`` with the distance's own margin direction.
    """
    dist = embedding_distance(distance)
    d, valid, margin = _prepare(embeddings, labels, margin, dist)
    a, p, n = valid.nonzero(as_tuple=True)  # (T,) each
    d_ap, d_an = d[a, p], d[a, n]
    band = d_ap - margin if dist.larger_is_closer else d_ap + margin  # (T,) the margin's outer edge
    category = torch.zeros_like(a)
    category[dist.closer(d_an, band)] = 1  # inside the margin
    category[~dist.closer(d_ap, d_an)] = 2  # the positive is not closer than the negative
    loss = (dist.violation(d_ap, d_an) + margin).clamp_min(0.0)
    return ClassifiedTriplets(a, p, n, d_ap, d_an, loss, category)


def triplet_counts(
    embeddings: Tensor, labels: Tensor, *, margin: float, distance: EmbeddingDistance | str = SQUARED_EUCLIDEAN
) -> dict[str, int]:
    """Counts ``{"easy", "semi_hard", "hard", "total"}`` over all valid triplets of the batch."""
    codes = classify_triplets(embeddings, labels, margin=margin, distance=distance).category
    counts = torch.bincount(codes, minlength=3).tolist()
    return {"easy": counts[0], "semi_hard": counts[1], "hard": counts[2], "total": int(codes.numel())}


def mine_triplets(
    embeddings: Tensor,
    labels: Tensor,
    *,
    strategy: str,
    margin: float,
    distance: EmbeddingDistance | str = SQUARED_EUCLIDEAN,
) -> Triplets:
    """Index triplets for :func:`adlab.losses.triplet`.

    ``"all"`` every valid triplet; ``"semi-hard"`` / ``"hard"`` only that category;
    ``"batch-hard"`` one triplet per anchor that has a positive and a negative: its farthest
    positive and nearest negative under ``distance`` (ties -> lowest index). Indices live on the
    embeddings' device.
    """
    check_choice("strategy", strategy, STRATEGIES)
    dist = embedding_distance(distance)
    if strategy == "batch-hard":
        d, valid, _ = _prepare(embeddings, labels, margin, dist)
        pos, neg = valid.any(2), valid.any(1)  # (B, B) each: [a, p] and [a, n]
        keep = pos.any(1) & neg.any(1)  # (B,)
        if dist.larger_is_closer:  # least similar positive, most similar negative
            hardest_p = d.masked_fill(~pos, torch.inf).argmin(1)  # (B,)
            hardest_n = d.masked_fill(~neg, -torch.inf).argmax(1)  # (B,)
        else:
            hardest_p = d.masked_fill(~pos, -torch.inf).argmax(1)  # (B,)
            hardest_n = d.masked_fill(~neg, torch.inf).argmin(1)  # (B,)
        anchors = keep.nonzero(as_tuple=True)[0]
        return Triplets(anchors, hardest_p[anchors], hardest_n[anchors])
    c = classify_triplets(embeddings, labels, margin=margin, distance=dist)
    if strategy == "all":
        return Triplets(c.anchor, c.positive, c.negative)
    select = c.category == CATEGORY_NAMES.index(strategy)
    return Triplets(c.anchor[select], c.positive[select], c.negative[select])


def _prepare(embeddings: Tensor, labels: Tensor, margin: float, distance: EmbeddingDistance):
    """Values (B, B) of ``distance``, valid-triplet mask (B, B, B) indexed [a, p, n], checked margin."""
    check_matrix("embeddings", embeddings)
    margin = check_non_negative("margin", margin)
    b = embeddings.shape[0]
    labels = check_labels(labels, b, embeddings.device)
    with torch.no_grad():
        d = distance.pairwise(embeddings.detach())  # (B, B)
    same = labels[:, None] == labels[None, :]  # (B, B)
    eye = torch.eye(b, dtype=torch.bool, device=embeddings.device)
    valid = (same & ~eye)[:, :, None] & ~same[:, None, :]  # (B, B, B)
    return d, valid, margin
