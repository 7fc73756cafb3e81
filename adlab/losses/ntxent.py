"""NT-Xent, the SimCLR loss (Chen et al., "A Simple Framework for Contrastive Learning of Visual
Representations", ICML 2020), and its decoupled variant (Yeh et al., "Decoupled Contrastive
Learning", ECCV 2022): the loss, its settings, its two-view training step, its per-anchor breakdown
and its instant view (the contract of :mod:`adlab.losses.base`). The registry name is ``"simclr"``."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

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
    view_batch,
)
from adlab.losses._checks import check_index, check_matrix, check_positive, check_same_shape
from adlab.losses.base import AUGMENTATION, StepContext
from adlab.losses.diagnostics import AnchorBreakdown, softmax_breakdown

NAME = "simclr"  # the registry key (adlab.registry), used in links, exports and the CLI
LABEL = "SimCLR (NT-Xent)"
PAPER_KEY = ""  # no anomaly-detection numbers in adlab.papers


def nt_xent(z1: Tensor, z2: Tensor, *, temperature: float, decoupled: bool = False) -> Tensor:
    r"""Normalised temperature-scaled cross-entropy over the ``2N`` views of ``N`` samples.

    With ``z = normalise(cat(z1, z2))``, ``s_ik = z_i . z_k / t`` and ``j(i)`` the other view of
    ``i`` (``i +- N``):

    .. math:: \ell_i = -\log \frac{\exp s_{i j(i)}}{\sum_{k \ne i} \exp s_{ik}}, \qquad
              L = \frac{1}{2N} \sum_{i=1}^{2N} \ell_i

    The denominator keeps the positive and the ``2N - 2`` negatives. ``decoupled=True`` drops the
    positive from the denominator (DCL). Identical embeddings give ``log(2N - 1)``.

    Implementation (about 1.5x the bare ``z @ z.T`` forward+backward on CPU, see
    ``bench/bench_ntxent.py``): ``1/t`` folded into one ``(2N, d)`` factor, one ``(2N, 2N)``
    matmul, the diagonal set to ``-inf`` in place, then one fused ``cross_entropy`` (its
    ``log_softmax`` subtracts the row max) with targets ``i +- N``. DCL instead masks the two
    positive diagonals ``+-N`` too and uses ``logsumexp`` minus the row-wise positive dot product.

    Shapes: ``z1``, ``z2`` are ``(N, d)`` with ``N >= 2``; row ``i`` of both are two views of
    sample ``i``. Returns a 0-d tensor.
    """
    check_matrix("z1", z1, min_rows=2)
    check_matrix("z2", z2, min_rows=2)
    check_same_shape(z1=z1, z2=z2)
    t = check_positive("temperature", temperature)
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2N, d)
    zt = z * (1.0 / t)  # (2N, d), so the (2N, 2N) matrix needs no extra pass for 1/t
    logits = z @ zt.T  # (2N, 2N), s_ik
    logits.fill_diagonal_(-math.inf)  # k != i
    if not decoupled:
        target = torch.arange(n, 3 * n, device=z.device).remainder_(2 * n)  # (2N,), j(i) = i +- N
        return F.cross_entropy(logits, target)
    logits.diagonal(n).fill_(-math.inf)  # (N,) entries s_{i, i+N}: out of the denominator
    logits.diagonal(-n).fill_(-math.inf)  # (N,) entries s_{i+N, i}
    positive = (z[:n] * zt[n:]).sum(1)  # (N,), s_{i, i+N} = s_{i+N, i}; each counts twice
    return torch.logsumexp(logits, dim=1).mean() - positive.mean()


def nt_xent_slide(z1: Tensor, z2: Tensor, *, temperature: float) -> Tensor:
    r"""The seminar slide's SimCLR loss ("SimCLR loss - InfoNCE"): the positive is not in the denominator.

    The slide writes (``x^1_{pos}``, ``x^2_{pos}``: two views of ``x``)

    .. math:: \mathcal{L}_{simCLR} = -\sum_{x \in X} \log
              \frac{\exp(f(x^1_{pos}) f(x^2_{pos})/\tau)}{\sum_i \exp(f(x^1_{pos}) f(x^i_{neg})/\tau)}

    With ``z``, ``s_ik`` and ``j(i)`` as in :func:`nt_xent`, every view an anchor as in the paper:

    .. math:: \ell_i = -\log \frac{\exp s_{i j(i)}}{\sum_{k \ne i, j(i)} \exp s_{ik}}, \qquad
              L = \frac{1}{2N} \sum_{i=1}^{2N} \ell_i

    That is the decoupled loss, ``nt_xent(decoupled=True)`` (DCL, Yeh et al. 2022), not InfoNCE
    (van den Oord et al. 2018), whose denominator holds the positive as NT-Xent's does. It is below
    NT-Xent and goes negative once the positive outweighs all negatives; identical embeddings give
    ``log(2N - 2)``. Returns the mean over the ``2N`` anchors (the slide sums over ``X``).

    Shapes: ``z1``, ``z2`` are ``(N, d)`` with ``N >= 2``; row ``i`` of both are two views of
    sample ``i``. Returns a 0-d tensor.
    """
    return nt_xent(z1, z2, temperature=temperature, decoupled=True)


@dataclass(frozen=True)
class SimCLRConfig:
    """NT-Xent's settings: ``temperature`` ``t > 0`` and ``decoupled`` (DCL: the positive out of the
    denominator)."""

    temperature: float = 0.5
    decoupled: bool = False

    def __post_init__(self) -> None:
        check_positive("temperature", self.temperature)
        if not isinstance(self.decoupled, bool):
            raise ValueError(f"decoupled must be True or False, got {self.decoupled!r}")


Config = SimCLRConfig


def positives(cfg: SimCLRConfig) -> str:
    """The only positive is the other augmented view of the same sample."""
    return AUGMENTATION


def make_step(cfg: SimCLRConfig, ctx: StepContext) -> Callable[[nn.Module, tuple[Tensor, ...]], Tensor]:
    """Step on a batch whose first tensor is ``x``: two augmented views, NT-Xent (labels unused)."""

    def step(model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
        x = batch[0]
        v1, v2 = ctx.views(x)
        return nt_xent(model(v1), model(v2), temperature=cfg.temperature, decoupled=cfg.decoupled)

    return step


def breakdown(cfg: SimCLRConfig, *, anchor: int, z1: Tensor, z2: Tensor) -> AnchorBreakdown:
    """``anchor`` in ``0..2N-1`` (rows of ``cat(z1, z2)``, each ``(N, d)``); rows are the other
    ``2N - 1`` views, the other view of the anchor's sample the only positive."""
    check_matrix("z1", z1, min_rows=2)
    check_matrix("z2", z2, min_rows=2)
    check_same_shape(z1=z1, z2=z2)
    t = check_positive("temperature", cfg.temperature)
    feats, n = torch.cat([z1, z2]), len(z1)  # (2N, d)
    lab = torch.arange(n).repeat(2)  # (2N,) the other view is the only positive
    anchor = check_index("anchor", anchor, len(feats))
    z = F.normalize(feats.detach().double().cpu(), dim=1)  # (2N, d)
    index = (torch.arange(len(z)) != anchor).nonzero(as_tuple=True)[0]  # (2N-1,)
    is_pos = lab[index] == lab[anchor]  # (2N-1,)
    in_den = ~is_pos if cfg.decoupled else torch.ones_like(is_pos)
    return softmax_breakdown(NAME, anchor, index, z[index] @ z[anchor] / t, is_pos, in_den, inside_log=False,
                             scale=1.0 / t)


