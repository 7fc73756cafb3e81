"""The experiment every loss page runs: train with one loss, score with kNN before and after."""

import json

import numpy as np
import pytest

from adlab import registry
from adlab.contrastive import ContrastiveConfig, run_contrastive
from adlab.data import load_digits, make_toy, one_class_split
from adlab.losses import NPairConfig, SimCLRConfig, SupConConfig, TripletConfig
from adlab.train import TrainConfig

LOSSES = registry.loss_names()


def _auroc(is_anomaly: np.ndarray, scores: np.ndarray) -> float:
    """P(an anomaly scores above a normal point), ties counted half (Mann-Whitney), by a double loop."""
    anom, norm = scores[is_anomaly], scores[~is_anomaly]
    wins = (anom[:, None] > norm[None, :]).sum() + 0.5 * (anom[:, None] == norm[None, :]).sum()
    return float(wins / (len(anom) * len(norm)))


@pytest.fixture(scope="module")
def digits_split():
    return one_class_split(load_digits(), ["1", "2", "3", "4", "5", "6", "7"], ["0", "8", "9"], seed=0, max_test=300)


@pytest.mark.parametrize("loss", LOSSES)
def test_each_loss_runs_and_reports_before_and_after(loss, digits_split):
    knobs = {"temperature": 0.5} if "temperature" in registry.loss(loss).Config.__dataclass_fields__ else {}
    cfg = ContrastiveConfig.for_loss(loss, TrainConfig(epochs=2, batch_size=64, device="cpu"), **knobs)
    assert cfg.loss_name == loss
    run = run_contrastive(digits_split, cfg)
    n = len(digits_split.X_test)
    assert run.test_before.shape[0] == run.test_after.shape[0] == n
    assert run.scores_before.shape == run.scores_after.shape == (n,)
    assert np.isfinite(run.scores_after).all() and run.scores_after.std() > 0
    for m, scores in ((run.metrics_before, run.scores_before), (run.metrics_after, run.scores_after)):
        assert m["auroc"] == pytest.approx(_auroc(run.is_anomaly, scores), abs=1e-12)
    # 0, 8 and 9 against 1-7: the untrained encoder's kNN score is already good (0.95), two epochs keep it so
    assert run.metrics_before["auroc"] > 0.9 and run.metrics_after["auroc"] > 0.9
    assert set(run.geometry_after) == {"alignment", "uniformity"}
    assert len(run.history.epoch_losses) == 2
    assert not np.allclose(run.test_before, run.test_after)  # training changed the encoder
    if loss == "triplet":
        assert len(run.triplet_counts) == 2 and all(c["total"] > 0 for c in run.triplet_counts)
        assert all(c["easy"] + c["semi_hard"] + c["hard"] == c["total"] for c in run.triplet_counts)
    else:
        assert run.triplet_counts == []


def test_supcon_training_improves_the_knn_auroc_on_digits(digits_split):
    cfg = ContrastiveConfig.for_loss("supcon", TrainConfig(epochs=15, batch_size=128, device="cpu"), temperature=0.1)
    run = run_contrastive(digits_split, cfg)
    assert run.metrics_after["auroc"] > run.metrics_before["auroc"] + 0.01
    # a random encoder maps everything close together (tiny alignment, poor uniformity); training spreads it
    assert run.geometry_after["uniformity"] < run.geometry_before["uniformity"]


def test_same_seed_same_numbers(digits_split):
    cfg = ContrastiveConfig(SimCLRConfig(), train=TrainConfig(epochs=1, batch_size=64, device="cpu", seed=3))
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
    cfg = ContrastiveConfig("npair", train=TrainConfig(epochs=2, batch_size=32, device="cpu"))
    run = run_contrastive(lonely, cfg)
    assert np.isfinite(run.history.step_losses).all()


@pytest.mark.parametrize("loss, knobs, message", [
    ("magnet", {}, "loss must be one of triplet, npair, supcon, simclr"),
    ("simclr", {"temperature": 0.0}, "temperature must be a finite number > 0"),
    ("supcon", {"variant": "both"}, "variant must be one of 'out', 'in'"),
    ("triplet", {"margin": -0.1}, "margin must be a finite number >= 0"),
    ("triplet", {"mining": "hardest"}, "mining must be one of"),
    ("triplet", {"distance": "cosine"}, "distance must be one of 'squared_euclidean', 'euclidean'"),
    ("npair", {"l2_reg": -1}, "l2_reg"),
    ("simclr", {"knn_k": 0}, "knn_k must be >= 1"),
    ("supcon", {"margin": 0.2}, "unknown setting.s. margin for the loss 'supcon'; its settings are temperature, "
                                "use_labels, variant"),
    ("triplet", {"squared": True}, "unknown setting.s. squared for the loss 'triplet'"),
])
def test_config_validation(loss, knobs, message):
    with pytest.raises(ValueError, match=message):
        ContrastiveConfig.for_loss(loss, TrainConfig(), **knobs)


def test_config_routes_knobs_names_its_loss_and_round_trips():
    train = TrainConfig(epochs=3, seed=4, betas=(0.5, 0.999))
    cfg = ContrastiveConfig.for_loss("triplet", train, margin=0.3, distance="euclidean", knn_k=7)
    assert cfg.loss == TripletConfig(margin=0.3, mining="semi-hard", distance="euclidean")
    assert (cfg.knn_k, cfg.train, cfg.loss_name, cfg.positives) == (7, train, "triplet", "class")
    assert ContrastiveConfig("triplet").loss == TripletConfig()  # a name means the loss's defaults
    assert ContrastiveConfig().loss == SimCLRConfig()
    flat = json.loads(json.dumps(cfg.to_dict()))  # plain values, as in a config.json
    assert flat["loss"] == "triplet" and flat["margin"] == 0.3 and "temperature" not in flat
    assert ContrastiveConfig.from_dict(flat) == cfg
    assert hash(cfg) == hash(ContrastiveConfig.for_loss("triplet", train, margin=0.3, distance="euclidean", knn_k=7))
    with pytest.raises(ValueError, match="Config of a registered loss"):
        ContrastiveConfig(loss=object())


@pytest.mark.parametrize("loss_cfg, positives", [
    (TripletConfig(), "class"), (NPairConfig(), "class"), (SupConConfig(), "class"),
    (SupConConfig(use_labels=False), "augmentation"), (SimCLRConfig(), "augmentation"),
])
def test_positives_come_from_the_loss(loss_cfg, positives):
    assert ContrastiveConfig(loss_cfg).positives == positives
