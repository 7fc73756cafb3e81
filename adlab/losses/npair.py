"""Multi-class N-pair loss (Sohn, "Improved Deep Metric Learning with Multi-class N-pair Loss
Objective", NeurIPS 2016): the loss, its settings, its class-pair batches and training step, its
per-anchor breakdown and its instant view (the contract of :mod:`adlab.losses.base`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adlab.instant import (
    CircleBatch,
    ExplorerPool,
    ExplorerResult,
    InstantView,
    as_tensor,
    check_anchor,
    finish,
    pair_batch,
)
from adlab.losses._checks import check_index, check_matrix, check_non_negative, check_same_shape, user_error
from adlab.losses.base import CLASS, StepContext
from adlab.losses.diagnostics import AnchorBreakdown, softmax_breakdown

NAME = "npair"  # the registry key (adlab.registry), used in links, exports and the CLI
LABEL = "N-pair"
PAPER_KEY = ""  # no anomaly-detection numbers in adlab.papers


def npair(anchor: Tensor, positive: Tensor, *, l2_reg: float = 0.0, normalize: bool = True) -> Tensor:
    r"""N-pair loss: each anchor against its own positive and the other classes' positives.

    .. math::
        L = \frac1N \sum_i \log\Big(1 + \sum_{j \ne i} \exp(a_i \cdot p_j - a_i \cdot p_i)\Big)
            + \lambda \, \frac1N \sum_i \big(\|a_i\|^2 + \|p_i\|^2\big)

    The first term equals ``logsumexp_j(a_i . p_j) - a_i . p_i`` (the ``j = i`` term is the 1),
    i.e. cross-entropy over the ``(N, N)`` logits with the diagonal as target; it is computed with
    ``logsumexp`` for stability. ``normalize=True`` (default) L2-normalises both inputs first, so
    the logits are cosine similarities (the seminar's version); ``normalize=False`` with
    ``l2_reg > 0`` is the paper's version (unnormalised inner products, paper uses a small
    ``lambda``, about 0.002). The norm penalty always acts on the raw, un-normalised inputs.

    Shapes: ``anchor``, ``positive`` are ``(N, d)``, ``N >= 2``; row ``i`` of both comes from
    class ``i`` (N distinct classes). Returns a 0-d tensor.
    """
    check_matrix("anchor", anchor, min_rows=2)
    check_matrix("positive", positive, min_rows=2)
    check_same_shape(anchor=anchor, positive=positive)
    l2_reg = check_non_negative("l2_reg", l2_reg)
    a, p = (F.normalize(anchor, dim=1), F.normalize(positive, dim=1)) if normalize else (anchor, positive)
    logits = a @ p.T  # (N, N), logits[i, j] = a_i . p_j
    loss = (torch.logsumexp(logits, dim=1) - logits.diagonal()).mean()
    if l2_reg > 0:
        loss = loss + l2_reg * (anchor.pow(2).sum(1) + positive.pow(2).sum(1)).mean()
    return loss


@dataclass(frozen=True)
class NPairConfig:
    """N-pair's settings: ``normalize`` (cosine logits) and the norm penalty ``l2_reg >= 0``."""

    normalize: bool = True
    l2_reg: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.normalize, bool):
            raise ValueError(f"normalize must be True or False, got {self.normalize!r}")
        check_non_negative("l2_reg", self.l2_reg)


Config = NPairConfig


def positives(cfg: NPairConfig) -> str:
    """Positives share the anchor's class."""
    return CLASS


def _pair_classes(labels: Tensor) -> list[int]:
    """Classes with at least two rows: each can give one (anchor, positive) pair."""
    return [c for c in torch.unique(labels).tolist() if int((labels == c).sum()) >= 2]


def batches(X: Tensor, y: Tensor, batch_size: int) -> Callable[[int, torch.Generator], Iterator[tuple[Tensor, Tensor]]]:
    """Training batches ``(x_anchor, x_positive)``, each ``(groups * K, ...)``: groups of one
    (anchor, positive) pair per class that has two rows (``K`` classes), drawn with the epoch's
    generator; about ``len(y) / (2 K groups)`` batches per epoch."""

    def data(epoch: int, generator: torch.Generator) -> Iterator[tuple[Tensor, Tensor]]:
        for pairs in _class_batches(y, batch_size, generator):
            yield X[pairs[:, 0]], X[pairs[:, 1]]

    return data


