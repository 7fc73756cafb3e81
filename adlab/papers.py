"""The papers' own numbers, for a run card to print beside ours, and the protocols they belong to.

Every number here is copied from ``docs/METHODS.md`` (the project's methods reference) together
with the paper it comes from and METHODS.md's "(unverified)" mark; nothing is added that METHODS.md
does not give. Values are in percent, as the papers print them. A number only makes sense beside a
run that follows the same protocol, so each one is filed under a protocol string:

* ``"goad-tabular:thyroid"``, ``"goad-tabular:arrhythmia"``, ``"goad-tabular:kddcup99"``,
  ``"goad-tabular:kddcup99-rev"``: GOAD's tabular protocol (50% of the normal rows train; test =
  the other half plus all anomalies; F1 at the contamination threshold);
* ``"one-class:mnist"``, ``"one-class:cifar10"``: one class is normal, the others are anomalies;
  the papers report the mean AUROC over the 10 choices of the normal class.

:func:`detect_protocol` recognises the data sets these protocols use from their shape and
anomaly count, so a page can find the paper number for what the user loaded.

:meth:`PaperNumber.describe` says a number in English (the CLI, the run card's default) or, given
``lang``, in that language: the sources, variants and notes below are the English texts of the
catalogue's ``detectors.paper.`` keys (:mod:`adlab.i18n`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from adlab import i18n

__all__ = [
    "PAPER_NUMBERS",
    "PROTOCOLS",
    "PaperNumber",
    "detect_protocol",
    "paper_key",
    "reference",
]

PROTOCOLS: tuple[str, ...] = (
    "goad-tabular:thyroid",
    "goad-tabular:arrhythmia",
    "goad-tabular:kddcup99",
    "goad-tabular:kddcup99-rev",
    "one-class:mnist",
    "one-class:cifar10",
)

#: {English text: catalogue key} of every source, variant and note below (describe() in another language)
_PARTS: dict[str, str] = {}


def _part(key: str) -> str:
    """The English text of ``detectors.paper.<key>``, remembered for :meth:`PaperNumber.describe`."""
    english = i18n.text(f"detectors.paper.{key}", i18n.REFERENCE)
    _PARTS[english] = f"detectors.paper.{key}"
    return english


_DEEP_SVDD = _part("source.deepsvdd")  # "Deep SVDD paper (Ruff et al., ICML 2018), one-class experiments"
_GOAD_TAB = _part("source.goad_tabular")  # "GOAD paper (Bergman & Hoshen, ICLR 2020), tabular experiments"
_GOAD_IMG = _part("source.goad_images")  # "GOAD paper (Bergman & Hoshen, ICLR 2020), CIFAR-10 experiments"
_DROC = _part("source.droc")  # "DROC paper (Sohn et al., ICLR 2021), CIFAR-10 one-class experiments"
_CSI = _part("source.csi")  # "CSI paper (Tack et al., NeurIPS 2020), CIFAR-10 one-class experiments"
_MEAN10 = _part("note.mean10")  # "mean over the 10 choices of the normal class"
_VARIANTS = {name: _part(f"variant.{name}") for name in (
    "contrastive_da", "contrastive", "rotation", "csi", "simclr", "rotation_translation")}


@dataclass(frozen=True)
class PaperNumber:
    """One number a paper reports: ``value`` in percent (as printed) of ``metric`` under ``protocol``.

    ``method`` is the paper key a registered method points to with its ``paper_key`` (a detector
    class attribute, a loss module's ``PAPER_KEY``; :func:`paper_key`).

    ``source`` names the paper and the experiment; ``unverified`` keeps METHODS.md's mark (the
    number comes from a secondary listing, not checked against the PDF); ``variant`` names the
    paper's configuration when it reports several (e.g. DROC with / without distribution
    augmentation); ``note`` says how the paper's setting differs from a single run.
    """

    method: str
    protocol: str
    paper: str  # short name for a table row: "GOAD"
    metric: str  # "AUROC" or "F1"
    value: float
    source: str
    unverified: bool
    variant: str = ""
    note: str = ""

    @property
    def fraction_text(self) -> str:
        """The value as a fraction with the paper's precision: 74.5 -> ``"0.745"``."""
        return str(Decimal(str(self.value)).scaleb(-2))

    def describe(self, lang: str = "en") -> str:
        """``"GOAD paper (Bergman & Hoshen, ICLR 2020), tabular experiments: F1 74.5 (unverified)"``, in
        ``lang`` (``"en"`` or ``"ko"``; a source, variant or note the catalogue does not know stays as given)."""

        def say(key: str, **fields: object) -> str:
            return i18n.text(f"detectors.paper.{key}", lang, **fields)

        def part(english: str) -> str:
            return i18n.text(_PARTS[english], lang) if english in _PARTS else english

        what = say("value", metric=self.metric, value=self.value)
        if self.variant:
            what = say("with_variant", variant=part(self.variant), what=what)
        text = say("line", source=part(self.source), what=what)
        if self.unverified:
            text += say("unverified")
        if self.note:
            text += say("with_note", note=part(self.note))
        return text


