"""Command line: ``python -m adlab fit METHOD --data SPEC [...]`` with the papers' protocols.

Protocols:

* labelled tabular files (``.mat``, ``.npz``, ``.csv``; y = 1 anomalous) follow GOAD's: half of
  the normal rows train; test = the other half plus every anomaly; F1 at the true contamination;
* image sets and toy sets are one-class: train on the normal class of the training split and
  score the test split (an IDX folder holding only the test files, and the built-in sets, are cut
  in halves by the seed).

With ``--json`` the last line of standard output is one JSON object. A bad SPEC, an unknown class
or a missing file prints one line on standard error and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["main", "Problem", "load_problem"]

METHODS = ("deepsvdd", "goad", "droc", "csi", "knn", "iforest", "ocsvm")


@dataclass(frozen=True)
class Problem:
    """A train/test problem built by a protocol: train rows hold no anomaly label."""

    X_train: np.ndarray
    X_test: np.ndarray
    is_anomaly: np.ndarray
    description: str


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


def _one_class(ds, normal_class: str | None, seed: int, default: str | int = 0) -> Problem:
    from adlab.data import one_class_split

    normal = default if normal_class is None else normal_class
    if isinstance(normal, str) and normal.lstrip("-").isdigit() and normal not in ds.class_names:
        normal = int(normal)
    split = one_class_split(ds, [normal], seed=seed)
    name = ds.class_names[split.normal_classes[0]]
    return Problem(split.X_train, split.X_test, split.anomalous_test, f"{ds.name}, normal class {name!r}")


def _labelled_file(path: Path, seed: int) -> Problem:
    from adlab.data import goad_tabular_split

    X, y = _read_labelled(path)
    X_train, X_test, is_anomaly = goad_tabular_split(X, y, seed=seed)
    return Problem(X_train, X_test, is_anomaly, f"{path.name}, GOAD protocol (half of the normals train)")


def _read_labelled(path: Path) -> tuple[np.ndarray, np.ndarray]:
    suffix = path.suffix.lower()
    if suffix == ".mat":
        from scipy.io import loadmat

        try:
            mat = loadmat(path)
        except Exception as exc:  # scipy raises several types for damaged files
            raise CLIError(f"{path}: not a readable MATLAB file ({exc})") from None
        X, y = mat.get("X"), mat.get("y")
    elif suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                X, y = (npz["X"] if "X" in npz else None), (npz["y"] if "y" in npz else None)
        except ValueError as exc:
            raise CLIError(f"{path}: refused ({exc}); save plain numeric arrays X and y") from None
    elif suffix == ".csv":
        import pandas as pd

        frame = pd.read_csv(path)
        label = "y" if "y" in frame.columns else frame.columns[-1]
        y = frame[label].to_numpy()
        X = frame.drop(columns=[label]).select_dtypes("number").to_numpy()
    else:
        raise CLIError(f"{path}: unsupported file type {suffix!r}; use .mat, .npz or .csv")
    if X is None or y is None:
        raise CLIError(f"{path}: needs arrays named X and y (y = 1 for anomalies)")
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y).reshape(-1).astype(np.int64)
    if X.ndim != 2 or len(X) != len(y):
        raise CLIError(f"{path}: X must be (n, d) with one label per row; got X {X.shape}, y {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise CLIError(f"{path}: y must hold 0 (normal) and 1 (anomaly) only")
    return X, y


def load_problem(spec: str, *, normal_class: str | None = None, seed: int = 0) -> Problem:
    """Turn a ``--data`` SPEC into a train/test problem (see the module docstring)."""
    from adlab import data

    if spec == "digits":
        return _one_class(data.load_digits(), normal_class, seed)
    if spec.startswith("toy:"):
        ds = data.make_toy(spec[4:], seed=seed) if spec[4:] in data.TOY_NAMES else None
        if ds is None:
            raise CLIError(f"unknown toy set {spec[4:]!r}; choose one of {', '.join(data.TOY_NAMES)}")
        from adlab.data import one_class_split

        split = one_class_split(ds, list(range(len(ds.class_names) - 1)), seed=seed)
        return Problem(split.X_train, split.X_test, split.anomalous_test, f"{ds.name}, planted anomalies")
    if spec.startswith("mnist-idx:"):
        return _one_class(data.load_mnist_idx(spec[len("mnist-idx:"):], split="test"), normal_class, seed)
    if spec.startswith("torchvision:"):
        parts = spec.split(":", 2)
        if len(parts) != 3 or not parts[2]:
            raise CLIError("torchvision SPEC is torchvision:NAME:DIR, e.g. torchvision:mnist:/data/mnist")
        train = data.load_torchvision(parts[1], parts[2], train=True)
        test = data.load_torchvision(parts[1], parts[2], train=False)
        normal = normal_class if normal_class is not None else train.class_names[0]
        if normal not in train.class_names:
            if not (str(normal).isdigit() and int(normal) < len(train.class_names)):
                raise CLIError(f"unknown class {normal!r}; valid classes: {', '.join(train.class_names)}")
            normal = train.class_names[int(normal)]
        c = train.class_names.index(normal)
        return Problem(train.X[train.y == c], test.X, test.y != c,
                       f"{train.name}, normal class {normal!r} (official train/test splits)")
    path = Path(spec)
    if path.suffix.lower() in (".mat", ".npz", ".csv"):
        if not path.is_file():
            raise CLIError(f"no such file: {path}")
        return _labelled_file(path, seed)
    raise CLIError(
        f"unknown data SPEC {spec!r}: use digits, toy:NAME, mnist-idx:DIR, torchvision:NAME:DIR, "
        "or a path to a .mat, .npz or .csv file"
    )


def _build(method: str, *, kind: str, epochs: int | None, seed: int, device: str):
    """The detector with the quick defaults its page uses (adlab.experiment.quick_params)."""
    from adlab.experiment import MethodSpec

    overrides = {}
    if epochs is not None:
        from adlab.detectors import get_detector

        if "epochs" not in get_detector(method)().get_params():
            raise CLIError(f"{method} does not train in epochs; drop --epochs")
        overrides["epochs"] = epochs
    spec = MethodSpec.quick(method, kind, seed=seed, **overrides)
    return spec.build(device=device)


def _fit(args: argparse.Namespace) -> dict:
    from adlab.device import pick_device
    from adlab.metrics import evaluate

    device = str(pick_device(args.device))
    problem = load_problem(args.data, normal_class=args.normal_class, seed=args.seed)
    kind = "image" if problem.X_train.ndim == 4 else "tabular"
    detector = _build(args.method, kind=kind, epochs=args.epochs, seed=args.seed, device=args.device)
    start = time.perf_counter()
    detector.fit(problem.X_train)
    scores = detector.anomaly_score(problem.X_test)
    seconds = time.perf_counter() - start
    metrics = evaluate(problem.is_anomaly, scores)
    return {
        "method": args.method,
        "data": args.data,
        "description": problem.description,
        "normal_class": args.normal_class,
        "auroc": round(float(metrics["auroc"]), 6),
        "auprc": round(float(metrics["auprc"]), 6),
        "f1": round(float(metrics["f1"]), 6),
        "seconds": round(seconds, 3),
        "n_train": int(len(problem.X_train)),
        "n_test": int(len(problem.X_test)),
        "n_anomalies": int(problem.is_anomaly.sum()),
        "device": device,
        "seed": args.seed,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m adlab", description="adlab anomaly detectors")
    sub = parser.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="fit a detector and score the test split")
    fit.add_argument("method", choices=METHODS)
    fit.add_argument("--data", required=True, help="digits | toy:NAME | mnist-idx:DIR | torchvision:NAME:DIR | FILE")
    fit.add_argument("--normal-class", default=None, help="normal class (image sets; default 0)")
    fit.add_argument("--epochs", type=int, default=None, help="training epochs (deep methods)")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    fit.add_argument("--json", action="store_true", help="end standard output with one JSON line")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m adlab``; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.seed < 0:
            raise CLIError("--seed must be >= 0")
        if args.epochs is not None and args.epochs < 1:
            raise CLIError("--epochs must be >= 1")
        result = _fit(args)
    except (CLIError, ValueError, FileNotFoundError) as exc:
        message = " ".join(str(exc).split())
        print(f"adlab: error: {message}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['method']} on {result['description']}: AUROC {result['auroc']:.4f}, "
              f"AUPRC {result['auprc']:.4f}, F1 {result['f1']:.4f} "
              f"({result['seconds']:.1f} s, {result['n_train']} train / {result['n_test']} test, {result['device']})")
    return 0
