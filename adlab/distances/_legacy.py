r"""Distances and a checker for the four metric axioms, with the classic counterexamples.

A metric :math:`d` satisfies, for all x, y, z:

1. non-negativity           :math:`d(x, y) \ge 0`
2. identity of indiscernibles :math:`d(x, y) = 0 \iff x = y`
3. symmetry                 :math:`d(x, y) = d(y, x)`
4. triangle inequality      :math:`d(x, z) \le d(x, y) + d(y, z)`

Several "distances" used in contrastive learning are not metrics: squared Euclidean (FaceNet's
triplet loss, GOAD, Deep SVDD) breaks the triangle inequality, cosine distance ``1 - cos`` breaks
it too, and a learned distance ``||f(x) - f(y)||`` is only a pseudometric wherever ``f`` is not
injective. :func:`check_axioms` measures all four axioms on a set of points and returns the worst
violation of each as a :class:`Counterexample`; :func:`demo_points` gives the textbook ones.

Every distance works on numpy arrays ``(n, d)`` (torch tensors are accepted and copied to the
CPU) and computes in float64: ``pairwise(X, Y)`` gives the ``(n, m)`` matrix, ``d(x, y)`` a float.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = [
    "AXIOMS",
    "DEMOS",
    "DISTANCES",
    "AxiomReport",
    "AxiomResult",
    "Counterexample",
    "Demo",
    "Distance",
    "FormulaDistance",
    "LearnedDistance",
    "angular",
    "chebyshev",
    "check_axioms",
    "cosine",
    "demo_points",
    "euclidean",
    "get_distance",
    "kl_divergence",
    "manhattan",
    "squared_euclidean",
]

NON_NEGATIVITY = "non-negativity"
IDENTITY = "identity of indiscernibles"
SYMMETRY = "symmetry"
TRIANGLE = "triangle inequality"
AXIOMS: tuple[str, ...] = (NON_NEGATIVITY, IDENTITY, SYMMETRY, TRIANGLE)

_BLOCK_ELEMENTS = 1 << 22  # floats per broadcast block (32 MiB in float64)
_MAX_CHECK_POINTS = 500  # check_axioms is O(n^3)
_SIMPLEX_ATOL = 1e-6


# --------------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------------


def _as_float_array(x: object, arg: str) -> np.ndarray:
    """numpy / torch / nested sequences -> float64 ndarray; ValueError naming ``arg`` otherwise."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{arg} must be a numeric array: {err}") from err
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{arg} must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def _check_points(x: object, arg: str, *, min_ndim: int = 2, max_ndim: int | None = 2) -> np.ndarray:
    """A finite float64 array of points ``(n, d)`` (or ``(n, ...)`` when ``max_ndim`` is None)."""
    arr = _as_float_array(x, arg)
    shape_txt = "(n, d)" if max_ndim == 2 else "(n, ...)"
    if arr.ndim < min_ndim or (max_ndim is not None and arr.ndim > max_ndim):
        raise ValueError(f"{arg} must be an array of points {shape_txt}, got shape {arr.shape}")
    if arr.shape[0] < 1 or arr[0].size < 1:
        raise ValueError(f"{arg} needs at least one point with one coordinate, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{arg} contains NaN or inf")
    return arr


