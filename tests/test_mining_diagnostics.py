"""Triplet mining on hand-placed points; alignment/uniformity; per-anchor breakdowns vs autograd."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from adlab.losses import (
    CATEGORY_NAMES,
    NPairConfig,
    SimCLRConfig,
    SupConConfig,
    TripletConfig,
    alignment,
    anchor_breakdown,
    classify_triplets,
    mine_triplets,
    npair,
    nt_xent,
    supcon,
    triplet,
    triplet_counts,
    uniformity,
)

D64 = torch.float64
DIST = {True: "squared_euclidean", False: "euclidean"}  # the triplet loss's distance by "squared"
# 1-D points: class 0 at 0 and 1, class 1 at 1.5 and 3 (Euclidean distances, margin 1).
X = torch.tensor([[0.0], [1.0], [1.5], [3.0]], dtype=D64)
Y = torch.tensor([0, 0, 1, 1])
# by hand: (a, p, n) -> d(a,p), d(a,n) -> category
EXPECTED = {
    (0, 1, 2): "semi-hard",  # 1 < 1.5 < 2
    (0, 1, 3): "easy",  # 3 >= 2
    (1, 0, 2): "hard",  # 0.5 <= 1
    (1, 0, 3): "easy",  # 2 >= 1 + 1 (boundary -> easy)
    (2, 3, 0): "hard",  # 1.5 <= 1.5 (boundary -> hard)
    (2, 3, 1): "hard",  # 0.5 <= 1.5
    (3, 2, 0): "easy",  # 3 >= 2.5
    (3, 2, 1): "semi-hard",  # 1.5 < 2 < 2.5
}


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=D64)


def _as_set(t):
    return set(zip(t.anchor.tolist(), t.positive.tolist(), t.negative.tolist(), strict=True))


# ---------------------------------------------------------------- mining
def test_classify_hand_placed_points():
    c = classify_triplets(X, Y, margin=1.0, distance="euclidean")
    got = {
        (a, p, n): CATEGORY_NAMES[code]
        for a, p, n, code in zip(
            c.anchor.tolist(), c.positive.tolist(), c.negative.tolist(), c.category.tolist(), strict=True
        )
    }
    assert got == EXPECTED
    assert c.loss.tolist() == pytest.approx([0.5, 0.0, 1.5, 0.0, 1.0, 2.0, 0.0, 0.5])  # lexicographic


def test_counts_hand_placed_points_sum_to_total():
    counts = triplet_counts(X, Y, margin=1.0, distance="euclidean")
    assert counts == {"easy": 3, "semi_hard": 2, "hard": 3, "total": 8}


def test_counts_random_batch_sum_to_total_and_match_loop():
    x, y = _rand(12, 3, seed=1), torch.tensor([0, 1, 2] * 4)
    counts = triplet_counts(x, y, margin=0.5)
    d = torch.cdist(x, x).pow(2)
    loop = {"easy": 0, "semi_hard": 0, "hard": 0}
    for a in range(12):
        for p in range(12):
            for n in range(12):
                if a == p or y[a] != y[p] or y[n] == y[a]:
                    continue
                dap, dan = d[a, p].item(), d[a, n].item()
                loop["hard" if dan <= dap else "semi_hard" if dan < dap + 0.5 else "easy"] += 1
    assert counts["easy"] + counts["semi_hard"] + counts["hard"] == counts["total"] == 12 * 3 * 8
    assert {k: counts[k] for k in loop} == loop


def test_mine_strategies_hand_placed():
    kw = dict(margin=1.0, distance="euclidean")
    assert _as_set(mine_triplets(X, Y, strategy="all", **kw)) == set(EXPECTED)
    for strategy in ("semi-hard", "hard"):
        want = {k for k, v in EXPECTED.items() if v == strategy}
        assert _as_set(mine_triplets(X, Y, strategy=strategy, **kw)) == want
    # farthest positive (only one each) and nearest negative per anchor
    assert _as_set(mine_triplets(X, Y, strategy="batch-hard", **kw)) == {
        (0, 1, 2),
        (1, 0, 2),
        (2, 3, 1),
        (3, 2, 1),
    }


def test_mined_triplets_feed_the_loss_and_skip_anchors_without_negatives():
    x, y = _rand(9, 2, seed=2), torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2])
    t = mine_triplets(x, y, strategy="all", margin=0.2)
    assert t.anchor.dtype == torch.long and len(t.anchor) == 9 * 2 * 6
    c = classify_triplets(x, y, margin=0.2)
    assert triplet(x[t.anchor], x[t.positive], x[t.negative], margin=0.2).item() == pytest.approx(
        c.loss.mean().item()
    )
    bh = mine_triplets(x[:4], torch.tensor([0, 0, 0, 1]), strategy="batch-hard", margin=0.2)
    assert bh.anchor.tolist() == [0, 1, 2]  # anchor 3 has no positive


def test_mining_on_cosine_similarity_matches_squared_distance_on_the_sphere():
    """On unit vectors ||a - b||^2 = 2 - 2 cos(a, b): a squared-distance margin m is a cosine margin
    m / 2, so both geometries sort every triplet alike (the similarity flips the margin's direction)."""
    x, y = F.normalize(_rand(12, 3, seed=11), dim=1), torch.tensor([0, 1, 2] * 4)
    sq = classify_triplets(x, y, margin=0.5)
    cos = classify_triplets(x, y, margin=0.25, distance="cosine")
    assert torch.equal(sq.category, cos.category) and len(set(sq.category.tolist())) == 3
    assert torch.allclose(sq.loss, 2 * cos.loss, atol=1e-12)
    for strategy in ("all", "semi-hard", "hard", "batch-hard"):
        a = mine_triplets(x, y, strategy=strategy, margin=0.5)
        b = mine_triplets(x, y, strategy=strategy, margin=0.25, distance="cosine")
        assert _as_set(a) == _as_set(b), strategy


def test_mining_bad_arguments():
    with pytest.raises(ValueError, match="strategy"):
        mine_triplets(X, Y, strategy="hardest", margin=0.2)
    with pytest.raises(ValueError, match="margin"):
        triplet_counts(X, Y, margin=-1.0)
    with pytest.raises(ValueError, match="labels"):
        triplet_counts(X, Y[:3], margin=0.2)
    with pytest.raises(ValueError, match="distance must be one of"):
        mine_triplets(X, Y, strategy="all", margin=0.2, distance="hamming")
    with pytest.raises(TypeError):
        triplet_counts(X, Y, margin=0.2, squared=True)


# ---------------------------------------------------------------- alignment, uniformity
def test_alignment_and_uniformity_closed_forms():
    e = torch.tensor([[1.0, 0.0], [-2.0, 0.0]], dtype=D64)
    assert alignment(e, e).item() == 0.0
    assert alignment(e, -e).item() == pytest.approx(4.0)  # antipodal: ||2 e||^2
    assert alignment(e, -e, alpha=1).item() == pytest.approx(2.0)
    assert uniformity(e).item() == pytest.approx(-8.0)  # one pair at squared distance 4
    assert uniformity(torch.ones(5, 3, dtype=D64)).item() == pytest.approx(0.0, abs=1e-12)


def test_uniformity_matches_loop_and_has_finite_grad():
    z = _rand(7, 3, seed=3).requires_grad_()
    zn = F.normalize(z.detach(), dim=1)
    pairs = [(i, j) for i in range(7) for j in range(i + 1, 7)]
    loop = math.log(sum(math.exp(-2 * (zn[i] - zn[j]).pow(2).sum().item()) for i, j in pairs) / len(pairs))
    u = uniformity(z)
    assert u.item() == pytest.approx(loop, rel=1e-12)
    (u + alignment(z, z.flip(0), alpha=1)).backward()
    assert torch.isfinite(z.grad).all()


# ---------------------------------------------------------------- anchor breakdown
def _check_softmax_grad(b, vectors, loss_of_anchor):
    """Autograd of the anchor's own loss w.r.t. its vector vs grad_scale * sum_k w_k (v_k - v_a)."""
    va = vectors[b.anchor].clone().requires_grad_()
    loss_of_anchor(va).backward()
    w = torch.as_tensor(b.grad_weight)
    predicted = b.grad_scale * (w[:, None] * (vectors[torch.as_tensor(b.index)] - va.detach())).sum(0)
    assert torch.allclose(va.grad, predicted, atol=1e-10), (va.grad, predicted)


@pytest.mark.parametrize("decoupled", [False, True])
def test_breakdown_simclr(decoupled):
    z1, z2, t = _rand(5, 3, seed=4), _rand(5, 3, seed=5), 0.3
    cfg = SimCLRConfig(temperature=t, decoupled=decoupled)
    rows = [anchor_breakdown("simclr", cfg, anchor=i, z1=z1, z2=z2) for i in range(10)]
    assert {r.kind for r in rows} == {"simclr"}
    assert np.mean([r.loss for r in rows]) == pytest.approx(
        nt_xent(z1, z2, temperature=t, decoupled=decoupled).item()
    )
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    for b in rows[::3]:
        assert (b.role == "positive").sum() == 1 and b.denominator_share.sum() == pytest.approx(1.0)
        pos = int(b.index[b.role == "positive"][0])
        assert pos == (b.anchor + 5) % 10
        others = torch.as_tensor(b.index)
        den = others[others != pos] if decoupled else others

        def loss(va, den=den, pos=pos):
            return torch.logsumexp(z[den] @ va / t, 0) - z[pos] @ va / t

        _check_softmax_grad(b, z, loss)


@pytest.mark.parametrize("variant", ["out", "in"])
def test_breakdown_supcon(variant):
    feats, labels, t = _rand(8, 3, seed=6), torch.tensor([0, 1, 0, 1, 0, 2, 1, 3]), 0.4
    cfg = SupConConfig(temperature=t, variant=variant)
    rows = [anchor_breakdown("supcon", cfg, anchor=i, features=feats, labels=labels) for i in range(8)]
    with_pos = [r for r in rows if not r.note]
    assert len(with_pos) == 6 and rows[5].loss == 0.0 and "skipped" in rows[5].note
    assert np.allclose(rows[5].grad_weight, 0.0)
    assert np.mean([r.loss for r in with_pos]) == pytest.approx(
        supcon(feats, labels, temperature=t, variant=variant).item()
    )
    z = F.normalize(feats, dim=1)
    for b in with_pos:
        idx, pos = torch.as_tensor(b.index), torch.as_tensor(b.index[b.role == "positive"])
        if variant == "out":

            def loss(va, idx=idx, pos=pos):
                return torch.logsumexp(z[idx] @ va / t, 0) - (z[pos] @ va / t).mean()
        else:

            def loss(va, idx=idx, pos=pos):
                return (
                    torch.logsumexp(z[idx] @ va / t, 0)
                    - torch.logsumexp(z[pos] @ va / t, 0)
                    + math.log(len(pos))
                )

        _check_softmax_grad(b, z, loss)
    if variant == "out":  # the brief's closed form: positive weight p_k - 1/|P|
        b = rows[0]
        pos = b.role == "positive"
        assert np.allclose(b.grad_weight[pos], b.denominator_share[pos] - 1 / pos.sum())


@pytest.mark.parametrize("normalize", [True, False])
def test_breakdown_npair(normalize):
    a, p = _rand(5, 3, seed=7), _rand(5, 3, seed=8)
    cfg = NPairConfig(l2_reg=0.01, normalize=normalize)
    rows = [anchor_breakdown("npair", cfg, anchor=i, anchors=a, positive=p) for i in range(5)]
    assert np.mean([r.loss for r in rows]) == pytest.approx(
        npair(a, p, l2_reg=0.01, normalize=normalize).item()
    )
    va_all = F.normalize(a, dim=1) if normalize else a
    pv = F.normalize(p, dim=1) if normalize else p
    for b in rows:
        va = va_all[b.anchor].clone().requires_grad_()
        (torch.logsumexp(pv @ va, 0) - pv[b.anchor] @ va).backward()
        w = torch.as_tensor(b.grad_weight)
        assert torch.allclose(va.grad, (w[:, None] * (pv - va.detach())).sum(0), atol=1e-10)
        assert b.grad_weight[b.anchor] == pytest.approx(b.denominator_share[b.anchor] - 1)


@pytest.mark.parametrize("squared", [True, False])
def test_breakdown_triplet(squared):
    x, y, m = _rand(9, 2, seed=9), torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2]), 1.0
    for anchor in (0, 4, 8):
        b = anchor_breakdown("triplet", TripletConfig(margin=m, distance=DIST[squared]), anchor=anchor, embeddings=x,
                             labels=y)
        pos = [i for i in range(9) if y[i] == y[anchor] and i != anchor]
        neg = [i for i in range(9) if y[i] != y[anchor]]
        pp = torch.tensor([q for q in pos for _ in neg])
        nn = torch.tensor([n for _ in pos for n in neg])
        xa = x[anchor].clone().requires_grad_()
        loss = triplet(xa.expand(len(pp), 2), x[pp], x[nn], margin=m, distance=DIST[squared])
        loss.backward()
        assert b.loss == pytest.approx(loss.item())
        assert b.pairs is not None and np.allclose(b.pairs["loss"].mean(), b.loss)
        w = torch.as_tensor(b.grad_weight)
        assert torch.allclose(
            xa.grad, (w[:, None] * (x[torch.as_tensor(b.index)] - xa.detach())).sum(0), atol=1e-10
        )
        assert list(b.index) == sorted(pos + neg)
        if b.loss > 0:
            for role in ("positive", "negative"):
                assert b.denominator_share[b.role == role].sum() == pytest.approx(1.0)


