"""The lesson "Which augmentation is a shift?" (adlab/lessons/shift.py): what each mode trains on, that a seed
reproduces a run bit for bit, that rotation as a shifted negative beats not using it at the defaults, the
criterion's reading of a result, and the job path."""

import numpy as np
import pytest
import torch

from adlab.augment import Compose
from adlab.data import load_digits, one_class_split
from adlab.jobs.progress import NullChannel, Progress
from adlab.jobs.spec import JobSpec
from adlab.jobs.work import run_spec
from adlab.lessons import shift
from adlab.metrics import auroc, knn_score

TINY = dict(classes=(0, 7), epochs=3)  # two digits, 3 steps each: a second or two for the three modes


def _progress() -> Progress:
    return Progress(NullChannel())


def _batch(n: int = 6) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0))


def _which(view: torch.Tensor, x: torch.Tensor, shifts: shift.Shifts) -> list[int]:
    """For each row of ``view``, the index k with ``view[i] == T_k x[i]`` (-1: none)."""
    copies = shifts.all(x, torch.Generator())  # (K, n, 1, 8, 8); rotation has no random part
    return [next((k for k in range(shifts.n) if torch.equal(view[i], copies[k, i])), -1) for i in range(len(x))]


def test_the_three_modes_train_on_different_views():
    """With the base augmentation off, the views show where T went: nowhere, into a pair, or into new instances."""
    x, shifts, none = _batch(32), shift.TRANSFORMS["rotation"], Compose([])
    g = torch.Generator().manual_seed(1)

    v1, v2 = shift.train_views("unused", x, shifts, none, g)
    assert torch.equal(v1, x) and torch.equal(v2, x), "not used: both views are the image itself"

    v1, v2 = shift.train_views("positive", x, shifts, none, g)
    assert v1.shape == v2.shape == x.shape, "as a positive: still one pair per image"
    k1, k2 = _which(v1, x, shifts), _which(v2, x, shifts)
    assert -1 not in k1 + k2, "every view is a rotation of its own image"
    assert set(k1) == set(k2) == {0, 1, 2, 3}, "all four rotations are drawn"
    assert any(a != b for a, b in zip(k1, k2, strict=True)), "the two views of a pair are rotated independently"

    v1, v2 = shift.train_views("negative", x, shifts, none, g)
    assert v1.shape == (4 * 32, 1, 8, 8), "as a shifted negative: K B instances"
    assert torch.equal(v1, v2), "both views of an instance carry the same rotation"
    for k in range(4):
        assert torch.equal(v1[k * 32:(k + 1) * 32], torch.rot90(x, k, dims=(2, 3))), f"rows of rotation {k}"
    with pytest.raises(ValueError, match="mode"):
        shift.train_views("sideways", x, shifts, none, g)


@pytest.mark.parametrize("name", list(shift.TRANSFORMS))
def test_every_transformation_starts_with_the_identity_and_changes_the_image(name):
    shifts, x, g = shift.TRANSFORMS[name], _batch(), torch.Generator().manual_seed(0)
    copies = shifts.all(x, g)
    assert copies.shape == (shifts.n, *x.shape) and len(shifts.names) == shifts.n >= 2
    assert torch.equal(copies[0], x)
    assert all(not torch.allclose(copies[k], x) for k in range(1, shifts.n))
    assert float(copies.min()) >= 0.0 and float(copies.max()) <= 1.0


