"""Benchmark: CSI (contrasting shifted instances) on one-class MNIST, all ten classes.

Protocol: the MNIST test split (t10k IDX files in ../shared/data/mnist), one class normal,
``adlab.data.one_class_split(ds, [c], train_fraction=0.5, seed=S)``: CSI trains on the normal
class's images of one half and scores the whole other half (normal class vs the nine others).
Baseline: kNN on raw, flattened pixels (``adlab.metrics.knn_score``, Euclidean, k = 5; k = 1 too).
Goal: CSI's mean AUROC over the ten classes above the k = 5 baseline's, at most 60 s per class
(training + scoring the test half) on the 2-core CPU.

One network is trained per class (``CSI.preset("mnist")``) and scored with the paper's s_CSI;
every term of the score is reported from the same ``score_terms`` call, and the "mnist-encoder"
variant (s_con-SI on encoder features without the ||z|| factor) is scored from the same network
with ``fit_bank`` (no retraining). Prints markdown tables and writes bench/results/mnist_csi.md.

    .venv/bin/python bench/bench_mnist_csi.py [--classes 0,1,...] [--seed 0] [--threads 1]
        [--out bench/results/mnist_csi.md]
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
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from adlab.data import load_mnist_idx, one_class_split  # noqa: E402
from adlab.detectors.csi import CSI, PRESETS  # noqa: E402
from adlab.metrics import auroc, knn_score  # noqa: E402

TIME_LIMIT = 60.0
# Development screening (seed 0, same splits; scripts not kept): mean AUROC % of s_CSI / of the
# encoder-cos variant over the listed classes. Not re-run by this script.
SCREEN = [
    ("classes 0, 1, 8, 9", "preset (12 epochs, crop 0.5-1, no flip, jitter 0.4)", "90.1 / 96.0"),
    ("classes 0, 1, 8, 9", "official augmentation (flip p = 0.5, crop 0.08-1)", "86.3 / 97.2"),
    ("classes 0, 1, 8, 9", "batch 64 (512 views per step), 20 epochs", "89.6 / 95.9"),
    ("classes 0, 1, 8, 9", "lr 1e-3, 20 epochs", "89.9 / 96.2"),
    ("classes 0, 1, 8, 9", "crop 0.3-1, 20 epochs", "89.7 / 95.7"),
    ("classes 0-5", "wider CNN 16-32-64 (about 2x the CPU time) vs the preset", "94.3 vs 95.6 (s_CSI)"),
    ("classes 0-5", "wider CNN + 4-draw test-time ensemble (4x scoring time) vs no ensemble", "94.1 vs 94.3 (s_CSI)"),
]
PAPER = [  # METHODS.md, "Anomaly detectors" (Tack et al., NeurIPS 2020): CIFAR-10 one-class, not MNIST
    ("CSI (s_CSI)", "94.3"),
    ("SimCLR (s_con)", "87.9"),
    ("rotation + translation prediction", "90.0"),
]


class Clock:
    """Wall and CPU seconds since the last ``lap`` (CPU = this process, all threads)."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return out


