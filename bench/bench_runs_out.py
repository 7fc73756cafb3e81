"""The closing page "Where augmentation runs out": time its default run and record its AUROCs.

Two measurements, in one process at one torch thread (as the app's workers compute):

1. the library, as a worker runs the page's jobs: ``run_methods`` and ``sweep_strength`` on each
   default data set (digits with digit 3 normal, breast cancer), ``--repeats`` times, seconds per
   job and per method, and the AUROCs (the same on every repeat: the runs are seeded);
2. the page round trip through Streamlit's AppTest: press Run with the default settings -> every job
   done and the bars, table and sweep drawn (the job pool is started first by an untimed run on wine
   at seed 1, so the timed run neither pays the workers' start nor finds its jobs in the cache).

    .venv/bin/python bench/bench_runs_out.py [--repeats 3] [--out bench/results/runs_out.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from _machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BUDGET_S = 10.0  # one default press of Run
DEFAULT = ("digits", "breast_cancer")


def library(repeats: int) -> tuple[list[dict], dict]:
    from adlab.lessons import runs_out as ro

    cfg = ro.RunsOutConfig()
    rows, last = [], {}
    for _ in range(repeats):
        row = {}
        for name in DEFAULT:
            src = ro.Source(name, ro.BUILTIN[name][2])
            t0 = time.perf_counter()
            run = ro.run_methods(src, cfg)
            t1 = time.perf_counter()
            sweep = ro.sweep_strength(src, cfg, ro.strength_grid(1.0))
            t2 = time.perf_counter()
            row[name] = {"methods_s": t1 - t0, "sweep_s": t2 - t1, "per_method": dict(run.seconds)}
            last[name] = (run, sweep)
        rows.append(row)
    return rows, last


def page_round_trip() -> tuple[float, float]:
    """(seconds of the untimed warm-up run, seconds from pressing Run to the drawn results)."""
    from streamlit.testing.v1 import AppTest

    os.environ.setdefault("ADLAB_FOLLOW_BLOCK_S", "inf")  # the script run follows its jobs to the end
    at = AppTest.from_file(str(ROOT / "pages" / "conclusion.py"), default_timeout=600).run()
    at.multiselect(key="runsout_datasets").set_value(["wine"])
    at.number_input(key="runsout_seed").set_value(1)
    t0 = time.perf_counter()
    at.button(key="runsout_run").click().run(timeout=600)
    warm = time.perf_counter() - t0
    at.multiselect(key="runsout_datasets").set_value(list(DEFAULT))
    at.number_input(key="runsout_seed").set_value(0)
    t0 = time.perf_counter()
    at.button(key="runsout_run").click().run(timeout=600)
    trip = time.perf_counter() - t0
    if at.exception or at.error or "runsout_results" not in at.session_state:
        raise RuntimeError(f"the page run failed: {[e.value for e in at.error]} {at.exception}")
    if set(at.session_state["runsout_results"]["runs"]) != set(DEFAULT):
        raise RuntimeError("the page did not run every default data set")
    return warm, trip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "runs_out.md"))
    args = parser.parse_args()

    import torch

    from adlab.lessons import runs_out as ro
    from adlab.lessons import runs_out_text as rot

    torch.set_num_threads(1)  # as the job pool's workers do
    load_start = os.getloadavg()[0]
    rows, last = library(args.repeats)
    totals = [sum(r[n]["methods_s"] + r[n]["sweep_s"] for n in DEFAULT) for r in rows]
    for i, total in enumerate(totals, 1):
        print(f"repeat {i}: library total {total:.2f} s")
    warm, trip = page_round_trip()
    print(f"page: warm-up {warm:.1f} s, default Run -> drawn {trip:.2f} s")
    for module in ("pages._jobs", "_jobs"):  # the page may import its helper either way
        if module in sys.modules:
            sys.modules[module].shutdown()
    load_end = os.getloadavg()[0]

    med = statistics.median
    lines = [
        "# Where augmentation runs out: the default run",
        "",
        "The closing page's default press of **Run**: digits (8×8, digit 3 normal, one-class halves, the whole test "
        "half scored) and breast cancer (GOAD's tabular protocol, seeded, z-scored), every method, and SimCLR's "
        "strength sweep (0, 0.5, 1, 1.5, 2) on both, at the page's small epochs (SimCLR 10, DROC 5, CSI 10, GOAD 5 "
        f"on images and 1 on rows). Budget: {BUDGET_S:g} s for one press. The machine is shared (other jobs may "
        "run beside this one: see the load averages); the worker processes run at a lower OS priority than "
        "other work, which the page round trip includes.",
        "",
        f"Command: `.venv/bin/python bench/bench_runs_out.py --repeats {args.repeats}`  ",
        f"Date: {dt.datetime.now().isoformat(timespec='seconds')}  ",
        f"Machine: {platform.machine()} ({cpu_model()}), {os.cpu_count()} CPU cores, python "
        f"{platform.python_version()}, torch {torch.__version__} at 1 thread; load average (1 min) "
        f"{load_start:.1f} at the start, {load_end:.1f} at the end",
        "",
        "## Seconds",
        "",
        "| what | median s | all repeats s |",
        "|---|---:|---|",
    ]
    for name in DEFAULT:
        for part, what in (("methods_s", "every method but SimCLR"), ("sweep_s", "SimCLR sweep, 5 strengths")):
            vals = [r[name][part] for r in rows]
            lines.append(f"| {name}: {what} | {med(vals):.2f} | {', '.join(f'{v:.2f}' for v in vals)} |")
    lines.append(f"| **library total (the four jobs, one after the other)** | **{med(totals):.2f}** | "
                 f"{', '.join(f'{v:.2f}' for v in totals)} |")
    lines.append(f"| **page: press Run → jobs done, figures drawn (AppTest)** | **{trip:.2f}** | one run; "
                 f"untimed warm-up {warm:.1f} s |")
    lines += ["", "Per method (median over the repeats, fit + scoring):", "",
              "| data set | " + " | ".join(ro.label(m) for m in ro.methods_for("image") if m != "simclr") + " |",
              "|---|" + "---:|" * (len(ro.methods_for("image")) - 1)]
    for name in DEFAULT:
        cells = [f"{med([r[name]['per_method'][m] for r in rows]):.2f}" if m in rows[0][name]["per_method"] else "–"
                 for m in ro.methods_for("image") if m != "simclr"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    results = [last[n] for n in DEFAULT]
    tbl = rot.table(results, 1.0)
    cols = [c for c in tbl if c not in ("method", "family")]
    lines += ["", "## AUROC at the defaults (seed 0, strength 1; identical on every repeat)", "",
              "| method | family | " + " | ".join(cols) + " |", "|---|---|" + "---:|" * len(cols)]
    for i, method in enumerate(tbl["method"]):
        lines.append(f"| {method} | {tbl['family'][i]} | "
                     + " | ".join("–" if tbl[c][i] is None else f"{tbl[c][i]:.3f}" for c in cols) + " |")
    lines += ["", "SimCLR + kNN against the strength (untrained encoder in brackets):", ""]
    for name in DEFAULT:
        run, sweep = last[name]
        lines.append(f"- {run.title}: " + ", ".join(f"{s:g} → {a:.3f}" for s, a in zip(sweep.strengths, sweep.auroc, strict=True))
                     + f" (untrained {sweep.untrained:.3f}; raw kNN {run.auroc['knn']:.3f})")
    lines += ["", "What the page writes from these numbers:", ""] + [f"- {t}" for t in rot.verdict(results, 1.0)]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
