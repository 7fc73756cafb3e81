"""Run one anomaly detector on a one-class split and collect everything a page shows.

One call, :func:`run_detector`, does what every detector page and the Compare page need: build the
detector from a :class:`MethodSpec` (method name + hyperparameters), ``fit`` it on the normal
training rows with the page's progress callbacks, score the test rows, compute AUROC / AUPRC / F1
(:func:`adlab.metrics.evaluate`), time the fit and the scoring, and embed the test rows *before*
and *after* training for the UMAP pair.

"Before" is the detector's explicit untrained baseline, :meth:`DeepDetector.fit_untrained`: the
same seed and therefore the same initial weights, zero optimisation steps, everything else a fit
computes (Deep SVDD's centre, GOAD's centres, DROC's stage-2 model, CSI's feature bank) computed on
the initial network; each class's ``untrained_note`` says what that means for it. The untrained
detector thus scores as well as embeds (``scores_before``). Shallow baselines have no "before":
their features are the (flattened, maybe standardised) inputs.

Which methods exist, their labels, the data they take and their quick settings come from
:mod:`adlab.registry` when asked (:func:`methods`, :func:`label`, :func:`applicable`,
:func:`quick_params`), never from a list kept here. The per-method views (Deep SVDD's sphere,
GOAD's centre map, DROC's scorer grid, CSI's score terms) are in :mod:`adlab.views`. No streamlit
here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from adlab import registry
from adlab.data import Split
from adlab.detectors.base import Detector
from adlab.metrics import evaluate
from adlab.train import Callback, History

__all__ = [
    "KIND_WORDS",
    "DetectorRun",
    "MethodSpec",
    "UnlabelledRun",
    "applicable",
    "balanced_rows",
    "group_identical",
    "is_deep",
    "label",
    "methods",
    "mnist_sized",
    "not_applicable",
    "quick_params",
    "run_detector",
    "score_unlabelled",
    "summary_rows",
    "untrained",
]


def methods(kind: str | None = None, family: str | None = None) -> tuple[str, ...]:
    """Names of the registered detectors, in registry order; only those taking data of ``kind``
    (``"image"`` / ``"tabular"``) and of ``family`` (``"deep"`` / ``"baseline"``) when given."""
    return registry.detector_names(kind=kind, family=family)


def label(method: str) -> str:
    """What a person reads for ``method``: its class's ``label`` (``ValueError`` for an unknown name)."""
    return registry.detector(method).label


def is_deep(method: str) -> bool:
    """Whether ``method`` trains a network (family ``"deep"``: it has an untrained baseline)."""
    return registry.detector(method).family == "deep"


def _check_kind(kind: str) -> None:
    if kind not in registry.DATA_KINDS:
        raise ValueError(f"kind must be one of {', '.join(registry.DATA_KINDS)}, got {kind!r}")


def applicable(method: str, kind: str) -> bool:
    """Whether ``method`` runs on data of ``kind`` ("image" or "tabular"), by its class's ``kinds``."""
    cls = registry.detector(method)
    _check_kind(kind)
    return kind in cls.kinds


#: how a message names the data of each kind
KIND_WORDS: dict[str, str] = {"image": "images", "tabular": "tabular rows"}


def not_applicable(method: str, kind: str, *, holder: str = "these are", hint: str = "") -> ValueError:
    """The error for ``method`` on data of ``kind`` it does not take, e.g. "CSI works on images only;
    these are tabular rows" (``holder`` names what holds the data; ``hint`` is appended)."""
    cls = registry.detector(method)
    takes = " and ".join(KIND_WORDS[k] for k in cls.kinds)
    return ValueError(f"{cls.label} works on {takes} only; {holder} {KIND_WORDS[kind]}{hint}")


def mnist_sized(input_shape: Sequence[int] | None) -> bool:
    """Whether one input of shape ``(C, H, W)`` is a grey image of MNIST size (``C == 1``, side >= 20)."""
    return input_shape is not None and len(input_shape) == 3 and input_shape[0] == 1 and min(input_shape[1:]) >= 20


