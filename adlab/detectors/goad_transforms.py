"""GOAD's image transformations (Bergman & Hoshen, ICLR 2020): flip x shifts x rotations, by index.

The official ``Transformer`` of lironber/GOAD; the tabular transformations (random linear maps) are
:class:`adlab.augment.RandomLinearMaps`.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor

__all__ = ["GeometricTransforms"]


def _reflect(index: Tensor, n: int) -> Tensor:
    """Symmetric reflection of integer positions into ``[0, n)`` (``d c b a | a b c d | d c b a``),
    scipy's / keras's ``fill_mode='reflect'`` that the official translations use."""
    index = index % (2 * n)
    return torch.where(index >= n, 2 * n - 1 - index, index)


class GeometricTransforms:
    """GOAD's image transformations: ``flip x row shift x column shift x rotation``, by index.

    Index order is ``itertools.product(flips, shifts, shifts, range(4))`` with shifts
    ``(0, -t, +t)``, as the official ``Transformer``: the index of ``(flip, tx, ty, k)`` is
    ``((f * n_shift + i_tx) * n_shift + i_ty) * 4 + k``; index 0 is the identity. Applied in the
    official order: mirror left-right, then shift (``out[i, j] = x[i + tx, j + ty]``, edges filled
    by symmetric reflection; ``tx`` moves along rows as in the official keras call), then rotate
    by ``k * 90`` degrees (``torch.rot90`` on (H, W), the same direction as
    :class:`adlab.augment.Rotation`). ``flips=False, shift=0`` gives the 4 rotations.
    Inputs ``(N, C, S, S)``; ``apply`` keeps the shape, ``all`` stacks ``(M, N, C, S, S)``.
    """

    def __init__(self, *, flips: bool = False, shift: int = 0) -> None:
        if not isinstance(shift, int) or isinstance(shift, bool) or shift < 0:
            raise ValueError(f"shift must be a non-negative integer (pixels), got {shift!r}")
        self.flips, self.shift = bool(flips), shift
        flip_opts = (False, True) if flips else (False,)
        shifts = (0, -shift, shift) if shift else (0,)
        #: one ``(flip, tx, ty, k)`` tuple per index
        self.params: list[tuple[bool, int, int, int]] = list(
            itertools.product(flip_opts, shifts, shifts, range(4))
        )

    @property
    def n_transforms(self) -> int:
        return len(self.params)

    @property
    def names(self) -> list[str]:
        """A short label per index, e.g. ``'flip, shift (-2, 0), rot 90'``."""
        out = []
        for flip, tx, ty, k in self.params:
            parts = (["flip"] if flip else []) + ([f"shift ({tx:+d}, {ty:+d})"] if tx or ty else [])
            out.append(", ".join(parts + [f"rot {90 * k}"]))
        return out

    def apply(self, x: Tensor, index: int) -> Tensor:
        """``T(x, index)`` for a batch ``(N, C, S, S)`` -> ``(N, C, S, S)``."""
        if x.ndim != 4 or x.shape[-1] != x.shape[-2]:
            raise ValueError(f"GeometricTransforms expects square images (N, C, S, S), got {tuple(x.shape)}")
        index = int(index)
        if not 0 <= index < self.n_transforms:
            raise ValueError(f"index must lie in [0, {self.n_transforms}), got {index}")
        flip, tx, ty, k = self.params[index]
        if flip:
            x = x.flip(-1)
        if tx or ty:
            size = x.shape[-1]
            rows = _reflect(torch.arange(size, device=x.device) + tx, size)
            cols = _reflect(torch.arange(size, device=x.device) + ty, size)
            x = x[:, :, rows][:, :, :, cols]
        return torch.rot90(x, k, dims=(2, 3)) if k else x

    def all(self, x: Tensor) -> Tensor:
        return torch.stack([self.apply(x, m) for m in range(self.n_transforms)])  # (M, N, C, S, S)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """A random transformation per sample (the :class:`adlab.augment.Transform` protocol)."""
        index = torch.randint(self.n_transforms, (x.shape[0],), generator=generator).to(x.device)
        out = x.clone()
        for m in index.unique().tolist():
            chosen = index == m
            out[chosen] = self.apply(x[chosen], m)
        return out

    def __repr__(self) -> str:
        return (
            f"GeometricTransforms(flips={self.flips}, shift={self.shift})  # {self.n_transforms} transforms"
        )
