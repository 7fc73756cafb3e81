"""Train an encoder with one contrastive loss and measure what the representation is worth.

This is the experiment every loss page runs: features of the test split before training (random
encoder) and after, a kNN anomaly score on each (fitted on normal training features only),
alignment and uniformity, and the loss history. The loss is found by name in
:mod:`adlab.registry`; its module supplies the training step, the batches and where its positives
come from (class labels, or two augmented views of one sample).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from adlab import registry
from adlab.augment import default_augment
from adlab.data import Split
from adlab.device import pick_device, seeded
from adlab.encoders import ContrastiveNet, ProjectionHead, build_encoder
from adlab.losses.base import AUGMENTATION, POSITIVES, StepContext
from adlab.losses.diagnostics import alignment, uniformity
from adlab.metrics import evaluate, knn_score
from adlab.train import Callback, History, TrainConfig, fit

__all__ = ["ContrastiveConfig", "ContrastiveRun", "build_model", "embed", "run_contrastive"]


@dataclass(frozen=True)
class ContrastiveConfig:
    """One contrastive experiment: the settings every loss shares, plus ``loss``, the loss's own
    ``Config`` (e.g. ``TripletConfig(margin=0.3)``; a registered loss name means its defaults).

    Build one from knob names with :meth:`for_loss`; ``loss_name`` is the loss's registry name.
    """

    loss: Any = "simclr"  # a registered loss's Config instance (a name is replaced by its Config())
    feature_dim: int = 32
    head: bool = True
    augment_strength: float = 1.0
    knn_k: int = 5
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if isinstance(self.loss, str):
            object.__setattr__(self, "loss", registry.loss(self.loss).Config())
        _module_of(self.loss)  # a registered loss's Config, or ValueError
        if self.knn_k < 1:
            raise ValueError(f"knn_k must be >= 1, got {self.knn_k!r}")
        if self.feature_dim < 2:
            raise ValueError(f"feature_dim must be >= 2, got {self.feature_dim!r}")

    @classmethod
    def for_loss(cls, name: str, train: TrainConfig | None = None, **knobs: Any) -> ContrastiveConfig:
        """The experiment for the loss registered as ``name``: each knob goes to the shared settings
        (``feature_dim``, ``head``, ``augment_strength``, ``knn_k``) or to the loss's ``Config``; an
        unknown knob is a ``ValueError`` naming the loss and its valid knobs."""
        module = registry.loss(name)
        shared = {f.name for f in fields(cls)} - {"loss", "train"}
        own = {f.name for f in fields(module.Config)}
        unknown = sorted(set(knobs) - shared - own)
        if unknown:
            raise ValueError(
                f"unknown setting(s) {', '.join(unknown)} for the loss {name!r}; its settings are "
                f"{', '.join(sorted(own)) or '(none)'} and the shared ones {', '.join(sorted(shared))}"
            )
        loss = module.Config(**{k: v for k, v in knobs.items() if k in own})
        common = {k: v for k, v in knobs.items() if k in shared}
        return cls(loss=loss, train=train if train is not None else TrainConfig(), **common)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContrastiveConfig:
        """The inverse of :meth:`to_dict` (e.g. a ``config.json`` read back)."""
        flat = dict(data)
        train = TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in flat.pop("train", {}).items()})
        return cls.for_loss(flat.pop("loss"), train, **flat)

    def to_dict(self) -> dict[str, Any]:
        """``{"loss": name, <the loss's settings>, <the shared settings>, "train": {...}}``: one flat
        mapping of plain values (the layout of a link or a ``config.json``)."""
        out: dict[str, Any] = {"loss": self.loss_name}
        out.update({f.name: getattr(self.loss, f.name) for f in fields(self.loss)})
        out.update({f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("loss", "train")})
        out["train"] = {f.name: getattr(self.train, f.name) for f in fields(self.train)}
        return out

    @property
    def loss_name(self) -> str:
        """The registry name of ``loss`` (e.g. ``"triplet"``)."""
        return _module_of(self.loss).NAME

    @property
    def positives(self) -> str:
        """Where the loss's positive pairs come from: ``"class"`` or ``"augmentation"``."""
        return _positives(_module_of(self.loss), self.loss)


def _module_of(loss_cfg: Any) -> Any:
    """The registered loss module whose ``Config`` ``loss_cfg`` is."""
    for module in registry.losses().values():
        if type(loss_cfg) is module.Config:
            return module
    names = ", ".join(registry.loss_names())
    raise ValueError(f"loss must be the Config of a registered loss ({names}) or its name, got {loss_cfg!r}")


def _positives(module: Any, loss_cfg: Any) -> str:
    value = module.positives(loss_cfg) if hasattr(module, "positives") else "class"
    if value not in POSITIVES:
        raise ValueError(f"{module.NAME}.positives must return one of {POSITIVES}, got {value!r}")
    return value


@dataclass
class ContrastiveRun:
    """Everything a page shows after one run (numpy arrays, model on the CPU)."""

    config: ContrastiveConfig
    history: History
    test_before: np.ndarray  # (n_test, d) encoder features before training
    test_after: np.ndarray  # (n_test, d) encoder features after training
    scores_before: np.ndarray  # (n_test,) kNN anomaly score, higher = more anomalous
    scores_after: np.ndarray
    metrics_before: dict[str, float]
    metrics_after: dict[str, float]
    geometry_before: dict[str, float]  # alignment, uniformity of the loss space
    geometry_after: dict[str, float]
    triplet_counts: list[dict[str, int]]  # per epoch, what the step recorded (triplet categories); else []
    model: nn.Module
    is_anomaly: np.ndarray
    y_test: np.ndarray


def build_model(input_shape: tuple[int, ...], cfg: ContrastiveConfig) -> ContrastiveNet:
    """Encoder (MLP or small CNN by input shape) plus an optional projection head."""
    encoder = build_encoder(tuple(input_shape), out_dim=64 if len(input_shape) == 3 else 32)
    enc_dim = _out_dim(encoder, input_shape)
    head = ProjectionHead(enc_dim, hidden=64, out_dim=cfg.feature_dim) if cfg.head else None
    return ContrastiveNet(encoder, head)


def _out_dim(encoder: nn.Module, input_shape: tuple[int, ...]) -> int:
    was_training = encoder.training
    encoder.eval()
    with torch.no_grad():
        out = encoder(torch.zeros((2, *input_shape)))
    encoder.train(was_training)
    return int(out.shape[1])


@torch.no_grad()
def embed(model: ContrastiveNet, X: np.ndarray, *, which: str = "encoder", batch_size: int = 512) -> np.ndarray:
    """Features of ``X`` (n, ...) as float32 numpy (n, d), in eval mode, on the model's device."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(X), batch_size):
        xb = torch.as_tensor(X[start : start + batch_size], dtype=torch.float32, device=device)
        out.append(model.embed(xb, which=which).float().cpu())
    return torch.cat(out).numpy()


class _EpochCounts:
    """Per-epoch totals of the counters a training step records (:attr:`StepContext.record`)."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, int]] = [{}]

    def add(self, counts: Mapping[str, int]) -> None:
        current = self.epochs[-1]
        self.epochs[-1] = {k: int(current.get(k, 0)) + int(v) for k, v in counts.items()}

    def on_event(self, event) -> None:
        if event.kind == "epoch":
            self.epochs.append({})

    def result(self) -> list[dict[str, int]]:
        """One dict per finished epoch; ``[]`` when the step recorded nothing."""
        done = self.epochs[:-1] if not self.epochs[-1] else self.epochs
        return done if any(done) else []


def _geometry(model: ContrastiveNet, X: torch.Tensor, y: torch.Tensor, cfg: ContrastiveConfig, kind: str) -> dict:
    """Alignment and uniformity (Wang & Isola 2020) of the loss space on normal training data.

    Positive pairs are two augmented views when the loss's positives come from augmentation, and
    random same-class pairs when they come from class labels (``cfg.positives``).
    """
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(12345)
    X = X[:512].to(device)
    y = y[:512].to(device)
    with torch.no_grad():
        if cfg.positives == AUGMENTATION:
            aug = default_augment(kind, strength=cfg.augment_strength)
            z1, z2 = model(aug(X, gen)), model(aug(X, gen))
        else:
            partner = torch.empty(len(y), dtype=torch.long)
            y_cpu = y.cpu()
            for c in torch.unique(y_cpu):
                idx = torch.nonzero(y_cpu == c).flatten()
                partner[idx] = idx[torch.randperm(len(idx), generator=gen)]
            z = model(X)
            z1, z2 = z, z[partner.to(device)]
        return {
            "alignment": float(alignment(z1, z2)),
            "uniformity": float(uniformity(F.normalize(z1, dim=1))),
        }


def run_contrastive(
    split: Split,
    cfg: ContrastiveConfig,
    *,
    callbacks: Sequence[Callback] = (),
    cancel: threading.Event | None = None,
) -> ContrastiveRun:
    """Train on ``split``'s normal training rows with ``cfg.loss`` and score its test rows.

    The loss module (``registry.loss(cfg.loss_name)``) makes the training step and, when it has a
    ``batches`` hook, the batches. Scores are kNN distances (k = ``cfg.knn_k``, cosine) from each
    test feature to the normal training features, computed with the same encoder before and after
    training. Test labels are used only to compute the metrics, never in training.
    """
    module = registry.loss(cfg.loss_name)
    input_shape = tuple(split.X_train.shape[1:])
    with seeded(cfg.train.seed):  # the same seed gives the same initial weights, whatever else runs
        model = build_model(input_shape, cfg)
    X = torch.as_tensor(split.X_train, dtype=torch.float32)
    y = torch.as_tensor(split.y_train, dtype=torch.long)
    _, y = torch.unique(y, return_inverse=True)  # (n,) classes relabelled 0..k-1 for the losses
    model.to(pick_device(cfg.train.device))

    def features() -> tuple[np.ndarray, np.ndarray]:
        return embed(model, split.X_train), embed(model, split.X_test)

    train_before, test_before = features()
    geometry_before = _geometry(model, X, y, cfg, split.kind)

    counts = _EpochCounts()
    ctx = StepContext(
        augment=default_augment(split.kind, strength=cfg.augment_strength),
        generator=torch.Generator().manual_seed(cfg.train.seed + 1),
        labels=y,
        record=counts.add,
    )
    step = module.make_step(cfg.loss, ctx)
    data = module.batches(X, y, cfg.train.batch_size) if hasattr(module, "batches") else (X, y)
    history = fit(model, step, data, cfg.train, callbacks=[counts.on_event, *callbacks], cancel=cancel)

    train_after, test_after = features()
    geometry_after = _geometry(model, X, y, cfg, split.kind)
    is_anomaly = np.asarray(split.anomalous_test, dtype=bool)
    scores_before = knn_score(train_before, test_before, k=cfg.knn_k, metric="cosine")
    scores_after = knn_score(train_after, test_after, k=cfg.knn_k, metric="cosine")
    return ContrastiveRun(
        config=cfg,
        history=history,
        test_before=test_before,
        test_after=test_after,
        scores_before=scores_before,
        scores_after=scores_after,
        metrics_before=evaluate(is_anomaly, scores_before),
        metrics_after=evaluate(is_anomaly, scores_after),
        geometry_before=geometry_before,
        geometry_after=geometry_after,
        triplet_counts=counts.result(),
        model=model.cpu(),
        is_anomaly=is_anomaly,
        y_test=np.asarray(split.y_test),
    )
