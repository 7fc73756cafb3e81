r"""A learned distance before and after training, on a 2-D toy set.

The distance is :math:`d_f(x, y) = \lVert f(x) - f(y) \rVert_2` with
:math:`f(x) = g(x) / \lVert g(x) \rVert_2`, a small ReLU MLP ``g`` followed by the L2
normalisation every contrastive loss applies. Whatever ``g`` is, ``d_f`` is only a pseudometric:
symmetry and the triangle inequality carry over from the Euclidean distance between features,
identity of indiscernibles does not wherever ``f`` is not injective. Two encoders show it:

- ``"mlp"``: ``g`` sees both coordinates; training pulls a class together, so distant points of
  one class end up nearly at distance 0;
- ``"collapsed"``: ``g`` sees only the first coordinate, so ``(a, b)`` and ``(a, b')`` are at
  distance exactly 0 for every ``b != b'``, before and after training.

:func:`train_learned_distance` trains ``f`` with the triplet loss (batch-hard triplets, on
:data:`TRIPLET_DISTANCE`, the squared Euclidean distance between unit features, as FaceNet) or
SupCon (positives by class, one view) through :func:`adlab.train.fit`, in well under a second
on a CPU for the defaults. :func:`distance_field` and :func:`closest_distinct_pair` measure the
geometry for the page.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from adlab import losses
from adlab.data import make_toy
from adlab.device import seeded
from adlab.distances import SQUARED_EUCLIDEAN, Distance, LearnedDistance, euclidean
from adlab.encoders import MLP
from adlab.train import Callback, History, TrainConfig, fit

__all__ = [
    "DEMO_ENCODERS",
    "DEMO_LOSSES",
    "TRIPLET_DISTANCE",
    "DistanceDemoConfig",
    "LearnedDistanceRun",
    "PairProbe",
    "UnitEncoder",
    "build_demo_encoder",
    "closest_distinct_pair",
    "distance_field",
    "plane_grid",
    "train_learned_distance",
]

DEMO_ENCODERS = ("mlp", "collapsed")
DEMO_LOSSES = ("triplet", "supcon")
TRIPLET_DISTANCE = SQUARED_EUCLIDEAN  # the triplet loss's geometry: ||f(a) - f(p)||^2, margin on it


@dataclass(frozen=True)
class DistanceDemoConfig:
    """One learned-distance experiment (frozen: usable as a cache key).

    ``toy`` names a :func:`adlab.data.make_toy` set of ``n`` points (5 % planted anomalies, never
    trained on); ``encoder`` is ``"mlp"`` or ``"collapsed"``; ``loss`` is ``"triplet"``
    (:data:`TRIPLET_DISTANCE` on unit features, ``margin``) or ``"supcon"`` (``temperature``).
    """

    toy: str = "moons"
    n: int = 400
    encoder: str = "mlp"
    loss: str = "triplet"
    hidden: tuple[int, ...] = (32, 32)
    feature_dim: int = 8
    margin: float = 0.2
    temperature: float = 0.2
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-2
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.encoder not in DEMO_ENCODERS:
            raise ValueError(f"encoder must be one of {DEMO_ENCODERS}, got {self.encoder!r}")
        if self.loss not in DEMO_LOSSES:
            raise ValueError(f"loss must be one of {DEMO_LOSSES}, got {self.loss!r}")
        if self.feature_dim < 2:
            raise ValueError(f"feature_dim must be >= 2, got {self.feature_dim!r}")
        if self.margin < 0:
            raise ValueError(f"margin must be >= 0, got {self.margin!r}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature!r}")

    @property
    def train(self) -> TrainConfig:
        """The optimisation part, as :func:`adlab.train.fit` takes it (validates epochs, lr, ...)."""
        return TrainConfig(
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed, device=self.device
        )


class UnitEncoder(nn.Module):
    r"""``f(x) = g(x_S) / ||g(x_S)||``: ``(N, 2) -> (N, k)`` unit vectors, ``S`` = ``keep``.

    ``keep=(0,)`` drops the second coordinate before ``g``: a deliberately non-injective encoder.
    """

    def __init__(self, body: nn.Module, keep: Sequence[int] | None = None) -> None:
        super().__init__()
        self.body = body
        self.keep = tuple(keep) if keep is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.keep is not None:
            x = x[:, list(self.keep)]  # (N, |S|)
        return F.normalize(self.body(x), dim=1)  # (N, k), unit rows


def build_demo_encoder(cfg: DistanceDemoConfig) -> UnitEncoder:
    """The encoder at its random initialisation, the same for the same ``cfg.seed``.

    Built under :func:`adlab.device.seeded`, so building it leaves the global RNGs untouched.
    """
    keep = (0,) if cfg.encoder == "collapsed" else None
    with seeded(cfg.seed):
        body = MLP(1 if keep else 2, hidden=cfg.hidden, out_dim=cfg.feature_dim, batchnorm=False)
    return UnitEncoder(body, keep).eval()


@dataclass
class LearnedDistanceRun:
    """Both encoders (CPU, eval mode) and what training did.

    ``X`` ``(n, 2)`` and ``y`` ``(n,)`` are the whole toy set (the last class, ``anomaly``, was not
    trained on); ``before`` / ``after`` are ``d_f`` with ``f`` at initialisation / after training.
    """

    config: DistanceDemoConfig
    encoder_before: UnitEncoder
    encoder_after: UnitEncoder
    history: History
    X: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]

    @property
    def before(self) -> LearnedDistance:
        return LearnedDistance(self.encoder_before)

    @property
    def after(self) -> LearnedDistance:
        return LearnedDistance(self.encoder_after)


def _step(cfg: DistanceDemoConfig):
    def step(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        x, y = batch
        z = model(x)  # (B, k), unit rows
        if cfg.loss == "supcon":
            return losses.supcon(z, y, temperature=cfg.temperature)
        with torch.no_grad():
            t = losses.mine_triplets(z, y, strategy="batch-hard", margin=cfg.margin, distance=TRIPLET_DISTANCE)
        if len(t.anchor) == 0:
            return (z * 0).sum()
        return losses.triplet(z[t.anchor], z[t.positive], z[t.negative], margin=cfg.margin, distance=TRIPLET_DISTANCE)

    return step


def train_learned_distance(
    cfg: DistanceDemoConfig, *, callbacks: Sequence[Callback] = (), cancel: threading.Event | None = None
) -> LearnedDistanceRun:
    """Train ``f`` on the normal classes of the toy set; ``callbacks`` get :class:`TrainEvent`s;
    ``cancel`` (anything with ``is_set()``) stops training after the current step.

    Returns copies of the encoder before and after training, both on the CPU in eval mode.
    """
    ds = make_toy(cfg.toy, n=cfg.n, seed=cfg.seed)
    anomaly = len(ds.class_names) - 1
    normal = ds.y != anomaly
    model = build_demo_encoder(cfg)
    before = copy.deepcopy(model)
    X = torch.as_tensor(ds.X[normal], dtype=torch.float32)
    y = torch.as_tensor(ds.y[normal], dtype=torch.long)
    history = fit(model, _step(cfg), (X, y), cfg.train, callbacks=callbacks, cancel=cancel)
    return LearnedDistanceRun(
        config=cfg,
        encoder_before=before.cpu().eval(),
        encoder_after=model.cpu().eval(),
        history=history,
        X=ds.X,
        y=ds.y,
        class_names=ds.class_names,
    )


def plane_grid(*points: np.ndarray, steps: int = 60, pad: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Axes ``xs``, ``ys`` (``steps`` each) of a square-ish box around all ``points`` ``(n_i, 2)``."""
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps!r}")
    P = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in points])
    if len(P) == 0:
        raise ValueError("points must hold at least one point")
    lo, hi = P.min(axis=0) - pad, P.max(axis=0) + pad
    return np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps)


