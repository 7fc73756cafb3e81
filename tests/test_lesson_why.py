"""The lesson "Why contrastive features help" (adlab/lessons/why_contrastive*.py): label noise flips exactly what
it says, runs repeat bit for bit, the read-outs do what their docstrings say, and at the page's defaults the
three claims the page makes hold (CE memorises the noise while contrastive read-outs stay high; CE + λ·SimCLR
beats CE alone on noisy labels; SupCon pre-training + a linear probe beats CE at both label budgets)."""

import dataclasses

import numpy as np
import pytest
import torch

from adlab.jobs.progress import NullChannel, Progress
from adlab.jobs.spec import JobSpec
from adlab.jobs.work import run_spec
from adlab.lessons import why_contrastive as why
from adlab.lessons import why_contrastive_core as core

TINY = dict(epochs=2)


def _progress(channel: NullChannel | None = None) -> Progress:
    return Progress(channel or NullChannel())


def _run(function: str, cfg):
    """``why.<function>(cfg)``, then torch's thread count put back as it was: ``adlab.projection.umap_2d`` (umap-learn
    restoring numba's default thread count, which is OpenMP's, shared with torch) leaves it at the core count, and a
    second run would then train on two threads, with other rounding."""
    threads = torch.get_num_threads()
    try:
        return getattr(why, function)(cfg, progress=_progress())
    finally:
        torch.set_num_threads(threads)


# ----------------------------------------------------------------------------- label noise
@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.2, 0.4, 0.8])
@pytest.mark.parametrize("n", [10, 997, 1000])
def test_flip_labels_flips_exactly_the_requested_fraction_and_never_to_the_true_class(fraction, n):
    y = np.arange(n) % 10
    noisy = core.flip_labels(y, fraction, n_classes=10, seed=3)
    wrong = noisy != y
    assert wrong.sum() == round(fraction * n), "exactly round(fraction * n) labels change"
    assert noisy.dtype == np.int64 and noisy.min() >= 0 and noisy.max() <= 9
    np.testing.assert_array_equal(noisy[~wrong], y[~wrong])


def test_flip_labels_is_reproducible_bit_for_bit_and_moves_with_the_seed():
    y = np.random.default_rng(0).integers(0, 10, 1000)
    a, b = (core.flip_labels(y, 0.4, n_classes=10, seed=7) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    other = core.flip_labels(y, 0.4, n_classes=10, seed=8)
    assert (other != a).any()
    y_copy = y.copy()
    core.flip_labels(y, 0.4, n_classes=10, seed=7)
    np.testing.assert_array_equal(y, y_copy)  # the input is left alone
    # every wrong class is reachable: the flips are spread over the 9 other classes
    shift = (a - y) % 10
    assert set(np.unique(shift[a != y])) == set(range(1, 10))


@pytest.mark.parametrize("bad", [-0.1, 0.95])
def test_flip_labels_rejects_a_fraction_out_of_range(bad):
    with pytest.raises(ValueError, match="fraction"):
        core.flip_labels(np.zeros(10, dtype=int), bad, n_classes=10, seed=0)


def test_the_split_is_seeded_and_the_test_set_is_disjoint():
    a, b = core.digits(797, 0), core.digits(797, 0)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert a.X_train.shape == (1000, 1, 8, 8) and a.X_test.shape == (797, 1, 8, 8)
    assert not np.array_equal(core.digits(797, 1).y_test, a.y_test)
    train_rows = {row.tobytes() for row in a.X_train}
    assert sum(row.tobytes() in train_rows for row in a.X_test) < 20, "at most the digits' own duplicates"


# ----------------------------------------------------------------------------- read-outs
def test_knn_votes_the_majority_and_breaks_ties_towards_the_nearest():
    train = np.array([[1.0, 0.0], [1.0, 0.1], [1.0, -0.1], [0.0, 1.0], [0.1, 1.0]])
    labels = np.array([0, 0, 1, 2, 2])
    test = np.array([[1.0, 0.01], [0.05, 1.0]])
    np.testing.assert_array_equal(core.knn_predict(train, labels, test, k=3), [0, 2])
    # one neighbour each of 0 and 1 at k = 2: the nearer one (label 0 at [1, 0]) wins
    assert core.knn_predict(train, labels, np.array([[1.0, -0.001]]), k=2)[0] == 0
    with pytest.raises(ValueError, match="k must"):
        core.knn_predict(train, labels, test, k=6)


def test_the_linear_probes_fit_separable_classes_and_ignore_a_minority_of_wrong_labels():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 8)) * 3
    y = np.repeat(np.arange(4), 50)
    X = centres[y] + rng.normal(size=(200, 8))
    noisy = core.flip_labels(y, 0.3, n_classes=4, seed=0)
    for probe in (core.ridge_probe, core.linear_probe):
        assert core.accuracy(probe(X, y, X, n_classes=4), y) > 0.97
        assert core.accuracy(probe(X, noisy, X, n_classes=4), y) > 0.9, probe.__name__
    np.testing.assert_array_equal(core.linear_probe(X, y, X, n_classes=4), core.linear_probe(X, y, X, n_classes=4))


def test_labelled_rows_keep_the_fraction_of_every_class():
    y = np.repeat(np.arange(10), 100)
    rows = why.labelled_rows(y, 0.1, seed=0)
    assert np.bincount(y[rows]).tolist() == [10] * 10
    assert np.bincount(y[why.labelled_rows(y, 0.001, seed=0)]).tolist() == [1] * 10, "every class keeps a label"
    np.testing.assert_array_equal(rows, why.labelled_rows(y, 0.1, seed=0))


