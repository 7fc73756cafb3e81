"""Figure builders return the traces the pages rely on; the instant views match adlab.losses."""

import itertools

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from adlab import instant, losses, registry, viz
from adlab.contrastive import ContrastiveConfig
from adlab.encoders import MLP, ContrastiveNet, ProjectionHead
from adlab.losses import NPairConfig, SimCLRConfig, SupConConfig, TripletConfig
from adlab.losses.diagnostics import anchor_breakdown

RNG = np.random.default_rng(0)
DIST = {True: "squared_euclidean", False: "euclidean"}  # the triplet loss's distance by "squared"


# ----------------------------------------------------------------------------- figures
def test_umap_pair_figure_two_panels_same_colours():
    before, after = RNG.normal(size=(30, 2)), RNG.normal(size=(30, 2))
    is_anom = np.arange(30) < 5
    fig = viz.umap_pair_figure(before, after, is_anom, hover=[f"class {i % 3}" for i in range(30)])
    assert [t.name for t in fig.data] == ["normal", "anomaly", "normal", "anomaly"]
    assert [len(t.x) for t in fig.data] == [25, 5, 25, 5]
    assert fig.data[0].marker.color == fig.data[2].marker.color != fig.data[1].marker.color
    assert fig.data[0].xaxis != fig.data[2].xaxis  # two panels
    with pytest.raises(ValueError, match="is_anomaly"):
        viz.umap_pair_figure(before, after, is_anom[:10])


def test_loss_curve_puts_epoch_means_at_epoch_ends():
    fig = viz.loss_curve_figure([3.0, 2.0, 1.5, 1.0], [2.5, 1.25])
    assert [t.name for t in fig.data] == ["per step", "epoch mean"]
    assert list(fig.data[1].x) == [2.0, 4.0]


def test_roc_figure_names_carry_auroc():
    y = np.array([0, 0, 1, 1, 0, 1], dtype=bool)
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    fig = viz.roc_figure({"before": (y, s), "after": (y, -s)})
    assert len(fig.data) == 3 and fig.data[-1].name == "chance"
    assert f"{roc_auc_score(y, s):.3f}" in fig.data[0].name
    assert f"{roc_auc_score(y, -s):.3f}" in fig.data[1].name


def test_score_histogram_and_triplet_counts():
    fig = viz.score_histogram_figure(RNG.random(20), np.arange(20) < 4)
    assert [t.type for t in fig.data] == ["histogram", "histogram"]
    assert len(fig.data[1].x) == 4
    fig = viz.triplet_counts_figure([{"easy": 5, "semi_hard": 2, "hard": 1}, {"easy": 7, "semi_hard": 1, "hard": 0}])
    assert [t.name for t in fig.data] == ["easy", "semi-hard", "hard"]
    assert list(fig.data[1].y) == [25.0, 12.5]  # percent of each epoch's triplets
    assert list(fig.data[1].customdata) == [2, 1]  # raw counts on hover


def test_circle_and_breakdown_figures():
    view = instant.view("triplet", instant.class_batch(), 0, TripletConfig(margin=0.2))
    fig = viz.circle_batch_figure(view.batch.points, 0, view.groups, view.sizes, rings=view.rings,
                                  step=view.step, text=list(view.batch.tags))
    names = [t.name for t in fig.data]
    assert names[:3] == ["unit circle", "d(a,p)", "d(a,p) + m"]
    assert {"anchor", "positive"} <= set(names)
    assert sum(len(t.x) for t in fig.data[3:]) == len(view.batch.points)
    bd = view.breakdown
    fig = viz.breakdown_bar_figure([str(i) for i in bd.index], bd.denominator_share, bd.grad_weight, bd.role)
    assert [t.name for t in fig.data] == ["positive", "negative", "positive", "negative"]
    assert sum(len(t.x) for t in fig.data) == 2 * len(bd.index)


# ----------------------------------------------------------------------------- instant views
def _naive_triplet(points, labels, margin, squared):
    terms = []
    for a, p, n in itertools.product(range(len(points)), repeat=3):
        if a != p and labels[a] == labels[p] and labels[n] != labels[a]:
            d_ap = ((points[a] - points[p]) ** 2).sum()
            d_an = ((points[a] - points[n]) ** 2).sum()
            if not squared:
                d_ap, d_an = np.sqrt(d_ap), np.sqrt(d_an)
            terms.append(max(d_ap - d_an + margin, 0.0))
    return float(np.mean(terms))