def run_class(ds, c: int, seed: int) -> dict:
    split = one_class_split(ds, [c], train_fraction=0.5, seed=seed)
    y = split.anomalous_test
    row: dict = {"cls": c, "n_train": len(split.X_train), "n_test": len(split.X_test), "load": os.getloadavg()[0]}
    flat_train = split.X_train.reshape(len(split.X_train), -1)
    flat_test = split.X_test.reshape(len(split.X_test), -1)
    clock = Clock()
    row["knn5"] = 100 * auroc(y, knn_score(flat_train, flat_test, k=5, metric="euclidean"))
    row["knn_s"] = clock.lap()[0]
    row["knn1"] = 100 * auroc(y, knn_score(flat_train, flat_test, k=1, metric="euclidean"))

    clock.lap()
    det = CSI.preset("mnist", seed=seed, device="cpu").fit(split.X_train)
    row["fit_s"], row["fit_cpu"] = clock.lap()
    terms = det.score_terms(split.X_test)
    row["score_s"], row["score_cpu"] = clock.lap()
    cls_si = terms["s_cls_si"]
    row["csi"] = 100 * auroc(y, terms["anomaly_score"])
    row["con_si"] = 100 * auroc(y, -terms["s_con_si"])
    row["cls_si"] = 100 * auroc(y, -cls_si)
    row["norm_only"] = 100 * auroc(y, -(terms["norm"] * det.weights["con"]).sum(1))
    row["cos_head"] = 100 * auroc(y, -terms["max_cos"].sum(1))  # s_con-SI with con_norm=False
    row["cos_cls_head"] = 100 * auroc(y, -(terms["max_cos"].sum(1) + cls_si))  # s_CSI, con_norm=False
    ink = split.X_test.sum(axis=(1, 2, 3))
    row["ink_norm_rho"] = float(spearmanr(ink, terms["norm"][:, 0]).correlation)
    row["loss_con"] = det.history_.extras["loss_con_si"][-1]
    row["loss_cls"] = det.history_.extras["loss_cls_si"][-1]
    row["weights"] = det.weights

    clock.lap()
    det.set_params(**{k: v for k, v in PRESETS["mnist-encoder"].items() if k in ("score_layer", "con_norm", "score")})
    enc_terms = det.fit_bank(split.X_train).score_terms(split.X_test)
    row["enc_s"], row["enc_cpu"] = clock.lap()
    row["enc_con"] = 100 * auroc(y, enc_terms["anomaly_score"])  # = -s_con_si
    row["enc_csi"] = 100 * auroc(y, -enc_terms["s_csi"])
    row["enc_cos0"] = 100 * auroc(y, -enc_terms["s_con"])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", default="0,1,2,3,4,5,6,7,8,9")
    parser.add_argument("--seed", type=int, default=0, help="split seed and CSI seed")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "mnist")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "mnist_csi.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    classes = [int(c) for c in args.classes.split(",") if c.strip()]
    ds = load_mnist_idx(args.data, split="test")
    load_start = os.getloadavg()
    rows = []
    for c in classes:
        row = run_class(ds, c, args.seed)
        rows.append(row)
        print(f"class {c}: CSI {row['csi']:.1f}  encoder con-SI {row['enc_con']:.1f}  kNN5 {row['knn5']:.1f}  "
              f"fit+score {row['fit_s'] + row['score_s']:.1f}s ({row['fit_cpu'] + row['score_cpu']:.1f} CPU s)  "
              f"load {row['load']:.1f}", flush=True)
    text = report(args, rows, load_start, os.getloadavg())
    print(text)
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


