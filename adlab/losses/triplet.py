"""Triplet loss (Schroff, Kalenichenko & Philbin, "FaceNet", CVPR 2015): the loss, its settings, its
training step with online mining, its per-anchor breakdown and its instant view (the loss-module
contract of :mod:`adlab.losses.base`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adlab.distances.embedding import SQUARED_EUCLIDEAN, EmbeddingDistance, embedding_distance
from adlab.instant import (
    CircleBatch,
    ExplorerPool,
    ExplorerResult,
    InstantView,
    as_tensor,
    check_anchor,
    class_batch,
    finish,
)
from adlab.losses._checks import (
    check_choice,
    check_index,
    check_labels,
    check_matrix,
    check_non_negative,
    check_same_shape,
)
from adlab.losses.base import CLASS, StepContext
from adlab.losses.diagnostics import AnchorBreakdown
from adlab.losses.mining import STRATEGIES, classify_triplets, mine_triplets, triplet_counts

NAME = "triplet"  # the registry key (adlab.registry), used in links, exports and the CLI
LABEL = "Triplet"
PAPER_KEY = ""  # no anomaly-detection numbers in adlab.papers
DISTANCES = ("squared_euclidean", "euclidean")  # the geometries the breakdown and the rings know


def triplet(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    margin: float,
    distance: EmbeddingDistance | str = SQUARED_EUCLIDEAN,
) -> Tensor:
    r"""Mean hinge loss over explicit triplets.

    .. math:: L = \frac1N \sum_i \max\big(v(a_i, p_i, n_i) + m,\ 0\big), \qquad
              v = d(a,p) - d(a,n) \text{ (distance)}, \quad v = s(a,n) - s(a,p) \text{ (similarity)}

    ``distance`` (an :class:`~adlab.distances.embedding.EmbeddingDistance` or its name) gives
    ``d`` and the margin's direction: squared Euclidean by default (FaceNet's choice; the common
    reference code uses it on L2-normalised embeddings with ``m = 0.2``), ``"euclidean"`` for the
    plain distance (pytorch-metric-learning's default, there with ``m = 0.05``). Nothing is
    normalised here unless the distance does it: pass normalised embeddings if that is what you mean.

    Shapes: ``anchor``, ``positive``, ``negative`` are ``(N, d)``; row ``i`` of the three is one
    triplet. Returns a 0-d tensor. ``margin`` must be ``>= 0``. The Euclidean distance has a zero
    (not NaN) gradient where two points coincide.
    """
    v = _violations(anchor, positive, negative, distance)  # (N,)
    margin = check_non_negative("margin", margin)
    return (v + margin).clamp_min(0.0).mean()


def triplet_slide(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    margin: float,
    distance: EmbeddingDistance | str = SQUARED_EUCLIDEAN,
) -> Tensor:
    r"""The seminar slide's triplet loss: the margin ``s`` *subtracted* instead of added.

    The slide writes (sum over the anchors ``x`` of the batch ``X``)

    .. math:: \mathcal{L}_{triplet} = \sum_{x \in X} \max\big(\lVert f(x) - f(x_{pos})\rVert^2
              - \lVert f(x) - f(x_{neg})\rVert^2 - s,\ 0\big)

    and this returns the mean over the ``N`` triplets, so that it compares with :func:`triplet` term
    for term (same ``v`` and ``distance``; the slide's distance is the squared one):

    .. math:: L = \frac1N \sum_i \max\big(v(a_i, p_i, n_i) - s,\ 0\big)

    A triplet counts only when the negative is closer than the positive by more than ``s``: the
    loss ignores the semi-hard triplets and the hard ones within ``s``, the very ones the paper's
    margin is there to push apart. At ``s = 0`` it equals ``triplet(margin=0)``; for ``s > 0`` it
    is below ``triplet(margin=s)``.

    Shapes: ``anchor``, ``positive``, ``negative`` are ``(N, d)``; row ``i`` of the three is one
    triplet. Returns a 0-d tensor. ``margin`` (the slide's ``s``) must be ``>= 0``.
    """
    v = _violations(anchor, positive, negative, distance)  # (N,)
    margin = check_non_negative("margin", margin)
    return (v - margin).clamp_min(0.0).mean()


def _violations(anchor: Tensor, positive: Tensor, negative: Tensor, distance: EmbeddingDistance | str) -> Tensor:
    """``(N,)`` violations ``v`` of explicit triplets (checked ``(N, d)`` rows), before the margin."""
    check_matrix("anchor", anchor)
    check_matrix("positive", positive)
    check_matrix("negative", negative)
    check_same_shape(anchor=anchor, positive=positive, negative=negative)
    dist = embedding_distance(distance)
    d_ap = dist.paired(anchor, positive)  # (N,)
    d_an = dist.paired(anchor, negative)  # (N,)
    return dist.violation(d_ap, d_an)


@dataclass(frozen=True)
class TripletConfig:
    """The triplet loss's settings: ``margin`` ``m >= 0`` on ``distance`` (``"squared_euclidean"``
    or ``"euclidean"``) between L2-normalised embeddings; ``mining`` one of
    :data:`adlab.losses.mining.STRATEGIES`."""

    margin: float = 0.2
    mining: str = "semi-hard"
    distance: str = "squared_euclidean"

    def __post_init__(self) -> None:
        check_non_negative("margin", self.margin)
        check_choice("mining", self.mining, STRATEGIES)
        check_choice("distance", self.distance, DISTANCES)

    @property
    def geometry(self) -> EmbeddingDistance:
        """The distance object named by ``distance``."""
        return embedding_distance(self.distance)


Config = TripletConfig


def positives(cfg: TripletConfig) -> str:
    """Positives share the anchor's class."""
    return CLASS


def make_step(cfg: TripletConfig, ctx: StepContext) -> Callable[[nn.Module, tuple[Tensor, ...]], Tensor]:
    """Step on a ``(x, y)`` batch: L2-normalised embeddings, triplets mined with ``cfg.mining``
    (their easy / semi-hard / hard counts go to ``ctx.record``), mean hinge over the mined ones."""
    distance = cfg.geometry

    def step(model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
        x, y = batch
        z = F.normalize(model(x), dim=1)  # (B, d) on the unit sphere
        with torch.no_grad():
            t = mine_triplets(z, y, strategy=cfg.mining, margin=cfg.margin, distance=distance)
            ctx.record(triplet_counts(z, y, margin=cfg.margin, distance=distance))
        if len(t.anchor) == 0:
            return (z * 0).sum()  # no triplet in this batch: zero, still attached to the graph
        return triplet(z[t.anchor], z[t.positive], z[t.negative], margin=cfg.margin, distance=distance)

    return step


def breakdown(cfg: TripletConfig, *, anchor: int, embeddings: Tensor, labels: Tensor) -> AnchorBreakdown:
    """The anchor's loss = mean hinge over all its valid (p, n) pairs (embeddings as given, not
    normalised); rows are its positives and negatives, ``similarity`` the distance ``d(a, k)``,
    ``pairs`` every (p, n) with its hinge. Shapes: ``embeddings`` ``(B, d)``, ``labels`` ``(B,)``."""
    check_matrix("embeddings", embeddings)
    margin = check_non_negative("margin", cfg.margin)
    lab = check_labels(labels, len(embeddings), embeddings.device).cpu()
    anchor = check_index("anchor", anchor, len(embeddings))
    squared = cfg.distance == "squared_euclidean"
    x = embeddings.detach().double().cpu()  # (B, d)
    dist = cfg.geometry.paired(x, x[anchor].expand_as(x))  # (B,) d(a, k)
    same = lab == lab[anchor]
    same[anchor] = False
    pos, neg = same.nonzero(as_tuple=True)[0], (lab != lab[anchor]).nonzero(as_tuple=True)[0]
    hinge = (dist[pos][:, None] - dist[neg][None, :] + margin).clamp_min(0.0)  # (|P|, |N|)
    n_pairs, total = hinge.numel(), float(hinge.sum())
    active = (hinge > 0).double()  # (|P|, |N|); a zero hinge has zero (sub)gradient here
    # d d(a,k) / d a = -g_k (x_k - x_a): g = 2 (squared) or 1/d (Euclidean; 0 where d = 0)
    g = torch.full_like(dist, 2.0) if squared else torch.where(dist > 0, 1 / dist.clamp_min(1e-300), 0.0)
    w_pos = -g[pos] * active.sum(1) / max(n_pairs, 1)  # (|P|,)
    w_neg = g[neg] * active.sum(0) / max(n_pairs, 1)  # (|N|,)
    share_pos = hinge.sum(1) / total if total > 0 else torch.zeros(len(pos), dtype=torch.float64)
    share_neg = hinge.sum(0) / total if total > 0 else torch.zeros(len(neg), dtype=torch.float64)
    index = torch.cat([pos, neg])
    order = torch.argsort(index)
    role = np.array(["positive"] * len(pos) + ["negative"] * len(neg))[order.numpy()]
    pp, nn_ = torch.meshgrid(pos, neg, indexing="ij")  # (|P|, |N|) each
    pairs = {"positive": pp.reshape(-1).numpy(), "negative": nn_.reshape(-1).numpy(), "loss": hinge.reshape(-1).numpy()}
    return AnchorBreakdown(
        NAME,
        anchor,
        total / n_pairs if n_pairs else 0.0,
        index[order].numpy(),
        role,
        dist[index][order].numpy(),
        torch.cat([share_pos, share_neg])[order].numpy(),
        (torch.cat([w_pos, w_neg])[order] + 0.0).numpy(),  # + 0.0 turns -0.0 into 0.0
        1.0,
        note="" if n_pairs else "no valid (positive, negative) pair for this anchor",
        pairs=pairs,
        similarity_name="distance",
        share_name="share of the anchor's hinge loss",
    )


def instant_batch() -> CircleBatch:
    """3 classes x 4 unit vectors (:func:`adlab.instant.class_batch`)."""
    return class_batch()


def instant_view(batch: CircleBatch, anchor: int, cfg: TripletConfig, *, positive: int | None = None,
                 slide: bool = False) -> InstantView:
    """The loss on a class batch, with the margin band of one (anchor, positive).

    ``loss`` = mean hinge over every valid triplet of the batch (mining strategy "all"); negatives
    are grouped easy / semi-hard / hard relative to ``positive`` (default: the anchor's farthest
    positive, as batch-hard mining picks it). Rings: Euclidean radii ``d(a,p)`` and the band's outer
    edge, ``sqrt(d(a,p)^2 + m)`` for squared distances or ``d(a,p) + m`` for plain ones.
    ``slide``: also the seminar slide's loss (:func:`triplet_slide`) on the same triplets, for the
    batch and for the anchor's own ones (``slide_loss``, ``slide_anchor_loss``).
    """
    anchor = check_anchor(anchor, len(batch.points))
    margin, distance = cfg.margin, cfg.geometry
    emb, lab = as_tensor(batch.points), torch.as_tensor(batch.labels)
    trip = mine_triplets(emb, lab, strategy="all", margin=margin, distance=distance)
    loss = triplet(emb[trip.anchor], emb[trip.positive], emb[trip.negative], margin=margin, distance=distance)
    bd = breakdown(cfg, anchor=anchor, embeddings=emb, labels=lab)
    pos_rows = bd.index[bd.role == "positive"]
    d_of = dict(zip(bd.index.tolist(), bd.similarity.tolist(), strict=True))  # d(a, k) per term
    if positive is None:
        positive = int(pos_rows[np.argmax([d_of[p] for p in pos_rows])])
    elif positive not in pos_rows:
        raise ValueError(f"positive must be one of the anchor's positives {pos_rows.tolist()}, got {positive!r}")
    d_ap = d_of[positive]
    groups = np.full(len(batch.points), "other", dtype=object)
    groups[pos_rows] = "positive"
    for k in bd.index[bd.role == "negative"]:
        d_an = d_of[int(k)]
        groups[k] = "hard" if d_an <= d_ap else ("semi-hard" if d_an < d_ap + margin else "easy")
    radius = math.sqrt if cfg.distance == "squared_euclidean" else float  # a distance value -> Euclidean radius
    rings = ((radius(d_ap), "d(a,p)"), (radius(d_ap + margin), "d(a,p) + m"))
    c = classify_triplets(emb, lab, margin=margin, distance=distance)
    mine = torch.bincount(c.category[c.anchor == anchor], minlength=3).tolist()
    anchor_counts = {"easy": mine[0], "semi_hard": mine[1], "hard": mine[2], "total": sum(mine)}
    counts = triplet_counts(emb, lab, margin=margin, distance=distance)
    extra = {}
    if slide:
        mine_t = trip.anchor == anchor  # (T,) the anchor's own triplets, as in its breakdown
        extra = {"slide_loss": float(triplet_slide(emb[trip.anchor], emb[trip.positive], emb[trip.negative],
                                                   margin=margin, distance=distance)),
                 "slide_anchor_loss": float(triplet_slide(emb[trip.anchor[mine_t]], emb[trip.positive[mine_t]],
                                                          emb[trip.negative[mine_t]], margin=margin,
                                                          distance=distance)) if mine_t.any() else 0.0}
    return finish(NAME, batch, anchor, float(loss), bd, bd.index, batch.points, batch.points[anchor], groups,
                  rings=rings, counts=counts, anchor_counts=anchor_counts, positive=int(positive), **extra)


def explore(cfg: TripletConfig, pool: ExplorerPool, *, size: int = 64) -> ExplorerResult:
    """The anchor among ``size`` pool rows, L2-normalised as in training, with class labels."""
    rows = pool.sample(size)  # (m,), the anchor first
    z = F.normalize(pool.embed(rows), dim=1)  # (m, d)
    bd = breakdown(cfg, anchor=0, embeddings=z, labels=torch.as_tensor(pool.y[rows]))
    return ExplorerResult(bd, rows, np.zeros(len(rows), dtype=np.int64))
