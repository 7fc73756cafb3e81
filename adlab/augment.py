"""Batched data augmentations for images ``(N, C, H, W)`` and tabular rows ``(N, d)``.

Every transform is a small callable ``t(x, generator=None) -> Tensor`` that draws its random
parameters per sample from ``generator`` (any device; the draws are moved to ``x.device``), so a
seeded generator gives the same views on CPU and GPU. Transforms with a finite set of shifts
(``Rotation``, ``RandomLinearMaps``) can also be applied by index (``.apply(x, index)``) for scoring,
as CSI's ``Rotation(aug_index=...)`` and GOAD's ``transform_batch(x, t_inds)`` do.
Image transforms keep pixel values in ``[0, 1]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "ColorJitter",
    "Compose",
    "FeatureMask",
    "GaussianBlur",
    "GaussianNoise",
    "RandomApply",
    "RandomFlip",
    "RandomLinearMaps",
    "RandomResizedCrop",
    "Rotation",
    "TabularNoise",
    "Transform",
    "default_augment",
]


class Transform(Protocol):
    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor: ...


# ----------------------------------------------------------------------------- helpers
def _rand(shape: Sequence[int], generator: torch.Generator | None, device: torch.device) -> Tensor:
    """U(0, 1) draws made on the generator's device, returned on ``device``."""
    where = generator.device if generator is not None else device
    return torch.rand(tuple(shape), generator=generator, device=where).to(device)


def _randn(shape: Sequence[int], generator: torch.Generator | None, device: torch.device) -> Tensor:
    where = generator.device if generator is not None else device
    return torch.randn(tuple(shape), generator=generator, device=where).to(device)


def _uniform(
    n: int, low: float, high: float, generator: torch.Generator | None, device: torch.device
) -> Tensor:
    return low + (high - low) * _rand((n,), generator, device)


def _check_images(x: Tensor, name: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name} expects images (N, C, H, W), got shape {tuple(x.shape)}")


def _check_range(name: str, value: tuple[float, float], low: float, high: float) -> tuple[float, float]:
    a, b = float(value[0]), float(value[1])
    if not low <= a <= b <= high:
        raise ValueError(f"{name} must be (min, max) with {low} <= min <= max <= {high}, got {value!r}")
    return a, b


