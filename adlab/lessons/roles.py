"""Anchor, positive, negative: who is whom in one small batch, by class or by augmentation (the seminar's
"데이터간 유사도 정의" slides).

* **Class discrimination** (triplet, N-pair, SupCon): a positive of anchor ``a`` is any other sample of
  ``a``'s class, a negative any sample of another class.
* **Instance discrimination** (SimCLR): every sample appears as two augmented views; the positive of a view
  is the other view of the *same* sample, and every view of every other sample is a negative, whatever its
  class (the classes are not used, and may not even exist).

:func:`roles` gives the role of every point for an anchor; :func:`views` makes the two views of a batch.
Nothing here trains: it is the definition the loss pages then train with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MODES", "Roles", "roles", "views"]

MODES = ("class", "instance")


@dataclass(frozen=True)
class Roles:
    """The points of one picture: ``points`` (M, 2), ``sample`` (M,) the sample each point shows (a view
    of it, in instance mode), ``labels`` (M,) its class, ``role`` (M,) one of "anchor", "positive",
    "negative"."""

    points: np.ndarray
    sample: np.ndarray
    labels: np.ndarray
    role: np.ndarray

    def count(self, role: str) -> int:
        return int((self.role == role).sum())


def views(points: np.ndarray, *, jitter: float = 0.35, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two augmented views of each row of ``points`` (N, 2) on the unit circle: each view turns its point
    by an angle drawn from N(0, ``jitter``²) radians and lands back on the circle.

    Returns ``(views, sample)``: (2N, 2) with rows ``i`` and ``N + i`` the two views of sample ``i``, and
    (2N,) the sample index of each row."""
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {points.shape}")
    rng = np.random.default_rng(seed)
    n = len(points)
    angles = np.arctan2(points[:, 1], points[:, 0])
    turned = np.concatenate([angles, angles]) + jitter * rng.standard_normal(2 * n)
    return np.stack([np.cos(turned), np.sin(turned)], axis=1), np.concatenate([np.arange(n), np.arange(n)])


def roles(points: np.ndarray, labels: np.ndarray, anchor: int, mode: str, *, jitter: float = 0.35,
          seed: int = 0) -> Roles:
    """The role of every point for ``anchor`` (a row of ``points``, (N, 2), classes ``labels`` (N,)).

    ``mode="class"``: the anchor is row ``anchor``; positives are the other rows of its class, negatives
    the rest. ``mode="instance"``: the picture holds two views of each row (:func:`views`); the anchor is
    the first view of sample ``anchor``, its positive the second view, every other view a negative.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    labels = np.asarray(labels)
    if not 0 <= anchor < len(labels):
        raise ValueError(f"anchor must be a row of the batch (0..{len(labels) - 1}), got {anchor}")
    if mode == "class":
        role = np.where(labels == labels[anchor], "positive", "negative").astype(object)
        role[anchor] = "anchor"
        return Roles(np.asarray(points, dtype=float), np.arange(len(labels)), labels, role)
    shown, sample = views(points, jitter=jitter, seed=seed)
    role = np.where(sample == anchor, "positive", "negative").astype(object)
    role[anchor] = "anchor"
    return Roles(shown, sample, labels[sample], role)
