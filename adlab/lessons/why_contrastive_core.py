"""Building blocks of the lesson "Why contrastive features help" (:mod:`adlab.lessons.why_contrastive`).

The digits cut into a training and a test set, symmetric label noise, one network for every method
(an encoder with a linear classifier for cross-entropy and a projection head for the contrastive
losses), training steps for :func:`adlab.train.fit`, training with the test accuracy after every
epoch, and read-outs of frozen features fitted on (possibly noisy) labels: a k-nearest-neighbour vote and
two linear probes (a ridge classifier in closed form, and logistic regression). Test labels are only ever
compared with predictions, never trained on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adlab import registry
from adlab.augment import Compose, RandomFlip, Transform, default_augment
from adlab.data import load_digits
from adlab.device import pick_device, seeded
from adlab.distances import COSINE_DISTANCE, k_nearest
from adlab.encoders import ContrastiveNet, ProjectionHead, build_encoder
from adlab.losses.base import StepContext
from adlab.train import Callback, TrainConfig, TrainEvent, fit

__all__ = ["CONTRASTIVE", "READOUTS", "Digits", "LessonNet", "Stages", "accuracy", "augmentation", "build_net",
           "ce_step", "classify", "context", "digits", "encode", "flip_labels", "knn_predict", "linear_probe",
           "mixed_step", "readout", "ridge_probe", "train_tracked"]

READOUTS = ("knn", "ridge")  # how frozen features are read after every epoch: a kNN vote, or a ridge classifier
CONTRASTIVE = ("supcon", "simclr")  # the contrastive losses of the lesson, by registry name
ENCODER_DIM = 64  # encoder features f(x), what every read-out and the UMAP use
HEAD_DIM = 32  # projection head output g(f(x)), where the contrastive loss acts (SimCLR's choice)


@dataclass(frozen=True, eq=False)
class Digits:
    """scikit-learn's 8x8 digits, shuffled with a seed and cut in two: ``X_*`` ``(n, 1, 8, 8)`` float32 in
    ``[0, 1]``, ``y_*`` ``(n,)`` int64 in ``0..9`` (the true labels)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def digits(n_test: int, seed: int) -> Digits:
    """The 1,797 digits in a seeded random order; the first ``n_test`` are the test set, the rest train."""
    ds = load_digits()
    if not isinstance(n_test, int) or not 100 <= n_test <= len(ds.X) - 200:
        raise ValueError(f"n_test must be an integer in [100, {len(ds.X) - 200}], got {n_test!r}")
    order = np.random.default_rng(seed).permutation(len(ds.X))
    test, train = order[:n_test], order[n_test:]
    return Digits(ds.X[train], ds.y[train], ds.X[test], ds.y[test])


def flip_labels(y: np.ndarray, fraction: float, *, n_classes: int, seed: int) -> np.ndarray:
    """Symmetric label noise: a copy of ``y`` ``(n,)`` in which exactly ``round(fraction * n)`` labels, chosen
    at random, are replaced by one of the other ``n_classes - 1`` classes (uniformly). So the fraction of
    wrong labels is ``fraction`` (up to rounding), not ``fraction * (1 - 1/n_classes)`` as when a flipped
    label may land on its own class. Same ``y``, ``fraction`` and ``seed``: the same labels, bit for bit."""
    y = np.asarray(y, dtype=np.int64)
    if not 0.0 <= fraction <= 0.9:
        raise ValueError(f"fraction must lie in [0, 0.9], got {fraction!r}")
    if y.ndim != 1 or (len(y) and (y.min() < 0 or y.max() >= n_classes)):
        raise ValueError(f"y must be (n,) labels in [0, {n_classes}), got shape {y.shape}")
    rng = np.random.default_rng(seed)
    flipped = rng.choice(len(y), int(round(fraction * len(y))), replace=False)  # (m,) rows to corrupt
    shift = rng.integers(1, n_classes, size=len(flipped))  # (m,) in 1..C-1: never the true class
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + shift) % n_classes
    return noisy


