r"""Exact k-nearest-neighbour search with an :class:`~adlab.distances.embedding.EmbeddingDistance`.

"Nearest" follows the distance's meaning: the ``k`` smallest values of a distance, the ``k``
largest of a similarity (``larger_is_closer``). Brute force over row blocks of the queries, so
the ``(b, m)`` block of values stays under about ``max_elements`` floats however many queries
there are (10,000 queries against 5,000 references never build the whole matrix).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from adlab.distances.embedding import EmbeddingDistance

__all__ = ["Neighbours", "k_nearest"]

_MAX_ELEMENTS = 1 << 20  # values per block of the (b, m) matrix: 8 MiB in float64, cache-friendly


@dataclass(frozen=True)
class Neighbours:
    """``values[i, r]`` is the distance (or similarity) from query ``i`` to its ``r``-th closest
    reference ``indices[i, r]``, closest first; both ``(n, k)``."""

    values: Tensor
    indices: Tensor


def k_nearest(
    distance: EmbeddingDistance,
    queries: Tensor,
    references: Tensor,
    k: int,
    *,
    max_elements: int | None = None,
) -> Neighbours:
    """The ``k`` references closest to each query under ``distance``, by brute force.

    ``queries`` ``(n, d)``, ``references`` ``(m, d)`` on one device and dtype; ``1 <= k <= m``.
    Each block of ``b = max(1, max_elements // m)`` queries costs one ``distance.pairwise`` of
    shape ``(b, m)`` and a ``topk`` along it; ``max_elements`` defaults to ``2**20`` (8 MiB of float64). Returns :class:`Neighbours` with ``(n, k)`` tensors;
    ties are broken as ``torch.topk`` breaks them.
    """
    if not isinstance(distance, EmbeddingDistance):
        raise ValueError(f"distance must be an EmbeddingDistance, got {distance!r}")
    if queries.ndim != 2 or references.ndim != 2 or queries.shape[1] != references.shape[1]:
        raise ValueError(
            f"queries and references must be (n, d) and (m, d), got {tuple(queries.shape)} and "
            f"{tuple(references.shape)}"
        )
    m = references.shape[0]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= m:
        raise ValueError(f"k must be an integer in [1, {m}] (the number of references), got {k!r}")
    if max_elements is None:
        max_elements = _MAX_ELEMENTS  # read at call time, so a test can shrink it
    if isinstance(max_elements, bool) or not isinstance(max_elements, int) or max_elements < 1:
        raise ValueError(f"max_elements must be an integer >= 1, got {max_elements!r}")
    step = max(1, max_elements // m)
    values, indices = [], []
    for a in range(0, queries.shape[0], step):
        block = distance.pairwise(queries[a : a + step], references)  # (b, m)
        top = block.topk(k, dim=1, largest=distance.larger_is_closer, sorted=True)  # (b, k) each
        values.append(top.values)
        indices.append(top.indices)
    if not values:  # no queries
        empty = queries.new_zeros((0, k))
        return Neighbours(empty, empty.long())
    return Neighbours(torch.cat(values), torch.cat(indices))
