"""Which augmentation is a shift? One transformation, three places in SimCLR (CSI's criterion).

Tack et al. (CSI, NeurIPS 2020) sort transformations by where they belong in contrastive learning:
one that keeps an image what it is (a crop, a colour change) makes two views of one instance, a
**positive** pair; one that makes it look unlike the training data (a digit upside down) should
make a **different instance**, a *shifted negative*. Their criterion: a transformation that hurts
when used as an augmentation (a positive) is a good shift; rotation is the one they chose.

This lesson measures it on 8x8 digits. A transformation ``T`` is a finite set
``{T_0 = identity, T_1, ..., T_{K-1}}`` (:class:`Shifts`, e.g. the four rotations by ``k * 90``
degrees), and SimCLR (NT-Xent, :func:`adlab.losses.nt_xent`) is trained on the normal class three
ways, everything else equal (same initial weights, same batch order, same base augmentation ``A``
(:func:`base_augment`) drawn independently for each view):

* ``"unused"``: views ``A(x), A(x)``; ``T`` plays no part (plain SimCLR);
* ``"positive"``: views ``A(T_a x), A(T_b x)``, ``a, b`` uniform in ``0..K-1``, drawn per view:
  ``T`` is one more augmentation, the two views stay positives of each other;
* ``"negative"``: each ``T_k x`` is an instance of its own (CSI's L_con-SI, without its shift
  classifier): views ``A(T_k x), A(T_k x)`` for every ``k``, so a batch of ``B`` images holds
  ``K B`` instances and ``T_j x`` is a negative of ``T_k x`` (``j != k``).

Score, the same for all three: ``s(x) = (1/k) sum_{j in kNN(x)} (1 - cos(f(x), f(x_j)))`` on the
encoder features ``f`` of the plain (untransformed) images, ``x_j`` the normal training images
(:func:`adlab.metrics.knn_score`, ``k = 5``); higher = more anomalous. One-class AUROC per normal
class, averaged over the classes picked. :func:`compare` runs it all (a job: see ``JOBS``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adlab import i18n
from adlab.augment import ColorJitter, Compose, GaussianBlur, RandomApply, RandomResizedCrop
from adlab.data import load_digits, one_class_split
from adlab.device import pick_device, seeded
from adlab.encoders import MLP, ContrastiveNet, ProjectionHead, SmallCNN
from adlab.losses import nt_xent
from adlab.metrics import auroc, knn_score
from adlab.train import TrainConfig, TrainEvent, fit

__all__ = ["JOBS", "MODES", "TIE", "TRANSFORMS", "ShiftConfig", "ShiftExamples", "ShiftResult", "Shifts",
           "Verdict", "base_augment", "compare", "example_views", "op_names", "train_one", "train_views",
           "transform_label", "verdict", "verdict_lines"]

JOBS = ("compare",)  # what the job kind "lesson" may run (adlab.jobs.work.lesson)
MODES = ("unused", "positive", "negative")
ENCODERS = ("mlp", "cnn")
TIE = 0.005  # mean-AUROC differences below this count as "about the same" in the verdict


# ----------------------------------------------------------------------------- the transformations
Op = Callable[[Tensor, torch.Generator], Tensor]  # (N, C, S, S) -> (N, C, S, S), values in [0, 1]


@dataclass(frozen=True)
class Shifts:
    """A transformation as a finite set ``ops = (T_0, ..., T_{K-1})``, ``T_0`` the identity.

    ``all(x, g)``: every ``T_k x``, ``(K, N, C, S, S)``; ``random(x, g)``: ``T_{k_i} x_i`` with ``k_i``
    uniform in ``0..K-1`` drawn from ``g`` for each row, ``(N, C, S, S)``. Noise draws come from ``g``.
    """

    name: str
    label: str
    ops: tuple[Op, ...]
    names: tuple[str, ...]  # one per op, for the pictures

    @property
    def n(self) -> int:
        return len(self.ops)

    def all(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return torch.stack([op(x, generator) for op in self.ops])  # (K, N, C, S, S)

    def random(self, x: Tensor, generator: torch.Generator) -> Tensor:
        k = torch.randint(self.n, (x.shape[0],), generator=generator).to(x.device)  # (N,)
        out = x.clone()
        for j in range(1, self.n):
            chosen = k == j
            if bool(chosen.any()):
                out[chosen] = self.ops[j](x[chosen], generator)
        return out


def _identity(x: Tensor, g: torch.Generator) -> Tensor:
    return x


def _rotate(k: int) -> Op:
    return lambda x, g: torch.rot90(x, k, dims=(2, 3))


def _zoom(x: Tensor, g: torch.Generator) -> Tensor:
    """The centre 5/8 of the image (per side), enlarged back to full size: one fixed crop."""
    theta = torch.tensor([[0.625, 0.0, 0.0], [0.0, 0.625, 0.0]], dtype=x.dtype, device=x.device)
    grid = F.affine_grid(theta.expand(x.shape[0], 2, 3), list(x.shape), align_corners=False)  # (N, S, S, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False).clamp(0.0, 1.0)


def _noise(x: Tensor, g: torch.Generator) -> Tensor:
    draws = torch.randn(x.shape, generator=g).to(device=x.device, dtype=x.dtype)  # (N, C, S, S)
    return (x + 0.3 * draws).clamp(0.0, 1.0)


_BLUR = GaussianBlur((1.0, 1.0))

TRANSFORMS: dict[str, Shifts] = {
    s.name: s
    for s in (
        Shifts("rotation", "Rotation by 90° steps", (_identity, _rotate(1), _rotate(2), _rotate(3)),
               ("0°", "90°", "180°", "270°")),
        Shifts("hflip", "Horizontal flip (mirror image)", (_identity, lambda x, g: x.flip(-1)), ("as is", "mirrored")),
        Shifts("vflip", "Vertical flip (upside down)", (_identity, lambda x, g: x.flip(-2)), ("as is", "flipped")),
        Shifts("invert", "Intensity inverted (1 − x)", (_identity, lambda x, g: 1.0 - x), ("as is", "inverted")),
        Shifts("zoom", "Crop of the centre, enlarged", (_identity, _zoom), ("as is", "zoomed")),
        Shifts("noise", "Gaussian noise (σ = 0.3)", (_identity, _noise), ("as is", "noisy")),
        Shifts("blur", "Gaussian blur (σ = 1 pixel)", (_identity, lambda x, g: _BLUR(x, g)), ("as is", "blurred")),
    )
}


def transform_label(name: str, lang: str = "en", *, inline: bool = False) -> str:
    """The name of the transformation ``name`` (a :data:`TRANSFORMS` key) for people, in ``lang``; ``inline``:
    as it reads inside a sentence (lower case in English, "rotation by 90° steps")."""
    if name not in TRANSFORMS:
        raise ValueError(f"transform must be one of {', '.join(TRANSFORMS)}, got {name!r}")
    label = i18n.text(f"lessons.shift.transforms.{name}", lang)
    return label.lower() if inline and lang == "en" else label


def op_names(name: str, lang: str = "en") -> tuple[str, ...]:
    """The names of the changes of the transformation ``name`` (``Shifts.names``) in ``lang``; angles as
    they are."""
    if name not in TRANSFORMS:
        raise ValueError(f"transform must be one of {', '.join(TRANSFORMS)}, got {name!r}")
    return tuple(op if op.endswith("°") else i18n.text(f"lessons.shift.op.{op.replace(' ', '_')}", lang)
                 for op in TRANSFORMS[name].names)


def base_augment(strength: float) -> Compose:
    """``A``, every view's own augmentation (CSI's for digits, :mod:`adlab.detectors.csi`): a stretch
    (aspect ratio 3/4..4/3 over the whole area) and brightness/contrast ``0.4 * strength`` with
    p = 0.8; nothing at ``strength = 0``."""
    if strength == 0:
        return Compose([])
    jitter = min(0.4 * strength, 1.0)
    return Compose([RandomResizedCrop(scale=(1.0, 1.0)), RandomApply(ColorJitter(jitter, jitter, 0.0), p=0.8)])


# ----------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class ShiftConfig:
    """One comparison: ``transform`` (a :data:`TRANSFORMS` key) used ``modes`` ways, on each normal
    class of ``classes`` (sklearn digits, the other nine anomalous; ``one_class_split`` with ``seed``).

    Network: ``encoder`` = ``"mlp"`` (64 pixels -> ``hidden`` -> ``feature_dim``, BatchNorm, ReLU) or
    ``"cnn"`` (SmallCNN, 16-32 channels, about 3x the time) -> projection head (``feature_dim`` ->
    ``feature_dim`` -> ``proj_dim``). NT-Xent at ``temperature``; Adam at ``lr``, ``epochs`` passes of
    batches of ``batch_size`` images (about 90 per class: one batch per epoch at 64); ``augment``
    scales the base augmentation ``A`` (0 = none); ``knn_k`` neighbours in the score. The defaults
    train 30 networks (10 classes x 3 modes) in about 3 CPU-seconds on one torch thread.
    """

    transform: str = "rotation"
    classes: tuple[int, ...] = tuple(range(10))
    modes: tuple[str, ...] = MODES
    encoder: str = "mlp"
    hidden: int = 128
    feature_dim: int = 32
    proj_dim: int = 16
    epochs: int = 20
    batch_size: int = 64
    lr: float = 3e-3
    temperature: float = 0.5
    augment: float = 1.0
    knn_k: int = 5
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {', '.join(TRANSFORMS)}, got {self.transform!r}")
        classes = tuple(self.classes)
        if (not classes or len(set(classes)) != len(classes)
                or not all(isinstance(c, (int, np.integer)) and 0 <= c <= 9 for c in classes)):
            raise ValueError(f"classes must be distinct digits 0..9, at least one, got {self.classes!r}")
        object.__setattr__(self, "classes", tuple(int(c) for c in classes))
        if not self.modes or any(m not in MODES for m in self.modes) or len(set(self.modes)) != len(self.modes):
            raise ValueError(f"modes must be distinct names among {MODES}, got {self.modes!r}")
        object.__setattr__(self, "modes", tuple(m for m in MODES if m in self.modes))  # always in MODES order
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {self.encoder!r}")
        for name in ("hidden", "feature_dim", "proj_dim", "epochs", "knn_k"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 2:
            raise ValueError(f"batch_size must be an integer >= 2 (NT-Xent needs pairs), got {self.batch_size!r}")
        for name in ("lr", "temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not 0.0 <= self.augment <= 2.0:
            raise ValueError(f"augment must lie in [0, 2], got {self.augment!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        pick_device(self.device)  # a ValueError naming the devices there are

    @property
    def shifts(self) -> Shifts:
        return TRANSFORMS[self.transform]


# ----------------------------------------------------------------------------- what each mode trains on
def train_views(mode: str, x: Tensor, shifts: Shifts, augment: Callable[[Tensor, torch.Generator], Tensor],
                generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """The two views NT-Xent pairs row by row (row ``i`` of one is the positive of row ``i`` of the other).

    ``x`` (B, C, S, S). ``"unused"``: ``A(x), A(x)``, (B, ...) each. ``"positive"``: ``A(T_a x), A(T_b x)``
    with ``a``, ``b`` drawn per row and view, (B, ...) each. ``"negative"``: ``A(s), A(s)`` for
    ``s = [T_0 x; ...; T_{K-1} x]``, (K B, ...) each: row ``k B + i`` is ``T_k x_i``.
    """
    if mode == "unused":
        return augment(x, generator), augment(x, generator)
    if mode == "positive":
        return augment(shifts.random(x, generator), generator), augment(shifts.random(x, generator), generator)
    if mode == "negative":
        s = shifts.all(x, generator).flatten(0, 1)  # (K, B, C, S, S) -> (K B, C, S, S)
        return augment(s, generator), augment(s, generator)
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


@dataclass(frozen=True, eq=False)
class ShiftExamples:
    """What each mode trains on, for ``n`` images: ``pairs[mode]`` (n, 2, S, S), the two views of each
    image (``"unused"``, ``"positive"``); ``shifted`` (K, n, S, S), every ``T_k x`` before ``A``, each
    an instance of its own in ``"negative"``; ``names`` (K,), the ops' names."""

    pairs: dict[str, np.ndarray]
    shifted: np.ndarray
    names: tuple[str, ...]


