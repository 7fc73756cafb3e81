r"""Named numpy distances for the axiom checker, computed by the torch embedding distances.

Every distance works on numpy arrays ``(n, d)`` (torch tensors are accepted and copied to the
CPU) and computes in float64: ``pairwise(X, Y)`` gives the ``(n, m)`` matrix, ``d(x, y)`` a float.
Each one says what theory claims (``is_metric``, ``domain``, ``fails``, ``claim``).

Where a formula is one of :class:`~adlab.distances.embedding.EmbeddingDistance`'s, the torch
object computes it (float64 on the CPU, explicit pairs, see :func:`~adlab.distances._arrays.rowwise`)
and ``embedding`` names the object the losses and the kNN score use for the same formula:

- ``euclidean``          :math:`\lVert x - y \rVert_2`                      (``EUCLIDEAN``)
- ``squared_euclidean``  :math:`\lVert x - y \rVert_2^2`                    (``SQUARED_EUCLIDEAN``)
- ``cosine``             :math:`1 - \cos(x, y) = \tfrac12 \lVert \hat x - \hat y \rVert_2^2` (``COSINE_DISTANCE``)
- ``angular``            :math:`\arccos(\cos(x, y)) / \pi = \tfrac2\pi \operatorname{atan2}(\lVert \hat x - \hat y \rVert, \lVert \hat x + \hat y \rVert)`

The two forms on the right are the same numbers as ``1 - cos`` and ``arccos(cos)`` but give
``d(x, x) = 0`` exactly. Manhattan, Chebyshev and the KL divergence have no torch counterpart
and are computed in numpy.

What the app says about a distance comes from the catalogue (:mod:`adlab.i18n`): ``claim`` is the
English ``distances.claim.<name>``, :meth:`Distance.claim_in` and :meth:`Distance.domain_in` say it in
another language, and a point outside a distance's domain raises :class:`DomainError`, which carries
its catalogue key.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from adlab import i18n
from adlab.distances._arrays import as_float_array, blockwise, check_points, rowwise
from adlab.distances.axioms import IDENTITY, SYMMETRY, TRIANGLE, structure
from adlab.distances.embedding import (
    COSINE_DISTANCE,
    EUCLIDEAN,
    SQUARED_EUCLIDEAN,
    EmbeddingDistance,
)

__all__ = [
    "DISTANCES",
    "Distance",
    "DomainError",
    "FormulaDistance",
    "angular",
    "chebyshev",
    "cosine",
    "euclidean",
    "get_distance",
    "kl_divergence",
    "manhattan",
    "squared_euclidean",
]

_SIMPLEX_ATOL = 1e-6
_UNIT_EUCLIDEAN = EmbeddingDistance("euclidean", normalize=True)  # ||x^ - y^||
_UNIT_SQUARED_EUCLIDEAN = EmbeddingDistance("squared_euclidean", normalize=True)  # ||x^ - y^||^2
# a distance's ``domain`` (a code, compared by the tests and the page) -> its catalogue name
_DOMAIN_KEYS = {
    "R^d": "r_d",
    "unit sphere": "unit_sphere",
    "probability simplex": "probability_simplex",
    "inputs of the encoder": "encoder_inputs",
}


class DomainError(ValueError):
    """Points outside a distance's domain (a zero vector for an angle, a row that is not a probability
    vector). The message is the catalogue's ``text_key`` in English; :func:`adlab.i18n.message` says it
    in the app's language."""

    def __init__(self, key: str, **fields: object) -> None:
        self.text_key = f"distances.error.{key}"
        self.text_fields = fields
        super().__init__(i18n.text(self.text_key, "en", **fields))


def _claim(name: str) -> str:
    """The English claim of the registered distance ``name`` (the catalogue's ``distances.claim.<name>``)."""
    return i18n.text(f"distances.claim.{name}", "en")


