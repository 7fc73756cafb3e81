"""Metrics on hand-made cases whose values can be worked out on paper."""

import math

import numpy as np
import pytest

from adlab.distances import COSINE, COSINE_DISTANCE, DOT, EUCLIDEAN, SQUARED_EUCLIDEAN
from adlab.metrics import auprc, auroc, evaluate, f1_at_contamination, knn_score

LABELS = np.array([0, 0, 0, 1, 1], dtype=bool)


def test_perfect_ranking_scores_one():
    scores = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    assert auroc(LABELS, scores) == 1.0
    assert auprc(LABELS, scores) == 1.0
    assert f1_at_contamination(LABELS, scores) == 1.0
    assert evaluate(LABELS, scores) == {"auroc": 1.0, "auprc": 1.0, "f1": 1.0}


def test_reversed_ranking_scores_zero_auroc():
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    assert auroc(LABELS, scores) == 0.0
    assert f1_at_contamination(LABELS, scores) == 0.0


def test_constant_scores_are_chance():
    assert auroc(LABELS, np.zeros(5)) == 0.5


def test_auprc_worked_example():
    # Ranked by score: 0.8 (anomaly) P=1 R=1/2; 0.4 (normal); 0.35 (anomaly) P=2/3 R=1.
    # AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
    labels = np.array([0, 0, 1, 1])
    assert auprc(labels, np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(5 / 6)
    assert auroc(labels, np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)


def test_f1_at_contamination_worked_example():
    normal = [0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.95]
    anomaly = [0.9, 0.5]
    scores = np.array(normal + anomaly)
    labels = np.array([False] * 8 + [True] * 2)
    # Default contamination 0.2 -> threshold at the 80th percentile -> the top 2 are flagged:
    # 0.95 (normal) and 0.9 (anomaly): P = R = 1/2, F1 = 1/2.
    assert f1_at_contamination(labels, scores) == pytest.approx(0.5)
    # Contamination 0.5 flags the top 5: both anomalies and 3 normals: P = 2/5, R = 1.
    assert f1_at_contamination(labels, scores, 0.5) == pytest.approx(2 * 0.4 / 1.4)


def test_integer_labels_accepted():
    assert auroc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]) == 1.0


@pytest.mark.parametrize(
    ("labels", "scores", "match"),
    [
        ([0, 0, 0], [0.1, 0.2, 0.3], "both normal and anomalous"),
        ([1, 1], [0.1, 0.2], "both normal and anomalous"),
        ([0, 1, 0], [0.1, np.nan, 0.3], "NaN"),
        ([0, 1, 0], [0.1, np.inf, 0.3], "inf"),
        ([0, 1, 0], [0.1, 0.2], "same length"),
        ([0, 2, 1], [0.1, 0.2, 0.3], "0/1"),
    ],
)
def test_bad_inputs_raise(labels, scores, match):
    for fn in (auroc, auprc, f1_at_contamination, evaluate):
        with pytest.raises(ValueError, match=match):
            fn(np.array(labels), np.array(scores))


@pytest.mark.parametrize("contamination", [0.0, 1.0, -0.1, 1.5])
def test_contamination_out_of_range(contamination):
    with pytest.raises(ValueError, match="contamination"):
        f1_at_contamination(LABELS, np.arange(5.0), contamination)


def test_knn_euclidean_hand_placed():
    train = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    test = np.array([[0.0, 0.0], [3.0, 4.0]])
    # (3, 4) is sqrt(18), sqrt(20) and 5 away from (0, 1), (1, 0), (0, 0).
    np.testing.assert_allclose(
        knn_score(train, test, k=1, metric="euclidean"), [0.0, math.sqrt(18)], atol=1e-7
    )
    np.testing.assert_allclose(
        knn_score(train, test, k=2, metric="euclidean"), [0.5, (math.sqrt(18) + math.sqrt(20)) / 2], atol=1e-7
    )
    # k larger than the training set is clipped to n_train = 3.
    np.testing.assert_allclose(
        knn_score(train, test, k=10, metric="euclidean"),
        [2 / 3, (math.sqrt(18) + math.sqrt(20) + 5) / 3],
        atol=1e-7,
    )


