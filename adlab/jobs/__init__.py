"""Training runs as jobs off the page threads: a local pool of worker processes, or a Dask cluster.

Every training run of the app (loss pages, detector pages, Compare, an unlabelled upload's
scoring, the distance page's learned metric) with its scoring and 2-D projection is a job::

    from adlab.jobs import JobManager, JobSpec

    manager = JobManager.from_env()          # ADLAB_SCHEDULER -> Dask cluster, else the local pool
    spec = JobSpec("contrastive", (split, cfg), seed=cfg.train.seed, device="cpu", label="SimCLR on digits")
    handle = manager.submit(spec, owner=session_id)
    handle.status()    # JobStatus(phase="queued", place=2, ...) -> "training" (epoch, loss) -> "projecting" -> "done"
    result = handle.result()                 # ContrastiveResult(run, before2d, after2d); JobFailed / JobCancelled
    handle.cancel()                          # this owner leaves; the job stops when no owner is left

Modules (one concern each):

* :mod:`~adlab.jobs.spec`: ``JobSpec(kind, args, kwargs, seed, device, label)``, ``.key()`` and
  :func:`content_hash` (equal work, equal key: config + data content + seed + device);
* :mod:`~adlab.jobs.work`: ``KINDS`` ("contrastive", "detector", "unlabelled", "learned_distance"),
  their result types, :func:`run_spec` (what a worker runs);
* :mod:`~adlab.jobs.progress`: ``Progress`` (``phase``, ``callback``, ``cancel``) and its channels;
* :mod:`~adlab.jobs.manager`: ``JobManager`` (queue, dedup + LRU cache, owners and the reaper,
  time limit), ``JobHandle``, ``JobStatus``;
* :mod:`~adlab.jobs.local`: ``LocalBackend`` (spawned process pool, cores - 1 workers, nice 10,
  one torch thread each, UMAP warmed up); :mod:`~adlab.jobs.dask_backend`: ``DaskBackend`` (``distributed``);
* :mod:`~adlab.jobs.errors`: ``JobFailed(message, retryable)`` and ``JobCancelled``.

Nothing here imports streamlit; everything that crosses a process boundary pickles.
"""

from adlab.jobs.errors import JobCancelled, JobFailed
from adlab.jobs.local import LocalBackend
from adlab.jobs.manager import JobHandle, JobManager, JobStatus
from adlab.jobs.spec import JobSpec, content_hash
from adlab.jobs.work import KINDS, ContrastiveResult, DetectorResult, FitResult, UnlabelledResult, run_spec

__all__ = [
    "KINDS",
    "ContrastiveResult",
    "DetectorResult",
    "FitResult",
    "JobCancelled",
    "JobFailed",
    "JobHandle",
    "JobManager",
    "JobSpec",
    "JobStatus",
    "LocalBackend",
    "UnlabelledResult",
    "content_hash",
    "run_spec",
]