class LessonNet(ContrastiveNet):
    """``f`` = :func:`adlab.encoders.build_encoder` (a SmallCNN for 8x8 images) to ``ENCODER_DIM``; ``g`` =
    projection head ``ENCODER_DIM -> 64 -> HEAD_DIM``; ``c`` = linear classifier ``ENCODER_DIM -> n_classes``.

    ``forward(x) = g(f(x))`` ``(N, HEAD_DIM)``, what the contrastive steps call; ``logits(x) = c(f(x))``
    ``(N, n_classes)``, what cross-entropy trains. Every method of the lesson uses this one network, so
    they differ only in their loss."""

    def __init__(self, input_shape: tuple[int, ...], n_classes: int) -> None:
        encoder = build_encoder(tuple(input_shape), out_dim=ENCODER_DIM)
        super().__init__(encoder, ProjectionHead(ENCODER_DIM, hidden=64, out_dim=HEAD_DIM))
        self.classifier = nn.Linear(ENCODER_DIM, n_classes)

    def logits(self, x: Tensor) -> Tensor:
        return self.classifier(self.encoder(x))  # (N, n_classes)


def build_net(input_shape: tuple[int, ...], n_classes: int, seed: int) -> LessonNet:
    """The lesson's network with weights drawn from ``seed`` alone (:func:`adlab.device.seeded`).

    Its weights are stored channels-last (``torch.channels_last``), so the convolutions hand the
    pooling layers channels-last maps: on one CPU thread torch's ``max_pool2d`` is several times
    faster on those than on the default layout for these 8x8 maps (the values are the same)."""
    with seeded(seed):
        net = LessonNet(input_shape, n_classes)
    return net.to(memory_format=torch.channels_last) if len(input_shape) == 3 else net


