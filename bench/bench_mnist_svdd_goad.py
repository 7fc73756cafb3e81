"""Benchmark: Deep SVDD and GOAD (rotations) on one-class MNIST, the protocol of bench_mnist_droc.py.

Protocol and baseline: bench/_mnist.py (the MNIST test split halved by the seed, one class normal;
raw-pixel kNN, k = 5 and k = 1).
Parameters: the quick page defaults (``adlab.experiment.quick_params(method, "image")``), with
``epochs`` raised by ``--svdd-epochs`` / ``--goad-epochs`` (each class must stay under 60 s).
The DROC and CSI means are read from bench/results/mnist_droc.md and mnist_csi.md (when present)
for a summary table. Prints markdown tables and writes bench/results/mnist_svdd_goad.md.

    .venv/bin/python bench/bench_mnist_svdd_goad.py [--classes 0,1,...] [--seed 0] [--threads 1]
        [--svdd-epochs 50] [--goad-epochs 15] [--out bench/results/mnist_svdd_goad.md]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import _mnist  # puts the repository root on sys.path, before adlab is imported
import numpy as np
from _mnist import RESULTS, TIME_LIMIT, knn_baseline, met, split_for

from adlab import registry
from adlab.experiment import quick_params
from adlab.metrics import auroc

METHODS = tuple((name, registry.detector(name).label, registry.detector(name)) for name in ("deepsvdd", "goad"))


def _params(method: str, epochs: int | None, seed: int) -> dict:
    p = quick_params(method, "image")
    if epochs is not None:
        p["epochs"] = epochs
    p.update(seed=seed, device="cpu")
    return p


def _run(cls, params: dict, split) -> tuple[float, float, float, float]:
    """Fit + score; return AUROC %, fit s, total wall s (fit + scoring), total CPU s of this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    det = cls(**params).fit(split.X_train)
    fit_s = time.perf_counter() - wall
    scores = det.anomaly_score(split.X_test)
    total_s, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    if not np.all(np.isfinite(scores)) or np.ptp(scores) == 0:
        raise RuntimeError(f"{cls.__name__}: non-finite or constant scores")
    return 100 * auroc(split.anomalous_test, scores), fit_s, total_s, cpu_s


def _md_mean(path: Path, column: str) -> float | None:
    """The '**mean**' value of ``column`` in the first markdown table of ``path`` that has that column."""
    if not path.exists():
        return None
    header = None
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None and column in cells:
            header = cells
        elif header is not None and cells and cells[0] == "**mean**":
            try:
                return float(cells[header.index(column)].strip("*"))
            except (ValueError, IndexError):
                return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="split seed and detector seed")
    parser.add_argument("--svdd-epochs", type=int, default=50, help="quick page default: 30")
    parser.add_argument("--goad-epochs", type=int, default=15, help="quick page default: 10")
    _mnist.add_arguments(parser, "mnist_svdd_goad.md")
    args = parser.parse_args()
    ds, classes = _mnist.setup(args)
    params = {"deepsvdd": _params("deepsvdd", args.svdd_epochs, args.seed),
              "goad": _params("goad", args.goad_epochs, args.seed)}
    load_start, run_start = os.getloadavg(), time.perf_counter()

    rows = []
    for c in classes:
        split = split_for(ds, c, args.seed)
        load = os.getloadavg()[0]
        row = dict(cls=c, n_train=len(split.X_train), n_test=len(split.X_test), **knn_baseline(split), load=load)
        for key, _, cls in METHODS:
            row[key] = _run(cls, params[key], split)
        rows.append(row)
        print(f"class {c}: Deep SVDD {row['deepsvdd'][0]:.1f} ({row['deepsvdd'][2]:.1f}s)  "
              f"GOAD {row['goad'][0]:.1f} ({row['goad'][2]:.1f}s)  kNN5 {row['knn5']:.1f}  kNN1 {row['knn1']:.1f}  "
              f"load {load:.1f}", flush=True)

    text = _report(args, rows, params, load_start, os.getloadavg(), time.perf_counter() - run_start)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


