"""The embedded backend: a bounded pool of worker processes on this machine.

``LocalBackend(max_workers=None)``: a ``ProcessPoolExecutor`` with the "spawn" start method (without
re-importing the parent's ``__main__``: under Streamlit that is the page script) and
``max(1, os.cpu_count() - 1)`` workers (``ADLAB_WORKERS`` may set the number); each worker lowers
its priority (``os.nice(10)``) so the server's pages stay responsive, sets torch's thread count
once (1) and compiles UMAP's numba kernels in a background thread as soon as it starts. Progress
and cancel flags travel through one multiprocessing manager (two shared dicts keyed by job id).

A worker that dies (killed, out of memory) breaks the executor: its job fails with
:class:`WorkerLost` (the manager turns it into ``JobFailed(retryable=True)``; jobs that only
shared the broken pool are run again), and the pool is rebuilt for later jobs.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import multiprocessing.connection as mp_connection
import multiprocessing.context
import multiprocessing.spawn as mp_spawn
import os
import threading
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from adlab.jobs import work

__all__ = ["LocalBackend", "ManagerChannel", "WorkerLost", "default_workers"]

NICE = 10


class WorkerLost(RuntimeError):
    """The process running a job ended abruptly. ``collateral``: another worker died, not this job's."""

    def __init__(self, message: str, *, collateral: bool = False) -> None:
        super().__init__(message)
        self.collateral = collateral


