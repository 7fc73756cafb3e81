"""adlab.lessons.runs_out: the closing page's experiment (protocols, the strength knob, the verdict)."""

import numpy as np
import pytest
import torch

from adlab.data import DataError, Dataset
from adlab.data.upload import load_upload
from adlab.jobs import work
from adlab.jobs.progress import NullChannel, Progress
from adlab.lessons import runs_out as ro
from adlab.lessons import runs_out_text as rot
from tests.uploads import sample_csv, sample_image_zip

CANCER = ro.Source("breast_cancer", ("benign",))


@pytest.fixture(scope="module")
def cancer_default():
    """Every method and the sweep on breast cancer at the page's defaults (seed 0, strength 1)."""
    cfg = ro.RunsOutConfig()
    return ro.run_methods(CANCER, cfg), ro.sweep_strength(CANCER, cfg, ro.strength_grid(1.0))


# ----------------------------------------------------------------------------- protocols
@pytest.mark.parametrize("name, normal, n_normal, n_anomalies", [("breast_cancer", "benign", 357, 212),
                                                                  ("wine", "class_0", 59, 119)])
def test_builtin_tables_follow_goads_protocol_z_scored_on_training_rows(name, normal, n_normal, n_anomalies):
    raw = ro.builtin(name)
    assert raw.kind == "tabular" and raw.class_counts()[normal] == n_normal
    split, text = ro.make_split(ro.Source(name, (normal,)), seed=0)
    n_train = n_normal // 2
    assert len(split.X_train) == n_train, "half of the normal rows train"
    assert (split.y_train == raw.class_names.index(normal)).all(), "only normal rows train"
    assert len(split.X_test) == n_normal - n_train + n_anomalies, "the other half plus every anomaly"
    assert int(split.anomalous_test.sum()) == n_anomalies
    assert not set(split.train_index) & set(split.test_index)
    # z-scored with the training rows' statistics, applied unchanged to the test rows
    train_raw = raw.X[split.train_index].astype(np.float64)
    mean, std = train_raw.mean(0), train_raw.std(0)
    np.testing.assert_allclose(split.X_train.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(split.X_test, (raw.X[split.test_index] - mean) / std, rtol=1e-4, atol=1e-4)
    assert "GOAD's tabular protocol" in text and f"({n_train})" in text
    again, _ = ro.make_split(ro.Source(name, (normal,)), seed=0)
    other, _ = ro.make_split(ro.Source(name, (normal,)), seed=1)
    assert np.array_equal(again.train_index, split.train_index), "the same seed gives the same rows"
    assert not np.array_equal(np.sort(other.train_index), np.sort(split.train_index)), "the seed picks the half"


def test_digits_are_one_class_halves_with_the_whole_test_half():
    split, text = ro.make_split(ro.Source("digits", ("3",)), seed=0)
    assert split.kind == "image" and split.X_train.shape[1:] == (1, 8, 8)
    names = ro.builtin("digits").class_names
    assert {names[c] for c in split.y_train} == {"3"}
    np.testing.assert_array_equal(split.anomalous_test, np.array([names[c] != "3" for c in split.y_test]))
    assert len(split.X_test) == 1797 - 898, "every row of the test half: no cap on the anomalies"
    assert "one-class halves" in text


def test_a_large_table_is_cut_to_a_seeded_sample_keeping_the_anomaly_share():
    rng = np.random.default_rng(0)
    y = (rng.random(9000) < 0.2).astype(np.int64)
    ds = Dataset(rng.normal(size=(9000, 4)).astype(np.float32), y, ("normal", "attack"), "big.csv", "tabular")
    split, text = ro.make_split(ro.Source("upload:big", ("normal",), ds), seed=0)
    assert len(split.X_train) == ro.MAX_TRAIN and len(split.X_test) == ro.MAX_TEST
    full = (y == 1).sum() / ((y == 0).sum() - (y == 0).sum() // 2 + (y == 1).sum())
    assert split.anomalous_test.mean() == pytest.approx(full, abs=0.002)
    assert "seeded sample" in text


# ----------------------------------------------------------------------------- the strength knob
@pytest.mark.parametrize("kind, shape", [("image", (64, 1, 8, 8)), ("tabular", (64, 30))])
def test_strength_zero_is_the_identity_and_larger_strengths_move_the_views_further(kind, shape):
    x = torch.rand(shape) if kind == "image" else torch.randn(shape)
    assert torch.equal(ro.augmentation(kind, 0.0)(x, torch.Generator().manual_seed(0)), x)
    change = [ro.view_change(x.numpy(), kind, s, seed=0) for s in (0.0, 0.5, 1.0, 2.0)]
    assert change[0] == 0.0
    assert change[1] > 0.0 and change[3] > change[1]
    if kind == "tabular":  # the same draws, scaled noise and a growing mask: strictly ordered
        assert change == sorted(change) and len(set(change)) == 4
    with pytest.raises(ValueError, match="strength"):
        ro.augmentation(kind, 2.5)


def test_the_strength_reaches_simclrs_training_and_changes_its_auroc():
    cfg = ro.RunsOutConfig()
    assert ro.simclr_config(1.5, cfg).augment_strength == 1.5
    assert ro.strength_grid(0.75) == (0.0, 0.5, 0.75, 1.0, 1.5, 2.0)
    assert ro.strength_grid(1.0) == ro.STRENGTHS
    sweep = ro.sweep_strength(CANCER, cfg, (0.0, 2.0))
    assert sweep.change[0] == 0.0 < sweep.change[1]
    assert abs(sweep.auroc[0] - sweep.auroc[1]) > 0.01, "strength 0 and 2 train different encoders"
    assert sweep.at(2.0) == sweep.auroc[1]
    with pytest.raises(ValueError, match="not swept"):
        sweep.at(1.0)


# ----------------------------------------------------------------------------- reproducible, and what the page claims
def test_runs_are_reproducible_per_seed(cancer_default):
    run, sweep = cancer_default
    cfg = ro.RunsOutConfig()
    assert ro.run_methods(CANCER, cfg).auroc == run.auroc
    assert ro.sweep_strength(CANCER, cfg, (1.0,)).auroc == (sweep.at(1.0),)
    other = ro.run_methods(CANCER, ro.RunsOutConfig(seed=1))
    assert other.auroc != run.auroc, "another seed: another split and other weights"


def test_raw_knn_beats_the_contrastive_methods_on_the_table_at_the_defaults(cancer_default):
    """The page's default run: on breast cancer the contrastive methods lose to kNN on the raw rows."""
    run, sweep = cancer_default
    scores = ro.aurocs(run, sweep, 1.0)
    assert set(scores) == {"simclr", "droc", "goad", "knn", "iforest", "ocsvm"}, "no CSI on rows"
    assert scores["knn"] > 0.9
    assert scores["knn"] - scores["simclr"] > 0.3 and scores["knn"] - scores["droc"] > 0.2
    assert max(sweep.auroc) < scores["knn"], "no strength reaches raw kNN"
    assert sweep.untrained > max(sweep.auroc), "training at any strength made the encoder worse here"
    text = " ".join(rot.verdict([(run, sweep)], 1.0))
    assert "breast cancer (table): raw kNN wins" in text and "No strength reaches raw kNN" in text


# ----------------------------------------------------------------------------- the verdict is computed
def _run(title, kind, **auroc):
    return ro.DataRun(title, title, kind, "", 10, 10, 5, auroc, {m: 0.0 for m in auroc})


def _sweep(title, *auroc, untrained=0.9):
    grid = ro.STRENGTHS[: len(auroc)]
    return ro.Sweep(title, grid, auroc, untrained, (0.0,) * len(auroc), (0.0,) * len(auroc))


def test_the_verdict_follows_the_numbers():
    images = (_run("imgs", "image", droc=0.95, csi=0.91, goad=0.9, knn=0.90, iforest=0.8, ocsvm=0.85),
              _sweep("imgs", 0.90, 0.93, 0.92))
    tables = (_run("rows", "tabular", droc=0.45, goad=0.97, knn=0.96, iforest=0.9, ocsvm=0.9),
              _sweep("rows", 0.30, 0.40, 0.35))
    lines = rot.verdict([images, tables], 1.0)
    text = " ".join(lines)
    assert "imgs: DROC beats raw kNN" in text and "0.950 against 0.900 (+0.050)" in text
    assert "rows: raw kNN wins" in text and "DROC, 0.450 (-0.510)" in text
    assert "Below chance (0.5): SimCLR + kNN 0.350, DROC 0.450" in text
    assert "leads raw kNN by 0.050 on images and trails raw kNN by 0.510 on tables" in text
    assert "seminar's conclusion in numbers" in text
    tie = (_run("tie", "image", droc=0.902, csi=0.8, knn=0.90, iforest=0.8, ocsvm=0.8), None)
    assert "tie: a tie." in rot.verdict([tie], 1.0)[0]
    flipped = rot.verdict([(images[0], None), (_run("rows", "tabular", droc=0.99, knn=0.9, goad=0.5,
                                                    iforest=0.5, ocsvm=0.5), None)], 1.0)[-1]
    assert "not clearly harder" in flipped


def test_the_table_leaves_csi_blank_on_rows():
    out = rot.table([(_run("imgs", "image", droc=0.9, csi=0.8, goad=0.7, knn=0.6, iforest=0.5, ocsvm=0.4),
                     _sweep("imgs", 0.1, 0.2, 0.3)),
                    (_run("rows", "tabular", droc=0.9, goad=0.7, knn=0.6, iforest=0.5, ocsvm=0.4), None)], 1.0)
    assert out["method"][:3] == ["SimCLR + kNN", "DROC", "CSI"]
    assert out["imgs"][:3] == [0.3, 0.9, 0.8] and out["rows"][:3] == [None, 0.9, None]


# ----------------------------------------------------------------------------- uploads, jobs
def test_an_uploaded_table_runs_and_unusable_ones_say_why():
    good = ro.source_from_upload(load_upload("flows.csv", sample_csv()), "upload:flows")
    assert good.normal == ("normal",) and good.label == "flows.csv (your table)"
    run = ro.run_methods(good, ro.RunsOutConfig())
    assert run.auroc["knn"] > 0.9 and "GOAD's tabular protocol" in run.protocol
    cases = [
        (load_upload("bars.zip", sample_image_zip()), "holds images"),
        (load_upload("flows.csv", sample_csv(), label_column=None), "has no labels"),
        (load_upload("one.csv", b"a,b,class\n" + b"".join(b"%d,%d,ok\n" % (i, i) for i in range(20))),
         "single class"),
        (load_upload("few.csv", b"a,class\n" + b"".join(b"%d,%s\n" % (i, b"n" if i < 6 else b"x")
                                                       for i in range(30))), "at least 12"),
    ]
    for upload, message in cases:
        with pytest.raises(DataError, match=message):
            ro.source_from_upload(upload, "upload:x", normal="n" if upload.name == "few.csv" else None)


def test_the_lesson_job_kind_runs_only_what_jobs_lists():
    progress = Progress(NullChannel())
    sweep = work.lesson("runs_out", "sweep_strength", CANCER, ro.RunsOutConfig(), (1.0,), progress=progress)
    assert isinstance(sweep, ro.Sweep) and sweep.strengths == (1.0,)
    with pytest.raises(ValueError, match="no job 'make_split'"):
        work.lesson("runs_out", "make_split", CANCER, 0, progress=progress)