def _report(args, rows, params, load_start, load_end, run_s) -> str:
    knn5 = np.array([r["knn5"] for r in rows])
    knn1 = np.array([r["knn1"] for r in rows])
    res = {k: np.array([r[k] for r in rows]) for k, _, _ in METHODS}  # (n_classes, 4)
    shown = {k: {n: v for n, v in cls(**params[k]).get_params().items() if n != "device"}
             for k, _, cls in METHODS}
    out = _mnist.header("Deep SVDD and GOAD on MNIST (one class vs rest)", "bench_mnist_svdd_goad.py", args,
                        load_start, load_end, str(args.seed), run_s)
    out += [
        "Parameters: the quick page defaults `adlab.experiment.quick_params(method, \"image\")` "
        "(Deep SVDD `{'epochs': 30}`, GOAD `{'transforms': 'rotations', 'epochs': 10}`) with epochs raised "
        f"to {params['deepsvdd']['epochs']} (Deep SVDD) and {params['goad']['epochs']} (GOAD); the class "
        "defaults fill the rest. Full parameters:  ",
        f"- Deep SVDD: `{shown['deepsvdd']}` (SmallCNN encoder, images in [0, 1], score ||phi(x) - c||^2)  ",
        f"- GOAD: `{shown['goad']}` (the 4 rotations, SmallCNN without bias, feature_dim None = 32 "
        "for images; score -sum_m log P(m | T(x, m)))",
        "",
        f"Time budget: at most {TIME_LIMIT:.0f} s per class and detector (fit + scoring the test half): "
        + "; ".join(f"{name} max {res[k][:, 2].max():.1f} s, mean {res[k][:, 2].mean():.1f} s -> "
                    f"{met(res[k][:, 2].max() <= TIME_LIMIT)}" for k, name, _ in METHODS) + ".",
        "",
        "## Per class (AUROC %, normal class = c)",
        "",
        "| c | n train | Deep SVDD | GOAD | kNN k=5 | kNN k=1 | Deep SVDD s wall (fit + score) | Deep SVDD CPU s "
        "| GOAD s wall (fit + score) | GOAD CPU s | kNN s | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s, g = r["deepsvdd"], r["goad"]
        out.append(f"| {r['cls']} | {r['n_train']} | {s[0]:.1f} | {g[0]:.1f} | {r['knn5']:.1f} | {r['knn1']:.1f} | "
                   f"{s[2]:.1f} ({s[1]:.1f} + {s[2] - s[1]:.1f}) | {s[3]:.1f} | "
                   f"{g[2]:.1f} ({g[1]:.1f} + {g[2] - g[1]:.1f}) | {g[3]:.1f} | {r['knn_s']:.2f} | {r['load']:.1f} |")
    s, g = res["deepsvdd"], res["goad"]
    out.append(f"| **mean** | | **{s[:, 0].mean():.1f}** | **{g[:, 0].mean():.1f}** | **{knn5.mean():.1f}** | "
               f"**{knn1.mean():.1f}** | {s[:, 2].mean():.1f} | {s[:, 3].mean():.1f} | {g[:, 2].mean():.1f} | "
               f"{g[:, 3].mean():.1f} | | |")

    droc = _md_mean(RESULTS / "mnist_droc.md", "DROC")
    csi = _md_mean(RESULTS / "mnist_csi.md", "CSI (s_CSI)")
    csi_var = _md_mean(RESULTS / "mnist_csi.md", "encoder con-SI (variant)")
    fmt = lambda v: "not available" if v is None else f"{v:.1f}"  # noqa: E731
    out += [
        "",
        "## Summary: mean one-class MNIST AUROC % (same protocol, seed 0), with the papers' numbers",
        "",
        "DROC and CSI rows are read from bench/results/mnist_droc.md and bench/results/mnist_csi.md (separate "
        "runs on the same split; see those files for their parameters and timings). Paper numbers from "
        "/work/shared/docs/METHODS.md (\"Anomaly detectors\").",
        "",
        "| method | ours, MNIST mean AUROC | paper | paper's dataset / note |",
        "|---|---|---|---|",
        f"| Deep SVDD (one-class, {params['deepsvdd']['epochs']} epochs) | **{s[:, 0].mean():.1f}** | 94.8 (unverified) "
        "| MNIST (Ruff et al., ICML 2018) |",
        f"| GOAD (4 rotations, {params['goad']['epochs']} epochs) | **{g[:, 0].mean():.1f}** | 88.2 | **CIFAR-10**, not MNIST: the paper reports no "
        "MNIST number; 72 geometric transforms there, 4 rotations here (Bergman & Hoshen, ICLR 2020) |",
        f"| DROC (`DROC.preset(\"mnist\")`, gaussian / encoder) | {fmt(droc)} | 92.5 | CIFAR-10 (Sohn et al., ICLR 2021), not MNIST |",
        f"| CSI (`CSI.preset(\"mnist\")`, s_CSI) | {fmt(csi)} | 94.3 | CIFAR-10 (Tack et al., NeurIPS 2020), not MNIST |",
        f"| CSI variant (encoder con-SI) | {fmt(csi_var)} | | |",
        f"| kNN k=5, raw pixels | {knn5.mean():.1f} | | |",
        f"| kNN k=1, raw pixels | {knn1.mean():.1f} | | |",
        "",
        "## Notes",
        "",
        "- Epochs (separate single-class checks before this run, same split and seed, not part of the tables): "
        "GOAD on class 9 gave 79.3 with 10 epochs and 77.8 with 30 epochs, so more GOAD training does not "
        "help here; Deep SVDD on class 2 gave 87.3 with 30 epochs and 89.5 with 100. The run above uses "
        "50 (Deep SVDD) and 15 (GOAD) epochs, a moderate raise from the quick defaults.",
        "- GOAD with only the 4 rotations is weakest on classes 1, 7, 8 and 9 (about 77-81). For 1 and 8 "
        "a likely cause (not tested here) is that they look nearly the same after a 180-degree rotation, "
        "so the rotation classifier is unsure on normal images too; 7 and 9 are not explained by this.",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    main()