def _check_prob(name: str, p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {p!r}")
    return float(p)


def _per_sample(mask: Tensor, x: Tensor) -> Tensor:
    """A (N,) bool mask reshaped to broadcast against ``x``: (N, 1, 1, ...)."""
    return mask.view(-1, *([1] * (x.ndim - 1)))


# ----------------------------------------------------------------------------- composition
class Compose:
    """Apply transforms in order, all drawing from the same generator."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        for t in self.transforms:
            x = t(x, generator)
        return x

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


class RandomApply:
    """Apply ``transform`` to each sample with probability ``p`` (the others pass unchanged)."""

    def __init__(self, transform: Transform, p: float = 0.8) -> None:
        self.transform = transform
        self.p = _check_prob("p", p)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        chosen = _rand((x.shape[0],), generator, x.device) < self.p  # (N,)
        return torch.where(_per_sample(chosen, x), self.transform(x, generator), x)

    def __repr__(self) -> str:
        return f"RandomApply({self.transform!r}, p={self.p})"


# ----------------------------------------------------------------------------- images
class RandomResizedCrop:
    """Crop a random box of area fraction ``s ~ U(scale)`` and aspect ``r ~ logU(ratio)``, resize back.

    Box size relative to the image: ``w = sqrt(s r)``, ``h = sqrt(s / r)`` (capped at 1), centre drawn
    so the box stays inside. Done for the whole batch with one ``affine_grid`` / ``grid_sample``:
    ``theta_i = [[w_i, 0, cx_i], [0, h_i, cy_i]]`` in normalised coordinates. Output shape = input shape.
    """

    def __init__(
        self, scale: tuple[float, float] = (0.5, 1.0), ratio: tuple[float, float] = (3 / 4, 4 / 3)
    ) -> None:
        self.scale = _check_range("scale", scale, 1e-3, 1.0)
        self.ratio = _check_range("ratio", ratio, 1e-2, 1e2)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        _check_images(x, "RandomResizedCrop")
        n, dev = x.shape[0], x.device
        area = _uniform(n, *self.scale, generator, dev)
        log_r = _uniform(n, math.log(self.ratio[0]), math.log(self.ratio[1]), generator, dev)
        w = torch.sqrt(area * torch.exp(log_r)).clamp(max=1.0)  # (N,) fraction of the width
        h = torch.sqrt(area / torch.exp(log_r)).clamp(max=1.0)
        cx = (2 * _rand((n,), generator, dev) - 1) * (1 - w)  # centre in [-1 + w, 1 - w]
        cy = (2 * _rand((n,), generator, dev) - 1) * (1 - h)
        theta = torch.zeros(n, 2, 3, device=dev, dtype=x.dtype)  # (N, 2, 3)
        theta[:, 0, 0], theta[:, 0, 2] = w, cx
        theta[:, 1, 1], theta[:, 1, 2] = h, cy
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (N, H, W, 2)
        out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return out.clamp(0.0, 1.0)

    def __repr__(self) -> str:
        return f"RandomResizedCrop(scale={self.scale}, ratio={self.ratio})"


class RandomFlip:
    """Mirror each image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = _check_prob("p", p)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        _check_images(x, "RandomFlip")
        flip = _rand((x.shape[0],), generator, x.device) < self.p  # (N,)
        return torch.where(_per_sample(flip, x), x.flip(-1), x)

    def __repr__(self) -> str:
        return f"RandomFlip(p={self.p})"


class ColorJitter:
    """Per-sample brightness, contrast and (3 channels only) saturation factors.

    brightness: ``x * b``, ``b ~ U(1 - brightness, 1 + brightness)``; contrast:
    ``(x - mean(x)) * c + mean(x)`` with the image's mean grey level; saturation: blend with the
    grey image. Result clamped to ``[0, 1]`` after each step.
    """

    def __init__(self, brightness: float = 0.4, contrast: float = 0.4, saturation: float = 0.0) -> None:
        for name, v in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {v!r}")
        self.brightness, self.contrast, self.saturation = (
            float(brightness),
            float(contrast),
            float(saturation),
        )

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        _check_images(x, "ColorJitter")
        n, dev = x.shape[0], x.device
        b = _uniform(n, 1 - self.brightness, 1 + self.brightness, generator, dev).view(n, 1, 1, 1)
        c = _uniform(n, 1 - self.contrast, 1 + self.contrast, generator, dev).view(n, 1, 1, 1)
        s = _uniform(n, 1 - self.saturation, 1 + self.saturation, generator, dev).view(n, 1, 1, 1)
        x = (x * b).clamp(0.0, 1.0)
        grey = _grey(x)  # (N, 1, H, W)
        mean = grey.mean(dim=(1, 2, 3), keepdim=True)  # (N, 1, 1, 1)
        x = ((x - mean) * c + mean).clamp(0.0, 1.0)
        if self.saturation > 0 and x.shape[1] == 3:
            grey = _grey(x)
            x = ((x - grey) * s + grey).clamp(0.0, 1.0)
        return x

    def __repr__(self) -> str:
        return f"ColorJitter(brightness={self.brightness}, contrast={self.contrast}, saturation={self.saturation})"


def _grey(x: Tensor) -> Tensor:
    """(N, C, H, W) -> (N, 1, H, W) luminance (ITU-R 601 weights for RGB, the channel mean otherwise)."""
    if x.shape[1] == 3:
        w = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return (x * w).sum(dim=1, keepdim=True)
    return x.mean(dim=1, keepdim=True)


class GaussianNoise:
    """Add ``N(0, std^2)`` noise per pixel; clamp to ``[0, 1]`` (images, 4-D input)."""

    def __init__(self, std: float = 0.05) -> None:
        if std < 0:
            raise ValueError(f"std must be >= 0, got {std!r}")
        self.std = float(std)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        out = x + self.std * _randn(x.shape, generator, x.device).to(x.dtype)
        return out.clamp(0.0, 1.0) if x.ndim == 4 else out

    def __repr__(self) -> str:
        return f"GaussianNoise(std={self.std})"


class GaussianBlur:
    """Blur each image with its own ``sigma ~ U(sigma)`` (pixels), a separable Gaussian kernel.

    Kernel size ``2 * ceil(3 * sigma_max) + 1`` (capped to fit the image); all N*C planes are
    convolved at once as a grouped (depthwise) convolution with per-sample kernels.
    """

    def __init__(self, sigma: tuple[float, float] = (0.1, 1.0)) -> None:
        self.sigma = _check_range("sigma", sigma, 1e-3, 50.0)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        _check_images(x, "GaussianBlur")
        n, c, hgt, wid = x.shape
        sigma = _uniform(n, *self.sigma, generator, x.device).to(x.dtype)  # (N,)
        radius = min(math.ceil(3 * self.sigma[1]), (min(hgt, wid) - 1) // 2)
        if radius < 1:
            return x
        t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)  # (K,)
        kernel = torch.exp(-(t[None] ** 2) / (2 * sigma[:, None] ** 2))  # (N, K)
        kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(c, dim=0)  # (N*C, K)
        planes = x.reshape(1, n * c, hgt, wid)  # one "image" with N*C channels
        planes = F.pad(planes, (radius, radius, radius, radius), mode="replicate")
        planes = F.conv2d(planes, kernel[:, None, None, :], groups=n * c)  # along W
        planes = F.conv2d(planes, kernel[:, None, :, None], groups=n * c)  # along H
        return planes.reshape(n, c, hgt, wid).clamp(0.0, 1.0)

    def __repr__(self) -> str:
        return f"GaussianBlur(sigma={self.sigma})"


class Rotation:
    """Rotation by ``k * 90`` degrees (``torch.rot90`` on the last two axes), k in {0, 1, 2, 3}.

    Called: each sample gets a random k (or the fixed ``k`` given to the constructor).
    ``apply(x, index)``: k = ``index`` (an int, or an (N,) tensor of per-sample ks; per-sample
    rotations need square images). ``all(x)``: the 4 rotations stacked, ``(4, N, C, H, W)``.
    """

    n_transforms = 4

    def __init__(self, k: int | None = None) -> None:
        if k is not None and k not in range(4):
            raise ValueError(f"k must be None or one of 0, 1, 2, 3, got {k!r}")
        self.k = k

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if self.k is not None:
            return self.apply(x, self.k)
        index = (_rand((x.shape[0],), generator, x.device) * 4).long().clamp(max=3)  # (N,)
        return self.apply(x, index)

    def apply(self, x: Tensor, index: int | Tensor) -> Tensor:
        _check_images(x, "Rotation")
        if isinstance(index, Tensor) and index.ndim == 0:
            index = int(index)
        if isinstance(index, int):
            return torch.rot90(x, index % 4, dims=(2, 3))
        index = torch.as_tensor(index, device=x.device).long().view(-1) % 4
        if index.numel() != x.shape[0]:
            raise ValueError(
                f"index must be an int or hold one k per sample ({x.shape[0]}), got {index.numel()}"
            )
        if x.shape[2] != x.shape[3]:
            raise ValueError(f"per-sample rotations need square images, got {tuple(x.shape[2:])}")
        out = x.clone()
        for k in range(1, 4):
            chosen = index == k
            if bool(chosen.any()):
                out[chosen] = torch.rot90(x[chosen], k, dims=(2, 3))
        return out

    def all(self, x: Tensor) -> Tensor:
        return torch.stack([self.apply(x, k) for k in range(4)])  # (4, N, C, H, W)

    def __repr__(self) -> str:
        return f"Rotation(k={self.k})"


# ----------------------------------------------------------------------------- tabular
class TabularNoise:
    """Add ``N(0, std^2)`` noise to every feature (features assumed standardised)."""

    def __init__(self, std: float = 0.1) -> None:
        if std < 0:
            raise ValueError(f"std must be >= 0, got {std!r}")
        self.std = float(std)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return x + self.std * _randn(x.shape, generator, x.device).to(x.dtype)

    def __repr__(self) -> str:
        return f"TabularNoise(std={self.std})"


class FeatureMask:
    """Set each entry to 0 independently with probability ``p`` (a fresh mask per sample)."""

    def __init__(self, p: float = 0.2) -> None:
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p must lie in [0, 1), got {p!r}")
        self.p = float(p)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        keep = _rand(x.shape, generator, x.device) >= self.p
        return x * keep.to(x.dtype)

    def __repr__(self) -> str:
        return f"FeatureMask(p={self.p})"


class RandomLinearMaps:
    """GOAD's transformations for general data: ``T(x, m) = x W_m``, ``W_m ~ N(0, 1)`` ``(in_dim, out_dim)``.

    ``n_maps`` fixed Gaussian matrices, no bias (as in GOAD's official tabular code), drawn once from
    ``seed``. ``apply(x, index)``: ``(N, in_dim) -> (N, out_dim)`` with one map (int) or one map per
    sample ((N,) tensor); ``all(x)``: every map, ``(M, N, out_dim)``; called: a random map per sample.
    """

    def __init__(self, in_dim: int, n_maps: int, out_dim: int, seed: int = 0) -> None:
        for name, v in (("in_dim", in_dim), ("n_maps", n_maps), ("out_dim", out_dim)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        self.in_dim, self.n_maps, self.out_dim, self.seed = in_dim, n_maps, out_dim, seed
        g = torch.Generator().manual_seed(int(seed))
        self.weights = torch.randn(n_maps, in_dim, out_dim, generator=g)  # (M, in_dim, out_dim)

    @property
    def n_transforms(self) -> int:
        return self.n_maps

    def _w(self, x: Tensor) -> Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"RandomLinearMaps expects rows (N, {self.in_dim}), got shape {tuple(x.shape)}")
        return self.weights.to(device=x.device, dtype=x.dtype)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        index = (_rand((x.shape[0],), generator, x.device) * self.n_maps).long().clamp(max=self.n_maps - 1)
        return self.apply(x, index)

    def apply(self, x: Tensor, index: int | Tensor) -> Tensor:
        w = self._w(x)
        if isinstance(index, Tensor) and index.ndim == 0:
            index = int(index)
        if isinstance(index, int):
            if not 0 <= index < self.n_maps:
                raise ValueError(f"index must lie in [0, {self.n_maps}), got {index}")
            return x @ w[index]  # (N, out_dim)
        index = torch.as_tensor(index, device=x.device).long().view(-1)
        if index.numel() != x.shape[0]:
            raise ValueError(
                f"index must be an int or hold one map per sample ({x.shape[0]}), got {index.numel()}"
            )
        return torch.einsum("nd,ndo->no", x, w[index])  # (N, out_dim)

    def all(self, x: Tensor) -> Tensor:
        return torch.einsum("nd,mdo->mno", x, self._w(x))  # (M, N, out_dim)

    def __repr__(self) -> str:
        return f"RandomLinearMaps(in_dim={self.in_dim}, n_maps={self.n_maps}, out_dim={self.out_dim}, seed={self.seed})"


# ----------------------------------------------------------------------------- defaults
def default_augment(kind: str, *, strength: float = 1.0) -> Transform:
    """Views for contrastive learning. ``strength`` scales every magnitude (0 = identity, 1 = default).

    images (SimCLR-style, sized for small images): RandomResizedCrop(scale=(1 - 0.5 s, 1)),
    RandomFlip(0.5), ColorJitter(0.4 s, 0.4 s, 0.4 s) with p = 0.8, GaussianBlur((0.1, 1.0)) with
    p = 0.5 s, GaussianNoise(0.02 s). tabular: TabularNoise(0.1 s), FeatureMask(0.2 s).
    """
    if kind not in ("image", "tabular"):
        raise ValueError(f"kind must be 'image' or 'tabular', got {kind!r}")
    if not 0.0 <= strength <= 2.0:
        raise ValueError(f"strength must lie in [0, 2], got {strength!r}")
    s = float(strength)
    if s == 0.0:
        return Compose([])
    if kind == "tabular":
        return Compose([TabularNoise(0.1 * s), FeatureMask(0.2 * s)])
    jitter = min(0.4 * s, 1.0)
    return Compose(
        [
            RandomResizedCrop(scale=(max(0.08, 1.0 - 0.5 * s), 1.0)),
            RandomFlip(0.5),
            RandomApply(ColorJitter(jitter, jitter, jitter), p=0.8),
            RandomApply(GaussianBlur((0.1, 1.0)), p=min(0.5 * s, 1.0)),
            GaussianNoise(0.02 * s),
        ]
    )
