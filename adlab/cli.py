"""Command line: ``python -m adlab fit METHOD --data SPEC [...]`` with the papers' protocols,
``python -m adlab score METHOD --data FILE [--out scores.csv]`` for a file without labels, and
``python -m adlab sweep METHOD --data SPEC --classes LIST --seeds LIST`` (:mod:`adlab.sweep`: every
(class, seed) pair as parallel jobs on the local pool or, with ``--scheduler``, a Dask cluster).

``fit`` protocols:

* files are read by :func:`adlab.data.load_upload`, the loader behind the app's upload (``.csv``,
  ``.tsv``, ``.txt``, ``.npz``, ``.npy``, ``.mat``, ``.zip``; nothing is unpickled); labelled tables
  follow GOAD's protocol: half of the normal rows train; test = the other half plus every anomaly;
  F1 at the true contamination (y in {0, 1}: 1 = anomalous; other labels: ``--normal-class``).
  ``--split official`` (the default) trains on the first half of the normal rows in file order, as
  the official GOAD code loads ODDS Thyroid and Arrhythmia, so the seed changes only the
  initialisation; ``--split random`` permutes the normal rows with the seed first
  (:data:`adlab.data.split.GOAD_SPLITS`). A ZIP of images (one folder per class) is one-class like
  the image sets;
* image sets and toy sets are one-class: train on the normal class of the training split and
  score the test split (an IDX folder holding only the test files, and the built-in sets, are cut
  in halves by the seed).

``score`` does what the pages do with an unlabelled upload: fit on a sample of the rows
(``--max-train``, 3000 as on the pages) as if all were normal, score every row (higher = more
anomalous), print the top rows and write every score to ``--out`` (CSV: ``id`` = data row from 0,
``score``, ``split`` = fitted on / scored only). Labels in the file are never used: a label column
is left out of the features and copied to the CSV beside the scores.

With ``--json`` the last line of standard output is one JSON object; ``fit --card FILE`` also writes a
Markdown run card (the paper's number beside ours where the protocol is the paper's, e.g. GOAD on
ODDS Thyroid). ``fit --scheduler ADDRESS`` runs the same fit as one job on a Dask cluster and prints
the same numbers (the device and torch's thread count being the same: the workers use one thread);
a scheduler that does not answer gives one warning line on standard error and the fit runs on this
machine. A bad SPEC, an unknown method or class, a missing or unusable file, a method that
does not take the data prints one line on standard error and exits with status 2.
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

MAX_TRAIN = 3000  # rows ``score`` fits on by default: the pages' sample of an uploaded file


@dataclass(frozen=True)
class Problem:
    """A train/test problem built by a protocol: train rows hold no anomaly label."""

    X_train: np.ndarray
    X_test: np.ndarray
    is_anomaly: np.ndarray
    description: str
    X_all: np.ndarray | None = None  # labelled files: every row and its 0/1 label (protocol detection)
    y_all: np.ndarray | None = None
    name: str = ""
    split: str | None = None  # labelled tables: the GOAD split used ("official" or "random"); else None


class CLIError(ValueError):
    """A user error: printed as one line, exit status 2 (a ValueError, so a job reports it the same way)."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as a :class:`CLIError` (one line, status 2), not usage + exit."""

    def error(self, message: str):
        raise CLIError(f"{message}; see {self.prog} --help")


def _one_class(ds, normal_class: str | None, seed: int, default: str | int = 0) -> Problem:
    from adlab.data import one_class_split

    normal = default if normal_class is None else normal_class
    if isinstance(normal, str) and normal.lstrip("-").isdigit() and normal not in ds.class_names:
        normal = int(normal)
    split = one_class_split(ds, [normal], seed=seed)
    name = ds.class_names[split.normal_classes[0]]
    return Problem(split.X_train, split.X_test, split.anomalous_test, f"{ds.name}, normal class {name!r}")


