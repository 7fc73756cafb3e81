"""DROC (two-stage: contrastive + distribution augmentation, then a shallow one-class model) on digits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from adlab.data import load_digits, make_toy, one_class_split
from adlab.detectors.droc import DROC, distribution_augment, droc_contrastive_loss
from adlab.detectors.shallow import (
    SCORERS,
    GaussianScorer,
    KDEScorer,
    KNNScorer,
    OCSVMScorer,
    gamma_rule,
    make_scorer,
)
from adlab.metrics import auroc


@pytest.fixture(scope="module")
def split():
    return one_class_split(load_digits(), [0], seed=0)


@pytest.fixture(scope="module")
def fitted(split):
    torch.set_num_threads(1)
    return DROC(device="cpu").fit(split.X_train)


# -- the loss ----------------------------------------------------------------------------------
def test_loss_matches_naive_loop_and_is_one_directional():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    u, v = z1 / z1.norm(dim=1, keepdim=True), z2 / z2.norm(dim=1, keepdim=True)
    naive = 0.0
    for i in range(6):
        logits = [float(u[i] @ v[k]) / 0.2 for k in range(6)]  # view-2 rows only: no view1-view1 block
        naive += -(logits[i] - math.log(sum(math.exp(s) for s in logits)))
    loss = droc_contrastive_loss(z1, z2, temperature=0.2)
    assert float(loss) == pytest.approx(naive / 6, rel=1e-5)
    assert float(droc_contrastive_loss(z2, z1, temperature=0.2)) != pytest.approx(float(loss), rel=1e-3)
    same = torch.ones(8, 3)
    assert float(droc_contrastive_loss(same, same)) == pytest.approx(math.log(8), rel=1e-6)
    with pytest.raises(ValueError, match="temperature"):
        droc_contrastive_loss(z1, z2, temperature=0.0)


def test_distribution_augment_rotations_are_new_instances():
    x = torch.arange(2 * 16, dtype=torch.float32).view(2, 1, 4, 4)
    out = distribution_augment(x)
    assert out.shape == (8, 1, 4, 4)
    assert torch.equal(out[:2], x) and torch.equal(out[2:4], torch.rot90(x, 1, dims=(2, 3)))
    assert torch.equal(out[6:], torch.rot90(x, 3, dims=(2, 3)))


# -- the shallow scorers ---------------------------------------------------------------------
def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_shallow_scorers_match_their_formulas():
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(40, 6)), rng.normal(size=(9, 6))
    tu, su = _unit(train), _unit(test)
    gamma = 10.0 / (tu.var() * 6)
    assert gamma_rule(tu) == pytest.approx(gamma)
    kde = KDEScorer().fit(train)
    naive = np.array([-np.log(np.exp(2 * gamma * (tu @ s)).sum()) / gamma for s in su])
    np.testing.assert_allclose(kde.score(test), naive, rtol=1e-9)
    knn = KNNScorer().fit(train)
    np.testing.assert_allclose(knn.score(test), 1 - (su @ tu.T).max(axis=1), atol=1e-12)
    from scipy.stats import multivariate_normal

    gauss = GaussianScorer(shrinkage=0.0, normalize=False).fit(train)
    ref = -multivariate_normal(train.mean(0), np.cov(train.T, bias=True)).logpdf(test)
    np.testing.assert_allclose(gauss.score(test), ref, rtol=1e-6)
    svm = OCSVMScorer().fit(train)
    assert svm.gamma_ == pytest.approx(gamma)
    # higher = more anomalous for every scorer: a far-away point outscores the training mean
    for name in SCORERS:
        sc = make_scorer(name).fit(train)
        inlier, outlier = sc.score(train.mean(0, keepdims=True)), sc.score(-train.mean(0, keepdims=True))
        assert outlier[0] > inlier[0], name
    with pytest.raises(ValueError, match="scorer"):
        make_scorer("lof")
    with pytest.raises(ValueError, match="k must"):
        KNNScorer(k=0)


# -- the detector ------------------------------------------------------------------------------
def test_scores_direction_finite_and_auroc(fitted, split):
    scores = fitted.anomaly_score(split.X_test)
    assert scores.shape == (len(split.X_test),) and np.isfinite(scores).all()
    assert scores.std() > 1e-6
    assert scores[split.anomalous_test].mean() > scores[~split.anomalous_test].mean()
    assert auroc(split.anomalous_test, scores) > 0.9
    assert fitted.n_train_instances_ == 4 * len(split.X_train)
    assert fitted.embed(split.X_test[:5]).shape == (5, fitted.feature_dim)
    assert np.allclose(np.linalg.norm(fitted.embed(split.X_test[:5]), axis=1), 1.0, atol=1e-5)


def test_switching_scorer_and_features_needs_no_retraining(fitted, split):
    before = {k: v.clone() for k, v in fitted.model_.state_dict().items()}
    history = fitted.history_
    feats = fitted.transform(split.X_test)
    results = {}
    for scorer in SCORERS:
        for space in ("encoder", "head"):
            s = fitted.score_features(feats, scorer, space)
            assert np.isfinite(s).all() and s.std() > 1e-9, (scorer, space)
            assert auroc(split.anomalous_test, s) > 0.5, (scorer, space)
            results[(scorer, space)] = s
    np.testing.assert_allclose(fitted.score_with(split.X_test, "knn", "head"), results[("knn", "head")])
    assert not np.allclose(results[("kde", "encoder")], results[("knn", "encoder")])
    assert not np.allclose(results[("kde", "encoder")], results[("kde", "head")])
    assert fitted.scorer == "gaussian"  # the default; score_with leaves the choice alone
    fitted.set_scorer(scorer="gaussian", features="head")
    np.testing.assert_allclose(fitted.anomaly_score(split.X_test), results[("gaussian", "head")])
    fitted.set_scorer(scorer="gaussian", features="encoder")
    assert fitted.history_ is history
    for k, v in fitted.model_.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert set(fitted.train_features_) == {"encoder", "head"}
    with pytest.raises(ValueError, match="scorer"):
        fitted.set_scorer(scorer="lof")
    with pytest.raises(ValueError, match="features"):
        fitted.score_with(split.X_test, "kde", "pixels")


def test_save_load_scores_identically(fitted, split, tmp_path):
    fitted.set_scorer(scorer="ocsvm")
    try:
        fitted.save(tmp_path / "droc")
        loaded = DROC.load(tmp_path / "droc")
        assert loaded.scorer == "ocsvm"
        np.testing.assert_array_equal(loaded.anomaly_score(split.X_test), fitted.anomaly_score(split.X_test))
        for scorer in ("kde", "knn"):
            np.testing.assert_array_equal(
                loaded.score_with(split.X_test, scorer, "head"), fitted.score_with(split.X_test, scorer, "head")
            )
    finally:
        fitted.set_scorer(scorer="gaussian")


def test_distribution_augmentation_switch_and_tabular(split):
    X = split.X_train[:64]
    off = DROC(distribution_augmentation=False, epochs=1, batch_size=32, device="cpu").fit(X)
    on = DROC(distribution_augmentation=True, epochs=1, batch_size=32, device="cpu").fit(X)
    assert off.n_train_instances_ == 64 and on.n_train_instances_ == 256
    assert len(on.history_.step_losses) == 4 * len(off.history_.step_losses)
    toy = make_toy("blobs", n=200, seed=0)
    with pytest.raises(ValueError, match="distribution_augmentation"):
        DROC(device="cpu").fit(toy.X)
    det = DROC(distribution_augmentation=False, epochs=3, device="cpu").fit(toy.X[toy.y == 0])
    s = det.anomaly_score(toy.X)
    assert np.isfinite(s).all() and s.std() > 0
    with pytest.raises(ValueError, match="scorer"):
        DROC(scorer="lof").fit(X)
