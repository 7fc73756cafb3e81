"""Jobs on a Dask ``distributed`` cluster: :class:`DaskBackend`.

``DaskBackend("tcp://host:8786")`` connects a ``distributed.Client`` (``timeout`` seconds; an
address that does not answer raises ``OSError``, and :meth:`JobManager.from_env` falls back to the
local pool). Each job is one task, ``client.submit(run_on_worker, payload, channel, limit,
pure=False, key="adlab-<key16>-<id>")``; a job on ``cuda`` asks for ``resources={"GPU": 1}``
(start GPU workers with ``dask worker ADDRESS --nthreads 1 --resources GPU=1``). Progress goes up
through a ``distributed.Variable`` and cancellation down through a ``distributed.Event``, both
named after the job. The worker's name in a job's status is its address. Workers need adlab (and
any detector registered at run time) importable.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from typing import Any

from adlab.jobs import work
from adlab.jobs.local import prepare_process

__all__ = ["DaskBackend", "DaskChannel", "run_on_worker"]

CONNECT_TIMEOUT_S = 3.0


class DaskChannel:
    """A job's channel on a cluster: ``Variable("adlab-progress-<id>")`` up, ``Event("adlab-cancel-<id>")`` down."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id

    @property
    def progress_name(self) -> str:
        return f"adlab-progress-{self.job_id}"

    @property
    def cancel_name(self) -> str:
        return f"adlab-cancel-{self.job_id}"

    def publish(self, update: dict[str, Any]) -> None:
        from distributed import Variable

        Variable(self.progress_name).set(update)

    def cancelled(self) -> bool:
        from distributed import Event

        return Event(self.cancel_name).is_set()

    def worker_name(self) -> str:
        from distributed import get_worker

        return get_worker().address


def run_on_worker(payload: bytes, channel: DaskChannel, time_limit_s: float | None) -> bytes:
    """The task a Dask worker runs: prepare the process once (one torch thread, UMAP warm-up), run the job."""
    prepare_process(nice=0)
    return work.execute(payload, channel, time_limit_s)


class DaskBackend:
    """Jobs on the cluster whose scheduler listens at ``address`` (see the module docstring)."""

    def __init__(self, address: str, *, timeout: float = CONNECT_TIMEOUT_S) -> None:
        from distributed import Client

        self.address = address
        self.client = Client(address, timeout=timeout, set_as_default=False)
        self._capacity = (0.0, 1)
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"Dask cluster at {self.client.scheduler.address}"

    def capacity(self) -> int:
        """Threads on the cluster's workers now (asked at most every 2 s: workers come and go)."""
        with self._lock:
            when, n = self._capacity
            if time.monotonic() - when > 2.0:
                try:
                    n = max(1, sum(self.client.nthreads().values()))
                except Exception:
                    n = max(1, n)
                self._capacity = (time.monotonic(), n)
            return n

    def start(self, job_id: str, payload: bytes, *, device: str, time_limit_s: float | None) -> cf.Future:
        resources = {"GPU": 1} if device.startswith("cuda") else None
        task = self.client.submit(run_on_worker, payload, DaskChannel(job_id), time_limit_s, pure=False,
                                  key=f"adlab-{job_id}", resources=resources)
        out: cf.Future = cf.Future()

        def transfer(done: Any) -> None:
            try:
                if done.status == "finished":
                    out.set_result(done.result())
                elif done.status == "cancelled":
                    out.set_exception(RuntimeError("the cluster cancelled the task"))
                else:
                    out.set_exception(done.exception())
            except BaseException as err:  # e.g. the client lost the scheduler
                if not out.done():
                    out.set_exception(err)

        task.add_done_callback(transfer)
        out.dask_future = task  # keep the task alive while the job is
        return out

    def poll(self, job_ids: list[str], *, wait_s: float = 0.05) -> dict[str, dict[str, Any]]:
        """The latest update of each job (absent when none yet), waiting up to ``wait_s`` per job:
        short while streaming, longer for a finished job's last word (a loaded scheduler is slow)."""
        from distributed import Variable

        found = {}
        for job_id in job_ids:
            try:
                found[job_id] = Variable(DaskChannel(job_id).progress_name, client=self.client).get(timeout=wait_s)
            except Exception:  # not set yet: the job has not started
                pass
        return found

    def cancel(self, job_id: str) -> None:
        from distributed import Event

        try:
            Event(DaskChannel(job_id).cancel_name, client=self.client).set()
        except Exception:
            pass

    def release(self, job_id: str) -> None:
        from distributed import Event, Variable

        channel = DaskChannel(job_id)
        for drop in (lambda: Variable(channel.progress_name, client=self.client).delete(),
                     lambda: Event(channel.cancel_name, client=self.client).clear()):
            try:
                drop()
            except Exception:
                pass

    def shutdown(self) -> None:
        self.client.close()
