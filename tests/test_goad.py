"""GOAD: transformations by index, the tc loss, probabilities, score direction, persistence, data."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from adlab.augment import Rotation
from adlab.data import DataError, goad_tabular_split, load_digits, one_class_split
from adlab.detectors.goad import GOAD, GeometricTransforms, tc_loss
from adlab.device import seeded

FAST = dict(n_transforms=16, transform_dim=8, epochs=3, device="cpu")


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def toy() -> dict[str, np.ndarray]:
    """Correlated Gaussian rows; anomalies are the same distribution scaled 4x (far from the bulk)."""
    rng = np.random.default_rng(0)
    mix = rng.normal(size=(6, 6))
    rows = rng.normal(size=(500, 6)) @ mix
    anomalies = 4.0 * rng.normal(size=(40, 6)) @ mix
    X_test = np.concatenate([rows[400:], anomalies]).astype(np.float32)
    is_anomaly = np.r_[np.zeros(100, bool), np.ones(40, bool)]
    return {"train": rows[:400].astype(np.float32), "test": X_test, "is_anomaly": is_anomaly}


@pytest.fixture(scope="module")
def toy_goad(toy) -> GOAD:
    return GOAD(seed=0, **FAST).fit(toy["train"])


@pytest.fixture(scope="module")
def digits_split():
    return one_class_split(load_digits(), [3], seed=0)


@pytest.fixture(scope="module")
def digits_goad(digits_split) -> GOAD:
    return GOAD(epochs=3, seed=0, device="cpu").fit(digits_split.X_train)


# ----------------------------------------------------------------------------- transformations
def test_geometric_transforms_by_index():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(5, 2, 8, 8, generator=g)
    t72 = GeometricTransforms(flips=True, shift=2)
    assert t72.n_transforms == 72 and len(t72.names) == 72
    assert torch.equal(t72.apply(x, 0), x)  # index 0 = identity
    stacked = t72.all(x)
    assert stacked.shape == (72, 5, 2, 8, 8)
    for m in (0, 5, 37, 71):
        assert torch.equal(stacked[m], t72.apply(x, m))
    # index = ((flip * 3 + i_tx) * 3 + i_ty) * 4 + k with shifts (0, -t, +t), as the official product
    assert t72.params[((1 * 3 + 2) * 3 + 1) * 4 + 3] == (True, 2, -2, 3)
    # the 4-rotation set is adlab.augment.Rotation
    rot = GeometricTransforms()
    assert rot.n_transforms == 4
    for k in range(4):
        assert torch.equal(rot.apply(x, k), Rotation().apply(x, k))
    # a random draw per sample is one of the indexed transformations of that sample
    out = t72(x, torch.Generator().manual_seed(1))
    for i in range(5):
        assert any(torch.equal(out[i], stacked[m, i]) for m in range(72))
    with pytest.raises(ValueError, match="index"):
        t72.apply(x, 72)


def test_shift_reflects_symmetrically():
    ramp = torch.arange(8.0).view(1, 1, 8, 1).expand(1, 1, 8, 8)  # value = row index
    t = GeometricTransforms(shift=2)  # shifts (0, -2, +2)
    index = t.params.index((False, -2, 0, 0))
    rows = t.apply(ramp, index)[0, 0, :, 0]
    assert rows.tolist() == [1, 0, 0, 1, 2, 3, 4, 5]  # out[i] = x[reflect(i - 2)], 'd c b a | a b c d'
    rows = t.apply(ramp, t.params.index((False, 2, 0, 0)))[0, 0, :, 0]
    assert rows.tolist() == [2, 3, 4, 5, 6, 7, 7, 6]


def test_tabular_transforms_are_z_scored_linear_maps(toy, toy_goad):
    net = toy_goad.model_
    x = torch.from_numpy(toy["test"][:7])
    z = (x - torch.from_numpy(toy["train"].mean(0))) / torch.from_numpy(toy["train"].std(0))
    t = net.transformed(x)  # (7, M, d_out)
    assert t.shape == (7, 16, 8)
    for m in (0, 9, 15):
        torch.testing.assert_close(t[:, m], z @ net.maps[m], rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(t[:, m], toy_goad.transforms_.apply(z, m), rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        feats, logits = net(x)
        torch.testing.assert_close(feats[:, 4], net.trunk(t[:, 4]))
        torch.testing.assert_close(logits, net.head(feats))


def test_image_features_follow_transform_index(digits_split, digits_goad):
    net = digits_goad.model_.eval()
    x = torch.from_numpy(digits_split.X_test[:6])
    with torch.no_grad():
        feats = net.features(x)  # (6, 4, d)
        for m in range(4):
            torch.testing.assert_close(feats[:, m], net.trunk(Rotation().apply(x, m)), rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- loss
def test_tc_loss_matches_naive_loop():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(5, 4, 3, generator=g, dtype=torch.float64)
    c = f.mean(0)
    total = 0.0
    for b in range(5):
        for m in range(4):
            d = ((f[b, m] - c) ** 2).sum(-1)  # (4,)
            neg = min(float(d[j]) for j in range(4) if j != m)
            total += max(0.0, float(d[m]) + 0.5 - neg)
    assert float(tc_loss(f, margin=0.5)) == pytest.approx(total / 20, rel=1e-9)
    with pytest.raises(ValueError, match="features"):
        tc_loss(torch.zeros(4, 3))


# ----------------------------------------------------------------------------- scores
def test_probabilities_sum_to_one_and_make_the_score(toy, toy_goad):
    X = toy["test"][:20]
    p = toy_goad.transform_probabilities(X)  # (n, M, M)
    assert p.shape == (20, 16, 16)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-5)
    diag = toy_goad.transform_probabilities(X, diagonal=True)
    np.testing.assert_allclose(diag, np.diagonal(p, axis1=1, axis2=2), rtol=1e-4, atol=1e-7)
    parts = toy_goad.score_breakdown(X)  # (n, M)
    scores = toy_goad.anomaly_score(X)
    np.testing.assert_allclose(parts.sum(1), scores, rtol=1e-6)
    np.testing.assert_allclose(scores, -np.log(diag).sum(1), rtol=1e-4)
    assert toy_goad.centers_.shape == (16, 8)
    assert toy_goad.embed(X).shape == (20, 8) and toy_goad.features(X).shape == (20, 16, 8)


def test_score_direction_on_toy(toy, toy_goad):
    s = toy_goad.anomaly_score(toy["test"])
    assert np.isfinite(s).all() and s.std() > 0
    assert s[toy["is_anomaly"]].mean() > s[~toy["is_anomaly"]].mean()
    assert roc_auc_score(toy["is_anomaly"], s) > 0.9
    parts = toy_goad.history_.extras
    assert len(parts["ce"]) == len(parts["tc"]) == len(toy_goad.history_.step_losses)


def test_final_centres_are_the_trained_models_training_means(toy, toy_goad):
    """centers="final": c_m = mean over the training rows of f(T(x, m)) under the final model (eval mode).
    The seed, not ``centers``, fixes the training, so both runs end with the same weights; only the centres
    (and so the scores) differ from the default "running" ones."""
    final = GOAD(centers="final", seed=0, **FAST).fit(toy["train"])
    for (name, a), b in zip(final.model_.state_dict().items(), toy_goad.model_.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    feats = final.features(toy["train"]).astype(np.float64)  # (n, M, d)
    np.testing.assert_allclose(final.centers_, feats.mean(0), rtol=1e-5, atol=1e-6)
    assert final.centers_rule_ == "final" and toy_goad.centers_rule_ == "running"
    assert np.abs(toy_goad.centers_ - final.centers_).max() > 1e-3
    s = final.anomaly_score(toy["test"])
    assert not np.allclose(s, toy_goad.anomaly_score(toy["test"]))
    assert roc_auc_score(toy["is_anomaly"], s) > 0.9


def test_running_centres_are_the_last_epochs_batch_means(toy, toy_goad, monkeypatch):
    """centers="running" (default): the unweighted mean of the per-batch means of f(T(x, m)) of the last
    epoch, as the training steps saw them (weights still moving)."""
    import adlab.detectors.goad as goad_module

    seen: list[torch.Tensor] = []

    def spy(features, *, margin):
        seen.append(features.detach().mean(0))  # (M, d): this batch's centres
        return tc_loss(features, margin=margin)

    monkeypatch.setattr(goad_module, "tc_loss", spy)
    ends: list[int] = []
    det = GOAD(seed=0, **FAST).fit(toy["train"], callbacks=[lambda e: ends.append(len(seen)) if e.kind == "epoch" else None])
    np.testing.assert_array_equal(det.centers_, toy_goad.centers_)  # the spy changed nothing
    last = torch.stack(seen[ends[-2] : ends[-1]])  # the last epoch's batches
    assert len(ends) == 3 and len(last) == 7  # 400 rows in batches of 64: 6 full and one of 16
    np.testing.assert_allclose(det.centers_, last.mean(0).numpy(), rtol=1e-6)
    assert not np.allclose(det.centers_, torch.stack(seen).mean(0).numpy(), rtol=1e-3)  # earlier epochs do not count


def test_untrained_goad_uses_the_initial_networks_training_means(toy, toy_goad):
    """Before training no epoch has run, so there are no per-batch means: ``fit_untrained`` uses the "final"
    rule on the initial network whatever ``centers`` says, and says so (``centers_rule_``). A fit stopped
    before its first step falls back the same way."""
    fresh = GOAD(seed=0, **FAST).fit_untrained(toy["train"])
    assert fresh.centers_rule_ == "final" and not fresh.trained_ and fresh.history_.extras["ce"] == []
    np.testing.assert_allclose(fresh.centers_, fresh.features(toy["train"]).astype(np.float64).mean(0),
                               rtol=1e-5, atol=1e-6)
    with seeded(0):
        initial = GOAD(seed=0, **FAST)._build(fresh.input_shape_)
    for (name, a), b in zip(fresh.model_.state_dict().items(), initial.state_dict().values(), strict=True):
        if name not in ("shift", "scale"):  # the z-score buffers are filled by fit
            assert torch.equal(a, b), name
    stop = threading.Event()
    stop.set()
    stopped = GOAD(seed=0, **FAST).fit(toy["train"], cancel=stop)
    assert stopped.history_.cancelled and not stopped.trained_ and stopped.centers_rule_ == "final"
    np.testing.assert_array_equal(stopped.centers_, fresh.centers_)
    assert not np.allclose(fresh.anomaly_score(toy["test"]), toy_goad.anomaly_score(toy["test"]))


def test_save_load_gives_identical_scores(tmp_path, toy, toy_goad, digits_split, digits_goad):
    for det, X, name in ((toy_goad, toy["test"], "tab"), (digits_goad, digits_split.X_test[:50], "img")):
        det.save(tmp_path / name)
        back = GOAD.load(tmp_path / name)
        np.testing.assert_array_equal(back.anomaly_score(X), det.anomaly_score(X))
        np.testing.assert_array_equal(back.centers_, det.centers_)
    np.testing.assert_array_equal(back.transforms_.params, digits_goad.transforms_.params)


def test_thyroid_small_run(shared_data):
    path = shared_data / "odds" / "thyroid.mat"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    from scipy.io import loadmat

    mat = loadmat(path)
    X_train, X_test, is_anomaly = goad_tabular_split(mat["X"], mat["y"], seed=0)
    det = GOAD(n_transforms=32, seed=0, device="cpu").fit(X_train)  # official net, 32 maps, 1 epoch
    s = det.anomaly_score(X_test)
    assert np.isfinite(s).all() and s.std() > 0
    assert roc_auc_score(is_anomaly, s) > 0.9
    # the paper's F1: threshold at the normal-fraction percentile of the test scores
    predicted = s >= np.percentile(s, 100 * (~is_anomaly).mean())
    tp = (predicted & is_anomaly).sum()
    f1 = 2 * tp / (predicted.sum() + is_anomaly.sum())
    assert f1 > 0.5


def test_image_path_on_digits(digits_split, digits_goad):
    s = digits_goad.anomaly_score(digits_split.X_test)
    assert np.isfinite(s).all() and s.std() > 0
    assert roc_auc_score(digits_split.anomalous_test, s) > 0.8
    assert digits_goad.centers_.shape == (4, 32)
    assert digits_goad.embed(digits_split.X_test[:5]).shape == (5, 32)
    assert digits_goad.transform_probabilities(digits_split.X_test[:5]).shape == (5, 4, 4)


def test_geometric72_forward_and_fit(digits_split):
    X = digits_split.X_train[:16]
    det = GOAD(transforms="geometric72", epochs=1, batch_size=8, seed=0, device="cpu").fit(X)
    assert det.centers_.shape == (72, 32) and det.transforms_.shift == 2
    s = det.anomaly_score(digits_split.X_test[:10])
    assert s.shape == (10,) and np.isfinite(s).all()


# ----------------------------------------------------------------------------- arguments and data
def test_bad_arguments(toy, digits_split):
    with pytest.raises(ValueError, match="transforms"):
        GOAD(transforms="rotations", device="cpu").fit(toy["train"])
    with pytest.raises(ValueError, match="transforms"):
        GOAD(transforms="linear", device="cpu").fit(digits_split.X_train)
    with pytest.raises(ValueError, match="centers"):
        GOAD(centers="mean", device="cpu").fit(toy["train"])
    with pytest.raises(ValueError, match="square"):
        GOAD(device="cpu").fit(np.zeros((4, 1, 8, 10), np.float32))
    with pytest.raises(ValueError, match="n_transforms"):
        GOAD(n_transforms=1, device="cpu").fit(toy["train"])


def test_wrong_shape_at_scoring(toy, toy_goad):
    with pytest.raises(ValueError, match="shape"):
        toy_goad.anomaly_score(toy["test"][:, :5])


def test_goad_tabular_split():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = np.r_[np.zeros(40, int), np.ones(10, int)]
    X_train, X_test, is_anomaly = goad_tabular_split(X, y, seed=3, split="random")
    assert X_train.shape == (20, 3) and X_test.shape == (30, 3)
    assert is_anomaly.sum() == 10 and not is_anomaly[:20].any()
    rows = {tuple(r) for r in X_train}
    assert not rows & {tuple(r) for r in X_test}  # disjoint
    again = goad_tabular_split(X, y, seed=3, split="random")
    np.testing.assert_array_equal(again[0], X_train)
    file_order = goad_tabular_split(X, y, seed=3)  # the default: the official loader's file order
    np.testing.assert_array_equal(file_order[0], X[:20])
    np.testing.assert_array_equal(file_order[1], X[20:])
    with pytest.raises(DataError, match="y"):
        goad_tabular_split(X, y + 1)
    with pytest.raises(ValueError, match="split must be one of 'official', 'random'"):
        goad_tabular_split(X, y, split="shuffled")


def test_goad_split_is_the_tabular_protocol_as_a_split():
    from adlab.data import Dataset, goad_split

    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(40, np.int64), np.ones(6, np.int64), np.full(4, 2, np.int64)]
    ds = Dataset(X=rng.normal(size=(50, 3)).astype(np.float32), y=y, class_names=("ok", "bad", "worse"),
                 name="t", kind="tabular")
    for how in ("official", "random"):
        split = goad_split(ds, ["ok"], seed=1, split=how)
        assert len(split.X_train) == 20 and (split.y_train == 0).all()
        assert len(split.X_test) == 20 + 10 and split.anomalous_test.sum() == 10  # every other row is an anomaly
        assert not set(split.train_index) & set(split.test_index)
        np.testing.assert_array_equal(split.X_test, ds.X[split.test_index])
        X_train, X_test, is_anomaly = goad_tabular_split(ds.X, (ds.y != 0).astype(int), seed=1, split=how)
        np.testing.assert_array_equal(X_train, split.X_train)  # the same rows as the array form
        np.testing.assert_array_equal(is_anomaly, split.anomalous_test)
    np.testing.assert_array_equal(goad_split(ds, ["ok"], seed=1).train_index, np.arange(20))  # file order
    with pytest.raises(DataError, match="no anomaly class"):
        goad_split(ds, ["ok", "bad", "worse"])
