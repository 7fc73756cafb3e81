"""The lesson "Why contrastive features help" (the seminar's slide *Contrastive learning의 효과*), three runs:

* :func:`label_noise`: cross-entropy against contrastive features (SupCon on the same noisy labels, SimCLR
  with no labels) read by a kNN vote or a linear probe fitted on the noisy labels; test accuracy on the
  clean test labels after every epoch (:class:`NoiseConfig` -> :class:`NoiseResult`);
* :func:`mixed_loss`: ``CE + lambda * L_con`` (SupCon or SimCLR) against CE alone: test accuracy, and the
  UMAP of both networks' test features (:class:`MixConfig` -> :class:`MixResult`);
* :func:`pretraining`: contrastive pre-training then a linear probe, against CE trained end to end, with a
  few labels and with all of them (:class:`PretrainConfig` -> :class:`PretrainResult`).

Data: scikit-learn's 8x8 digits (built in), shuffled with the seed into ``1797 - n_test`` training images and
``n_test`` test images; the network is the lesson's :class:`~adlab.lessons.why_contrastive_core.LessonNet` (a
SmallCNN encoder, as the loss pages use on digits). Each run is a job of the kind ``"lesson"``
(:mod:`adlab.jobs.work`): ``fn(cfg, *, progress)``, every training in :func:`adlab.train.fit`, seeded by
``cfg.seed`` alone, on ``cfg.device``. Test labels never enter training; they only score predictions.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from adlab.lessons import why_contrastive_core as core
from adlab.train import TrainConfig

__all__ = ["JOBS", "MixConfig", "MixResult", "NoiseConfig", "NoiseResult", "PretrainConfig", "PretrainResult",
           "label_noise", "labelled_rows", "mixed_loss", "pretraining"]

JOBS = ("label_noise", "mixed_loss", "pretraining")  # what the job kind "lesson" may run from this module
N_CLASSES = 10
SHAPE = (1, 8, 8)


@dataclass(frozen=True)
class Common:
    """What every run of the lesson shares: ``epochs`` of Adam at ``lr``; the contrastive loss's
    ``temperature``; ``flip``: the views mirror images too (:func:`~adlab.lessons.why_contrastive_core.augmentation`);
    ``n_test`` test images; ``seed`` (split, label noise, weights, batches, views); ``device``."""

    epochs: int = 20
    lr: float = 3e-3
    temperature: float = 0.5
    flip: bool = False
    n_test: int = 797
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or not 1 <= self.epochs <= 200:
            raise ValueError(f"epochs must be an integer in [1, 200], got {self.epochs!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive finite number, got {self.lr!r}")

    def train(self, batch_size: int, epochs: int | None = None) -> TrainConfig:
        return TrainConfig(epochs=epochs or self.epochs, batch_size=batch_size, lr=self.lr, seed=self.seed,
                           device=self.device)


def _check_noise(noise: float) -> None:
    if not 0.0 <= noise <= 0.8:
        raise ValueError(f"noise must lie in [0, 0.8] (the fraction of training labels flipped), got {noise!r}")


def _check_loss(loss: str) -> None:
    if loss not in core.CONTRASTIVE:
        raise ValueError(f"loss must be one of {core.CONTRASTIVE}, got {loss!r}")


def _tensors(data: core.Digits, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.as_tensor(data.X_train), torch.as_tensor(labels, dtype=torch.long)


# ----------------------------------------------------------------------------- (a) label noise
@dataclass(frozen=True)
class NoiseConfig(Common):
    """``noise``: fraction of training labels flipped (:func:`~adlab.lessons.why_contrastive_core.flip_labels`);
    ``readout``: ``"knn"`` (``k`` neighbours) or ``"ridge"`` (a linear probe), fitted on the noisy labels;
    ``ce_views``: CE trains on one augmented view instead of the image; batch sizes of CE and of the
    contrastive runs (a large batch holds many negatives)."""

    noise: float = 0.4
    readout: str = "knn"
    k: int = 10
    ce_views: bool = False
    ce_batch: int = 64
    con_batch: int = 256

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_noise(self.noise)
        if self.readout not in core.READOUTS:
            raise ValueError(f"readout must be one of {core.READOUTS}, got {self.readout!r}")
        if not isinstance(self.k, int) or not 1 <= self.k <= 50:
            raise ValueError(f"k must be an integer in [1, 50], got {self.k!r}")


@dataclass(frozen=True, eq=False)
class NoiseResult:
    """Test accuracy (clean test labels) after each epoch, epoch 0 = before training, all ``(E + 1,)``:
    ``ce`` of the CE classifier, ``supcon`` / ``simclr`` of the read-out on those encoders' features;
    ``memorised``: the fraction of the flipped training images for which CE predicts the wrong label it was
    given (1 = all noise learnt by heart). ``n_flipped`` of ``n_train`` labels were flipped."""

    config: NoiseConfig
    epochs: np.ndarray
    ce: np.ndarray
    supcon: np.ndarray
    simclr: np.ndarray
    memorised: np.ndarray
    n_train: int
    n_test: int
    n_flipped: int
    seconds: float


def label_noise(cfg: NoiseConfig, *, progress: Any) -> NoiseResult:
    """CE, SupCon and SimCLR trained on the same noisy labels ``y~`` (SimCLR ignores them), each from the
    same initial weights, tracked after every epoch ``e`` (``progress``: :class:`adlab.jobs.progress.Progress`).

    * CE: ``acc_e = mean_i [argmax c(f_e(x_i)) = y_i]`` over the test images; ``memorised_e`` = the same
      with the flipped training images ``F`` and their wrong labels: ``mean_{i in F} [argmax c(f_e(x_i)) = y~_i]``.
    * SupCon / SimCLR: ``acc_e`` of ``readout(f_e(X_train), y~)`` applied to ``f_e(X_test)``.
    """
    start = time.perf_counter()
    data = core.digits(cfg.n_test, cfg.seed)
    noisy = core.flip_labels(data.y_train, cfg.noise, n_classes=N_CLASSES, seed=cfg.seed)
    flipped = noisy != data.y_train  # (n_train,)
    X, Y = _tensors(data, noisy)
    views = core.augmentation(flip=cfg.flip)
    stages = core.Stages(progress, [cfg.epochs] * 3)

    def ce_eval(net: core.LessonNet) -> tuple[float, float]:
        test = core.accuracy(core.classify(net, data.X_test), data.y_test)
        if not flipped.any():
            return test, 0.0
        return test, core.accuracy(core.classify(net, data.X_train[flipped]), noisy[flipped])

    def read(net: core.LessonNet) -> float:
        train_f, test_f = core.encode(net, data.X_train), core.encode(net, data.X_test)
        guess = core.readout(cfg.readout, train_f, noisy, test_f, k=cfg.k, n_classes=N_CLASSES)
        return core.accuracy(guess, data.y_test)

    net = core.build_net(SHAPE, N_CLASSES, cfg.seed)
    ce = core.train_tracked(net, core.ce_step(views if cfg.ce_views else None, seed=cfg.seed), (X, Y),
                            cfg.train(cfg.ce_batch), ce_eval, callbacks=[stages.next()], cancel=progress.cancel)
    curves = {}
    for loss in core.CONTRASTIVE:
        net = core.build_net(SHAPE, N_CLASSES, cfg.seed)
        step = core.mixed_step(loss, core.context(views, noisy, cfg.seed), lam=1.0, temperature=cfg.temperature,
                               ce_weight=0.0)
        curves[loss] = np.array(core.train_tracked(net, step, (X, Y), cfg.train(cfg.con_batch), read,
                                                   callbacks=[stages.next()], cancel=progress.cancel))
    progress.phase("scoring")
    ce_arr = np.array(ce)  # (E + 1, 2): test accuracy, memorised
    return NoiseResult(cfg, np.arange(len(ce_arr)), ce_arr[:, 0], curves["supcon"], curves["simclr"], ce_arr[:, 1],
                       len(noisy), len(data.y_test), int(flipped.sum()), time.perf_counter() - start)


# ----------------------------------------------------------------------------- (b) CE + lambda * contrastive
@dataclass(frozen=True)
class MixConfig(Common):
    """``lam``: the weight of the contrastive term ``loss`` (``"supcon"`` or ``"simclr"``) beside CE, on
    labels with a fraction ``noise`` flipped; ``k``: neighbours of the kNN accuracy of the features."""

    lam: float = 2.0
    loss: str = "simclr"
    noise: float = 0.4
    batch: int = 128
    k: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_loss(self.loss)
        _check_noise(self.noise)
        if not 0.0 <= self.lam <= 10.0:
            raise ValueError(f"lam must lie in [0, 10], got {self.lam!r}")


@dataclass(frozen=True, eq=False)
class MixResult:
    """CE alone (``*_ce``) against ``CE + lam * L_con`` (``*_mix``), same seed and initial weights: test
    accuracy of the classifier after each epoch ``(E + 1,)``; ``knn_*``: accuracy of a kNN vote on the test
    features (noisy training labels); ``map_*``: UMAP of the encoder's test features ``(n_test, 2)``, the mixed
    one aligned to CE's (:func:`adlab.projection.umap_pair`); ``y_test`` ``(n_test,)`` the true classes."""

    config: MixConfig
    epochs: np.ndarray
    curve_ce: np.ndarray
    curve_mix: np.ndarray
    knn_ce: float
    knn_mix: float
    map_ce: np.ndarray
    map_mix: np.ndarray
    y_test: np.ndarray
    seconds: float

    @property
    def accuracy_ce(self) -> float:
        return float(self.curve_ce[-1])

    @property
    def accuracy_mix(self) -> float:
        return float(self.curve_mix[-1])