def test_few_rows_get_as_many_optimiser_steps_as_all_rows():
    cfg = why.Common(epochs=20)
    assert why._same_steps(cfg, 1000, 1000, 128) == 20
    assert why._same_steps(cfg, 100, 1000, 128) == 20 * 7  # one (short) batch per epoch
    assert why._same_steps(cfg, 300, 1000, 128) == 20 * 7 // 2


def test_the_network_starts_the_same_for_a_seed_and_leaves_global_state_alone():
    state = torch.random.get_rng_state()
    a, b = core.build_net((1, 8, 8), 10, 5), core.build_net((1, 8, 8), 10, 5)
    assert torch.equal(torch.random.get_rng_state(), state)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    x = torch.rand(3, 1, 8, 8)
    assert a.logits(x).shape == (3, 10) and a(x).shape == (3, core.HEAD_DIM)


def test_the_views_drop_the_mirror_flip_unless_asked():
    from adlab.augment import RandomFlip

    assert not any(isinstance(t, RandomFlip) for t in core.augmentation().transforms)
    assert any(isinstance(t, RandomFlip) for t in core.augmentation(flip=True).transforms)


# ----------------------------------------------------------------------------- the three runs, small
@pytest.mark.parametrize("function, cfg", [
    ("label_noise", why.NoiseConfig(**TINY)),
    ("mixed_loss", why.MixConfig(**TINY)),
    ("pretraining", why.PretrainConfig(**TINY, fraction=0.05)),
])
def test_each_run_repeats_bit_for_bit(function, cfg):
    first, second = _run(function, cfg), _run(function, cfg)
    for field in dataclasses.fields(first):
        if field.name in ("config", "seconds"):
            continue
        a, b = getattr(first, field.name), getattr(second, field.name)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=field.name)


def test_the_job_kind_lesson_runs_each_job_and_counts_the_epochs_of_all_trainings():
    assert why.JOBS == ("label_noise", "mixed_loss", "pretraining")
    channel = NullChannel()
    cfg = why.NoiseConfig(**TINY)
    res = run_spec(JobSpec("lesson", ("why_contrastive", "label_noise", cfg), {}, seed=0, device="cpu", label="x"),
                   Progress(channel))
    assert isinstance(res, why.NoiseResult) and res.ce.shape == (3,)
    assert {u["epochs"] for u in channel.updates if u.get("epochs")} == {3 * 2}, "one bar over the three trainings"
    with pytest.raises(Exception, match="no job"):
        run_spec(JobSpec("lesson", ("why_contrastive", "digits", 797, 0), {}, seed=0, device="cpu", label="x"),
                 Progress(NullChannel()))


def test_a_cancelled_job_stops_before_training():
    from adlab.jobs.errors import JobCancelled

    channel = NullChannel()
    channel.cancel_requested = True
    spec = JobSpec("lesson", ("why_contrastive", "mixed_loss", why.MixConfig(**TINY)), {}, seed=0, device="cpu",
                   label="x")
    with pytest.raises(JobCancelled):
        run_spec(spec, Progress(channel))


@pytest.mark.parametrize("make, match", [
    (lambda: why.NoiseConfig(noise=0.9), "noise"),
    (lambda: why.NoiseConfig(readout="svm"), "readout"),
    (lambda: why.MixConfig(loss="triplet"), "loss"),
    (lambda: why.MixConfig(lam=-1.0), "lam"),
    (lambda: why.PretrainConfig(fraction=1.0), "fraction"),
    (lambda: why.PretrainConfig(epochs=0), "epochs"),
])
def test_bad_settings_fail_early_naming_the_setting(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ----------------------------------------------------------------------------- the page's claims, at its defaults
def test_at_the_defaults_ce_memorises_the_noise_while_contrastive_read_outs_stay_high():
    r = why.label_noise(why.NoiseConfig(), progress=_progress())
    assert r.n_flipped == 400 and r.epochs[-1] == 20
    assert r.ce.max() > 0.88, "CE first learns the digits"
    assert r.ce[-1] < r.ce.max() - 0.15, "then loses it as it memorises the flipped labels"
    assert r.memorised[-1] > 0.3 and r.memorised[-1] > 3 * r.memorised[3]
    for name in ("supcon", "simclr"):
        curve = getattr(r, name)
        assert curve[-1] > r.ce[-1] + 0.15, name
        assert curve.min() > 0.85, f"{name}: the read-out never collapses"
    # and CE without noise does not fall: the drop is the noise's doing
    clean = why.label_noise(why.NoiseConfig(noise=0.0, epochs=8), progress=_progress())
    assert clean.ce[-1] > 0.95 and clean.n_flipped == 0


def test_at_the_defaults_a_simclr_term_beside_ce_keeps_the_classifier_accurate_on_noisy_labels():
    r = _run("mixed_loss", why.MixConfig())
    assert r.accuracy_mix > r.accuracy_ce + 0.05
    assert r.knn_mix > r.knn_ce + 0.03
    assert r.map_ce.shape == r.map_mix.shape == (797, 2)


def test_at_the_defaults_supcon_pretraining_and_a_probe_beat_ce_at_both_label_budgets():
    r = why.pretraining(why.PretrainConfig(), progress=_progress())
    assert r.n_labels.tolist() == [100, 1000]
    assert (r.pretrained > r.ce).all(), (r.pretrained, r.ce)
    assert (r.pretrained > r.untrained + 0.02).all(), "the pre-training, not the probe alone, does it"
    assert r.pretrained[0] < r.pretrained[1] and r.ce[0] < r.ce[1]