@pytest.mark.parametrize("squared", [True, False])
def test_triplet_view_matches_naive_loop_and_grows_with_margin(squared):
    batch = instant.class_batch()
    values = []
    for margin in (0.0, 0.2, 0.5):
        view = instant.view("triplet", batch, 0, TripletConfig(margin=margin, distance=DIST[squared]))
        assert view.loss == pytest.approx(_naive_triplet(batch.points, batch.labels, margin, squared), abs=1e-9)
        values.append(view.loss)
    assert values[0] < values[1] < values[2]


def test_triplet_view_groups_follow_the_band():
    batch = instant.class_batch()
    view = instant.view("triplet", batch, 0, TripletConfig(margin=0.2))
    assert {"easy", "semi-hard", "hard"} <= set(view.groups)  # the default batch shows all three
    a = batch.points[0]
    d = ((batch.points - a) ** 2).sum(1)
    pos = [i for i in range(len(d)) if batch.labels[i] == batch.labels[0] and i != 0]
    d_ap = max(d[pos])  # default positive: the farthest one
    assert view.positive == pos[int(np.argmax(d[pos]))]
    assert view.rings[0][0] == pytest.approx(np.sqrt(d_ap))
    assert view.rings[1][0] == pytest.approx(np.sqrt(d_ap + 0.2))
    for i, g in enumerate(view.groups):
        if g == "hard":
            assert d[i] <= d_ap
        elif g == "semi-hard":
            assert d_ap < d[i] < d_ap + 0.2
        elif g == "easy":
            assert d[i] >= d_ap + 0.2
    assert sum(view.anchor_counts[k] for k in ("easy", "semi_hard", "hard")) == view.anchor_counts["total"]
    with pytest.raises(ValueError, match="positive"):
        instant.view("triplet", batch, 0, TripletConfig(margin=0.2), positive=11)


def test_triplet_view_on_plain_distances_draws_the_band_at_d_plus_m():
    batch = instant.class_batch()
    view = instant.view("triplet", batch, 0, TripletConfig(margin=0.2, distance="euclidean"), positive=1)
    d_ap = float(np.linalg.norm(batch.points[1] - batch.points[0]))
    assert view.rings[0][0] == pytest.approx(d_ap) and view.rings[1][0] == pytest.approx(d_ap + 0.2)
    assert view.breakdown.similarity_name == "distance"


def test_softmax_views_match_the_losses():
    cb, vb, pb = instant.class_batch(), instant.view_batch(), instant.pair_batch()
    t = torch.as_tensor
    for tau in (0.1, 0.5):
        for variant in ("out", "in"):
            view = instant.view("supcon", cb, 3, SupConConfig(temperature=tau, variant=variant))
            ref = losses.supcon(t(cb.points), t(cb.labels), temperature=tau, variant=variant)
            assert view.loss == pytest.approx(float(ref), rel=1e-9)
        for decoupled in (False, True):
            view = instant.view("simclr", vb, 2, SimCLRConfig(temperature=tau, decoupled=decoupled))
            n = len(vb.points) // 2
            ref = losses.nt_xent(t(vb.points[:n]), t(vb.points[n:]), temperature=tau, decoupled=decoupled)
            assert view.loss == pytest.approx(float(ref), rel=1e-9)
    n = len(pb.points) // 2
    for norm, normalize in ((1.0, True), (2.0, False), (2.0, True)):
        view = instant.view("npair", pb, 1, NPairConfig(l2_reg=0.002, normalize=normalize), norm=norm)
        ref = losses.npair(t(pb.points[:n]) * norm, t(pb.points[n:]) * norm, l2_reg=0.002, normalize=normalize)
        assert view.loss == pytest.approx(float(ref), rel=1e-9)
        assert set(view.rows) == set(range(n, 2 * n))  # the anchor's terms are the N positives
    assert (instant.view("simclr", vb, 0, SimCLRConfig(temperature=0.1)).loss
            != instant.view("simclr", vb, 0, SimCLRConfig(temperature=0.5)).loss)


@pytest.mark.parametrize("name", registry.loss_names())
def test_every_loss_has_an_instant_view_of_its_own_batch(name):
    module = registry.loss(name)
    batch = module.instant_batch()
    view = instant.view(name, batch, 0)  # the loss's default Config
    assert view.kind == view.breakdown.kind == name
    assert np.isfinite(view.loss) and np.isfinite(view.anchor_loss) and view.groups[0] == "anchor"
    assert set(view.breakdown.role) == {"positive", "negative"}
    again = instant.view(name, batch, 0, module.Config())
    assert again.loss == view.loss and np.array_equal(again.step, view.step)