def mixed_loss(cfg: MixConfig, *, progress: Any) -> MixResult:
    """Train CE alone and ``L = CE(c(f(x)), y~) + lam * L_con(g(f(v1)), g(f(v2)))`` from the same weights, on
    the same noisy labels ``y~`` (:func:`~adlab.lessons.why_contrastive_core.mixed_step`); the classifier's test
    accuracy after every epoch, a kNN vote's accuracy on each encoder's features, and the UMAP of both sets of
    test features ``(n_test, 64) -> (n_test, 2)``. With ``lam = 0`` one run serves as both."""
    from adlab import projection

    start = time.perf_counter()
    data = core.digits(cfg.n_test, cfg.seed)
    noisy = core.flip_labels(data.y_train, cfg.noise, n_classes=N_CLASSES, seed=cfg.seed)
    X, Y = _tensors(data, noisy)

    def test_accuracy(net: core.LessonNet) -> float:
        return core.accuracy(core.classify(net, data.X_test), data.y_test)

    lams = (0.0, cfg.lam) if cfg.lam > 0 else (0.0,)
    stages = core.Stages(progress, [cfg.epochs] * len(lams))
    runs = []
    for lam in lams:
        net = core.build_net(SHAPE, N_CLASSES, cfg.seed)
        ctx = core.context(core.augmentation(flip=cfg.flip), noisy, cfg.seed)
        step = core.mixed_step(cfg.loss, ctx, lam=lam, temperature=cfg.temperature)
        curve = core.train_tracked(net, step, (X, Y), cfg.train(cfg.batch), test_accuracy,
                                   callbacks=[stages.next()], cancel=progress.cancel)
        train_f, test_f = core.encode(net, data.X_train), core.encode(net, data.X_test)
        knn = core.accuracy(core.knn_predict(train_f, noisy, test_f, k=cfg.k), data.y_test)
        runs.append((np.array(curve), knn, test_f))
    progress.phase("projecting")
    (curve_ce, knn_ce, f_ce), (curve_mix, knn_mix, f_mix) = runs[0], runs[-1]
    if len(runs) > 1:
        map_ce, map_mix = projection.umap_pair(f_ce, f_mix, seed=0)
    else:
        map_ce = map_mix = projection.umap_2d(f_ce, seed=0)
    return MixResult(cfg, np.arange(len(curve_ce)), curve_ce, curve_mix, knn_ce, knn_mix, map_ce, map_mix,
                     data.y_test, time.perf_counter() - start)


