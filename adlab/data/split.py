"""The one-class protocol: train on normal classes only, test on normal + anomaly classes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from adlab import i18n

from .types import DataError, Dataset, Text

__all__ = ["GOAD_SPLITS", "Split", "goad_split", "goad_split_note", "goad_tabular_split", "one_class_split"]


def _no_index() -> np.ndarray:
    return np.empty(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Split:
    """A one-class train/test split of a ``Dataset``.

    ``y_train`` / ``y_test`` keep the true class of every row; ``anomalous_test[i]`` is True when test
    row ``i`` belongs to an anomaly class; ``contaminated_train[i]`` marks anomaly rows that were let
    into training on purpose (display only: a detector never sees it). ``train_index`` /
    ``test_index`` are the rows of the source dataset, so pictures and names can be looked up.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    anomalous_test: np.ndarray
    contaminated_train: np.ndarray
    normal_classes: tuple[int, ...]
    anomaly_classes: tuple[int, ...]
    dataset: str
    kind: str
    train_index: np.ndarray = field(default_factory=_no_index)
    test_index: np.ndarray = field(default_factory=_no_index)


def one_class_split(
    ds: Dataset,
    normal_classes: int | str | Iterable[int | str],
    anomaly_classes: int | str | Iterable[int | str] | None = None,
    *,
    contamination: float = 0.0,
    train_fraction: float = 0.5,
    seed: int = 0,
    max_train: int | None = None,
    max_test: int | None = None,
    test_anomaly_fraction: float | None = None,
) -> Split:
    """Split ``ds`` for one-class anomaly detection.

    The rows are shuffled with ``seed`` and cut into a train half (``train_fraction`` of the rows)
    and a test half. Train = the normal-class rows of the train half, plus, when
    ``contamination = c > 0``, anomaly-class rows of the train half so that they make up a fraction
    ``c`` of the training set: ``n_anom = round(c * n_train)`` with ``n_train = n_normal + n_anom``.
    Test = the normal- and anomaly-class rows of the test half. Rows of classes that are neither
    normal nor anomalous are left out. ``max_train`` / ``max_test`` subsample without replacement,
    keeping the anomaly fraction (of the training set; of the test set, stratified).
    ``test_anomaly_fraction = a`` caps the share of anomalies in the test set at ``a`` (in (0, 1)):
    when the test half holds more, a seeded sample of ``max(1, floor(a / (1 - a) * n_normal_test))``
    anomaly rows is kept (before ``max_test``), so anomalies stay a minority as in real data; a test
    half already below the cap is left as it is. Classes are
    given as indices or names; ``anomaly_classes=None`` means every class that is not normal.
    The same arguments give the same split; train and test rows are always disjoint.
    """
    normal = _class_indices(ds, normal_classes, "normal_classes")
    if not normal:
        raise DataError.say("upload.split.no_normal")
    if anomaly_classes is None:
        anomaly = tuple(c for c in range(len(ds.class_names)) if c not in normal)
    else:
        anomaly = _class_indices(ds, anomaly_classes, "anomaly_classes")
    overlap = sorted(set(normal) & set(anomaly))
    if overlap:
        raise DataError.say("upload.split.overlap", classes=_names(ds, overlap))
    if not anomaly:
        raise DataError.say("upload.split.no_anomaly")
    if not 0.0 <= contamination < 0.5:
        raise ValueError(f"contamination must lie in [0, 0.5), got {contamination!r}")
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must lie in (0, 1), got {train_fraction!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if test_anomaly_fraction is not None and not 0.0 < test_anomaly_fraction < 1.0:
        raise ValueError(f"test_anomaly_fraction must be None or lie in (0, 1), got {test_anomaly_fraction!r}")
    for arg, value in (("max_train", max_train), ("max_test", max_test)):
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 2):
            raise ValueError(f"{arg} must be None or an integer >= 2, got {value!r}")

    rng = np.random.default_rng(int(seed))
    order = rng.permutation(len(ds))
    cut = int(round(train_fraction * len(ds)))
    train_half, test_half = order[:cut], order[cut:]
    is_normal = np.isin(ds.y, normal)
    is_anomaly = np.isin(ds.y, anomaly)

    # --- training set: normals (+ a planted fraction of anomalies) from the train half
    train_normal = train_half[is_normal[train_half]]
    train_anomaly = train_half[is_anomaly[train_half]]
    if len(train_normal) == 0:
        raise DataError.say("upload.split.no_normal_rows", classes=_names(ds, normal), dataset=ds.name)
    n_normal = len(train_normal)
    n_anom = int(round(contamination / (1.0 - contamination) * n_normal))
    if max_train is not None and n_normal + n_anom > max_train:
        n_anom = int(round(contamination * max_train))
        n_normal = max_train - n_anom
    if n_anom > len(train_anomaly):
        feasible = len(train_anomaly) / (len(train_anomaly) + len(train_normal))
        raise DataError.say("upload.split.contamination", contamination=contamination, n=n_anom,
                            have=len(train_anomaly), feasible=feasible)
    train_idx = np.concatenate(
        [_subsample(train_normal, n_normal, rng), _subsample(train_anomaly, n_anom, rng)]
    )
    train_idx = train_idx[rng.permutation(len(train_idx))]

    # --- test set: normals + anomalies of the test half, stratified when capped
    test_normal = test_half[is_normal[test_half]]
    test_anomaly = test_half[is_anomaly[test_half]]
    if len(test_normal) == 0 or len(test_anomaly) == 0:
        which = "normal" if len(test_normal) == 0 else "anomaly"
        raise DataError.say(f"upload.split.test_no_{which}", dataset=ds.name)
    if test_anomaly_fraction is not None:
        # the largest k with k / (n_normal + k) <= a, plus a small tolerance for float rounding
        keep = max(1, int(np.floor(test_anomaly_fraction / (1.0 - test_anomaly_fraction) * len(test_normal) + 1e-9)))
        test_anomaly = _subsample(test_anomaly, keep, rng)
    if max_test is not None and len(test_normal) + len(test_anomaly) > max_test:
        frac = len(test_anomaly) / (len(test_normal) + len(test_anomaly))
        n_test_anom = min(max(1, int(round(frac * max_test))), max_test - 1)
        test_normal = _subsample(test_normal, max_test - n_test_anom, rng)
        test_anomaly = _subsample(test_anomaly, n_test_anom, rng)
    test_idx = np.concatenate([test_normal, test_anomaly])
    test_idx = test_idx[rng.permutation(len(test_idx))]

    return Split(
        X_train=ds.X[train_idx],
        y_train=ds.y[train_idx],
        X_test=ds.X[test_idx],
        y_test=ds.y[test_idx],
        anomalous_test=is_anomaly[test_idx],
        contaminated_train=is_anomaly[train_idx],
        normal_classes=normal,
        anomaly_classes=anomaly,
        dataset=ds.name,
        kind=ds.kind,
        train_index=train_idx.astype(np.int64),
        test_index=test_idx.astype(np.int64),
    )


