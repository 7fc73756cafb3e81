"""adlab.experiment: one detector run on a split, the untrained 'before', and the per-method helpers."""

import numpy as np
import pytest
import torch

from adlab.data import load_digits, make_toy, one_class_split
from adlab.detectors import DeepSVDD
from adlab.device import seeded
from adlab.experiment import (
    MethodSpec,
    applicable,
    balanced_rows,
    group_identical,
    is_deep,
    label,
    methods,
    quick_params,
    run_detector,
    summary_rows,
    untrained,
)
from adlab.metrics import auroc
from adlab.views import csi_variant_metrics, goad_centre_map, scorer_grid, sphere_coordinates, transform_names


@pytest.fixture(scope="module")
def digits_split():
    return one_class_split(load_digits(), ["3"], seed=0, max_test=120)


@pytest.fixture(scope="module")
def toy_split():
    ds = make_toy("blobs", n=300, anomaly_fraction=0.1, seed=0)
    normal = [c for c in ds.class_names if c != "anomaly"]
    return one_class_split(ds, normal, seed=0)


def test_registry_and_quick_params():
    deep, shallow = methods(family="deep"), methods(family="baseline")
    assert deep == ("deepsvdd", "goad", "droc", "csi") and shallow == ("knn", "iforest", "ocsvm")
    assert methods() == deep + shallow and methods("tabular") == ("deepsvdd", "goad", "droc", "knn", "iforest", "ocsvm")
    assert is_deep("goad") and not is_deep("knn") and label("knn") == "kNN (raw input)"
    assert applicable("csi", "image") and not applicable("csi", "tabular")
    with pytest.raises(ValueError, match="images only"):
        quick_params("csi", "tabular")
    assert quick_params("droc", "tabular")["distribution_augmentation"] is False
    with pytest.raises(ValueError, match="kind"):
        applicable("goad", "video")


def test_quick_params_follow_the_image_size():
    """Grey MNIST-sized images get the MNIST benchmarks' presets for DROC and CSI; nothing else changes."""
    from adlab.detectors import CSI, DROC

    for method, cls in (("csi", CSI), ("droc", DROC)):
        spec = MethodSpec.quick(method, "image", input_shape=(1, 28, 28), seed=0)
        preset = {k: v for k, v in cls.preset("mnist").get_params().items() if k not in ("seed", "device")}
        assert {k: v for k, v in spec.build(device="cpu").get_params().items() if k in preset} == preset
        for small in ((1, 8, 8), (3, 32, 32), None):  # digits, colour images, shape unknown
            assert quick_params(method, "image", small) == quick_params(method, "image")
    assert quick_params("goad", "image", (1, 28, 28)) == quick_params("goad", "image")
    assert quick_params("csi", "image", (1, 28, 28))["crop_scale"] == 1.0
    assert MethodSpec.quick("csi", "image", input_shape=(1, 28, 28), epochs=2).kwargs["epochs"] == 2  # overrides win


def test_method_spec_validates_and_is_hashable():
    spec = MethodSpec.of("goad", epochs=2, lr=1e-3)
    assert spec == MethodSpec.of("goad", lr=1e-3, epochs=2) and hash(spec) == hash(MethodSpec.of("goad", lr=1e-3, epochs=2))
    with pytest.raises(ValueError, match="method"):
        MethodSpec("svdd")
    with pytest.raises(ValueError, match="'epochz'"):
        MethodSpec.of("deepsvdd", epochz=3)
    # the seed goes only where the detector has one
    assert "seed" not in MethodSpec.quick("knn", "image", seed=3).kwargs
    assert MethodSpec.quick("iforest", "image", seed=3).kwargs["seed"] == 3
    det = MethodSpec.of("deepsvdd", epochs=1).build(device="cpu")
    assert isinstance(det, DeepSVDD) and det.device == "cpu"


def test_deep_run_has_before_and_after(digits_split):
    events = []
    run = run_detector(digits_split, MethodSpec.of("deepsvdd", epochs=2, seed=0), device="cpu",
                       callbacks=[events.append])
    n = len(digits_split.X_test)
    assert run.scores.shape == (n,) and run.is_anomaly.sum() > 0
    assert set(run.metrics) == {"auroc", "auprc", "f1"} and run.metrics["auroc"] > 0.8
    assert run.metrics["auroc"] == pytest.approx(auroc(digits_split.anomalous_test, run.scores))
    assert run.test_after.shape == run.test_before.shape == (n, 32)
    assert not np.allclose(run.test_after, run.test_before), "training must move the features"
    assert run.scores_before.shape == (n,) and run.metrics_before is not None
    assert run.fit_seconds > 0 and run.score_seconds >= 0
    assert events and events[-1].kind == "end" and run.history.epoch_losses
    # 'before' is the same detector at initialisation: same seed, zero steps, same centre c
    fresh = run.untrained
    assert fresh.history_.step_losses == [] and not fresh.trained_ and run.detector.trained_
    np.testing.assert_allclose(fresh.center_, run.detector.center_)
    assert fresh.collapse_ratio_ == pytest.approx(1.0, rel=1e-3)
    np.testing.assert_array_equal(run.scores_before, fresh.anomaly_score(digits_split.X_test))