def example_views(transform: str, *, n: int = 3, digit: int = 2, augment: float = 1.0, seed: int = 0) -> ShiftExamples:
    """Training views (:func:`train_views`) of the first ``n`` images of ``digit``, seeded; milliseconds."""
    shifts = ShiftConfig(transform=transform).shifts
    ds = load_digits()
    x = torch.from_numpy(ds.X[ds.y == digit][:n])  # (n, 1, 8, 8)
    g = torch.Generator().manual_seed(seed)
    aug = base_augment(augment)
    pairs = {m: torch.stack(train_views(m, x, shifts, aug, g), dim=1)[:, :, 0].numpy()  # (n, 2, 8, 8)
             for m in ("unused", "positive")}
    return ShiftExamples(pairs, shifts.all(x, g)[:, :, 0].numpy(), shifts.names)


# ----------------------------------------------------------------------------- one run
def _model(cfg: ShiftConfig) -> ContrastiveNet:
    with seeded(cfg.seed):  # the same initial weights for every class and mode
        if cfg.encoder == "cnn":
            encoder: nn.Module = SmallCNN(1, 8, out_dim=cfg.feature_dim)
        else:
            encoder = MLP(64, (cfg.hidden,), out_dim=cfg.feature_dim)
        return ContrastiveNet(encoder, ProjectionHead(cfg.feature_dim, hidden=cfg.feature_dim, out_dim=cfg.proj_dim))


