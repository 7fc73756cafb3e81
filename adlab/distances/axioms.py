r"""A checker for the four metric axioms, measured on a set of points.

A metric :math:`d` satisfies, for all x, y, z:

1. non-negativity             :math:`d(x, y) \ge 0`
2. identity of indiscernibles :math:`d(x, y) = 0 \iff x = y`
3. symmetry                   :math:`d(x, y) = d(y, x)`
4. triangle inequality        :math:`d(x, z) \le d(x, y) + d(y, z)`

:func:`check_axioms` measures all four on every pair and triple of points and returns the worst
violation of each as a :class:`Counterexample`. It takes a :class:`~adlab.distances.metric.Distance`,
a torch :class:`~adlab.distances.embedding.EmbeddingDistance` or any callable ``d(x, y) -> float``.
:func:`structure` names what is left when some axioms fail (pseudometric, semimetric, ...).
The sentences of a report (``message``, ``sentence``) are in the language :func:`check_axioms` is
given (the catalogue's ``distances.check.*``); the names of the axioms are codes (:data:`AXIOMS`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from adlab import i18n
from adlab.distances import _arrays
from adlab.distances._arrays import as_float_array, check_points, rowwise
from adlab.distances.embedding import EUCLIDEAN, EmbeddingDistance

if TYPE_CHECKING:  # the checker only duck-types a Distance (validate, pairwise, name)
    from adlab.distances.metric import Distance

__all__ = [
    "AXIOMS",
    "IDENTITY",
    "NON_NEGATIVITY",
    "SYMMETRY",
    "TRIANGLE",
    "AxiomReport",
    "AxiomResult",
    "Counterexample",
    "check_axioms",
    "structure",
]

NON_NEGATIVITY = "non-negativity"
IDENTITY = "identity of indiscernibles"
SYMMETRY = "symmetry"
TRIANGLE = "triangle inequality"
AXIOMS: tuple[str, ...] = (NON_NEGATIVITY, IDENTITY, SYMMETRY, TRIANGLE)

_MAX_CHECK_POINTS = 500  # check_axioms is O(n^3)


def structure(fails: Iterable[str]) -> str:
    """What a dissimilarity is when exactly the axioms in ``fails`` can break: ``metric`` (none),
    ``pseudometric`` (identity), ``semimetric`` (triangle), ``quasimetric`` (symmetry),
    ``divergence`` (symmetry and triangle), ``dissimilarity`` otherwise."""
    names = {
        frozenset(): "metric",
        frozenset({IDENTITY}): "pseudometric",
        frozenset({TRIANGLE}): "semimetric",
        frozenset({SYMMETRY}): "quasimetric",
        frozenset({SYMMETRY, TRIANGLE}): "divergence",
    }
    return names.get(frozenset(fails), "dissimilarity")


@dataclass(frozen=True, eq=False)
class Counterexample:
    """The worst violation of one axiom on the checked points.

    ``indices`` are rows of the checked points (for the triangle inequality ``(i, j, k)`` with
    ``j`` the detour: ``d(x_i, x_k) > d(x_i, x_j) + d(x_j, x_k)``), ``points`` those rows,
    ``values`` the distances involved by label (e.g. ``{"d(x0,x2)": 4.0, ...}``) and
    ``violation`` how far the axiom is missed (``4 - (1 + 1) = 2`` in that example).
    """

    axiom: str
    indices: tuple[int, ...]
    points: np.ndarray
    values: dict[str, float]
    violation: float
    sentence: str


@dataclass(frozen=True, eq=False)
class AxiomResult:
    """One axiom on one point set: ``holds`` within ``atol``, ``checked`` tuples, ``failures``
    of them violating it, the ``worst`` one (None when it holds) and a ``message``."""

    name: str
    holds: bool
    worst: Counterexample | None
    checked: int
    message: str
    failures: int = 0


@dataclass(frozen=True, eq=False)
class AxiomReport:
    """The four :class:`AxiomResult` for one distance on ``n_points`` points."""

    distance: str
    n_points: int
    results: tuple[AxiomResult, ...]

    def __getitem__(self, axiom: str) -> AxiomResult:
        for r in self.results:
            if r.name == axiom:
                return r
        raise KeyError(f"axiom must be one of {', '.join(map(repr, AXIOMS))}, got {axiom!r}")

    @property
    def non_negativity(self) -> AxiomResult:
        return self[NON_NEGATIVITY]

    @property
    def identity(self) -> AxiomResult:
        return self[IDENTITY]

    @property
    def symmetry(self) -> AxiomResult:
        return self[SYMMETRY]

    @property
    def triangle(self) -> AxiomResult:
        return self[TRIANGLE]

    @property
    def failed(self) -> tuple[str, ...]:
        """Names of the axioms violated on these points."""
        return tuple(r.name for r in self.results if not r.holds)

    @property
    def all_hold(self) -> bool:
        """True when no axiom is violated on these points (evidence, not proof, of a metric)."""
        return not self.failed


def _fmt(v: float) -> str:
    return f"{v:.3f}"


def _d(i: int, j: int) -> str:
    return f"d(x{i},x{j})"


def _pairwise_matrix(distance: object, P: np.ndarray) -> np.ndarray:
    """The ``(n, n)`` matrix of ``distance`` on the validated points ``P``."""
    if isinstance(distance, EmbeddingDistance):  # the torch object, on explicit pairs
        D = rowwise(distance, P, P)
    elif hasattr(distance, "pairwise"):  # a Distance
        D = as_float_array(distance.pairwise(P), "distance.pairwise(points)")  # type: ignore[attr-defined]
    elif callable(distance):
        D = np.array([[float(distance(p, q)) for q in P] for p in P])  # (n, n), naive loop
    else:
        raise ValueError(f"distance must be a Distance or a callable d(x, y), got {distance!r}")
    if D.shape != (len(P), len(P)):
        raise ValueError(f"distance must return an (n, n) matrix for n points, got shape {D.shape}")
    if np.any(np.isnan(D)):
        raise ValueError("distance returned NaN on these points")
    return D


def _say(key: str, lang: str, **fields: object) -> str:
    return i18n.text(f"distances.check.{key}", lang, **fields)


def _check_non_negativity(D: np.ndarray, P: np.ndarray, atol: float, lang: str) -> AxiomResult:
    n = len(D)
    bad = D < -atol
    if not bad.any():
        msg = _say("non_negativity_holds", lang, pairs=n * n, low=_fmt(D.min()))
        return AxiomResult(NON_NEGATIVITY, True, None, n * n, msg)
    i, j = np.unravel_index(np.argmin(D), D.shape)
    v = float(D[i, j])
    worst = Counterexample(
        NON_NEGATIVITY,
        (int(i), int(j)),
        P[[i, j]],
        {_d(i, j): v},
        -v,
        f"{_d(i, j)} = {_fmt(v)} < 0",
    )
    msg = _say("non_negativity_breaks", lang, bad=int(bad.sum()), pairs=n * n, worst=worst.sentence)
    return AxiomResult(NON_NEGATIVITY, False, worst, n * n, msg, int(bad.sum()))


def _check_identity(D: np.ndarray, P: np.ndarray, atol: float, lang: str) -> AxiomResult:
    n = len(D)
    flat = P.reshape(n, -1)
    gap = rowwise(EUCLIDEAN, flat, flat)  # (n, n) how far apart the raw points are, exactly 0 on equal rows
    same = gap == 0  # (n, n) equal rows, including the diagonal
    nonzero_same = same & (np.abs(D) > atol)  # x = y but d(x, y) != 0
    zero_distinct = ~same & (np.abs(D) <= atol)  # x != y but d(x, y) = 0
    n_a, n_b = int(nonzero_same.sum()), int(zero_distinct.sum())
    if n_a == 0 and n_b == 0:
        msg = _say("identity_holds", lang, pairs=n * n)
        return AxiomResult(IDENTITY, True, None, n * n, msg)
    if n_a:  # prefer d(x, x) != 0, the worst being the largest |d(x, x)|
        i, j = np.unravel_index(np.argmax(np.where(nonzero_same, np.abs(D), -1.0)), D.shape)
        v = float(D[i, j])
        sentence = (f"{_d(i, j)} = {_fmt(v)} != 0" if i == j
                    else _say("identity_equal_nonzero", lang, d=_d(i, j), value=_fmt(v), i=i, j=j))
        worst = Counterexample(IDENTITY, (int(i), int(j)), P[[i, j]], {_d(i, j): v}, abs(v), sentence)
    else:  # distinct points at distance 0, the worst being the farthest apart in input space
        i, j = np.unravel_index(np.argmax(np.where(zero_distinct, gap, -1.0)), D.shape)
        v, g = float(D[i, j]), float(gap[i, j])
        sentence = _say("identity_distinct_zero", lang, d=_d(i, j), value=_fmt(v), i=i, j=j, gap=_fmt(g))
        worst = Counterexample(
            IDENTITY, (int(i), int(j)), P[[i, j]], {_d(i, j): v, f"||x{i} - x{j}||": g}, g, sentence
        )
    parts = [_say("identity_equal_count", lang, count=n_a, pairs=n * n)] if n_a else []
    parts += [_say("identity_distinct_count", lang, count=n_b, pairs=n * n)] if n_b else []
    msg = _say("identity_breaks", lang, counts="; ".join(parts), worst=worst.sentence)
    return AxiomResult(IDENTITY, False, worst, n * n, msg, n_a + n_b)


def _check_symmetry(D: np.ndarray, P: np.ndarray, atol: float, lang: str) -> AxiomResult:
    n = len(D)
    checked = n * (n - 1) // 2
    with np.errstate(invalid="ignore"):
        asym = np.triu(np.abs(D - D.T), k=1)  # (n, n), i < j only
    asym = np.where(np.isnan(asym), 0.0, asym)  # inf on both sides counts as equal
    bad = asym > atol
    if not bad.any():
        msg = _say("symmetry_holds", lang, pairs=checked, gap=_fmt(asym.max()))
        return AxiomResult(SYMMETRY, True, None, checked, msg)
    i, j = np.unravel_index(np.argmax(asym), asym.shape)
    a, b = float(D[i, j]), float(D[j, i])
    worst = Counterexample(
        SYMMETRY,
        (int(i), int(j)),
        P[[i, j]],
        {_d(i, j): a, _d(j, i): b},
        float(asym[i, j]),
        f"{_d(i, j)} = {_fmt(a)} != {_d(j, i)} = {_fmt(b)}",
    )
    msg = _say("symmetry_breaks", lang, bad=int(bad.sum()), pairs=checked, worst=worst.sentence)
    return AxiomResult(SYMMETRY, False, worst, checked, msg, int(bad.sum()))


def _check_triangle(D: np.ndarray, P: np.ndarray, atol: float, lang: str) -> AxiomResult:
    n = len(D)
    checked = n * (n - 1) * (n - 2)
    idx = np.arange(n)
    best, best_ijk, n_bad = -np.inf, (0, 0, 0), 0
    step = _arrays.rows_per_block(n * n)
    for a in range(0, n, step):
        rows = idx[a : a + step]
        with np.errstate(invalid="ignore"):
            # V[i, j, k] = d(x_i, x_k) - (d(x_i, x_j) + d(x_j, x_k))
            # shapes: (b, 1, n) - ((b, n, 1) + (1, n, n)) -> (b, n, n)
            V = D[rows][:, None, :] - (D[rows][:, :, None] + D[None, :, :])
        i_, j_, k_ = rows[:, None, None], idx[None, :, None], idx[None, None, :]
        distinct = (i_ != j_) & (j_ != k_) & (i_ != k_)  # (b, n, n)
        V = np.where(distinct & ~np.isnan(V), V, -np.inf)  # inf - inf counts as no violation
        n_bad += int((V > atol).sum())
        flat = int(np.argmax(V))
        if V.flat[flat] > best:
            b, j, k = np.unravel_index(flat, V.shape)
            best, best_ijk = float(V.flat[flat]), (int(rows[b]), int(j), int(k))
    if n_bad == 0:
        return AxiomResult(TRIANGLE, True, None, checked, _say("triangle_holds", lang, triples=checked))
    i, j, k = best_ijk
    dik, dij, djk = float(D[i, k]), float(D[i, j]), float(D[j, k])
    sentence = f"{_d(i, k)} = {_fmt(dik)} > {_d(i, j)} + {_d(j, k)} = {_fmt(dij)} + {_fmt(djk)}"
    values = {_d(i, k): dik, _d(i, j): dij, _d(j, k): djk}
    worst = Counterexample(TRIANGLE, (i, j, k), P[[i, j, k]], values, best, sentence)
    msg = _say("triangle_breaks", lang, bad=n_bad, triples=checked, worst=sentence, by=best)
    return AxiomResult(TRIANGLE, False, worst, checked, msg, n_bad)


def check_axioms(
    distance: Distance | EmbeddingDistance | Callable[[np.ndarray, np.ndarray], float],
    points: object,
    *,
    atol: float = 1e-9,
    lang: str = "en",
) -> AxiomReport:
    r"""Test the four metric axioms on every pair and triple of ``points``.

    ``points`` is ``(n, d)`` with ``2 <= n <= 500`` (``(n, ...)`` for a :class:`LearnedDistance`);
    ``distance`` is a :class:`Distance`, an :class:`EmbeddingDistance` (float64 on the CPU; a
    similarity such as ``COSINE`` is checked as it is, so it fails as a distance) or any callable
    ``d(x, y) -> float`` (looped, slower).
    With ``D`` the ``(n, n)`` matrix of ``d(x_i, x_j)``, a violation must exceed ``atol``:

    - non-negativity: ``D[i, j] < -atol`` (n^2 ordered pairs);
    - identity: ``|D[i, j]| > atol`` for equal rows (``d(x, x) != 0``) or ``|D[i, j]| <= atol``
      for distinct rows; the worst is the largest ``|d(x, x)|``, else the distinct pair farthest
      apart in input space (n^2 ordered pairs);
    - symmetry: ``|D[i, j] - D[j, i]| > atol`` (n(n-1)/2 pairs);
    - triangle: ``D[i, k] - (D[i, j] + D[j, k]) > atol`` over all ordered triples of distinct
      indices, vectorised as an ``(n, n, n)`` array in row blocks; the worst is the largest gap.

    The results' ``message`` and the counterexamples' ``sentence`` are said in ``lang`` (``"en"`` or
    ``"ko"``); the formulas in them read the same in both.
    """
    if lang not in i18n.LANGUAGES:
        raise ValueError(f"lang must be one of {i18n.LANGUAGES}, got {lang!r}")
    validate = getattr(distance, "validate", None)  # a Distance knows its own domain
    P = validate(points, "points") if callable(validate) else check_points(points, "points")
    n = P.shape[0]
    if not 2 <= n <= _MAX_CHECK_POINTS:
        raise ValueError(f"points must have 2 to {_MAX_CHECK_POINTS} rows (the check is O(n^3)), got {n}")
    if isinstance(atol, bool) or not isinstance(atol, (int, float)) or not 0 <= atol < math.inf:
        raise ValueError(f"atol must be a finite number >= 0, got {atol!r}")
    D = _pairwise_matrix(distance, P)
    checks = (_check_non_negativity, _check_identity, _check_symmetry, _check_triangle)
    name = getattr(distance, "name", getattr(distance, "__name__", type(distance).__name__))
    return AxiomReport(str(name), n, tuple(check(D, P, float(atol), lang) for check in checks))
