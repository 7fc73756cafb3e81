"""Distances against scipy, and the axiom checker on the classic counterexamples."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial import distance as sd
from scipy.special import rel_entr

from adlab.distances import (
    AXIOMS,
    COSINE,
    COSINE_DISTANCE,
    DEMOS,
    DISTANCES,
    EUCLIDEAN,
    SQUARED_EUCLIDEAN,
    AxiomReport,
    FormulaDistance,
    LearnedDistance,
    angular,
    check_axioms,
    cosine,
    demo_points,
    euclidean,
    get_distance,
    kl_divergence,
    squared_euclidean,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(7, 5))
Y = RNG.normal(size=(4, 5))

SCIPY = {
    "euclidean": "euclidean",
    "squared_euclidean": "sqeuclidean",
    "cosine": "cosine",
    "manhattan": "cityblock",
    "chebyshev": "chebyshev",
}


@pytest.mark.parametrize("name", sorted(SCIPY))
def test_matches_scipy(name):
    d = get_distance(name)
    np.testing.assert_allclose(d.pairwise(X, Y), sd.cdist(X, Y, SCIPY[name]), atol=1e-12)
    np.testing.assert_allclose(d.pairwise(X), sd.cdist(X, X, SCIPY[name]), atol=1e-12)
    assert d(X[0], Y[1]) == pytest.approx(sd.cdist(X[:1], Y[1:2], SCIPY[name])[0, 0], abs=1e-12)


def test_angular_matches_arccos_of_scipy_cosine():
    expected = np.arccos(1.0 - sd.cdist(X, Y, "cosine")) / math.pi
    np.testing.assert_allclose(angular.pairwise(X, Y), expected, atol=1e-9)


def test_kl_matches_scipy():
    P, Q = RNG.dirichlet(np.ones(4), size=5), RNG.dirichlet(np.ones(4), size=3)
    expected = rel_entr(P[:, None, :], Q[None, :, :]).sum(-1)  # (5, 3)
    np.testing.assert_allclose(kl_divergence.pairwise(P, Q), expected, atol=1e-12)
    assert kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2))
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf


def test_torch_tensors_accepted_and_blocks_agree(monkeypatch):
    np.testing.assert_allclose(euclidean.pairwise(torch.from_numpy(X)), euclidean.pairwise(X))
    U = RNG.normal(size=(12, 2))
    reports = {name: check_axioms(get_distance(name), U) for name in ("euclidean", "squared_euclidean")}
    monkeypatch.setattr("adlab.distances._arrays._BLOCK_ELEMENTS", 7)  # force many row blocks
    for name in ("euclidean", "squared_euclidean", "cosine", "manhattan"):
        np.testing.assert_allclose(get_distance(name).pairwise(X, Y), sd.cdist(X, Y, SCIPY[name]), atol=1e-12)
    for name, report in reports.items():  # the triangle check's (b, n, n) blocks find the same worst triple
        blocked = check_axioms(get_distance(name), U)
        assert [(r.holds, r.failures, r.message) for r in blocked.results] == [
            (r.holds, r.failures, r.message) for r in report.results
        ]


@pytest.mark.parametrize("name", ["euclidean", "squared_euclidean", "cosine", "angular"])
def test_exact_zero_and_symmetry_bit_for_bit(name):
    d = get_distance(name)
    P = np.vstack([X, 2.0 * X[:2], X[3:4]])  # 2x and a repeated row
    D = d.pairwise(P)
    assert np.array_equal(D, D.T)
    assert np.all(np.diag(D) == 0.0) and D[3, 9] == 0.0
    if name in ("cosine", "angular"):  # x and 2x point the same way
        assert D[0, 7] == 0.0 and D[1, 8] == 0.0


def test_formula_distances_are_the_torch_embedding_distances():
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    for d, e in ((euclidean, EUCLIDEAN), (squared_euclidean, SQUARED_EUCLIDEAN), (cosine, COSINE_DISTANCE)):
        assert d.embedding is e
        np.testing.assert_allclose(d.pairwise(X, Y), e.pairwise(Xt, Yt).numpy(), atol=1e-12)
    assert get_distance("manhattan").embedding is None


def test_check_axioms_takes_an_embedding_distance():
    line = demo_points("squared_euclidean").points
    report = check_axioms(SQUARED_EUCLIDEAN, line)
    assert report.distance == "squared_euclidean"
    assert report.failed == ("triangle inequality",) and report.triangle.worst.violation == 2.0
    # a similarity is not a distance: cos(x, x) = 1 is not 0, and it goes negative
    similarity = check_axioms(COSINE, RNG.normal(size=(6, 3)))
    assert "identity of indiscernibles" in similarity.failed and "non-negativity" in similarity.failed


def test_registry_and_claims():
    assert set(DISTANCES) == {
        "euclidean", "squared_euclidean", "cosine", "angular", "manhattan", "chebyshev",
        "kl_divergence",
    }  # fmt: skip
    with pytest.raises(ValueError, match="name must be one of .*'euclidean'"):
        get_distance("hamming")
    assert not squared_euclidean.is_metric and squared_euclidean.kind == "semimetric"
    assert not cosine.is_metric
    assert angular.is_metric and angular.domain == "unit sphere" and angular.kind == "pseudometric"
    assert kl_divergence.kind == "divergence"
    for d in DISTANCES.values():
        assert d.latex and d.claim and set(d.fails) <= set(AXIOMS)


def test_squared_euclidean_counterexample_is_four_greater_than_one_plus_one():
    demo = demo_points("squared_euclidean")
    report = check_axioms(demo.distance, demo.points)
    assert isinstance(report, AxiomReport) and report.failed == ("triangle inequality",)
    worst = report.triangle.worst
    assert worst.indices == (0, 1, 2)
    assert worst.values == {"d(x0,x2)": 4.0, "d(x0,x1)": 1.0, "d(x1,x2)": 1.0}
    assert worst.violation == 2.0
    assert worst.sentence == "d(x0,x2) = 4.000 > d(x0,x1) + d(x1,x2) = 1.000 + 1.000"
    np.testing.assert_array_equal(worst.points, demo.points)
    assert report.triangle.checked == 6 and report.triangle.failures == 2


def test_cosine_breaks_triangle_on_unit_vectors():
    demo = demo_points("cosine")
    np.testing.assert_allclose(np.linalg.norm(demo.points, axis=1), 1.0)
    worst = check_axioms(cosine, demo.points).triangle.worst
    assert worst is not None
    assert worst.values["d(x0,x2)"] == pytest.approx(1.0)
    assert worst.values["d(x0,x1)"] == pytest.approx(1 - math.sqrt(0.5))
    assert worst.violation == pytest.approx(math.sqrt(2) - 1)


def test_angular_is_a_metric_on_random_unit_vectors():
    U = RNG.normal(size=(50, 3))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    report = check_axioms(angular, U)
    assert report.all_hold, [r.message for r in report.results]
    assert report.triangle.checked == 50 * 49 * 48


@pytest.mark.parametrize("name", ["euclidean", "manhattan", "chebyshev"])
def test_norm_metrics_pass_all_axioms(name):
    report = check_axioms(get_distance(name), RNG.normal(size=(30, 4)))
    assert report.all_hold
    assert all(r.worst is None and r.failures == 0 for r in report.results)


@pytest.mark.parametrize("key", ["cosine_identity", "angular_identity"])
def test_identity_fails_for_x_and_2x(key):
    demo = demo_points(key)
    report = check_axioms(demo.distance, demo.points)
    assert report.failed == ("identity of indiscernibles",)
    worst = report.identity.worst
    assert worst.indices in {(0, 1), (1, 0)}
    assert "although x" in worst.sentence and "!=" in worst.sentence


def test_identity_reports_nonzero_self_distance():
    shifted = FormulaDistance("shifted", "d = |x - y| + 0.5", lambda A, B: euclidean.pairwise(A, B) + 0.5)
    report = check_axioms(shifted, RNG.normal(size=(4, 2)))
    worst = report.identity.worst
    assert worst.indices[0] == worst.indices[1] and worst.violation == pytest.approx(0.5)


def test_collapsed_encoder_fails_identity_only():
    encoder = torch.nn.Linear(3, 2)
    torch.nn.init.zeros_(encoder.weight)
    torch.nn.init.zeros_(encoder.bias)
    encoder.train()
    learned = LearnedDistance(encoder)
    report = check_axioms(learned, RNG.normal(size=(6, 3)))
    assert report.failed == ("identity of indiscernibles",)
    assert report.identity.failures == 6 * 5
    assert encoder.training, "the encoder's mode must be restored"
    assert learned.kind == "pseudometric" and not learned.is_metric


def test_learned_distance_is_base_on_features():
    encoder = torch.nn.Linear(5, 3)
    learned = LearnedDistance(encoder, base="manhattan")
    with torch.no_grad():
        F = encoder(torch.as_tensor(X, dtype=torch.float32)).double().numpy()
        G = encoder(torch.as_tensor(Y, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(learned.pairwise(X, Y), sd.cdist(F, G, "cityblock"), rtol=1e-6)
    assert learned(X[0], X[0]) == 0.0


def test_learned_demo_collapses_two_points():
    demo = demo_points("learned")
    worst = check_axioms(demo.distance, demo.points).identity.worst
    assert set(worst.indices) == {0, 1}


def test_kl_divergence_fails_symmetry():
    demo = demo_points("kl_divergence")
    report = check_axioms(kl_divergence, demo.points)
    assert "symmetry" in report.failed
    worst = report.symmetry.worst
    i, j = worst.indices
    assert worst.violation == pytest.approx(
        abs(kl_divergence(demo.points[i], demo.points[j]) - kl_divergence(demo.points[j], demo.points[i]))
    )
    assert report.identity.holds and report.non_negativity.holds


def test_every_demo_breaks_what_it_claims_and_theory_allows():
    for key, demo in DEMOS.items():
        report = check_axioms(demo.distance, demo.points)
        assert demo.breaks in report.failed, key
        assert set(report.failed) <= set(demo.distance.fails), key


def test_plain_callable_distance():
    report = check_axioms(lambda x, y: float(np.sum(x - y)), RNG.normal(size=(5, 2)))
    assert not report.symmetry.holds and not report.non_negativity.holds


def test_validation_errors():
    bad = RNG.normal(size=(5, 2))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="points"):
        check_axioms(euclidean, bad)
    with pytest.raises(ValueError, match="points"):
        check_axioms(euclidean, np.arange(5.0))
    with pytest.raises(ValueError, match="points"):
        check_axioms(euclidean, np.zeros((1, 2)))
    with pytest.raises(ValueError, match="atol"):
        check_axioms(euclidean, X, atol=-1.0)
    with pytest.raises(ValueError, match="points"):
        check_axioms(kl_divergence, np.array([[0.5, 0.6], [0.5, 0.5]]))
    with pytest.raises(ValueError, match="X.*zero"):
        cosine.pairwise(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Y"):
        euclidean.pairwise(X, Y[:, :3])
    with pytest.raises(ValueError, match="x"):
        euclidean(X, Y)
    with pytest.raises(ValueError, match="encoder"):
        LearnedDistance("not a module")  # type: ignore[arg-type]
