"""Losses against naive Python loops, closed forms on hand-placed points, and autograd."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from adlab.losses import npair, nt_xent, supcon, triplet

D64 = torch.float64
DIST = {True: "squared_euclidean", False: "euclidean"}  # the triplet loss's distance by "squared"


def _rand(*shape, seed=0, dtype=D64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=D64).to(dtype)  # same numbers in every dtype


# ---------------------------------------------------------------- naive references (loops)
def _dot(u, v):
    return sum(x * y for x, y in zip(u, v, strict=True))


def naive_triplet(a, p, n, margin, squared):
    total = 0.0
    for i in range(len(a)):
        d_ap = sum((float(a[i, k]) - float(p[i, k])) ** 2 for k in range(a.shape[1]))
        d_an = sum((float(a[i, k]) - float(n[i, k])) ** 2 for k in range(a.shape[1]))
        if not squared:
            d_ap, d_an = math.sqrt(d_ap), math.sqrt(d_an)
        total += max(d_ap - d_an + margin, 0.0)
    return total / len(a)


def naive_npair(a, p, l2_reg, normalize):
    a0, p0 = a.tolist(), p.tolist()
    if normalize:
        a, p = F.normalize(a, dim=1), F.normalize(p, dim=1)
    dot = lambda u, v: _dot(u.tolist(), v.tolist())  # noqa: E731
    n, total = len(a), 0.0
    for i in range(n):
        s = sum(math.exp(dot(a[i], p[j]) - dot(a[i], p[i])) for j in range(n) if j != i)
        total += math.log1p(s)
    reg = sum(sum(x * x for x in a0[i]) + sum(x * x for x in p0[i]) for i in range(n)) / n
    return total / n + l2_reg * reg


def naive_supcon(features, labels, t, variant):
    z = F.normalize(features, dim=1).tolist()
    lab = list(labels)
    m = len(z)
    s = [[_dot(z[i], z[k]) / t for k in range(m)] for i in range(m)]
    losses = []
    for i in range(m):
        positives = [k for k in range(m) if k != i and lab[k] == lab[i]]
        if not positives:
            continue
        denom = sum(math.exp(s[i][k]) for k in range(m) if k != i)
        if variant == "out":
            losses.append(-sum(math.log(math.exp(s[i][p]) / denom) for p in positives) / len(positives))
        else:
            inner = sum(math.exp(s[i][p]) / denom for p in positives) / len(positives)
            losses.append(-math.log(inner))
    return sum(losses) / len(losses) if losses else 0.0


def naive_nt_xent(z1, z2, t, decoupled):
    z = F.normalize(torch.cat([z1, z2]), dim=1).tolist()
    m, n = len(z), len(z1)
    total = 0.0
    for i in range(m):
        j = (i + n) % m
        sim = [_dot(z[i], z[k]) / t for k in range(m)]
        denom = sum(math.exp(sim[k]) for k in range(m) if k != i and not (decoupled and k == j))
        total += -math.log(math.exp(sim[j]) / denom)
    return total / m


# ---------------------------------------------------------------- against the loops
@pytest.mark.parametrize("squared", [True, False])
def test_triplet_matches_loop(squared):
    a, p, n = _rand(7, 3, seed=1), _rand(7, 3, seed=2), _rand(7, 3, seed=3)
    got = triplet(a, p, n, margin=0.5, distance=DIST[squared])
    assert got.dim() == 0
    assert got.item() == pytest.approx(naive_triplet(a, p, n, 0.5, squared), rel=1e-12)


def test_triplet_on_a_similarity_flips_the_margin():
    """Cosine similarity: hinge max(s(a,n) - s(a,p) + m, 0) on the normalised rows."""
    a, p, n = _rand(7, 3, seed=1), _rand(7, 3, seed=2), _rand(7, 3, seed=3)
    s_ap, s_an = F.cosine_similarity(a, p, dim=1).tolist(), F.cosine_similarity(a, n, dim=1).tolist()
    expected = sum(max(sn - sp + 0.3, 0.0) for sp, sn in zip(s_ap, s_an, strict=True)) / len(a)
    assert triplet(a, p, n, margin=0.3, distance="cosine").item() == pytest.approx(expected, rel=1e-12)
    assert triplet(a, p, n, margin=0.3, distance="cosine").item() != pytest.approx(
        triplet(a, p, n, margin=0.3).item())


def test_triplet_rejects_an_unknown_distance_and_the_old_flag():
    a = _rand(3, 2)
    with pytest.raises(ValueError, match="distance must be one of"):
        triplet(a, a, a, margin=0.1, distance="manhattan")
    with pytest.raises(TypeError):
        triplet(a, a, a, margin=0.1, squared=True)


@pytest.mark.parametrize("normalize,l2_reg", [(True, 0.0), (False, 0.0), (False, 0.002), (True, 0.1)])
def test_npair_matches_loop(normalize, l2_reg):
    a, p = _rand(6, 4, seed=4), _rand(6, 4, seed=5)
    got = npair(a, p, l2_reg=l2_reg, normalize=normalize)
    assert got.item() == pytest.approx(naive_npair(a, p, l2_reg, normalize), rel=1e-12)


@pytest.mark.parametrize("variant", ["out", "in"])
def test_supcon_matches_loop(variant):
    feats, labels = _rand(10, 3, seed=6), [0, 1, 0, 2, 1, 0, 3, 2, 2, 4]  # 3 and 4 have no positive
    got = supcon(feats, torch.tensor(labels), temperature=0.3, variant=variant)
    assert got.item() == pytest.approx(naive_supcon(feats, labels, 0.3, variant), rel=1e-12)


@pytest.mark.parametrize("decoupled", [False, True])
def test_nt_xent_matches_loop(decoupled):
    z1, z2 = _rand(5, 3, seed=7), _rand(5, 3, seed=8)
    got = nt_xent(z1, z2, temperature=0.2, decoupled=decoupled)
    assert got.item() == pytest.approx(naive_nt_xent(z1, z2, 0.2, decoupled), rel=1e-12)


# ---------------------------------------------------------------- closed forms
@pytest.mark.parametrize("n", [2, 5, 16])
def test_nt_xent_identical_embeddings_is_log_2n_minus_1(n):
    z = torch.ones(n, 4, dtype=D64) * 3.0  # all views collinear -> every logit equal
    assert nt_xent(z, z, temperature=0.5).item() == pytest.approx(math.log(2 * n - 1), rel=1e-12)
    assert nt_xent(z, z, temperature=0.5, decoupled=True).item() == pytest.approx(
        math.log(2 * n - 2), abs=1e-12
    )


@pytest.mark.parametrize("variant", ["out", "in"])
def test_supcon_one_positive_per_anchor_equals_nt_xent(variant):
    z1, z2 = _rand(6, 5, seed=9), _rand(6, 5, seed=10)
    labels = torch.arange(6).repeat(2)
    expected = nt_xent(z1, z2, temperature=0.1)
    feats = torch.cat([z1, z2])
    assert supcon(feats, labels, temperature=0.1, variant=variant).item() == pytest.approx(
        expected.item(), rel=1e-12
    )
    assert supcon(feats, None, temperature=0.1, variant=variant).item() == pytest.approx(
        expected.item(), rel=1e-12
    )


def test_triplet_hand_placed_1d():
    a = torch.tensor([[0.0], [0.0], [0.0]], dtype=D64)
    p = torch.tensor([[1.0], [2.0], [0.0]], dtype=D64)
    n = torch.tensor([[3.0], [1.0], [0.0]], dtype=D64)
    # squared d: (1, 9) -> max(1-9+1, 0) = 0; (4, 1) -> 4; (0, 0) -> 1; mean 5/3
    assert triplet(a, p, n, margin=1.0).item() == pytest.approx(5 / 3)
    # Euclidean d: (1, 3) -> 0; (2, 1) -> 2; (0, 0) -> 1; mean 1
    assert triplet(a, p, n, margin=1.0, distance="euclidean").item() == pytest.approx(1.0)
    assert triplet(a, p, n, margin=0.0, distance="euclidean").item() == pytest.approx(1 / 3)


def test_npair_small_exact_case():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=D64)
    p = torch.tensor([[2.0, 0.0], [0.0, 2.0]], dtype=D64)
    # cosine logits = I: each anchor log(1 + e^(0 - 1))
    assert npair(a, p).item() == pytest.approx(math.log1p(math.exp(-1)))
    # raw logits = 2 I: log(1 + e^-2); penalty 0.1 * mean(1 + 4) = 0.5
    assert npair(a, p, l2_reg=0.1, normalize=False).item() == pytest.approx(math.log1p(math.exp(-2)) + 0.5)


# ---------------------------------------------------------------- dtypes, autograd, no NaN
def _all_losses(dtype):
    z1, z2, z3 = (_rand(6, 4, seed=s, dtype=dtype) for s in (11, 12, 13))
    labels = torch.tensor([0, 1, 0, 1, 2, 2, 0, 1, 0, 1, 2, 3])
    return {
        "triplet": triplet(z1, z2, z3, margin=0.3),
        "triplet_l2": triplet(z1, z2, z3, margin=0.3, distance="euclidean"),
        "npair": npair(z1, z2, l2_reg=0.01),
        "supcon_out": supcon(torch.cat([z1, z2]), labels, temperature=0.2),
        "supcon_in": supcon(torch.cat([z1, z2]), labels, temperature=0.2, variant="in"),
        "nt_xent": nt_xent(z1, z2, temperature=0.2),
        "dcl": nt_xent(z1, z2, temperature=0.2, decoupled=True),
    }


def test_float32_agrees_with_float64_and_keeps_dtype():
    lo, hi = _all_losses(torch.float32), _all_losses(D64)
    for name in hi:
        assert lo[name].dtype == torch.float32 and hi[name].dtype == D64, name
        assert lo[name].item() == pytest.approx(hi[name].item(), rel=1e-5, abs=1e-6), name


def test_gradcheck_float64():
    a, p, n = (_rand(4, 3, seed=s).requires_grad_() for s in (14, 15, 16))
    labels = torch.tensor([0, 1, 0, 2, 1, 0, 3, 2])
    checks = [
        (lambda a, p, n: triplet(a, p, n, margin=2.0), (a, p, n)),
        (lambda a, p, n: triplet(a, p, n, margin=2.0, distance="euclidean"), (a, p, n)),
        (lambda a, p: npair(a, p, l2_reg=0.05), (a, p)),
        (lambda a, p: npair(a, p, normalize=False), (a, p)),
        (lambda a, p: supcon(torch.cat([a, p]), labels, temperature=0.5), (a, p)),
        (lambda a, p: supcon(torch.cat([a, p]), labels, temperature=0.5, variant="in"), (a, p)),
        (lambda a, p: nt_xent(a, p, temperature=0.5), (a, p)),
        (lambda a, p: nt_xent(a, p, temperature=0.5, decoupled=True), (a, p)),
    ]
    for fn, inputs in checks:
        assert torch.autograd.gradcheck(fn, inputs), fn


@pytest.mark.parametrize("variant", ["out", "in"])
def test_supcon_without_any_positive_is_zero_with_grad_and_no_nan(variant):
    feats = _rand(5, 3, seed=17).requires_grad_()
    loss = supcon(feats, torch.arange(5), temperature=0.07, variant=variant)
    assert loss.item() == 0.0 and loss.grad_fn is not None
    loss.backward()
    assert torch.equal(feats.grad, torch.zeros_like(feats))


@pytest.mark.parametrize("variant", ["out", "in"])
def test_supcon_partial_positives_gradient_is_finite(variant):
    feats = _rand(6, 3, seed=18).requires_grad_()
    loss = supcon(feats, torch.tensor([0, 0, 1, 2, 3, 4]), temperature=0.05, variant=variant)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(feats.grad).all()


def test_triplet_euclidean_coincident_points_grad_is_finite():
    a = torch.zeros(2, 3, dtype=D64, requires_grad=True)
    triplet(a, a.detach().clone(), torch.ones(2, 3, dtype=D64), margin=5.0, distance="euclidean").backward()
    assert torch.isfinite(a.grad).all()


def test_large_logits_stay_finite():
    z1, z2 = _rand(8, 4, seed=19), _rand(8, 4, seed=20)
    for loss in (
        nt_xent(z1, z2, temperature=1e-3),
        supcon(torch.cat([z1, z2]), None, temperature=1e-3),
        supcon(torch.cat([z1, z2]), None, temperature=1e-3, variant="in"),
        npair(z1 * 1e3, z2 * 1e3, normalize=False),
    ):
        assert torch.isfinite(loss)


# ---------------------------------------------------------------- argument errors
X = torch.zeros(4, 3)
BAD_CALLS = [
    (lambda: triplet(X, X, torch.zeros(3, 3), margin=0.2), "negative"),
    (lambda: triplet(X, X, torch.zeros(4, 2), margin=0.2), "negative"),
    (lambda: triplet(torch.zeros(4), X, X, margin=0.2), "anchor.*2-D"),
    (lambda: triplet(X, X, X, margin=-0.1), "margin.*>= 0"),
    (lambda: npair(X, torch.zeros(5, 3)), "positive"),
    (lambda: npair(X, X, l2_reg=-1.0), "l2_reg.*>= 0"),
    (lambda: npair(X[:1], X[:1]), "anchor.*at least 2"),
    (lambda: supcon(X, [0, 1, 2], temperature=0.1), "labels"),
    (lambda: supcon(X, [0, 1, 0, 1], temperature=0.0), "temperature.*> 0"),
    (lambda: supcon(X, [0, 1, 0, 1], temperature=0.1, variant="mid"), "variant"),
    (lambda: supcon(X[:3], None, temperature=0.1), "even"),
    (lambda: supcon(torch.zeros(2, 2, 2), [0, 1], temperature=0.1), "features.*2-D"),
    (lambda: nt_xent(X, torch.zeros(4, 2), temperature=0.5), "z2"),
    (lambda: nt_xent(X, X, temperature=-1.0), "temperature.*> 0"),
    (lambda: nt_xent(X[:1], X[:1], temperature=0.5), "z1.*at least 2"),
]


@pytest.mark.parametrize("call,match", BAD_CALLS)
def test_bad_arguments_raise_value_error_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available on this machine")
def test_cuda_matches_cpu():
    z1, z2 = _rand(16, 8, seed=21, dtype=torch.float32), _rand(16, 8, seed=22, dtype=torch.float32)
    labels = torch.arange(16).remainder(4).repeat(2)
    pairs = [
        (lambda a, b, lab: nt_xent(a, b, temperature=0.2)),
        (lambda a, b, lab: supcon(torch.cat([a, b]), lab, temperature=0.2)),
        (lambda a, b, lab: npair(a, b, l2_reg=0.01)),
        (lambda a, b, lab: triplet(a, b, b.flip(0), margin=0.2)),
    ]
    for fn in pairs:
        cpu = fn(z1, z2, labels)
        a = z1.cuda().requires_grad_()
        gpu = fn(a, z2.cuda(), labels.cuda())
        gpu.backward()
        assert gpu.device.type == "cuda" and torch.isfinite(a.grad).all()
        assert gpu.item() == pytest.approx(cpu.item(), rel=1e-4)
