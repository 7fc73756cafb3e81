"""The one training loop every method in adlab uses.

A method supplies a model, a ``step`` function that turns one batch into a 0-d loss tensor, and
its data; the loop owns seeding, the optimiser, device placement, progress callbacks, snapshots,
cancellation and the stop on a non-finite loss. Progress leaves the library only through the
callbacks (never ``print`` or ``tqdm``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from adlab.device import pick_device

__all__ = [
    "TrainConfig",
    "TrainEvent",
    "History",
    "NonFiniteLoss",
    "fit",
    "minibatches",
]

Batch = tuple[torch.Tensor, ...]
StepFn = Callable[[nn.Module, Batch], torch.Tensor]
BatchSource = Sequence[torch.Tensor] | Callable[[int, torch.Generator], Iterable[Batch]]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings shared by every method (a frozen, hashable cache key)."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    optimizer: str = "adam"
    seed: int = 0
    device: str = "auto"
    snapshot_every: int = 0  # epochs between snapshot callbacks; 0 = only before/after

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 2:
            raise ValueError(f"batch_size must be an integer >= 2, got {self.batch_size!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive finite number, got {self.lr!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.snapshot_every < 0:
            raise ValueError(f"snapshot_every must be >= 0, got {self.snapshot_every!r}")


@dataclass(frozen=True)
class TrainEvent:
    """What a callback receives. ``kind`` is 'step', 'epoch', 'snapshot' or 'end'."""

    kind: str
    epoch: int  # 0-based epoch the event belongs to (epochs for the final 'end')
    epochs: int
    step: int  # global step count so far
    loss: float  # this step's loss ('step'), the epoch mean ('epoch'), last epoch mean otherwise
    elapsed: float  # seconds since the loop started
    model: nn.Module | None = None  # set for 'snapshot' events only

    @property
    def fraction(self) -> float:
        """Progress in [0, 1] for a progress bar."""
        if self.kind == "end":
            return 1.0
        done = self.epoch + (1 if self.kind in ("epoch", "snapshot") else 0)
        return min(1.0, done / max(self.epochs, 1))


Callback = Callable[[TrainEvent], None]


@dataclass
class History:
    """What happened during :func:`fit`."""

    step_losses: list[float] = field(default_factory=list)
    epoch_losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False
    device: str = "cpu"
    extras: dict[str, Any] = field(default_factory=dict)


class NonFiniteLoss(RuntimeError):
    """Raised when the loss becomes NaN or infinite; the message says where and what to try."""


def minibatches(
    tensors: Sequence[torch.Tensor], batch_size: int, generator: torch.Generator, *, drop_last: bool = True
) -> Iterable[Batch]:
    """Shuffle rows of same-length ``tensors`` with ``generator`` and yield tuples of slices.

    Drops a final batch smaller than 2 rows even when ``drop_last`` is False (contrastive losses
    need pairs); when the data has fewer than ``batch_size`` rows one full batch is yielded.
    """
    n = len(tensors[0])
    if any(len(t) != n for t in tensors):
        raise ValueError("tensors must all have the same number of rows")
    order = torch.randperm(n, generator=generator)
    size = min(batch_size, n)
    stop = n - (n % size) if drop_last else n
    for start in range(0, stop, size):
        idx = order[start : start + size]
        if len(idx) < 2:
            break
        yield tuple(t[idx] for t in tensors)


def _optimizer(params: Iterable[torch.nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)


def fit(
    model: nn.Module,
    step: StepFn,
    data: BatchSource,
    cfg: TrainConfig,
    *,
    callbacks: Sequence[Callback] = (),
    cancel: threading.Event | None = None,
    params: Iterable[torch.nn.Parameter] | None = None,
) -> History:
    """Train ``model`` in place by minimising ``step(model, batch)`` over ``cfg.epochs`` epochs.

    ``data`` is either a sequence of tensors with the same first dimension (shuffled into
    minibatches of ``cfg.batch_size`` each epoch) or a callable ``(epoch, generator) -> batches``
    for methods that build their own batches. Batches are moved to the device before ``step``.
    The model is seeded-trained on ``pick_device(cfg.device)`` and stays there.

    Raises :class:`NonFiniteLoss` on a NaN/inf loss. Setting ``cancel`` stops after the current
    step and returns the history with ``cancelled=True``.
    """
    device = pick_device(cfg.device)
    generator = torch.Generator().manual_seed(cfg.seed)  # batch order; nothing here draws from torch's global RNG
    model.to(device)
    opt = _optimizer(params if params is not None else model.parameters(), cfg)
    history = History(device=str(device))
    start = time.perf_counter()
    step_count = 0

    def emit(event: TrainEvent) -> None:
        for cb in callbacks:
            cb(event)

    for epoch in range(cfg.epochs):
        model.train()
        batches = data(epoch, generator) if callable(data) else minibatches(data, cfg.batch_size, generator)
        total, count = 0.0, 0
        for batch in batches:
            if cancel is not None and cancel.is_set():
                history.cancelled = True
                break
            batch = tuple(t.to(device, non_blocking=True) for t in batch)
            loss = step(model, batch)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise NonFiniteLoss(
                    f"the loss became {value} at epoch {epoch + 1}, step {step_count + 1}; "
                    "lower the learning rate, raise the temperature, or check the input for NaN/inf"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step_count += 1
            total += value
            count += 1
            history.step_losses.append(value)
            emit(TrainEvent("step", epoch, cfg.epochs, step_count, value, time.perf_counter() - start))
        if count == 0 and not history.cancelled:
            raise ValueError("no training batch could be formed: the training set is too small for this method")
        if count:
            history.epoch_losses.append(total / count)
            emit(
                TrainEvent("epoch", epoch, cfg.epochs, step_count, total / count, time.perf_counter() - start)
            )
        if history.cancelled:
            break
        if cfg.snapshot_every and (epoch + 1) % cfg.snapshot_every == 0 and epoch + 1 < cfg.epochs:
            model.eval()
            emit(
                TrainEvent(
                    "snapshot", epoch, cfg.epochs, step_count, history.epoch_losses[-1],
                    time.perf_counter() - start, model,
                )
            )
    model.eval()
    history.seconds = time.perf_counter() - start
    last = history.epoch_losses[-1] if history.epoch_losses else float("nan")
    emit(TrainEvent("end", cfg.epochs, cfg.epochs, step_count, last, history.seconds, model))
    return history


def warm_up_optimizer() -> None:
    """Build one Adam optimiser so torch imports its lazy machinery (``torch._dynamo``, ~4 s on a
    small CPU) now rather than inside the user's first training run. Safe to call from a thread."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([param], lr=1e-3)
    param.grad = torch.zeros(1)
    opt.step()