def _file_problem(path: Path, *, normal_class: str | None, seed: int, label_column: str | None,
                  split: str | None) -> Problem:
    """A user's file, read by :func:`adlab.data.load_upload` (the app's upload reads it the same way).

    Tables follow GOAD's protocol with ``split`` (None: ``"official"``, normals in file order): y in
    {0, 1} (ODDS, 1 = anomaly) as is; other labels are made binary with ``normal_class`` (default: a
    class named normal / 0 / inlier, else the largest). Images (a ZIP, or 4-D arrays) are one-class
    like the built-in image sets.
    """
    from adlab.data import goad_tabular_split, load_upload

    upload = load_upload(path.name, path.read_bytes(), label_column="auto" if label_column is None else label_column)
    if upload.y is None:
        raise CLIError(f"{path.name} has no labels, so nothing can be evaluated: "
                       + ("pass --label-column NAME" if upload.format in ("csv", "tsv", "txt")
                          else "save y beside X (1 = anomaly), or use one folder per class in the ZIP"))
    names = upload.class_names
    ds = upload.to_dataset()
    normal = _normal_name(ds, normal_class)
    if upload.kind == "image":
        _no_split(split, f"images ({path.name})")
        return _one_class(ds, normal, seed)
    if set(names) <= {"0", "1"} and normal_class is None:
        y01 = np.asarray([int(names[c]) for c in upload.y])  # ODDS: 1 = anomaly
        how = "y = 1 anomalous"
    else:
        y01 = (upload.y != names.index(normal)).astype(np.int64)
        how = f"normal class {normal!r}, every other class anomalous"
    split = split or "official"
    X_train, X_test, is_anomaly = goad_tabular_split(upload.X, y01, seed=seed, split=split)
    order = "normals in file order" if split == "official" else "normals permuted with the seed"
    return Problem(X_train, X_test, is_anomaly,
                   f"{path.name}, GOAD protocol, {split} split (half of the normals train, {order}; {how})",
                   X_all=upload.X, y_all=y01, name=path.name, split=split)


def _no_split(split: str | None, what: str) -> None:
    """``--split`` picks the rows of GOAD's tabular protocol: a CLIError where the data takes another protocol."""
    if split is not None:
        raise CLIError(f"--split applies to labelled tables (GOAD's protocol) only, not to {what}, which are "
                       "split one-class: drop --split")


def _normal_name(ds, normal_class: str | None) -> str:
    if normal_class is None:
        return ds.likely_normal_class()  # the app's default for an uploaded file too
    if normal_class not in ds.class_names:
        raise CLIError(f"unknown class {normal_class!r}; valid classes: {', '.join(ds.class_names)}")
    return normal_class


def load_problem(spec: str, *, normal_class: str | None = None, seed: int = 0,
                 label_column: str | None = None, split: str | None = None) -> Problem:
    """Turn a ``--data`` SPEC into a train/test problem (see the module docstring).

    ``split`` (``"official"``, the default for a labelled table, or ``"random"``) picks the training
    half of GOAD's tabular protocol; for data that is split one-class it must be None (CLIError).
    """
    from adlab import data

    if spec == "digits" or spec.startswith(("toy:", "mnist-idx:", "torchvision:")):
        _no_split(split, f"{spec.split(':')[0]} data")
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
    if path.suffix.lower() in data.ACCEPTED_EXTENSIONS or path.is_file():
        if not path.is_file():
            raise CLIError(f"no such file: {path}")
        return _file_problem(path, normal_class=normal_class, seed=seed, label_column=label_column, split=split)
    raise CLIError(
        f"unknown data SPEC {spec!r}: use digits, toy:NAME, mnist-idx:DIR, torchvision:NAME:DIR, "
        f"or a path to a file ({', '.join(data.ACCEPTED_EXTENSIONS)})"
    )