def test_untrained_rejects_baselines(digits_split):
    with pytest.raises(ValueError, match="not a deep detector"):
        untrained(MethodSpec.of("knn"), digits_split.X_train)
    with pytest.raises(ValueError, match="no untrained state"):
        MethodSpec.of("iforest").build().fit_untrained(digits_split.X_train)


@pytest.mark.parametrize("method", ["deepsvdd", "goad", "droc", "csi"])
def test_untrained_is_the_initial_network_without_a_step(digits_split, method):
    """fit_untrained: the weights a real fit starts from (same seed), no step, an empty history; BatchNorm
    keeps its default running statistics unless the method recalibrates them (Deep SVDD does)."""
    spec = MethodSpec.quick(method, "image", seed=0, epochs=1)
    fresh = untrained(spec, digits_split.X_train, device="cpu")
    with seeded(0):
        initial = spec.build("cpu")._build(fresh.input_shape_)
    params = dict(fresh.model_.named_parameters())
    for name, p in initial.named_parameters():
        assert torch.equal(params[name], p), name
    trained = spec.build("cpu").fit(digits_split.X_train)
    assert any(not torch.equal(params[n], p) for n, p in trained.model_.named_parameters()), "fit moves the weights"
    assert not fresh.trained_ and trained.trained_ and fresh.history_.step_losses == [] and fresh.untrained_note
    norms = [m for m in fresh.model_.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    at_default = all(torch.equal(m.running_mean, torch.zeros_like(m.running_mean)) for m in norms)
    assert norms and at_default == (method != "deepsvdd")
    again = untrained(spec, digits_split.X_train, device="cpu")
    np.testing.assert_array_equal(again.anomaly_score(digits_split.X_test), fresh.anomaly_score(digits_split.X_test))
    assert not np.array_equal(trained.anomaly_score(digits_split.X_test), fresh.anomaly_score(digits_split.X_test))


def test_baseline_run_embeds_the_raw_input(toy_split):
    run = run_detector(toy_split, MethodSpec.quick("knn", "tabular"))
    assert run.test_before is run.test_after and run.scores_before is None and run.history is None
    assert run.test_after.shape == toy_split.X_test.shape  # 2-D toy rows, z-scored
    assert run.metrics["auroc"] > 0.8


def test_csi_refuses_tabular_data(toy_split):
    with pytest.raises(ValueError, match="images only"):
        run_detector(toy_split, MethodSpec.of("csi", epochs=1))


def test_sphere_coordinates():
    feats = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])
    r, theta = sphere_coordinates(feats + 5.0, np.array([5.0, 5.0]))
    np.testing.assert_allclose(r, [1.0, 2.0, 3.0])
    assert theta.shape == (3,) and np.isfinite(theta).all()
    with pytest.raises(ValueError, match="features"):
        sphere_coordinates(np.zeros((3, 4)), np.zeros(2))


def test_sphere_radius_is_the_square_root_of_the_svdd_score(toy_split):
    run = run_detector(toy_split, MethodSpec.of("deepsvdd", epochs=2), device="cpu", before=False)
    assert run.test_before is None and run.untrained is None
    r, _ = sphere_coordinates(run.test_after, run.detector.center_)
    np.testing.assert_allclose(r**2, run.scores, rtol=1e-4, atol=1e-6)