def test_knn_cosine_hand_placed():
    train = np.array([[1.0, 0.0], [0.0, 1.0]])
    test = np.array([[2.0, 0.0], [1.0, 1.0], [-1.0, 0.0], [0.0, 0.0]])
    # 1 - cos: (2,0) -> 0 and 1; (1,1) -> 1 - 1/sqrt2 twice; (-1,0) -> 2 and 1; zero vector -> 1 and 1.
    half = 1 - 1 / math.sqrt(2)
    np.testing.assert_allclose(knn_score(train, test, k=1), [0.0, half, 1.0, 1.0], atol=1e-7)
    np.testing.assert_allclose(knn_score(train, test, k=2), [0.5, half, 1.5, 1.0], atol=1e-7)
    # cosine ignores length
    np.testing.assert_allclose(knn_score(5 * train, 0.1 * test, k=2), knn_score(train, test, k=2), atol=1e-7)


def _naive_knn(train, test, k, d):
    """Loop over test points, sort every distance, average the k smallest."""
    return np.array([np.mean(sorted(d(x, t) for t in train)[:k]) for x in test])


def test_knn_matches_a_naive_loop_for_each_distance_and_name():
    rng = np.random.default_rng(1)
    train, test = rng.normal(size=(40, 3)), rng.normal(size=(15, 3))
    train[0], test[0] = 0.0, 0.0  # zero vectors: cosine 0 with everything
    test[1] = 4.0 * train[5]  # same direction as a training point: cosine distance 0

    def cos_dist(x, t):
        nx, nt = np.linalg.norm(x), np.linalg.norm(t)
        return 1.0 - (x @ t / (nx * nt) if nx > 0 and nt > 0 else 0.0)

    def euclid(x, t):
        return float(np.sqrt(np.sum((x - t) ** 2)))

    for k in (1, 4, 40):
        cos_expected = _naive_knn(train, test, k, cos_dist)
        for metric in ("cosine", "cosine_distance", COSINE_DISTANCE):
            np.testing.assert_allclose(knn_score(train, test, k=k, metric=metric), cos_expected, atol=1e-12)
        for metric in ("euclidean", EUCLIDEAN):
            np.testing.assert_allclose(knn_score(train, test, k=k, metric=metric), _naive_knn(train, test, k, euclid),
                                       atol=1e-12)
        np.testing.assert_allclose(knn_score(train, test, k=k, metric=SQUARED_EUCLIDEAN),
                                   _naive_knn(train, test, k, lambda x, t: euclid(x, t) ** 2), atol=1e-10)
    assert knn_score(train, test, k=1)[1] == pytest.approx(0.0, abs=1e-12)


def test_knn_with_a_similarity_scores_minus_the_mean_similarity():
    train = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    test = np.array([[2.0, 0.0], [-1.0, 0.0]])
    # COSINE: the most similar first. (2, 0): cos 1, then cos 45 = 0.7071; (-1, 0): cos 0, then -0.7071.
    r = math.sqrt(0.5)
    np.testing.assert_allclose(knn_score(train, test, k=2, metric=COSINE), [-(1 + r) / 2, -(0 - r) / 2], atol=1e-12)
    np.testing.assert_allclose(knn_score(train, test, k=2, metric=COSINE), knn_score(train, test, k=2) - 1.0,
                               atol=1e-12)
    # DOT: (2, 0) . (3, 3) = 6 and . (1, 0) = 2; (-1, 0): 0 with (0, 2), then -1 with (1, 0)
    np.testing.assert_allclose(knn_score(train, test, k=2, metric=DOT), [-4.0, 0.5], atol=1e-12)


def test_knn_blocks_bound_memory_and_agree(monkeypatch):
    rng = np.random.default_rng(2)
    train, test = rng.normal(size=(30, 4)), rng.normal(size=(50, 4))
    whole = knn_score(train, test, k=3)
    monkeypatch.setattr("adlab.distances.search._MAX_ELEMENTS", 31)  # one test row per block
    np.testing.assert_allclose(knn_score(train, test, k=3), whole, atol=1e-15)


def test_knn_higher_is_more_anomalous():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(200, 4))
    test = np.vstack([rng.normal(size=(20, 4)), rng.normal(size=(20, 4)) + 6.0])
    is_anomaly = np.r_[np.zeros(20, bool), np.ones(20, bool)]
    assert auroc(is_anomaly, knn_score(train, test, k=5, metric="euclidean")) == 1.0


def test_knn_bad_arguments():
    train, test = np.zeros((3, 2)) + 1.0, np.ones((2, 2))
    with pytest.raises(ValueError, match="n_train"):
        knn_score(np.zeros((0, 2)), test)
    with pytest.raises(ValueError, match="metric"):
        knn_score(train, test, metric="manhattan")
    with pytest.raises(ValueError, match="k must"):
        knn_score(train, test, k=0)
    with pytest.raises(ValueError, match="same width"):
        knn_score(train, np.ones((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        knn_score(train, np.array([[np.nan, 1.0]]))
