"""Input scaling and BatchNorm statistics shared by the detectors: one implementation of each."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["identity_stats", "recalibrate_batchnorm", "row_chunks", "zscore_stats"]


def zscore_stats(X: np.ndarray, *, dtype: type = np.float32, min_std: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """Per-column training statistics for ``x' = (x - mean_j) / s_j``.

    ``X`` (n, d); returns ``mean`` and ``s`` of shape (d,) in ``dtype`` (also the precision of the
    sums), ``s_j`` = the population standard deviation of column j, or 1 where it is not above
    ``min_std`` (a constant column keeps its values, shifted to 0). GOAD's official ``norm_data``
    is ``dtype=np.float64, min_std=0``.
    """
    mean = X.mean(axis=0, dtype=dtype)
    std = X.std(axis=0, dtype=dtype)
    return mean.astype(dtype), np.where(std > min_std, std, 1.0).astype(dtype)


def identity_stats() -> tuple[np.ndarray, np.ndarray]:
    """``(0, 1)`` as float32 scalars: the statistics of inputs used as given (images in [0, 1])."""
    return np.zeros((), np.float32), np.ones((), np.float32)


def row_chunks(n: int, size: int) -> list[slice]:
    """Row slices of at most ``size`` rows covering ``range(n)``, none of 1 row (BatchNorm needs 2):
    a single last row joins the slice before it."""
    size = max(2, size)
    starts = list(range(0, n, size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    ends = starts[1:] + [n]
    return [slice(a, b) for a, b in zip(starts, ends, strict=True)]


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, Xt: torch.Tensor, device: torch.device, batch: int) -> None:
    """Set every BatchNorm's running mean / variance to those of ``Xt``, for scoring in eval mode.

    During training they are exponential averages (momentum 0.1) that lag behind the changing
    weights; on a small training set (one minibatch per epoch) the lag spoils the scores of a
    short run. One pass in train mode over ``Xt`` (n, ...) in :func:`row_chunks` of ``batch`` rows,
    with a cumulative average (``momentum=None``), fixes it. Weights are unchanged; the model ends
    in eval mode. A model without BatchNorm is left alone.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    for sl in row_chunks(len(Xt), batch):
        model(Xt[sl].to(device))
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    model.eval()
