"""What each loss does to one anchor, computed without training.

Two uses on the loss pages:

- the *instant view*: a fixed, seeded batch of 2-D unit vectors (a few classes on the circle, or
  two augmented views of a few instances) and, for one anchor and one value of the margin or
  temperature, the batch loss (from :mod:`adlab.losses`), the anchor's per-term breakdown (from
  :func:`adlab.losses.diagnostics.anchor_breakdown`) and what to draw for each point;
- the *explorer*: the same breakdown for a real test point after a run, in the trained model's
  loss space, inside a batch of its neighbours in the test set.

Gradient weights follow ``AnchorBreakdown``: ``d loss / d v_a = grad_scale * sum_k w_k (v_k - v_a)``,
so ``w_k < 0`` pulls the anchor toward ``v_k`` and ``w_k > 0`` pushes it away.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from adlab import losses
from adlab.augment import default_augment
from adlab.losses.diagnostics import AnchorBreakdown, anchor_breakdown
from adlab.losses.mining import classify_triplets, mine_triplets, triplet_counts

__all__ = [
    "CircleBatch",
    "ExplorerResult",
    "InstantView",
    "class_batch",
    "explore_anchor",
    "npair_view",
    "pair_batch",
    "simclr_view",
    "supcon_view",
    "triplet_view",
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

    ``loss``: the whole batch's loss from :mod:`adlab.losses`; ``breakdown``: the anchor's terms,
    whose ``index`` maps to batch rows through ``rows`` (``rows[k]`` = batch row of term ``k``);
    ``groups`` / ``sizes`` ``(n,)``: legend group and marker size in ``[0, 1]`` (``|w_k|`` relative
    to the largest) per batch row; ``step`` ``(2,)``: minus the gradient of the anchor's loss with
    respect to its (pre-normalisation) vector, i.e. tangent to the circle when the loss normalises;
    ``rings``: ``(radius, name)`` circles around the anchor (triplet); ``counts`` /
    ``anchor_counts``: easy / semi-hard / hard triplets in the batch and for this anchor;
    ``positive``: the batch row of the positive that sets the band (triplet).
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

    @property
    def anchor_loss(self) -> float:
        return self.breakdown.loss


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


def _check_anchor(anchor: int, n: int) -> int:
    if isinstance(anchor, bool) or not isinstance(anchor, (int, np.integer)) or not 0 <= anchor < n:
        raise ValueError(f"anchor must be an integer in 0..{n - 1}, got {anchor!r}")
    return int(anchor)


def _finish(kind: str, batch: CircleBatch, anchor: int, loss: float, bd: AnchorBreakdown, rows: np.ndarray,
            vectors: np.ndarray, anchor_vec: np.ndarray, groups: np.ndarray | None = None, *,
            on_sphere: bool = True, **extra) -> InstantView:
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


def triplet_view(
    batch: CircleBatch, anchor: int, *, margin: float, squared: bool = True, positive: int | None = None
) -> InstantView:
    """Triplet loss (FaceNet) on a class batch, with the margin band of one (anchor, positive).

    ``loss`` = mean hinge over every valid triplet of the batch (mining strategy "all"); negatives
    are grouped easy / semi-hard / hard relative to ``positive`` (default: the anchor's farthest
    positive, as batch-hard mining picks it). Rings: Euclidean radii ``d(a,p)`` and the band's outer
    edge, ``sqrt(d(a,p)^2 + m)`` for squared distances or ``d(a,p) + m`` for plain ones.
    """
    anchor = _check_anchor(anchor, len(batch.points))
    emb, lab = _t(batch.points), torch.as_tensor(batch.labels)
    trip = mine_triplets(emb, lab, strategy="all", margin=margin, squared=squared)
    loss = losses.triplet(emb[trip.anchor], emb[trip.positive], emb[trip.negative], margin=margin, squared=squared)
    bd = anchor_breakdown("triplet", anchor=anchor, embeddings=emb, labels=lab, margin=margin, squared=squared)
    pos_rows = bd.index[bd.role == "positive"]
    dist = bd.similarity  # d(a, k) in the loss's convention, one per term
    d_of = dict(zip(bd.index.tolist(), dist.tolist(), strict=True))
    if positive is None:
        positive = int(pos_rows[np.argmax([d_of[p] for p in pos_rows])])
    elif positive not in pos_rows:
        raise ValueError(f"positive must be one of the anchor's positives {pos_rows.tolist()}, got {positive!r}")
    d_ap = d_of[positive]
    groups = np.full(len(batch.points), "other", dtype=object)
    groups[pos_rows] = "positive"
    for k in bd.index[bd.role == "negative"]:
        d_an = d_of[int(k)]
        groups[k] = "hard" if d_an <= d_ap else ("semi-hard" if d_an < d_ap + margin else "easy")
    r_ap = math.sqrt(d_ap) if squared else d_ap
    r_band = math.sqrt(d_ap + margin) if squared else d_ap + margin
    rings = ((r_ap, "d(a,p)"), (r_band, "d(a,p) + m"))
    c = classify_triplets(emb, lab, margin=margin, squared=squared)
    mine = torch.bincount(c.category[c.anchor == anchor], minlength=3).tolist()
    anchor_counts = {"easy": mine[0], "semi_hard": mine[1], "hard": mine[2], "total": sum(mine)}
    counts = triplet_counts(emb, lab, margin=margin, squared=squared)
    return _finish("triplet", batch, anchor, float(loss), bd, bd.index, batch.points, batch.points[anchor],
                   groups, rings=rings, counts=counts, anchor_counts=anchor_counts, positive=int(positive))


def npair_view(
    batch: CircleBatch, anchor: int, *, norm: float = 1.0, l2_reg: float = 0.0, normalize: bool = False
) -> InstantView:
    """N-pair loss (Sohn 2016) on a :func:`pair_batch` whose vectors are scaled to length ``norm``.

    ``anchor`` is a pair index ``i`` in ``0..N-1`` (batch row ``i``); its terms are the N positives
    (batch rows ``N..2N-1``). Without normalisation the logits are ``norm^2 cos``: a longer
    embedding acts like a lower temperature, which is why the paper adds the norm penalty.
    """
    n = len(batch.points) // 2
    anchor = _check_anchor(anchor, n)
    if not norm > 0:
        raise ValueError(f"norm must be > 0, got {norm!r}")
    a, p = _t(batch.points[:n]) * norm, _t(batch.points[n:]) * norm  # (N, 2) each
    loss = losses.npair(a, p, l2_reg=l2_reg, normalize=normalize)
    bd = anchor_breakdown("npair", anchor=anchor, anchors=a, positive=p, l2_reg=l2_reg, normalize=normalize)
    scale = 1.0 if normalize else norm
    return _finish("npair", batch, anchor, float(loss), bd, n + bd.index, batch.points[n:] * scale,
                   batch.points[anchor] * scale, on_sphere=normalize)


def supcon_view(batch: CircleBatch, anchor: int, *, temperature: float, variant: str = "out") -> InstantView:
    """SupCon (Khosla 2020) on a class batch: every same-class point is a positive."""
    anchor = _check_anchor(anchor, len(batch.points))
    feats, lab = _t(batch.points), torch.as_tensor(batch.labels)
    loss = losses.supcon(feats, lab, temperature=temperature, variant=variant)
    bd = anchor_breakdown("supcon", anchor=anchor, features=feats, labels=lab, temperature=temperature,
                          variant=variant)
    return _finish("supcon", batch, anchor, float(loss), bd, bd.index, batch.points, batch.points[anchor])


def simclr_view(batch: CircleBatch, anchor: int, *, temperature: float, decoupled: bool = False) -> InstantView:
    """NT-Xent (SimCLR, Chen 2020) on a :func:`view_batch`: the only positive is the other view."""
    anchor = _check_anchor(anchor, len(batch.points))
    n = len(batch.points) // 2
    z1, z2 = _t(batch.points[:n]), _t(batch.points[n:])
    loss = losses.nt_xent(z1, z2, temperature=temperature, decoupled=decoupled)
    bd = anchor_breakdown("nt_xent", anchor=anchor, z1=z1, z2=z2, temperature=temperature, decoupled=decoupled)
    return _finish("nt_xent", batch, anchor, float(loss), bd, bd.index, batch.points, batch.points[anchor])


# ----------------------------------------------------------------------------- explorer
@dataclass(frozen=True)
class ExplorerResult:
    """One real anchor's breakdown. ``rows[k]`` / ``views[k]``: the pool row and view (1 or 2; 0
    when the loss uses no views) of loss row ``k`` (the space ``breakdown.index`` points into)."""

    breakdown: AnchorBreakdown
    rows: np.ndarray
    views: np.ndarray


@torch.no_grad()
def _loss_space(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    device = next(model.parameters()).device
    return model(x.to(device)).double().cpu()  # (n, d)


def explore_anchor(
    model: nn.Module,
    X_pool: np.ndarray,
    y_pool: np.ndarray,
    row: int,
    *,
    loss: str,
    data_kind: str,
    size: int = 64,
    seed: int = 0,
    margin: float = 0.2,
    squared: bool = True,
    normalize: bool = True,
    l2_reg: float = 0.0,
    temperature: float = 0.5,
    variant: str = "out",
    use_labels: bool = True,
    decoupled: bool = False,
    augment_strength: float = 1.0,
) -> ExplorerResult:
    """Break down ``loss`` for pool row ``row`` in a batch like the ones it was trained on.

    The batch is the anchor plus random other pool rows (seeded), embedded by ``model`` (the loss
    space: head output). ``triplet``: ``size`` rows, L2-normalised, class labels. ``npair``: one
    (anchor, positive) pair per class present in the pool, the anchor's own pair first.
    ``supcon``: two augmented views of ``size // 2`` rows with class labels (or instance labels when
    ``use_labels`` is False). ``simclr``: two augmented views of ``size // 2`` rows, NT-Xent.
    ``y_pool`` (e.g. the test labels) only decides positives and negatives for display.
    """
    n = len(X_pool)
    row = _check_anchor(row, n)
    if loss not in ("triplet", "npair", "supcon", "simclr"):
        raise ValueError(f"loss must be 'triplet', 'npair', 'supcon' or 'simclr', got {loss!r}")
    rng = np.random.default_rng(seed)
    y_pool = np.asarray(y_pool)
    X = torch.as_tensor(X_pool, dtype=torch.float32)
    if loss == "npair":
        classes = [int(y_pool[row])] + [int(c) for c in np.unique(y_pool) if c != y_pool[row]]
        pairs = []
        for c in classes:
            pool = np.flatnonzero((y_pool == c) & (np.arange(n) != row))
            if len(pool) < (1 if c == classes[0] else 2):
                continue
            pick = rng.choice(pool, size=1 if c == classes[0] else 2, replace=False)
            pairs.append([row, int(pick[0])] if c == classes[0] else [int(pick[0]), int(pick[1])])
        if len(pairs) < 2 or pairs[0][0] != row:
            raise ValueError("N-pair needs the anchor's class and one more class with two points each in the pool")
        pairs_arr = np.asarray(pairs)  # (N, 2): anchor row, positive row
        a, p = _loss_space(model, X[pairs_arr[:, 0]]), _loss_space(model, X[pairs_arr[:, 1]])
        bd = anchor_breakdown("npair", anchor=0, anchors=a, positive=p, l2_reg=l2_reg, normalize=normalize)
        return ExplorerResult(bd, pairs_arr[:, 1], np.zeros(len(pairs_arr), dtype=np.int64))
    m = size if loss == "triplet" else max(2, size // 2)
    others = rng.choice(np.delete(np.arange(n), row), size=min(m - 1, n - 1), replace=False)
    rows = np.concatenate([[row], others]).astype(np.int64)  # (m,), the anchor first
    if loss == "triplet":
        z = F.normalize(_loss_space(model, X[rows]), dim=1)
        bd = anchor_breakdown("triplet", anchor=0, embeddings=z, labels=torch.as_tensor(y_pool[rows]),
                              margin=margin, squared=squared)
        return ExplorerResult(bd, rows, np.zeros(len(rows), dtype=np.int64))
    aug = default_augment(data_kind, strength=augment_strength)
    gen = torch.Generator().manual_seed(seed)
    xb = X[rows]
    z1, z2 = _loss_space(model, aug(xb, gen)), _loss_space(model, aug(xb, gen))
    both_rows = np.concatenate([rows, rows])
    views = np.repeat([1, 2], len(rows))
    if loss == "simclr":
        bd = anchor_breakdown("nt_xent", anchor=0, z1=z1, z2=z2, temperature=temperature, decoupled=decoupled)
    else:
        labels = torch.as_tensor(y_pool[both_rows]) if use_labels else torch.arange(len(rows)).repeat(2)
        bd = anchor_breakdown("supcon", anchor=0, features=torch.cat([z1, z2]), labels=labels,
                              temperature=temperature, variant=variant)
    return ExplorerResult(bd, both_rows, views)
