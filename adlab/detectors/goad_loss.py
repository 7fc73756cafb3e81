"""GOAD's transformation-centre triplet loss (Bergman & Hoshen, ICLR 2020, Sec. 3.2) and the squared
distances to the centres that both the loss and the score use."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["sq_dists", "tc_loss"]


def sq_dists(features: Tensor, centers: Tensor) -> Tensor:
    """``||f[n, m] - c[m']||^2`` for features ``(N, M, d)`` and centres ``(M, d)`` -> ``(N, M, M)``."""
    d2 = (features**2).sum(-1, keepdim=True) - 2 * features @ centers.T + (centers**2).sum(-1)
    return d2.clamp_min(0.0)


def tc_loss(features: Tensor, *, margin: float = 1.0) -> Tensor:
    """GOAD's transformation-centre triplet loss on one batch.

    ``features`` ``(B, M, d)``; centres ``c_m = mean_b features[b, m]`` ``(M, d)`` (not detached);
    ``L = mean_{b,m} max(0, ||f_bm - c_m||^2 + margin - min_{m' != m} ||f_bm - c_m'||^2)`` (0-d).
    """
    if features.ndim != 3 or features.shape[1] < 2:
        raise ValueError(f"features must have shape (B, M, d) with M >= 2, got {tuple(features.shape)}")
    m = features.shape[1]
    centers = features.mean(0)  # (M, d)
    d2 = sq_dists(features, centers)  # (B, M, M)
    pos = torch.diagonal(d2, dim1=1, dim2=2)  # (B, M)
    eye = torch.eye(m, dtype=torch.bool, device=features.device)
    neg = d2.masked_fill(eye, float("inf")).min(-1).values  # (B, M)
    return F.relu(pos + margin - neg).mean()