def _build(method: str, *, kind: str, input_shape: tuple[int, ...], epochs: int | None, seed: int, device: str):
    """The detector with the quick defaults its page uses (adlab.experiment.quick_params)."""
    return _spec(method, kind=kind, input_shape=input_shape, epochs=epochs, seed=seed).build(device=device)


def _spec(method: str, *, kind: str, input_shape: tuple[int, ...], epochs: int | None, seed: int):
    """The quick :class:`~adlab.experiment.MethodSpec` of ``method`` with ``--epochs`` applied."""
    from adlab import registry
    from adlab.experiment import KIND_WORDS, MethodSpec, applicable, methods

    if not applicable(method, kind):
        takes = " and ".join(KIND_WORDS[k] for k in registry.detector(method).kinds)
        raise CLIError(f"{method} works on {takes} only; these are {KIND_WORDS[kind]}: "
                       f"choose one of {', '.join(methods(kind))}")
    overrides = {}
    if epochs is not None:
        if "epochs" not in registry.detector(method)._param_names():
            raise CLIError(f"{method} does not train in epochs; drop --epochs")
        overrides["epochs"] = epochs
    return MethodSpec.quick(method, kind, input_shape=input_shape, seed=seed, **overrides)


def _fit(args: argparse.Namespace) -> dict:
    from adlab.device import pick_device
    from adlab.metrics import evaluate

    device = str(pick_device(args.device))
    problem = load_problem(args.data, normal_class=args.normal_class, seed=args.seed, label_column=args.label_column,
                           split=args.split)
    kind = "image" if problem.X_train.ndim == 4 else "tabular"
    if args.scheduler:  # the same fit as one job on the cluster: the same numbers
        from adlab.sweep import remote_fit

        spec = _spec(args.method, kind=kind, input_shape=tuple(problem.X_train.shape[1:]), epochs=args.epochs,
                     seed=args.seed)
        detector, scores, seconds = remote_fit(args.scheduler, problem, spec, device, args.seed)
    else:
        detector = _build(args.method, kind=kind, input_shape=tuple(problem.X_train.shape[1:]),
                          epochs=args.epochs, seed=args.seed, device=args.device)
        start = time.perf_counter()
        detector.fit(problem.X_train)
        scores = detector.anomaly_score(problem.X_test)
        seconds = time.perf_counter() - start
    metrics = evaluate(problem.is_anomaly, scores)
    protocol = None
    if problem.X_all is not None:
        from adlab.papers import detect_protocol

        found = detect_protocol(problem.X_all, problem.y_all, problem.name)
        protocol = found if found and found.startswith("goad-tabular:") else None
    if args.card:
        _write_card(args, problem, detector, metrics, seconds, device, protocol)
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
        "protocol": protocol,
        "split": problem.split,
    }


def _score(args: argparse.Namespace) -> dict:
    """Fit on a sample of an unlabelled file's rows, score every row (:func:`adlab.experiment.score_unlabelled`)."""
    from adlab.data import load_upload
    from adlab.device import pick_device
    from adlab.experiment import score_unlabelled

    path = Path(args.data)
    if not path.is_file():
        raise CLIError(f"no such file: {path}" if not path.exists() else f"{path} is not a file")
    device = str(pick_device(args.device))
    upload = load_upload(path.name, path.read_bytes(), label_column=args.label_column or "auto")
    spec = _spec(args.method, kind=upload.kind, input_shape=tuple(upload.X.shape[1:]), epochs=args.epochs,
                 seed=args.seed)
    run = score_unlabelled(upload.X, spec, seed=args.seed, max_train=args.max_train, device=device)
    labels = None if upload.y is None else [upload.class_names[c] for c in upload.y]
    if args.out:
        _write_scores(args.out, run, labels)
    top = np.argsort(-run.scores, kind="stable")[: args.top]  # higher = more anomalous
    return {
        "method": args.method,
        "data": args.data,
        "description": upload.describe(),
        "kind": upload.kind,
        "n_rows": int(len(run.scores)),
        "n_train": int(len(run.train_index)),
        "max_train": args.max_train,
        "top": [{"row": int(i), "score": float(run.scores[i]), **({"label": labels[i]} if labels else {})}
                for i in top],
        "labels_ignored": _label_source(upload) if labels else None,
        "fit_seconds": round(run.fit_seconds, 3),
        "score_seconds": round(run.score_seconds, 3),
        "out": args.out,
        "device": device,
        "seed": args.seed,
    }