@torch.no_grad()
def encode(net: LessonNet, X: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
    """Encoder features ``f(x)`` of ``X`` ``(n, ...)`` as float32 ``(n, ENCODER_DIM)``, in eval mode."""
    net.eval()
    device = next(net.parameters()).device
    out = [net.encoder(torch.as_tensor(X[i:i + batch_size], device=device)).float().cpu()
           for i in range(0, len(X), batch_size)]
    return torch.cat(out).numpy()


@torch.no_grad()
def classify(net: LessonNet, X: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
    """``argmax c(f(x))`` ``(n,)`` int64, in eval mode."""
    net.eval()
    device = next(net.parameters()).device
    out = [net.logits(torch.as_tensor(X[i:i + batch_size], device=device)).argmax(1).cpu()
           for i in range(0, len(X), batch_size)]
    return torch.cat(out).numpy()


def accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Fraction of rows where ``predicted == truth`` (both ``(n,)``)."""
    return float(np.mean(np.asarray(predicted) == np.asarray(truth)))


# ----------------------------------------------------------------------------- read-outs of frozen features
def knn_predict(train_f: np.ndarray, train_y: np.ndarray, test_f: np.ndarray, *, k: int) -> np.ndarray:
    """Majority vote of the ``k`` nearest training features (cosine distance ``1 - cos``) for each test row.

    ``train_f`` ``(n, d)``, ``train_y`` ``(n,)``, ``test_f`` ``(m, d)`` -> ``(m,)``. Each neighbour of rank
    ``r`` (0 = nearest) votes ``1 + (k - r) 1e-6``, so a tie goes to the class of the nearer neighbours.
    With label noise at rate ``p``, a vote over ``k`` neighbours of one class is still right while fewer
    than about half of them carry a wrong label: that is why a kNN read-out tolerates noise.
    """
    if not isinstance(k, int) or not 1 <= k <= len(train_f):
        raise ValueError(f"k must be an integer in [1, {len(train_f)}], got {k!r}")
    near = k_nearest(COSINE_DISTANCE, torch.as_tensor(test_f, dtype=torch.float64),
                     torch.as_tensor(train_f, dtype=torch.float64), k).indices.numpy()  # (m, k)
    labels = np.asarray(train_y)[near]  # (m, k)
    weight = 1.0 + (k - np.arange(k)) * 1e-6  # (k,) nearer neighbours break ties
    votes = np.zeros((len(test_f), int(labels.max()) + 1))
    np.add.at(votes, (np.arange(len(test_f))[:, None], labels), weight[None, :])  # (m, C)
    return votes.argmax(1)


def ridge_probe(train_f: np.ndarray, train_y: np.ndarray, test_f: np.ndarray, *, n_classes: int,
                alpha: float = 10.0) -> np.ndarray:
    """A linear classifier on frozen features fitted in closed form (a ridge classifier); its predictions.

    Features are standardised with the training rows' mean and standard deviation, a constant 1 is
    appended (the bias), and ``W`` solves ridge regression onto the one-hot labels ``Y``:
    ``W = (H^T H + alpha I)^-1 H^T Y``; a test row gets ``argmax(h W)`` (scikit-learn's ``RidgeClassifier``
    up to its -1/+1 coding). The L2 penalty keeps it from fitting the label noise; nothing is random and
    nothing iterates, so a probe after every epoch costs about a millisecond. On noisy labels it lands
    within about 0.01 of :func:`linear_probe` (measured when this lesson was built); with clean labels it is
    up to 0.015 below it. ``train_f`` ``(n, d)``, ``train_y`` ``(n,)``, ``test_f`` ``(m, d)`` -> ``(m,)``.
    """
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    train = torch.as_tensor(train_f, dtype=torch.float64)
    mean, std = train.mean(0), train.std(0, correction=0) + 1e-6  # (d,)

    def design(f: np.ndarray) -> Tensor:
        h = (torch.as_tensor(f, dtype=torch.float64) - mean) / std  # (n, d)
        return torch.cat([h, torch.ones(len(h), 1, dtype=torch.float64)], dim=1)  # (n, d + 1)

    H = design(train_f)
    Y = F.one_hot(torch.as_tensor(np.asarray(train_y), dtype=torch.long), n_classes).to(torch.float64)  # (n, C)
    W = torch.linalg.solve(H.T @ H + alpha * torch.eye(H.shape[1], dtype=torch.float64), H.T @ Y)  # (d + 1, C)
    return (design(test_f) @ W).argmax(1).numpy()


def linear_probe(train_f: np.ndarray, train_y: np.ndarray, test_f: np.ndarray, *, n_classes: int,
                 steps: int = 100, lr: float = 0.05, weight_decay: float = 1e-2) -> np.ndarray:
    """The linear evaluation protocol of SimCLR and SupCon: a softmax classifier ``W h + b`` trained with
    cross-entropy on frozen features; its predictions for ``test_f``.

    Features are standardised with the training rows' mean and standard deviation; ``W``, ``b`` start at 0
    (the problem is convex, so nothing random is drawn) and take ``steps`` full-batch Adam steps on the
    cross-entropy with ``train_y`` plus ``weight_decay`` times the squared weights (L2-regularised logistic
    regression), in :func:`adlab.train.fit`, on the CPU. ``train_f`` ``(n, d)``, ``train_y`` ``(n,)``,
    ``test_f`` ``(m, d)`` -> ``(m,)``.
    """
    mean, std = train_f.mean(0), train_f.std(0) + 1e-6  # (d,)
    h = torch.as_tensor((train_f - mean) / std, dtype=torch.float32)  # (n, d)
    y = torch.as_tensor(np.asarray(train_y), dtype=torch.long)
    probe = nn.Linear(h.shape[1], n_classes)
    nn.init.zeros_(probe.weight)
    nn.init.zeros_(probe.bias)

    def step(model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
        return F.cross_entropy(model(batch[0]), batch[1])

    fit(probe, step, (h, y), TrainConfig(epochs=steps, batch_size=max(2, len(h)), lr=lr, weight_decay=weight_decay,
                                         device="cpu"))
    with torch.no_grad():
        return probe(torch.as_tensor((test_f - mean) / std, dtype=torch.float32)).argmax(1).numpy()


def readout(kind: str, train_f: np.ndarray, train_y: np.ndarray, test_f: np.ndarray, *, k: int,
            n_classes: int) -> np.ndarray:
    """Test predictions from frozen features: ``kind`` ``"knn"`` (:func:`knn_predict`) or ``"ridge"``
    (:func:`ridge_probe`), both fitted on ``train_y``."""
    if kind == "knn":
        return knn_predict(train_f, train_y, test_f, k=k)
    if kind == "ridge":
        return ridge_probe(train_f, train_y, test_f, n_classes=n_classes)
    raise ValueError(f"readout must be one of {READOUTS}, got {kind!r}")


# ----------------------------------------------------------------------------- training
def ce_step(augment: Transform | None = None, *, seed: int = 0) -> Callable[[nn.Module, tuple[Tensor, ...]], Tensor]:
    """Cross-entropy on a ``(x, y)`` batch: ``mean_i -log softmax(c(f(x_i)))[y_i]``. With ``augment``, on one
    view ``augment(x)`` drawn from a generator seeded ``seed + 2``, so CE can see the contrastive views too."""
    generator = torch.Generator().manual_seed(seed + 2)

    def step(model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
        x, y = batch
        return F.cross_entropy(model.logits(augment(x, generator) if augment is not None else x), y)

    return step


def augmentation(*, flip: bool = False, strength: float = 1.0) -> Transform:
    """The views of the lesson: :func:`adlab.augment.default_augment` for images (crop, colour jitter,
    blur, noise), without its left-right mirror unless ``flip``: a mirrored 2 or 7 is no longer the same
    digit, so a flip makes positives of images a reader would call different."""
    views = default_augment("image", strength=strength)
    if flip or not isinstance(views, Compose):
        return views
    return Compose([t for t in views.transforms if not isinstance(t, RandomFlip)])


def context(augment: Transform, labels: np.ndarray, seed: int) -> StepContext:
    """The :class:`StepContext` of a contrastive step: views from ``augment`` drawn with a generator seeded
    ``seed + 1`` (as :func:`adlab.contrastive.run_contrastive` seeds its own)."""
    return StepContext(augment=augment, generator=torch.Generator().manual_seed(seed + 1),
                       labels=torch.as_tensor(np.asarray(labels), dtype=torch.long), record=lambda counts: None)


def mixed_step(loss: str, ctx: StepContext, *, lam: float, temperature: float,
               ce_weight: float = 1.0) -> Callable[[nn.Module, tuple[Tensor, ...]], Tensor]:
    """``ce_weight * CE(c(f(x)), y) + lam * L_con`` on a ``(x, y)`` batch.

    ``L_con`` is the registered loss ``loss`` (``"supcon"``: positives = same label, two views each;
    ``"simclr"``: positives = the two views of one image, labels unused) at ``temperature``, on the
    projection head ``g(f(.))``, made by the loss module's own ``make_step``. ``ce_weight = 0`` is pure
    contrastive training; ``lam = 0`` skips ``L_con`` (plain CE, no views drawn).
    """
    if loss not in CONTRASTIVE:
        raise ValueError(f"loss must be one of {CONTRASTIVE}, got {loss!r}")
    if lam < 0 or ce_weight < 0 or lam + ce_weight == 0:
        raise ValueError(f"lam and ce_weight must be >= 0 and not both 0, got {lam!r} and {ce_weight!r}")
    module = registry.loss(loss)
    con = module.make_step(module.Config(temperature=temperature), ctx) if lam > 0 else None
    ce = ce_step()

    def step(model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
        total = ce(model, batch) * ce_weight if ce_weight > 0 else 0.0
        if con is not None:
            total = total + lam * con(model, batch)
        return total

    return step


def train_tracked(net: LessonNet, step: Callable[[nn.Module, tuple[Tensor, ...]], Tensor], data: Sequence[Tensor],
                  cfg: TrainConfig, evaluate: Callable[[LessonNet], Any], *, every: int = 1,
                  callbacks: Sequence[Callback] = (), cancel: threading.Event | None = None) -> list[Any]:
    """:func:`adlab.train.fit` of ``net`` that calls ``evaluate(net)`` before training and after every
    ``every``-th epoch (and the last); returns those values, epoch 0 first. Stops early when cancelled."""
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be an integer >= 1, got {every!r}")
    net.to(pick_device(cfg.device))
    values = [evaluate(net)]

    def on_event(event) -> None:
        done = event.epoch + 1
        if event.kind == "epoch" and (done % every == 0 or done == cfg.epochs):
            values.append(evaluate(net))
            net.train()

    fit(net, step, data, cfg, callbacks=[on_event, *callbacks], cancel=cancel)
    return values


class Stages:
    """A job's trainings as one progress bar: training ``i`` of ``epochs = (e_1, ..., e_n)`` reports its
    epoch ``t`` as epoch ``e_1 + ... + e_{i-1} + t`` of ``e_1 + ... + e_n`` to ``progress.callback``.

    Call :meth:`next` before each training and pass its callback to the training. Only ``step`` and
    ``epoch`` events go through: a training's ``end`` would announce "scoring" between two trainings."""

    def __init__(self, progress: Any, epochs: Sequence[int]) -> None:
        self.progress, self.epochs, self.done = progress, tuple(int(e) for e in epochs), -1

    @property
    def total(self) -> int:
        return sum(self.epochs)

    def next(self) -> Callback:
        """Announce the next training ("training" phase; raises once the job is cancelled) and return its
        callback."""
        self.done += 1
        if self.done >= len(self.epochs):
            raise ValueError(f"only {len(self.epochs)} trainings were announced")
        offset = sum(self.epochs[:self.done])
        self.progress.phase("training")

        def forward(event: TrainEvent) -> None:
            if event.kind in ("step", "epoch"):
                self.progress.callback(replace(event, epoch=offset + event.epoch, epochs=self.total))

        return forward
