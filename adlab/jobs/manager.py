"""Jobs for many sessions at once: :class:`JobManager`, :class:`JobHandle`, :class:`JobStatus`.

``manager.submit(spec, owner=session_id)`` returns a :class:`JobHandle`. A spec whose
:meth:`~adlab.jobs.spec.JobSpec.key` equals a queued, running or finished (cached) job's attaches
to that job: thirty sessions asking for the defaults cost one training, and all of them get the
same result object. Finished results stay in a least-recently-used cache of ``cache_size`` jobs;
failed and cancelled jobs are never cached (asking again runs again).

Each handle is one attachment. ``handle.cancel()`` detaches it; the job itself is cancelled when no
attachment is left. A session keeps its attachment alive with ``handle.touch()`` (``status()`` and
a waiting ``result()`` touch too); a reaper detaches attachments silent for ``stale_after_s`` while
their job is not done (a closed tab), so an abandoned job stops within a few seconds.

The manager queues jobs itself and hands the backend at most ``backend.capacity()`` at a time, so
a queued job knows its place. A job whose worker runs past ``time_limit_s`` stops training and
fails with a message (``JobFailed``); one whose worker dies fails with ``retryable=True``.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import itertools
import os
import pickle
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adlab.jobs import work
from adlab.jobs.errors import JobCancelled, JobFailed
from adlab.jobs.spec import JobSpec

__all__ = ["JobHandle", "JobManager", "JobStatus", "WORKER_LOST"]

WORKER_LOST = ("The worker running {label} stopped unexpectedly (it was killed or ran out of memory). "
               "Nothing is wrong with the settings: press the button again to retry.")
_TICK_S = 0.2  # the monitor thread's period: progress polling, the reaper, hard deadlines
_GRACE_S = 30.0  # past the time limit, a worker that does not stop is given up on after this long
_MAX_ATTEMPTS = 3  # a job caught in another job's broken pool is rerun this many times at most


@dataclass(frozen=True)
class JobStatus:
    """What a page shows about a job.

    ``phase``: "queued" | "training" | "scoring" | "projecting" | "done" | "failed" | "cancelled";
    ``place``: 1-based place among the jobs not yet started (queued only); ``epoch`` / ``epochs`` /
    ``loss`` the last training progress (None before); ``fraction`` of training done, 0..1;
    ``message``: for failed / cancelled, a sentence for people; ``worker``: "local-<pid>" or the Dask
    worker's address once started; ``shared``: how many owners (sessions) are attached;
    ``seconds``: since submission (until done, when finished).
    """

    phase: str
    place: int | None
    epoch: int | None
    epochs: int | None
    loss: float | None
    fraction: float
    message: str
    worker: str
    shared: int
    seconds: float

    @property
    def finished(self) -> bool:
        return self.phase in ("done", "failed", "cancelled")


class _Job:
    """The manager's record of one job (all fields guarded by the manager's lock)."""

    def __init__(self, spec: JobSpec, key: str, seq: int) -> None:
        self.spec, self.key, self.seq = spec, key, seq
        self.id = f"{key[:16]}-{uuid.uuid4().hex[:8]}"
        self.state = "queued"  # queued | dispatched | done | failed | cancelled
        self.progress: dict[str, Any] = {}
        self.attached: dict[int, tuple[str, float]] = {}  # handle id -> (owner, last touch)
        self.submitted = time.monotonic()
        self.started: float | None = None
        self.ended: float | None = None
        self.attempts = 0
        self.payload: bytes | None = None
        self.result_bytes: bytes | None = None
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self.result_lock = threading.Lock()
        self.result_obj: Any = None
        self.result_ready = False

    def owners(self) -> int:
        return len({owner for owner, _ in self.attached.values()})


class JobHandle:
    """One owner's attachment to a job: what a page keeps in session state (thread-safe, cheap)."""

    _ids = itertools.count(1)

    def __init__(self, manager: JobManager, job: _Job, owner: str) -> None:
        self._manager, self._job, self.owner = manager, job, owner
        self.id = next(self._ids)
        self.key: str = job.key
        self.spec_label: str = job.spec.title

    def status(self) -> JobStatus:
        self.touch()
        return self._manager._status(self._job)

    def touch(self) -> None:
        """Heartbeat: this owner is still here (call it on every rerun of the page)."""
        self._manager._touch(self._job, self.id)

    def cancel(self) -> None:
        """Detach this owner; the job is cancelled when no owner is left (its result, if any, stays cached)."""
        self._manager._detach(self._job, self.id, reason="cancelled")

    def done(self) -> bool:
        return self._job.finished.is_set()

    def result(self, timeout: float | None = None) -> Any:
        """The job's result (the same object for every handle); raises :class:`JobFailed`,
        :class:`JobCancelled`, or ``TimeoutError`` when ``timeout`` seconds pass first."""
        end = None if timeout is None else time.monotonic() + timeout
        while not self._job.finished.is_set():
            self.touch()
            left = 0.5 if end is None else min(0.5, end - time.monotonic())
            if left <= 0:
                raise TimeoutError(f"{self.spec_label} is not finished after {timeout:g} s")
            self._job.finished.wait(left)
        return self._manager._result(self._job)


