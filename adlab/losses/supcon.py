"""Supervised contrastive loss (Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020): the
loss, its settings, its two-view training step, its per-anchor breakdown and its instant view (the
contract of :mod:`adlab.losses.base`)."""

from __future__ import annotations

import math
from collections.abc import Callable
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
    class_batch,
    finish,
)
from adlab.losses._checks import check_choice, check_index, check_labels, check_matrix, check_positive
from adlab.losses.base import AUGMENTATION, CLASS, StepContext
from adlab.losses.diagnostics import AnchorBreakdown, softmax_breakdown

NAME = "supcon"  # the registry key (adlab.registry), used in links, exports and the CLI
LABEL = "SupCon"
PAPER_KEY = ""  # no anomaly-detection numbers in adlab.papers
VARIANTS = ("out", "in")


def supcon(features: Tensor, labels: Tensor | None, *, temperature: float, variant: str = "out") -> Tensor:
    r"""SupCon loss over a flattened multi-view batch.

    With ``z = features / ||features||``, ``s_ia = z_i . z_a / t``, ``A(i)`` = every index but
    ``i`` and ``P(i)`` = indices in ``A(i)`` with the label of ``i``:

    .. math::
        L_{out,i} = -\frac{1}{|P(i)|} \sum_{p \in P(i)} \log
                    \frac{\exp s_{ip}}{\sum_{a \in A(i)} \exp s_{ia}}, \qquad
        L_{in,i}  = -\log \frac{1}{|P(i)|} \sum_{p \in P(i)}
                    \frac{\exp s_{ip}}{\sum_{a \in A(i)} \exp s_{ia}}

    Positives stay in the denominator. The result is the mean over anchors with ``|P(i)| >= 1``;
    anchors without a positive are skipped (not NaN). If no anchor has a positive the result is 0,
    still connected to ``features`` in the autograd graph. Unlike the popular PyTorch port
    (HobbitLong/SupContrast) there is no ``base_temperature``: that code multiplies the loss by
    ``t / 0.07``, so its numbers differ from these by that factor.

    Shapes: ``features`` ``(M, d)``, ``M >= 2``: the caller concatenates the views
    (``torch.cat([v1, v2])``) and repeats the labels to match (``labels.repeat(2)``).
    ``labels`` ``(M,)`` integers; ``labels=None`` means unsupervised two-view SimCLR: ``M`` must
    be even and row ``i`` pairs with row ``i + M/2`` (then this equals :func:`nt_xent`).
    Returns a 0-d tensor. ``variant`` is ``"out"`` (the paper's choice) or ``"in"``.
    """
    check_matrix("features", features, min_rows=2)
    t = check_positive("temperature", temperature)
    check_choice("variant", variant, VARIANTS)
    m = features.shape[0]
    labels = resolve_labels(features, labels)  # (M,)

    z = F.normalize(features, dim=1)  # (M, d)
    self_mask = torch.eye(m, dtype=torch.bool, device=features.device)  # (M, M)
    logits = (z @ z.T / t).masked_fill(self_mask, -math.inf)  # (M, M), s_ia with a != i
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()  # row max -> 0 before exp
    log_denom = torch.logsumexp(logits, dim=1)  # (M,)
    pos = (labels[:, None] == labels[None, :]) & ~self_mask  # (M, M) positive pairs
    n_pos = pos.sum(1)  # (M,)
    has_pos = n_pos > 0  # (M,)
    if variant == "out":
        pos_logit_sum = logits.masked_fill(~pos, 0.0).sum(1)  # (M,)
        per_anchor = log_denom - pos_logit_sum / n_pos.clamp_min(1)
    else:  # rows without positives get a finite placeholder so no NaN reaches the gradient
        keep = pos | ~has_pos[:, None]  # (M, M)
        log_pos = torch.logsumexp(logits.masked_fill(~keep, -math.inf), dim=1)  # (M,)
        per_anchor = log_denom - log_pos + n_pos.clamp_min(1).to(logits.dtype).log()
    per_anchor = per_anchor.masked_fill(~has_pos, 0.0)  # skipped anchors contribute 0
    return per_anchor.sum() / has_pos.sum().clamp_min(1)