def _label_source(upload) -> str:
    """Where an upload's labels came from, for a message: ``column 'class'``, ``y``, ``the folders``."""
    if upload.label_column:
        return f"column '{upload.label_column}'"
    return "the folders" if upload.format == "zip" else "y"


def _write_scores(out: str, run, labels: list[str] | None) -> None:
    """Every row's score as CSV: ``id`` (data row from 0), ``label`` (when the file has labels), ``score``, ``split``."""
    from adlab.export import scores_csv

    try:
        Path(out).write_text(scores_csv(run.scores, labels=labels, split=run.split_names()))
    except OSError as exc:
        raise CLIError(f"cannot write the scores to {out}: {exc.strerror}") from None


def _print_scores(result: dict) -> None:
    n, k = result["n_rows"], result["n_train"]
    rows = "images" if result["kind"] == "image" else "rows"
    sample = f"all {rows}" if k == n else f"a sample of {k} {rows} (--max-train)"
    print(f"{result['method']} on {result['description']}")
    print(f"fitted on {sample} as if all were normal, scored {n} {rows}: fit {result['fit_seconds']:.1f} s, "
          f"score {result['score_seconds']:.1f} s ({result['device']}, seed {result['seed']})")
    if result["labels_ignored"]:
        print(f"labels from {result['labels_ignored']}: not used for fitting or scoring (only copied beside the scores); "
              "`python -m adlab fit` evaluates against them")
    if result["top"]:
        with_label = "label" in result["top"][0]
        print(f"top {len(result['top'])} {rows} by score (higher = more anomalous; row = position in the file, from 0):")
        print(f"{'row':>8}  {'score':>12}" + ("  label" if with_label else ""))
        for r in result["top"]:
            print(f"{r['row']:>8}  {r['score']:>12.6g}" + (f"  {r['label']}" if with_label else ""))
    if result["out"]:
        print(f"scores of every row: {result['out']}")


def _write_card(args, problem: Problem, detector, metrics: dict, seconds: float, device: str,
                protocol: str | None) -> None:
    """The Markdown run card, with the paper's number beside ours when the protocol is the paper's."""
    from adlab.data.split import goad_split_note
    from adlab.export import run_card

    split = {"split": goad_split_note(problem.split)} if problem.split else {}
    card = run_card(
        title=f"{args.method} on {args.data}", dataset=args.data, dataset_note=problem.description,
        config=detector.get_params(), seed=args.seed, device=device, seconds=seconds, metrics=metrics,
        n_train=len(problem.X_train), n_test=len(problem.X_test), n_anomalies=int(problem.is_anomaly.sum()),
        method=args.method, protocol=protocol,
        extra={**split,
               "command": "python -m adlab " + " ".join(sys.argv[1:]) if sys.argv[1:] else "python -m adlab"},
    )
    try:
        Path(args.card).write_text(card)
    except OSError as exc:
        raise CLIError(f"cannot write the run card to {args.card}: {exc.strerror}") from None


