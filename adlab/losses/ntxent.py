"""NT-Xent, the SimCLR loss (Chen et al., "A Simple Framework for Contrastive Learning of Visual
Representations", ICML 2020), and its decoupled variant (Yeh et al., "Decoupled Contrastive
Learning", ECCV 2022)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from adlab.losses._checks import check_matrix, check_positive, check_same_shape

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
