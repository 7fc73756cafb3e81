"""The torch distances with meaning (adlab.distances.embedding) and the kNN search on them."""

from __future__ import annotations

import math

import pytest
import torch

from adlab.distances import (
    COSINE,
    COSINE_DISTANCE,
    DOT,
    EMBEDDING_DISTANCES,
    EUCLIDEAN,
    SQUARED_EUCLIDEAN,
    EmbeddingDistance,
    embedding_distance,
    k_nearest,
)

GEN = torch.Generator().manual_seed(0)
X = torch.randn(9, 4, generator=GEN, dtype=torch.float64)
Y = torch.randn(6, 4, generator=GEN, dtype=torch.float64)
ALL = [*EMBEDDING_DISTANCES.values(), EmbeddingDistance("euclidean", normalize=True), EmbeddingDistance("dot", normalize=True)]


@pytest.mark.parametrize("d", ALL, ids=lambda d: d.name)
def test_pairwise_and_paired_agree(d):
    D = d.pairwise(X, Y)  # (9, 6)
    assert D.shape == (9, 6)
    i, j = torch.meshgrid(torch.arange(9), torch.arange(6), indexing="ij")
    pairs = d.paired(X[i.ravel()], Y[j.ravel()]).reshape(9, 6)  # the same 54 pairs, row by row
    torch.testing.assert_close(D, pairs, atol=1e-12, rtol=0)


def test_diagonal_of_a_distance_is_zero_and_of_a_similarity_is_the_self_similarity():
    assert torch.equal(EUCLIDEAN.pairwise(X).diagonal(), torch.zeros(9, dtype=torch.float64))
    assert torch.equal(SQUARED_EUCLIDEAN.pairwise(X).diagonal(), torch.zeros(9, dtype=torch.float64))
    torch.testing.assert_close(COSINE_DISTANCE.pairwise(X).diagonal(), torch.zeros(9, dtype=torch.float64))
    torch.testing.assert_close(COSINE.pairwise(X).diagonal(), torch.ones(9, dtype=torch.float64))
    torch.testing.assert_close(DOT.pairwise(X).diagonal(), (X * X).sum(1))


def test_larger_is_closer_and_closer_follow_the_kind():
    assert [d.larger_is_closer for d in (EUCLIDEAN, SQUARED_EUCLIDEAN, COSINE_DISTANCE, COSINE, DOT)] == [
        False, False, False, True, True,
    ]  # fmt: skip
    a = torch.tensor([[1.0, 0.0]])
    near, far = torch.tensor([[1.0, 0.1]]), torch.tensor([[0.0, 1.0]])
    for d in ALL:
        assert d.closer(d.paired(a, near), d.paired(a, far)).item(), d.name
        assert not d.closer(d.paired(a, far), d.paired(a, near)).item(), d.name
        # nothing is ever closer than the masking value
        assert not d.closer(torch.tensor(d.farthest_value()), d.paired(a, far)).item(), d.name


def test_violation_sign_for_a_distance_on_a_line():
    a, p, n = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([[3.0, 0.0]])
    ap, an = EUCLIDEAN.paired(a, p), EUCLIDEAN.paired(a, n)  # 1 and 3
    assert EUCLIDEAN.violation(ap, an).item() == pytest.approx(-2.0)  # d(a,p) - d(a,n): well separated
    assert EUCLIDEAN.violation(an, ap).item() == pytest.approx(2.0)  # the negative is closer: violated
    # the hinge max(v + m, 0): zero for m = 1 < 2, 0.5 for m = 2.5
    assert (EUCLIDEAN.violation(ap, an) + 1.0).clamp_min(0).item() == 0.0
    assert (EUCLIDEAN.violation(ap, an) + 2.5).clamp_min(0).item() == pytest.approx(0.5)
    sq = SQUARED_EUCLIDEAN.violation(SQUARED_EUCLIDEAN.paired(a, p), SQUARED_EUCLIDEAN.paired(a, n))
    assert sq.item() == pytest.approx(1.0 - 9.0)


def test_violation_sign_for_a_similarity_on_the_circle():
    a, p, n = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]]), torch.tensor([[0.0, 2.0]])
    ap, an = COSINE.paired(a, p), COSINE.paired(a, n)  # cos 45 = 0.7071, cos 90 = 0
    assert ap.item() == pytest.approx(math.sqrt(0.5)) and an.item() == pytest.approx(0.0, abs=1e-7)
    assert COSINE.violation(ap, an).item() == pytest.approx(-math.sqrt(0.5))  # s(a,n) - s(a,p)
    assert COSINE.violation(an, ap).item() == pytest.approx(math.sqrt(0.5))
    # with margin 1 the triplet is inside the margin: hinge 1 - 0.7071
    assert (COSINE.violation(ap, an) + 1.0).clamp_min(0).item() == pytest.approx(1 - math.sqrt(0.5))
    # the same triplet as a cosine distance gives the same violation: (1 - s_ap) - (1 - s_an)
    cd = COSINE_DISTANCE.violation(COSINE_DISTANCE.paired(a, p), COSINE_DISTANCE.paired(a, n))
    assert cd.item() == pytest.approx(COSINE.violation(ap, an).item())


