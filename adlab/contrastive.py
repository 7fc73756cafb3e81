"""Train an encoder with one contrastive loss and measure what the representation is worth.

This is the experiment every loss page runs: features of the test split before training (random
encoder) and after, a kNN anomaly score on each (fitted on normal training features only),
alignment and uniformity, and the loss history. Positives and negatives come from class labels
(triplet, N-pair, SupCon) or from augmentation (SimCLR, and SupCon without labels).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from adlab import losses
from adlab.augment import default_augment
from adlab.data import Split
from adlab.device import pick_device, seeded
from adlab.encoders import ContrastiveNet, ProjectionHead, build_encoder
from adlab.losses.diagnostics import alignment, uniformity
from adlab.losses.mining import mine_triplets, triplet_counts
from adlab.metrics import evaluate, knn_score
from adlab.train import Callback, History, TrainConfig, fit

__all__ = ["LOSSES", "ContrastiveConfig", "ContrastiveRun", "build_model", "embed", "run_contrastive"]

LOSSES = ("triplet", "npair", "supcon", "simclr")


@dataclass(frozen=True)
class ContrastiveConfig:
    """One contrastive experiment. Only the knobs of ``loss`` matter; the rest are ignored."""

    loss: str = "simclr"
    # triplet (FaceNet): margin on squared distances between L2-normalised embeddings
    margin: float = 0.2
    squared: bool = True
    mining: str = "semi-hard"
    # N-pair (Sohn 2016)
    normalize: bool = True
    l2_reg: float = 0.0
    # SupCon (Khosla 2020) and NT-Xent (Chen 2020)
    temperature: float = 0.5
    variant: str = "out"
    use_labels: bool = True  # SupCon: positives by class (True) or by augmentation only (False)
    decoupled: bool = False
    # model and scoring
    feature_dim: int = 32
    head: bool = True
    augment_strength: float = 1.0
    knn_k: int = 5
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.margin < 0:
            raise ValueError(f"margin must be >= 0, got {self.margin!r}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature!r}")
        if self.knn_k < 1:
            raise ValueError(f"knn_k must be >= 1, got {self.knn_k!r}")
        if self.feature_dim < 2:
            raise ValueError(f"feature_dim must be >= 2, got {self.feature_dim!r}")


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
    triplet_counts: list[dict[str, int]]  # per epoch (triplet loss only)
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


def _class_batches(y: torch.Tensor, batch_size: int, generator: torch.Generator) -> Iterable[torch.Tensor]:
    """Index batches for N-pair: groups holding one (anchor, positive) pair per class."""
    classes = [c for c in torch.unique(y).tolist() if int((y == c).sum()) >= 2]
    if len(classes) < 2:
        raise ValueError("N-pair needs at least two normal classes with two samples each; pick more normal classes")
    pools = {c: torch.nonzero(y == c).flatten() for c in classes}
    groups_per_batch = max(1, batch_size // (2 * len(classes)))
    steps = max(1, len(y) // (groups_per_batch * 2 * len(classes)))
    for _ in range(steps):
        rows = []
        for _ in range(groups_per_batch):
            for c in classes:
                pool = pools[c]
                pick = pool[torch.randperm(len(pool), generator=generator)[:2]]
                rows.append(pick)
        yield torch.stack(rows)  # (groups * classes, 2): anchor index, positive index


def _step_fn(cfg: ContrastiveConfig, kind: str, n_classes: int, counts: list[dict[str, int]]):
    aug = default_augment(kind, strength=cfg.augment_strength)
    gen = torch.Generator().manual_seed(cfg.train.seed + 1)

    def views(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return aug(x, gen), aug(x, gen)

    def step(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        if cfg.loss == "triplet":
            x, y = batch
            z = F.normalize(model(x), dim=1)
            with torch.no_grad():
                t = mine_triplets(z, y, strategy=cfg.mining, margin=cfg.margin, squared=cfg.squared)
                counts[-1] = _add(counts[-1], triplet_counts(z, y, margin=cfg.margin, squared=cfg.squared))
            if len(t.anchor) == 0:
                return (z * 0).sum()
            return losses.triplet(z[t.anchor], z[t.positive], z[t.negative], margin=cfg.margin, squared=cfg.squared)
        if cfg.loss == "npair":
            x_a, x_p = batch
            za, zp = model(x_a), model(x_p)
            group = n_classes
            terms = [
                losses.npair(za[i : i + group], zp[i : i + group], l2_reg=cfg.l2_reg, normalize=cfg.normalize)
                for i in range(0, len(za) - group + 1, group)
            ]
            return torch.stack(terms).mean()
        if cfg.loss == "supcon":
            x, y = batch
            v1, v2 = views(x)
            z = model(torch.cat([v1, v2]))  # (2B, d): both views stacked
            labels = torch.cat([y, y]) if cfg.use_labels else torch.arange(len(x), device=x.device).repeat(2)
            return losses.supcon(z, labels, temperature=cfg.temperature, variant=cfg.variant)
        (x,) = batch[:1]
        v1, v2 = views(x)
        return losses.nt_xent(model(v1), model(v2), temperature=cfg.temperature, decoupled=cfg.decoupled)

    return step


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: int(a.get(k, 0)) + int(v) for k, v in b.items()}


def _geometry(model: ContrastiveNet, X: torch.Tensor, y: torch.Tensor, cfg: ContrastiveConfig, kind: str) -> dict:
    """Alignment and uniformity (Wang & Isola 2020) of the loss space on normal training data.

    Positive pairs are two augmented views for instance discrimination, and random same-class
    pairs for the class-based losses.
    """
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(12345)
    X = X[:512].to(device)
    y = y[:512].to(device)
    with torch.no_grad():
        if cfg.loss in ("simclr",) or (cfg.loss == "supcon" and not cfg.use_labels):
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

    Scores are kNN distances (k = ``cfg.knn_k``, cosine) from each test feature to the normal
    training features, computed with the same encoder before and after training. Test labels are
    used only to compute the metrics, never in training.
    """
    input_shape = tuple(split.X_train.shape[1:])
    with seeded(cfg.train.seed):  # the same seed gives the same initial weights, whatever else runs
        model = build_model(input_shape, cfg)
    X = torch.as_tensor(split.X_train, dtype=torch.float32)
    y = torch.as_tensor(split.y_train, dtype=torch.long)
    # relabel classes 0..k-1 for the losses
    _, y = torch.unique(y, return_inverse=True)
    # N-pair groups hold one pair per class that has at least two training rows
    n_classes = sum(int((y == c).sum()) >= 2 for c in torch.unique(y).tolist())
    model.to(pick_device(cfg.train.device))

    def features() -> tuple[np.ndarray, np.ndarray]:
        return embed(model, split.X_train), embed(model, split.X_test)

    train_before, test_before = features()
    geometry_before = _geometry(model, X, y, cfg, split.kind)

    counts: list[dict[str, int]] = []

    def count_epochs(event) -> None:
        if event.kind == "epoch" and cfg.loss == "triplet":
            counts.append({})

    counts.append({})
    step = _step_fn(cfg, split.kind, n_classes, counts)
    if cfg.loss == "npair":
        def data(epoch: int, generator: torch.Generator):
            for pairs in _class_batches(y, cfg.train.batch_size, generator):
                yield X[pairs[:, 0]], X[pairs[:, 1]]
    else:
        data = (X, y)
    history = fit(model, step, data, cfg.train, callbacks=[count_epochs, *callbacks], cancel=cancel)
    if counts and not counts[-1]:
        counts.pop()

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
        triplet_counts=counts if cfg.loss == "triplet" else [],
        model=model.cpu(),
        is_anomaly=is_anomaly,
        y_test=np.asarray(split.y_test),
    )
