"""Shallow baselines on the raw (flattened) inputs: k nearest neighbours, Isolation Forest, OC-SVM.

They are the yardstick every deep detector on a page is compared with. Images ``(n, C, H, W)`` are
flattened to ``(n, C*H*W)``. Standardisation (z-scoring each column with the training mean and
standard deviation; constant columns keep scale 1) is applied where the method depends on the
scale of each column and only to tabular inputs:

* kNN and OC-SVM (distances / an RBF kernel): tabular inputs are z-scored, images are used as given
  (pixels already share one scale in ``[0, 1]``; z-scoring would blow up nearly constant border pixels);
* Isolation Forest: never (its random axis-parallel splits do not change under a per-column rescaling).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.svm import OneClassSVM

from adlab.detectors.base import Detector, check_X
from adlab.detectors.scaling import zscore_stats
from adlab.metrics import knn_score
from adlab.train import Callback

__all__ = ["IsolationForestDetector", "KNNDetector", "OCSVMDetector"]


class _ShallowDetector(Detector):
    """Shared input handling: flatten, optionally z-score tabular inputs with training statistics.

    Learned: ``input_shape_`` (row shape seen in ``fit``), ``mean_`` / ``scale_`` ((d,) arrays, or
    ``None`` when no standardisation applies).
    """

    family: ClassVar[str] = "baseline"
    kinds: ClassVar[tuple[str, ...]] = ("image", "tabular")
    _uses_scale: ClassVar[bool] = True  # does the method depend on per-column scale?

    def _prepare_fit(self, X: np.ndarray) -> np.ndarray:
        X = check_X(X, min_rows=2)
        self.input_shape_ = tuple(X.shape[1:])
        flat = X.reshape(len(X), -1)
        if self._uses_scale and getattr(self, "standardize", False) and X.ndim == 2:
            self.mean_, self.scale_ = zscore_stats(flat)
        else:
            self.mean_, self.scale_ = None, None
        return self._transform(flat)

    def _transform(self, flat: np.ndarray) -> np.ndarray:
        if self.mean_ is None:
            return flat
        return ((flat - self.mean_) / self.scale_).astype(np.float32)

    def _prepare(self, X: np.ndarray) -> np.ndarray:
        if tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"X rows must have shape {self.input_shape_} as in fit, got {tuple(X.shape[1:])}"
            )
        return self._transform(X.reshape(len(X), -1))

    def embed(self, X: np.ndarray) -> np.ndarray:
        """The inputs as the method sees them: flattened and, where it applies, standardised (n, d)."""
        self._check_fitted()
        return self._prepare(check_X(X))


class KNNDetector(_ShallowDetector):
    """k-nearest-neighbour distance: ``s(x) = 1/k * sum_{j=1..k} d(x, NN_j(x))`` over the training rows.

    ``d`` is Euclidean (``metric="euclidean"``) or cosine distance ``1 - cos`` (``metric="cosine"``) on
    the flattened, standardised (tabular only) inputs; higher = farther from the training data =
    more anomalous. A training row scored again finds itself at distance 0 among its neighbours.
    The search is :func:`adlab.metrics.knn_score` (exact, on the :mod:`adlab.distances` objects, the
    same as the loss pages' score). Learned: ``train_`` (n_train, d).
    """

    name: ClassVar[str] = "knn"
    label: ClassVar[str] = "kNN (raw input)"

    def __init__(self, *, k: int = 5, metric: str = "euclidean", standardize: bool = True) -> None:
        self.k = k
        self.metric = metric
        self.standardize = standardize

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        *,
        callbacks: Sequence[Callback] = (),
        cancel: threading.Event | None = None,
    ) -> KNNDetector:
        if not isinstance(self.k, int) or isinstance(self.k, bool) or self.k < 1:
            raise ValueError(f"k must be a positive integer, got {self.k!r}")
        if self.metric not in ("euclidean", "cosine"):
            raise ValueError(f"metric must be 'euclidean' or 'cosine', got {self.metric!r}")
        Z = self._prepare_fit(X)
        if self.k > len(Z):
            raise ValueError(f"k={self.k} exceeds the {len(Z)} training rows; lower k")
        self.train_ = Z
        return self

    def _score(self, X: np.ndarray) -> np.ndarray:
        return knn_score(self.train_, self._prepare(X), k=self.k, metric=self.metric)  # (n,)


class IsolationForestDetector(_ShallowDetector):
    """Isolation Forest (Liu, Ting, Zhou, ICDM 2008) via scikit-learn.

    Anomalies are isolated by fewer random axis-parallel splits; scikit-learn's ``score_samples`` is
    ``-2^(-E[h(x)] / c(psi))`` (higher = more normal), so ``s(x) = -score_samples(x)`` lies in
    ``(0, 1]`` with higher = more anomalous. No standardisation (scale-free). Learned: ``forest_``.
    """

    name: ClassVar[str] = "iforest"
    label: ClassVar[str] = "Isolation Forest (raw input)"
    _uses_scale: ClassVar[bool] = False

    def __init__(self, *, n_estimators: int = 100, max_samples: int | str = "auto", seed: int = 0) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.seed = seed

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        *,
        callbacks: Sequence[Callback] = (),
        cancel: threading.Event | None = None,
    ) -> IsolationForestDetector:
        if not isinstance(self.n_estimators, int) or self.n_estimators < 1:
            raise ValueError(f"n_estimators must be a positive integer, got {self.n_estimators!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        Z = self._prepare_fit(X)
        forest = IsolationForest(
            n_estimators=self.n_estimators, max_samples=self.max_samples, random_state=self.seed, n_jobs=1
        )
        try:
            self.forest_ = forest.fit(Z)
        except ValueError as exc:
            raise ValueError(f"max_samples: {exc}") from None
        return self

    def _score(self, X: np.ndarray) -> np.ndarray:
        return -self.forest_.score_samples(self._prepare(X))


class OCSVMDetector(_ShallowDetector):
    """One-class SVM (Schoelkopf et al., Neural Computation 2001) with an RBF kernel, via scikit-learn.

    ``k(x, x') = exp(-gamma ||x - x'||^2)``; ``gamma="scale"`` means ``1 / (d * Var(X_train))``.
    ``nu`` bounds the fraction of training rows outside the boundary (and from below the fraction
    of support vectors). ``decision_function(x) = sum_i alpha_i k(x_i, x) - rho`` is positive inside,
    so ``s(x) = -decision_function(x)`` (higher = more anomalous, > 0 outside the boundary). Tabular
    inputs are z-scored. Learned: ``svm_``.
    """

    name: ClassVar[str] = "ocsvm"
    label: ClassVar[str] = "OC-SVM (raw input)"

    def __init__(self, *, nu: float = 0.1, gamma: float | str = "scale", standardize: bool = True) -> None:
        self.nu = nu
        self.gamma = gamma
        self.standardize = standardize

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        *,
        callbacks: Sequence[Callback] = (),
        cancel: threading.Event | None = None,
    ) -> OCSVMDetector:
        if not 0.0 < self.nu <= 1.0:
            raise ValueError(f"nu must lie in (0, 1], got {self.nu!r}")
        if isinstance(self.gamma, str):
            if self.gamma not in ("scale", "auto"):
                raise ValueError(f"gamma must be 'scale', 'auto' or a positive number, got {self.gamma!r}")
        elif not self.gamma > 0:
            raise ValueError(f"gamma must be 'scale', 'auto' or a positive number, got {self.gamma!r}")
        Z = self._prepare_fit(X)
        self.svm_ = OneClassSVM(kernel="rbf", nu=self.nu, gamma=self.gamma).fit(Z)
        return self

    def _score(self, X: np.ndarray) -> np.ndarray:
        return -self.svm_.decision_function(self._prepare(X))