def test_euclidean_gradients_are_finite_at_coincident_points():
    Z = torch.tensor([[0.5, -1.0], [0.5, -1.0], [2.0, 3.0]], dtype=torch.float64, requires_grad=True)
    EUCLIDEAN.pairwise(Z).sum().backward()
    assert torch.isfinite(Z.grad).all()
    a = torch.tensor([[1.0, 2.0]], requires_grad=True)
    b = torch.tensor([[1.0, 2.0]], requires_grad=True)
    EUCLIDEAN.paired(a, b).sum().backward()
    assert torch.equal(a.grad, torch.zeros_like(a)) and torch.equal(b.grad, torch.zeros_like(b))


def test_cosine_is_one_minus_cosine_distance_and_ignores_length():
    torch.testing.assert_close(COSINE.pairwise(X, Y), 1.0 - COSINE_DISTANCE.pairwise(X, Y), atol=1e-12, rtol=0)
    torch.testing.assert_close(COSINE.pairwise(3.0 * X, 0.1 * Y), COSINE.pairwise(X, Y), atol=1e-12, rtol=0)
    zero = torch.zeros(1, 4, dtype=torch.float64)  # a zero vector counts as cosine 0
    torch.testing.assert_close(COSINE_DISTANCE.pairwise(zero, Y), torch.ones(1, 6, dtype=torch.float64))


def test_euclidean_matches_torch_cdist():
    torch.testing.assert_close(EUCLIDEAN.pairwise(X, Y), torch.cdist(X, Y), atol=1e-12, rtol=0)
    torch.testing.assert_close(SQUARED_EUCLIDEAN.pairwise(X, Y), torch.cdist(X, Y) ** 2, atol=1e-12, rtol=0)
    unit = EmbeddingDistance("euclidean", normalize=True)
    Xn, Yn = X / X.norm(dim=1, keepdim=True), Y / Y.norm(dim=1, keepdim=True)
    torch.testing.assert_close(unit.pairwise(X, Y), torch.cdist(Xn, Yn), atol=1e-12, rtol=0)


def test_names_and_bad_kinds():
    assert embedding_distance("cosine") is COSINE and embedding_distance(EUCLIDEAN) is EUCLIDEAN
    assert EmbeddingDistance("squared_euclidean") == SQUARED_EUCLIDEAN  # frozen, compared by value
    assert hash(EmbeddingDistance("cosine")) == hash(COSINE)  # usable as a cache key
    with pytest.raises(ValueError, match="distance must be one of"):
        embedding_distance("manhattan")
    with pytest.raises(ValueError, match="kind must be one of"):
        EmbeddingDistance("hamming")


@pytest.mark.parametrize("d", [EUCLIDEAN, COSINE_DISTANCE, COSINE, DOT], ids=lambda d: d.name)
def test_k_nearest_matches_a_full_sort_and_blocks_agree(d):
    Q = torch.randn(23, 5, generator=GEN, dtype=torch.float64)
    R = torch.randn(17, 5, generator=GEN, dtype=torch.float64)
    full = d.pairwise(Q, R)  # (23, 17)
    expected = full.sort(dim=1, descending=d.larger_is_closer).values[:, :4]  # closest first
    near = k_nearest(d, Q, R, 4)
    torch.testing.assert_close(near.values, expected, atol=0, rtol=0)
    torch.testing.assert_close(full.gather(1, near.indices), near.values, atol=0, rtol=0)
    tiny = k_nearest(d, Q, R, 4, max_elements=7)  # one query per block
    torch.testing.assert_close(tiny.values, near.values, atol=1e-12, rtol=0)


def test_k_nearest_bad_arguments():
    with pytest.raises(ValueError, match="k must"):
        k_nearest(EUCLIDEAN, X, Y, 7)
    with pytest.raises(ValueError, match="queries and references"):
        k_nearest(EUCLIDEAN, X, Y[:, :3], 1)
    with pytest.raises(ValueError, match="distance must"):
        k_nearest("euclidean", X, Y, 1)  # type: ignore[arg-type]
    empty = k_nearest(EUCLIDEAN, X[:0], Y, 2)
    assert empty.values.shape == (0, 2) and empty.indices.shape == (0, 2)
