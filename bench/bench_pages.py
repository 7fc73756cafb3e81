"""Round trip of each page's default training path: click Train -> trained, projected, drawn.

Runs every page through Streamlit's AppTest (the same script the browser runs, without the
network hop) with the page's default form values, after one warm-up run that pays the one-off
costs (numba compiling UMAP, torch importing its optimiser machinery). Reports seconds and the
ratio to the page budget (6 s for the loss pages, 10 s for the detector pages), all in one run.

    .venv/bin/python bench/bench_pages.py [--pages triplet,npair,...] [--out bench/results/pages.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from pathlib import Path

from _machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
BUDGET = {"triplet": 6.0, "npair": 6.0, "supcon": 6.0, "simclr": 6.0, "distances": 6.0,
          "deep_svdd": 10.0, "goad": 10.0, "droc": 10.0, "csi": 10.0, "compare": 10.0}
BUTTON = {"compare": "compare_run"}


def round_trip(page: str) -> tuple[float, float]:
    """(seconds to render the page, seconds from clicking Train to the finished results)."""
    from streamlit.testing.v1 import AppTest

    t0 = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=300).run()
    load = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception[0].message}")
    t0 = time.perf_counter()
    at.button(key=BUTTON.get(page, f"{page}_train")).click().run(timeout=300)
    trip = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception[0].message}")
    if page == "distances":
        if "distances_run" not in at.session_state:
            raise RuntimeError("distances: the learned distance was not trained")
    elif page == "compare":
        if "compare_results" not in at.session_state or at.session_state["compare_results"]["errors"]:
            raise RuntimeError("compare: not every method ran")
    elif not any("AUROC" in m.label for m in at.metric):
        raise RuntimeError(f"{page}: no AUROC metric after training")
    return load, trip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", default="triplet,npair,supcon,simclr")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "pages.md"))
    args = parser.parse_args()
    pages = [p for p in args.pages.split(",") if p]

    import torch

    from adlab.projection import warm_up

    torch.set_num_threads(1)  # as app.py does once per server process
    warm_up(background=False)
    t0 = time.perf_counter()
    round_trip(pages[0])  # warm-up: one-off costs, not timed below
    warm = time.perf_counter() - t0
    rows = []
    for page in pages:
        load, trip = round_trip(page)
        rows.append((page, load, trip, BUDGET.get(page, 6.0)))
        print(f"{page:10s} load {load:5.2f} s  train->drawn {trip:5.2f} s  ratio to budget {trip / BUDGET.get(page, 6.0):.2f}")
    load_avg = os.getloadavg()[0]
    lines = [
        "# Page round trips (default training path)",
        "",
        "AppTest runs each page script exactly as the server does (training, UMAP, figure building and "
        "serialisation) but without the browser's paint, which tests/test_browser.py covers. Budgets: 6 s "
        "for the teaching pages, 10 s for the detector pages and Compare. Runs on 2026-11-28, on that "
        "session's 2-core machine with other jobs on the cores (load 2.8-4.9), gave up to 4.6 s for a loss "
        "page and 11.1 s for Compare; the CPU line below names this run's machine.",
        "",
        f"Command: `.venv/bin/python bench/bench_pages.py --pages {args.pages}`  ",
        f"Date: {dt.datetime.now().isoformat(timespec='seconds')}  ",
        f"Machine: {platform.machine()} ({cpu_model()}), {os.cpu_count()} CPU cores, python "
        f"{platform.python_version()}; "
        f"load average (1 min) at the end: {load_avg:.1f}  ",
        f"Warm-up (first page once, untimed below: numba compile + torch optimiser import): {warm:.1f} s",
        "",
        "| page | render s | Train → trained, projected, drawn s | budget s | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {p} | {lo:.2f} | {tr:.2f} | {b:.0f} | {tr / b:.2f} |" for p, lo, tr, b in rows]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
