"""Where augmentation runs out: the seminar's conclusion as one experiment.

The seminar ends: hard augmentations make negatives, soft ones and the normal samples make
positives, and data that is hard to augment is hard for these methods. Here that is measured:
the contrastive methods (SimCLR + kNN on its encoder features, DROC, CSI where it applies) and the
transformation classifier GOAD against three shallow baselines on the raw input (kNN, Isolation
Forest, OC-SVM), on images (scikit-learn's 8x8 digits) and on tables (scikit-learn's bundled
breast-cancer and wine sets, or a table the user uploads), with SimCLR's augmentation strength
swept from 0 (the two views are the input itself) to 2 (twice the default magnitudes,
:func:`adlab.augment.default_augment`).

Protocols (:func:`make_split`):

* images: one-class halves (:func:`adlab.data.one_class_split`): one digit is normal, the other
  nine are the anomalies, the whole test half is scored (AUROC does not depend on the anomalies'
  share, and all of them make it less noisy);
* tables: GOAD's tabular protocol (:func:`adlab.data.goad_split`): half of the normal rows (a
  permutation seeded by the run's seed) train; the test set is the other half plus every anomaly.
  Rows are z-scored with the training rows' mean and standard deviation (the noise and masking
  views assume standardised features); a larger upload is cut to a seeded sample of
  :data:`MAX_TRAIN` training and :data:`MAX_TEST` test rows (same share of anomalies).

Runs for the job kind ``"lesson"`` (:mod:`adlab.jobs.work`) are listed in :data:`JOBS`: one call
of :func:`run_methods` and one of :func:`sweep_strength` per data set; they return numbers. The texts
are written when the page draws them, in its language (``lang``, :mod:`adlab.i18n`): :func:`title`,
:func:`protocol`, and in :mod:`adlab.lessons.runs_out_text` the table, the verdict (the page's conclusion
from the numbers) and the papers' lines.
Plain torch + numpy + scikit-learn; never imports streamlit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from adlab import i18n, registry
from adlab.augment import Transform, default_augment
from adlab.data import DataError, Dataset, Split, goad_split, load_digits, one_class_split
from adlab.detectors.scaling import zscore_stats

__all__ = ["BASELINES", "BUILTIN", "CONTRASTIVE", "JOBS", "STRENGTHS", "DataRun", "RunsOutConfig",
           "Source", "Sweep", "augmentation", "aurocs", "builtin", "data_title", "family", "label", "load",
           "make_split", "methods_for", "protocol", "protocol_text", "run_methods", "simclr_config",
           "source_from_upload", "strength_grid", "sweep_strength", "title", "view_change"]

#: the functions a ``"lesson"`` job may run
JOBS: tuple[str, ...] = ("run_methods", "sweep_strength")

#: built-in data sets (no download): name -> (English title, kind, normal classes); :func:`data_title` in a language
BUILTIN: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "digits": ("digits (8×8 images)", "image", ("3",)),
    "breast_cancer": ("breast cancer (table)", "tabular", ("benign",)),
    "wine": ("wine (table)", "tabular", ("class_0",)),
}
STRENGTHS: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0)  # the sweep; the chosen strength is added
CONTRASTIVE: tuple[str, ...] = ("simclr", "droc", "csi")  # augmentations define their positives
TRANSFORMING: tuple[str, ...] = ("goad",)  # classifies transformations; needs no label-preserving view
BASELINES: tuple[str, ...] = ("knn", "iforest", "ocsvm")  # shallow, on the raw input
SIMCLR_LABEL = "SimCLR + kNN"
MAX_TRAIN = 2000
MAX_TEST = 2000
MIN_NORMAL_ROWS = 12  # half of them train: kNN's k = 5 needs at least 6
TIE = 0.005  # AUROC differences below this are called a tie
CHANCE = 0.5


@dataclass(frozen=True)
class RunsOutConfig:
    """Everything but the data and the augmentation strength; small epochs so that a default run
    (digits and breast cancer, every method, the sweep) takes a few seconds on two CPU cores.

    ``simclr_epochs`` (batch 128, lr 1e-3 as the SimCLR page, which trains 20 epochs; 10 here: on digit 3
    the sweep's AUROCs moved by at most 0.005, on breast cancer they stayed below 0.55), ``droc_epochs`` and ``droc_batch_size``
    (quick: 20 epochs of 32; on digit 3, seeds 0 and 1, 5 epochs of 64 gave AUROC 0.986 and 0.970 in
    half the time), ``goad_image_epochs`` (quick: 10; on rows GOAD keeps its official single epoch),
    ``csi_epochs`` (quick: 15; digit 3, seed 0: 0.976 at 10, 0.980 at 15); ``seed`` (split, weights,
    batch order), ``device``.
    """

    seed: int = 0
    simclr_epochs: int = 10
    droc_epochs: int = 5
    droc_batch_size: int = 64
    goad_image_epochs: int = 5
    csi_epochs: int = 10
    device: str = "cpu"

    def __post_init__(self) -> None:
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        for name in ("simclr_epochs", "droc_epochs", "droc_batch_size", "goad_image_epochs", "csi_epochs"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class Source:
    """A data set for a run: a built-in ``name`` (the worker loads it), or an uploaded ``table``
    (``name`` = its upload key, ``file`` = the uploaded file's name); ``normal``: the normal classes, every
    other class is anomalous."""

    name: str
    normal: tuple[str, ...]
    table: Dataset | None = None
    title: str = ""
    file: str = ""

    @property
    def label(self) -> str:
        return self.title or BUILTIN.get(self.name, (self.name,))[0]


@dataclass(frozen=True)
class DataRun:
    """Every method but SimCLR on one data set: ``auroc`` / ``seconds`` (fit + scoring) by method.

    ``title`` and ``protocol`` are in English (the CLI's); a page says them with :func:`title` and
    :func:`protocol`, from ``source``, ``file`` (an upload's file name), ``normal`` (the normal classes),
    the counts and ``capped`` (a large table was cut to a sample)."""

    source: str
    title: str
    kind: str
    protocol: str
    n_train: int
    n_test: int
    n_anomalies: int
    auroc: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    normal: tuple[str, ...] = ()
    capped: bool = False
    file: str = ""


@dataclass(frozen=True)
class Sweep:
    """SimCLR + kNN at each augmentation strength: ``auroc[i]`` at ``strengths[i]``; ``untrained``
    is the same encoder before training (same seed, so the same for every strength); ``change[i]``
    how far a view moves from its input at ``strengths[i]`` (:func:`view_change` on training rows)."""

    source: str
    strengths: tuple[float, ...]
    auroc: tuple[float, ...]
    untrained: float
    seconds: tuple[float, ...]
    change: tuple[float, ...] = ()

    def _index(self, strength: float) -> int:
        for i, s in enumerate(self.strengths):
            if abs(s - strength) < 1e-9:
                return i
        raise ValueError(f"strength {strength!r} was not swept; swept: {self.strengths}")

    def at(self, strength: float) -> float:
        """The AUROC at ``strength`` (one of :attr:`strengths`; ``ValueError`` otherwise)."""
        return self.auroc[self._index(strength)]

    def change_at(self, strength: float) -> float:
        """How far a view moves from its input at ``strength`` (:func:`view_change`)."""
        return self.change[self._index(strength)]


# ----------------------------------------------------------------------------- data
def builtin(name: str) -> Dataset:
    """A built-in data set of :data:`BUILTIN`, bundled with scikit-learn (nothing is downloaded).

    ``breast_cancer``: 569 rows x 30 features, classes benign (357) and malignant (212); ``wine``:
    178 rows x 13 features, cultivars class_0 (59), class_1 (71), class_2 (48); ``digits``: 1797
    grey 8x8 images (:func:`adlab.data.load_digits`).
    """
    if name == "digits":
        return load_digits()
    if name == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        data = load_breast_cancer()  # target 0 = malignant, 1 = benign
        y = (data.target == 0).astype(np.int64)  # 0 = benign, 1 = malignant
        return Dataset(np.asarray(data.data, np.float32), y, ("benign", "malignant"), name, "tabular")
    if name == "wine":
        from sklearn.datasets import load_wine

        data = load_wine()
        return Dataset(np.asarray(data.data, np.float32), data.target.astype(np.int64),
                       tuple(str(n) for n in data.target_names), name, "tabular")
    raise ValueError(f"data set must be one of {', '.join(BUILTIN)}, got {name!r}")


def source_from_upload(upload: Any, key: str, normal: str | None = None) -> Source:
    """A :class:`Source` for an uploaded file (an :class:`adlab.data.Upload`), or a ``DataError``
    saying why this page cannot use it: images, no labels, one class, too few normal rows.
    ``normal`` = the normal class (default: the file's likely normal class)."""

    def fail(what: str, **fields: Any) -> DataError:  # said in the app's language (adlab.i18n.message)
        return DataError.say(f"lessons.runs_out.upload.{what}", name=upload.name, **fields)

    if upload.kind != "tabular":
        raise fail("images")
    if upload.y is None:
        raise fail("no_labels")
    ds = upload.to_dataset()
    if len(ds.class_names) < 2:
        raise fail("single_class", cls=ds.class_names[0])
    normal = ds.likely_normal_class() if normal is None else normal
    if normal not in ds.class_names:
        raise fail("no_class", normal=normal, classes=", ".join(ds.class_names))
    n_normal = int(np.count_nonzero(ds.y == ds.class_names.index(normal)))
    if n_normal < MIN_NORMAL_ROWS:
        raise fail("few_rows", n=n_normal, normal=normal, minimum=MIN_NORMAL_ROWS)
    return Source(key, (normal,), ds, title=data_title("", "en", file=upload.name), file=upload.name)


def data_title(name: str, lang: str = "en", *, file: str = "") -> str:
    """A data set's name for people in ``lang``: a built-in one's (:data:`BUILTIN`), "``file`` (your table)"
    for an upload, else ``name`` itself."""
    if file:
        return i18n.text("lessons.runs_out.data.upload", lang, name=file)
    return i18n.text(f"lessons.runs_out.data.{name}", lang) if name in BUILTIN else name


def title(run: DataRun, lang: str = "en") -> str:
    """``run``'s data set, named in ``lang`` (:func:`data_title`; a run of neither kind keeps its own title)."""
    return data_title(run.source, lang, file=run.file) if run.file or run.source in BUILTIN else run.title


def load(source: Source) -> Dataset:
    return source.table if source.table is not None else builtin(source.name)


def make_split(source: Source, seed: int) -> tuple[Split, str]:
    """The split of ``source`` and one sentence naming its protocol (see the module docstring; English,
    :func:`protocol_text`)."""
    split, capped = _split(source, seed)
    return split, protocol_text(split.kind, source.normal, len(split.X_train), len(split.X_test),
                                int(split.anomalous_test.sum()), capped)


def _split(source: Source, seed: int) -> tuple[Split, bool]:
    """The split of ``source`` (see the module docstring), and whether a large table was cut to a sample."""
    ds = load(source)
    if ds.kind == "image":
        return one_class_split(ds, list(source.normal), None, seed=seed), False
    split = goad_split(ds, list(source.normal), seed=seed, split="random")
    capped = len(split.X_train) > MAX_TRAIN or len(split.X_test) > MAX_TEST
    if capped:
        split = _cap(split, seed)
    mean, scale = zscore_stats(split.X_train)  # (d,) each: the training rows' statistics only
    split = replace(split, X_train=((split.X_train - mean) / scale).astype(np.float32),
                    X_test=((split.X_test - mean) / scale).astype(np.float32))
    return split, capped


def protocol_text(kind: str, normal: Sequence[str], n_train: int, n_test: int, n_anomalies: int, capped: bool = False,
                  lang: str = "en") -> str:
    """One sentence naming the protocol of a split of ``kind`` with the ``normal`` classes, in ``lang``."""
    fields = dict(normal=", ".join(normal), n_train=n_train, n_test=n_test, n_anomalies=n_anomalies)
    text = i18n.text(f"lessons.runs_out.protocol.{'image' if kind == 'image' else 'tabular'}", lang, **fields)
    if capped and kind != "image":
        text += i18n.text("lessons.runs_out.protocol.capped", lang, max_train=MAX_TRAIN, max_test=MAX_TEST)
    return text


def protocol(run: DataRun, lang: str = "en") -> str:
    """``run``'s protocol sentence in ``lang`` (its English :attr:`DataRun.protocol` when it lacks the numbers
    to say it again)."""
    if not run.normal:
        return run.protocol
    return protocol_text(run.kind, run.normal, run.n_train, run.n_test, run.n_anomalies, run.capped, lang)


def _cap(split: Split, seed: int) -> Split:
    """At most MAX_TRAIN training and MAX_TEST test rows, seeded, keeping the test set's anomaly share."""
    rng = np.random.default_rng(seed)
    train = np.sort(rng.permutation(len(split.X_train))[:MAX_TRAIN])
    test = np.arange(len(split.X_test))
    if len(test) > MAX_TEST:
        anom = np.flatnonzero(split.anomalous_test)
        k = min(max(1, round(MAX_TEST * len(anom) / len(test))), MAX_TEST - 1)
        norm = np.flatnonzero(~split.anomalous_test)
        test = np.sort(np.concatenate([rng.choice(norm, MAX_TEST - k, replace=False), rng.choice(anom, k, replace=False)]))
    return replace(split, X_train=split.X_train[train], y_train=split.y_train[train],
                   contaminated_train=split.contaminated_train[train], train_index=split.train_index[train],
                   X_test=split.X_test[test], y_test=split.y_test[test], anomalous_test=split.anomalous_test[test],
                   test_index=split.test_index[test])


# ----------------------------------------------------------------------------- methods
def methods_for(kind: str) -> tuple[str, ...]:
    """The methods run on data of ``kind``, in display order (CSI takes images only)."""
    found = [m for m in (*CONTRASTIVE, *TRANSFORMING, *BASELINES)
             if m == "simclr" or kind in registry.detector(m).kinds]
    return tuple(found)


def label(method: str, lang: str = "en") -> str:
    """The method's name on this page, in ``lang`` (the registry's label; SimCLR's is :data:`SIMCLR_LABEL`)."""
    known = (*CONTRASTIVE, *TRANSFORMING, *BASELINES)
    if method not in known:
        raise ValueError(f"method must be one of {', '.join(known)}, got {method!r}")
    return i18n.text(f"lessons.runs_out.method.{method}", lang)


def family(method: str, lang: str = "en") -> str:
    """contrastive, transformations or raw-input baseline, in ``lang``."""
    key = "contrastive" if method in CONTRASTIVE else "transformations" if method in TRANSFORMING else "baseline"
    return i18n.text(f"lessons.runs_out.family.{key}", lang)


def _spec(method: str, split: Split, cfg: RunsOutConfig) -> Any:
    from adlab.experiment import MethodSpec

    overrides: dict[str, Any] = {}
    if method == "droc":
        overrides.update(epochs=cfg.droc_epochs, batch_size=cfg.droc_batch_size)
    elif method == "csi":
        overrides["epochs"] = cfg.csi_epochs
    elif method == "goad" and split.kind == "image":
        overrides["epochs"] = cfg.goad_image_epochs
    return MethodSpec.quick(method, split.kind, input_shape=split.X_train.shape[1:], seed=cfg.seed, **overrides)


def simclr_config(strength: float, cfg: RunsOutConfig) -> Any:
    """SimCLR (NT-Xent, tau 0.5) with views from ``default_augment(kind, strength=strength)``."""
    from adlab.contrastive import ContrastiveConfig
    from adlab.train import TrainConfig

    _check_strength(strength)
    train = TrainConfig(epochs=cfg.simclr_epochs, batch_size=128, lr=1e-3, seed=int(cfg.seed), device=cfg.device)
    return ContrastiveConfig.for_loss("simclr", train, augment_strength=float(strength))


def augmentation(kind: str, strength: float) -> Transform:
    """The views SimCLR trains on at ``strength``: :func:`adlab.augment.default_augment` (0 = identity)."""
    _check_strength(strength)
    return default_augment(kind, strength=float(strength))


def view_change(X: np.ndarray, kind: str, strength: float, *, seed: int = 0) -> float:
    """Mean ``||t(x) - x|| / ||x||`` over the rows of ``X`` for one draw of :func:`augmentation`: how far a
    view moves from its input (0 at strength 0)."""
    import torch

    x = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    view = augmentation(kind, strength)(x, torch.Generator().manual_seed(int(seed)))
    diff = (view - x).reshape(len(x), -1).norm(dim=1)  # (n,)
    return float((diff / x.reshape(len(x), -1).norm(dim=1).clamp_min(1e-12)).mean())


def _check_strength(strength: float) -> None:
    if not (isinstance(strength, (int, float, np.floating)) and 0.0 <= float(strength) <= 2.0):
        raise ValueError(f"strength must lie in [0, 2], got {strength!r}")


def strength_grid(strength: float) -> tuple[float, ...]:
    """:data:`STRENGTHS` with ``strength`` added (sorted): the sweep that also gives the chosen point."""
    _check_strength(strength)
    return tuple(sorted({*STRENGTHS, round(float(strength), 6)}))


# ----------------------------------------------------------------------------- the jobs
def _phase(progress: Any) -> None:
    """Announce the next training (the job's status line says "training", in the page's language)."""
    if progress is not None:
        progress.phase("training")  # raises adlab.jobs.progress.Stopped once the job was cancelled


def _hooks(progress: Any) -> dict[str, Any]:
    return {} if progress is None else {"callbacks": [progress.callback], "cancel": progress.cancel}


def run_methods(source: Source, cfg: RunsOutConfig, *, progress: Any = None) -> DataRun:
    """Fit every method but SimCLR (:func:`methods_for`) on ``source``'s split; AUROC and seconds each."""
    from adlab.experiment import run_detector

    split, capped = _split(source, cfg.seed)
    n_anomalies = int(split.anomalous_test.sum())
    todo = [m for m in methods_for(split.kind) if m != "simclr"]
    auroc, seconds = {}, {}
    for method in todo:
        _phase(progress)
        start = time.perf_counter()
        run = run_detector(split, _spec(method, split, cfg), device=cfg.device, before=False, **_hooks(progress))
        seconds[method] = time.perf_counter() - start
        auroc[method] = float(run.metrics["auroc"])
    text = protocol_text(split.kind, source.normal, len(split.X_train), len(split.X_test), n_anomalies, capped)
    return DataRun(source.name, source.label, split.kind, text, len(split.X_train), len(split.X_test), n_anomalies,
                   auroc, seconds, normal=tuple(source.normal), capped=capped, file=source.file)


def sweep_strength(source: Source, cfg: RunsOutConfig, strengths: Sequence[float] = STRENGTHS, *,
                   progress: Any = None) -> Sweep:
    """SimCLR + kNN (cosine, k = 5, encoder features) trained at each strength on ``source``'s split."""
    from adlab.contrastive import run_contrastive

    grid = tuple(float(s) for s in strengths)
    if not grid:
        raise ValueError("strengths is empty: give at least one strength in [0, 2]")
    split, _ = _split(source, cfg.seed)
    auroc, seconds, untrained = [], [], float("nan")
    change = tuple(view_change(split.X_train[:256], split.kind, s, seed=cfg.seed) for s in grid)
    for s in grid:
        _phase(progress)
        start = time.perf_counter()
        run = run_contrastive(split, simclr_config(s, cfg), **_hooks(progress))
        seconds.append(time.perf_counter() - start)
        auroc.append(float(run.metrics_after["auroc"]))
        untrained = float(run.metrics_before["auroc"])
    return Sweep(source.name, grid, tuple(auroc), untrained, tuple(seconds), change)


# ----------------------------------------------------------------------------- reading the numbers
def aurocs(run: DataRun, sweep: Sweep | None, strength: float) -> dict[str, float]:
    """Every method's AUROC on one data set, SimCLR's at ``strength``, in :func:`methods_for` order."""
    found = dict(run.auroc)
    if sweep is not None:
        found["simclr"] = sweep.at(strength)
    return {m: found[m] for m in methods_for(run.kind) if m in found}