def _features(model: ContrastiveNet, X: np.ndarray) -> np.ndarray:
    """Encoder features ``f(x)`` (n, feature_dim) of plain images ``X`` (n, 1, 8, 8), in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        return model.features(torch.from_numpy(X).to(device)).cpu().numpy()


def train_one(cfg: ShiftConfig, mode: str, X_train: np.ndarray, *, callbacks: Sequence[Callable[[TrainEvent], None]] = (),
              cancel: Any = None) -> tuple[ContrastiveNet, list[float]]:
    """SimCLR on ``X_train`` (n, 1, 8, 8) with the transformation used as ``mode``; the model and its
    epoch losses. The views draw from a generator seeded with ``cfg.seed + 1``; the batch order from
    :func:`adlab.train.fit`'s, seeded with ``cfg.seed``."""
    model = _model(cfg)
    aug, shifts = base_augment(cfg.augment), cfg.shifts
    g = torch.Generator().manual_seed(cfg.seed + 1)

    def step(net: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
        v1, v2 = train_views(mode, batch[0], shifts, aug, g)  # (B or K B, 1, 8, 8) each
        return nt_xent(net(v1), net(v2), temperature=cfg.temperature)

    train = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed, device=cfg.device)
    history = fit(model, step, (torch.from_numpy(X_train),), train, callbacks=callbacks, cancel=cancel)
    return model, history.epoch_losses


