"""Two-dimensional toy datasets with planted anomalies, for pictures that can be read at a glance."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .types import DataError, Dataset

__all__ = ["TOY_NAMES", "make_toy"]

TOY_NAMES = ("blobs", "moons", "rings")
_CLASS_NAMES = {
    "blobs": ("blob 0", "blob 1", "blob 2"),
    "moons": ("upper moon", "lower moon"),
    "rings": ("inner ring", "outer ring"),
}
_MIN_GAP = 0.35  # an anomaly lies at least this far (standardised units) from every normal point
_BOX_PAD = 0.75  # anomalies are drawn in the normals' bounding box widened by this on each side


def make_toy(name: str = "blobs", n: int = 600, anomaly_fraction: float = 0.05, seed: int = 0) -> Dataset:
    """Make a 2-D toy dataset: normal classes ``0..k-1`` plus planted anomalies as the last class.

    ``blobs``: 3 Gaussian clusters; ``moons``: two interleaved half-circles; ``rings``: two
    concentric circles. The normal points are centred and divided by one common standard deviation
    (shape kept, scale about 1). ``round(n * anomaly_fraction)`` anomalies are drawn uniformly in the
    normals' bounding box widened by 0.75 and kept only when at least 0.35 away from every normal
    point; they form the class named ``"anomaly"`` (present in ``class_names`` even when empty).

    Returns a ``Dataset`` with ``X`` float32 ``(n, 2)``, ``y`` int64 ``(n,)``, rows shuffled, the same
    for the same ``seed``.
    """
    if name not in TOY_NAMES:
        raise ValueError(f"name must be one of {TOY_NAMES}, got {name!r}")
    if not isinstance(n, (int, np.integer)) or n < 20:
        raise ValueError(f"n must be an integer >= 20, got {n!r}")
    if not 0.0 <= anomaly_fraction < 0.5:
        raise ValueError(f"anomaly_fraction must lie in [0, 0.5), got {anomaly_fraction!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")

    rng = np.random.default_rng(int(seed))
    n_anomalies = int(round(n * anomaly_fraction))
    n_normal = int(n) - n_anomalies
    X_normal, y_normal = _NORMAL_MAKERS[name](n_normal, rng)
    X_normal = (X_normal - X_normal.mean(axis=0)) / X_normal.std()
    X_anomaly = _plant_anomalies(X_normal, n_anomalies, rng)

    k = len(_CLASS_NAMES[name])
    X = np.concatenate([X_normal, X_anomaly]).astype(np.float32)
    y = np.concatenate([y_normal, np.full(n_anomalies, k)]).astype(np.int64)
    order = rng.permutation(len(y))
    return Dataset(
        X=X[order], y=y[order], class_names=_CLASS_NAMES[name] + ("anomaly",), name=name, kind="tabular"
    )


def _split_counts(n: int, k: int) -> list[int]:
    """``n`` points shared as evenly as possible among ``k`` classes."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _blobs(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    angles = np.deg2rad([90.0, 210.0, 330.0])
    centres = 2.5 * np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (3, 2)
    parts = [centres[c] + 0.5 * rng.standard_normal((m, 2)) for c, m in enumerate(_split_counts(n, 3))]
    y = np.repeat(np.arange(3), _split_counts(n, 3))
    return np.concatenate(parts), y


def _moons(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # the two half-circles of sklearn.datasets.make_moons, with Gaussian noise 0.08
    m0, m1 = _split_counts(n, 2)
    t0 = rng.uniform(0.0, np.pi, m0)
    t1 = rng.uniform(0.0, np.pi, m1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    X = np.concatenate([upper, lower]) + 0.08 * rng.standard_normal((n, 2))
    return X, np.repeat(np.arange(2), [m0, m1])


def _rings(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    counts = _split_counts(n, 2)
    parts = []
    for radius, m in zip((1.0, 2.5), counts, strict=True):
        t = rng.uniform(0.0, 2.0 * np.pi, m)
        r = radius + 0.1 * rng.standard_normal(m)
        parts.append(np.stack([r * np.cos(t), r * np.sin(t)], axis=1))
    return np.concatenate(parts), np.repeat(np.arange(2), counts)


_NORMAL_MAKERS = {"blobs": _blobs, "moons": _moons, "rings": _rings}


def _plant_anomalies(X_normal: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` uniform points in the padded bounding box, each at least ``_MIN_GAP`` from the normals."""
    if m == 0:
        return np.empty((0, 2))
    low = X_normal.min(axis=0) - _BOX_PAD
    high = X_normal.max(axis=0) + _BOX_PAD
    tree = cKDTree(X_normal)
    kept: list[np.ndarray] = []
    n_kept = 0
    for _ in range(1000):
        candidates = rng.uniform(low, high, size=(max(4 * m, 64), 2))
        gap, _ = tree.query(candidates, k=1)
        good = candidates[gap >= _MIN_GAP]
        kept.append(good)
        n_kept += len(good)
        if n_kept >= m:
            return np.concatenate(kept)[:m]
    raise DataError.say("upload.toy.no_room")
