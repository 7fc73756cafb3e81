"""Jobs on a real Dask cluster (``distributed.LocalCluster``, worker processes): a page's detector
job with streamed progress, ``fit --scheduler`` equal to the local fit, ``sweep --scheduler``
naming the workers; an address that does not answer falls back to the local pool with a warning."""

from __future__ import annotations

import json
import sys
import time
import types

import numpy as np
import pytest

from adlab.cli import main
from adlab.data import make_toy, one_class_split
from adlab.experiment import MethodSpec, run_detector
from adlab.jobs import JobManager, JobSpec
from adlab.jobs.dask_backend import DaskBackend
from adlab.jobs.work import pack

distributed = pytest.importorskip("distributed")

UNREACHABLE = "tcp://127.0.0.1:9"  # the discard port: nothing listens there


@pytest.fixture(scope="module")
def cluster(monkeypatch_module):
    # AppTest leaves the last page script installed as __main__; the Nanny's spawned workers would import
    # it as their main module and die ("Nanny failed to start worker process"). A real cluster's workers
    # are started by `dask worker`, not from the app, so only this test process needs a plain __main__.
    monkeypatch_module.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  worker_dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def toy_split():
    ds = make_toy("blobs", n=300, anomaly_fraction=0.1, seed=0)
    return one_class_split(ds, [c for c in ds.class_names if c != "anomaly"], seed=0)


def test_a_detector_job_runs_on_the_cluster_with_streamed_progress(cluster, toy_split):
    spec = MethodSpec.quick("deepsvdd", "tabular", seed=0, epochs=20)
    with JobManager.from_env({"ADLAB_SCHEDULER": cluster.scheduler_address}) as manager:
        assert manager.warning is None and manager.backend_name.startswith("Dask cluster at tcp://")
        handle = manager.submit(JobSpec("detector", (toy_split, spec), {"max_map_rows": 3}), owner="s")
        epochs = []
        while not handle.done():
            s = handle.status()
            if s.epoch is not None and (not epochs or epochs[-1] != s.epoch):
                epochs.append(s.epoch)
            time.sleep(0.02)
        result = handle.result()
        final = handle.status()
        workers = set(cluster.scheduler_info["workers"])
        assert final.worker in workers and final.phase == "done"
        assert epochs and epochs == sorted(epochs) and epochs[-1] <= 20  # streamed while it trained, in order
        assert final.epoch == 20 and final.fraction == 1.0  # the worker's last word is read when it ends
    direct = run_detector(toy_split, spec, device="cpu")
    np.testing.assert_array_equal(result.run.scores, direct.scores)


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_fit_on_the_scheduler_prints_the_local_numbers(cluster, capsys):
    argv = ["fit", "deepsvdd", "--data", "digits", "--normal-class", "3", "--epochs", "2", "--device", "cpu", "--json"]
    assert main(argv) == 0
    local = _json(capsys)
    assert main([*argv, "--scheduler", cluster.scheduler_address]) == 0
    remote = _json(capsys)
    local.pop("seconds"), remote.pop("seconds")
    assert remote == local


def test_sweep_on_the_scheduler_names_its_workers(cluster, capsys):
    assert main(["sweep", "knn", "--data", "digits", "--classes", "1,7", "--seeds", "0-1", "--device", "cpu",
                 "--scheduler", cluster.scheduler_address, "--json"]) == 0
    out = _json(capsys)
    assert [(r["normal_class"], r["seed"]) for r in out["runs"]] == [("1", 0), ("1", 1), ("7", 0), ("7", 1)]
    assert {r["worker"] for r in out["runs"]} <= set(cluster.scheduler_info["workers"])
    assert out["backend"].startswith("Dask cluster")


def test_an_unreachable_scheduler_falls_back_to_the_local_pool_with_a_warning():
    start = time.monotonic()
    manager = JobManager.from_env({"ADLAB_SCHEDULER": UNREACHABLE, "ADLAB_JOB_TIME_LIMIT": "7"})
    try:
        assert time.monotonic() - start < 10
        assert manager.backend_name.startswith("local pool") and manager.time_limit_s == 7.0
        assert manager.warning.startswith(f"Could not reach the Dask scheduler at {UNREACHABLE}")
        assert "local pool" in manager.warning
    finally:
        manager.shutdown()
    with pytest.raises(OSError):
        DaskBackend(UNREACHABLE, timeout=1)


def test_the_cli_warns_on_one_line_and_runs_locally(capsys):
    assert main(["fit", "knn", "--data", "digits", "--normal-class", "3", "--scheduler", UNREACHABLE, "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "adlab: warning: Could not reach the Dask scheduler" in captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["auroc"] > 0.9


def test_a_cuda_job_asks_the_cluster_for_a_gpu_worker(cluster, toy_split):
    """GPU workers are a resource (``dask worker ... --resources GPU=1``): a job on ``cuda`` carries the
    restriction, so the CPU-only workers of this cluster never start it; a CPU job carries none."""
    spec = MethodSpec.quick("knn", "tabular", seed=0)
    backend = DaskBackend(cluster.scheduler_address)
    try:
        for device, expected in (("cuda", {"GPU": 1}), ("cpu", None)):
            job_id = f"gpu-check-{device}"
            future = backend.start(job_id, pack(JobSpec("detector", (toy_split, spec), device=device)),
                                   device=device, time_limit_s=30)
            key = f"adlab-{job_id}"
            deadline = time.monotonic() + 10
            restrictions = "missing"
            while restrictions == "missing" and time.monotonic() < deadline:  # the submit reaches it asynchronously
                restrictions = backend.client.run_on_scheduler(
                    lambda dask_scheduler, key=key: (dask_scheduler.tasks[key].resource_restrictions
                                                     if key in dask_scheduler.tasks else "missing"))
                time.sleep(0.05)
            assert restrictions == expected or (expected is None and future.done()), (device, restrictions)
            if expected:
                time.sleep(1.0)
                assert not future.done()  # no worker offers a GPU: it waits, it does not run on a CPU
                future.cancel()
            else:
                future.result(timeout=60)
    finally:
        backend.shutdown()
