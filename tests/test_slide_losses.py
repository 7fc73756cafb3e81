"""The seminar slide's forms of the triplet, SupCon and SimCLR losses (issue 12): each against a naive loop
written from the slide's formula, on hand-placed points and closed forms; the instant views' slide values
against the same loops, the paper's values untouched."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from adlab import instant
from adlab.losses import SimCLRConfig, SupConConfig, TripletConfig, nt_xent, supcon, triplet
from adlab.losses.ntxent import nt_xent_slide
from adlab.losses.supcon import supcon_slide
from adlab.losses.triplet import triplet_slide

D64 = torch.float64
DIST = {True: "squared_euclidean", False: "euclidean"}


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=D64)


def _unit(*degrees):
    rad = np.deg2rad(degrees)
    return torch.tensor(np.stack([np.cos(rad), np.sin(rad)], axis=1), dtype=D64)  # (n, 2)


# ---------------------------------------------------------------- naive loops, written from the slides
def naive_triplet_slide(a, p, n, s, squared):
    """max(||f(x) - f(x_pos)||^2 - ||f(x) - f(x_neg)||^2 - s, 0), averaged over the triplets."""
    terms = []
    for i in range(len(a)):
        d_ap = sum((float(a[i, k]) - float(p[i, k])) ** 2 for k in range(a.shape[1]))
        d_an = sum((float(a[i, k]) - float(n[i, k])) ** 2 for k in range(a.shape[1]))
        if not squared:
            d_ap, d_an = math.sqrt(d_ap), math.sqrt(d_an)
        terms.append(max(d_ap - d_an - s, 0.0))
    return sum(terms) / len(terms)


def naive_supcon_slide_terms(features, labels, t):
    """Per anchor with a positive: -1/N sum_i log(e^{s_i} / (e^{s_i} + sum_j e^{s_neg_j}))."""
    z = F.normalize(torch.as_tensor(features, dtype=D64), dim=1).tolist()
    lab = list(labels)
    out = {}
    for x in range(len(z)):
        sim = [sum(u * v for u, v in zip(z[x], z[k], strict=True)) / t for k in range(len(z))]
        positives = [k for k in range(len(z)) if k != x and lab[k] == lab[x]]
        negatives = [k for k in range(len(z)) if lab[k] != lab[x]]
        if not positives:
            continue
        neg = sum(math.exp(sim[j]) for j in negatives)
        out[x] = -sum(math.log(math.exp(sim[i]) / (math.exp(sim[i]) + neg)) for i in positives) / len(positives)
    return out


def naive_supcon_slide(features, labels, t):
    terms = naive_supcon_slide_terms(features, labels, t)
    return sum(terms.values()) / len(terms) if terms else 0.0


def naive_simclr_slide_terms(z1, z2, t):
    """Per view: -log(e^{f(x1) f(x2)/t} / sum_i e^{f(x1) f(x_neg_i)/t}), negatives = views of other samples."""
    z = F.normalize(torch.cat([torch.as_tensor(z1), torch.as_tensor(z2)]).double(), dim=1).tolist()
    n = len(z1)
    sample = [k % n for k in range(2 * n)]
    terms = []
    for x in range(2 * n):
        sim = [sum(u * v for u, v in zip(z[x], z[k], strict=True)) / t for k in range(2 * n)]
        partner = (x + n) % (2 * n)
        den = sum(math.exp(sim[k]) for k in range(2 * n) if sample[k] != sample[x])
        terms.append(-math.log(math.exp(sim[partner]) / den))
    return terms


def naive_simclr_slide(z1, z2, t):
    terms = naive_simclr_slide_terms(z1, z2, t)
    return sum(terms) / len(terms)


# ---------------------------------------------------------------- triplet: "- s"
def test_triplet_slide_hand_placed_1d():
    a = torch.zeros(3, 1, dtype=D64)
    p = torch.tensor([[1.0], [2.0], [0.0]], dtype=D64)
    n = torch.tensor([[3.0], [1.0], [0.0]], dtype=D64)
    # squared d: (1, 9) -> max(1-9-1, 0) = 0; (4, 1) -> 4-1-1 = 2; (0, 0) -> max(-1, 0) = 0; mean 2/3
    assert triplet_slide(a, p, n, margin=1.0).item() == pytest.approx(2 / 3)
    # the paper's form on the same triplets: 0, 4, 1 -> 5/3
    assert triplet(a, p, n, margin=1.0).item() == pytest.approx(5 / 3)
    # Euclidean d: (1, 3) -> 0; (2, 1) -> 2-1-1 = 0; (0, 0) -> 0: the hard triplet within s no longer counts
    assert triplet_slide(a, p, n, margin=1.0, distance="euclidean").item() == 0.0
    assert triplet_slide(a, p, n, margin=0.5, distance="euclidean").item() == pytest.approx(0.5 / 3)


@pytest.mark.parametrize("squared", [True, False])
@pytest.mark.parametrize("s", [0.0, 0.3, 1.5])
def test_triplet_slide_matches_loop(squared, s):
    a, p, n = _rand(9, 3, seed=1), _rand(9, 3, seed=2), _rand(9, 3, seed=3)
    got = triplet_slide(a, p, n, margin=s, distance=DIST[squared])
    assert got.dim() == 0
    assert got.item() == pytest.approx(naive_triplet_slide(a, p, n, s, squared), rel=1e-12, abs=1e-15)


def test_triplet_slide_equals_the_paper_at_zero_margin_and_is_below_it_otherwise():
    a, p, n = _rand(9, 3, seed=1), _rand(9, 3, seed=2), _rand(9, 3, seed=3)
    assert triplet_slide(a, p, n, margin=0.0).item() == triplet(a, p, n, margin=0.0).item()
    for s in (0.1, 0.5, 2.0):
        assert triplet_slide(a, p, n, margin=s).item() < triplet(a, p, n, margin=s).item()


# ---------------------------------------------------------------- SupCon: one positive plus the negatives
def test_supcon_slide_hand_placed_on_the_circle():
    # 0°, 90°, 180° share a class, 270° is alone; t = 1, so the logits are the cosines
    feats, labels = _unit(0, 90, 180, 270), torch.tensor([0, 0, 0, 1])
    # anchor 0°: positives 90° (cos 0) and 180° (cos -1), the negative 270° (cos 0):
    #   (log(1 + 1) + log(1 + e)) / 2; anchor 180° likewise; anchor 90°: positives at cos 0, negative at
    #   cos -1, each log(1 + 1/e); anchor 270° has no positive and is skipped
    expected = (math.log(2) + math.log1p(math.e) + math.log1p(1 / math.e)) / 3
    assert supcon_slide(feats, labels, temperature=1.0).item() == pytest.approx(expected, rel=1e-12)
    assert naive_supcon_slide(feats, labels, 1.0) == pytest.approx(expected, rel=1e-12)
    paper = supcon(feats, labels, temperature=1.0).item()  # the other positive in every denominator
    assert expected < paper


@pytest.mark.parametrize("t", [0.1, 0.5, 2.0])
def test_supcon_slide_matches_loop(t):
    feats, labels = _rand(12, 3, seed=6), [0, 1, 0, 2, 1, 0, 3, 2, 2, 4, 0, 1]  # 3 and 4 have no positive
    got = supcon_slide(feats, torch.tensor(labels), temperature=t)
    assert got.item() == pytest.approx(naive_supcon_slide(feats, labels, t), rel=1e-12)
    assert got.item() < supcon(feats, torch.tensor(labels), temperature=t).item()


def test_supcon_slide_with_one_positive_per_anchor_is_the_papers_and_nt_xent():
    z1, z2 = _rand(6, 5, seed=9), _rand(6, 5, seed=10)
    feats = torch.cat([z1, z2])
    expected = nt_xent(z1, z2, temperature=0.2).item()
    assert supcon_slide(feats, None, temperature=0.2).item() == pytest.approx(expected, rel=1e-12)
    assert supcon_slide(feats, torch.arange(6).repeat(2), temperature=0.2).item() == pytest.approx(expected, rel=1e-12)


def test_supcon_slide_without_positives_or_negatives_is_finite_with_grad():
    feats = _rand(5, 3, seed=17).requires_grad_()
    none = supcon_slide(feats, torch.arange(5), temperature=0.07)  # no anchor has a positive
    assert none.item() == 0.0 and none.grad_fn is not None
    one_class = supcon_slide(feats, torch.zeros(5, dtype=torch.long), temperature=0.07)  # no negatives
    assert one_class.item() == 0.0  # the positive is the whole denominator
    (none + one_class).backward()
    assert torch.isfinite(feats.grad).all()
    big = supcon_slide(_rand(8, 4, seed=19), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]), temperature=1e-3)
    assert torch.isfinite(big)


# ---------------------------------------------------------------- SimCLR: no positive in the denominator
def test_simclr_slide_hand_placed_is_log_2():
    # sample 0: both views at 0°; sample 1: views at 90° and 270°. t = 1. Each view's negatives sit at
    # cos 0, so view 0° loses log 2 - 1 and views 90°/270° (partner at cos -1) lose log 2 + 1: mean log 2
    z1, z2 = _unit(0, 90), _unit(0, 270)
    assert nt_xent_slide(z1, z2, temperature=1.0).item() == pytest.approx(math.log(2), rel=1e-12)
    assert naive_simclr_slide(z1, z2, 1.0) == pytest.approx(math.log(2), rel=1e-12)
    # NT-Xent keeps the partner: log(e + 2) - 1 and log(e^-1 + 2) + 1
    paper = (math.log(math.e + 2) - 1 + math.log(1 / math.e + 2) + 1) / 2
    assert nt_xent(z1, z2, temperature=1.0).item() == pytest.approx(paper, rel=1e-12)


@pytest.mark.parametrize("t", [0.1, 0.5])
def test_simclr_slide_matches_loop_and_is_the_decoupled_loss(t):
    z1, z2 = _rand(5, 3, seed=7), _rand(5, 3, seed=8)
    got = nt_xent_slide(z1, z2, temperature=t)
    assert got.item() == pytest.approx(naive_simclr_slide(z1, z2, t), rel=1e-12)
    assert got.item() == nt_xent(z1, z2, temperature=t, decoupled=True).item()
    assert got.item() < nt_xent(z1, z2, temperature=t).item()


@pytest.mark.parametrize("n", [2, 5])
def test_simclr_slide_identical_embeddings_is_log_2n_minus_2(n):
    z = torch.ones(n, 4, dtype=D64)
    assert nt_xent_slide(z, z, temperature=0.5).item() == pytest.approx(math.log(2 * n - 2), abs=1e-12)


# ---------------------------------------------------------------- autograd, dtypes, errors
def test_gradcheck_float64():
    a, p, n = (_rand(4, 3, seed=s).requires_grad_() for s in (14, 15, 16))
    labels = torch.tensor([0, 1, 0, 2, 1, 0, 3, 2])
    checks = [
        (lambda a, p, n: triplet_slide(a, p, n, margin=0.5), (a, p, n)),
        (lambda a, p, n: triplet_slide(a, p, n, margin=0.5, distance="euclidean"), (a, p, n)),
        (lambda a, p: supcon_slide(torch.cat([a, p]), labels, temperature=0.5), (a, p)),
        (lambda a, p: nt_xent_slide(a, p, temperature=0.5), (a, p)),
    ]
    for fn, inputs in checks:
        assert torch.autograd.gradcheck(fn, inputs), fn


def test_float32_agrees_with_float64():
    a, p, n = _rand(6, 4, seed=11), _rand(6, 4, seed=12), _rand(6, 4, seed=13)
    labels = torch.tensor([0, 1, 0, 1, 2, 2, 0, 1, 0, 1, 2, 3])
    for fn in (lambda a, p, n: triplet_slide(a, p, n, margin=0.3),
               lambda a, p, n: supcon_slide(torch.cat([a, p]), labels, temperature=0.2),
               lambda a, p, n: nt_xent_slide(a, p, temperature=0.2)):
        lo, hi = fn(a.float(), p.float(), n.float()), fn(a, p, n)
        assert lo.dtype == torch.float32 and hi.dtype == D64
        assert lo.item() == pytest.approx(hi.item(), rel=1e-5, abs=1e-6)


X = torch.zeros(4, 3)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: triplet_slide(X, X, X, margin=-0.1), "margin.*>= 0"),
    (lambda: triplet_slide(X, X, torch.zeros(3, 3), margin=0.2), "negative"),
    (lambda: triplet_slide(X, X, X, margin=0.1, distance="manhattan"), "distance must be one of"),
    (lambda: supcon_slide(X, [0, 1, 0, 1], temperature=0.0), "temperature.*> 0"),
    (lambda: supcon_slide(X, [0, 1, 2], temperature=0.1), "labels"),
    (lambda: supcon_slide(X[:3], None, temperature=0.1), "even"),
    (lambda: nt_xent_slide(X, torch.zeros(4, 2), temperature=0.5), "z2"),
    (lambda: nt_xent_slide(X, X, temperature=-1.0), "temperature.*> 0"),
])
def test_bad_arguments_raise_value_error_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- the instant views
def _class_triplets(labels):
    return [(a, p, n) for a, p, n in itertools.product(range(len(labels)), repeat=3)
            if a != p and labels[a] == labels[p] and labels[n] != labels[a]]


@pytest.mark.parametrize("squared", [True, False])
@pytest.mark.parametrize("margin", [0.0, 0.2, 0.6])
def test_triplet_view_slide_values_match_the_loop(squared, margin):
    batch = instant.class_batch()
    pts = torch.as_tensor(batch.points)
    cfg = TripletConfig(margin=margin, distance=DIST[squared])
    for anchor in (0, 5):
        view = instant.view("triplet", batch, anchor, cfg, slide=True)
        trip = _class_triplets(batch.labels)
        mine = [t for t in trip if t[0] == anchor]
        rows = lambda ts: tuple(pts[[t[k] for t in ts]] for k in range(3))  # noqa: E731
        assert view.slide_loss == pytest.approx(naive_triplet_slide(*rows(trip), margin, squared), abs=1e-12)
        assert view.slide_anchor_loss == pytest.approx(naive_triplet_slide(*rows(mine), margin, squared), abs=1e-12)
        if margin == 0.0:
            assert view.slide_loss == pytest.approx(view.loss, abs=1e-12)
            assert view.slide_anchor_loss == pytest.approx(view.anchor_loss, abs=1e-12)
        else:
            assert view.slide_loss < view.loss


@pytest.mark.parametrize("variant", ["out", "in"])
def test_supcon_view_slide_values_match_the_loop(variant):
    batch = instant.class_batch()
    terms = naive_supcon_slide_terms(batch.points, batch.labels, 0.1)
    for anchor in (0, 7):
        view = instant.view("supcon", batch, anchor, SupConConfig(temperature=0.1, variant=variant), slide=True)
        assert view.slide_loss == pytest.approx(sum(terms.values()) / len(terms), rel=1e-12)
        assert view.slide_anchor_loss == pytest.approx(terms[anchor], rel=1e-12)
        assert view.slide_loss != pytest.approx(view.loss, rel=1e-3)


@pytest.mark.parametrize("decoupled", [False, True])
def test_simclr_view_slide_values_match_the_loop(decoupled):
    batch = instant.view_batch()
    n = len(batch.points) // 2
    terms = naive_simclr_slide_terms(batch.points[:n], batch.points[n:], 0.5)
    for anchor in (0, n + 2):
        view = instant.view("simclr", batch, anchor, SimCLRConfig(temperature=0.5, decoupled=decoupled), slide=True)
        assert view.slide_loss == pytest.approx(sum(terms) / len(terms), rel=1e-12)
        assert view.slide_anchor_loss == pytest.approx(terms[anchor], rel=1e-12)
        if decoupled:  # the slide's formula is the decoupled loss
            assert (view.slide_loss, view.slide_anchor_loss) == pytest.approx((view.loss, view.anchor_loss), rel=1e-12)
        else:
            assert view.slide_loss < view.loss and view.slide_anchor_loss < view.anchor_loss


@pytest.mark.parametrize(("name", "batch", "cfg"), [
    ("triplet", instant.class_batch(), TripletConfig()),
    ("supcon", instant.class_batch(), SupConConfig(temperature=0.1)),
    ("simclr", instant.view_batch(), SimCLRConfig()),
])
def test_the_switch_adds_the_slide_and_leaves_the_paper_as_it_was(name, batch, cfg):
    off = instant.view(name, batch, 3, cfg)
    assert off.slide_loss is None and off.slide_anchor_loss is None
    start = time.perf_counter()
    on = instant.view(name, batch, 3, cfg, slide=True)
    assert time.perf_counter() - start < 0.5, "the instant view answers a slider within half a second"
    assert on.loss == off.loss and on.anchor_loss == off.anchor_loss
    assert np.array_equal(on.step, off.step) and np.array_equal(on.sizes, off.sizes)
    assert isinstance(on.slide_loss, float) and isinstance(on.slide_anchor_loss, float)