# ----------------------------------------------------------------------------- the comparison
@dataclass(frozen=True, eq=False)
class ShiftResult:
    """``auroc``, ``seconds`` (training + scoring), ``final_loss`` (last epoch's mean): (len(modes),
    len(classes)), row = mode, column = normal class. References, (len(classes),), the same kNN score
    on other features: ``untrained_auroc`` (the networks' shared initial weights) and ``raw_auroc``
    (the 64 pixels)."""

    config: ShiftConfig
    auroc: np.ndarray
    seconds: np.ndarray
    final_loss: np.ndarray
    untrained_auroc: np.ndarray
    raw_auroc: np.ndarray
    device: str

    @property
    def modes(self) -> tuple[str, ...]:
        return self.config.modes

    @property
    def classes(self) -> tuple[int, ...]:
        return self.config.classes

    @property
    def mean(self) -> dict[str, float]:
        """Mean AUROC over the classes, by mode."""
        return {m: float(v) for m, v in zip(self.modes, self.auroc.mean(axis=1), strict=True)}


class _Overall:
    """Forwards each run's TrainEvents to the job's progress as epochs of the whole comparison."""

    def __init__(self, progress: Any, n_runs: int, epochs: int) -> None:
        self.progress, self.n_runs, self.epochs, self.run = progress, n_runs, epochs, 0

    def __call__(self, event: TrainEvent) -> None:
        if event.kind in ("step", "epoch"):
            self.progress.callback(replace(event, epoch=self.run * self.epochs + event.epoch,
                                           epochs=self.n_runs * self.epochs))


