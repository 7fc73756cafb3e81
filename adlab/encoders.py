"""Small encoders: an MLP for rows, a CNN for small images, a projection head, and their pairing.

Every encoder has an ``out_dim`` attribute. ``bias=False`` removes every bias term and
``affine=False`` the BatchNorm scale and shift: the two collapse guards Deep SVDD relies on
(with both off, the network cannot map everything to a constant centre by its biases alone).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["MLP", "ContrastiveNet", "ProjectionHead", "SmallCNN", "build_encoder"]

_ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "tanh")


def _activation(name: str) -> nn.Module:
    """``leaky_relu`` uses slope 0.2 (GOAD's feature extractor)."""
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    if name == "elu":
        return nn.ELU()
    if name == "gelu":
        return nn.GELU()
    if name == "tanh":
        return nn.Tanh()
    raise ValueError(f"activation must be one of {_ACTIVATIONS}, got {name!r}")


def _positive(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


class MLP(nn.Module):
    """``(N, in_dim) -> (N, out_dim)``: [Linear -> BatchNorm1d -> activation] per hidden width, then Linear.

    ``bias=False``: no Linear has a bias; ``batchnorm=False``: no BatchNorm; ``affine=False``: the
    BatchNorm layers only standardise (no learnt scale/shift). Training mode with BatchNorm needs
    batches of at least 2 rows.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int] = (128, 64),
        out_dim: int = 32,
        *,
        bias: bool = True,
        batchnorm: bool = True,
        affine: bool = True,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.in_dim = _positive("in_dim", in_dim)
        self.out_dim = _positive("out_dim", out_dim)
        hidden = tuple(hidden)
        for h in hidden:
            _positive("hidden width", h)
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers.append(nn.Linear(width, h, bias=bias))
            if batchnorm:
                layers.append(nn.BatchNorm1d(h, affine=affine))
            layers.append(_activation(activation))
            width = h
        layers.append(nn.Linear(width, out_dim, bias=bias))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1))  # (N, in_dim) -> (N, out_dim)


_DEFAULT_CHANNELS = {8: (16, 32), 28: (8, 16, 32), 32: (16, 32, 64)}


class SmallCNN(nn.Module):
    """``(N, C, S, S) -> (N, out_dim)`` for small square images (8x8 digits, 28x28 MNIST, 32x32 CIFAR).

    Blocks of [Conv3x3 -> BatchNorm2d -> LeakyReLU(0.2) -> MaxPool2], 2 blocks below 16 pixels and 3
    from 16 on (channels 16-32 for 8x8, 8-16-32 for 28x28, 16-32-64 otherwise, or ``channels``),
    then flatten and one Linear to ``out_dim``. Side after the blocks: ``S // 2**blocks``.
    ``bias`` / ``batchnorm`` / ``affine`` as in ``MLP``.
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        out_dim: int = 64,
        *,
        bias: bool = True,
        batchnorm: bool = True,
        affine: bool = True,
        channels: Sequence[int] | None = None,
        activation: str = "leaky_relu",
    ) -> None:
        super().__init__()
        self.in_channels = _positive("in_channels", in_channels)
        self.image_size = _positive("image_size", image_size)
        self.out_dim = _positive("out_dim", out_dim)
        if image_size < 8:
            raise ValueError(f"image_size must be at least 8 pixels, got {image_size}")
        if channels is None:
            channels = _DEFAULT_CHANNELS.get(image_size, (16, 32) if image_size < 16 else (16, 32, 64))
        channels = tuple(_positive("channels", c) for c in channels)
        side = image_size // 2 ** len(channels)
        if not channels or side < 1:
            raise ValueError(
                f"channels must hold 1..{image_size.bit_length() - 1} widths for {image_size}px, got {channels}"
            )
        layers: list[nn.Module] = []
        width = in_channels
        for c in channels:
            layers.append(nn.Conv2d(width, c, kernel_size=3, padding=1, bias=bias))
            if batchnorm:
                layers.append(nn.BatchNorm2d(c, affine=affine))
            layers += [_activation(activation), nn.MaxPool2d(2)]
            width = c
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(width * side * side, out_dim, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[2:] != (self.image_size, self.image_size):
            want = (self.in_channels, self.image_size, self.image_size)
            raise ValueError(f"SmallCNN expects (N, {', '.join(map(str, want))}), got {tuple(x.shape)}")
        h = self.features(x)  # (N, channels[-1], side, side)
        return self.fc(h.flatten(1))  # (N, out_dim)


class ProjectionHead(nn.Module):
    """SimCLR's projection head ``g``: ``(N, in_dim) -> Linear -> ReLU -> Linear -> (N, out_dim)``."""

    def __init__(self, in_dim: int, hidden: int = 64, out_dim: int = 32) -> None:
        super().__init__()
        self.in_dim = _positive("in_dim", in_dim)
        self.out_dim = _positive("out_dim", out_dim)
        self.net = nn.Sequential(
            nn.Linear(in_dim, _positive("hidden", hidden)), nn.ReLU(), nn.Linear(hidden, out_dim)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ContrastiveNet(nn.Module):
    """An encoder ``f`` with an optional projection head ``g``: ``forward(x) = g(f(x))`` (or ``f(x)``).

    The loss is computed on ``forward`` (head output ``z``); anomaly scores are usually better on
    ``features`` (encoder output ``h``), the "projection-head features used where encoder features
    were meant" pitfall. ``embed`` returns either, detached, without tracking gradients.
    """

    def __init__(self, encoder: nn.Module, head: nn.Module | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def features(self, x: Tensor) -> Tensor:
        return self.encoder(x)  # (N, encoder.out_dim)

    def forward(self, x: Tensor) -> Tensor:
        h = self.encoder(x)
        return self.head(h) if self.head is not None else h

    @torch.no_grad()
    def embed(self, x: Tensor, which: str = "encoder") -> Tensor:
        """``which="encoder"``: ``f(x)``; ``which="head"``: ``g(f(x))``. Leaves train/eval mode as set."""
        if which == "encoder":
            return self.encoder(x)
        if which == "head":
            if self.head is None:
                raise ValueError("which='head' needs a projection head; this ContrastiveNet has none")
            return self.head(self.encoder(x))
        raise ValueError(f"which must be 'encoder' or 'head', got {which!r}")


def build_encoder(input_shape: tuple[int, ...], out_dim: int = 32, **kw: object) -> nn.Module:
    """``MLP(d, out_dim=out_dim, **kw)`` for ``(d,)``; ``SmallCNN(C, S, out_dim, **kw)`` for ``(C, S, S)``."""
    shape = tuple(input_shape)
    if not shape or not all(isinstance(s, int) and s >= 1 for s in shape):
        raise ValueError(f"input_shape must be positive integers, (d,) or (C, H, W); got {input_shape!r}")
    if len(shape) == 1:
        return MLP(shape[0], out_dim=out_dim, **kw)
    if len(shape) == 3:
        c, h, w = shape
        if h != w:
            raise ValueError(f"input_shape: SmallCNN needs square images, got {h}x{w}; resize them first")
        return SmallCNN(c, h, out_dim=out_dim, **kw)
    raise ValueError(f"input_shape must be (d,) for rows or (C, H, W) for images, got {input_shape!r}")
