"""Benchmark: GOAD on ODDS Thyroid and Arrhythmia with the paper's tabular F1 protocol.

Protocol (Bergman & Hoshen, ICLR 2020, after Zong et al. 2018): half of the normal rows train;
test = the other normal half + every anomaly; F1 of the anomaly class with the threshold at the
percentile of the test scores equal to the normal fraction of the test set
(:func:`adlab.metrics.f1_at_contamination`). Two ways to pick the training half:
``random`` (normals permuted with the seed: ``goad_tabular_split(..., seed=s, split="random")``)
and ``file`` (``split="official"``: the first half of the normals in file order, as the official
loader does; only the weights, the W_m and the batch order change with the seed). GOAD runs with
its defaults, the official settings for these two sets: M = 256 maps, d_out = 32, width 8, netC1, 1 epoch, Adam lr 1e-3
betas (0.5, 0.999), batch 64. Goal: mean F1 >= the paper's 74.5 (Thyroid) and 52.0 (Arrhythmia).
Prints a markdown table and writes bench/results/goad_odds.md.

    .venv/bin/python bench/bench_goad_odds.py [--seeds 5] [--protocols random file]
        [--centers final running] [--threads T]
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

import numpy as np
import scipy
import torch
from scipy.io import loadmat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from adlab.data import goad_tabular_split  # noqa: E402
from adlab.detectors.goad import GOAD  # noqa: E402
from adlab.metrics import auroc, f1_at_contamination  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "odds"
#: F1 (%) from the GOAD paper's tabular table, as listed in METHODS.md, which marks them unverified
PAPER_F1 = {"thyroid": 74.5, "arrhythmia": 52.0}


NOTES = """\
## Notes

- F1 is coarse here: about as many rows are flagged as there are test anomalies, so
  F1 ~ TP / n_anomalies, in steps of 100/93 = 1.08 points on Thyroid (74.2 = 69 true positives,
  75.3 = 70) and 100/66 = 1.5 points on Arrhythmia. The paper's 74.5 is a 500-run mean of the
  official script (`n_iters=500`) lying between 69 and 70 hits, so a 5-seed mean can land a hit
  above or below it by chance; `goad_odds_40seeds.md` runs 40 seeds of the official protocol.
- `file` is the official protocol: the official loader takes the first half of the normals in file
  order and never reshuffles them for these two sets. `random` (the adlab split, seeded) changes
  which normals are tested, so its F1 varies by a few hits from seed to seed.
- One implementation detail decides everything: the official head begins with
  `LeakyReLU(0.2, inplace=True)`, which overwrites the trunk output it returns, so the official
  centres and scores use post-activation features. With the linear, bias-free netC1 features
  taken before that activation, every training-mean centre is exactly 0 on z-scored rows and all
  scores are equal (Thyroid AUROC 0.37-0.67 in a first attempt); adlab's GOAD takes the features
  after the LeakyReLU, as the official code effectively does.
- Initialisation: the official `weights_init(self.netC)` is called on the network object, not
  through `.apply`, so it initialises nothing and the official runs use PyTorch's default
  initialisation; adlab does the same. An earlier adlab version applied xavier_normal(gain
  sqrt 2) as that function reads: on Thyroid (file order) it gave F1 74.2 with 5 seeds and
  74.1 +- 0.8 over 60 seeds, with a higher AUROC (98.6) but a lower F1 than the default init.
- `running` centres (the official code's mean of per-batch means during the last epoch; adlab's
  default) and `final` centres (means over the training rows after training, eval mode) can differ by a hit or two; on Arrhythmia (193 training rows, 4 steps, the last
  one a single row) more.
