"""Benchmark: nt_xent forward+backward vs the bare similarity matmul forward+backward.

Both run on the same (N, d) float32 CPU inputs with requires_grad; the baseline is
``cat -> z @ z.T -> .sum().backward()`` (no normalisation, no softmax), the unavoidable core of any
NT-Xent. The two are timed interleaved (A, B, A, B, ...) in one process and the medians compared.
Goal: ratio <= 2.5. Prints a markdown table and writes bench/results/ntxent.md.

    .venv/bin/python bench/bench_ntxent.py [--n 512] [--d 128] [--repeats 200] [--threads T]
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
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adlab.losses import nt_xent  # noqa: E402

GOAL = 2.5


def _loss_step(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> None:
    z1.grad = z2.grad = None
    nt_xent(z1, z2, temperature=temperature).backward()


def _matmul_step(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> None:
    z1.grad = z2.grad = None
    z = torch.cat([z1, z2])  # (2N, d)
    (z @ z.T).sum().backward()  # (2N, 2N)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "ntxent.md")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    load = " / ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(args.n, args.d, generator=g).requires_grad_()
    z2 = torch.randn(args.n, args.d, generator=g).requires_grad_()
    steps = {"nt_xent fwd+bwd": _loss_step, "matmul z@z.T fwd+bwd": _matmul_step}
    times: dict[str, list[float]] = {name: [] for name in steps}
    for i in range(args.warmup + args.repeats):
        for name, step in steps.items():  # interleaved, same inputs
            start = time.perf_counter()
            step(z1, z2, 0.5)
            elapsed = time.perf_counter() - start
            if i >= args.warmup:
                times[name].append(elapsed)

    med = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
    q = {name: statistics.quantiles(ts, n=4) for name, ts in times.items()}
    ratio = med["nt_xent fwd+bwd"] / med["matmul z@z.T fwd+bwd"]
    lines = [
        "| step | median ms | IQR ms |",
        "|---|---:|---:|",
        *(
            f"| {name} | {med[name]:.3f} | {q[name][0] * 1e3:.3f} - {q[name][2] * 1e3:.3f} |"
            for name in steps
        ),
        "",
        f"ratio nt_xent / matmul = **{ratio:.2f}** (goal <= {GOAL}: {'met' if ratio <= GOAL else 'NOT met'})",
    ]
    table = "\n".join(lines)
    print(table)
    header = [
        "# nt_xent benchmark",
        "",
        f"- command: `{' '.join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])}`",
        f"- date: {dt.datetime.now().isoformat(timespec='seconds')}",
        f"- torch {torch.__version__}, python {platform.python_version()}, {platform.machine()}",
        f"- threads: {torch.get_num_threads()} (of {os.cpu_count()} cores); device: cpu; dtype: float32",
        f"- load average before the run (other processes share the machine): {load}",
        f"- input: z1, z2 of shape ({args.n}, {args.d}), requires_grad; temperature 0.5",
        f"- {args.repeats} timed repeats after {args.warmup} warm-up, interleaved; median",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header) + "\n" + table + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
