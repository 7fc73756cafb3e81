"""Points in, float64 out: the input checks and row-blocked loops shared by the numpy distances
(:mod:`adlab.distances.metric`) and the axiom checker (:mod:`adlab.distances.axioms`).

Every loop here works on blocks of rows whose intermediate arrays hold at most about
``_BLOCK_ELEMENTS`` floats, whatever the number of points; tests shrink it to force many blocks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from adlab.distances.embedding import EmbeddingDistance

_BLOCK_ELEMENTS = 1 << 22  # floats per block of an intermediate array (32 MiB in float64)


def as_float_array(x: object, arg: str) -> np.ndarray:
    """numpy / torch / nested sequences -> float64 ndarray; ``ValueError`` naming ``arg`` otherwise."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{arg} must be a numeric array: {err}") from err
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{arg} must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def check_points(x: object, arg: str, *, min_ndim: int = 2, max_ndim: int | None = 2) -> np.ndarray:
    """A finite float64 array of points ``(n, d)`` (or ``(n, ...)`` when ``max_ndim`` is None)."""
    arr = as_float_array(x, arg)
    shape_txt = "(n, d)" if max_ndim == 2 else "(n, ...)"
    if arr.ndim < min_ndim or (max_ndim is not None and arr.ndim > max_ndim):
        raise ValueError(f"{arg} must be an array of points {shape_txt}, got shape {arr.shape}")
    if arr.shape[0] < 1 or arr[0].size < 1:
        raise ValueError(f"{arg} needs at least one point with one coordinate, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{arg} contains NaN or inf")
    return arr


def rows_per_block(per_row: int) -> int:
    """How many rows fit in one block when each row needs ``per_row`` floats (at least 1)."""
    return max(1, _BLOCK_ELEMENTS // max(1, per_row))


def blockwise(X: np.ndarray, Y: np.ndarray, op: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """(n, d), (m, d) -> (n, m): ``op(X[a:b, None, :], Y[None, :, :])`` over row blocks, in numpy.

    For the formulas no :class:`EmbeddingDistance` has (Manhattan, Chebyshev, KL).
    """
    n, m = X.shape[0], Y.shape[0]
    out = np.empty((n, m), dtype=np.float64)
    step = rows_per_block(m * X.shape[1])
    for a in range(0, n, step):
        out[a : a + step] = op(X[a : a + step, None, :], Y[None, :, :])  # (b, 1, d) op (1, m, d) -> (b, m)
    return out


def rowwise(distance: EmbeddingDistance, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """(n, d), (m, d) -> (n, m) float64: ``D[i, j] = distance.paired(X[i], Y[j])``.

    Computed by the torch object in float64 on the CPU, one pair per row over row blocks. Explicit
    pairs (rather than the Gram matrix of :meth:`EmbeddingDistance.pairwise`) keep ``d(x, x)``
    exactly 0 and ``d(x, y) == d(y, x)`` bit for bit, which the axiom checker relies on.
    """
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64))
    Yt = torch.from_numpy(np.ascontiguousarray(Y, dtype=np.float64))
    (n, d), m = Xt.shape, Yt.shape[0]
    out = np.empty((n, m), dtype=np.float64)
    step = rows_per_block(m * d)
    with torch.no_grad():
        for a in range(0, n, step):
            xb = Xt[a : a + step]  # (b, d)
            b = xb.shape[0]
            left = xb[:, None, :].expand(b, m, d).reshape(b * m, d)  # row i*m + j holds X[a + i]
            right = Yt[None, :, :].expand(b, m, d).reshape(b * m, d)  # row i*m + j holds Y[j]
            out[a : a + b] = distance.paired(left, right).reshape(b, m).numpy()  # (b, m)
    return out