def test_a_seed_reproduces_a_run_bit_for_bit_and_modes_differ():
    cfg = shift.ShiftConfig(**TINY)
    a, b = shift.compare(cfg, progress=_progress()), shift.compare(cfg, progress=_progress())
    for name in ("auroc", "final_loss", "untrained_auroc", "raw_auroc"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.auroc.shape == (3, 2) and a.modes == shift.MODES and a.classes == (0, 7)
    assert len({tuple(row) for row in a.final_loss}) == 3, "three different trainings"
    other = shift.compare(shift.ShiftConfig(**TINY, seed=1), progress=_progress())
    assert not np.array_equal(a.auroc, other.auroc), "another seed, another run"


def test_the_references_are_the_runs_starting_point_and_the_pixels():
    cfg = shift.ShiftConfig(classes=(7,), modes=("unused",), epochs=2)
    res = shift.compare(cfg, progress=_progress())
    split = one_class_split(load_digits(), 7, seed=0)
    start = shift._model(cfg)  # the initial weights every run of cfg starts from

    def features(X):
        return start.eval().features(torch.from_numpy(X)).detach().numpy()

    untrained = auroc(split.anomalous_test, knn_score(features(split.X_train), features(split.X_test), k=5))
    raw = auroc(split.anomalous_test, knn_score(split.X_train.reshape(-1, 64), split.X_test.reshape(-1, 64), k=5))
    assert res.untrained_auroc[0] == pytest.approx(untrained, abs=1e-12)
    assert res.raw_auroc[0] == pytest.approx(raw, abs=1e-12) and raw > 0.95, "kNN on these digits is strong already"
    assert res.auroc[0, 0] != res.untrained_auroc[0], "training moved the features"


def test_at_the_defaults_rotation_as_a_shifted_negative_beats_not_using_it():
    """The lesson's point, on all ten digits at the page's defaults (only the two modes it compares)."""
    cfg = shift.ShiftConfig(modes=("unused", "negative"))
    assert (cfg.transform, cfg.classes) == ("rotation", tuple(range(10)))
    res = shift.compare(cfg, progress=_progress())
    unused, negative = res.auroc
    assert negative.mean() > unused.mean() + 0.05, res.mean
    assert int((negative > unused).sum()) >= 8, (unused, negative)
    assert negative.mean() > 0.93
    v = shift.verdict(res)
    assert v.helps_as_negative and v.shift and v.best == "negative" and v.as_positive is None


def _result(**mean: float) -> shift.ShiftResult:
    modes = tuple(m for m in shift.MODES if m in mean)
    cfg = shift.ShiftConfig(classes=(3,), modes=modes)
    column = np.array([[mean[m]] for m in modes])
    return shift.ShiftResult(cfg, column, np.zeros_like(column), np.zeros_like(column), np.ones(1), np.ones(1), "cpu")


def test_the_verdict_reads_the_criterion():
    csi = shift.verdict(_result(unused=0.90, positive=0.85, negative=0.95))
    assert csi.hurts_as_positive and csi.helps_as_negative and csi.shift and csi.best == "negative"
    assert csi.as_positive == pytest.approx(-0.05) and csi.as_negative == pytest.approx(0.05)
    mild = shift.verdict(_result(unused=0.90, positive=0.93, negative=0.95))
    assert not mild.hurts_as_positive and mild.shift, "better as a shift although it helps as a positive too"
    augmentation = shift.verdict(_result(unused=0.90, positive=0.95, negative=0.92))
    assert augmentation.best == "positive" and not augmentation.shift
    tie = shift.verdict(_result(unused=0.900, positive=0.897, negative=0.903))
    assert tie.hurts_as_positive is False and tie.helps_as_negative is False and not tie.shift and tie.best is None
    either = shift.verdict(_result(unused=0.87, positive=0.968, negative=0.966))
    assert either.best is None and either.helps_as_negative and not either.shift, "helps both ways, about equally"
    alone = shift.verdict(_result(negative=0.9))
    assert alone.as_negative is None and alone.helps_as_negative is None and not alone.shift


@pytest.mark.parametrize("bad, match", [
    (dict(transform="shear"), "transform"), (dict(classes=()), "classes"), (dict(classes=(1, 1)), "classes"),
    (dict(classes=(10,)), "classes"), (dict(modes=("upside",)), "modes"), (dict(epochs=0), "epochs"),
    (dict(batch_size=1), "batch_size"), (dict(lr=0.0), "lr"), (dict(augment=3.0), "augment"),
    (dict(encoder="resnet"), "encoder"), (dict(seed=-1), "seed"), (dict(device="tpu"), "device"),
])
def test_bad_settings_fail_early_naming_the_setting(bad, match):
    with pytest.raises(ValueError, match=match):
        shift.ShiftConfig(**bad)


def test_modes_keep_their_order_whatever_order_they_come_in():
    assert shift.ShiftConfig(modes=("negative", "unused")).modes == ("unused", "negative")


def test_the_job_kind_lesson_runs_compare_and_reports_every_epoch():
    cfg = shift.ShiftConfig(**TINY, modes=("unused", "negative"))
    channel = NullChannel()
    spec = JobSpec("lesson", ("shift", "compare", cfg), {}, seed=0, device="cpu", label="shift")
    res = run_spec(spec, Progress(channel))
    assert isinstance(res, shift.ShiftResult) and res.auroc.shape == (2, 2)
    epochs = [u["epochs"] for u in channel.updates if u.get("epochs")]
    assert epochs and set(epochs) == {2 * 2 * 3}, "progress counts the epochs of all four runs together"
    with pytest.raises(Exception, match="no job"):
        run_spec(JobSpec("lesson", ("shift", "train_one", cfg), {}, seed=0, device="cpu", label="x"), Progress(NullChannel()))


def test_a_cancelled_job_stops_between_runs():
    from adlab.jobs.errors import JobCancelled

    channel = NullChannel()
    channel.cancel_requested = True
    spec = JobSpec("lesson", ("shift", "compare", shift.ShiftConfig(**TINY)), {}, seed=0, device="cpu", label="x")
    with pytest.raises(JobCancelled):
        run_spec(spec, Progress(channel))


def test_example_views_show_each_mode():
    ex = shift.example_views("rotation", n=3)
    assert ex.pairs["unused"].shape == ex.pairs["positive"].shape == (3, 2, 8, 8)
    assert ex.shifted.shape == (4, 3, 8, 8) and ex.names == ("0°", "90°", "180°", "270°")
    np.testing.assert_array_equal(ex.shifted[2], np.rot90(ex.shifted[0], 2, axes=(1, 2)))