def distance_field(distance: Distance, reference: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``Z[r, c] = d(reference, (xs[c], ys[r]))`` of shape ``(len(ys), len(xs))``, for a heatmap."""
    ref = np.asarray(reference, dtype=np.float64).reshape(1, 2)
    gx, gy = np.meshgrid(xs, ys)  # (R, C) each
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)  # (R * C, 2)
    return distance.pairwise(ref, grid).reshape(gx.shape)


@dataclass(frozen=True)
class PairProbe:
    """Two points ``a``, ``b`` at least ``gap`` apart in the plane whose distance ``d`` is smallest."""

    a: np.ndarray
    b: np.ndarray
    gap: float
    d: float


def closest_distinct_pair(distance: Distance, points: np.ndarray, *, min_gap: float) -> PairProbe:
    """Among pairs of ``points`` ``(n, 2)`` with ``||a - b|| >= min_gap``, the one with the smallest ``d``.

    A value near 0 shows ``d`` failing (or nearly failing) identity of indiscernibles: the points
    are far apart in the input but almost indiscernible to ``d``.
    """
    P = np.asarray(points, dtype=np.float64)
    D = distance.pairwise(P)  # (n, n)
    gap = euclidean.pairwise(P)  # (n, n) how far apart in the plane
    D = np.where(gap >= min_gap, D, np.inf)
    if not np.isfinite(D).any():
        raise ValueError(f"min_gap={min_gap!r} leaves no pair of points far enough apart")
    i, j = np.unravel_index(np.argmin(D), D.shape)
    return PairProbe(P[i], P[j], float(gap[i, j]), float(D[i, j]))
