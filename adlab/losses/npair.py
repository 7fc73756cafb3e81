"""Multi-class N-pair loss (Sohn, "Improved Deep Metric Learning with Multi-class N-pair Loss
Objective", NeurIPS 2016)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from adlab.losses._checks import check_matrix, check_non_negative, check_same_shape

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
