"""Jobs on the local pool (issue 11): keys, streamed progress, dedup, LRU, cancel, reaper, time
limit, a killed worker, and bit-for-bit reproducibility while another job runs."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import time
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from adlab import registry
from adlab.contrastive import ContrastiveConfig, run_contrastive
from adlab.data import load_digits, make_toy, one_class_split
from adlab.detectors.base import Detector, check_X
from adlab.experiment import MethodSpec, run_detector
from adlab.jobs import JobCancelled, JobFailed, JobManager, JobSpec, LocalBackend, content_hash
from adlab.train import TrainConfig, TrainEvent


class Sleepy(Detector):
    """A slow test-local detector (registered at run time): ``epochs`` steps of ``step_s`` seconds,
    then ``s(x) = ||x - mean||``. It honours ``cancel`` like the real training loop."""

    name: ClassVar[str] = "sleepy"
    label: ClassVar[str] = "Sleepy (test)"
    kinds: ClassVar[tuple[str, ...]] = ("tabular", "image")
    family: ClassVar[str] = "baseline"
    quick: ClassVar[dict[str, dict[str, Any]]] = {"tabular": {}, "image": {}}
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    paper_key: ClassVar[str] = ""

    def __init__(self, *, epochs: int = 3, step_s: float = 0.05, tag: int = 0) -> None:
        self.epochs, self.step_s, self.tag = epochs, step_s, tag

    def fit(self, X, y=None, *, callbacks=(), cancel=None) -> Sleepy:
        X = check_X(X)
        for epoch in range(self.epochs):
            if cancel is not None and cancel.is_set():
                break
            time.sleep(self.step_s)
            for cb in callbacks:
                cb(TrainEvent("epoch", epoch, self.epochs, epoch + 1, 1.0 / (epoch + 1), 0.0))
        self.mean_ = X.reshape(len(X), -1).mean(axis=0)  # (d,)
        self.pid_ = os.getpid()
        return self

    def _score(self, X: np.ndarray) -> np.ndarray:
        return np.sqrt(((X.reshape(len(X), -1) - self.mean_) ** 2).sum(axis=1))  # (n,)


@pytest.fixture(scope="module", autouse=True)
def sleepy():
    registry.register_detector(Sleepy)
    yield Sleepy
    registry.unregister(Sleepy.name)


@pytest.fixture(scope="module")
def backend():
    pool = LocalBackend(2)
    pool.warm()
    yield pool
    pool.shutdown()


@contextlib.contextmanager
def borrowing(backend, **settings):
    """A manager on the module's pool, shut down without shutting the pool down."""
    m = JobManager(backend, **settings)
    try:
        yield m
    finally:
        m.shutdown(backend=False)


@pytest.fixture
def manager(backend):
    with borrowing(backend, time_limit_s=60, stale_after_s=30) as m:
        yield m


@pytest.fixture(scope="module")
def toy_split():
    ds = make_toy("blobs", n=300, anomaly_fraction=0.1, seed=0)
    return one_class_split(ds, [c for c in ds.class_names if c != "anomaly"], seed=0)


@pytest.fixture(scope="module")
def digits_split():
    return one_class_split(load_digits(), [3], seed=0, max_test=200)


def sleepy_job(split, *, epochs=400, step_s=0.05, tag=0) -> JobSpec:
    spec = MethodSpec.of("sleepy", epochs=epochs, step_s=step_s, tag=tag)
    return JobSpec("detector", (split, spec), {"before": False, "max_map_rows": 3}, label=f"sleepy {tag}")


def simclr(seed: int, epochs: int = 2) -> ContrastiveConfig:
    return ContrastiveConfig.for_loss("simclr", TrainConfig(epochs=epochs, batch_size=64, seed=seed, device="cpu"))


