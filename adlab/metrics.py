"""Anomaly-detection metrics and the kNN feature scorer.

Convention: ``is_anomaly`` is a boolean (or 0/1) vector, True = anomaly; ``scores`` are real
numbers, higher = more anomalous. AUROC, average precision and F1 come from scikit-learn; this
module adds the input checks (both classes present, finite scores, equal lengths) and GOAD's
F1 protocol (Bergman & Hoshen, ICLR 2020). The kNN score measures with an
:class:`~adlab.distances.embedding.EmbeddingDistance`, the objects the losses use.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from adlab.distances.embedding import COSINE_DISTANCE, EMBEDDING_DISTANCES, EmbeddingDistance
from adlab.distances.search import k_nearest

__all__ = ["auroc", "auprc", "f1_at_contamination", "knn_score", "evaluate"]


def _check(is_anomaly: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return ``(labels bool (n,), scores float64 (n,))``."""
    labels = np.asarray(is_anomaly)
    values = np.asarray(scores)
    if labels.ndim != 1 or values.ndim != 1:
        raise ValueError(f"is_anomaly and scores must be 1-D, got shapes {labels.shape} and {values.shape}")
    if labels.shape[0] != values.shape[0]:
        raise ValueError(
            f"is_anomaly and scores must have the same length, got {labels.shape[0]} and {values.shape[0]}"
        )
    if labels.dtype != bool:
        if not np.isin(labels, (0, 1)).all():
            raise ValueError("is_anomaly must be boolean or 0/1 (1 = anomaly)")
        labels = labels.astype(bool)
    n_anomalies = int(labels.sum())
    if n_anomalies == 0 or n_anomalies == labels.size:
        raise ValueError(
            "AUROC needs both normal and anomalous test points; is_anomaly has "
            f"{labels.size - n_anomalies} normal and {n_anomalies} anomalous"
        )
    values = values.astype(np.float64)
    n_nan, n_inf = int(np.isnan(values).sum()), int(np.isinf(values).sum())
    if n_nan or n_inf:
        raise ValueError(f"scores contain {n_nan} NaN and {n_inf} inf values; every score must be finite")
    return labels, values


def auroc(is_anomaly: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: P(score of a random anomaly > score of a random normal).

    Ties count one half. ``is_anomaly`` (n,) bool, ``scores`` (n,) float. 1.0 = perfect ranking,
    0.5 = chance, 0.0 = perfectly reversed.
    """
    labels, values = _check(is_anomaly, scores)
    return float(roc_auc_score(labels, values))


def auprc(is_anomaly: np.ndarray, scores: np.ndarray) -> float:
    """Average precision ``AP = Σ_k (R_k − R_{k−1}) P_k`` over score thresholds (sklearn).

    The area under the precision-recall curve without interpolation; a random ranking gets
    about the anomaly fraction. ``is_anomaly`` (n,) bool, ``scores`` (n,) float.
    """
    labels, values = _check(is_anomaly, scores)
    return float(average_precision_score(labels, values))


def f1_at_contamination(
    is_anomaly: np.ndarray, scores: np.ndarray, contamination: float | None = None
) -> float:
    """F1 of the anomaly class when the top ``contamination`` fraction of scores is flagged.

    Threshold ``t = percentile(scores, 100·(1 − contamination))`` (linear interpolation) and
    prediction ``score ≥ t``: GOAD's protocol, where the percentile is the normal fraction of the
    test set. ``contamination`` defaults to the true anomaly fraction; it must lie in (0, 1).
    ``F1 = 2·P·R / (P + R)``, 0 when nothing is flagged correctly.
    """
    labels, values = _check(is_anomaly, scores)
    if contamination is None:
        contamination = float(labels.mean())
    if not 0.0 < float(contamination) < 1.0:
        raise ValueError(f"contamination must be in (0, 1), got {contamination!r}")
    threshold = np.percentile(values, 100.0 * (1.0 - float(contamination)))
    predicted = values >= threshold
    return float(f1_score(labels, predicted, zero_division=0))


def evaluate(is_anomaly: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """``{"auroc", "auprc", "f1"}`` for one score vector; F1 at the true contamination."""
    labels, values = _check(is_anomaly, scores)
    return {
        "auroc": auroc(labels, values),
        "auprc": auprc(labels, values),
        "f1": f1_at_contamination(labels, values),
    }


def _knn_distance(metric: str | EmbeddingDistance) -> EmbeddingDistance:
    """``metric`` as an :class:`EmbeddingDistance`; the name ``"cosine"`` keeps its old meaning here,
    the cosine *distance* ``1 - cos`` (``COSINE_DISTANCE``)."""
    if isinstance(metric, EmbeddingDistance):
        return metric
    if metric == "cosine":
        return COSINE_DISTANCE
    if isinstance(metric, str) and metric in EMBEDDING_DISTANCES:
        return EMBEDDING_DISTANCES[metric]
    raise ValueError(
        f"metric must be an EmbeddingDistance or one of {', '.join(map(repr, EMBEDDING_DISTANCES))} "
        f"('cosine' meaning 1 - cos), got {metric!r}"
    )


def knn_score(
    train_features: np.ndarray,
    test_features: np.ndarray,
    *,
    k: int = 5,
    metric: str | EmbeddingDistance = "cosine",
) -> np.ndarray:
    """Mean distance from each test feature to its ``k`` nearest training features.

    ``score(x) = (1/k) Σ_{j ∈ kNN(x)} d(x, t_j)`` for a distance ``d``, e.g. ``d = 1 − cos(x, t)``
    on L2-normalised features (``metric="cosine"`` or ``COSINE_DISTANCE``; a zero vector counts as
    cosine 0) or ``d = ‖x − t‖₂`` (``"euclidean"``). For a similarity ``s`` (``larger_is_closer``,
    e.g. ``COSINE``, ``DOT``) the neighbours are the ``k`` most similar and the score is
    ``−(1/k) Σ s(x, t_j)``, so higher stays more anomalous. train (n_train, d), test (n_test, d) ->
    (n_test,) float64. ``k`` is clipped to ``n_train``. Exact (brute force) search in float64 torch
    on the CPU, in blocks of test rows (:func:`adlab.distances.k_nearest`).
    """
    distance = _knn_distance(metric)
    train = np.ascontiguousarray(train_features, dtype=np.float64)
    test = np.ascontiguousarray(test_features, dtype=np.float64)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    for name, arr in (("train_features", train), ("test_features", test)):
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n, d), got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or inf values")
    if train.shape[0] < 1:
        raise ValueError("train_features must hold at least one row (n_train >= 1)")
    if train.shape[1] != test.shape[1]:
        raise ValueError(
            f"train_features and test_features must have the same width, got {train.shape[1]} and {test.shape[1]}"
        )
    if test.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    k = int(min(k, train.shape[0]))
    with torch.no_grad():
        near = k_nearest(distance, torch.from_numpy(test), torch.from_numpy(train), k)  # (n_test, k)
        mean = near.values.mean(dim=1)  # (n_test,)
    return (-mean if distance.larger_is_closer else mean).numpy()
