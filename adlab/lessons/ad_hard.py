"""Why anomaly detection is hard (the seminar's four reasons), measured on a 2-D toy in milliseconds.

Normal data is one Gaussian blob ``N(0, I)`` in 2-D. Anomalies come in three kinds, each a small blob of
its own (:data:`KINDS`): two are *seen* (a few of them are labelled in training), the third is *unseen*
(it appears only at test time: "새로운 이상 데이터"). Two detectors are fitted on the same training set:

* **supervised**: a logistic regression trained on normal (0) against the seen, labelled anomalies (1);
  its score is the predicted probability of "anomalous";
* **one-class**: fitted on the normal training data only; its score is the mean Euclidean distance to the
  ``k`` nearest normal training points (higher = more anomalous), the labels are not used.

Each is scored by AUROC on a test set of fresh normal points against (a) the seen kinds and (b) the unseen
kind. With few labelled anomalies (imbalance) the supervised model is unsure even of the seen kinds, and it
has no reason to flag the unseen kind, which lies on the "normal" side of its boundary; the one-class score
flags both, since it only asks how far a point is from the normal data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from adlab.metrics import auroc

__all__ = ["KINDS", "HardConfig", "HardResult", "run"]

# the anomaly kinds: (centre, spread); the last one is never seen in training
KINDS: tuple[tuple[tuple[float, float], float], ...] = (((4.0, 0.5), 0.5), ((3.5, 3.0), 0.4), ((-4.0, -1.0), 0.5))
SEEN = (0, 1)
UNSEEN = 2


@dataclass(frozen=True)
class HardConfig:
    """``n_normal`` normal training points; ``share`` the labelled anomalies' share of the training set
    (imbalance: 0.01 = one in a hundred); ``k`` the one-class score's neighbours; ``seed``."""

    n_normal: int = 400
    share: float = 0.02
    k: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_normal < 20:
            raise ValueError(f"n_normal must be >= 20, got {self.n_normal}")
        if not 0.0 < self.share < 0.5:
            raise ValueError(f"share must be in (0, 0.5), got {self.share}")
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")


@dataclass(frozen=True)
class HardResult:
    """The toy and both detectors' scores. ``train`` (N, 2) with ``train_kind`` (N,) (-1 normal, else the
    anomaly kind); ``test`` (M, 2) with ``test_kind`` (M,); ``supervised`` and ``one_class`` (M,) the test
    scores (higher = more anomalous); ``auroc[(detector, "seen" | "unseen")]``."""

    config: HardConfig
    train: np.ndarray
    train_kind: np.ndarray
    test: np.ndarray
    test_kind: np.ndarray
    supervised: np.ndarray
    one_class: np.ndarray
    auroc: dict[tuple[str, str], float]
    grid: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # xs, ys, supervised, one-class on the grid


def _blob(rng: np.random.Generator, centre: tuple[float, float], spread: float, n: int) -> np.ndarray:
    return np.asarray(centre) + spread * rng.standard_normal((n, 2))


def _knn_distance(points: np.ndarray, reference: np.ndarray, k: int) -> np.ndarray:
    d = np.sqrt(((points[:, None, :] - reference[None, :, :]) ** 2).sum(-1))  # (M, N)
    return np.sort(d, axis=1)[:, :k].mean(axis=1)


def run(config: HardConfig = HardConfig()) -> HardResult:
    """Draw the toy, fit both detectors, score the test set and a grid (for the figure's contours)."""
    rng = np.random.default_rng(config.seed)
    n_anom = max(2, round(config.share * config.n_normal / (1.0 - config.share)))
    normal = _blob(rng, (0.0, 0.0), 1.0, config.n_normal)
    per_kind = [n_anom // len(SEEN) + (i < n_anom % len(SEEN)) for i in range(len(SEEN))]
    seen = [_blob(rng, *KINDS[kind], n) for kind, n in zip(SEEN, per_kind, strict=True)]
    train = np.concatenate([normal, *seen])
    train_kind = np.concatenate([np.full(len(normal), -1), *[np.full(len(s), k) for k, s in zip(SEEN, seen,
                                                                                             strict=True)]])
    test_normal = _blob(rng, (0.0, 0.0), 1.0, 200)
    test_anom = [_blob(rng, *KINDS[kind], 40) for kind in range(len(KINDS))]
    test = np.concatenate([test_normal, *test_anom])
    test_kind = np.concatenate([np.full(200, -1), *[np.full(40, k) for k in range(len(KINDS))]])

    model = LogisticRegression(C=1.0, max_iter=1000).fit(train, (train_kind >= 0).astype(int))
    supervised = model.predict_proba(test)[:, 1]
    one_class = _knn_distance(test, normal, config.k)
    scores = {"supervised": supervised, "one_class": one_class}
    result_auroc = {}
    for name, score in scores.items():
        for group, kinds in (("seen", SEEN), ("unseen", (UNSEEN,))):
            keep = (test_kind == -1) | np.isin(test_kind, kinds)
            result_auroc[(name, group)] = float(auroc(test_kind[keep] >= 0, score[keep]))
    xs = np.linspace(-6.5, 6.5, 66)
    ys = np.linspace(-5.0, 6.0, 56)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    g_sup = model.predict_proba(grid)[:, 1].reshape(len(ys), len(xs))
    g_one = _knn_distance(grid, normal, config.k).reshape(len(ys), len(xs))
    return HardResult(config, train, train_kind, test, test_kind, supervised, one_class, result_auroc,
                      (xs, ys, g_sup, g_one))