def wait_for(handle, phase: str, timeout: float = 60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        status = handle.status()
        if status.phase == phase:
            return status
        time.sleep(0.05)
    raise AssertionError(f"no {phase!r} within {timeout} s: {handle.status()}")


# ----------------------------------------------------------------------------- keys
def test_key_is_equal_for_equal_work_and_changes_with_any_input(toy_split):
    cfg = simclr(0)
    base = JobSpec("contrastive", (toy_split, cfg), seed=0, label="a")
    assert base.key() == JobSpec("contrastive", (toy_split, simclr(0)), seed=0, label="another label").key()
    X = toy_split.X_train.copy()
    X[5, 1] += 1e-6  # one data row
    other_rows = dataclasses.replace(toy_split, X_train=X)
    changed = [
        JobSpec("contrastive", (toy_split, simclr(0, epochs=3)), seed=0),  # a setting
        JobSpec("contrastive", (other_rows, cfg), seed=0),
        JobSpec("contrastive", (toy_split, simclr(1)), seed=1),  # the seed
        JobSpec("contrastive", (toy_split, cfg), seed=0, device="cuda"),  # the device
        JobSpec("detector", (toy_split, MethodSpec.quick("knn", "tabular")), seed=0),  # the work
    ]
    keys = {base.key(), *(s.key() for s in changed)}
    assert len(keys) == 1 + len(changed)


def test_content_hash_covers_dtype_shape_and_tensors():
    a = np.arange(6, dtype=np.float32)
    assert content_hash(a) == content_hash(a.copy())
    assert content_hash(a) != content_hash(a.astype(np.float64))
    assert content_hash(a) != content_hash(a.reshape(2, 3))
    assert content_hash(torch.arange(3)) == content_hash(torch.arange(3)) != content_hash(torch.arange(4))
    assert content_hash({"b": 1, "a": 2}) == content_hash({"a": 2, "b": 1})
    with pytest.raises(ValueError, match="kind must be one of"):
        JobSpec("nope", ())


# ----------------------------------------------------------------------------- running
def test_contrastive_job_streams_progress_and_equals_a_direct_call(manager, digits_split):
    cfg = simclr(0, epochs=3)
    handle = manager.submit(JobSpec("contrastive", (digits_split, cfg), seed=0, label="SimCLR"), owner="s1")
    phases, epochs = [], []
    while not handle.done():
        s = handle.status()
        if not phases or phases[-1] != s.phase:
            phases.append(s.phase)
        if s.epoch is not None and (not epochs or epochs[-1] != s.epoch):
            epochs.append(s.epoch)
        time.sleep(0.02)
    result = handle.result()
    phases.append(handle.status().phase)
    assert "training" in phases and phases[-1] == "done", phases
    assert epochs == sorted(epochs) and epochs[-1] == 3, epochs
    assert handle.status().worker.startswith("local-") and handle.status().fraction == 1.0
    direct = run_contrastive(digits_split, cfg)  # conftest: one torch thread, as in a worker
    np.testing.assert_array_equal(result.run.scores_after, direct.scores_after)
    assert result.run.metrics_after == direct.metrics_after
    assert result.before2d.shape == result.after2d.shape == (len(digits_split.X_test), 2)


def test_detector_job_equals_a_direct_call(manager, toy_split):
    spec = MethodSpec.quick("deepsvdd", "tabular", seed=0, epochs=2)
    handle = manager.submit(JobSpec("detector", (toy_split, spec), seed=0), owner="s1")
    result = handle.result(timeout=120)
    direct = run_detector(toy_split, spec, device="cpu")
    np.testing.assert_array_equal(result.run.scores, direct.scores)
    np.testing.assert_array_equal(result.run.scores_before, direct.scores_before)
    assert result.before2d.shape == result.after2d.shape == (len(toy_split.X_test), 2)
    assert handle.status().epochs == 2


def test_other_kinds_run(manager, toy_split):
    from adlab.distance_demo import DistanceDemoConfig

    unl = manager.submit(JobSpec("unlabelled", (toy_split.X_test, MethodSpec.quick("knn", "tabular")),
                                 {"max_train": 100, "max_sample": 3}), owner="s1")
    dist = manager.submit(JobSpec("learned_distance", (DistanceDemoConfig(epochs=2, n=120),)), owner="s1")
    run = unl.result(timeout=60).run
    assert run.scores.shape == (len(toy_split.X_test),) and len(run.train_index) == 100
    assert len(dist.result(timeout=60).history.epoch_losses) == 2


def test_identical_submits_run_once_and_share_the_result(manager, toy_split):
    before = manager.executions
    spec = sleepy_job(toy_split, epochs=6, tag=1)
    handles = [manager.submit(sleepy_job(toy_split, epochs=6, tag=1), owner=f"student{i}") for i in range(5)]
    assert handles[0].key == spec.key() and handles[0].status().shared == 5
    results = [h.result(timeout=60) for h in handles]
    assert manager.executions - before == 1
    assert all(r is results[0] for r in results)
    late = manager.submit(spec, owner="late")  # finished and cached: attaches, runs nothing
    assert late.done() and late.result() is results[0] and manager.executions - before == 1


def test_least_recently_used_results_leave_the_cache(backend, toy_split):
    with borrowing(backend, cache_size=2) as small:
        specs = [sleepy_job(toy_split, epochs=1, tag=t) for t in (10, 11, 12)]
        for spec in specs:
            small.submit(spec, owner="s").result(timeout=60)
        assert small.cached_keys() == [specs[1].key(), specs[2].key()]
        runs = small.executions
        small.submit(specs[2], owner="s").result()
        assert small.executions == runs  # still cached
        small.submit(specs[0], owner="s").result(timeout=60)
        assert small.executions == runs + 1  # evicted: ran again


def test_user_errors_fail_without_retry_and_are_not_cached(manager, toy_split):
    spec = JobSpec("detector", (toy_split, MethodSpec.quick("csi", "image")), seed=0)  # CSI takes images only
    runs = manager.executions
    with pytest.raises(JobFailed, match="works on images only") as err:
        manager.submit(spec, owner="s").result(timeout=60)
    assert err.value.retryable is False
    with pytest.raises(JobFailed):
        manager.submit(spec, owner="s").result(timeout=60)
    assert manager.executions == runs + 2


# ----------------------------------------------------------------------------- owners, queue, cancel
def test_cancel_detaches_one_owner_and_stops_the_job_when_none_is_left(manager, toy_split):
    spec = sleepy_job(toy_split, tag=2)
    first, second = manager.submit(spec, owner="a"), manager.submit(spec, owner="b")
    wait_for(first, "training")
    first.cancel()
    time.sleep(0.5)
    status = second.status()
    assert status.phase == "training" and status.shared == 1
    second.cancel()
    assert second.status().phase == "cancelled"
    with pytest.raises(JobCancelled):
        second.result(timeout=5)
    quick = manager.submit(sleepy_job(toy_split, epochs=1, tag=3), owner="c")
    assert quick.result(timeout=30).run.scores.shape == (len(toy_split.X_test),)  # the worker is free again


def test_queued_jobs_know_their_place(manager, toy_split):
    running = [manager.submit(sleepy_job(toy_split, tag=20 + i), owner="r") for i in range(2)]
    queued = [manager.submit(sleepy_job(toy_split, epochs=1, tag=30 + i), owner="q") for i in range(2)]
    for h in running:
        wait_for(h, "training")
    assert [h.status().place for h in queued] == [1, 2]
    assert all(h.status().phase == "queued" for h in queued)
    for h in running:
        h.cancel()
    for h in queued:
        h.result(timeout=60)


def test_a_silent_owner_is_detached_and_its_job_cancelled(backend, toy_split):
    with borrowing(backend, stale_after_s=1.0) as m:
        handle = m.submit(sleepy_job(toy_split, tag=4), owner="closed-tab")
        job = handle._job  # nobody calls touch/status/result from here on
        deadline = time.monotonic() + 10
        while not job.finished.is_set() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert job.state == "cancelled" and "nobody is waiting" in str(job.error)


def test_a_job_past_the_time_limit_stops_with_a_message(backend, toy_split):
    with borrowing(backend, time_limit_s=1.0) as m:
        start = time.monotonic()
        with pytest.raises(JobFailed, match="stopped after 1 s, the time limit") as err:
            m.submit(sleepy_job(toy_split, tag=5), owner="t").result(timeout=30)
        assert err.value.retryable is False and time.monotonic() - start < 15


def test_a_killed_worker_fails_its_job_retryably_and_the_next_job_runs(manager, toy_split):
    handle = manager.submit(sleepy_job(toy_split, tag=6), owner="k")
    pid = int(wait_for(handle, "training").worker.split("-")[1])
    os.kill(pid, signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(JobFailed, match="stopped unexpectedly") as err:
        handle.result(timeout=20)
    assert err.value.retryable is True and time.monotonic() - start < 10
    assert err.value.text_key == "jobs.worker_lost", "the page says it in the session's language"
    after = manager.submit(sleepy_job(toy_split, epochs=1, tag=7), owner="k").result(timeout=120)
    assert after.run.detector.pid_ != pid


# ----------------------------------------------------------------------------- reproducible
def test_concurrent_jobs_equal_the_same_jobs_run_one_after_the_other(backend, digits_split):
    specs = [JobSpec("contrastive", (digits_split, simclr(seed)), seed=seed) for seed in (1, 2)]
    with borrowing(backend, cache_size=0, stale_after_s=None) as m:
        together = [m.submit(s, owner="room") for s in specs]
        workers = {wait_for(h, "training").worker for h in together}
        together = [h.result(timeout=300) for h in together]
        alone = [m.submit(s, owner="solo").result(timeout=300) for s in specs]
    assert len(workers) == 2  # they really ran side by side
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_array_equal(a.run.test_after, b.run.test_after)
        np.testing.assert_array_equal(a.run.scores_after, b.run.scores_after)
        assert a.run.history.step_losses == b.run.history.step_losses
        np.testing.assert_array_equal(a.after2d, b.after2d)


def test_a_detector_comes_back_on_the_cpu_and_scores_there():
    """What a GPU worker sends back must unpickle and score in an app without CUDA: ``to("cpu")``
    moves the network and every saved tensor (checked here on the CPU: every tensor ends on it,
    and scores are unchanged)."""
    import numpy as np
    import torch

    from adlab.data import make_toy, one_class_split
    from adlab.detectors import GOAD, DeepSVDD

    split = one_class_split(make_toy("blobs", n=200, seed=0), [0, 1, 2], seed=0)
    for det in (DeepSVDD(epochs=1, device="cpu"), GOAD(epochs=1, n_transforms=4, device="cpu")):
        det.fit(split.X_train)
        before = det.anomaly_score(split.X_test)
        assert det.to("cpu") is det
        tensors = [*det.model_.parameters(), *det.model_.buffers(),
                   *(getattr(det, n) for n in det._state_tensors if isinstance(getattr(det, n), torch.Tensor))]
        assert all(t.device.type == "cpu" for t in tensors)
        np.testing.assert_array_equal(det.anomaly_score(split.X_test), before)


def test_the_lesson_kind_runs_only_functions_a_lesson_module_lists(monkeypatch):
    """A "lesson" job names a module under adlab.lessons and a function in its JOBS; anything else is refused."""
    import sys
    import types

    from adlab.jobs.progress import NullChannel, Progress
    from adlab.jobs.work import run_spec

    module = types.ModuleType("adlab.lessons._probe")
    module.JOBS = ("double",)
    module.double = lambda x, *, progress: 2 * x
    module.secret = lambda x, *, progress: "should never run"
    monkeypatch.setitem(sys.modules, "adlab.lessons._probe", module)

    def run(*args: Any) -> Any:
        return run_spec(JobSpec("lesson", args, {}, seed=0, device="cpu", label="probe"), Progress(NullChannel()))

    assert run("_probe", "double", 21) == 42
    for bad in (("_probe", "secret", 1), ("os.path", "join", 1), ("_probe", "__class__", 1)):
        with pytest.raises(JobFailed, match="not a lesson|has no job"):
            run(*bad)
