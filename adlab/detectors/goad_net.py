"""GOAD's network: a feature extractor shared by all M transformations and a linear head.

See :mod:`adlab.detectors.goad` for the official networks this follows (``netC1`` / ``netC5`` for
rows, a small CNN in place of the WRN for images).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from adlab.augment import RandomLinearMaps
from adlab.detectors.goad_transforms import GeometricTransforms
from adlab.encoders import SmallCNN

__all__ = ["GOADNet"]


class GOADNet(nn.Module):
    """``x -> (features (N, M, d), logits (N, M, M))`` for all M transformations of each input.

    ``features[n, m]`` is ``f(T(x_n, m))``, the ``trunk`` output (it ends in LeakyReLU(0.2));
    ``logits[n, m, :]`` = ``head(features[n, m])``, class scores for that copy (its class is ``m``).
    Tabular mode holds the linear maps ``maps`` ``(M, d_in, d_out)`` and the z-score ``shift`` / ``scale`` ``(d_in,)`` as buffers, so a saved
    state dict restores the exact transformations.
    """

    def __init__(
        self,
        input_shape: tuple[int, ...],
        *,
        transforms: str,
        n_transforms: int,
        transform_dim: int,
        feature_dim: int,
        depth: int,
        shift: int,
        seed: int,
    ) -> None:
        super().__init__()
        self.tabular = len(input_shape) == 1
        if self.tabular:
            d_in = input_shape[0]
            maps = RandomLinearMaps(d_in, n_transforms, transform_dim, seed=seed)
            self.register_buffer("maps", maps.weights.clone())  # (M, d_in, d_out)
            self.register_buffer("shift", torch.zeros(d_in))
            self.register_buffer("scale", torch.ones(d_in))
            # a 1x1 Conv1d over the M positions == one Linear on the channel axis of (N, M, C)
            layers: list[nn.Module] = [nn.Linear(transform_dim, feature_dim, bias=False)]
            for _ in range(depth - 1):
                layers += [nn.LeakyReLU(0.2), nn.Linear(feature_dim, feature_dim, bias=False)]
            self.trunk = nn.Sequential(*layers, nn.LeakyReLU(0.2))
            self.head = nn.Linear(feature_dim, n_transforms)
            self.transform = None
        else:
            c, s, _ = input_shape
            self.transform = GeometricTransforms(
                flips=transforms in ("geometric8", "geometric72"),
                shift=shift if transforms == "geometric72" else 0,
            )
            n_transforms = self.transform.n_transforms
            self.trunk = nn.Sequential(
                SmallCNN(c, s, out_dim=feature_dim, bias=False, batchnorm=True), nn.LeakyReLU(0.2)
            )
            self.head = nn.Linear(feature_dim, n_transforms)
        self.n_transforms = n_transforms
        self.feature_dim = feature_dim

    def transformed(self, x: Tensor) -> Tensor:
        """All M transformations: tabular ``(N, d_in) -> (N, M, d_out)`` (z-scored first);
        images ``(N, C, S, S) -> (N, M, C, S, S)``."""
        if self.tabular:
            z = (x - self.shift) / self.scale  # (N, d_in)
            return torch.einsum("nd,mdo->nmo", z, self.maps)  # (N, M, d_out)
        return self.transform.all(x).transpose(0, 1)  # (N, M, C, S, S)

    def features(self, x: Tensor) -> Tensor:
        """``f(T(x, m))`` for all m, without the head: ``(N, M, d)``."""
        if self.tabular:
            return self.trunk(self.transformed(x))  # (N, M, d)
        n, m = x.shape[0], self.n_transforms
        return self.trunk(self.transformed(x).reshape(n * m, *x.shape[1:])).view(n, m, -1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.tabular:
            tc = self.trunk(self.transformed(x))  # (N, M, d)
            return tc, self.head(tc)  # (N, M, d), (N, M, M)
        n, m = x.shape[0], self.n_transforms
        xt = self.transformed(x).reshape(n * m, *x.shape[1:])  # (N*M, C, S, S), row n*M + m = T(x_n, m)
        tc = self.trunk(xt)  # (N*M, d)
        ce = self.head(tc)  # (N*M, M)
        return tc.view(n, m, -1), ce.view(n, m, m)
