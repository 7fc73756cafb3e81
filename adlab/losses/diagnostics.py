"""Diagnostics of a contrastive embedding: alignment and uniformity (Wang & Isola, "Understanding
Contrastive Representation Learning through Alignment and Uniformity on the Hypersphere", ICML
2020), and the per-anchor breakdown shared by the losses (what each positive and negative
contributes to one anchor's loss and to its gradient); each loss module computes its own
(``breakdown``), :func:`anchor_breakdown` finds it by name in :mod:`adlab.registry`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from adlab import registry
from adlab.losses._checks import check_matrix, check_positive, check_same_shape, safe_sqrt

__all__ = ["AnchorBreakdown", "alignment", "anchor_breakdown", "softmax_breakdown", "uniformity"]


def alignment(z1: Tensor, z2: Tensor, alpha: float = 2) -> Tensor:
    r"""``E_i ||ẑ1_i - ẑ2_i||^alpha`` over positive pairs (rows), inputs L2-normalised here.

    Shapes: ``z1``, ``z2`` ``(N, d)``. Returns a 0-d tensor in ``[0, 2^alpha]``; lower is better.
    """
    check_matrix("z1", z1)
    check_matrix("z2", z2)
    check_same_shape(z1=z1, z2=z2)
    alpha = check_positive("alpha", alpha)
    d2 = (F.normalize(z1, dim=1) - F.normalize(z2, dim=1)).pow(2).sum(1)  # (N,)
    return (d2 if alpha == 2 else safe_sqrt(d2).pow(alpha)).mean()


def uniformity(z: Tensor, t: float = 2) -> Tensor:
    r"""``log E_{i<j} exp(-t ||ẑ_i - ẑ_j||^2)``, inputs L2-normalised here (via ``logsumexp``).

    Shapes: ``z`` ``(N, d)``, ``N >= 2``. Returns a 0-d tensor ``<= 0``; lower = more uniform.
    """
    check_matrix("z", z, min_rows=2)
    t = check_positive("t", t)
    zn = F.normalize(z, dim=1)  # (N, d)
    i, j = torch.triu_indices(len(zn), len(zn), offset=1, device=z.device)  # (N(N-1)/2,) each
    d2 = (2.0 - 2.0 * (zn[i] * zn[j]).sum(1)).clamp_min(0.0)  # ||a-b||^2 = 2 - 2 a.b on the sphere
    return torch.logsumexp(-t * d2, dim=0) - math.log(d2.numel())


@dataclass(frozen=True)
class AnchorBreakdown:
    """One anchor's loss term by term (one row per positive/negative; numpy, pandas-free).

    ``kind``: the loss's registry name. ``similarity``: the logit ``ẑ_a.ẑ_k / t`` (simclr, supcon), ``a.p_k`` (npair, cosine if
    normalised) or the distance ``d(a, k)`` (triplet). ``denominator_share``: softmax probability of
    the term in the anchor's denominator (0 for a term outside it, e.g. the DCL positive); for
    triplet the share of the anchor's total hinge loss from triplets that contain the sample.
    ``grad_weight`` ``w_k``: ``d loss / d v_a = grad_scale * sum_k w_k (v_k - v_a)``, ``v`` being
    the vectors the loss compares (normalised ones where the loss normalises). Softmax losses:
    ``w_k = p_k`` for negatives, ``p_k - r_k`` for positives (``r_k = 1`` for a single positive,
    ``1/|P|`` for SupCon-out, positive softmax for SupCon-in), ``grad_scale = 1/t``; there
    ``sum_k w_k = 0`` so the ``v_a`` term vanishes. ``pairs`` (triplet only): every (p, n) with
    its hinge loss. ``similarity_name`` / ``share_name``: what those two columns hold (``"logit"``, ``"a·p"``,
    ``"distance"``; the denominator or the hinge loss), for a table or a hover text.
    """

    kind: str
    anchor: int
    loss: float
    index: np.ndarray
    role: np.ndarray
    similarity: np.ndarray
    denominator_share: np.ndarray
    grad_weight: np.ndarray
    grad_scale: float
    note: str = ""
    pairs: dict[str, np.ndarray] | None = field(default=None)
    similarity_name: str = "logit"
    share_name: str = "share of the denominator"

    def table(self) -> dict[str, np.ndarray]:
        """The per-term columns, ready for ``st.dataframe`` or ``pandas.DataFrame``."""
        names = ("index", "role", "similarity", "denominator_share", "grad_weight")
        return {name: getattr(self, name) for name in names}


def anchor_breakdown(name: str, cfg: Any = None, *, anchor: int, **inputs: Any) -> AnchorBreakdown:
    """Break down the loss registered as ``name`` for one ``anchor`` (a row index).

    ``cfg`` is that loss's ``Config`` (its defaults when None); ``inputs`` are the tensors its
    ``breakdown`` takes, e.g. ``z1, z2`` (simclr), ``features, labels`` (supcon), ``anchors,
    positive`` (npair: the loss's anchor tensor, renamed because ``anchor`` is the index here),
    ``embeddings, labels`` (triplet). See each loss module's ``breakdown``.
    """
    module = registry.loss(name)
    cfg = module.Config() if cfg is None else cfg
    if not isinstance(cfg, module.Config):
        raise ValueError(f"cfg must be a {module.Config.__name__} for the loss {name!r}, got {type(cfg).__name__}")
    return module.breakdown(cfg, anchor=anchor, **inputs)


def softmax_breakdown(
    kind: str,
    anchor: int,
    index: Tensor,
    logits: Tensor,
    is_pos: Tensor,
    in_denominator: Tensor,
    *,
    inside_log: bool,
    scale: float,
    extra_loss: float = 0.0,
    similarity_name: str = "logit",
) -> AnchorBreakdown:
    r"""The breakdown of an InfoNCE-type loss (SupCon, NT-Xent, N-pair) for one anchor.

    ``logits`` ``(K,)``: the anchor against the candidates ``index`` ``(K,)``; ``is_pos`` /
    ``in_denominator`` ``(K,)`` booleans. Loss ``log sum_{k in den} e^{s_k} - mean_{p} s_p`` (log
    outside), or ``- log (1/|P| sum_p e^{s_p} / den)`` when ``inside_log``; ``extra_loss`` is added
    (e.g. a norm penalty); ``similarity_name`` names the logits. Weights ``w_k = p_k - r_k`` (see :class:`AnchorBreakdown`).
    """
    share = torch.softmax(logits.masked_fill(~in_denominator, -math.inf), dim=0)  # (K,)
    n_pos = int(is_pos.sum())
    role = np.where(is_pos.numpy(), "positive", "negative")
    if n_pos == 0:
        zeros = np.zeros(len(index))
        return AnchorBreakdown(
            kind,
            anchor,
            0.0,
            index.numpy(),
            role,
            logits.numpy(),
            share.numpy(),
            zeros,
            scale,
            note="no positive: skipped by the loss",
            similarity_name=similarity_name,
        )
    log_den = torch.logsumexp(logits[in_denominator], dim=0)
    pos_logits = logits.masked_fill(~is_pos, -math.inf)  # (K,)
    if inside_log:  # -log(1/|P| sum_p exp s_p / den)
        target = torch.softmax(pos_logits, dim=0)
        loss = log_den - torch.logsumexp(pos_logits, dim=0) + math.log(n_pos)
    else:  # -1/|P| sum_p log(exp s_p / den)
        target = is_pos.double() / n_pos
        loss = log_den - logits[is_pos].mean()
    return AnchorBreakdown(
        kind,
        anchor,
        float(loss) + extra_loss,
        index.numpy(),
        role,
        logits.numpy(),
        share.numpy(),
        (share - target).numpy(),
        scale,
        similarity_name=similarity_name,
    )
