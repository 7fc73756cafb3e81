"""The experiment every loss page runs: train with one loss, score with kNN before and after."""

import numpy as np
import pytest

from adlab.contrastive import LOSSES, ContrastiveConfig, run_contrastive
from adlab.data import load_digits, make_toy, one_class_split
from adlab.train import TrainConfig


@pytest.fixture(scope="module")
def digits_split():
    return one_class_split(load_digits(), ["1", "2", "3", "4", "5", "6", "7"], ["0", "8", "9"], seed=0, max_test=300)


@pytest.mark.parametrize("loss", LOSSES)
def test_each_loss_runs_and_reports_before_and_after(loss, digits_split):
    cfg = ContrastiveConfig(loss=loss, temperature=0.5, train=TrainConfig(epochs=2, batch_size=64, device="cpu"))
    run = run_contrastive(digits_split, cfg)
    n = len(digits_split.X_test)
    assert run.test_before.shape[0] == run.test_after.shape[0] == n
    assert run.scores_before.shape == run.scores_after.shape == (n,)
    assert np.isfinite(run.scores_after).all() and run.scores_after.std() > 0
    for m in (run.metrics_before, run.metrics_after):
        assert 0.0 <= m["auroc"] <= 1.0
    assert set(run.geometry_after) == {"alignment", "uniformity"}
    assert len(run.history.epoch_losses) == 2
    assert not np.allclose(run.test_before, run.test_after)  # training changed the encoder
    if loss == "triplet":
        assert len(run.triplet_counts) == 2 and all(c["total"] > 0 for c in run.triplet_counts)


def test_supcon_training_improves_the_knn_auroc_on_digits(digits_split):
    cfg = ContrastiveConfig(loss="supcon", temperature=0.1, train=TrainConfig(epochs=15, batch_size=128, device="cpu"))
    run = run_contrastive(digits_split, cfg)
    assert run.metrics_after["auroc"] > run.metrics_before["auroc"] + 0.01
    # a random encoder maps everything close together (tiny alignment, poor uniformity); training spreads it
    assert run.geometry_after["uniformity"] < run.geometry_before["uniformity"]


def test_same_seed_same_numbers(digits_split):
    cfg = ContrastiveConfig(loss="simclr", train=TrainConfig(epochs=1, batch_size=64, device="cpu", seed=3))
    a, b = run_contrastive(digits_split, cfg), run_contrastive(digits_split, cfg)
    assert a.history.step_losses == b.history.step_losses
    np.testing.assert_allclose(a.scores_after, b.scores_after)


def test_npair_skips_classes_with_a_single_row():
    ds = make_toy("blobs", n=300, seed=0)
    split = one_class_split(ds, [0, 1, 2], seed=0)
    # keep one lonely row of class 2 in training: N-pair groups must use classes 0 and 1 only
    keep = (split.y_train != 2) | (np.cumsum(split.y_train == 2) == 1)
    from dataclasses import replace

    lonely = replace(split, X_train=split.X_train[keep], y_train=split.y_train[keep],
                     contaminated_train=split.contaminated_train[keep])
    cfg = ContrastiveConfig(loss="npair", train=TrainConfig(epochs=2, batch_size=32, device="cpu"))
    run = run_contrastive(lonely, cfg)
    assert np.isfinite(run.history.step_losses).all()


@pytest.mark.parametrize("kwargs, name", [({"loss": "magnet"}, "loss"), ({"temperature": 0.0}, "temperature"),
                                          ({"margin": -0.1}, "margin"), ({"knn_k": 0}, "knn_k")])
def test_config_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ContrastiveConfig(**kwargs)
