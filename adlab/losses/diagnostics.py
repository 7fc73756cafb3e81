"""Diagnostics of a contrastive embedding: alignment and uniformity (Wang & Isola, "Understanding
Contrastive Representation Learning through Alignment and Uniformity on the Hypersphere", ICML
2020), and a per-anchor breakdown of each loss in this package (what each positive and negative
contributes to one anchor's loss and to its gradient)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from adlab.losses._checks import (
    check_choice,
    check_index,
    check_labels,
    check_matrix,
    check_non_negative,
    check_positive,
    check_same_shape,
    safe_sqrt,
)
from adlab.losses.supcon import resolve_labels

KINDS = ("triplet", "npair", "supcon", "nt_xent")


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

    ``similarity``: the logit ``ẑ_a.ẑ_k / t`` (nt_xent, supcon), ``a.p_k`` (npair, cosine if
    normalised) or the distance ``d(a, k)`` (triplet). ``denominator_share``: softmax probability of
    the term in the anchor's denominator (0 for a term outside it, e.g. the DCL positive); for
    triplet the share of the anchor's total hinge loss from triplets that contain the sample.
    ``grad_weight`` ``w_k``: ``d loss / d v_a = grad_scale * sum_k w_k (v_k - v_a)``, ``v`` being
    the vectors the loss compares (normalised ones where the loss normalises). Softmax losses:
    ``w_k = p_k`` for negatives, ``p_k - r_k`` for positives (``r_k = 1`` for a single positive,
    ``1/|P|`` for SupCon-out, positive softmax for SupCon-in), ``grad_scale = 1/t``; there
    ``sum_k w_k = 0`` so the ``v_a`` term vanishes. ``pairs`` (triplet only): every (p, n) with
    its hinge loss.
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

    def table(self) -> dict[str, np.ndarray]:
        """The per-term columns, ready for ``st.dataframe`` or ``pandas.DataFrame``."""
        names = ("index", "role", "similarity", "denominator_share", "grad_weight")
        return {name: getattr(self, name) for name in names}


def anchor_breakdown(
    kind: str,
    *,
    anchor: int,
    z1: Tensor | None = None,
    z2: Tensor | None = None,
    features: Tensor | None = None,
    labels: Tensor | None = None,
    anchors: Tensor | None = None,
    positive: Tensor | None = None,
    embeddings: Tensor | None = None,
    temperature: float | None = None,
    margin: float | None = None,
    squared: bool = True,
    variant: str = "out",
    decoupled: bool = False,
    l2_reg: float = 0.0,
    normalize: bool = True,
) -> AnchorBreakdown:
    """Break down the loss of one ``anchor`` (a row index) with the loss's own arguments.

    - ``"nt_xent"``: ``z1``, ``z2``, ``temperature``, ``decoupled``; ``anchor`` in ``0..2N-1``
      (rows of ``cat(z1, z2)``).
    - ``"supcon"``: ``features``, ``labels``, ``temperature``, ``variant``; anchors without a
      positive are skipped by the loss: loss 0, weights 0 and a ``note``.
    - ``"npair"``: ``anchors`` (the loss's ``anchor`` tensor, renamed because ``anchor`` is the
      index here), ``positive``, ``l2_reg``, ``normalize``; rows are the ``N`` positives. The loss
      includes this pair's norm penalty; the weights describe the contrastive term only.
    - ``"triplet"``: ``embeddings``, ``labels``, ``margin``, ``squared``; the anchor's loss is the
      mean hinge over all its valid (p, n) pairs (embeddings as given, not normalised).
    """
    check_choice("kind", kind, KINDS)
    need = {
        "nt_xent": ("z1", "z2", "temperature"),
        "supcon": ("features", "temperature"),
        "npair": ("anchors", "positive"),
        "triplet": ("embeddings", "labels", "margin"),
    }[kind]
    given = dict(
        z1=z1,
        z2=z2,
        features=features,
        temperature=temperature,
        anchors=anchors,
        positive=positive,
        embeddings=embeddings,
        labels=labels,
        margin=margin,
    )
    for name in need:
        if given[name] is None:
            raise ValueError(f"anchor_breakdown(kind={kind!r}) needs the keyword argument {name}")
    if kind == "triplet":
        return _triplet_breakdown(embeddings, labels, anchor, margin, squared)
    if kind == "npair":
        check_matrix("anchors", anchors, min_rows=2)
        check_matrix("positive", positive, min_rows=2)
        check_same_shape(anchors=anchors, positive=positive)
        l2_reg = check_non_negative("l2_reg", l2_reg)
        anchor = check_index("anchor", anchor, len(anchors))
        a, p = anchors.detach().double().cpu(), positive.detach().double().cpu()
        penalty = l2_reg * float(a[anchor].pow(2).sum() + p[anchor].pow(2).sum())
        if normalize:
            a, p = F.normalize(a, dim=1), F.normalize(p, dim=1)
        is_pos = torch.arange(len(p)) == anchor  # (N,)
        return _softmax_breakdown(
            kind,
            anchor,
            torch.arange(len(p)),
            p @ a[anchor],
            is_pos,
            in_denominator=torch.ones_like(is_pos),
            inside_log=False,
            scale=1.0,
            extra_loss=penalty,
        )
    t = check_positive("temperature", temperature)
    if kind == "nt_xent":
        check_matrix("z1", z1, min_rows=2)
        check_matrix("z2", z2, min_rows=2)
        check_same_shape(z1=z1, z2=z2)
        feats, n = torch.cat([z1, z2]), len(z1)  # (2N, d)
        lab = torch.arange(n).repeat(2)  # (2N,) the other view is the only positive
    else:
        check_matrix("features", features, min_rows=2)
        check_choice("variant", variant, ("out", "in"))
        feats, lab = features, resolve_labels(features, labels).cpu()
    anchor = check_index("anchor", anchor, len(feats))
    z = F.normalize(feats.detach().double().cpu(), dim=1)  # (M, d)
    others = torch.arange(len(z)) != anchor  # (M,)
    index = others.nonzero(as_tuple=True)[0]  # (M-1,)
    is_pos = lab[index] == lab[anchor]  # (M-1,)
    in_den = ~is_pos if (kind == "nt_xent" and decoupled) else torch.ones_like(is_pos)
    return _softmax_breakdown(
        kind,
        anchor,
        index,
        z[index] @ z[anchor] / t,
        is_pos,
        in_den,
        inside_log=(kind == "supcon" and variant == "in"),
        scale=1.0 / t,
    )


def _softmax_breakdown(
    kind, anchor, index, logits, is_pos, in_denominator, *, inside_log, scale, extra_loss=0.0
) -> AnchorBreakdown:
    """Shared by the InfoNCE-type losses: logits (K,) of the anchor against candidates ``index``."""
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
    )


def _triplet_breakdown(embeddings, labels, anchor, margin, squared) -> AnchorBreakdown:
    check_matrix("embeddings", embeddings)
    margin = check_non_negative("margin", margin)
    lab = check_labels(labels, len(embeddings), embeddings.device).cpu()
    anchor = check_index("anchor", anchor, len(embeddings))
    x = embeddings.detach().double().cpu()  # (B, d)
    d2 = (x - x[anchor]).pow(2).sum(1)  # (B,)
    dist = d2 if squared else safe_sqrt(d2)
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
    pp, nn = torch.meshgrid(pos, neg, indexing="ij")
    pairs = {
        "positive": pp.reshape(-1).numpy(),
        "negative": nn.reshape(-1).numpy(),
        "loss": hinge.reshape(-1).numpy(),
    }
    return AnchorBreakdown(
        "triplet",
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
    )
