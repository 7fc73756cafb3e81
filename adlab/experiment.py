"""Run one anomaly detector on a one-class split and collect everything a page shows.

One call, :func:`run_detector`, does what every detector page and the Compare page need: build the
detector from a :class:`MethodSpec` (method name + hyperparameters), ``fit`` it on the normal
training rows with the page's progress callbacks, score the test rows, compute AUROC / AUPRC / F1
(:func:`adlab.metrics.evaluate`), time the fit and the scoring, and embed the test rows *before*
and *after* training for the UMAP pair.

"Before" means the same detector at initialisation: a deep detector is fitted a second time with
a ``cancel`` event that is already set, so :func:`adlab.train.fit` stops before the first step.
Everything else in ``fit`` still runs on the untrained network, with the same seed and therefore
the same initial weights: Deep SVDD's centre ``c``, GOAD's centres, DROC's stage-2 model, CSI's
feature bank. The untrained detector thus scores as well as embeds (``scores_before``). Shallow
baselines have no "before": their features are the (flattened, maybe standardised) inputs.

The helpers below compute the per-method views: :func:`sphere_coordinates` (Deep SVDD's
hypersphere), :func:`goad_centre_map` and :func:`transform_names` (GOAD's centres),
:func:`scorer_grid` (DROC's stage-2 choices), :func:`csi_variant_metrics` (CSI's score terms).
No streamlit here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from adlab.data import Split
from adlab.detectors.base import DeepDetector, Detector
from adlab.detectors.baselines import IsolationForestDetector, KNNDetector, OCSVMDetector
from adlab.detectors.csi import CSI
from adlab.detectors.csi import MNIST_PARAMS as _CSI_MNIST
from adlab.detectors.deep_svdd import DeepSVDD
from adlab.detectors.droc import DROC, FEATURE_SPACES
from adlab.detectors.droc import MNIST_PARAMS as _DROC_MNIST
from adlab.detectors.goad import GOAD, GeometricTransforms
from adlab.detectors.shallow import SCORERS
from adlab.metrics import evaluate
from adlab.train import Callback, History

__all__ = [
    "BASELINES",
    "DEEP_METHODS",
    "LABELS",
    "METHODS",
    "CentreMap",
    "DetectorRun",
    "MethodSpec",
    "applicable",
    "balanced_rows",
    "csi_variant_metrics",
    "goad_centre_map",
    "group_identical",
    "mnist_sized",
    "quick_params",
    "run_detector",
    "scorer_grid",
    "sphere_coordinates",
    "summary_rows",
    "transform_names",
    "untrained",
]

_CLASSES: dict[str, type[Detector]] = {
    cls.name: cls
    for cls in (DeepSVDD, GOAD, DROC, CSI, KNNDetector, IsolationForestDetector, OCSVMDetector)
}
METHODS: tuple[str, ...] = tuple(_CLASSES)  # deepsvdd, goad, droc, csi, knn, iforest, ocsvm
DEEP_METHODS: tuple[str, ...] = ("deepsvdd", "goad", "droc", "csi")
BASELINES: tuple[str, ...] = ("knn", "iforest", "ocsvm")
LABELS: dict[str, str] = {
    "deepsvdd": "Deep SVDD",
    "goad": "GOAD",
    "droc": "DROC",
    "csi": "CSI",
    "knn": "kNN (raw input)",
    "iforest": "Isolation Forest (raw input)",
    "ocsvm": "OC-SVM (raw input)",
}
_IMAGE_ONLY = frozenset({"csi"})

#: Quick settings per method and data kind: each run takes a few seconds on two CPU cores.
_QUICK: dict[tuple[str, str], dict[str, Any]] = {
    ("deepsvdd", "image"): {"epochs": 30},
    ("deepsvdd", "tabular"): {"epochs": 30},
    ("goad", "image"): {"transforms": "rotations", "epochs": 10},
    # 1 epoch as the official tabular runs; 32 maps instead of 256 keep the page's pictures readable.
    # On a small training set more epochs make the centres (the last epoch's per-batch means, over
    # 2 batches of toy data) erratic: M = 16 / 10 epochs gave mean AUROC 65.7 on Thyroid, 75.0 on
    # toy blobs (4 seeds), M = 32 / 1 epoch 94.9 and 99.9.
    ("goad", "tabular"): {"n_transforms": 32, "epochs": 1},
    ("droc", "image"): {"epochs": 20},
    ("droc", "tabular"): {"epochs": 20, "distribution_augmentation": False},
    ("csi", "image"): {"epochs": 15},
}


def _check_method(method: str) -> None:
    if method not in _CLASSES:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")


def _check_kind(kind: str) -> None:
    if kind not in ("image", "tabular"):
        raise ValueError(f"kind must be 'image' or 'tabular', got {kind!r}")


def applicable(method: str, kind: str) -> bool:
    """Whether ``method`` runs on data of ``kind`` ("image" or "tabular"); CSI needs images."""
    _check_method(method)
    _check_kind(kind)
    return not (kind == "tabular" and method in _IMAGE_ONLY)


#: Grey images of MNIST size (one channel, side >= 20): the settings the one-class MNIST benchmarks
#: chose (``DROC.preset("mnist")``, ``CSI.preset("mnist")``) replace the ones sized for 8x8 digits.
#: On MNIST class 8 from the CLI (seed 0) they are better and faster: DROC AUROC 0.963 in 7.5 s
#: instead of 0.939 in 17 s, CSI 0.918 in 8.8 s instead of 0.870 in 18 s.
_QUICK_MNIST_SIZED: dict[str, dict[str, Any]] = {"droc": _DROC_MNIST, "csi": _CSI_MNIST}


def mnist_sized(input_shape: Sequence[int] | None) -> bool:
    """Whether one input of shape ``(C, H, W)`` is a grey image of MNIST size (``C == 1``, side >= 20)."""
    return input_shape is not None and len(input_shape) == 3 and input_shape[0] == 1 and min(input_shape[1:]) >= 20


def quick_params(method: str, kind: str, input_shape: Sequence[int] | None = None) -> dict[str, Any]:
    """The quick hyperparameters the pages start from (a copy; the detector's defaults fill the rest).

    ``input_shape`` (one input, e.g. ``(1, 28, 28)``): grey images of MNIST size get the MNIST
    benchmarks' settings for DROC and CSI (:data:`_QUICK_MNIST_SIZED`). Raises ``ValueError`` when
    ``method`` does not run on ``kind`` (CSI on tabular rows).
    """
    if not applicable(method, kind):
        raise ValueError(
            f"method {method!r} works on images only; its shifting transformations are rotations, "
            "which tabular rows do not have"
        )
    params = dict(_QUICK.get((method, kind), {}))
    if kind == "image" and mnist_sized(input_shape):
        params.update(_QUICK_MNIST_SIZED.get(method, {}))
    return params


@dataclass(frozen=True)
class MethodSpec:
    """A detector by name with its hyperparameters: frozen and hashable (a cache key).

    ``params`` is a sorted tuple of ``(name, value)`` pairs; every name must be a parameter of the
    detector class (``ValueError`` naming it otherwise). Build one with :meth:`of` or :meth:`quick`.
    """

    method: str
    params: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        _check_method(self.method)
        valid = set(_CLASSES[self.method]._param_names())
        for name, _ in self.params:
            if name not in valid:
                raise ValueError(f"{self.method} has no parameter {name!r}; valid: {sorted(valid)}")

    @classmethod
    def of(cls, method: str, **params: Any) -> MethodSpec:
        """``MethodSpec.of("goad", epochs=5)``."""
        return cls(method, tuple(sorted(params.items())))

    @classmethod
    def quick(cls, method: str, kind: str, *, input_shape: Sequence[int] | None = None, seed: int | None = None,
              **overrides: Any) -> MethodSpec:
        """:func:`quick_params` for ``method`` on ``kind`` data (of ``input_shape``), updated with ``overrides``.

        ``seed`` is set only where the detector has one (kNN and OC-SVM are deterministic).
        """
        params = {**quick_params(method, kind, input_shape), **overrides}
        if seed is not None and "seed" in _CLASSES[method]._param_names():
            params["seed"] = seed
        return cls.of(method, **params)

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def label(self) -> str:
        return LABELS[self.method]

    def build(self, device: str | None = None) -> Detector:
        """A new, unfitted detector; ``device`` (when given) overrides the spec's for deep detectors."""
        cls = _CLASSES[self.method]
        kwargs = self.kwargs
        if device is not None and "device" in cls._param_names():
            kwargs["device"] = device
        return cls(**kwargs)


def untrained(spec: MethodSpec, X_train: np.ndarray, *, device: str | None = None) -> Detector:
    """The detector of ``spec`` as initialised: fitted on ``X_train`` with zero optimisation steps.

    The training loop receives a ``cancel`` event that is already set, so it stops before the first
    step; the rest of ``fit`` (centres, feature bank, stage-2 model, standardisation) runs on the
    untrained network, built with the same seed as a real fit. Shallow baselines have nothing to
    train: ``ValueError``.
    """
    det = spec.build(device)
    if not isinstance(det, DeepDetector):
        raise ValueError(f"method {spec.method!r} is not a deep detector; it has no untrained state")
    stop = threading.Event()
    stop.set()
    return det.fit(X_train, cancel=stop)


@dataclass
class DetectorRun:
    """One detector fitted on a split and scored on its test rows (numpy arrays, detector on its device).

    ``scores`` / ``scores_before`` (n_test,) float64, higher = more anomalous; ``test_after`` /
    ``test_before`` (n_test, d) the features ``detector.embed`` gives after training / at
    initialisation (for baselines both are the raw inputs and ``scores_before`` is None);
    ``metrics`` / ``metrics_before`` = :func:`adlab.metrics.evaluate`; ``fit_seconds`` (the real
    fit only) and ``score_seconds`` (scoring the test rows) are wall-clock times.
    """

    spec: MethodSpec
    detector: Detector
    is_anomaly: np.ndarray
    y_test: np.ndarray
    scores: np.ndarray
    metrics: dict[str, float]
    test_after: np.ndarray
    test_before: np.ndarray | None
    scores_before: np.ndarray | None
    metrics_before: dict[str, float] | None
    fit_seconds: float
    score_seconds: float
    history: History | None
    untrained: Detector | None = None

    @property
    def method(self) -> str:
        return self.spec.method


def run_detector(
    split: Split,
    spec: MethodSpec,
    *,
    device: str | None = None,
    callbacks: Sequence[Callback] = (),
    cancel: threading.Event | None = None,
    before: bool = True,
) -> DetectorRun:
    """Fit ``spec``'s detector on ``split.X_train``, score ``split.X_test``, embed it before/after.

    ``callbacks`` / ``cancel`` go to the real fit (progress bars, a stop button). ``before=False``
    skips the untrained copy (``test_before`` and ``scores_before`` are then None for deep
    detectors). Test labels (``split.anomalous_test``) are used for the metrics only.
    Raises ``ValueError`` for unusable settings or data, :class:`adlab.train.NonFiniteLoss` when
    training diverges.
    """
    if not applicable(spec.method, split.kind):
        raise ValueError(
            f"{spec.label} works on images only; {split.dataset} holds tabular rows. Pick an image dataset."
        )
    det = spec.build(device)
    start = time.perf_counter()
    det.fit(split.X_train, callbacks=callbacks, cancel=cancel)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scores = det.anomaly_score(split.X_test)
    score_seconds = time.perf_counter() - start
    is_anomaly = np.asarray(split.anomalous_test, dtype=bool)
    metrics = evaluate(is_anomaly, scores)
    after = np.asarray(det.embed(split.X_test), dtype=np.float32)

    fresh: Detector | None = None
    test_before = scores_before = metrics_before = None
    if not isinstance(det, DeepDetector):
        test_before = after
    elif before:
        fresh = untrained(spec, split.X_train, device=device)
        scores_before = fresh.anomaly_score(split.X_test)
        metrics_before = evaluate(is_anomaly, scores_before)
        test_before = np.asarray(fresh.embed(split.X_test), dtype=np.float32)
    return DetectorRun(
        spec=spec,
        detector=det,
        is_anomaly=is_anomaly,
        y_test=np.asarray(split.y_test),
        scores=scores,
        metrics=metrics,
        test_after=after,
        test_before=test_before,
        scores_before=scores_before,
        metrics_before=metrics_before,
        fit_seconds=fit_seconds,
        score_seconds=score_seconds,
        history=getattr(det, "history_", None),
        untrained=fresh,
    )


@dataclass(frozen=True, eq=False)
class UnlabelledRun:
    """A detector fitted on a sample of an unlabelled set and every row scored (no labels, no metrics).

    ``scores`` (n,) float64 for all rows, higher = more anomalous; ``train_index`` the rows it was
    fitted on; ``sample_index`` / ``features`` (k, d) the rows embedded for a map; seconds wall-clock.
    """

    spec: MethodSpec
    detector: Detector
    scores: np.ndarray
    train_index: np.ndarray
    sample_index: np.ndarray
    features: np.ndarray
    fit_seconds: float
    score_seconds: float

    def split_names(self) -> list[str]:
        """(n,) ``"fitted on"`` for the rows the detector was fitted on, else ``"scored only"`` (the CSV's split)."""
        fitted = np.zeros(len(self.scores), dtype=bool)
        fitted[self.train_index] = True
        return np.where(fitted, "fitted on", "scored only").tolist()


def score_unlabelled(
    X: np.ndarray,
    spec: MethodSpec,
    *,
    seed: int = 0,
    max_train: int = 3000,
    max_sample: int = 400,
    device: str | None = None,
    callbacks: Sequence[Callback] = (),
) -> UnlabelledRun:
    """Fit ``spec`` on up to ``max_train`` rows of ``X`` drawn with ``seed`` and score every row.

    Without labels every row counts as normal while fitting, so anomalies in the data (the ones one
    hopes to find) are trained on too. How much that hurts depends on the method and on how many
    there are: on a table with one row in eight anomalous, Isolation Forest still ranked them first
    while GOAD learned them as normal (tests/test_pages_upload.py). ``X`` (n, d) or (n, C, H, W).
    """
    if not applicable(spec.method, "image" if np.asarray(X).ndim == 4 else "tabular"):
        raise ValueError(f"{spec.label} works on images only; these are tabular rows")
    rng = np.random.default_rng(int(seed))
    n = len(X)
    train_index = np.sort(rng.permutation(n)[: min(max_train, n)])
    sample_index = np.sort(rng.permutation(n)[: min(max_sample, n)])
    det = spec.build(device)
    start = time.perf_counter()
    det.fit(X[train_index], callbacks=callbacks)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scores = det.anomaly_score(X)
    score_seconds = time.perf_counter() - start
    features = np.asarray(det.embed(X[sample_index]), dtype=np.float32)
    return UnlabelledRun(spec, det, scores, train_index, sample_index, features, fit_seconds, score_seconds)


def summary_rows(runs: Mapping[str, DetectorRun]) -> list[dict[str, Any]]:
    """One table row per run: method, AUROC, AUPRC, F1, fit and scoring seconds."""
    return [
        {
            "method": run.spec.label,
            "AUROC": run.metrics["auroc"],
            "AUPRC": run.metrics["auprc"],
            "F1": run.metrics["f1"],
            "fit (s)": run.fit_seconds,
            "score (s)": run.score_seconds,
        }
        for run in runs.values()
    ]


def group_identical(features: Mapping[str, np.ndarray]) -> dict[tuple[str, ...], np.ndarray]:
    """Group names whose feature arrays are equal (e.g. baselines that all see the raw input).

    ``{name: (n, d)}`` -> ``{(name, ...): (n, d)}`` in first-seen order.
    """
    groups: list[tuple[list[str], np.ndarray]] = []
    for name, feats in features.items():
        for names, ref in groups:
            if ref.shape == feats.shape and np.array_equal(ref, feats):
                names.append(name)
                break
        else:
            groups.append(([name], feats))
    return {tuple(names): feats for names, feats in groups}


def balanced_rows(is_anomaly: np.ndarray, per_class: int, *, seed: int = 0) -> np.ndarray:
    """Up to ``per_class`` normal and ``per_class`` anomalous row indices, drawn with ``seed``, sorted."""
    if not isinstance(per_class, (int, np.integer)) or per_class < 1:
        raise ValueError(f"per_class must be a positive integer, got {per_class!r}")
    labels = np.asarray(is_anomaly, dtype=bool)
    rng = np.random.default_rng(seed)
    picked = []
    for mask in (~labels, labels):
        idx = np.flatnonzero(mask)
        picked.append(rng.choice(idx, min(per_class, len(idx)), replace=False))
    return np.sort(np.concatenate(picked)).astype(np.int64)


# ----------------------------------------------------------------------------- Deep SVDD
def sphere_coordinates(features: np.ndarray, center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polar coordinates of ``phi(x)`` around the centre ``c`` for a radial plot.

    ``r = ||phi(x) - c||`` (exact: ``r**2`` is Deep SVDD's score) and an angle ``theta`` = the
    direction of ``phi(x) - c`` in the plane of its two main axes (PCA of ``phi(x) - c`` over the
    given rows, uncentred so that ``c`` stays the origin). ``features`` (n, d), ``center`` (d,);
    returns ``(r (n,), theta (n,))`` in radians.
    """
    F = np.asarray(features, dtype=np.float64)
    c = np.asarray(center, dtype=np.float64).reshape(-1)
    if F.ndim != 2 or F.shape[1] != c.shape[0]:
        raise ValueError(f"features must be (n, {c.shape[0]}) to match center, got {F.shape}")
    diff = F - c  # (n, d)
    r = np.linalg.norm(diff, axis=1)
    if len(diff) < 2 or not np.any(diff):
        return r, np.zeros(len(diff))
    _, _, vt = np.linalg.svd(diff, full_matrices=False)
    axes = vt[:2]  # (<=2, d)
    xy = diff @ axes.T  # (n, <=2)
    if xy.shape[1] < 2:
        xy = np.column_stack([xy[:, 0], np.zeros(len(xy))])
    return r, np.arctan2(xy[:, 1], xy[:, 0])


# ----------------------------------------------------------------------------- GOAD
@dataclass(frozen=True)
class CentreMap:
    """GOAD features of some test rows under every transformation, and the centres, in 2-D.

    ``points`` (k * M, 2), ``transform`` (k * M,) the index m of each point, ``row`` (k * M,) the
    test row it came from, ``centres`` (M, 2); ``explained`` = the share of the centres' variance the
    two axes keep. ``own_centre`` (k * M,) bool: the point's nearest centre (in the full feature
    space, as the score measures) is its own ``c_m``. With training rows given: ``means`` (M, 2) the
    mean of ``f(T(x, m))`` over them, computed as the plotted points are (eval mode); ``offset`` the
    mean distance ``||c_m - mean_m||`` and ``spread`` the root-mean-square distance of the training
    copies from their ``mean_m``, both in the full feature space (NaN without training rows).
    """

    points: np.ndarray
    transform: np.ndarray
    row: np.ndarray
    centres: np.ndarray
    explained: float
    own_centre: np.ndarray
    means: np.ndarray | None = None
    offset: float = float("nan")
    spread: float = float("nan")


def goad_centre_map(detector: GOAD, X: np.ndarray, rows: np.ndarray | None = None,
                    X_train: np.ndarray | None = None) -> CentreMap:
    """Project ``f(T(x, m))`` of ``X[rows]`` for all m, together with the M centres ``c_m``, to 2-D.

    ``X`` (n, ...) test rows; ``rows`` indices into ``X`` (default: all). The two axes are the
    principal axes of the M centres (of all projected features when M < 3), so the picture spreads
    the centres apart as far as a plane allows; ``explained`` is the share of the centres' variance
    they keep. Linear, so distances to the centres keep their order of magnitude.

    The points are computed as for scoring (eval mode: BatchNorm on its running statistics). The
    centres the score uses are, by default, the last epoch's batch means taken in training mode
    (BatchNorm on each batch's statistics, weights still moving), so they need not sit on the
    points' clusters. ``X_train`` (the normal training rows) adds ``means``, the clusters' actual
    centres in the points' space, and the ``offset`` / ``spread`` that say how far apart they are.
    """
    idx = np.arange(len(X)) if rows is None else np.asarray(rows, dtype=np.int64)
    if idx.size == 0:
        raise ValueError("rows must select at least one test row")
    feats = detector.features(np.asarray(X)[idx])  # (k, M, d)
    k, m, d = feats.shape
    flat = feats.reshape(k * m, d).astype(np.float64)  # row-major: point j = (row j // M, transform j % M)
    centres = np.asarray(detector.centers_, dtype=np.float64)  # (M, d)
    basis = centres if m >= 3 else flat
    mean = basis.mean(axis=0)
    _, s, vt = np.linalg.svd(basis - mean, full_matrices=False)
    axes = vt[:2]
    explained = float((s[:2] ** 2).sum() / max((s**2).sum(), 1e-30))

    def project(A: np.ndarray) -> np.ndarray:
        out = np.zeros((len(A), 2))
        out[:, : len(axes)] = (A - mean) @ axes.T
        return out

    sq = ((flat[:, None, :] - centres[None]) ** 2).sum(-1)  # (k * M, M) squared distances to every centre
    transform = np.tile(np.arange(m), k)
    own = sq.argmin(axis=1) == transform
    means, offset, spread = None, float("nan"), float("nan")
    if X_train is not None:
        train = detector.features(np.asarray(X_train)).astype(np.float64)  # (n, M, d)
        mu = train.mean(axis=0)  # (M, d)
        means = project(mu)
        offset = float(np.linalg.norm(centres - mu, axis=1).mean())
        spread = float(np.sqrt(((train - mu) ** 2).sum(-1).mean()))
    return CentreMap(
        points=project(flat),
        transform=transform,
        row=np.repeat(idx, m),
        centres=project(centres),
        explained=explained,
        own_centre=own,
        means=means,
        offset=offset,
        spread=spread,
    )


def transform_names(detector: GOAD) -> list[str]:
    """A short label per transformation of a fitted GOAD: ``'rot 90'`` ... or ``'W1'`` ... ``'WM'``."""
    tr = detector.transforms_
    if isinstance(tr, GeometricTransforms):
        return tr.names
    return [f"W{m + 1}" for m in range(tr.n_transforms)]


# ----------------------------------------------------------------------------- DROC
def scorer_grid(
    detector: DROC, test_features: Mapping[str, np.ndarray], is_anomaly: np.ndarray
) -> list[dict[str, Any]]:
    """AUROC / AUPRC / F1 of every stage-2 model on every feature space, from cached test features.

    ``test_features`` = ``detector.transform(X_test)``; nothing is retrained (each shallow model is
    fitted once on the cached training features). One row per (features, scorer).
    """
    rows = []
    for features in FEATURE_SPACES:
        for scorer in SCORERS:
            scores = detector.score_features(dict(test_features), scorer, features)
            rows.append({"features": features, "scorer": scorer, **evaluate(is_anomaly, scores)})
    return rows


# ----------------------------------------------------------------------------- CSI
def csi_variant_metrics(terms: Mapping[str, np.ndarray], is_anomaly: np.ndarray) -> dict[str, dict[str, float]]:
    """Metrics of each normality score CSI combines, negated into anomaly scores.

    ``terms`` = ``CSI.score_terms(X_test)``. Keys: ``s_con`` (the plain SimCLR-style score on the
    unrotated image), ``s_con_si``, ``s_cls_si`` and ``s_csi`` (their sum, the detector's score).
    """
    return {key: evaluate(is_anomaly, -np.asarray(terms[key])) for key in ("s_con", "s_con_si", "s_cls_si", "s_csi")}
