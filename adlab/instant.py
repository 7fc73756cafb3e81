"""What a loss does to one anchor, computed without training: the pieces every loss shares.

Two uses on the loss pages:

- the *instant view*: a fixed, seeded batch of 2-D unit vectors (a few classes on the circle, or
  two augmented views of a few instances) and, for one anchor and one loss configuration, the batch
  loss, the anchor's per-term breakdown and what to draw for each point (:func:`view`);
- the *explorer*: the same breakdown for a real test point after a run, in the trained model's
  loss space, inside a batch of its neighbours in the test set (:func:`explore_anchor`).

Each loss module (see :mod:`adlab.losses.base`) builds its own view and explorer batch from the
shared pieces here (:class:`CircleBatch`, :func:`finish`, :class:`ExplorerPool`); this module
dispatches by name through :mod:`adlab.registry` and imports no loss itself.

Gradient weights follow ``AnchorBreakdown``: ``d loss / d v_a = grad_scale * sum_k w_k (v_k - v_a)``,
so ``w_k < 0`` pulls the anchor toward ``v_k`` and ``w_k > 0`` pushes it away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from adlab import registry
from adlab.augment import default_augment

if TYPE_CHECKING:  # the loss modules import this one: no import of adlab.losses at run time
    from adlab.contrastive import ContrastiveConfig
    from adlab.losses.diagnostics import AnchorBreakdown

__all__ = [
    "CircleBatch",
    "ExplorerPool",
    "ExplorerResult",
    "InstantView",
    "as_tensor",
    "check_anchor",
    "class_batch",
    "explore_anchor",
    "finish",
    "pair_batch",
    "view",
    "view_batch",
]

# ----------------------------------------------------------------------------- fixed batches
@dataclass(frozen=True)
class CircleBatch:
    """Unit vectors in 2-D. ``points`` ``(n, 2)`` float64; ``labels`` ``(n,)`` int64 (a class, or
    the instance a view came from); ``tags`` ``n`` short names printed on the markers."""

    points: np.ndarray
    labels: np.ndarray
    tags: tuple[str, ...]


def _unit(angles: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (n, 2)


def class_batch(n_classes: int = 3, per_class: int = 4, *, spread: float = 0.8, seed: int = 49) -> CircleBatch:
    """``n_classes`` classes of ``per_class`` points; class ``c`` sits around the angle
    ``90° + 360° c / n_classes`` with Gaussian angular noise of ``spread`` radians. Rows are grouped
    by class (class 0 first)."""
    if n_classes < 2 or per_class < 2:
        raise ValueError(f"n_classes and per_class must be >= 2, got {n_classes}, {per_class}")
    rng = np.random.default_rng(seed)
    centres = np.pi / 2 + 2 * np.pi * np.arange(n_classes) / n_classes  # (K,)
    angles = np.repeat(centres, per_class) + spread * rng.standard_normal(n_classes * per_class)
    labels = np.repeat(np.arange(n_classes), per_class).astype(np.int64)
    return CircleBatch(_unit(angles), labels, tuple(str(c) for c in labels))


def pair_batch(n_pairs: int = 5, *, spread: float = 0.35, seed: int = 1) -> CircleBatch:
    """N-pair batch: ``n_pairs`` classes, one (anchor, positive) pair each. Rows ``0..N-1`` are
    the anchors ``a_i`` and rows ``N..2N-1`` the positives ``p_i`` (class ``i`` for both)."""
    if n_pairs < 2:
        raise ValueError(f"n_pairs must be >= 2, got {n_pairs}")
    rng = np.random.default_rng(seed)
    centres = np.pi / 2 + 2 * np.pi * np.arange(n_pairs) / n_pairs  # (N,)
    angles = np.concatenate([centres + spread * rng.standard_normal(n_pairs),
                             centres + spread * rng.standard_normal(n_pairs)])  # (2N,)
    labels = np.tile(np.arange(n_pairs), 2).astype(np.int64)
    tags = tuple(f"a{i}" for i in range(n_pairs)) + tuple(f"p{i}" for i in range(n_pairs))
    return CircleBatch(_unit(angles), labels, tags)


def view_batch(n_instances: int = 6, *, jitter: float = 0.3, seed: int = 2) -> CircleBatch:
    """SimCLR batch: ``n_instances`` samples at random angles, two augmented views each (the angle
    moved by Gaussian noise of ``jitter`` radians). Rows ``0..N-1`` are first views, ``N..2N-1``
    second views; ``labels`` is the instance."""
    if n_instances < 2:
        raise ValueError(f"n_instances must be >= 2, got {n_instances}")
    rng = np.random.default_rng(seed)
    base = 2 * np.pi * (np.arange(n_instances) + 0.3 * rng.random(n_instances)) / n_instances  # (N,)
    angles = np.concatenate([base + jitter * rng.standard_normal(n_instances),
                             base + jitter * rng.standard_normal(n_instances)])  # (2N,)
    labels = np.tile(np.arange(n_instances), 2).astype(np.int64)
    return CircleBatch(_unit(angles), labels, tuple(str(i) for i in labels))


# ----------------------------------------------------------------------------- instant views
@dataclass(frozen=True)
class InstantView:
    """What the instant view shows for one anchor (row ``anchor`` of ``batch.points``).

    ``kind``: the loss's registry name; ``loss``: the whole batch's loss; ``breakdown``: the anchor's terms,
    whose ``index`` maps to batch rows through ``rows`` (``rows[k]`` = batch row of term ``k``);
    ``groups`` / ``sizes`` ``(n,)``: legend group and marker size in ``[0, 1]`` (``|w_k|`` relative
    to the largest) per batch row; ``step`` ``(2,)``: minus the gradient of the anchor's loss with
    respect to its (pre-normalisation) vector, i.e. tangent to the circle when the loss normalises;
    ``rings``: ``(radius, name)`` circles around the anchor (triplet); ``counts`` /
    ``anchor_counts``: easy / semi-hard / hard triplets in the batch and for this anchor;
    ``positive``: the batch row of the positive that sets the band (triplet); ``slide_loss`` /
    ``slide_anchor_loss``: the seminar slide's form of the loss on the same batch and anchor, when
    the view was asked for it (``slide=True``; None otherwise).
    """

    kind: str
    batch: CircleBatch
    anchor: int
    loss: float
    breakdown: AnchorBreakdown
    rows: np.ndarray
    groups: np.ndarray
    sizes: np.ndarray
    step: np.ndarray
    rings: tuple[tuple[float, str], ...] = ()
    counts: dict[str, int] | None = None
    anchor_counts: dict[str, int] | None = None
    positive: int | None = None  # triplet: the positive whose margin band is drawn
    slide_loss: float | None = None  # the slide's formula on the batch (slide=True)
    slide_anchor_loss: float | None = None  # ... and for the anchor

    @property
    def anchor_loss(self) -> float:
        return self.breakdown.loss


def as_tensor(x: np.ndarray) -> torch.Tensor:
    """``x`` as a float64 tensor (the instant views compute in float64)."""
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


def check_anchor(anchor: int, n: int) -> int:
    """``anchor`` as an ``int`` in ``0..n-1``; ``ValueError`` otherwise."""
    if isinstance(anchor, bool) or not isinstance(anchor, (int, np.integer)) or not 0 <= anchor < n:
        raise ValueError(f"anchor must be an integer in 0..{n - 1}, got {anchor!r}")
    return int(anchor)


def finish(kind: str, batch: CircleBatch, anchor: int, loss: float, bd: AnchorBreakdown, rows: np.ndarray,
           vectors: np.ndarray, anchor_vec: np.ndarray, groups: np.ndarray | None = None, *,
           on_sphere: bool = True, **extra: Any) -> InstantView:
    """Per-row groups and sizes from the breakdown, and the descent step -grad of the anchor.

    ``on_sphere``: the loss normalises its inputs, so only the tangent part of the step moves the
    anchor (the radial part is removed by the normalisation's Jacobian ``I - v v^T`` at ``|v| = 1``).
    """
    n = len(batch.points)
    if groups is None:
        groups = np.full(n, "other", dtype=object)
        groups[rows] = bd.role
    groups[anchor] = "anchor"
    sizes = np.zeros(n)
    w = np.abs(bd.grad_weight)
    if w.max(initial=0.0) > 0:
        sizes[rows] = w / w.max()
    # d loss / d v_a = grad_scale * sum_k w_k (v_k - v_a); the step goes the other way
    step = -bd.grad_scale * (bd.grad_weight[:, None] * (vectors[bd.index] - anchor_vec)).sum(0)
    if on_sphere:
        unit = anchor_vec / np.linalg.norm(anchor_vec)
        step = step - (step @ unit) * unit
    return InstantView(kind, batch, anchor, float(loss), bd, rows, groups, sizes, step, **extra)




def view(name: str, batch: CircleBatch, anchor: int, cfg: Any = None, **extra: Any) -> InstantView:
    """The instant view of the loss registered as ``name`` (its ``Config()`` when ``cfg`` is None);
    ``extra``: the view's own knobs (e.g. ``positive=`` for the triplet loss, ``norm=`` for N-pair,
    ``slide=True`` for the seminar slide's form beside the paper's: triplet, SupCon, SimCLR)."""
    module = registry.loss(name)
    return module.instant_view(batch, anchor, module.Config() if cfg is None else cfg, **extra)


# ----------------------------------------------------------------------------- explorer
@dataclass(frozen=True)
class ExplorerResult:
    """One real anchor's breakdown. ``rows[k]`` / ``views[k]``: the pool row and view (1 or 2; 0
    when the loss uses no views) of loss row ``k`` (the space ``breakdown.index`` points into)."""

    breakdown: AnchorBreakdown
    rows: np.ndarray
    views: np.ndarray


class ExplorerPool:
    """The rows a real anchor is explored among (e.g. the test set), embedded by a trained model.

    ``X`` ``(n, ...)`` float32 tensor of the pool; ``y`` ``(n,)`` its labels (they only decide
    positives and negatives for display); ``row`` the anchor's pool row; ``rng`` a numpy generator
    seeded with ``seed`` for picking rows; augmentations draw from a torch generator with the same
    seed. Embeddings are the model's loss space (head output), float64 on the CPU.
    """

    def __init__(self, model: nn.Module, X_pool: np.ndarray, y_pool: np.ndarray, row: int, *, data_kind: str,
                 augment_strength: float = 1.0, seed: int = 0) -> None:
        self.row = check_anchor(row, len(X_pool))
        self.rng = np.random.default_rng(seed)
        self.y = np.asarray(y_pool)
        self.X = torch.as_tensor(X_pool, dtype=torch.float32)
        self.model = model
        self._augment = default_augment(data_kind, strength=augment_strength)
        self._generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.X)

    @torch.no_grad()
    def _loss_space(self, x: torch.Tensor) -> torch.Tensor:
        self.model.eval()
        device = next(self.model.parameters()).device
        return self.model(x.to(device)).double().cpu()  # (m, d)

    def embed(self, rows: np.ndarray) -> torch.Tensor:
        """Loss-space embeddings ``(m, d)`` of pool ``rows`` ``(m,)``."""
        return self._loss_space(self.X[rows])

    def sample(self, m: int) -> np.ndarray:
        """``(min(m, n),)`` pool rows: the anchor first, then distinct random other rows."""
        n = len(self.X)
        others = self.rng.choice(np.delete(np.arange(n), self.row), size=min(m - 1, n - 1), replace=False)
        return np.concatenate([[self.row], others]).astype(np.int64)

    def views(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss-space embeddings ``(m, d)`` of two augmented views of pool ``rows``."""
        xb = self.X[rows]
        z1 = self._loss_space(self._augment(xb, self._generator))
        z2 = self._loss_space(self._augment(xb, self._generator))
        return z1, z2


def explore_anchor(model: nn.Module, X_pool: np.ndarray, y_pool: np.ndarray, row: int, config: ContrastiveConfig,
                   *, data_kind: str, size: int = 64, seed: int = 0) -> ExplorerResult:
    """Break down ``config``'s loss for pool row ``row`` in a batch like the ones it was trained on.

    The batch is the anchor plus seeded random other pool rows (about ``size`` of them; each loss
    module's ``explore`` says how it builds its batch), embedded by ``model``. ``y_pool`` (e.g. the
    test labels) only decides positives and negatives for display.
    """
    pool = ExplorerPool(model, X_pool, y_pool, row, data_kind=data_kind, augment_strength=config.augment_strength,
                        seed=seed)
    return registry.loss(config.loss_name).explore(config.loss, pool, size=size)
