"""Supervised contrastive loss (Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from adlab.losses._checks import check_choice, check_labels, check_matrix, check_positive

NAME = "supcon"  # the registry key (adlab.registry), used in links, exports and the CLI
LABEL = "SupCon"
PAPER_KEY = ""  # no anomaly-detection numbers in adlab.papers


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
    check_choice("variant", variant, ("out", "in"))
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
