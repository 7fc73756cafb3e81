r"""Distances between embeddings that carry their meaning: the one geometry of losses, mining and scoring.

A :class:`EmbeddingDistance` knows

* how to compare rows: ``pairwise(X, Y) -> (n, m)`` and ``paired(X, Y) -> (n,)`` on torch tensors
  (differentiable, any device and float dtype);
* whether **larger means closer** (``larger_is_closer``: a similarity such as the cosine) or farther
  (a distance such as the Euclidean);
* the **margin's direction**: :meth:`violation` turns an anchor's positive and negative values into
  ``v`` with ``v > -m`` exactly when the pair is inside the margin ``m``; the triplet hinge is
  ``max(v + m, 0)`` for either kind:

  .. math:: v = d(a,p) - d(a,n) \quad\text{(distance)}, \qquad v = s(a,n) - s(a,p) \quad\text{(similarity)}

The triplet loss and the miners (:mod:`adlab.losses.triplet`, :mod:`adlab.losses.mining`), the
kNN score (:func:`adlab.metrics.knn_score`), the loss pages' explorer and the distance page take
one of these objects instead of ``squared=`` / ``normalize=`` / ``metric=`` flags. The numpy
distances of the axiom checker (:mod:`adlab.distances`) are built on the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "COSINE",
    "COSINE_DISTANCE",
    "DOT",
    "EMBEDDING_DISTANCES",
    "EUCLIDEAN",
    "SQUARED_EUCLIDEAN",
    "EmbeddingDistance",
    "embedding_distance",
]

_KINDS = ("euclidean", "squared_euclidean", "cosine", "cosine_distance", "dot")


def safe_sqrt(x: Tensor) -> Tensor:
    """``sqrt(x)`` for ``x >= 0`` whose gradient at 0 is 0 instead of inf / NaN."""
    positive = x > 0
    return torch.where(positive, x.clamp_min(torch.finfo(x.dtype).tiny).sqrt(), x.new_zeros(()))


def _sq_gram(X: Tensor, Y: Tensor) -> Tensor:
    """(n, d), (m, d) -> (n, m) squared Euclidean distances via the Gram matrix, clamped at 0."""
    sx, sy = (X * X).sum(1), (Y * Y).sum(1)
    return (sx[:, None] + sy[None, :] - 2.0 * (X @ Y.T)).clamp_min(0.0)


@dataclass(frozen=True)
class EmbeddingDistance:
    """One way to compare embeddings; see the module docstring.

    ``kind`` is one of ``euclidean``, ``squared_euclidean`` (FaceNet's triplet, Deep SVDD, GOAD),
    ``cosine`` (a similarity in [-1, 1]: SupCon, NT-Xent), ``cosine_distance`` (``1 - cos``: the
    kNN score) and ``dot`` (a similarity: N-pair without normalisation). ``normalize`` L2-normalises
    the rows first (the cosine kinds always do).
    """

    kind: str
    normalize: bool = False

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {', '.join(_KINDS)}, got {self.kind!r}")

    # -- meaning -----------------------------------------------------------------------------
    @property
    def larger_is_closer(self) -> bool:
        """True for a similarity (cosine, dot), False for a distance."""
        return self.kind in ("cosine", "dot")

    @property
    def name(self) -> str:
        """Short name, e.g. ``"squared_euclidean"`` or ``"euclidean (normalised)"``."""
        suffix = " (normalised)" if self.normalize and self.kind not in ("cosine", "cosine_distance") else ""
        return self.kind + suffix

    @property
    def formula(self) -> str:
        """The formula as LaTeX, for a page."""
        hat = r"\hat" if self.normalize else ""
        x, y = f"{hat}{{x}}", f"{hat}{{y}}"
        return {
            "euclidean": rf"\lVert {x} - {y} \rVert_2",
            "squared_euclidean": rf"\lVert {x} - {y} \rVert_2^2",
            "cosine": r"\cos(x, y) = \hat{x} \cdot \hat{y}",
            "cosine_distance": r"1 - \cos(x, y)",
            "dot": rf"{x} \cdot {y}",
        }[self.kind]

    # -- values ------------------------------------------------------------------------------
    def _prepare(self, X: Tensor) -> Tensor:
        if self.normalize or self.kind in ("cosine", "cosine_distance"):
            return F.normalize(X, dim=-1)
        return X

    def pairwise(self, X: Tensor, Y: Tensor | None = None) -> Tensor:
        """``D[i, j] = d(X[i], Y[j])``: (n, d), (m, d) -> (n, m); ``Y=None`` compares X with itself
        (then the diagonal of a distance is exactly 0)."""
        same = Y is None
        Xp = self._prepare(X)
        Yp = Xp if same else self._prepare(Y)
        if self.kind in ("euclidean", "squared_euclidean"):
            d2 = _sq_gram(Xp, Yp)
            if same:
                d2 = d2.fill_diagonal_(0.0)
            return d2 if self.kind == "squared_euclidean" else safe_sqrt(d2)
        sim = Xp @ Yp.T
        return 1.0 - sim if self.kind == "cosine_distance" else sim

    def paired(self, X: Tensor, Y: Tensor) -> Tensor:
        """Row by row: ``out[i] = d(X[i], Y[i])``: (n, d), (n, d) -> (n,)."""
        Xp, Yp = self._prepare(X), self._prepare(Y)
        if self.kind in ("euclidean", "squared_euclidean"):
            d2 = (Xp - Yp).pow(2).sum(1)
            return d2 if self.kind == "squared_euclidean" else safe_sqrt(d2)
        sim = (Xp * Yp).sum(1)
        return 1.0 - sim if self.kind == "cosine_distance" else sim

    # -- the margin's direction --------------------------------------------------------------
    def violation(self, ap: Tensor, an: Tensor) -> Tensor:
        """``d(a,p) - d(a,n)`` for a distance, ``s(a,n) - s(a,p)`` for a similarity: positive when
        the negative is closer than the positive; the triplet hinge is ``max(violation + m, 0)``."""
        return an - ap if self.larger_is_closer else ap - an

    def closer(self, a: Tensor, b: Tensor) -> Tensor:
        """Elementwise: is a value ``a`` closer than ``b`` (smaller distance / larger similarity)?"""
        return a > b if self.larger_is_closer else a < b

    def farthest_value(self) -> float:
        """The value that is never closer than any other (for masking): +inf or -inf."""
        return -torch.inf if self.larger_is_closer else torch.inf


EUCLIDEAN = EmbeddingDistance("euclidean")
SQUARED_EUCLIDEAN = EmbeddingDistance("squared_euclidean")
COSINE = EmbeddingDistance("cosine")
COSINE_DISTANCE = EmbeddingDistance("cosine_distance")
DOT = EmbeddingDistance("dot")

EMBEDDING_DISTANCES: dict[str, EmbeddingDistance] = {
    d.kind: d for d in (EUCLIDEAN, SQUARED_EUCLIDEAN, COSINE, COSINE_DISTANCE, DOT)
}


def embedding_distance(name: str | EmbeddingDistance) -> EmbeddingDistance:
    """The distance named ``name`` (``"euclidean"``, ``"squared_euclidean"``, ``"cosine"``,
    ``"cosine_distance"``, ``"dot"``), or ``name`` itself when it already is one."""
    if isinstance(name, EmbeddingDistance):
        return name
    try:
        return EMBEDDING_DISTANCES[name]
    except KeyError:
        raise ValueError(f"distance must be one of {', '.join(EMBEDDING_DISTANCES)}, got {name!r}") from None