def _blockwise(X: np.ndarray, Y: np.ndarray, op: Callable[[np.ndarray, np.ndarray], np.ndarray]):
    """(n, d), (m, d) -> (n, m): ``op(X[a:b, None, :], Y[None, :, :])`` over row blocks.

    Working on explicit differences (not the Gram-matrix trick) keeps ``d(x, x)`` exactly 0 and
    ``d(x, y) == d(y, x)`` bit for bit, which the axiom checker relies on.
    """
    n, m = X.shape[0], Y.shape[0]
    out = np.empty((n, m), dtype=np.float64)
    step = max(1, _BLOCK_ELEMENTS // max(1, m * X.shape[1]))
    for a in range(0, n, step):
        out[a : a + step] = op(X[a : a + step, None, :], Y[None, :, :])  # (b, 1, d) op (1, m, d)
    return out


def _unit_rows(X: np.ndarray) -> np.ndarray:
    return X / np.linalg.norm(X, axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------
# Distance objects
# --------------------------------------------------------------------------------------------


def _kind(fails: tuple[str, ...]) -> str:
    """Name of the structure left when the axioms in ``fails`` can break (on raw inputs)."""
    names = {
        frozenset(): "metric",
        frozenset({IDENTITY}): "pseudometric",
        frozenset({TRIANGLE}): "semimetric",
        frozenset({SYMMETRY}): "quasimetric",
        frozenset({SYMMETRY, TRIANGLE}): "divergence",
    }
    return names.get(frozenset(fails), "dissimilarity")


class Distance(ABC):
    """Interface shared by every distance.

    Attributes:
        name: registry key, e.g. ``"cosine"``.
        latex: the formula, for display.
        is_metric: what theory says: all four axioms hold on ``domain``.
        domain: where ``is_metric`` is claimed, e.g. ``"unit sphere"``.
        fails: axioms that can fail on the raw inputs this object accepts (a counterexample
            exists); empty for a metric on all of its inputs.
        claim: one or two sentences for the page.
    """

    name: str
    latex: str
    is_metric: bool
    domain: str
    fails: tuple[str, ...]
    claim: str

    @property
    def kind(self) -> str:
        """``metric``, ``pseudometric``, ``semimetric``, ``quasimetric``, ``divergence`` or
        ``dissimilarity``: what the axioms that can fail (``fails``) leave on raw inputs."""
        return _kind(self.fails)

    def validate(self, X: object, arg: str = "X") -> np.ndarray:
        """Points ``(n, d)`` as finite float64; ``ValueError`` naming ``arg`` otherwise."""
        return _check_points(X, arg)

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
        xa, ya = _as_float_array(x, "x"), _as_float_array(y, "y")
        for arg, arr in (("x", xa), ("y", ya)):
            if arr.ndim != 1:
                raise ValueError(f"{arg} must be a single point (a 1-D vector), got shape {arr.shape}")
        return float(self.pairwise(xa[None], ya[None])[0, 0])


@dataclass(frozen=True)
class FormulaDistance(Distance):
    """A distance given by a closed-form pairwise kernel on float64 arrays.

    ``kernel(X, Y)`` maps validated ``(n, d)``, ``(m, d)`` arrays to ``(n, m)``; ``check(X, arg)``
    is an optional extra domain check (non-zero rows, probability vectors) raising ``ValueError``.
    Build your own to try an arbitrary formula with :func:`check_axioms`.
    """

    name: str
    latex: str
    kernel: Callable[[np.ndarray, np.ndarray], np.ndarray] = field(repr=False)
    is_metric: bool = False
    domain: str = "R^d"
    fails: tuple[str, ...] = ()
    claim: str = ""
    check: Callable[[np.ndarray, str], None] | None = field(default=None, repr=False)

    def validate(self, X: object, arg: str = "X") -> np.ndarray:
        arr = _check_points(X, arg)
        if self.check is not None:
            self.check(arr, arg)
        return arr

    def _pairwise(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return self.kernel(X, Y)


def _nonzero_rows(X: np.ndarray, arg: str) -> None:
    zero = np.flatnonzero(~np.any(X != 0, axis=1))
    if zero.size:
        raise ValueError(f"{arg} has zero vector(s) at row(s) {zero[:5].tolist()}: the angle is undefined")


def _probability_rows(X: np.ndarray, arg: str) -> None:
    if np.any(X < 0):
        raise ValueError(f"{arg} must hold probability vectors: found negative entries")
    sums = X.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > _SIMPLEX_ATOL)
    if bad.size:
        raise ValueError(
            f"{arg} must hold probability vectors (rows summing to 1): row {int(bad[0])} sums to "
            f"{sums[bad[0]]:.6g}"
        )


def _euclidean(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return np.sqrt(_squared_euclidean(X, Y))


def _squared_euclidean(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return _blockwise(X, Y, lambda x, y: np.square(x - y).sum(-1))


def _cosine(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    # 1 - cos(x, y) = ||x^ - y^||^2 / 2 for unit vectors x^, y^; exact 0 for x^ == y^
    return 0.5 * _squared_euclidean(_unit_rows(X), _unit_rows(Y))


def _angular(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    # arccos(cos) = 2 atan2(||x^ - y^||, ||x^ + y^||): the stable form, exact 0 for x^ == y^
    Xu, Yu = _unit_rows(X), _unit_rows(Y)
    chord = np.sqrt(_squared_euclidean(Xu, Yu))  # (n, m)
    sum_norm = np.sqrt(_squared_euclidean(Xu, -Yu))  # (n, m), ||x^ + y^||
    return 2.0 * np.arctan2(chord, sum_norm) / math.pi


def _manhattan(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return _blockwise(X, Y, lambda x, y: np.abs(x - y).sum(-1))


def _chebyshev(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return _blockwise(X, Y, lambda x, y: np.abs(x - y).max(-1))


def _kl(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    # sum_i p_i log(p_i / q_i), with 0 log(0 / q) = 0 and p log(p / 0) = inf
    def op(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log(p / q), 0.0)  # (b, m, d)
        return terms.sum(-1)

    return _blockwise(P, Q, op)


euclidean = FormulaDistance(
    name="euclidean",
    latex=r"d(x, y) = \lVert x - y \rVert_2 = \sqrt{\textstyle\sum_i (x_i - y_i)^2}",
    kernel=_euclidean,
    is_metric=True,
    claim="A metric on R^d: all four axioms hold.",
)
squared_euclidean = FormulaDistance(
    name="squared_euclidean",
    latex=r"d(x, y) = \lVert x - y \rVert_2^2 = \textstyle\sum_i (x_i - y_i)^2",
    kernel=_squared_euclidean,
    fails=(TRIANGLE,),
    claim=(
        "Not a metric: the triangle inequality fails (0, 1, 2 on a line give 4 > 1 + 1). "
        "It is what FaceNet's triplet loss, GOAD and Deep SVDD use."
    ),
)
cosine = FormulaDistance(
    name="cosine",
    latex=r"d(x, y) = 1 - \frac{x^\top y}{\lVert x \rVert_2 \, \lVert y \rVert_2}",
    kernel=_cosine,
    domain="unit sphere",
    fails=(IDENTITY, TRIANGLE),
    claim=(
        "Not a metric: 1 - cos breaks the triangle inequality even on the unit sphere "
        "(angles 0, 45, 90 degrees give 1 > 0.293 + 0.293), and on raw vectors x and 2x are at "
        "distance 0."
    ),
    check=_nonzero_rows,
)
angular = FormulaDistance(
    name="angular",
    latex=r"d(x, y) = \frac{1}{\pi} \arccos \frac{x^\top y}{\lVert x \rVert_2 \, \lVert y \rVert_2}",
    kernel=_angular,
    is_metric=True,
    domain="unit sphere",
    fails=(IDENTITY,),
    claim=(
        "A metric on the unit sphere (the great-circle angle, scaled to [0, 1]); on raw vectors "
        "only a pseudometric, because x and 2x are at distance 0."
    ),
    check=_nonzero_rows,
)
manhattan = FormulaDistance(
    name="manhattan",
    latex=r"d(x, y) = \lVert x - y \rVert_1 = \textstyle\sum_i \lvert x_i - y_i \rvert",
    kernel=_manhattan,
    is_metric=True,
    claim="A metric on R^d: all four axioms hold.",
)
chebyshev = FormulaDistance(
    name="chebyshev",
    latex=r"d(x, y) = \lVert x - y \rVert_\infty = \max_i \lvert x_i - y_i \rvert",
    kernel=_chebyshev,
    is_metric=True,
    claim="A metric on R^d: all four axioms hold.",
)
kl_divergence = FormulaDistance(
    name="kl_divergence",
    latex=r"D_{\mathrm{KL}}(p \,\Vert\, q) = \textstyle\sum_i p_i \log \frac{p_i}{q_i}",
    kernel=_kl,
    domain="probability simplex",
    fails=(SYMMETRY, TRIANGLE),
    claim=(
        "Often called a distance, but not a metric: KL(p||q) != KL(q||p) in general and the "
        "triangle inequality fails. It is >= 0 and 0 only when p = q. Inputs must be "
        "probability vectors; q_i = 0 where p_i > 0 gives inf."
    ),
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


class LearnedDistance(Distance):
    r"""``d_f(x, y) = base(f(x), f(y))`` for an encoder ``f``.

    Inputs may be any batch ``(n, ...)`` the encoder takes (vectors ``(n, d)`` or images
    ``(n, C, H, W)``); they are fed in ``batch_size`` chunks, in eval mode and without gradients,
    on the encoder's own device and dtype (the encoder's train/eval mode is restored afterwards).
    With a metric ``base`` this is a pseudometric: symmetry and the triangle inequality carry
    over, identity does not wherever ``f`` maps two different inputs to the same feature.
    """

    def __init__(
        self, encoder: torch.nn.Module, base: Distance | str = euclidean, *, batch_size: int = 1024
    ) -> None:
        if not isinstance(encoder, torch.nn.Module):
            raise ValueError(f"encoder must be a torch.nn.Module, got {type(encoder).__name__}")
        if isinstance(base, str):
            base = get_distance(base)
        if not isinstance(base, Distance):
            raise ValueError(f"base must be a Distance or a registered name, got {base!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        self.encoder = encoder
        self.base = base
        self.batch_size = batch_size
        self.name = f"learned_{base.name}"
        self.latex = rf"d_f(x, y) = d\big(f(x), f(y)\big), \quad {base.latex}"
        self.is_metric = False
        self.domain = "inputs of the encoder"
        self.fails = tuple(a for a in AXIOMS if a == IDENTITY or a in base.fails)
        self.claim = f"d({base.name}) measured between encoder features f(x), f(y). " + (
            "A pseudometric: symmetry and the triangle inequality carry over from the base "
            "metric, but two different inputs that f maps to the same feature are at "
            "distance 0 (the collapse Deep SVDD can exploit)."
            if base.is_metric and not base.fails
            else "It inherits the base's failures, and identity fails wherever f is not injective."
        )

    def __repr__(self) -> str:
        return f"LearnedDistance(encoder={type(self.encoder).__name__}, base={self.base.name!r})"

    def validate(self, X: object, arg: str = "X") -> np.ndarray:
        return _check_points(X, arg, max_ndim=None)

    def embed(self, X: object) -> np.ndarray:
        """Encoder features ``f(X)`` as float64 ``(n, k)`` (flattened per point)."""
        return self._embed(self.validate(X, "X"))

    def _embed(self, X: np.ndarray) -> np.ndarray:
        param = next(self.encoder.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
        was_training = self.encoder.training
        self.encoder.eval()
        try:
            with torch.no_grad():
                chunks = [
                    self.encoder(torch.as_tensor(X[a : a + self.batch_size], dtype=dtype, device=device))
                    for a in range(0, X.shape[0], self.batch_size)
                ]
        finally:
            self.encoder.train(was_training)
        feats = torch.cat(chunks).reshape(X.shape[0], -1)  # (n, k)
        return feats.detach().cpu().double().numpy()

    def _pairwise(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        FX = self.base.validate(self._embed(X), "features of X")
        FY = FX if Y is X else self.base.validate(self._embed(Y), "features of Y")
        return self.base._pairwise(FX, FY)

    def __call__(self, x: object, y: object) -> float:
        """``d_f(x, y)`` for two single inputs of the encoder's input shape (no batch axis)."""
        xa, ya = _as_float_array(x, "x"), _as_float_array(y, "y")
        return float(self.pairwise(xa[None], ya[None])[0, 0])


# --------------------------------------------------------------------------------------------
# Axiom checker
# --------------------------------------------------------------------------------------------


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
    if isinstance(distance, Distance) or hasattr(distance, "pairwise"):
        D = _as_float_array(distance.pairwise(P), "distance.pairwise(points)")  # type: ignore[attr-defined]
    elif callable(distance):
        D = np.array([[float(distance(p, q)) for q in P] for p in P])  # (n, n), naive loop
    else:
        raise ValueError(f"distance must be a Distance or a callable d(x, y), got {distance!r}")
    if D.shape != (len(P), len(P)):
        raise ValueError(f"distance must return an (n, n) matrix for n points, got shape {D.shape}")
    if np.any(np.isnan(D)):
        raise ValueError("distance returned NaN on these points")
    return D


def _check_non_negativity(D: np.ndarray, P: np.ndarray, atol: float) -> AxiomResult:
    n = len(D)
    bad = D < -atol
    if not bad.any():
        return AxiomResult(
            NON_NEGATIVITY,
            True,
            None,
            n * n,
            f"d >= 0 on all {n * n} ordered pairs (min {_fmt(D.min())}).",
        )
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
    msg = f"{int(bad.sum())} of {n * n} ordered pairs are negative; worst: {worst.sentence}."
    return AxiomResult(NON_NEGATIVITY, False, worst, n * n, msg, int(bad.sum()))


def _check_identity(D: np.ndarray, P: np.ndarray, atol: float) -> AxiomResult:
    n = len(D)
    flat = P.reshape(n, -1)
    gap = np.sqrt(_squared_euclidean(flat, flat))  # (n, n) how far apart the raw points are
    same = gap == 0  # (n, n) equal rows, including the diagonal
    nonzero_same = same & (np.abs(D) > atol)  # x = y but d(x, y) != 0
    zero_distinct = ~same & (np.abs(D) <= atol)  # x != y but d(x, y) = 0
    n_a, n_b = int(nonzero_same.sum()), int(zero_distinct.sum())
    if n_a == 0 and n_b == 0:
        msg = f"d(x, y) = 0 exactly when x = y, on all {n * n} ordered pairs."
        return AxiomResult(IDENTITY, True, None, n * n, msg)
    if n_a:  # prefer d(x, x) != 0, the worst being the largest |d(x, x)|
        i, j = np.unravel_index(np.argmax(np.where(nonzero_same, np.abs(D), -1.0)), D.shape)
        v = float(D[i, j])
        tail = "" if i == j else f" although x{i} = x{j}"
        sentence = f"{_d(i, j)} = {_fmt(v)} != 0{tail}"
        worst = Counterexample(IDENTITY, (int(i), int(j)), P[[i, j]], {_d(i, j): v}, abs(v), sentence)
    else:  # distinct points at distance 0, the worst being the farthest apart in input space
        i, j = np.unravel_index(np.argmax(np.where(zero_distinct, gap, -1.0)), D.shape)
        v, g = float(D[i, j]), float(gap[i, j])
        sentence = f"{_d(i, j)} = {_fmt(v)} although x{i} != x{j} (||x{i} - x{j}|| = {_fmt(g)})"
        worst = Counterexample(
            IDENTITY, (int(i), int(j)), P[[i, j]], {_d(i, j): v, f"||x{i} - x{j}||": g}, g, sentence
        )
    parts = [f"{n_a} of {n * n} ordered pairs of equal points have d != 0"] if n_a else []
    parts += [f"{n_b} of {n * n} ordered pairs of distinct points have d = 0"] if n_b else []
    msg = f"{'; '.join(parts)}; worst: {worst.sentence}."
    return AxiomResult(IDENTITY, False, worst, n * n, msg, n_a + n_b)


def _check_symmetry(D: np.ndarray, P: np.ndarray, atol: float) -> AxiomResult:
    n = len(D)
    checked = n * (n - 1) // 2
    with np.errstate(invalid="ignore"):
        asym = np.triu(np.abs(D - D.T), k=1)  # (n, n), i < j only
    asym = np.where(np.isnan(asym), 0.0, asym)  # inf on both sides counts as equal
    bad = asym > atol
    if not bad.any():
        return AxiomResult(
            SYMMETRY,
            True,
            None,
            checked,
            f"d(x, y) = d(y, x) on all {checked} pairs (max gap {_fmt(asym.max())}).",
        )
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
    msg = f"{int(bad.sum())} of {checked} pairs are asymmetric; worst: {worst.sentence}."
    return AxiomResult(SYMMETRY, False, worst, checked, msg, int(bad.sum()))


def _check_triangle(D: np.ndarray, P: np.ndarray, atol: float) -> AxiomResult:
    n = len(D)
    checked = n * (n - 1) * (n - 2)
    idx = np.arange(n)
    best, best_ijk, n_bad = -np.inf, (0, 0, 0), 0
    step = max(1, _BLOCK_ELEMENTS // max(1, n * n))
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
        return AxiomResult(
            TRIANGLE,
            True,
            None,
            checked,
            f"d(x, z) <= d(x, y) + d(y, z) on all {checked} ordered triples.",
        )
    i, j, k = best_ijk
    dik, dij, djk = float(D[i, k]), float(D[i, j]), float(D[j, k])
    sentence = f"{_d(i, k)} = {_fmt(dik)} > {_d(i, j)} + {_d(j, k)} = {_fmt(dij)} + {_fmt(djk)}"
    values = {_d(i, k): dik, _d(i, j): dij, _d(j, k): djk}
    worst = Counterexample(TRIANGLE, (i, j, k), P[[i, j, k]], values, best, sentence)
    msg = f"{n_bad} of {checked} ordered triples violate it; worst: {sentence} (by {best:.3g})."
    return AxiomResult(TRIANGLE, False, worst, checked, msg, n_bad)


def check_axioms(
    distance: Distance | Callable[[np.ndarray, np.ndarray], float],
    points: object,
    *,
    atol: float = 1e-9,
) -> AxiomReport:
    r"""Test the four metric axioms on every pair and triple of ``points``.

    ``points`` is ``(n, d)`` with ``2 <= n <= 500`` (``(n, ...)`` for a :class:`LearnedDistance`);
    ``distance`` is a :class:`Distance` or any callable ``d(x, y) -> float`` (looped, slower).
    With ``D`` the ``(n, n)`` matrix of ``d(x_i, x_j)``, a violation must exceed ``atol``:

    - non-negativity: ``D[i, j] < -atol`` (n^2 ordered pairs);
    - identity: ``|D[i, j]| > atol`` for equal rows (``d(x, x) != 0``) or ``|D[i, j]| <= atol``
      for distinct rows; the worst is the largest ``|d(x, x)|``, else the distinct pair farthest
      apart in input space (n^2 ordered pairs);
    - symmetry: ``|D[i, j] - D[j, i]| > atol`` (n(n-1)/2 pairs);
    - triangle: ``D[i, k] - (D[i, j] + D[j, k]) > atol`` over all ordered triples of distinct
      indices, vectorised as an ``(n, n, n)`` array in row blocks; the worst is the largest gap.
    """
    if isinstance(distance, Distance):
        P = distance.validate(points, "points")
    else:
        P = _check_points(points, "points")
    n = P.shape[0]
    if not 2 <= n <= _MAX_CHECK_POINTS:
        raise ValueError(f"points must have 2 to {_MAX_CHECK_POINTS} rows (the check is O(n^3)), got {n}")
    if isinstance(atol, bool) or not isinstance(atol, (int, float)) or not 0 <= atol < math.inf:
        raise ValueError(f"atol must be a finite number >= 0, got {atol!r}")
    D = _pairwise_matrix(distance, P)
    checks = (_check_non_negativity, _check_identity, _check_symmetry, _check_triangle)
    name = getattr(distance, "name", getattr(distance, "__name__", type(distance).__name__))
    return AxiomReport(str(name), n, tuple(check(D, P, float(atol)) for check in checks))


# --------------------------------------------------------------------------------------------
# Classic counterexamples
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Demo:
    """A ready-made counterexample: ``check_axioms(distance, points)`` finds ``breaks`` failing."""

    key: str
    distance: Distance
    points: np.ndarray
    breaks: str
    caption: str


def _demos() -> dict[str, Demo]:
    r = math.sqrt(0.5)
    projection = torch.nn.Linear(2, 1, bias=False)  # f(x) = x_1: not injective
    with torch.no_grad():
        projection.weight.copy_(torch.tensor([[1.0, 0.0]]))
    demos = (
        Demo(
            "squared_euclidean",
            squared_euclidean,
            np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]),
            TRIANGLE,
            "Points 0, 1, 2 on a line: d(0, 2) = 4 > d(0, 1) + d(1, 2) = 1 + 1.",
        ),
        Demo(
            "cosine",
            cosine,
            np.array([[1.0, 0.0], [r, r], [0.0, 1.0]]),
            TRIANGLE,
            "Unit vectors at 0, 45 and 90 degrees: 1 - cos 90 = 1 > (1 - cos 45) + (1 - cos 45) = 0.586.",
        ),
        Demo(
            "cosine_identity",
            cosine,
            np.array([[1.0, 0.5], [2.0, 1.0], [-0.5, 1.0]]),
            IDENTITY,
            "x and 2x point the same way, so 1 - cos(x, 2x) = 0 although x != 2x.",
        ),
        Demo(
            "angular_identity",
            angular,
            np.array([[1.0, 0.5], [2.0, 1.0], [-0.5, 1.0]]),
            IDENTITY,
            "The angle between x and 2x is 0: on raw vectors angular distance is only a pseudometric.",
        ),
        Demo(
            "learned",
            LearnedDistance(projection),
            np.array([[1.0, 0.0], [1.0, 2.0], [3.0, 1.0]]),
            IDENTITY,
            "The encoder f(x) = x_1 sends (1, 0) and (1, 2) to the same feature: "
            "distance 0 between different inputs.",
        ),
        Demo(
            "kl_divergence",
            kl_divergence,
            np.array([[0.5, 0.5], [0.9, 0.1], [0.99, 0.01]]),
            SYMMETRY,
            "KL(p||q) != KL(q||p): the divergence depends on which distribution is the reference.",
        ),
    )
    return {d.key: d for d in demos}


DEMOS: dict[str, Demo] = _demos()


def demo_points(name: str) -> Demo:
    """The classic counterexample called ``name`` (a key of :data:`DEMOS`); ``.points`` are the
    points, ``.distance`` the distance they break and ``.breaks`` the axiom."""
    if name not in DEMOS:
        raise ValueError(f"name must be one of {', '.join(map(repr, DEMOS))}, got {name!r}")
    return DEMOS[name]
