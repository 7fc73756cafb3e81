"""Per-method views the detector pages draw: numbers computed from a fitted detector, no plotting.

:func:`sphere_coordinates` (Deep SVDD's hypersphere), :func:`goad_centre_map` and
:func:`transform_names` (GOAD's centres), :func:`scorer_grid` (DROC's stage-2 choices),
:func:`csi_variant_metrics` (CSI's score terms). No streamlit here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from adlab.detectors.droc import DROC, FEATURE_SPACES
from adlab.detectors.goad import GOAD, GeometricTransforms
from adlab.detectors.shallow import SCORERS
from adlab.metrics import evaluate

__all__ = [
    "CentreMap",
    "csi_variant_metrics",
    "goad_centre_map",
    "scorer_grid",
    "sphere_coordinates",
    "transform_names",
]


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