def _mean(rows: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def report(args, rows: list[dict], load_start, load_end) -> str:
    csi, enc, knn5 = (np.array([r[k] for r in rows]) for k in ("csi", "enc_con", "knn5"))
    total = np.array([r["fit_s"] + r["score_s"] for r in rows])
    total_cpu = np.array([r["fit_cpu"] + r["score_cpu"] for r in rows])
    enc_total = np.array([r["fit_s"] + r["enc_s"] for r in rows])
    met = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    cmd = " ".join(shlex.quote(a) for a in [".venv/bin/python", "bench/bench_mnist_csi.py", *sys.argv[1:]])
    params = {k: v for k, v in CSI.preset("mnist").get_params().items() if k not in ("seed", "device")}
    out = [
        "# CSI on MNIST (one class vs rest)",
        "",
        f"Command: `{cmd}`  ",
        f"Date: {dt.datetime.now().isoformat(timespec='seconds')}  ",
        f"Versions: Python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, CPU only, torch threads = {args.threads}. "
        "The 2-core machine was **shared with other jobs during this run** (load average "
        f"{load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end; per-class 1-min load in the table): "
        "wall-clock timings are noisy and inflated; the CPU seconds of this process are given beside them "
        f"(with one torch thread they approximate the wall time on an idle machine).  ",
        f"Data: MNIST t10k (10,000 images), `one_class_split(ds, [c], train_fraction=0.5, seed={args.seed})`: "
        "train = the normal class's images in one half (about 500), test = the whole other half "
        f"(about 5,000, 10% normal). CSI seed = split seed = {args.seed}.  ",
        f"CSI parameters (`CSI.preset(\"mnist\")`): `{params}`. Per step: batch of 32 images -> 2 views x 4 "
        "rotations = 256 augmented images; L = NT-Xent(tau = 0.5, positives = same image and rotation in the "
        "other view) + 4-way rotation cross-entropy; Adam.",
        "",
        f"Goal: mean AUROC of CSI > raw-pixel kNN (k = 5), at most {TIME_LIMIT:.0f} s per class (training + scoring).",
        "",
        f"- **Paper's score s_CSI** (`CSI.preset(\"mnist\")`): **{csi.mean():.1f} vs {knn5.mean():.1f} -> "
        f"{met(csi.mean() > knn5.mean())}**; time max {total.max():.1f} s wall ({total_cpu.max():.1f} CPU s), "
        f"mean {total.mean():.1f} s -> {met(total.max() <= TIME_LIMIT)}.",
        f"- **Variant s_con-SI on encoder features, no ||z|| factor** (`CSI.preset(\"mnist-encoder\")`, same "
        f"network): **{enc.mean():.1f} vs {knn5.mean():.1f} -> {met(enc.mean() > knn5.mean())}**; "
        f"time (training + bank + scoring) max {enc_total.max():.1f} s, mean {enc_total.mean():.1f} s -> "
        f"{met(enc_total.max() <= TIME_LIMIT)}.",
        "",
        "## Per class (AUROC %, normal class = c)",
        "",
        "| c | n train | CSI (s_CSI) | encoder con-SI (variant) | kNN k=5 | kNN k=1 | CSI s wall (fit + score) | "
        "CSI CPU s | variant s wall | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['cls']} | {r['n_train']} | {r['csi']:.1f} | {r['enc_con']:.1f} | {r['knn5']:.1f} | {r['knn1']:.1f} | "
            f"{r['fit_s'] + r['score_s']:.1f} ({r['fit_s']:.1f} + {r['score_s']:.1f}) | "
            f"{r['fit_cpu'] + r['score_cpu']:.1f} | {r['fit_s'] + r['enc_s']:.1f} | {r['load']:.1f} |"
        )
    out.append(f"| **mean** | | **{csi.mean():.1f}** | **{enc.mean():.1f}** | **{knn5.mean():.1f}** | "
               f"**{_mean(rows, 'knn1'):.1f}** | {total.mean():.1f} | {total_cpu.mean():.1f} | {enc_total.mean():.1f} | |")
    cols = [
        ("s_CSI", "csi"), ("s_con-SI (cos x norm)", "con_si"), ("s_cls-SI", "cls_si"),
        ("norm only", "norm_only"), ("head cos only", "cos_head"), ("head cos + cls", "cos_cls_head"),
        ("enc cos only", "enc_con"), ("enc cos + cls", "enc_csi"), ("enc cos, rot 0 only", "enc_cos0"),
    ]
    out += [
        "",
        "## Every term, same networks (AUROC % of minus the term; higher = the term ranks normals first)",
        "",
        "\"head\" = simclr-head features z (the paper's), \"enc\" = encoder features f; \"cos\" = "
        "max_m cos(z_y(x_m), z_y(x)) summed over the 4 rotations (lambda_y = 1, the s_con-SI of "
        "`con_norm=False`); \"cos x norm\" = the paper's s_con; \"+ cls\" adds lambda'-weighted s_cls-SI. "
        "rho = Spearman correlation between an image's ink (sum of pixels) and ||z_0(x)|| on the test half.",
        "",
        "| c | " + " | ".join(name for name, _ in cols) + " | rho(ink, norm) | final L_con / L_cls |",
        "|---|" + "---|" * (len(cols) + 2),
    ]
    for r in rows:
        out.append(f"| {r['cls']} | " + " | ".join(f"{r[k]:.1f}" for _, k in cols)
                   + f" | {r['ink_norm_rho']:+.2f} | {r['loss_con']:.2f} / {r['loss_cls']:.2f} |")
    out.append("| **mean** | " + " | ".join(f"**{_mean(rows, k):.1f}**" for _, k in cols)
               + f" | {_mean(rows, 'ink_norm_rho'):+.2f} | |")
    by = {r["cls"]: r for r in rows}
    worst = sorted(rows, key=lambda r: r["cls_si"])[:2]
    out += [
        "",
        "## What blocks the paper's score here",
        "",
        f"- The ||z|| factor of s_con works against us: ranking by the norm alone gives {_mean(rows, 'norm_only'):.1f}, "
        f"s_con-SI = cos x norm gives {_mean(rows, 'con_si'):.1f}, while the cosine alone gives "
        f"{_mean(rows, 'cos_head'):.1f} (head) and {_mean(rows, 'enc_con'):.1f} (encoder). The paper finds ||z|| "
        "larger for in-distribution images after its training (1000 epochs of a ResNet-18); after our "
        "12 epochs (about 200 Adam steps) it is a weak, sometimes misleading signal that partly tracks how much ink a digit has"
        + (f" (class 1, thin strokes: Spearman rho(ink, ||z||) = {by[1]['ink_norm_rho']:+.2f}, norm-only AUROC "
           f"{by[1]['norm_only']:.1f})" if 1 in by else "") + ".",
        f"- s_cls-SI is the strongest term of s_CSI ({_mean(rows, 'cls_si'):.1f}) and, with the official weights "
        "lambda' = 1 / mean logit, it dominates the sum. It is weakest on "
        + ", ".join(f"class {r['cls']} ({r['cls_si']:.1f})" for r in worst)
        + ": digits such as 0, 8 and 1 look much the same turned by 180 degrees, so the rotation head is unsure on "
        "normal images too, while raw-pixel kNN is strong there.",
        f"- Dropping the norm but keeping both terms (head cos + cls) gives {_mean(rows, 'cos_cls_head'):.1f} vs kNN "
        f"{knn5.mean():.1f}: level with the baseline (one seed). The encoder cosine alone "
        f"({_mean(rows, 'enc_con'):.1f}) is the only variant that clears the baseline clearly; it keeps CSI's training "
        "(shifted instances as negatives, rotation head) and its rotation-summed nearest-neighbour score, but not the "
        "paper's score formula.",
        "- Levers tried on the training side (architecture, epochs, batch, augmentation strength, test-time "
        "ensemble) did not lift s_CSI above the preset; none changes the two points above:",
        "",
        "| classes | change | s_CSI / encoder cos (mean AUROC %) |",
        "|---|---|---|",
        *(f"| {c} | {change} | {v} |" for c, change, v in SCREEN),
        "",
        "Weights lambda_y (con) and lambda'_y (cls) of the last class: "
        + ", ".join(f"{k} = {[round(float(x), 3) for x in v]}" for k, v in rows[-1]["weights"].items()) + ".",
        "",
        "## Paper numbers (for scale; the CSI paper reports no MNIST)",
        "",
        "Official setting (alinlab/CSI README and common/common.py defaults): ResNet-18, 1000 epochs, LARS "
        "(lr 0.1, cosine, warm-up), total batch 512 = 4 GPUs x 32 images x 4 rotations, crops of scale "
        "0.08-1; scoring with 10 augmented samples and a fixed crop of 0.54. Ours: a 3-block CNN, 12 epochs, "
        "about 15 CPU seconds per class.",
        "",
        "| method | one-class CIFAR-10 mean AUROC % | source |",
        "|---|---|---|",
        *(f"| {m} | {v} | METHODS.md; alinlab/CSI README (Tack et al., NeurIPS 2020) |" for m, v in PAPER),
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    main()