# ----------------------------------------------------------------------------- (c) pre-training
FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5)  # the few-labels settings a page offers


@dataclass(frozen=True)
class PretrainConfig(Common):
    """``loss``: the pre-training (``"supcon"`` on the labelled images, ``"simclr"`` on every training image
    without labels), then a linear probe; against CE; each with a ``fraction`` of the training labels and with
    all of them. ``ce_views``: CE trains on the same augmented views (as the SupCon paper's CE baseline)."""

    loss: str = "supcon"
    fraction: float = 0.1
    ce_views: bool = True
    ce_batch: int = 128
    con_batch: int = 256

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_loss(self.loss)
        if not 0.0 < self.fraction < 1.0:
            raise ValueError(f"fraction must lie in (0, 1), got {self.fraction!r}")


@dataclass(frozen=True, eq=False)
class PretrainResult:
    """Test accuracy with ``n_labels`` ``(2,)`` training labels (the fraction, then all): ``ce`` ``(2,)`` CE
    trained end to end; ``pretrained`` ``(2,)`` the contrastive encoder + linear probe; ``untrained`` ``(2,)``
    the same probe on the untrained encoder (what the probe gets for free)."""

    config: PretrainConfig
    n_labels: np.ndarray
    ce: np.ndarray
    pretrained: np.ndarray
    untrained: np.ndarray
    seconds: float