def _parser() -> argparse.ArgumentParser:
    """The argument parser; the method choices are the detectors registered now (:mod:`adlab.registry`)."""
    from adlab import registry
    from adlab.data.split import GOAD_SPLITS

    methods = registry.detector_names()
    parser = _Parser(prog="python -m adlab", description="adlab anomaly detectors")
    sub = parser.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="fit a detector and score the test split")
    fit.add_argument("method", choices=methods)
    fit.add_argument("--data", required=True,
                     help="digits | toy:NAME | mnist-idx:DIR | torchvision:NAME:DIR | FILE (.csv .tsv .txt .npz .npy .mat .zip)")
    fit.add_argument("--normal-class", default=None,
                     help="normal class (image sets: default 0; files: default a class named normal/0, else the largest)")
    fit.add_argument("--epochs", type=int, default=None, help="training epochs (deep methods)")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--split", default=None, choices=tuple(GOAD_SPLITS),
                     help="labelled tables (GOAD's protocol): official (default) = the first half of the normal rows "
                          "in file order trains, as the official GOAD code loads ODDS Thyroid and Arrhythmia (the "
                          "seed changes only the initialisation); random = the normal rows permuted with the seed")
    fit.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    fit.add_argument("--label-column", default=None, help="CSV/TSV files: the label column (default: guessed)")
    fit.add_argument("--card", default=None, metavar="FILE", help="also write a Markdown run card to FILE")
    fit.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="fit on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786); same numbers")
    fit.add_argument("--json", action="store_true", help="end standard output with one JSON line")

    score = sub.add_parser("score", help="score every row of a file without labels (fit on a sample of its rows)")
    score.add_argument("method", choices=methods)
    score.add_argument("--data", required=True, metavar="FILE", help="a file (.csv .tsv .txt .npz .npy .mat .zip)")
    score.add_argument("--out", default=None, metavar="FILE",
                       help="write every row's score to FILE (CSV: id = data row from 0, score, split)")
    score.add_argument("--max-train", type=int, default=MAX_TRAIN, metavar="N",
                       help=f"fit on at most N rows drawn with the seed (default {MAX_TRAIN}, as on the pages)")
    score.add_argument("--top", type=int, default=10, metavar="K", help="print the K highest-scored rows (default 10)")
    score.add_argument("--epochs", type=int, default=None, help="training epochs (deep methods)")
    score.add_argument("--seed", type=int, default=0)
    score.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    score.add_argument("--label-column", default=None,
                       help="CSV/TSV files: a label column to leave out of the features (default: guessed by name)")
    score.add_argument("--json", action="store_true", help="end standard output with one JSON line")

    from adlab.sweep import add_parser

    add_parser(sub, methods)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors the user can fix, printed as one line: bad arguments or files, a loss that became NaN."""
    from adlab.train import NonFiniteLoss

    return CLIError, ValueError, FileNotFoundError, NonFiniteLoss


def _sweep(args: argparse.Namespace) -> int:
    """``sweep``: :func:`adlab.sweep.sweep`, then the JSON line or the summary."""
    from adlab.sweep import print_summary, sweep

    if args.epochs is not None and args.epochs < 1:
        raise CLIError("--epochs must be >= 1")
    result = sweep(args)
    if args.json:
        print(json.dumps(result))
    else:
        print_summary(result)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m adlab``; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
        if args.command == "sweep":
            return _sweep(args)
        if args.seed < 0:
            raise CLIError("--seed must be >= 0")
        if args.epochs is not None and args.epochs < 1:
            raise CLIError("--epochs must be >= 1")
        if args.command == "score":
            if args.max_train < 1:
                raise CLIError("--max-train must be >= 1")
            if args.top < 0:
                raise CLIError("--top must be >= 0")
        result = _score(args) if args.command == "score" else _fit(args)
    except _user_errors() as exc:  # evaluated only when something was raised
        message = " ".join(str(exc).split())
        print(f"adlab: error: {message}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    elif args.command == "score":
        _print_scores(result)
    else:
        print(f"{result['method']} on {result['description']}: AUROC {result['auroc']:.4f}, "
              f"AUPRC {result['auprc']:.4f}, F1 {result['f1']:.4f} "
              f"({result['seconds']:.1f} s, {result['n_train']} train / {result['n_test']} test, {result['device']})")
    return 0
