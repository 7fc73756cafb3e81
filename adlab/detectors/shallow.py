"""Shallow one-class models on fixed features: the second stage of two-stage detectors such as DROC.

Each scorer is a small estimator ``fit(F) -> self`` / ``score(F) -> (n,)`` on feature rows
``F`` of shape ``(n, d)``; **higher = more anomalous**, as everywhere in adlab. A deep detector
composes one of them with its encoder (as PyOD's ``EmbeddingOD`` composes an embedding with a
shallow detector), so the scorer can be swapped without retraining the encoder.

By default every scorer L2-normalises the rows first (``normalize=True``), the setting of Sohn et
al. (ICLR 2021, official code ``google-research/deep_representation_one_class``, ``util/train.py``
``eval_embed``): on unit vectors ``||f - t||^2 = 2 - 2 cos(f, t)``, so every kernel below is a
function of cosine similarity. The bandwidth is theirs too:

.. math:: \\gamma = \\frac{10}{\\operatorname{Var}(F_{train}) \\cdot d}

with ``Var`` the (population) variance of all ``n * d`` entries of the normalised training
features (``tf.math.reduce_variance`` without an axis), ten times scikit-learn's ``"scale"`` rule.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import logsumexp
from sklearn.covariance import ledoit_wolf_shrinkage
from sklearn.svm import OneClassSVM

__all__ = [
    "SCORERS",
    "GaussianScorer",
    "KDEScorer",
    "KNNScorer",
    "OCSVMScorer",
    "ShallowScorer",
    "gamma_rule",
    "make_scorer",
]

_EPS = 1e-12
_CHUNK = 1024  # test rows per block in the (n_test, n_train) similarity computations


def _check_features(F: Any, name: str = "F", *, width: int | None = None, min_rows: int = 1) -> np.ndarray:
    """Validate feature rows: 2-D (n, d), finite; returned as float64."""
    F = np.asarray(F, dtype=np.float64)
    if F.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n, d), got shape {F.shape}")
    if len(F) < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got {len(F)}")
    if not np.isfinite(F).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    if width is not None and F.shape[1] != width:
        raise ValueError(f"{name} must have {width} columns as in fit, got {F.shape[1]}")
    return F


def _l2_normalize(F: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm (a zero row stays zero)."""
    norm = np.linalg.norm(F, axis=1, keepdims=True)
    return F / np.maximum(norm, _EPS)


def gamma_rule(F: np.ndarray) -> float:
    """DROC's bandwidth ``gamma = 10 / (Var(F) * d)`` for (already normalised) training rows ``F`` (n, d)."""
    F = np.asarray(F, dtype=np.float64)
    return float(10.0 / (max(float(F.var()), _EPS) * F.shape[1]))