def compare(cfg: ShiftConfig, *, progress: Any) -> ShiftResult:
    """Train and score every (mode, class) of ``cfg``; ``progress``: :class:`adlab.jobs.progress.Progress`.

    Per class ``c``: ``one_class_split(digits, c, seed=cfg.seed)`` (train = the class's rows of one
    half, about 90 images; test = the other half, about 900 images, 10 % normal); one SimCLR run per
    mode (:func:`train_one`), then the AUROC of the kNN cosine score of the plain test images.
    Progress counts the epochs of all runs together (``epochs`` = runs x ``cfg.epochs``).
    """
    ds = load_digits()
    shape = (len(cfg.modes), len(cfg.classes))
    scores, seconds, losses = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    untrained, raw = np.zeros(shape[1]), np.zeros(shape[1])
    overall = _Overall(progress, shape[0] * shape[1], cfg.epochs)
    device = str(pick_device(cfg.device))
    for j, c in enumerate(cfg.classes):
        split = one_class_split(ds, c, seed=cfg.seed)
        is_anomaly, X_train, X_test = split.anomalous_test, split.X_train, split.X_test
        raw[j] = auroc(is_anomaly, knn_score(X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1),
                                             k=cfg.knn_k))
        initial = _model(cfg)
        untrained[j] = auroc(is_anomaly, knn_score(_features(initial, X_train), _features(initial, X_test), k=cfg.knn_k))
        for i, mode in enumerate(cfg.modes):
            progress.phase("training")  # raises once the job is cancelled or out of time
            start = time.perf_counter()
            model, epoch_losses = train_one(cfg, mode, X_train, callbacks=[overall], cancel=progress.cancel)
            scores[i, j] = auroc(is_anomaly, knn_score(_features(model, X_train), _features(model, X_test), k=cfg.knn_k))
            seconds[i, j] = time.perf_counter() - start
            losses[i, j] = epoch_losses[-1] if epoch_losses else float("nan")
            overall.run += 1
    return ShiftResult(cfg, scores, seconds, losses, untrained, raw, device)


# ----------------------------------------------------------------------------- CSI's criterion
@dataclass(frozen=True)
class Verdict:
    """A result read with CSI's criterion. ``as_positive`` / ``as_negative``: mean AUROC minus the
    ``"unused"`` run's (None when a mode was not run); ``hurts_as_positive`` / ``helps_as_negative``:
    that change beyond :data:`TIE`; ``best``: the mode with the highest mean AUROC, None when the
    runner-up is within :data:`TIE` of it; ``shift``: the data say "use it as a shifted negative"
    (it helps there, and clearly more than anywhere else)."""

    as_positive: float | None
    as_negative: float | None
    hurts_as_positive: bool | None
    helps_as_negative: bool | None
    best: str | None
    shift: bool


def verdict(result: ShiftResult) -> Verdict:
    """Each mode's mean AUROC against ``"unused"``'s (differences below :data:`TIE` are ties)."""
    mean = result.mean
    base = mean.get("unused")
    pos = None if base is None or "positive" not in mean else mean["positive"] - base
    neg = None if base is None or "negative" not in mean else mean["negative"] - base
    ranked = sorted(mean, key=mean.get, reverse=True)
    best = ranked[0] if len(ranked) == 1 or mean[ranked[0]] - mean[ranked[1]] > TIE else None
    helps = None if neg is None else neg > TIE
    return Verdict(pos, neg, None if pos is None else pos < -TIE, helps, best, bool(helps) and best == "negative")


def verdict_lines(result: ShiftResult, lang: str = "en") -> list[str]:
    """The page's reading of ``result`` with CSI's criterion (:func:`verdict`), one Markdown sentence or two
    per item, in ``lang``: each way's change against not using the transformation, then what it is."""
    v, mean = verdict(result), result.mean

    def say(key: str, **fields: Any) -> str:
        return i18n.text(f"lessons.shift.verdict.{key}", lang, **fields)

    name = transform_label(result.config.transform, lang, inline=True)
    lines = []
    if v.as_positive is not None:
        effect = "hurts" if v.hurts_as_positive else "helps" if v.as_positive > TIE else "same"
        lines.append(say("as_positive", transform=name, delta=v.as_positive, effect=say(effect)))
    if v.as_negative is not None:
        wins = int((result.auroc[result.modes.index("negative")] > result.auroc[0]).sum())
        lines.append(say("as_negative", delta=v.as_negative, wins=wins, n=len(result.classes)))
    if v.hurts_as_positive and v.helps_as_negative:
        lines.append(say("met"))
    elif v.shift:
        lines.append(say("shift"))
    elif v.best == "positive":
        lines.append(say("augmentation"))
    elif v.best == "unused" and len(mean) > 1:
        lines.append(say("neither"))
    elif v.best is None and (v.as_positive or 0) > TIE and v.helps_as_negative:
        lines.append(say("either"))
    else:
        lines.append(say("undecided", tie=TIE))
    return lines