def test_breakdown_table_and_bad_arguments():
    z = _rand(4, 3, seed=10)
    b = anchor_breakdown("simclr", SimCLRConfig(temperature=0.5), anchor=0, z1=z, z2=z)
    assert set(b.table()) == {"index", "role", "similarity", "denominator_share", "grad_weight"}
    assert all(len(col) == 7 for col in b.table().values())
    assert b.loss == anchor_breakdown("simclr", anchor=0, z1=z, z2=z).loss  # no cfg: the Config's defaults (t = 0.5)
    with pytest.raises(ValueError, match="loss must be one of triplet, npair, supcon, simclr"):
        anchor_breakdown("nt_xent", anchor=0, z1=z, z2=z)  # the registry name is "simclr"
    with pytest.raises(ValueError, match="anchor"):
        anchor_breakdown("simclr", anchor=8, z1=z, z2=z)
    with pytest.raises(ValueError, match="cfg must be a SupConConfig"):
        anchor_breakdown("supcon", SimCLRConfig(), anchor=0, features=z, labels=[0, 0, 1, 1])
    with pytest.raises(ValueError, match="temperature"):
        anchor_breakdown("supcon", SupConConfig(temperature=0.0), anchor=0, features=z, labels=[0, 0, 1, 1])
    with pytest.raises(TypeError):
        anchor_breakdown("supcon", anchor=0, features=z)  # the loss's own inputs are required