"""


def run_one(X: np.ndarray, y: np.ndarray, *, protocol: str, centers: str, seed: int) -> dict[str, float]:
    split = "random" if protocol == "random" else "official"
    X_train, X_test, is_anomaly = goad_tabular_split(X, y, seed=seed, split=split)
    start = time.perf_counter()
    det = GOAD(centers=centers, seed=seed, device="cpu").fit(X_train)
    scores = det.anomaly_score(X_test)
    seconds = time.perf_counter() - start
    if not np.isfinite(scores).all() or scores.std() == 0:
        raise RuntimeError(f"non-finite or constant scores (protocol={protocol}, seed={seed})")
    return {
        "f1": 100 * f1_at_contamination(is_anomaly, scores),
        "auroc": 100 * auroc(is_anomaly, scores),
        "seconds": seconds,
        "n_train": len(X_train),
        "n_test": len(X_test),
        "n_anomalies": int(is_anomaly.sum()),
    }


def _mean_std(values: list[float]) -> str:
    sd = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.1f} ± {sd:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["thyroid", "arrhythmia"], choices=sorted(PAPER_F1))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--protocols", nargs="+", default=["random", "file"], choices=["random", "file"])
    parser.add_argument("--centers", nargs="+", default=["final"], choices=["final", "running"])
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (0: torch's default)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "goad_odds.md")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    started = dt.datetime.now().isoformat(timespec="seconds")

    per_seed = [
        "| dataset | protocol | centres | seed | n train | n test (anomalies) | F1 | AUROC | seconds |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    summary = [
        "| dataset | protocol | centres | F1 mean ± std | AUROC mean ± std | s / run | paper F1 | goal |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for name in args.datasets:
        mat = loadmat(DATA / f"{name}.mat")
        X, y = mat["X"].astype(np.float64), mat["y"].astype(np.int64).reshape(-1)
        for protocol in args.protocols:
            for centers in args.centers:
                runs = []
                for seed in range(args.seeds):
                    r = run_one(X, y, protocol=protocol, centers=centers, seed=seed)
                    runs.append(r)
                    row = (
                        f"| {name} | {protocol} | {centers} | {seed} | {r['n_train']} | "
                        f"{r['n_test']} ({r['n_anomalies']}) | {r['f1']:.1f} | {r['auroc']:.1f} | "
                        f"{r['seconds']:.1f} |"
                    )
                    per_seed.append(row)
                    print(row, flush=True)
                f1s = [r["f1"] for r in runs]
                met = statistics.fmean(f1s) >= PAPER_F1[name]
                summary.append(
                    f"| {name} | {protocol} | {centers} | {_mean_std(f1s)} | "
                    f"{_mean_std([r['auroc'] for r in runs])} | "
                    f"{statistics.fmean(r['seconds'] for r in runs):.1f} | {PAPER_F1[name]} (unverified) | "
                    f"{'met' if met else 'NOT met'} |"
                )
    text = "\n".join(summary) + "\n\nPer seed:\n\n" + "\n".join(per_seed)
    print()
    print(text)
    header = [
        "# GOAD on ODDS Thyroid / Arrhythmia (F1 protocol of the paper)",
        "",
        f"- command: `{' '.join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])}`",
        f"- date: {started} (start)",
        f"- torch {torch.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"python {platform.python_version()}, {platform.machine()}",
        f"- device: cpu, {torch.get_num_threads()} torch thread(s) (of {os.cpu_count()} cores). The 2-core "
        f"machine was shared with other jobs during this run (load average at the start: {load}), so the "
        "seconds are noisy and only indicative (with 2 threads on the loaded machine a fit was 10-25x slower "
        "than with 1).",
        "- GOAD defaults = the official Thyroid/Arrhythmia settings (lironber/GOAD README): M = 256 Gaussian "
        "maps, d_out = 32, width 8, netC1 (one bias-free 1x1 layer, LeakyReLU(0.2) features, PyTorch default init), 1 epoch, "
        "Adam lr 1e-3 betas (0.5, 0.999), batch 64 (last smaller batch kept), lambda = 0.1, margin 1.",
        "- protocol `random`: normals permuted with the seed, first half trains; `file`: first half of the "
        "normals in file order (the official loader), the seed only changes weights, maps and batch order.",
        "- F1 (%) of the anomaly class at the threshold = percentile (normal fraction of the test set) of "
        "the test scores; AUROC (%) for reference. Paper F1 from docs/METHODS.md, marked unverified there.",
        "- seconds = fit + scoring of the test set.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header) + "\n" + text + "\n\n" + NOTES)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
