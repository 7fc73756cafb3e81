"""Benchmark adlab.projection.umap_2d against umap.UMAP().fit_transform with default settings.

Requirement: on a 2,000 x 64 input, umap_2d takes at most 0.15x the default's time and its
trustworthiness (sklearn.manifold.trustworthiness, n_neighbors=5) is within 0.02 of the default's.

Inputs (all float32):
  blobs-2000x64     make_blobs(2000, 64 features, 10 centres, cluster_std=1, random_state=0)
                    -- the required 2,000 x 64 case: a mixture of 10 well-separated Gaussians
  blobs-wide-2000x64 the same with cluster_std=6, so the clusters overlap
  digits-1797x64    sklearn's 8x8 digits, all 1,797 images as 64 pixel features in [0, 16]

Both methods are compiled first (one untimed run of each on every input), then timed as the
median of 3 runs, interleaved (default, ours, default, ours, ...). Trustworthiness is the mean
over those runs. Run from the repository root:

    .venv/bin/python bench/bench_projection.py            # writes bench/results/projection.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adlab.projection import N_EPOCHS, N_NEIGHBORS, umap_2d, warm_up  # noqa: E402

MAX_RATIO = 0.15
MAX_TRUST_DROP = 0.02
TRUST_K = 5


def inputs() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits, make_blobs

    tight, _ = make_blobs(2000, n_features=64, centers=10, cluster_std=1.0, random_state=0)
    wide, _ = make_blobs(2000, n_features=64, centers=10, cluster_std=6.0, random_state=0)
    digits = load_digits().data
    return {
        "blobs-2000x64": tight.astype(np.float32),
        "blobs-wide-2000x64": wide.astype(np.float32),
        "digits-1797x64": digits.astype(np.float32),
    }


def run_default(x: np.ndarray) -> np.ndarray:
    import umap

    return umap.UMAP().fit_transform(x)


def timed(fn, x: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(wall seconds, CPU seconds of this process over all its threads, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(x)
    return time.perf_counter() - wall, time.process_time() - cpu, out


def bench(name: str, x: np.ndarray, repeats: int) -> dict:
    from sklearn.manifold import trustworthiness

    run_default(x)  # compile / warm caches for this size, untimed
    umap_2d(x)
    t_def, t_fast, c_def, c_fast, tr_def, tr_fast = [], [], [], [], [], []
    for _ in range(repeats):
        t, c, e = timed(run_default, x)
        t_def.append(t)
        c_def.append(c)
        tr_def.append(trustworthiness(x, e, n_neighbors=TRUST_K))
        t, c, e = timed(umap_2d, x)
        t_fast.append(t)
        c_fast.append(c)
        tr_fast.append(trustworthiness(x, e, n_neighbors=TRUST_K))
    row = {
        "input": name,
        "default_s": statistics.median(t_def),
        "fast_s": statistics.median(t_fast),
        "default_cpu": statistics.median(c_def),
        "fast_cpu": statistics.median(c_fast),
        "trust_default": float(np.mean(tr_def)),
        "trust_fast": float(np.mean(tr_fast)),
    }
    row["ratio"] = row["fast_s"] / row["default_s"]
    row["trust_diff"] = row["trust_fast"] - row["trust_default"]
    row["ok"] = row["ratio"] <= MAX_RATIO and row["trust_diff"] >= -MAX_TRUST_DROP
    return row


def versions() -> str:
    import numba
    import scipy
    import sklearn
    import umap

    umap_version = getattr(umap, "__version__", None)
    if umap_version is None:
        from importlib.metadata import version

        umap_version = version("umap-learn")
    return (
        f"python {platform.python_version()}, umap-learn {umap_version}, numba {numba.__version__}, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, scipy {scipy.__version__}; "
        f"{platform.machine()}, {os.cpu_count()} CPU cores"
    )


def load() -> float:
    return os.getloadavg()[0]


def report(rows: list[dict], command: str, repeats: int, load_start: float) -> str:
    lines = [
        "# umap_2d vs umap.UMAP() defaults",
        "",
        f"Command: `{command}`  ",
        f"Date: {dt.datetime.now().isoformat(timespec='seconds')}  ",
        f"Versions: {versions()}  ",
        f"Load average (1 min): {load_start:.1f} at the start, {load():.1f} at the end, on "
        f"{os.cpu_count()} cores shared with other jobs; both methods run interleaved under the same load.",
        "",
        f"umap_2d settings: exact brute-force kNN passed as `precomputed_knn`, n_neighbors={N_NEIGHBORS}, "
        f"init='spectral', n_epochs={N_EPOCHS}, random_state=seed (single thread). "
        "Defaults: n_neighbors=15, all pairwise distances for n < 4096, spectral init, "
        "500 epochs, random_state=None (parallel).",
        "",
        f"Times: median of {repeats} interleaved runs after one untimed warm-up run of each; "
        "wall-clock seconds (the ratio) and, for reference, CPU seconds of the process summed "
        "over its threads (the default's parallel SGD uses all cores). "
        f"Trustworthiness: sklearn, n_neighbors={TRUST_K}, mean over the runs. "
        f"Pass: ratio <= {MAX_RATIO} and trust(umap_2d) >= trust(default) - {MAX_TRUST_DROP}.",
        "",
        "| input | default s | umap_2d s | ratio | default CPU s | umap_2d CPU s "
        "| trust default | trust umap_2d | diff | pass |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['input']} | {r['default_s']:.2f} | {r['fast_s']:.3f} | {r['ratio']:.3f} | "
            f"{r['default_cpu']:.2f} | {r['fast_cpu']:.3f} | "
            f"{r['trust_default']:.4f} | {r['trust_fast']:.4f} | {r['trust_diff']:+.4f} | "
            f"{'yes' if r['ok'] else 'NO'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "projection.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)  # umap's n_jobs/NNDescent notes

    load_start = load()
    warm_up(background=False)
    rows = []
    for name, x in inputs().items():
        row = bench(name, x, args.repeats)
        rows.append(row)
        print(
            f"{name}: default {row['default_s']:.2f}s, umap_2d {row['fast_s']:.3f}s, "
            f"ratio {row['ratio']:.3f}, trust {row['trust_default']:.4f} -> {row['trust_fast']:.4f} "
            f"(diff {row['trust_diff']:+.4f}) {'ok' if row['ok'] else 'FAIL'}",
            flush=True,
        )
    python = Path(sys.executable)
    python_shown = python.relative_to(REPO).as_posix() if python.is_relative_to(REPO) else "python"
    command = " ".join([python_shown, Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    text = report(rows, command, args.repeats, load_start)
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"wrote {args.out}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