class Distance(ABC):
    """Interface shared by every distance.

    Attributes:
        name: registry key, e.g. ``"cosine"``.
        latex: the formula, for display.
        is_metric: what theory says: all four axioms hold on ``domain``.
        domain: where ``is_metric`` is claimed, e.g. ``"unit sphere"``.
        fails: axioms that can fail on the raw inputs this object accepts (a counterexample
            exists); empty for a metric on all of its inputs.
        claim: one or two sentences for the page, in English (:meth:`claim_in` for another language).
    """

    name: str
    latex: str
    is_metric: bool
    domain: str
    fails: tuple[str, ...]
    claim: str

    def claim_in(self, lang: str) -> str:
        """``claim`` in ``lang``: the catalogue's ``distances.claim.<name>`` for a registered distance, the
        distance's own ``claim`` for one built by hand."""
        if DISTANCES.get(self.name) is self:
            return i18n.text(f"distances.claim.{self.name}", lang)
        return self.claim

    def domain_in(self, lang: str) -> str:
        """``domain`` in ``lang`` (``"unit sphere"`` is ``"단위 구"`` in Korean); an unknown domain as it is."""
        key = _DOMAIN_KEYS.get(self.domain)
        return i18n.text(f"distances.domain.{key}", lang) if key else self.domain

    @property
    def kind(self) -> str:
        """``metric``, ``pseudometric``, ``semimetric``, ``quasimetric``, ``divergence`` or
        ``dissimilarity``: what the axioms that can fail (``fails``) leave on raw inputs."""
        return structure(self.fails)

    def validate(self, X: object, arg: str = "X") -> np.ndarray:
        """Points ``(n, d)`` as finite float64; ``ValueError`` naming ``arg`` otherwise."""
        return check_points(X, arg)

    @abstractmethod
    def _pairwise(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Validated ``(n, d)``, ``(m, d)`` float64 -> ``(n, m)``."""

    def pairwise(self, X: object, Y: object | None = None) -> np.ndarray:
        """Matrix ``D[i, j] = d(X[i], Y[j])`` of shape ``(n, m)``; ``Y=None`` means ``Y = X``."""
        Xv = self.validate(X, "X")
        if Y is None:
            return self._pairwise(Xv, Xv)
        Yv = self.validate(Y, "Y")
        if Yv.shape[1:] != Xv.shape[1:]:
            raise ValueError(f"Y must have points of the same shape as X {Xv.shape[1:]}, got {Yv.shape[1:]}")
        return self._pairwise(Xv, Yv)

    def __call__(self, x: object, y: object) -> float:
        """``d(x, y)`` for two single points (1-D vectors of the same length)."""
        xa, ya = as_float_array(x, "x"), as_float_array(y, "y")
        for arg, arr in (("x", xa), ("y", ya)):
            if arr.ndim != 1:
                raise ValueError(f"{arg} must be a single point (a 1-D vector), got shape {arr.shape}")
        return float(self.pairwise(xa[None], ya[None])[0, 0])


@dataclass(frozen=True)
class FormulaDistance(Distance):
    """A distance given by a closed-form pairwise kernel on float64 arrays.

    ``kernel(X, Y)`` maps validated ``(n, d)``, ``(m, d)`` arrays to ``(n, m)``; ``check(X, arg)``
    is an optional extra domain check (non-zero rows, probability vectors) raising ``ValueError``;
    ``embedding`` is the torch distance with the same formula, when there is one. Build your own
    to try an arbitrary formula with :func:`~adlab.distances.axioms.check_axioms`.
    """

    name: str
    latex: str
    kernel: Callable[[np.ndarray, np.ndarray], np.ndarray] = field(repr=False)
    is_metric: bool = False
    domain: str = "R^d"
    fails: tuple[str, ...] = ()
    claim: str = ""
    check: Callable[[np.ndarray, str], None] | None = field(default=None, repr=False)
    embedding: EmbeddingDistance | None = None

    def validate(self, X: object, arg: str = "X") -> np.ndarray:
        arr = check_points(X, arg)
        if self.check is not None:
            self.check(arr, arg)
        return arr

    def _pairwise(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return self.kernel(X, Y)


def _nonzero_rows(X: np.ndarray, arg: str) -> None:
    zero = np.flatnonzero(~np.any(X != 0, axis=1))
    if zero.size:
        raise DomainError("zero_vector", arg=arg, rows=zero[:5].tolist())


def _probability_rows(X: np.ndarray, arg: str) -> None:
    if np.any(X < 0):
        raise DomainError("negative", arg=arg)
    sums = X.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > _SIMPLEX_ATOL)
    if bad.size:
        raise DomainError("not_normalised", arg=arg, row=int(bad[0]), total=float(sums[bad[0]]))


def _euclidean(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return rowwise(EUCLIDEAN, X, Y)


def _squared_euclidean(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return rowwise(SQUARED_EUCLIDEAN, X, Y)


def _cosine(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    # 1 - cos(x, y) = ||x^ - y^||^2 / 2 for unit vectors x^, y^; exact 0 for x^ == y^
    return 0.5 * rowwise(_UNIT_SQUARED_EUCLIDEAN, X, Y)


def _angular(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    # arccos(cos) = 2 atan2(||x^ - y^||, ||x^ + y^||): the stable form, exact 0 for x^ == y^
    chord = rowwise(_UNIT_EUCLIDEAN, X, Y)  # (n, m)
    sum_norm = rowwise(_UNIT_EUCLIDEAN, X, -Y)  # (n, m), ||x^ + y^|| as the unit of -y is -y^
    return 2.0 * np.arctan2(chord, sum_norm) / math.pi


def _manhattan(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return blockwise(X, Y, lambda x, y: np.abs(x - y).sum(-1))


def _chebyshev(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return blockwise(X, Y, lambda x, y: np.abs(x - y).max(-1))


def _kl(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    # sum_i p_i log(p_i / q_i), with 0 log(0 / q) = 0 and p log(p / 0) = inf
    def op(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log(p / q), 0.0)  # (b, m, d)
        return terms.sum(-1)

    return blockwise(P, Q, op)


euclidean = FormulaDistance(
    name="euclidean",
    latex=r"d(x, y) = \lVert x - y \rVert_2 = \sqrt{\textstyle\sum_i (x_i - y_i)^2}",
    kernel=_euclidean,
    is_metric=True,
    claim=_claim("euclidean"),
    embedding=EUCLIDEAN,
)
squared_euclidean = FormulaDistance(
    name="squared_euclidean",
    latex=r"d(x, y) = \lVert x - y \rVert_2^2 = \textstyle\sum_i (x_i - y_i)^2",
    kernel=_squared_euclidean,
    fails=(TRIANGLE,),
    claim=_claim("squared_euclidean"),
    embedding=SQUARED_EUCLIDEAN,
)
cosine = FormulaDistance(
    name="cosine",
    latex=r"d(x, y) = 1 - \frac{x^\top y}{\lVert x \rVert_2 \, \lVert y \rVert_2}",
    kernel=_cosine,
    domain="unit sphere",
    fails=(IDENTITY, TRIANGLE),
    claim=_claim("cosine"),
    check=_nonzero_rows,
    embedding=COSINE_DISTANCE,
)
angular = FormulaDistance(
    name="angular",
    latex=r"d(x, y) = \frac{1}{\pi} \arccos \frac{x^\top y}{\lVert x \rVert_2 \, \lVert y \rVert_2}",
    kernel=_angular,
    is_metric=True,
    domain="unit sphere",
    fails=(IDENTITY,),
    claim=_claim("angular"),
    check=_nonzero_rows,
)
manhattan = FormulaDistance(
    name="manhattan",
    latex=r"d(x, y) = \lVert x - y \rVert_1 = \textstyle\sum_i \lvert x_i - y_i \rvert",
    kernel=_manhattan,
    is_metric=True,
    claim=_claim("manhattan"),
)
chebyshev = FormulaDistance(
    name="chebyshev",
    latex=r"d(x, y) = \lVert x - y \rVert_\infty = \max_i \lvert x_i - y_i \rvert",
    kernel=_chebyshev,
    is_metric=True,
    claim=_claim("chebyshev"),
)
kl_divergence = FormulaDistance(
    name="kl_divergence",
    latex=r"D_{\mathrm{KL}}(p \,\Vert\, q) = \textstyle\sum_i p_i \log \frac{p_i}{q_i}",
    kernel=_kl,
    domain="probability simplex",
    fails=(SYMMETRY, TRIANGLE),
    claim=_claim("kl_divergence"),
    check=_probability_rows,
)

DISTANCES: dict[str, Distance] = {
    d.name: d for d in (euclidean, squared_euclidean, cosine, angular, manhattan, chebyshev, kl_divergence)
}


def get_distance(name: str) -> Distance:
    """The registered distance called ``name``; ``ValueError`` listing the names otherwise."""
    if name not in DISTANCES:
        raise ValueError(f"name must be one of {', '.join(map(repr, DISTANCES))}, got {name!r}")
    return DISTANCES[name]