class JobManager:
    """Queue, deduplicate, run and watch jobs on a backend (see the module docstring)."""

    def __init__(self, backend: Any = None, *, cache_size: int = 32, time_limit_s: float | None = 600.0,
                 stale_after_s: float | None = 5.0) -> None:
        if cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {cache_size!r}")
        if time_limit_s is not None and time_limit_s <= 0:
            raise ValueError(f"time_limit_s must be > 0 (or None: no limit), got {time_limit_s!r}")
        if stale_after_s is not None and stale_after_s <= 0:
            raise ValueError(f"stale_after_s must be > 0 (or None: never detach), got {stale_after_s!r}")
        if backend is None:
            from adlab.jobs.local import LocalBackend

            backend = LocalBackend()
        self.backend = backend
        self.cache_size, self.time_limit_s, self.stale_after_s = cache_size, time_limit_s, stale_after_s
        self.warning: str | None = None
        self.executions = 0  # jobs handed to the backend (dedup is visible here)
        self._lock = threading.RLock()
        self._live: dict[str, _Job] = {}  # key -> queued / dispatched job
        self._cache: collections.OrderedDict[str, _Job] = collections.OrderedDict()  # key -> done job
        self._queue: collections.deque[_Job] = collections.deque()
        self._busy: set[str] = set()  # job ids the backend is running (cancelled ones too, until they end)
        self._seq = itertools.count()
        self._closed = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name="adlab-jobs-monitor", daemon=True)
        self._monitor.start()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> JobManager:
        """A manager for the app or the CLI, configured from the environment.

        ``ADLAB_SCHEDULER`` (or ``secrets["scheduler"]``) names a Dask scheduler ->
        :class:`~adlab.jobs.dask_backend.DaskBackend`; else (or when it does not answer within a few
        seconds) the local pool, with ``manager.warning`` saying so. ``ADLAB_JOB_TIME_LIMIT``
        (seconds) overrides the default time limit; ``ADLAB_WORKERS`` the local pool's size.
        """
        env = os.environ if env is None else env
        address = (env.get("ADLAB_SCHEDULER") or (secrets or {}).get("scheduler") or "").strip()
        limit = env.get("ADLAB_JOB_TIME_LIMIT", "").strip()
        if limit:
            try:
                kwargs.setdefault("time_limit_s", float(limit))
            except ValueError:
                raise ValueError(f"ADLAB_JOB_TIME_LIMIT must be a number of seconds, got {limit!r}") from None
        backend, warning = connect(address or None)
        if hasattr(backend, "warm"):
            backend.warm()  # start the local workers now: imports and UMAP's compile off the first click
        manager = cls(backend, **kwargs)
        manager.warning = warning
        return manager

    @property
    def backend_name(self) -> str:
        return self.backend.name

    # ---------------------------------------------------------------- public
    def submit(self, spec: JobSpec, *, owner: str) -> JobHandle:
        """Attach ``owner`` to the job doing ``spec``: an equal queued / running / cached one, or a new one."""
        if not isinstance(spec, JobSpec):
            raise ValueError(f"spec must be a JobSpec, got {type(spec).__name__}")
        if self._closed.is_set():
            raise RuntimeError("this JobManager is shut down")
        key = spec.key()
        with self._lock:
            job = self._cache.get(key) or self._live.get(key)
            if job is not None and key in self._cache:
                self._cache.move_to_end(key)
        if job is None:
            payload = work.pack(spec)  # outside the lock: pickling a big split takes a moment
            with self._lock:
                job = self._cache.get(key) or self._live.get(key)
                if job is None:
                    job = _Job(spec, key, next(self._seq))
                    job.payload = payload
                    self._live[key] = job
                    self._queue.append(job)
        handle = JobHandle(self, job, str(owner))
        with self._lock:
            job.attached[handle.id] = (handle.owner, time.monotonic())
            self._dispatch()
        return handle

    def shutdown(self, *, backend: bool = True) -> None:
        """Cancel every unfinished job, stop the monitor and (``backend=True``) the backend."""
        self._closed.set()
        with self._lock:
            jobs = list(self._live.values())
        for job in jobs:
            self._cancel_job(job, "the server is shutting down")
        self._monitor.join(timeout=2)
        if backend:
            self.backend.shutdown()

    def __enter__(self) -> JobManager:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    def cached_keys(self) -> list[str]:
        """Keys of the finished jobs in the cache, least recently used first."""
        with self._lock:
            return list(self._cache)

    # ---------------------------------------------------------------- handles
    def _touch(self, job: _Job, handle_id: int) -> None:
        with self._lock:
            if handle_id in job.attached:
                job.attached[handle_id] = (job.attached[handle_id][0], time.monotonic())

    def _detach(self, job: _Job, handle_id: int, *, reason: str) -> None:
        with self._lock:
            job.attached.pop(handle_id, None)
            if not job.attached and job.state in ("queued", "dispatched"):
                self._cancel_job(job, "cancelled: nobody is waiting for this run any more"
                                 if reason == "stale" else "cancelled")

    def _status(self, job: _Job) -> JobStatus:
        with self._lock:
            p = job.progress
            state = job.state
            if state in ("queued", "dispatched"):
                phase = p.get("phase", "queued") if state == "dispatched" and p.get("worker") else "queued"
            else:
                phase = state
            place = None
            if phase == "queued":
                waiting = sorted((j for j in self._live.values()
                                  if j.state == "queued" or (j.state == "dispatched" and not j.progress.get("worker"))),
                                 key=lambda j: j.seq)
                place = next((i + 1 for i, j in enumerate(waiting) if j is job), None)
            message = str(job.error) if state in ("failed", "cancelled") and job.error is not None else ""
            end = job.ended if job.ended is not None else time.monotonic()
            fraction = 1.0 if state == "done" else float(p.get("fraction") or 0.0)
            return JobStatus(phase=phase, place=place, epoch=p.get("epoch"), epochs=p.get("epochs"),
                             loss=p.get("loss"), fraction=fraction, message=message, worker=p.get("worker", ""),
                             shared=job.owners(), seconds=end - job.submitted)

    def _result(self, job: _Job) -> Any:
        if job.state == "cancelled":
            raise job.error if isinstance(job.error, JobCancelled) else JobCancelled(str(job.error or "cancelled"))
        if job.state == "failed":
            err = job.error
            raise err if isinstance(err, JobFailed) else JobFailed(str(err))
        with job.result_lock:  # unpickled once, on first use: every handle gets the same object
            if not job.result_ready:
                job.result_obj = pickle.loads(job.result_bytes)
                job.result_ready, job.result_bytes = True, None
            return job.result_obj

    # ---------------------------------------------------------------- running
    def _dispatch(self) -> None:
        """Hand queued jobs to the backend while it has room (called with the lock held)."""
        while self._queue and len(self._busy) < max(1, self.backend.capacity()):
            job = self._queue.popleft()
            if job.state != "queued":
                continue
            job.state, job.attempts = "dispatched", job.attempts + 1
            self._busy.add(job.id)
            self.executions += 1
            try:
                future = self.backend.start(job.id, job.payload, device=job.spec.device,
                                            time_limit_s=self.time_limit_s)
            except Exception as err:  # the backend could not take it (e.g. the cluster went away)
                self._busy.discard(job.id)
                self._end(job, "failed", JobFailed(f"{job.spec.title} could not be started: {err}", retryable=True))
                continue
            future.add_done_callback(lambda f, job=job: self._on_done(job, f))

    def _on_done(self, job: _Job, future: cf.Future) -> None:
        from adlab.jobs.local import WorkerLost

        try:
            last = self.backend.poll([job.id], wait_s=2.0).get(job.id)  # the worker's final update (name, epochs)
        except Exception:
            last = None
        with self._lock:
            self._busy.discard(job.id)
            err = future.exception()
            if last and job.state == "dispatched":
                job.progress = last
            if job.state == "dispatched":
                if err is None:
                    job.result_bytes = future.result()
                    self._end(job, "done", None)
                elif isinstance(err, WorkerLost) and err.collateral and job.attempts < _MAX_ATTEMPTS:
                    job.state, job.progress = "queued", {}
                    self._queue.appendleft(job)  # not its fault: run it again, first in line
                elif isinstance(err, JobCancelled):
                    self._end(job, "cancelled", err)
                elif isinstance(err, JobFailed):
                    self._end(job, "failed", err)
                elif _is_worker_loss(err):
                    self._end(job, "failed", JobFailed(WORKER_LOST.format(label=job.spec.title), retryable=True,
                                                       text_key="jobs.worker_lost",
                                                       text_fields={"label": job.spec.title}))
                else:
                    self._end(job, "failed", JobFailed(
                        f"{job.spec.title} failed: {type(err).__name__}: {' '.join(str(err).split())}"))
            self.backend.release(job.id)
            if not self._closed.is_set():
                self._dispatch()

    def _end(self, job: _Job, state: str, error: BaseException | None) -> None:
        """Finish ``job`` (lock held): record, move done jobs into the LRU cache, wake the waiters."""
        job.state, job.error, job.ended = state, error, time.monotonic()
        job.payload = None
        if self._live.get(job.key) is job:
            del self._live[job.key]
        if state == "done" and self.cache_size > 0:
            self._cache[job.key] = job
            self._cache.move_to_end(job.key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        job.finished.set()

    def _cancel_job(self, job: _Job, message: str) -> None:
        with self._lock:
            if job.state not in ("queued", "dispatched"):
                return
            if job.state == "dispatched":
                self.backend.cancel(job.id)  # the worker stops at its next step; its slot frees then
            self._end(job, "cancelled", JobCancelled(message))

    def _watch(self) -> None:
        """Monitor thread: stream progress, detach silent owners, give up on workers past the deadline."""
        while not self._closed.wait(_TICK_S):
            try:
                self._tick()
            except Exception:  # the monitor must outlive any one bad poll
                pass

    def _tick(self) -> None:
        with self._lock:
            running = [j for j in self._live.values() if j.state == "dispatched"]
        updates = self.backend.poll([j.id for j in running]) if running else {}
        now = time.monotonic()
        with self._lock:
            for job in running:
                if job.id in updates and job.state == "dispatched":
                    job.progress = updates[job.id]
                    if job.started is None and job.progress.get("worker"):
                        job.started = now
                limit = self.time_limit_s
                if (limit is not None and job.started is not None and job.state == "dispatched"
                        and now - job.started > limit + _GRACE_S):
                    self.backend.cancel(job.id)
                    self._end(job, "failed", work.time_limit_failure(limit))
            if self.stale_after_s is not None:
                for job in list(self._live.values()):
                    for hid, (_, seen) in list(job.attached.items()):
                        if now - seen > self.stale_after_s:
                            self._detach(job, hid, reason="stale")


def _is_worker_loss(err: BaseException) -> bool:
    from adlab.jobs.local import WorkerLost

    if isinstance(err, WorkerLost):
        return True
    return type(err).__name__ in ("KilledWorker", "CommClosedError", "BrokenProcessPool")


def connect(address: str | None) -> tuple[Any, str | None]:
    """The backend for ``address`` (a Dask scheduler) and a warning, or the local pool when there is none.

    An address that does not answer gives the local pool and the warning people see.
    """
    from adlab.jobs.local import LocalBackend

    if not address:
        return LocalBackend(), None
    try:
        from adlab.jobs.dask_backend import DaskBackend

        return DaskBackend(address), None
    except Exception as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        return LocalBackend(), (f"Could not reach the Dask scheduler at {address} ({reason[:160]}): "
                                "running on this machine's local pool instead.")