def quick_params(method: str, kind: str, input_shape: Sequence[int] | None = None) -> dict[str, Any]:
    """The quick hyperparameters the pages start from (a copy; the detector's defaults fill the rest).

    ``cls.quick[kind]``; grey images of MNIST size (:func:`mnist_sized` of ``input_shape``, one
    input such as ``(1, 28, 28)``) are updated with the class's ``presets["mnist"]`` where it has one
    (DROC and CSI: the settings their one-class MNIST benchmarks chose; on MNIST class 8 from the
    CLI, seed 0, DROC AUROC 0.963 in 7.5 s instead of 0.939 in 17 s, CSI 0.918 in 8.8 s instead of
    0.870 in 18 s). Raises ``ValueError`` when ``method`` does not run on ``kind`` (CSI on rows).
    """
    if not applicable(method, kind):
        raise not_applicable(method, kind)
    cls = registry.detector(method)
    params = dict(cls.quick.get(kind, {}))
    if kind == "image" and mnist_sized(input_shape):
        params.update(cls.presets.get("mnist", {}))
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
        valid = set(registry.detector(self.method)._param_names())
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
        if seed is not None and "seed" in registry.detector(method)._param_names():
            params["seed"] = seed
        return cls.of(method, **params)

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def label(self) -> str:
        return label(self.method)

    def build(self, device: str | None = None) -> Detector:
        """A new, unfitted detector; ``device`` (when given) overrides the spec's for deep detectors."""
        cls = registry.detector(self.method)
        kwargs = self.kwargs
        if device is not None and "device" in cls._param_names():
            kwargs["device"] = device
        return cls(**kwargs)


def untrained(spec: MethodSpec, X_train: np.ndarray, *, device: str | None = None) -> Detector:
    """The detector of ``spec`` before training: :meth:`DeepDetector.fit_untrained` on ``X_train``.

    The same seed gives the same initial weights as a real fit; no optimisation step is taken; the
    rest of the fit (centres, feature bank, stage-2 model, standardisation) runs on the initial
    network (each class's ``untrained_note``). Shallow baselines have nothing to train: ``ValueError``.
    """
    if not is_deep(spec.method):
        raise ValueError(f"method {spec.method!r} is not a deep detector; it has no untrained state")
    return spec.build(device).fit_untrained(X_train)


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
        other = [k for k in registry.DATA_KINDS if k != split.kind]
        raise not_applicable(spec.method, split.kind, holder=f"{split.dataset} holds",
                             hint=f". Pick a dataset of {KIND_WORDS[other[0]]}." if other else "")
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
    if not is_deep(spec.method):
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
    cancel: threading.Event | None = None,
) -> UnlabelledRun:
    """Fit ``spec`` on up to ``max_train`` rows of ``X`` drawn with ``seed`` and score every row.

    Without labels every row counts as normal while fitting, so anomalies in the data (the ones one
    hopes to find) are trained on too. How much that hurts depends on the method and on how many
    there are: on a table with one row in eight anomalous, Isolation Forest still ranked them first
    while GOAD learned them as normal (tests/test_pages_upload.py). ``X`` (n, d) or (n, C, H, W).
    ``callbacks`` / ``cancel`` go to the fit, as in :func:`run_detector`.
    """
    kind = "image" if np.asarray(X).ndim == 4 else "tabular"
    if not applicable(spec.method, kind):
        raise not_applicable(spec.method, kind)
    rng = np.random.default_rng(int(seed))
    n = len(X)
    train_index = np.sort(rng.permutation(n)[: min(max_train, n)])
    sample_index = np.sort(rng.permutation(n)[: min(max_sample, n)])
    det = spec.build(device)
    start = time.perf_counter()
    det.fit(X[train_index], callbacks=callbacks, cancel=cancel)
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