PAPER_NUMBERS: tuple[PaperNumber, ...] = (
    # Deep SVDD: "Reported one-class mean AUROC: MNIST 94.8, CIFAR-10 64.8 (unverified)."
    PaperNumber("deepsvdd", "one-class:mnist", "Deep SVDD", "AUROC", 94.8, _DEEP_SVDD, True, note=_MEAN10),
    PaperNumber("deepsvdd", "one-class:cifar10", "Deep SVDD", "AUROC", 64.8, _DEEP_SVDD, True, note=_MEAN10),
    # GOAD: "Paper F1 (unverified from the PDF): Arrhythmia 52.0, Thyroid 74.5, KDDCUP99 98.4,
    # KDD-Rev 98.9. CIFAR-10 one-class mean AUROC 88.2."
    PaperNumber("goad", "goad-tabular:arrhythmia", "GOAD", "F1", 52.0, _GOAD_TAB, True),
    PaperNumber("goad", "goad-tabular:thyroid", "GOAD", "F1", 74.5, _GOAD_TAB, True),
    PaperNumber("goad", "goad-tabular:kddcup99", "GOAD", "F1", 98.4, _GOAD_TAB, True),
    PaperNumber("goad", "goad-tabular:kddcup99-rev", "GOAD", "F1", 98.9, _GOAD_TAB, True),
    PaperNumber("goad", "one-class:cifar10", "GOAD", "AUROC", 88.2, _GOAD_IMG, False, note=_MEAN10),
    # DROC: "CIFAR-10 one-class mean AUROC: contrastive 89.0, contrastive + DA 92.5, rotation
    # prediction 91.3."
    PaperNumber("droc", "one-class:cifar10", "DROC", "AUROC", 92.5, _DROC, False, _VARIANTS["contrastive_da"], _MEAN10),
    PaperNumber("droc", "one-class:cifar10", "DROC", "AUROC", 89.0, _DROC, False, _VARIANTS["contrastive"], _MEAN10),
    PaperNumber("droc", "one-class:cifar10", "DROC", "AUROC", 91.3, _DROC, False, _VARIANTS["rotation"], _MEAN10),
    # CSI: "CIFAR-10 one-class mean AUROC 94.3 (SimCLR 87.9, rotation+translation 90.0)."
    PaperNumber("csi", "one-class:cifar10", "CSI", "AUROC", 94.3, _CSI, False, _VARIANTS["csi"], _MEAN10),
    PaperNumber("csi", "one-class:cifar10", "CSI", "AUROC", 87.9, _CSI, False, _VARIANTS["simclr"], _MEAN10),
    PaperNumber("csi", "one-class:cifar10", "CSI", "AUROC", 90.0, _CSI, False, _VARIANTS["rotation_translation"], _MEAN10),
)


def paper_key(method: str) -> str:
    """The key of ``method``'s numbers in :data:`PAPER_NUMBERS` (``""``: the papers give none).

    ``method`` is a registered detector (its class's ``paper_key``) or loss (its module's
    ``PAPER_KEY``), looked up in :mod:`adlab.registry` now; ``ValueError`` for other names.
    """
    from adlab import registry  # the registry imports the methods, which do not import this module

    if method in registry.detector_names():
        return registry.detector(method).paper_key
    try:
        return registry.loss(method).PAPER_KEY
    except ValueError:
        names = (*registry.detector_names(), *registry.loss_names())
        raise ValueError(f"method must be one of {', '.join(names)}, got {method!r}") from None


