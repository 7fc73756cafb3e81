"""Encoders: output shapes, the Deep SVDD switches (no bias, no affine BN), embed()."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from adlab.encoders import MLP, ContrastiveNet, ProjectionHead, SmallCNN, build_encoder


@pytest.mark.parametrize("shape", [(2,), (6,), (274,), (1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_build_encoder_output_shape(shape) -> None:
    enc = build_encoder(shape, out_dim=16)
    assert isinstance(enc, MLP if len(shape) == 1 else SmallCNN)
    out = enc(torch.rand(5, *shape))
    assert out.shape == (5, 16) and enc.out_dim == 16
    out.sum().backward()
    assert all(p.grad is not None for p in enc.parameters())


def test_small_cnn_stays_small() -> None:
    for c, s in [(1, 8), (1, 28), (3, 32)]:
        n_params = sum(p.numel() for p in SmallCNN(c, s).parameters())
        assert n_params < 150_000


def test_bias_false_leaves_no_bias_and_affine_false_no_bn_parameters() -> None:
    for enc in (
        build_encoder((10,), bias=False, affine=False),
        build_encoder((1, 28, 28), bias=False, affine=False),
    ):
        names = [name for name, _ in enc.named_parameters()]
        assert not any(name.endswith("bias") for name in names)
        norms = [m for m in enc.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
        assert norms and all(m.weight is None and m.bias is None for m in norms)
        # every remaining parameter is a linear/conv weight
        assert all(
            isinstance(m, (nn.Linear, nn.Conv2d)) for m in enc.modules() if list(m.parameters(recurse=False))
        )
    with_bias = build_encoder((10,))
    assert any(name.endswith("bias") for name, _ in with_bias.named_parameters())


def test_mlp_options() -> None:
    mlp = MLP(4, hidden=(8,), out_dim=3, batchnorm=False, activation="leaky_relu")
    assert not any(isinstance(m, nn.BatchNorm1d) for m in mlp.modules())
    assert isinstance(mlp.net[1], nn.LeakyReLU)
    with pytest.raises(ValueError, match="activation"):
        MLP(4, activation="swish")
    with pytest.raises(ValueError, match="in_dim"):
        MLP(0)


def test_contrastive_net_features_forward_and_embed() -> None:
    enc = build_encoder((1, 8, 8), out_dim=24)
    net = ContrastiveNet(enc, ProjectionHead(24, hidden=32, out_dim=8)).eval()
    x = torch.rand(6, 1, 8, 8)
    assert net(x).shape == (6, 8)
    assert net.features(x).shape == (6, 24)
    h, z = net.embed(x, which="encoder"), net.embed(x, which="head")
    assert torch.allclose(h, net.features(x)) and torch.allclose(z, net(x))
    assert not h.requires_grad and not z.requires_grad
    headless = ContrastiveNet(enc).eval()
    assert torch.allclose(headless(x), h)
    with pytest.raises(ValueError, match="head"):
        headless.embed(x, which="head")
    with pytest.raises(ValueError, match="which"):
        net.embed(x, which="middle")


def test_build_encoder_rejects_unsupported_shapes() -> None:
    for shape in [(3, 28), (1, 28, 20), (2, 3, 8, 8), ()]:
        with pytest.raises(ValueError, match="input_shape"):
            build_encoder(shape)
    with pytest.raises(ValueError, match="image_size"):
        SmallCNN(1, 4)
    with pytest.raises(ValueError, match="SmallCNN expects"):
        SmallCNN(1, 28)(torch.rand(2, 1, 8, 8))
