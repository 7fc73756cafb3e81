"""The work a job does, one function per kind, and what a worker runs: :func:`run_spec`.

Each kind trains, scores AND projects, so a page only draws what comes back:

* ``"contrastive"``: ``(split, ContrastiveConfig)`` -> :class:`ContrastiveResult`
  (:func:`adlab.contrastive.run_contrastive`, then ``umap_pair(test_before, test_after, seed=0)``);
* ``"detector"``: ``(split, MethodSpec, *, before=True, max_map_rows=None, map_seed=0)`` ->
  :class:`DetectorResult` (:func:`adlab.experiment.run_detector` on ``spec.device``; the map of the
  detector pages: ``umap_pair(test_before or test_after, test_after, seed=0)``; with
  ``before=False``, Compare's: ``umap_2d(test_after[map_rows], seed=0)`` on at most
  ``max_map_rows`` rows drawn with ``map_seed``);
* ``"unlabelled"``: ``(X, MethodSpec, *, seed, max_train, max_sample=400)`` -> :class:`UnlabelledResult`
  (:func:`adlab.experiment.score_unlabelled`, then ``umap_2d(run.features, seed=0)``);
* ``"learned_distance"``: ``(DistanceDemoConfig,)`` -> :class:`adlab.distance_demo.LearnedDistanceRun`;
* ``"fit"``: ``(X_train, X_test, MethodSpec, *, keep_detector=True)`` -> :class:`FitResult` (the CLI's
  ``fit --scheduler`` and ``sweep``: fit, score the test rows, time both; no map);
* ``"lesson"``: ``(module, function, *args, **kwargs)`` -> whatever
  ``adlab.lessons.<module>.<function>(*args, progress=..., **kwargs)`` returns; the function must be
  listed in that module's ``JOBS`` (the seminar's lesson pages: each lesson module owns its runs).

Every kind takes ``progress`` (:class:`adlab.jobs.progress.Progress`) as a keyword. The seeds are
the ones the pages used before jobs existed, so pictures and numbers stay the same.

Detectors and losses registered at run time (``registry.register_detector`` in a test or a user's
script) travel with the job: :func:`registrations` lists their classes / modules in the submitting
process and :func:`execute` registers them in the worker when missing (a class is pickled by
reference, so it must be importable there; spawned pool workers share the parent's ``sys.path``).
"""

from __future__ import annotations

import importlib
import pickle
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from adlab.jobs.errors import JobCancelled, JobFailed, user_errors
from adlab.jobs.progress import Channel, Progress, Stopped

__all__ = ["KINDS", "ContrastiveResult", "DetectorResult", "FitResult", "UnlabelledResult", "execute", "map_rows",
           "registrations", "run_spec"]


@dataclass(frozen=True, eq=False)
class ContrastiveResult:
    """A loss page's run and its UMAP pair: ``before2d`` / ``after2d`` (n_test, 2) float32."""

    run: Any  # adlab.contrastive.ContrastiveRun
    before2d: np.ndarray
    after2d: np.ndarray


@dataclass(frozen=True, eq=False)
class DetectorResult:
    """A detector run and its maps: ``after2d`` (k, 2) of the test rows ``map_rows`` (k,) after
    training; ``before2d`` (k, 2) at initialisation (None when the job skipped the "before")."""

    run: Any  # adlab.experiment.DetectorRun
    before2d: np.ndarray | None
    after2d: np.ndarray
    map_rows: np.ndarray


@dataclass(frozen=True, eq=False)
class UnlabelledResult:
    """An unlabelled upload scored: ``map2d`` (k, 2) is the UMAP of ``run.features`` (rows ``run.sample_index``)."""

    run: Any  # adlab.experiment.UnlabelledRun
    map2d: np.ndarray


@dataclass(frozen=True, eq=False)
class FitResult:
    """A detector fitted on ``X_train`` and its scores (n_test,) of ``X_test``; ``seconds`` = fit + score."""

    detector: Any  # None when the job was asked not to send it back
    scores: np.ndarray
    seconds: float