def reference(method: str, protocol: str | None) -> list[PaperNumber]:
    """The papers' numbers for ``method`` under ``protocol``, in table order (empty when none).

    ``method`` is a registered detector or loss name (:func:`paper_key`; losses have no
    anomaly-detection paper numbers); ``protocol`` one of :data:`PROTOCOLS` or None. ``ValueError``
    for other names.
    """
    key = paper_key(method)
    if protocol is None:
        return []
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)} or None, got {protocol!r}")
    return [p for p in PAPER_NUMBERS if key and p.method == key and p.protocol == protocol]


# ----------------------------------------------------------------------------- recognising the data
#: ODDS / UCI tabular sets: (rows, columns or None = any >= 41, anomalies) checked in
#: ../shared/data (odds/*.mat; kddcup99/kddcup.data_10_percent.gz with "normal." as the anomaly
#: class, GOAD's convention; its 41 raw columns become 118-121 after one-hot encoding).
_TABULAR: dict[str, tuple[int, int | None, int]] = {
    "goad-tabular:thyroid": (3772, 6, 93),
    "goad-tabular:arrhythmia": (452, 274, 66),
    "goad-tabular:kddcup99": (494021, None, 97278),
}
_TABULAR_NAMES = {
    "goad-tabular:thyroid": ("thyroid",),
    "goad-tabular:arrhythmia": ("arrhythmia",),
    "goad-tabular:kddcup99": ("kdd",),
}
#: Test splits: per-class counts of the 10000 test images (MNIST's from its t10k label file).
_MNIST_TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
_CIFAR10_TEST_COUNTS = (1000,) * 10


def detect_protocol(X: np.ndarray, y: np.ndarray | None, name: str) -> str | None:
    """The protocol of a whole data set recognised by shape and labels, or None.

    * ODDS Thyroid ``(3772, 6)`` with 93 anomalies, ODDS Arrhythmia ``(452, 274)`` with 66, KDD Cup
      99 (10% file) ``(494021, d >= 41)`` with 97278 anomalies (its "normal." rows, GOAD's
      convention): ``y`` (n,) or (n, 1) holds 0 = normal, 1 = anomaly;
    * the MNIST test split ``(10000, 1, 28, 28)`` -> ``"one-class:mnist"`` and the CIFAR-10 test
      split ``(10000, 3, 32, 32)`` -> ``"one-class:cifar10"``: ``y`` holds the digit / class
      indices 0..9, whose counts must be the split's.

    When ``y`` is None the shape must match and ``name`` must mention the set (``"thyroid"``,
    ``"arrhythmia"``, ``"kdd"``, ``"mnist"`` but not ``"fashion"``, ``"cifar"``). Pass the data set
    as loaded, before any train/test split: a split's halves are not recognised.
    """
    X = np.asarray(X)
    lowered = name.lower()
    labels = None if y is None else np.asarray(y).reshape(-1)
    if labels is not None and len(labels) != len(X):
        return None
    if X.ndim == 2:
        for protocol, (rows, cols, anomalies) in _TABULAR.items():
            width_ok = X.shape[1] == cols if cols is not None else X.shape[1] >= 41
            if X.shape[0] != rows or not width_ok:
                continue
            if labels is None:
                return protocol if any(k in lowered for k in _TABULAR_NAMES[protocol]) else None
            if not np.isin(labels, (0, 1)).all():
                return None
            return protocol if int(np.count_nonzero(labels)) == anomalies else None
        return None
    if X.ndim == 4 and len(X) == 10000:
        if X.shape[1:] == (1, 28, 28):
            protocol, counts, named = "one-class:mnist", _MNIST_TEST_COUNTS, "mnist" in lowered
            named = named and "fashion" not in lowered
        elif X.shape[1:] == (3, 32, 32):
            protocol, counts, named = "one-class:cifar10", _CIFAR10_TEST_COUNTS, "cifar" in lowered
        else:
            return None
        if labels is None:
            return protocol if named else None
        if not np.isin(labels, np.arange(10)).all():
            return None
        return protocol if tuple(np.bincount(labels.astype(np.int64), minlength=10)) == counts else None
    return None