def _subsample(idx: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` of ``idx`` without replacement, or all of them when ``k >= len(idx)``."""
    if k >= len(idx):
        return idx
    return idx[np.sort(rng.choice(len(idx), size=k, replace=False))]


def _class_indices(ds: Dataset, classes: int | str | Iterable[int | str], arg: str) -> tuple[int, ...]:
    """Sorted, de-duplicated class indices from indices and/or class names."""
    if isinstance(classes, (int, np.integer, str)):
        classes = [classes]
    valid = ", ".join(f"{i}={n!r}" for i, n in enumerate(ds.class_names))
    found = set()
    for c in classes:
        if isinstance(c, str):
            if c not in ds.class_names:
                raise DataError.say("upload.split.no_class_named", arg=arg, dataset=ds.name, name=repr(c),
                                    valid=valid)
            found.add(ds.class_names.index(c))
        elif isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c < len(ds.class_names):
            found.add(int(c))
        else:
            raise DataError.say("upload.split.not_a_class", arg=arg, dataset=ds.name, value=repr(c), valid=valid)
    return tuple(sorted(found))


def _names(ds: Dataset, classes: Iterable[int]) -> str:
    return ", ".join(repr(ds.class_names[c]) for c in classes)


#: GOAD's tabular protocol, two ways to pick the training half of the normal rows (``split=``):
#: ``"official"`` as lironber/GOAD's data_loader.py loads ODDS Thyroid and Arrhythmia (the seed then
#: changes only the initial weights, the maps W_m and the batch order), ``"random"`` seeded.
#: The English texts (the CLI's); :func:`goad_split_note` says them in a run card's language.
GOAD_SPLITS: dict[str, str] = {split: i18n.text(f"upload.split.goad_{split}", "en") for split in ("official", "random")}


def goad_split_note(split: str, lang: str = "en") -> str:
    """One line on GOAD's tabular protocol with ``split`` (a key of :data:`GOAD_SPLITS`), for a run card, in ``lang``."""
    _check_goad_split(split)
    return i18n.message(Text("upload.split.goad_note", split=split, how=Text(f"upload.split.goad_{split}")), lang)


def _check_goad_split(split: str) -> None:
    if split not in GOAD_SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, GOAD_SPLITS))}, got {split!r}")


def _goad_rows(y01: np.ndarray, seed: int, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of GOAD's protocol: (train = half of the normals, test = the other half + every anomaly)."""
    _check_goad_split(split)
    normal, anomalous = np.flatnonzero(y01 == 0), np.flatnonzero(y01 == 1)
    if len(normal) < 4 or len(anomalous) < 1:
        raise DataError.say("upload.split.goad_too_few", normal=len(normal), anomalous=len(anomalous))
    if split == "random":
        normal = normal[np.random.default_rng(seed).permutation(len(normal))]
    n_train = len(normal) // 2
    return normal[:n_train], np.concatenate([normal[n_train:], anomalous])


def goad_tabular_split(
    X: np.ndarray, y: np.ndarray, *, seed: int = 0, split: str = "official"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GOAD's tabular protocol (Zong et al. 2018's DAGMM protocol): train on half of the normals.

    ``y``: 0 = normal, 1 = anomaly (ODDS labels). ``split="official"`` (the default) keeps the normal
    rows in file order, as the official loader does for Thyroid and Arrhythmia (lironber/GOAD,
    data_loader.py: ``norm_samples[:n_train]``), so ``seed`` does not change the rows;
    ``split="random"`` permutes them with ``seed`` first. Either way they are cut in half
    (``n_train = n_normal // 2``); test = the other normal half followed by every anomaly. Returns
    ``(X_train (n_train, d), X_test (n_test, d), is_anomaly (n_test,) bool)``. The F1 threshold then
    sits at the ``100 * n_normal_test / n_test`` percentile of the test scores
    (:func:`adlab.metrics.f1_at_contamination` with the test anomaly fraction).
    """
    X = np.asarray(X)
    y = np.asarray(y).reshape(-1)
    if len(X) != len(y):
        raise DataError.say("upload.split.goad_lengths", x=len(X), y=len(y))
    if not np.isin(y, (0, 1)).all():
        raise DataError.say("upload.split.goad_labels")
    train, test = _goad_rows(y, seed, split)
    return X[train], X[test], y[test] == 1


def goad_split(ds: Dataset, normal_classes: int | str | Iterable[int | str], *, seed: int = 0,
               split: str = "official") -> Split:
    """GOAD's tabular protocol as a :class:`Split`: the rows of ``normal_classes`` are normal, every
    other row is an anomaly; half of the normal rows train (the first half in the dataset's row order,
    or with ``split="random"`` after a permutation by ``seed``: :func:`goad_tabular_split`), the test set
    is the other half plus **every** anomaly (uncapped, so F1 at the true contamination is the paper's)."""
    normal = _class_indices(ds, normal_classes, "normal_classes")
    if not normal:
        raise DataError.say("upload.split.no_normal")
    anomaly = tuple(c for c in range(len(ds.class_names)) if c not in normal)
    if not anomaly:
        raise DataError.say("upload.split.no_anomaly")
    y01 = (~np.isin(ds.y, normal)).astype(np.int64)
    train, test = _goad_rows(y01, int(seed), split)
    return Split(
        X_train=ds.X[train], y_train=ds.y[train], X_test=ds.X[test], y_test=ds.y[test],
        anomalous_test=y01[test] == 1, contaminated_train=np.zeros(len(train), bool),
        normal_classes=normal, anomaly_classes=anomaly, dataset=ds.name, kind=ds.kind,
        train_index=train, test_index=test,
    )