def supcon_slide(features: Tensor, labels: Tensor | None, *, temperature: float) -> Tensor:
    r"""The seminar slide's SupCon loss: each positive meets the negatives alone.

    The slide writes (``N`` = the anchor's number of positives)

    .. math:: \mathcal{L}_{supcon} = -\sum_{x \in X} \frac1N \sum_{i=1}^{N} \log
              \frac{\exp(f(x) f(x^i_{pos})/\tau)}{\exp(f(x) f(x^i_{pos})/\tau)
              + \sum_j \exp(f(x) f(x^j_{neg})/\tau)}

    With ``z``, ``s_ik``, ``P(i)`` as in :func:`supcon` and ``N(i)`` the rows with another label:

    .. math:: \ell_i = -\frac{1}{|P(i)|} \sum_{p \in P(i)} \log
              \frac{\exp s_{ip}}{\exp s_{ip} + \sum_{n \in N(i)} \exp s_{in}}

    The paper's denominator (:func:`supcon`, ``variant="out"``) holds every row but ``i``, the other
    positives too; here they are left out, so this is never above the paper's value and equals it
    when every anchor has exactly one positive (``labels=None``: then it is :func:`nt_xent`). Returns
    the mean of ``ell_i`` over the anchors with a positive (the slide sums over ``X``), skipping the
    others as :func:`supcon` does; an anchor without negatives adds 0. Shapes as :func:`supcon`:
    ``features`` ``(M, d)``, ``labels`` ``(M,)`` or None. Returns a 0-d tensor.
    """
    per_anchor, has_pos = _slide_terms(features, labels, temperature=temperature)  # (M,) each
    return per_anchor.sum() / has_pos.sum().clamp_min(1)


def _slide_terms(features: Tensor, labels: Tensor | None, *, temperature: float) -> tuple[Tensor, Tensor]:
    """``ell_i`` of :func:`supcon_slide` per row ``(M,)`` (0 where skipped) and which rows have a
    positive ``(M,)`` bool."""
    check_matrix("features", features, min_rows=2)
    t = check_positive("temperature", temperature)
    m = features.shape[0]
    labels = resolve_labels(features, labels)  # (M,)
    z = F.normalize(features, dim=1)  # (M, d)
    self_mask = torch.eye(m, dtype=torch.bool, device=features.device)  # (M, M)
    logits = (z @ z.T / t).masked_fill(self_mask, -math.inf)  # (M, M), s_ik with k != i
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()  # row max -> 0 before exp
    same = labels[:, None] == labels[None, :]  # (M, M)
    pos, neg = same & ~self_mask, ~same  # (M, M) each
    n_pos, has_neg = pos.sum(1), neg.any(1)  # (M,) each
    keep = neg | ~has_neg[:, None]  # (M, M); a row without negatives gets a finite placeholder ...
    log_neg = torch.logsumexp(logits.masked_fill(~keep, -math.inf), dim=1)  # (M,) log sum_n e^{s_in}
    log_neg = torch.where(has_neg, log_neg, torch.full_like(log_neg, -math.inf))  # ... dropped here
    s_pos = logits.masked_fill(~pos, 0.0)  # (M, M): s_ip on the positives, finite elsewhere
    term = torch.logaddexp(s_pos, log_neg[:, None]) - s_pos  # (M, M): -log(e^s_ip / (e^s_ip + negs))
    per_anchor = term.masked_fill(~pos, 0.0).sum(1) / n_pos.clamp_min(1)  # (M,)
    has_pos = n_pos > 0
    return per_anchor.masked_fill(~has_pos, 0.0), has_pos