def default_workers() -> int:
    """``ADLAB_WORKERS`` when set, else cores - 1, at least 1 (one core stays with the server)."""
    env = os.environ.get("ADLAB_WORKERS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"ADLAB_WORKERS must be a positive integer, got {env!r}")
        return int(env)
    return max(1, (os.cpu_count() or 2) - 1)


class ManagerChannel:
    """A job's channel through the pool's multiprocessing manager (picklable: dict proxies + id)."""

    def __init__(self, status: Any, cancels: Any, job_id: str) -> None:
        self.status, self.cancels, self.job_id = status, cancels, job_id

    def publish(self, update: dict[str, Any]) -> None:
        self.status[self.job_id] = update

    def cancelled(self) -> bool:
        return bool(self.cancels.get(self.job_id, False))

    def worker_name(self) -> str:
        return f"local-{os.getpid()}"


_PREPARED = False


def prepare_process(nice: int = 0) -> None:
    """Once per worker process: lower its priority, one torch thread, warm UMAP up in the background."""
    global _PREPARED
    if _PREPARED:
        return
    _PREPARED = True
    if nice:
        try:
            os.nice(nice)
        except (OSError, AttributeError):
            pass
    import torch

    torch.set_num_threads(1)
    from adlab import projection

    projection.warm_up(background=True)


_PREP_LOCK = threading.Lock()


class _PlainSpawnProcess(multiprocessing.context.SpawnProcess):
    """A spawned process that does not import its parent's ``__main__``.

    Streamlit installs the running page script as ``__main__`` (a test runner its own): a spawned
    worker would import that script again as its main module. Jobs refer to importable modules
    only, so the workers start without it (a detector defined in a script's ``__main__`` cannot be
    sent to them: define it in a module).
    """

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        with _PREP_LOCK:
            original = mp_spawn.get_preparation_data

            def without_main(name: str) -> dict[str, Any]:
                data = original(name)
                data.pop("init_main_from_path", None)
                data.pop("init_main_from_name", None)
                return data

            mp_spawn.get_preparation_data = without_main
            try:
                return multiprocessing.context.SpawnProcess._Popen(process_obj)
            finally:
                mp_spawn.get_preparation_data = original


class _PlainSpawnContext(multiprocessing.context.SpawnContext):
    Process = _PlainSpawnProcess


def _ended(proc: Any) -> bool:
    """Whether a worker process has ended: its sentinel is ready (what the executor itself watches;
    ``exitcode`` can still read None for a moment after a SIGKILL)."""
    return bool(mp_connection.wait([proc.sentinel], timeout=0))


def _ping() -> int:
    return os.getpid()


class LocalBackend:
    """Jobs on a pool of ``max_workers`` spawned processes (see the module docstring)."""

    def __init__(self, max_workers: int | None = None, *, nice: int = NICE) -> None:
        self.max_workers = default_workers() if max_workers is None else int(max_workers)
        if self.max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers!r}")
        self.nice = nice
        self._lock = threading.Lock()
        self._ctx = _PlainSpawnContext()
        self._mp_manager: Any = None
        self._status: Any = None
        self._cancels: Any = None
        self._pool: cf.ProcessPoolExecutor | None = None
        self._pids: dict[str, int] = {}

    @property
    def name(self) -> str:
        n = self.max_workers
        return f"local pool ({n} worker{'s' if n != 1 else ''})"

    def capacity(self) -> int:
        return self.max_workers

    def _ensure(self) -> cf.ProcessPoolExecutor:
        with self._lock:
            if self._mp_manager is None:
                self._mp_manager = self._ctx.Manager()
                self._status, self._cancels = self._mp_manager.dict(), self._mp_manager.dict()
            if self._pool is None:
                self._pool = cf.ProcessPoolExecutor(self.max_workers, mp_context=self._ctx,
                                                    initializer=prepare_process, initargs=(self.nice,))
            return self._pool

    def warm(self) -> None:
        """Start every worker now (imports, UMAP's compile) instead of on the first job."""
        pool = self._ensure()
        for _ in range(self.max_workers):
            pool.submit(_ping)

    def worker_pids(self) -> list[int]:
        """The pool's worker processes (for tests and diagnostics)."""
        pool = self._pool
        return sorted(getattr(pool, "_processes", {}) or {}) if pool is not None else []

    def start(self, job_id: str, payload: bytes, *, device: str, time_limit_s: float | None) -> cf.Future:
        """Run a packed job (:func:`adlab.jobs.work.pack`) on the pool; the future's result is bytes."""
        del device  # every local worker sees the same devices
        pool = self._ensure()
        channel = ManagerChannel(self._status, self._cancels, job_id)
        out: cf.Future = cf.Future()
        try:
            inner = pool.submit(work.execute, payload, channel, time_limit_s)
        except BrokenProcessPool:
            self._rebuild(pool)
            inner = self._ensure().submit(work.execute, payload, channel, time_limit_s)
        procs = dict(getattr(pool, "_processes", {}) or {})
        inner.add_done_callback(lambda f: self._finish(f, out, pool, job_id, procs))
        return out

    def _finish(self, inner: cf.Future, out: cf.Future, pool: cf.ProcessPoolExecutor, job_id: str,
                procs: dict[int, Any]) -> None:
        err = inner.exception()
        if err is None:
            out.set_result(inner.result())
            return
        if isinstance(err, BrokenProcessPool):
            procs.update(getattr(pool, "_processes", {}) or {})
            pid = self._worker_pid(job_id)
            proc = procs.get(pid) if pid else None
            # the executor fails every job first and terminates the survivors after: a job whose own
            # worker is still alive now was only sharing the pool with the one that died
            collateral = pid is None or (proc is not None and not _ended(proc))
            self._rebuild(pool)
            out.set_exception(WorkerLost(f"worker {pid or '?'} ended abruptly", collateral=collateral))
            return
        out.set_exception(err)

    def _worker_pid(self, job_id: str) -> int | None:
        try:
            worker = (self._status.get(job_id) or {}).get("worker", "")
        except Exception:
            return None
        return int(worker.split("-", 1)[1]) if worker.startswith("local-") else None

    def _rebuild(self, broken: cf.ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)

    def poll(self, job_ids: list[str], *, wait_s: float = 0.05) -> dict[str, dict[str, Any]]:
        """The latest update each job's worker published (jobs not started yet are absent); ``wait_s``
        is unused here (the manager process answers at once)."""
        if self._status is None or not job_ids:
            return {}
        try:
            snapshot = self._status.copy()
        except Exception:
            return {}
        return {j: snapshot[j] for j in job_ids if j in snapshot}

    def cancel(self, job_id: str) -> None:
        if self._cancels is not None:
            try:
                self._cancels[job_id] = True
            except Exception:
                pass

    def release(self, job_id: str) -> None:
        """Forget a finished job's shared entries."""
        for d in (self._status, self._cancels):
            if d is not None:
                try:
                    d.pop(job_id, None)
                except Exception:
                    pass

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            manager, self._mp_manager = self._mp_manager, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in list((getattr(pool, "_processes", {}) or {}).values()):
                proc.terminate()
        if manager is not None:
            manager.shutdown()