def labelled_rows(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted rows of ``y`` ``(n,)`` that keep their label: ``max(1, round(fraction * n_c))`` of each class
    ``c`` (``n_c`` rows), drawn with ``seed``, so every class keeps a label however few there are."""
    rng = np.random.default_rng(seed)
    rows = [rng.choice(np.flatnonzero(y == c), max(1, round(fraction * int((y == c).sum()))), replace=False)
            for c in np.unique(y)]
    return np.sort(np.concatenate(rows))


def _same_steps(cfg: Common, n_rows: int, n_full: int, batch: int) -> int:
    """Epochs on ``n_rows`` rows that take as many optimiser steps as ``cfg.epochs`` on ``n_full`` rows."""
    steps = cfg.epochs * max(1, n_full // batch)
    return max(1, math.ceil(steps / max(1, n_rows // batch)))


def pretraining(cfg: PretrainConfig, *, progress: Any) -> PretrainResult:
    """With a ``cfg.fraction`` of the labels, then all: CE end to end, the contrastive encoder + linear probe
    (logistic regression), and the untrained encoder + the same probe. Every training takes the optimiser
    steps of ``cfg.epochs`` on all training rows (:func:`_same_steps`), however few rows it has."""
    start = time.perf_counter()
    data = core.digits(cfg.n_test, cfg.seed)
    n_full = len(data.y_train)
    everything = np.arange(n_full)
    budgets = (labelled_rows(data.y_train, cfg.fraction, cfg.seed), everything)
    views = core.augmentation(flip=cfg.flip)
    # SupCon needs labels: it pre-trains on each budget's labelled rows; SimCLR, on every image once
    pretrain_rows = budgets if cfg.loss == "supcon" else (everything,)
    ce_epochs = [_same_steps(cfg, len(rows), n_full, cfg.ce_batch) for rows in budgets]
    con_epochs = [_same_steps(cfg, len(rows), n_full, cfg.con_batch) for rows in pretrain_rows]
    stages = core.Stages(progress, ce_epochs + con_epochs)

    def test_accuracy(net: core.LessonNet) -> float:
        return core.accuracy(core.classify(net, data.X_test), data.y_test)

    def train_ce(rows: np.ndarray, epochs: int) -> float:
        net = core.build_net(SHAPE, N_CLASSES, cfg.seed)
        step = core.ce_step(views if cfg.ce_views else None, seed=cfg.seed)
        return core.train_tracked(net, step, _rows(data, rows), cfg.train(cfg.ce_batch, epochs), test_accuracy,
                                  every=epochs, callbacks=[stages.next()], cancel=progress.cancel)[-1]

    def pretrain(rows: np.ndarray, epochs: int) -> core.LessonNet:
        net = core.build_net(SHAPE, N_CLASSES, cfg.seed)
        step = core.mixed_step(cfg.loss, core.context(views, data.y_train[rows], cfg.seed), lam=1.0,
                               temperature=cfg.temperature, ce_weight=0.0)
        core.train_tracked(net, step, _rows(data, rows), cfg.train(cfg.con_batch, epochs), lambda _: None,
                           every=epochs, callbacks=[stages.next()], cancel=progress.cancel)
        return net

    def probe(net: core.LessonNet, rows: np.ndarray) -> float:
        train_f, test_f = core.encode(net, data.X_train[rows]), core.encode(net, data.X_test)
        return core.accuracy(core.linear_probe(train_f, data.y_train[rows], test_f, n_classes=N_CLASSES), data.y_test)

    ce = [train_ce(rows, epochs) for rows, epochs in zip(budgets, ce_epochs, strict=True)]
    encoders = [pretrain(rows, epochs) for rows, epochs in zip(pretrain_rows, con_epochs, strict=True)]
    if len(encoders) == 1:
        encoders = encoders * len(budgets)
    progress.phase("scoring")
    untrained_net = core.build_net(SHAPE, N_CLASSES, cfg.seed)
    pretrained = [probe(net, rows) for net, rows in zip(encoders, budgets, strict=True)]
    untrained = [probe(untrained_net, rows) for rows in budgets]
    return PretrainResult(cfg, np.array([len(rows) for rows in budgets]), np.array(ce), np.array(pretrained),
                          np.array(untrained), time.perf_counter() - start)


def _rows(data: core.Digits, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """The training images and true labels of ``rows`` as tensors."""
    return torch.as_tensor(data.X_train[rows]), torch.as_tensor(data.y_train[rows])
