"""``python -m adlab sweep METHOD --data SPEC --classes LIST --seeds LIST [--epochs N] [--scheduler ADDRESS] [--json]``
and ``fit ... --scheduler ADDRESS``: the CLI's runs as jobs (:mod:`adlab.jobs`).

A sweep runs the one-class protocol of ``fit`` (:func:`adlab.cli.load_problem`) for every
(normal class, seed) pair as parallel jobs: on this machine's pool by default (cores - 1 workers),
on a Dask cluster with ``--scheduler``. The data are loaded here and sent with each job, so the
workers need no access to the files; at most (workers + 1) jobs are loaded and in flight at once.

It prints one line per finished run, then mean ± std of AUROC per class (over the seeds) and
overall (over every run); std is the sample standard deviation (n - 1; 0 for a single run). With
``--json`` the only line is one object: ``{"method", "data", "runs": [{"normal_class", "seed",
"auroc", "auprc", "f1", "seconds", "worker"}], "mean_auroc", "std_auroc", "per_class", "backend"}``
where ``worker`` is the Dask worker's address on a cluster and ``local-<pid>`` on the pool.

A scheduler that does not answer within a few seconds: one warning line on standard error, and the
runs go to the local pool (as in the app). A run that fails (a bad class, a diverging loss) stops
the sweep with its one-line error, status 2, like ``fit``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

__all__ = ["add_parser", "parse_seeds", "remote_fit", "sweep"]


def add_parser(sub: Any, methods: tuple[str, ...]) -> None:
    """The ``sweep`` subcommand's arguments (``sub``: argparse's subparsers)."""
    p = sub.add_parser("sweep", help="the one-class protocol for every (class, seed) pair, as parallel jobs")
    p.add_argument("method", choices=methods)
    p.add_argument("--data", required=True, help="as for fit: digits | mnist-idx:DIR | torchvision:NAME:DIR | FILE")
    p.add_argument("--classes", required=True, help="normal classes, comma-separated (e.g. 0,1,2 or cat,dog)")
    p.add_argument("--seeds", required=True, help="seeds, comma-separated or a range (0,1,2 or 0-4)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (deep methods)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--label-column", default=None, help="CSV/TSV files: the label column (default: guessed)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on the Dask cluster whose scheduler is at ADDRESS (e.g. tcp://host:8786)")
    p.add_argument("--json", action="store_true", help="print one JSON line instead of the table")


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` or ``"0-4"`` (inclusive) or a mix -> sorted-as-given list of seeds (``ValueError`` if bad)."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        lo, sep, hi = part.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise ValueError(f"--seeds must be non-negative integers like 0,1,2 or 0-4, got {text!r}")
        seeds.extend(range(int(lo), int(hi) + 1) if sep else [int(lo)])
    if not seeds:
        raise ValueError("--seeds is empty: give at least one seed, e.g. 0,1,2")
    return list(dict.fromkeys(seeds))


def _manager(scheduler: str | None):
    """A JobManager on ``scheduler`` (or the local pool); the fallback warning goes to stderr as one line."""
    from adlab.jobs import JobManager
    from adlab.jobs.manager import connect

    backend, warning = connect(scheduler)
    if warning:
        print(f"adlab: warning: {warning}", file=sys.stderr)
    return JobManager(backend, cache_size=0, time_limit_s=None, stale_after_s=None)


def _result(handle) -> Any:
    """``handle.result()`` with a job's failure as the CLI's one-line error."""
    from adlab.cli import CLIError
    from adlab.jobs import JobCancelled, JobFailed

    try:
        return handle.result()
    except (JobFailed, JobCancelled) as err:
        raise CLIError(str(err)) from None


def remote_fit(scheduler: str, problem: Any, spec: Any, device: str, seed: int) -> tuple[Any, np.ndarray, float]:
    """``fit --scheduler``: fit ``spec`` on ``problem`` as one job there -> (detector, test scores, seconds)."""
    from adlab.jobs import JobSpec

    job = JobSpec("fit", (problem.X_train, problem.X_test, spec), seed=seed, device=device,
                  label=f"{spec.method} on {problem.description}")
    manager = _manager(scheduler)
    try:
        result = _result(manager.submit(job, owner="cli"))
    finally:
        manager.shutdown()
    return result.detector, result.scores, result.seconds


def sweep(args: argparse.Namespace) -> dict[str, Any]:
    """Run the sweep described by ``args`` (see the module docstring) and return the JSON object."""
    from adlab.cli import CLIError, _spec, load_problem
    from adlab.device import pick_device
    from adlab.jobs import JobSpec
    from adlab.metrics import evaluate

    classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    if not classes:
        raise CLIError("--classes is empty: give at least one normal class, e.g. 0,1,2")
    seeds = parse_seeds(args.seeds)
    device = str(pick_device(args.device))
    todo = [(c, s) for c in classes for s in seeds]
    manager = _manager(args.scheduler)
    runs: list[dict[str, Any]] = []
    try:
        window = manager.backend.capacity() + 1
        flying: list[tuple[str, int, Any, Any]] = []
        while todo or flying:
            while todo and len(flying) < window:
                normal, seed = todo.pop(0)
                problem = load_problem(args.data, normal_class=normal, seed=seed, label_column=args.label_column)
                kind = "image" if problem.X_train.ndim == 4 else "tabular"
                spec = _spec(args.method, kind=kind, input_shape=tuple(problem.X_train.shape[1:]),
                             epochs=args.epochs, seed=seed)
                job = JobSpec("fit", (problem.X_train, problem.X_test, spec), {"keep_detector": False},
                              seed=seed, device=device, label=f"{args.method} on {problem.description}, seed {seed}")
                flying.append((normal, seed, problem.is_anomaly, manager.submit(job, owner="cli")))
            finished = [f for f in flying if f[3].done()]
            if not finished:
                time.sleep(0.05)
                continue
            for item in finished:
                flying.remove(item)
                normal, seed, is_anomaly, handle = item
                result = _result(handle)
                metrics = evaluate(is_anomaly, result.scores)
                run = {"normal_class": normal, "seed": seed, "auroc": round(float(metrics["auroc"]), 6),
                       "auprc": round(float(metrics["auprc"]), 6), "f1": round(float(metrics["f1"]), 6),
                       "seconds": round(result.seconds, 3), "worker": handle.status().worker}
                runs.append(run)
                if not args.json:
                    print(f"class {normal}, seed {seed}: AUROC {run['auroc']:.4f}, AUPRC {run['auprc']:.4f}, "
                          f"F1 {run['f1']:.4f} ({run['seconds']:.1f} s on {run['worker']})", flush=True)
        backend = manager.backend_name
    finally:
        manager.shutdown()
    order = {(c, s): i for i, (c, s) in enumerate((c, s) for c in classes for s in seeds)}
    runs.sort(key=lambda r: order[(r["normal_class"], r["seed"])])
    per_class = {c: _mean_std([r["auroc"] for r in runs if r["normal_class"] == c]) for c in classes}
    mean, std = _mean_std([r["auroc"] for r in runs])
    return {"method": args.method, "data": args.data, "runs": runs, "mean_auroc": mean, "std_auroc": std,
            "per_class": {c: {"mean_auroc": m, "std_auroc": s} for c, (m, s) in per_class.items()},
            "backend": backend, "device": device}


def _mean_std(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=np.float64)
    return round(float(a.mean()), 6), round(float(a.std(ddof=1)) if len(a) > 1 else 0.0, 6)


def print_summary(result: dict[str, Any]) -> None:
    """The human summary: AUROC mean ± std per class and overall."""
    n_seeds = len({r["seed"] for r in result["runs"]})
    print(f"{result['method']} on {result['data']}: AUROC mean ± std over {n_seeds} seed(s), on {result['backend']}")
    for c, stats in result["per_class"].items():
        print(f"  class {c}: {stats['mean_auroc']:.4f} ± {stats['std_auroc']:.4f}")
    print(f"  overall ({len(result['runs'])} runs): {result['mean_auroc']:.4f} ± {result['std_auroc']:.4f}")