def map_rows(n: int, *, seed: int = 0, limit: int | None = None) -> np.ndarray:
    """Rows of an ``n``-row test set drawn on a map: all, or a seeded sample of ``limit`` (sorted)."""
    if limit is None or n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def _pair(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``umap_pair(before, after, seed=0)``, computing one map when both feature sets are the same."""
    from adlab import projection

    if before is after or (before.shape == after.shape and np.array_equal(before, after)):
        m = projection.umap_2d(after, seed=0)  # umap_2d is deterministic: umap_pair would map twice
        return m, projection.procrustes_align(m, m)
    return projection.umap_pair(before, after, seed=0)


def contrastive(split: Any, cfg: Any, *, progress: Progress) -> ContrastiveResult:
    from adlab.contrastive import run_contrastive

    run = run_contrastive(split, cfg, callbacks=[progress.callback], cancel=progress.cancel)
    progress.phase("projecting")
    return ContrastiveResult(run, *_pair(run.test_before, run.test_after))


def detector(split: Any, spec: Any, *, progress: Progress, device: str | None = None, before: bool = True,
             max_map_rows: int | None = None, map_seed: int = 0) -> DetectorResult:
    from adlab import projection
    from adlab.experiment import run_detector

    run = run_detector(split, spec, device=device, callbacks=[progress.callback], cancel=progress.cancel,
                       before=before)
    _back_on_cpu(run.detector)
    progress.phase("projecting")
    rows = map_rows(len(run.scores), seed=map_seed, limit=max_map_rows)
    after = run.test_after[rows]
    if not before:
        return DetectorResult(run, None, projection.umap_2d(after, seed=0), rows)
    first = run.test_before[rows] if run.test_before is not None else after
    return DetectorResult(run, *_pair(first, after), rows)


def unlabelled(X: np.ndarray, spec: Any, *, progress: Progress, device: str | None = None, seed: int = 0,
               max_train: int = 3000, max_sample: int = 400) -> UnlabelledResult:
    from adlab import projection
    from adlab.experiment import score_unlabelled

    run = score_unlabelled(X, spec, seed=seed, max_train=max_train, max_sample=max_sample, device=device,
                           callbacks=[progress.callback], cancel=progress.cancel)
    progress.phase("projecting")
    return UnlabelledResult(run, projection.umap_2d(run.features, seed=0))


def learned_distance(cfg: Any, *, progress: Progress) -> Any:
    from adlab.distance_demo import train_learned_distance

    return train_learned_distance(cfg, callbacks=[progress.callback], cancel=progress.cancel)


def fit(X_train: np.ndarray, X_test: np.ndarray, spec: Any, *, progress: Progress, device: str | None = None,
        keep_detector: bool = True) -> FitResult:
    det = spec.build(device)
    start = time.perf_counter()
    det.fit(X_train, callbacks=[progress.callback], cancel=progress.cancel)
    progress.phase("scoring")
    scores = det.anomaly_score(X_test)
    seconds = time.perf_counter() - start
    _back_on_cpu(det)
    return FitResult(det if keep_detector else None, scores, seconds)


def lesson(module: str, function: str, *args: Any, progress: Progress, **kwargs: Any) -> Any:
    """``adlab.lessons.<module>.<function>(*args, progress=progress, **kwargs)``; only names listed in the
    module's ``JOBS`` run (``ValueError`` otherwise), so a job can never name an arbitrary callable."""
    if not (isinstance(module, str) and module.isidentifier() and isinstance(function, str)):
        raise ValueError(f"not a lesson: {module!r}.{function!r}")
    mod = importlib.import_module(f"adlab.lessons.{module}")
    if function not in getattr(mod, "JOBS", ()):
        raise ValueError(f"adlab.lessons.{module} has no job {function!r} (its jobs: {', '.join(getattr(mod, 'JOBS', ()))})")
    return getattr(mod, function)(*args, progress=progress, **kwargs)


def _back_on_cpu(det: Any) -> None:
    """A deep detector trained on a GPU goes back on the CPU: the app that unpickles it may have no CUDA."""
    if hasattr(det, "model_") and hasattr(det, "to"):
        det.to("cpu")


#: kind -> function(*args, progress=..., **kwargs); the kinds that take ``device`` get ``spec.device``
KINDS: dict[str, Callable[..., Any]] = {
    "contrastive": contrastive,
    "detector": detector,
    "unlabelled": unlabelled,
    "learned_distance": learned_distance,
    "fit": fit,
    "lesson": lesson,
}
_TAKES_DEVICE = {"detector", "unlabelled", "fit"}


def run_spec(spec: Any, progress: Progress) -> Any:
    """Run ``spec`` here: ``KINDS[spec.kind](*spec.args, progress=progress, **spec.kwargs)``.

    Raises :class:`JobFailed` (``retryable=False``) with the library's message for errors a person
    can fix (``ValueError``, ``DataError``, ``NonFiniteLoss``) and for the time limit;
    :class:`JobCancelled` when cancelled. Anything else (a bug) propagates as it is.
    """
    fn = KINDS[spec.kind]
    kwargs = dict(spec.kwargs)
    if spec.kind in _TAKES_DEVICE:
        kwargs.setdefault("device", spec.device)
    progress.begin()
    try:
        result = fn(*spec.args, progress=progress, **kwargs)
        if progress.stop_reason() is not None:  # the run ended early because it was cancelled or out of time
            raise Stopped(progress.stop_reason())
    except Stopped as stop:
        raise _stopped(str(stop), progress) from None
    except user_errors() as err:
        if progress.stop_reason() is not None:  # e.g. a fit cut short before its first epoch
            raise _stopped(progress.stop_reason(), progress) from None
        raise JobFailed.of(err, " ".join(str(err).split()), retryable=False) from None
    return result


def _stopped(reason: str, progress: Progress) -> Exception:
    if reason == "time limit":
        return time_limit_failure(progress.time_limit_s)
    return JobCancelled("the job was cancelled")


def time_limit_message(limit: float | None) -> str:
    """What a person reads when a job ran out of time (English; the pages say ``jobs.time_limit``)."""
    return (f"stopped after {limit:g} s, the time limit for one run on this server: try fewer epochs or a "
            "smaller dataset, or ask the operator to raise ADLAB_JOB_TIME_LIMIT")


def time_limit_failure(limit: float | None) -> JobFailed:
    """The failure of a job that ran out of time, carrying its catalogue key (``jobs.time_limit``)."""
    return JobFailed(time_limit_message(limit), retryable=False, text_key="jobs.time_limit",
                     text_fields={"limit": f"{limit:g}"})


# ----------------------------------------------------------------------------- crossing processes
def registrations(spec: Any) -> tuple[Any, ...]:
    """The detector classes and loss modules ``spec`` needs that a fresh worker may not know.

    Looked up in this (the submitting) process: the class of every ``MethodSpec`` among the
    arguments; for a ``ContrastiveConfig``, its loss module's import name (a module built at run
    time with ``types.ModuleType`` cannot travel: the worker then reports the unknown loss).
    """
    from adlab import registry

    found: list[Any] = []
    for value in (*spec.args, *spec.kwargs.values()):
        method = getattr(value, "method", None)
        if isinstance(method, str) and hasattr(value, "params"):
            try:
                found.append(registry.detector(method))
            except ValueError:
                pass
        loss = getattr(value, "loss", None)
        if loss is not None and hasattr(value, "loss_name"):
            try:
                module = registry.loss(value.loss_name)
            except ValueError:
                continue
            if isinstance(module, types.ModuleType) and _importable(module):
                found.append(module.__name__)  # modules do not pickle: the worker imports it by name
            elif not isinstance(module, types.ModuleType):
                found.append(module)
    return tuple(found)


def _importable(module: types.ModuleType) -> bool:
    import sys

    return sys.modules.get(module.__name__) is module and getattr(module, "__spec__", None) is not None


def pack(spec: Any) -> bytes:
    """``spec`` and its :func:`registrations` as bytes for a worker (``ValueError`` when they do not pickle)."""
    try:
        return pickle.dumps((spec, registrations(spec)), protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as err:
        raise ValueError(f"{spec.title} cannot be sent to a worker: {err}") from None


def _register(found: tuple[Any, ...]) -> None:
    from adlab import registry

    for item in found:
        try:
            if isinstance(item, str):
                module = importlib.import_module(item)
                if module.NAME not in registry.loss_names():
                    registry.register_loss(module)
            elif isinstance(item, type):
                if item.name not in registry.detector_names():
                    registry.register_detector(item)
            elif item.NAME not in registry.loss_names():
                registry.register_loss(item)
        except (ImportError, TypeError, ValueError):
            pass


def execute(payload: bytes, channel: Channel, time_limit_s: float | None) -> bytes:
    """What a worker runs: unpack ``payload`` (:func:`pack`), register what it carries, run it.

    Returns the pickled result (bytes: the submitting process unpickles it once, on first use).
    """
    spec, found = pickle.loads(payload)
    _register(found)
    result = run_spec(spec, Progress(channel, time_limit_s=time_limit_s))
    return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