def instant_batch() -> CircleBatch:
    """6 samples x 2 views (:func:`adlab.instant.view_batch`)."""
    return view_batch()


def instant_view(batch: CircleBatch, anchor: int, cfg: SimCLRConfig, *, slide: bool = False) -> InstantView:
    """The loss on a :func:`~adlab.instant.view_batch`: the only positive is the other view.
    ``slide``: also the seminar slide's loss (:func:`nt_xent_slide`) for the batch and the anchor."""
    anchor = check_anchor(anchor, len(batch.points))
    n = len(batch.points) // 2
    z1, z2 = as_tensor(batch.points[:n]), as_tensor(batch.points[n:])
    loss = nt_xent(z1, z2, temperature=cfg.temperature, decoupled=cfg.decoupled)
    bd = breakdown(cfg, anchor=anchor, z1=z1, z2=z2)
    extra = {}
    if slide:  # the anchor's term of the slide's loss = its decoupled breakdown
        extra = {"slide_loss": float(nt_xent_slide(z1, z2, temperature=cfg.temperature)),
                 "slide_anchor_loss": breakdown(replace(cfg, decoupled=True), anchor=anchor, z1=z1, z2=z2).loss}
    return finish(NAME, batch, anchor, float(loss), bd, bd.index, batch.points, batch.points[anchor], **extra)


def explore(cfg: SimCLRConfig, pool: ExplorerPool, *, size: int = 64) -> ExplorerResult:
    """Two augmented views of ``size // 2`` pool rows (the anchor's first view is row 0)."""
    rows = pool.sample(max(2, size // 2))  # (m,), the anchor first
    z1, z2 = pool.views(rows)  # (m, d) each
    bd = breakdown(cfg, anchor=0, z1=z1, z2=z2)
    return ExplorerResult(bd, np.concatenate([rows, rows]), np.repeat([1, 2], len(rows)))
