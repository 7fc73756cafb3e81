"""Benchmark: "Which augmentation is a shift?" (adlab/lessons/shift.py), the page's run and its numbers.

1. Time: the page's default press (rotation, digits 0-9, the three modes: 30 SimCLR runs) computed in this
   process, ``--repeats`` times, wall and CPU seconds. Goal: at most 10 s wall on the 2-core CPU at one torch
   thread (the job's worker start and the page's drawing come on top; see bench/results/pages.md).
2. Accuracy: every transformation at the defaults, for each seed in ``--seeds`` (split seed = model seed):
   mean one-class AUROC of each mode, the untrained network and raw-pixel kNN, and the verdict of
   :func:`adlab.lessons.shift.verdict` on the mean over seeds.
3. Variants for rotation: the small CNN (``encoder="cnn"``, lr 1e-3), and the negative mode with B/K images
   per step (so it holds as many instances as the other modes; a wrapper around ``train_views`` in this
   process only), to see whether the gain of the negative mode comes from its K times larger batch.

Prints markdown and writes bench/results/shift.md.

    .venv/bin/python bench/bench_shift.py [--seeds 0,1,2] [--repeats 3] [--threads 1] [--out bench/results/shift.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import sklearn
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402

from adlab.jobs.progress import NullChannel, Progress  # noqa: E402
from adlab.lessons import shift  # noqa: E402

GOAL_S = 10.0
# Development screening (rotation, seed 0, digits 0-9; mean AUROC not used / positive / negative; scripts not
# kept, not re-run here). CPU seconds of the 30 runs on the shared machine (load 3-6).
SCREEN = [
    ("CNN 16-32, batch 32 (2 steps an epoch), 20 epochs, lr 3e-3", "0.922 / 0.941 / 0.980", "about 20"),
    ("CNN, one batch of all ~90 images, 20 epochs, lr 3e-3", "0.954 / 0.954 / 0.984", "10.8"),
    ("CNN, batch 64, 20 epochs, lr 1e-3 (re-run in section 3)", "0.978 / 0.972 / 0.985", "8.9"),
    ("the same CNN, the six other transformations: every mode within 0.007 of not used", "0.978 / 0.972-0.980 / "
     "0.977-0.985", "7-8 each"),
    ("MLP 64-128-32, one batch of all ~90 images, 20 epochs", "0.886 / 0.909 / 0.973", "5.0"),
    ("**MLP, batch 64, 20 epochs, lr 3e-3: the defaults**", "**0.871 / 0.928 / 0.975**", "3.4"),
    ("MLP defaults, lr 1e-3", "0.914 / 0.962 / 0.972", "3.7"),
    ("MLP defaults, τ = 0.2", "0.893 / 0.949 / 0.969", "3.1"),
    ("MLP defaults, base augmentation x2", "0.892 / 0.938 / 0.979", "2.9"),
    ("MLP defaults, 30 epochs", "0.885 / 0.894 / 0.969", "5.8"),
    ("MLP, batch 32, 10 epochs", "0.879 / 0.937 / 0.973", "3.2"),
    ("MLP defaults, base augmentation = adlab.augment.default_augment (crop 0.5-1, flip, jitter, blur, noise)",
     "0.953 / 0.965 / 0.972", "5.7"),
    ("untrained networks (the runs' starting points): MLP / CNN", "0.981 / 0.988", "-"),
]


def _run(cfg: shift.ShiftConfig) -> tuple[shift.ShiftResult, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = shift.compare(cfg, progress=Progress(NullChannel()))
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def _fmt(values: dict[str, float]) -> str:
    return " | ".join(f"{values[m]:.3f}" if m in values else "" for m in shift.MODES)


def _equal_instances(seed: int) -> shift.ShiftResult:
    """The negative mode with B/K images per step (K B -> B instances), in this process only."""
    original = shift.train_views

    def fewer(mode, x, shifts, augment, generator):
        if mode == "negative":
            x = x[: max(2, x.shape[0] // shifts.n)]  # (B/K, C, S, S): K * B/K = B instances
        return original(mode, x, shifts, augment, generator)

    shift.train_views = fewer
    try:
        return _run(shift.ShiftConfig(modes=("negative",), seed=seed))[0]
    finally:
        shift.train_views = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "shift.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)  # a benchmark script: its own process
    seeds = [int(s) for s in args.seeds.split(",")]
    load_start, started = _load(), time.perf_counter()

    shift.train_one(shift.ShiftConfig(epochs=1), "unused", np.zeros((8, 1, 8, 8), np.float32))  # torch's lazy imports
    timing = [_run(shift.ShiftConfig()) for _ in range(args.repeats)]
    walls, cpus = [t[1] for t in timing], [t[2] for t in timing]
    default = timing[0][0]
    out = [f"## 1. Time of the page's default press (rotation, digits 0-9, 3 modes = {default.auroc.size} runs)", "",
           "| repeat | wall s | CPU s | per run, wall s |", "|---|---:|---:|---:|"]
    out += [f"| {i + 1} | {w:.2f} | {c:.2f} | {w / default.auroc.size:.3f} |" for i, (w, c) in enumerate(zip(walls, cpus, strict=True))]
    median = statistics.median(walls)
    out += ["", f"Median **{median:.2f} s** wall ({statistics.median(cpus):.2f} s CPU) for the 30 runs; goal <= {GOAL_S:g} s: "
            f"**{'met' if median <= GOAL_S else 'NOT met'}**. Every repeat gives the same numbers: "
            f"{'yes' if all(np.array_equal(t[0].auroc, default.auroc) for t in timing) else 'NO'}.", ""]

    out += ["## 2. Every transformation at the defaults (mean one-class AUROC over digits 0-9)", "",
            "| transformation | seed | not used | as a positive | as a shifted negative | untrained | raw pixels | wall s |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    verdicts = []
    for name, shifts in shift.TRANSFORMS.items():
        runs = []
        for seed in seeds:
            result, wall, _ = (default, walls[0], 0.0) if (name, seed) == ("rotation", 0) else _run(
                shift.ShiftConfig(transform=name, seed=seed))
            runs.append(result)
            out.append(f"| {shifts.label} | {seed} | {_fmt(result.mean)} | {result.untrained_auroc.mean():.3f} | "
                       f"{result.raw_auroc.mean():.3f} | {wall:.1f} |")
            print(out[-1], flush=True)
        mean = {m: float(np.mean([r.mean[m] for r in runs])) for m in shift.MODES}
        v = shift.verdict(replace(runs[0], auroc=np.array([[mean[m]] for m in shift.MODES]),
                                  config=replace(runs[0].config, classes=(0,))))  # the verdict on the seeds' mean
        wins = int(sum((r.auroc[2] > r.auroc[0]).sum() for r in runs))
        verdicts.append(f"| {shifts.label} | {_fmt(mean)} | {v.as_positive:+.3f} | {v.as_negative:+.3f} | "
                        f"{wins} / {10 * len(seeds)} | {'hurts' if v.hurts_as_positive else 'no'} | "
                        f"{v.best or 'tie'} |")
    out += ["", f"### Mean over seeds {', '.join(map(str, seeds))}, and the verdict (`shift.verdict`, ties below {shift.TIE})", "",
            "| transformation | not used | as a positive | as a shifted negative | positive - not used | negative - not used "
            "| negative beats not used (digit x seed) | hurts as a positive? | best |",
            "|---|---:|---:|---:|---:|---:|---:|---|---|", *verdicts, ""]

    out += ["### Per digit, rotation, seed 0", "", "| digit | not used | as a positive | as a shifted negative | untrained | raw |",
            "|---|---:|---:|---:|---:|---:|"]
    out += [f"| {c} | " + " | ".join(f"{default.auroc[i, j]:.3f}" for i in range(3))
            + f" | {default.untrained_auroc[j]:.3f} | {default.raw_auroc[j]:.3f} |" for j, c in enumerate(default.classes)]

    out += ["", "## 3. Variants, rotation", "", "| variant | seed | not used | as a positive | as a shifted negative | untrained | wall s |",
            "|---|---|---:|---:|---:|---:|---:|"]
    cnn, wall, _ = _run(shift.ShiftConfig(encoder="cnn", lr=1e-3))
    out.append(f"| small CNN (16-32 channels), lr 1e-3 | 0 | {_fmt(cnn.mean)} | {cnn.untrained_auroc.mean():.3f} | {wall:.1f} |")
    for seed in seeds:
        same = _equal_instances(seed)
        out.append(f"| negative with B/K = 16 images a step (as many instances as the other modes) | {seed} | "
                   f"{_fmt(same.mean)} | {same.untrained_auroc.mean():.3f} | {same.seconds.sum():.1f} |")
    out += ["", "## Development screening (not re-run)", "", "| setting | not used / positive / negative | CPU s |", "|---|---|---:|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in SCREEN]

    header = [
        "# Which augmentation is a shift? (adlab/lessons/shift.py)", "",
        f"Command: `{' '.join(shlex.quote(a) for a in ['.venv/bin/python', *sys.argv])}`  ",
        f"Date: {dt.datetime.now().isoformat(timespec='seconds')}  ",
        f"Versions: Python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}  ",
        f"Machine: {platform.machine()} ({cpu_model()}), {os.cpu_count()} cores, CPU only, torch threads = "
        f"{torch.get_num_threads()}. Load average (1 / 5 / 15 min) {load_start} at the start, {_load()} at the end; "
        f"the machine is shared, so wall times can be inflated (CPU seconds beside them). Whole run: "
        f"{time.perf_counter() - started:.0f} s.  ",
        "Protocol: sklearn digits (1797 images 8x8), `one_class_split(digits, c, seed=S)`: train = digit c in one "
        "half (about 90 images), test = the other half (about 900, 10 % normal). SimCLR (NT-Xent, τ = 0.5) on the "
        "normal images, `ShiftConfig()` defaults: MLP 64-128-32 + head 32-32-16, Adam lr 3e-3, 20 epochs of one "
        "batch of 64, base augmentation = stretch + brightness/contrast. Score = mean cosine distance to the 5 "
        "nearest training features of the encoder, on plain images (higher = more anomalous). The three modes "
        "share initial weights, batch order and split.", "",
    ]
    text = "\n".join(header + out) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