def test_goad_helpers(digits_split, toy_split):
    run = run_detector(digits_split, MethodSpec.quick("goad", "image", epochs=1), device="cpu", before=False)
    assert transform_names(run.detector) == ["rot 0", "rot 90", "rot 180", "rot 270"]
    rows = balanced_rows(run.is_anomaly, 5, seed=0)
    assert len(rows) == 10 and run.is_anomaly[rows].sum() == 5
    cmap = goad_centre_map(run.detector, digits_split.X_test, rows)
    assert cmap.points.shape == (40, 2) and cmap.centres.shape == (4, 2)
    assert list(cmap.transform[:4]) == [0, 1, 2, 3] and list(cmap.row[:4]) == [rows[0]] * 4
    assert cmap.explained > 0.5  # 4 centres in a plane: the two main axes keep most of their spread
    assert cmap.own_centre.shape == (40,) and cmap.means is None and np.isnan(cmap.offset)
    # with the training rows: the clusters' own centres, computed as the points are (eval mode)
    with_means = goad_centre_map(run.detector, digits_split.X_test, rows, X_train=digits_split.X_train)
    assert with_means.means.shape == (4, 2) and np.isfinite(with_means.offset) and with_means.spread > 0
    feats = run.detector.features(digits_split.X_train).astype(np.float64).mean(axis=0)  # (M, d)
    expect = np.linalg.norm(np.asarray(run.detector.centers_, np.float64) - feats, axis=1).mean()
    assert with_means.offset == pytest.approx(expect, rel=1e-5)
    np.testing.assert_allclose(with_means.points, cmap.points)
    tab = run_detector(toy_split, MethodSpec.quick("goad", "tabular", n_transforms=6, epochs=1), device="cpu",
                       before=False)
    assert transform_names(tab.detector) == [f"W{m}" for m in range(1, 7)]


def test_droc_scorer_grid_needs_no_retraining(digits_split):
    run = run_detector(digits_split, MethodSpec.of("droc", epochs=1), device="cpu", before=False)
    det = run.detector
    weights = [p.detach().clone() for p in det.model_.parameters()]
    feats = det.transform(digits_split.X_test)
    grid = scorer_grid(det, feats, run.is_anomaly)
    assert len(grid) == 8 and {(r["features"], r["scorer"]) for r in grid} >= {("encoder", "gaussian"), ("head", "knn")}
    mine = next(r for r in grid if (r["features"], r["scorer"]) == (det.features, det.scorer))
    assert mine["auroc"] == pytest.approx(run.metrics["auroc"])
    assert all(np.array_equal(a, b.detach()) for a, b in zip(weights, det.model_.parameters(), strict=True))


def test_csi_variants_include_the_detector_score(digits_split):
    run = run_detector(digits_split, MethodSpec.of("csi", epochs=1), device="cpu", before=False)
    terms = run.detector.score_terms(digits_split.X_test)
    variants = csi_variant_metrics(terms, run.is_anomaly)
    assert list(variants) == ["s_con", "s_con_si", "s_cls_si", "s_csi"]
    assert variants["s_csi"]["auroc"] == pytest.approx(run.metrics["auroc"])


def test_summary_and_grouping():
    a, b = np.ones((4, 2)), np.zeros((4, 2))
    groups = group_identical({"knn": a, "goad": b, "ocsvm": a.copy()})
    assert list(groups) == [("knn", "ocsvm"), ("goad",)]
    with pytest.raises(ValueError, match="per_class"):
        balanced_rows(np.array([True, False]), 0)


def test_summary_rows(toy_split):
    runs = {name: run_detector(toy_split, MethodSpec.quick(name, "tabular")) for name in ("knn", "ocsvm")}
    rows = summary_rows(runs)
    assert [r["method"] for r in rows] == ["kNN (raw input)", "OC-SVM (raw input)"]
    assert set(rows[0]) == {"method", "AUROC", "AUPRC", "F1", "fit (s)", "score (s)"}


def test_score_unlabelled_fits_a_sample_and_scores_every_row():
    from adlab import viz
    from adlab.experiment import MethodSpec, score_unlabelled

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(300, 4)), rng.normal(6, 1, size=(6, 4))]).astype(np.float32)
    run = score_unlabelled(X, MethodSpec.quick("iforest", "tabular", seed=0), seed=3, max_train=100, max_sample=50)
    assert run.scores.shape == (306,) and len(run.train_index) == 100 and run.features.shape == (50, 4)
    assert set(np.argsort(-run.scores)[:6]) == set(range(300, 306)), "the six far rows rank first"
    again = score_unlabelled(X, MethodSpec.quick("iforest", "tabular", seed=0), seed=3, max_train=100, max_sample=50)
    np.testing.assert_array_equal(again.train_index, run.train_index)
    fig = viz.score_distribution_figure(run.scores, 0.02)
    assert fig.data[0].type == "histogram" and "top 2%" in fig.layout.annotations[0].text
    fig = viz.embedding_by_score_figure(rng.normal(size=(50, 2)), run.scores[run.sample_index])
    assert fig.data[0].marker.color[-1] == run.scores[run.sample_index].max()  # the highest drawn last, on top
    with pytest.raises(ValueError, match="images only"):
        score_unlabelled(X, MethodSpec.quick("csi", "image"))