def resolve_labels(features: Tensor, labels: object) -> Tensor:
    """Checked ``(M,)`` label tensor; ``None`` -> two-view instance labels ``[0..M/2, 0..M/2]``."""
    m = features.shape[0]
    if labels is None:
        if m % 2:
            raise ValueError(
                f"features needs an even number of rows (two views) when labels is None, got {m}"
            )
        return torch.arange(m // 2, device=features.device).repeat(2)  # (M,)
    return check_labels(labels, m, features.device)


@dataclass(frozen=True)
class SupConConfig:
    """SupCon's settings: ``temperature`` ``t > 0``, ``variant`` ``"out"`` / ``"in"``, and
    ``use_labels``: positives by class (True) or only the other augmented view (False: SimCLR's loss)."""

    temperature: float = 0.5
    variant: str = "out"
    use_labels: bool = True

    def __post_init__(self) -> None:
        check_positive("temperature", self.temperature)
        check_choice("variant", self.variant, VARIANTS)
        if not isinstance(self.use_labels, bool):
            raise ValueError(f"use_labels must be True or False, got {self.use_labels!r}")


Config = SupConConfig


def positives(cfg: SupConConfig) -> str:
    """By class with labels, else the other augmented view of the same sample."""
    return CLASS if cfg.use_labels else AUGMENTATION


def make_step(cfg: SupConConfig, ctx: StepContext) -> Callable[[nn.Module, tuple[Tensor, ...]], Tensor]:
    """Step on a ``(x, y)`` batch: two augmented views, stacked, with class (or instance) labels."""

    def step(model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
        x, y = batch
        v1, v2 = ctx.views(x)
        z = model(torch.cat([v1, v2]))  # (2B, d): both views stacked
        labels = torch.cat([y, y]) if cfg.use_labels else torch.arange(len(x), device=x.device).repeat(2)  # (2B,)
        return supcon(z, labels, temperature=cfg.temperature, variant=cfg.variant)

    return step


def breakdown(cfg: SupConConfig, *, anchor: int, features: Tensor, labels: Tensor | None) -> AnchorBreakdown:
    """Rows are every other row of ``features`` ``(M, d)`` (``labels`` ``(M,)``, or None for two
    views as in :func:`supcon`); an anchor without a positive is skipped by the loss: loss 0,
    weights 0 and a ``note``."""
    check_matrix("features", features, min_rows=2)
    t = check_positive("temperature", cfg.temperature)
    check_choice("variant", cfg.variant, VARIANTS)
    lab = resolve_labels(features, labels).cpu()  # (M,)
    anchor = check_index("anchor", anchor, len(features))
    z = F.normalize(features.detach().double().cpu(), dim=1)  # (M, d)
    index = (torch.arange(len(z)) != anchor).nonzero(as_tuple=True)[0]  # (M-1,)
    is_pos = lab[index] == lab[anchor]  # (M-1,)
    return softmax_breakdown(NAME, anchor, index, z[index] @ z[anchor] / t, is_pos, torch.ones_like(is_pos),
                             inside_log=cfg.variant == "in", scale=1.0 / t)


def instant_batch() -> CircleBatch:
    """3 classes x 4 unit vectors (:func:`adlab.instant.class_batch`)."""
    return class_batch()


def instant_view(batch: CircleBatch, anchor: int, cfg: SupConConfig, *, slide: bool = False) -> InstantView:
    """The loss on a class batch: every same-class point is a positive (``use_labels`` is not used:
    the batch's labels are the positives). ``slide``: also the seminar slide's loss
    (:func:`supcon_slide`, whatever ``variant``) for the batch and the anchor."""
    anchor = check_anchor(anchor, len(batch.points))
    feats, lab = as_tensor(batch.points), torch.as_tensor(batch.labels)
    loss = supcon(feats, lab, temperature=cfg.temperature, variant=cfg.variant)
    bd = breakdown(cfg, anchor=anchor, features=feats, labels=lab)
    extra = {}
    if slide:
        per_anchor, has_pos = _slide_terms(feats, lab, temperature=cfg.temperature)  # (M,) each
        extra = {"slide_loss": float(per_anchor.sum() / has_pos.sum().clamp_min(1)),
                 "slide_anchor_loss": float(per_anchor[anchor])}
    return finish(NAME, batch, anchor, float(loss), bd, bd.index, batch.points, batch.points[anchor], **extra)


def explore(cfg: SupConConfig, pool: ExplorerPool, *, size: int = 64) -> ExplorerResult:
    """Two augmented views of ``size // 2`` pool rows (the anchor's first view is row 0), with the
    pool's labels, or instance labels when ``use_labels`` is False."""
    rows = pool.sample(max(2, size // 2))  # (m,), the anchor first
    z1, z2 = pool.views(rows)  # (m, d) each
    both_rows = np.concatenate([rows, rows])  # (2m,)
    labels = torch.as_tensor(pool.y[both_rows]) if cfg.use_labels else torch.arange(len(rows)).repeat(2)
    bd = breakdown(cfg, anchor=0, features=torch.cat([z1, z2]), labels=labels)
    return ExplorerResult(bd, both_rows, np.repeat([1, 2], len(rows)))