class ShallowScorer:
    """Base class: input checks, optional L2 normalisation, ``fit`` / ``score`` / ``get_params``.

    Subclasses implement ``_fit(F)`` and ``_score(F)`` on prepared (float64, maybe normalised)
    rows. Learned state: ``n_features_in_`` and what the subclass adds (names end in ``_``).
    """

    name: ClassVar[str] = "shallow"

    def __init__(self, *, normalize: bool = True) -> None:
        self.normalize = normalize

    def get_params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _prepare(self, F: np.ndarray) -> np.ndarray:
        return _l2_normalize(F) if self.normalize else F

    def fit(self, F: np.ndarray) -> ShallowScorer:
        """Fit on normal feature rows ``F`` (n, d); returns ``self``."""
        F = _check_features(F, min_rows=2)
        self.n_features_in_ = F.shape[1]
        self._fit(self._prepare(F))
        return self

    def score(self, F: np.ndarray) -> np.ndarray:
        """Anomaly scores (n,) float64 of feature rows ``F`` (n, d); higher = more anomalous."""
        if not hasattr(self, "n_features_in_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet; call fit(F) first")
        F = _check_features(F, width=self.n_features_in_, min_rows=0)
        if len(F) == 0:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(self._score(self._prepare(F)), dtype=np.float64).reshape(-1)

    def _fit(self, F: np.ndarray) -> None:
        raise NotImplementedError

    def _score(self, F: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def _check_gamma(gamma: float | None) -> None:
    if gamma is not None and not (isinstance(gamma, (int, float)) and np.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma must be None (DROC's rule) or a positive number, got {gamma!r}")


class KDEScorer(ShallowScorer):
    """Gaussian kernel density on the training rows ``t_i``, as a negative log-density.

    With unit rows, ``exp(-gamma ||f - t_i||^2) = exp(-2 gamma) exp(2 gamma cos(f, t_i))``; DROC
    drops the constant and scales by ``1 / gamma``:

    .. math:: s(f) = -\\frac{1}{\\gamma} \\log \\sum_i \\exp(2 \\gamma \\cos(f, t_i))

    (``-log KDE(f) / gamma`` up to an additive constant). ``gamma=None``: :func:`gamma_rule`.
    Without normalisation the exact ``-log sum_i exp(-gamma ||f - t_i||^2) / gamma`` is used.
    Learned: ``train_`` (n, d), ``gamma_``.
    """

    name: ClassVar[str] = "kde"

    def __init__(self, *, gamma: float | None = None, normalize: bool = True) -> None:
        super().__init__(normalize=normalize)
        _check_gamma(gamma)
        self.gamma = gamma

    def _fit(self, F: np.ndarray) -> None:
        self.train_ = F
        self.gamma_ = float(self.gamma) if self.gamma is not None else gamma_rule(F)

    def _score(self, F: np.ndarray) -> np.ndarray:
        g, out = self.gamma_, []
        sq_train = (self.train_**2).sum(1)  # (n_train,)
        for start in range(0, len(F), _CHUNK):
            block = F[start : start + _CHUNK]  # (b, d)
            dot = block @ self.train_.T  # (b, n_train)
            if self.normalize:
                logits = 2.0 * g * dot
            else:
                logits = -g * ((block**2).sum(1)[:, None] + sq_train[None] - 2.0 * dot)
            out.append(-logsumexp(logits, axis=1) / g)
        return np.concatenate(out)


class OCSVMScorer(ShallowScorer):
    """One-class SVM (Schoelkopf et al. 2001) with the RBF kernel ``exp(-gamma ||f - t||^2)``.

    ``gamma=None``: :func:`gamma_rule` (DROC); ``nu`` = 0.5 (scikit-learn's default, which the
    official code keeps). ``s(f) = -score_samples(f)``, minus the SVM's decision value plus offset.
    Learned: ``svm_`` (a fitted ``sklearn.svm.OneClassSVM``), ``gamma_``.
    """

    name: ClassVar[str] = "ocsvm"

    def __init__(self, *, gamma: float | None = None, nu: float = 0.5, normalize: bool = True) -> None:
        super().__init__(normalize=normalize)
        _check_gamma(gamma)
        if not 0.0 < nu <= 1.0:
            raise ValueError(f"nu must lie in (0, 1], got {nu!r}")
        self.gamma = gamma
        self.nu = nu

    def _fit(self, F: np.ndarray) -> None:
        self.gamma_ = float(self.gamma) if self.gamma is not None else gamma_rule(F)
        self.svm_ = OneClassSVM(kernel="rbf", gamma=self.gamma_, nu=self.nu).fit(F)

    def _score(self, F: np.ndarray) -> np.ndarray:
        return -self.svm_.score_samples(F)


class GaussianScorer(ShallowScorer):
    """One Gaussian ``N(mu, Sigma)`` fitted to the training rows; score = negative log-density.

    .. math:: s(f) = \\tfrac12 (f - \\mu)^T \\Sigma^{-1} (f - \\mu) + \\tfrac12 \\log\\det \\Sigma
              + \\tfrac d2 \\log 2\\pi

    (half the squared Mahalanobis distance plus a constant). ``Sigma = (1 - a) S + a (tr S / d) I``
    shrinks the sample covariance ``S`` towards a scaled identity: ``shrinkage="ledoit-wolf"``
    picks ``a`` by Ledoit & Wolf (2004), a float sets it. Unit-normalised features have a nearly
    singular ``S`` (they lie on a sphere); the official code fits a one-component
    ``GaussianMixture`` whose ``reg_covar = 1e-6`` ridge is a much weaker guard, which shrinkage
    replaces here. Learned: ``mean_`` (d,), ``covariance_`` (d, d), ``shrinkage_``.
    """

    name: ClassVar[str] = "gaussian"

    def __init__(self, *, shrinkage: float | str = "ledoit-wolf", normalize: bool = True) -> None:
        super().__init__(normalize=normalize)
        if not (shrinkage == "ledoit-wolf" or (isinstance(shrinkage, (int, float)) and 0.0 <= shrinkage <= 1.0)):
            raise ValueError(f"shrinkage must be 'ledoit-wolf' or a number in [0, 1], got {shrinkage!r}")
        self.shrinkage = shrinkage

    def _fit(self, F: np.ndarray) -> None:
        d = F.shape[1]
        self.mean_ = F.mean(axis=0)
        centred = F - self.mean_
        S = centred.T @ centred / len(F)  # (d, d)
        if self.shrinkage == "ledoit-wolf":
            a = float(ledoit_wolf_shrinkage(centred, assume_centered=True))
        else:
            a = float(self.shrinkage)
        scale = max(float(np.trace(S)) / d, _EPS)
        self.shrinkage_ = a
        self.covariance_ = (1.0 - a) * S + a * scale * np.eye(d) + _EPS * scale * np.eye(d)
        self._chol = np.linalg.cholesky(self.covariance_)  # (d, d) lower
        self._logdet = 2.0 * float(np.log(np.diag(self._chol)).sum())

    def _score(self, F: np.ndarray) -> np.ndarray:
        if not hasattr(self, "_chol"):  # restored without _fit's private state
            self._chol = np.linalg.cholesky(self.covariance_)
            self._logdet = 2.0 * float(np.log(np.diag(self._chol)).sum())
        white = np.linalg.solve(self._chol, (F - self.mean_).T)  # (d, n): L^-1 (f - mu)
        maha = (white**2).sum(axis=0)  # (n,)
        d = F.shape[1]
        return 0.5 * (maha + self._logdet + d * np.log(2.0 * np.pi))


class KNNScorer(ShallowScorer):
    """Cosine distance to the ``k`` nearest training rows: ``s(f) = 1 - mean_{j<=k} cos(f, t_(j))``.

    ``k = 1`` is DROC's nearest-neighbour score (``1 - max_i cos``). With ``normalize=False``
    the rows are still compared by cosine (the dot product of normalised copies).
    Learned: ``train_`` (n, d) unit rows.
    """

    name: ClassVar[str] = "knn"

    def __init__(self, *, k: int = 1, normalize: bool = True) -> None:
        super().__init__(normalize=normalize)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be an integer >= 1, got {k!r}")
        self.k = int(k)

    def _fit(self, F: np.ndarray) -> None:
        self.train_ = _l2_normalize(F)

    def _score(self, F: np.ndarray) -> np.ndarray:
        F = _l2_normalize(F)
        k = min(self.k, len(self.train_))
        out = []
        for start in range(0, len(F), _CHUNK):
            sim = F[start : start + _CHUNK] @ self.train_.T  # (b, n_train)
            top = -np.partition(-sim, k - 1, axis=1)[:, :k]  # (b, k) largest similarities
            out.append(1.0 - top.mean(axis=1))
        return np.concatenate(out)


_CLASSES: dict[str, type[ShallowScorer]] = {
    cls.name: cls for cls in (KDEScorer, OCSVMScorer, GaussianScorer, KNNScorer)
}
SCORERS: tuple[str, ...] = tuple(_CLASSES)


def make_scorer(name: str, **params: Any) -> ShallowScorer:
    """A new, unfitted scorer by name: ``"kde"``, ``"ocsvm"``, ``"gaussian"`` or ``"knn"``."""
    if name not in _CLASSES:
        raise ValueError(f"scorer must be one of {SCORERS}, got {name!r}")
    return _CLASSES[name](**params)