def test_anchor_loss_and_sizes():
    vb = instant.view_batch()
    view = instant.view("simclr", vb, 4, SimCLRConfig(temperature=0.3))
    n = len(vb.points) // 2
    ref = anchor_breakdown("simclr", SimCLRConfig(temperature=0.3), anchor=4, z1=torch.as_tensor(vb.points[:n]),
                           z2=torch.as_tensor(vb.points[n:]))
    assert view.anchor_loss == pytest.approx(ref.loss)
    assert view.groups[4] == "anchor" and view.groups[4 + n] == "positive"
    assert (view.sizes >= 0).all() and view.sizes.max() == pytest.approx(1.0) and view.sizes[4] == 0


def test_step_is_minus_the_gradient_of_the_anchor_loss():
    vb = instant.view_batch()
    tau, anchor = 0.4, 1
    view = instant.view("simclr", vb, anchor, SimCLRConfig(temperature=tau))
    z = torch.as_tensor(vb.points).clone()
    v_a = z[anchor].clone().requires_grad_(True)
    others = torch.cat([z[:anchor], z[anchor + 1:]])
    partner = anchor + len(z) // 2 - 1  # index of the other view among the others
    logits = others @ torch.nn.functional.normalize(v_a, dim=0) / tau  # the loss normalises its inputs
    (torch.logsumexp(logits, 0) - logits[partner]).backward()
    np.testing.assert_allclose(view.step, -v_a.grad.numpy(), atol=1e-9)
    assert abs(view.step @ vb.points[anchor]) < 1e-9  # tangent to the circle


def test_npair_step_without_normalisation_keeps_the_radial_part():
    pb = instant.pair_batch()
    n = len(pb.points) // 2
    view = instant.view("npair", pb, 0, NPairConfig(normalize=False), norm=2.0)
    a = torch.as_tensor(pb.points[:n]) * 2.0
    p = torch.as_tensor(pb.points[n:]) * 2.0
    v_a = a[0].clone().requires_grad_(True)
    logits = p @ v_a
    (torch.logsumexp(logits, 0) - logits[0]).backward()
    np.testing.assert_allclose(view.step, -v_a.grad.numpy(), atol=1e-9)


def test_bad_anchor_is_a_value_error():
    with pytest.raises(ValueError, match="anchor"):
        instant.view("supcon", instant.class_batch(), 12, SupConConfig(temperature=0.1))
    with pytest.raises(ValueError, match="anchor"):
        instant.view("npair", instant.pair_batch(), 5)
    with pytest.raises(ValueError, match="loss must be one of"):
        instant.view("nt_xent", instant.view_batch(), 0)


# ----------------------------------------------------------------------------- explorer
@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    model = ContrastiveNet(MLP(2, hidden=(16,), out_dim=8), ProjectionHead(8, hidden=8, out_dim=4))
    X = RNG.normal(size=(40, 2)).astype(np.float32)
    y = np.repeat(np.arange(4), 10)
    return model, X, y


@pytest.mark.parametrize("loss", registry.loss_names())
def test_explore_anchor_maps_terms_to_pool_rows(tiny, loss):
    model, X, y = tiny
    knobs = {"temperature": 0.5} if loss in ("supcon", "simclr") else {}
    cfg = ContrastiveConfig.for_loss(loss, **knobs)
    res = instant.explore_anchor(model, X, y, 7, cfg, data_kind="tabular", size=16)
    bd = res.breakdown
    rows = res.rows[bd.index]
    pos = rows[bd.role == "positive"]
    assert len(pos) >= 1 and (y[pos] == y[7]).all()
    if loss == "simclr":
        assert list(pos) == [7]  # the only positive is the anchor's other view
        assert res.views[bd.index][bd.role == "positive"].tolist() == [2]
    if loss in ("triplet", "supcon"):
        assert (y[rows[bd.role == "negative"]] != y[7]).all()
    assert np.isfinite(bd.loss)
    assert bd.kind == loss


def test_explore_anchor_without_labels_has_only_the_other_view_as_positive(tiny):
    model, X, y = tiny
    cfg = ContrastiveConfig.for_loss("supcon", use_labels=False)
    res = instant.explore_anchor(model, X, y, 7, cfg, data_kind="tabular", size=16, seed=3)
    bd = res.breakdown
    assert res.rows[bd.index][bd.role == "positive"].tolist() == [7]
    assert res.views[bd.index][bd.role == "positive"].tolist() == [2]
    same = instant.explore_anchor(model, X, y, 7, cfg, data_kind="tabular", size=16, seed=3)
    assert np.array_equal(same.breakdown.grad_weight, bd.grad_weight)  # seeded: the same batch again
