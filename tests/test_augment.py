"""Augmentations: shapes, value range, seeded determinism, index application."""

from __future__ import annotations

import pytest
import torch

from adlab.augment import (
    ColorJitter,
    Compose,
    FeatureMask,
    GaussianBlur,
    GaussianNoise,
    RandomApply,
    RandomFlip,
    RandomLinearMaps,
    RandomResizedCrop,
    Rotation,
    TabularNoise,
    default_augment,
)

IMAGE_TRANSFORMS = [
    RandomResizedCrop(),
    RandomFlip(),
    ColorJitter(saturation=0.4),
    GaussianNoise(),
    GaussianBlur(),
    Rotation(),
    RandomApply(ColorJitter(), p=0.5),
    default_augment("image"),
]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("shape", [(16, 1, 8, 8), (16, 1, 28, 28), (16, 3, 32, 32)])
@pytest.mark.parametrize("t", IMAGE_TRANSFORMS, ids=lambda t: type(t).__name__)
def test_image_transforms_keep_shape_range_and_are_seeded(t, shape) -> None:
    x = torch.rand(shape, generator=gen(99))
    a, b, c = t(x, gen(1)), t(x, gen(1)), t(x, gen(2))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_transforms_are_per_sample() -> None:
    x = torch.rand(1, 1, 8, 8).repeat(64, 1, 1, 1)  # 64 copies of one image
    out = default_augment("image")(x, gen(0))
    assert out.flatten(1).std(dim=0).mean() > 0.01  # the copies got different views


def test_crop_with_full_scale_and_square_ratio_is_identity() -> None:
    x = torch.rand(4, 3, 16, 16)
    out = RandomResizedCrop(scale=(1.0, 1.0), ratio=(1.0, 1.0))(x, gen(0))
    assert torch.allclose(out, x, atol=1e-5)


def test_flip_mirrors_about_the_fraction_asked() -> None:
    x = torch.rand(400, 1, 4, 4)
    out = RandomFlip(p=0.3)(x, gen(0))
    flipped = (out == x.flip(-1)).flatten(1).all(1) & (out != x).flatten(1).any(1)
    assert ((out == x).flatten(1).all(1) | flipped).all()
    assert 0.22 < flipped.float().mean() < 0.38


def test_blur_keeps_a_constant_image_and_smooths_noise() -> None:
    flat = torch.full((3, 1, 8, 8), 0.3)
    assert torch.allclose(GaussianBlur()(flat, gen(0)), flat, atol=1e-6)
    noise = torch.rand(8, 1, 28, 28, generator=gen(5))
    assert GaussianBlur(sigma=(1.0, 1.0))(noise, gen(0)).std() < 0.6 * noise.std()


def test_rotation_by_index_matches_rot90() -> None:
    x = torch.rand(6, 1, 8, 8)
    rot = Rotation()
    for k in range(4):
        assert torch.equal(rot.apply(x, k), torch.rot90(x, k, dims=(-2, -1)))
    index = torch.tensor([0, 1, 2, 3, 1, 2])
    out = rot.apply(x, index)
    for i, k in enumerate(index.tolist()):
        assert torch.equal(out[i], torch.rot90(x[i], k, dims=(-2, -1)))
    assert rot.all(x).shape == (4, 6, 1, 8, 8)
    assert torch.equal(Rotation(k=2)(x), torch.rot90(x, 2, dims=(-2, -1)))


def test_four_quarter_turns_are_the_identity() -> None:
    x = torch.rand(5, 3, 32, 32)
    y = x
    for _ in range(4):
        y = Rotation().apply(y, 1)
    assert torch.equal(y, x)
    random_k = torch.randint(0, 4, (5,))
    back = Rotation().apply(Rotation().apply(x, random_k), (4 - random_k) % 4)
    assert torch.equal(back, x)


def test_tabular_noise_and_mask() -> None:
    x = torch.ones(2000, 10)
    noisy = TabularNoise(std=0.1)(x, gen(0))
    assert abs((noisy - x).std().item() - 0.1) < 0.01
    masked = FeatureMask(p=0.2)(x, gen(0))
    assert abs((masked == 0).float().mean().item() - 0.2) < 0.02
    assert torch.equal(FeatureMask(p=0.2)(x, gen(3)), FeatureMask(p=0.2)(x, gen(3)))
    assert torch.equal(default_augment("tabular")(x, gen(1)), default_augment("tabular")(x, gen(1)))


def test_linear_maps_by_index_agree_with_all() -> None:
    maps = RandomLinearMaps(in_dim=6, n_maps=5, out_dim=3, seed=0)
    x = torch.randn(7, 6)
    every = maps.all(x)
    assert every.shape == (5, 7, 3)
    for m in range(5):
        assert torch.allclose(maps.apply(x, m), every[m], atol=1e-6)
        assert torch.allclose(every[m], x @ maps.weights[m], atol=1e-6)
    index = torch.tensor([0, 4, 2, 2, 1, 3, 0])
    assert torch.allclose(maps.apply(x, index), every[index, torch.arange(7)], atol=1e-6)
    assert torch.equal(RandomLinearMaps(6, 5, 3, seed=0).weights, maps.weights)
    assert not torch.equal(RandomLinearMaps(6, 5, 3, seed=1).weights, maps.weights)
    assert maps(x, gen(0)).shape == (7, 3)


def test_generator_on_cpu_works_for_data_elsewhere() -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x = torch.rand(4, 1, 8, 8, device=device)
    out = default_augment("image")(x, gen(0))
    assert out.device == x.device
    assert torch.allclose(out.cpu(), default_augment("image")(x.cpu(), gen(0)), atol=1e-5)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="kind"):
        default_augment("audio")
    with pytest.raises(ValueError, match="strength"):
        default_augment("image", strength=-1)
    with pytest.raises(ValueError, match="scale"):
        RandomResizedCrop(scale=(0.9, 0.2))
    with pytest.raises(ValueError, match="images"):
        RandomFlip()(torch.rand(4, 3))
    assert torch.equal(default_augment("image", strength=0.0)(torch.ones(2, 1, 8, 8)), torch.ones(2, 1, 8, 8))
    assert isinstance(default_augment("tabular"), Compose)