def _class_batches(y: Tensor, batch_size: int, generator: torch.Generator) -> Iterator[Tensor]:
    """Index batches ``(groups * K, 2)``: anchor index, positive index, one pair per class per group."""
    classes = _pair_classes(y)
    if len(classes) < 2:
        raise user_error("N-pair needs at least two normal classes with two samples each; pick more normal classes",
                         "losses.error.npair_classes")
    pools = {c: torch.nonzero(y == c).flatten() for c in classes}
    groups_per_batch = max(1, batch_size // (2 * len(classes)))
    steps = max(1, len(y) // (groups_per_batch * 2 * len(classes)))
    for _ in range(steps):
        rows = []
        for _ in range(groups_per_batch):
            for c in classes:
                pool = pools[c]
                rows.append(pool[torch.randperm(len(pool), generator=generator)[:2]])
        yield torch.stack(rows)  # (groups * K, 2)


def make_step(cfg: NPairConfig, ctx: StepContext) -> Callable[[nn.Module, tuple[Tensor, ...]], Tensor]:
    """Step on a :func:`batches` batch: the loss of each group of ``K`` pairs, averaged."""
    group = len(_pair_classes(ctx.labels))  # K: one pair per class with two training rows

    def step(model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
        x_a, x_p = batch
        za, zp = model(x_a), model(x_p)  # (groups * K, d) each
        terms = [
            npair(za[i : i + group], zp[i : i + group], l2_reg=cfg.l2_reg, normalize=cfg.normalize)
            for i in range(0, len(za) - group + 1, group)
        ]
        return torch.stack(terms).mean()

    return step


def breakdown(cfg: NPairConfig, *, anchor: int, anchors: Tensor, positive: Tensor) -> AnchorBreakdown:
    """Rows are the ``N`` positives of ``anchors`` ``(N, d)`` / ``positive`` ``(N, d)`` (the loss's
    ``anchor`` tensor, renamed because ``anchor`` is the index here). The loss includes this pair's
    norm penalty; the weights describe the contrastive term only."""
    check_matrix("anchors", anchors, min_rows=2)
    check_matrix("positive", positive, min_rows=2)
    check_same_shape(anchors=anchors, positive=positive)
    l2_reg = check_non_negative("l2_reg", cfg.l2_reg)
    anchor = check_index("anchor", anchor, len(anchors))
    a, p = anchors.detach().double().cpu(), positive.detach().double().cpu()
    penalty = l2_reg * float(a[anchor].pow(2).sum() + p[anchor].pow(2).sum())
    if cfg.normalize:
        a, p = F.normalize(a, dim=1), F.normalize(p, dim=1)
    is_pos = torch.arange(len(p)) == anchor  # (N,)
    return softmax_breakdown(NAME, anchor, torch.arange(len(p)), p @ a[anchor], is_pos,
                             in_denominator=torch.ones_like(is_pos), inside_log=False, scale=1.0, extra_loss=penalty,
                             similarity_name="a·p")


def instant_batch() -> CircleBatch:
    """5 (anchor, positive) pairs (:func:`adlab.instant.pair_batch`)."""
    return pair_batch()


def instant_view(batch: CircleBatch, anchor: int, cfg: NPairConfig, *, norm: float = 1.0) -> InstantView:
    """The loss on a :func:`~adlab.instant.pair_batch` whose vectors are scaled to length ``norm``.

    ``anchor`` is a pair index ``i`` in ``0..N-1`` (batch row ``i``); its terms are the N positives
    (batch rows ``N..2N-1``). Without normalisation the logits are ``norm^2 cos``: a longer
    embedding acts like a lower temperature, which is why the paper adds the norm penalty.
    """
    n = len(batch.points) // 2
    anchor = check_anchor(anchor, n)
    if not norm > 0:
        raise ValueError(f"norm must be > 0, got {norm!r}")
    a, p = as_tensor(batch.points[:n]) * norm, as_tensor(batch.points[n:]) * norm  # (N, 2) each
    loss = npair(a, p, l2_reg=cfg.l2_reg, normalize=cfg.normalize)
    bd = breakdown(cfg, anchor=anchor, anchors=a, positive=p)
    scale = 1.0 if cfg.normalize else norm
    return finish(NAME, batch, anchor, float(loss), bd, n + bd.index, batch.points[n:] * scale,
                  batch.points[anchor] * scale, on_sphere=cfg.normalize)


def explore(cfg: NPairConfig, pool: ExplorerPool, *, size: int = 64) -> ExplorerResult:
    """One (anchor, positive) pair per class in the pool, the real anchor's own pair first (``size``
    is not used: the batch has one pair per class)."""
    y, row, n = pool.y, pool.row, len(pool)
    classes = [int(y[row])] + [int(c) for c in np.unique(y) if c != y[row]]
    pairs = []
    for c in classes:
        own = c == classes[0]
        candidates = np.flatnonzero((y == c) & (np.arange(n) != row))
        if len(candidates) < (1 if own else 2):
            continue
        pick = pool.rng.choice(candidates, size=1 if own else 2, replace=False)
        pairs.append([row, int(pick[0])] if own else [int(pick[0]), int(pick[1])])
    if len(pairs) < 2 or pairs[0][0] != row:
        raise user_error("N-pair needs the anchor's class and one more class with two points each in the pool",
                         "losses.error.npair_pool")
    pairs_arr = np.asarray(pairs)  # (N, 2): anchor row, positive row
    a, p = pool.embed(pairs_arr[:, 0]), pool.embed(pairs_arr[:, 1])
    bd = breakdown(cfg, anchor=0, anchors=a, positive=p)
    return ExplorerResult(bd, pairs_arr[:, 1], np.zeros(len(pairs_arr), dtype=np.int64))
