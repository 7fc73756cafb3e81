"""What the one-class MNIST benchmarks (bench_mnist_*.py) share: protocol, kNN baseline, report header.

Protocol: the MNIST test split (t10k IDX files in ../shared/data/mnist), one class normal,
``adlab.data.one_class_split(ds, [c], train_fraction=0.5, seed=S)``: a detector trains on the
normal class's images of one half and scores the whole other half (normal class vs the nine
others). Baseline: kNN on raw, flattened pixels (``adlab.metrics.knn_score``, Euclidean, k = 5
and k = 1). Budget: at most ``TIME_LIMIT`` seconds per class (training + scoring) on the 2-core CPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
import torch
from _machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from adlab.data import Dataset, Split, load_mnist_idx, one_class_split  # noqa: E402
from adlab.metrics import auroc, knn_score  # noqa: E402

TIME_LIMIT = 60.0
RESULTS = Path(__file__).parent / "results"


def add_arguments(parser: argparse.ArgumentParser, out: str) -> None:
    """``--classes``, ``--threads``, ``--data`` and ``--out`` (default ``bench/results/<out>``)."""
    parser.add_argument("--classes", default="0,1,2,3,4,5,6,7,8,9")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "mnist")
    parser.add_argument("--out", type=Path, default=RESULTS / out)


def setup(args: argparse.Namespace) -> tuple[Dataset, list[int]]:
    """Set the torch threads; return the MNIST test split and the classes to run."""
    torch.set_num_threads(args.threads)
    classes = [int(c) for c in args.classes.split(",") if c.strip()]
    return load_mnist_idx(args.data, split="test"), classes


def split_for(ds: Dataset, c: int, seed: int) -> Split:
    """Class ``c`` normal: train on its images in one half, test on the whole other half."""
    return one_class_split(ds, [c], train_fraction=0.5, seed=seed)


def knn_baseline(split: Split) -> dict[str, float]:
    """Raw-pixel kNN AUROC % with k = 5 (``knn5``) and k = 1 (``knn1``), and the k = 5 seconds."""
    flat_train = split.X_train.reshape(len(split.X_train), -1)  # (n_train, 784)
    flat_test = split.X_test.reshape(len(split.X_test), -1)  # (n_test, 784)
    start = time.perf_counter()
    knn5 = 100 * auroc(split.anomalous_test, knn_score(flat_train, flat_test, k=5, metric="euclidean"))
    knn_s = time.perf_counter() - start
    knn1 = 100 * auroc(split.anomalous_test, knn_score(flat_train, flat_test, k=1, metric="euclidean"))
    return {"knn5": knn5, "knn1": knn1, "knn_s": knn_s}


class Clock:
    """Wall and CPU seconds since the last ``lap`` (CPU = this process, all threads)."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return out


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def header(title: str, script: str, args: argparse.Namespace, load_start: tuple[float, ...],
           load_end: tuple[float, ...], seeds: str, run_s: float) -> list[str]:
    """The report's title, command, date, versions, machine (with the load) and data lines."""
    cmd = " ".join(shlex.quote(a) for a in [".venv/bin/python", f"bench/{script}", *sys.argv[1:]])
    return [
        f"# {title}",
        "",
        f"Command: `{cmd}`  ",
        f"Date: {dt.datetime.now().isoformat(timespec='seconds')}  ",
        f"Versions: Python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}  ",
        f"Machine: {platform.machine()} ({cpu_model()}), {os.cpu_count()} cores, CPU only, "
        f"torch threads = {args.threads}. "
        f"Load average {load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end (per-class 1-min load in "
        "the table); the machine is shared, so wall-clock timings can be inflated; the CPU seconds of this "
        "process are given beside them (with one torch thread they approximate the wall time on an idle "
        f"machine). Whole run: {run_s:.0f} s wall.  ",
        f"Data: MNIST t10k (10,000 images), `one_class_split(ds, [c], train_fraction=0.5, seed=S)` with "
        f"S = {seeds}: train = the normal class's images in one half (about 500), test = the whole other half "
        "(about 5,000, 10% normal). Detector seed = split seed.  ",
    ]
