"""umap_2d / umap_pair / warm_up. umap-learn compiles once per module (module-scoped fixture)."""

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_swiss_roll
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier

from adlab import projection
from adlab.projection import is_warm, procrustes_align, umap_2d, umap_pair, warm_up

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compiled():
    """Import umap-learn and compile its numba kernels once (seconds on a cold cache)."""
    warm_up(background=False)
    assert is_warm()


@pytest.fixture(scope="module")
def blobs():
    """Three well-separated Gaussian clusters in 16-D, 100 points each: (300, 16) float32."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=10.0, size=(3, 16))
    x = np.concatenate([c + rng.normal(size=(100, 16)) for c in centres])
    return x.astype(np.float32)


def test_import_does_not_load_umap():
    code = "import sys, adlab.projection; print('umap' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_shape_dtype_and_determinism(compiled, blobs):
    a = umap_2d(blobs, seed=3)
    b = umap_2d(blobs, seed=3)
    assert a.shape == (300, 2) and a.dtype == np.float32
    assert np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)


def test_blobs_stay_apart(compiled, blobs):
    """Each point's 5 nearest neighbours in 2-D come from its own cluster.

    (Trustworthiness is not the test here: 16-D Gaussian noise inside a blob cannot be laid out in
    2-D, so any projection scores about 0.88-0.91 on it, PCA and a random one included, and 0.9
    moved across CPUs.)
    """
    labels = np.repeat(np.arange(3), 100)
    emb = umap_2d(blobs)
    assert KNeighborsClassifier(n_neighbors=5).fit(emb, labels).score(emb, labels) == 1.0


def test_unrolls_a_swiss_roll_better_than_pca(compiled):
    """A 2-D manifold curled in 3-D, rotated into 16-D: UMAP keeps neighbourhoods, PCA folds them.

    Measured: trustworthiness (10 neighbours) 0.993-0.995 for seeds 0-3, PCA 0.901.
    """
    X, _ = make_swiss_roll(500, noise=0.05, random_state=0)  # (500, 3)
    rotation, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(16, 16)))
    X = (np.hstack([X, np.zeros((500, 13))]) @ rotation).astype(np.float32)  # (500, 16)
    ours = trustworthiness(X, umap_2d(X), n_neighbors=10)
    pca = trustworthiness(X, PCA(n_components=2).fit_transform(X), n_neighbors=10)
    assert ours > 0.97 and ours > pca + 0.05


@pytest.mark.parametrize("shape", [(0, 5), (1, 5), (2, 5), (3, 5), (10, 1), (5, 3), (12, 2)])
def test_tiny_inputs_do_not_crash(compiled, shape):
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    out = umap_2d(x)
    assert out.shape == (shape[0], 2) and out.dtype == np.float32
    assert np.isfinite(out).all()


def test_constant_features(compiled, blobs):
    assert not umap_2d(np.ones((50, 4))).any()  # identical points -> all at the origin
    with_constant = np.hstack([blobs, np.full((300, 3), 7.0, dtype=np.float32)])
    assert np.isfinite(umap_2d(with_constant)).all()


def test_non_finite_features_rejected():
    x = np.ones((20, 3))
    x[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        umap_2d(x)


def test_procrustes_recovers_rotation_reflection_scale_shift():
    rng = np.random.default_rng(2)
    reference = rng.normal(size=(50, 2))
    theta = 0.7
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moving = 3.0 * (reference * [1.0, -1.0]) @ rotation + [5.0, -2.0]  # mirrored, turned, scaled, moved
    np.testing.assert_allclose(procrustes_align(reference, moving), reference, atol=1e-5)


def test_umap_pair_moves_after_map_onto_before_map(monkeypatch):
    base = np.random.default_rng(4).normal(size=(40, 2)).astype(np.float32)
    turned = 2.5 * (base * [-1.0, 1.0]) @ np.array([[0.0, 1.0], [-1.0, 0.0]]) + 7.0
    maps = iter([base, turned.astype(np.float32)])
    monkeypatch.setattr(projection, "umap_2d", lambda features, *, seed=0: next(maps))
    map_before, map_after = umap_pair(np.zeros((40, 3)), np.ones((40, 5)))
    np.testing.assert_array_equal(map_before, base)
    np.testing.assert_allclose(map_after, base, atol=1e-5)


def test_umap_pair_on_rotated_features(compiled, blobs):
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(16, 16)))
    after = blobs @ q.astype(np.float32)  # same geometry in other coordinates
    map_before, map_after = umap_pair(blobs, after, seed=0)
    assert map_before.shape == map_after.shape == (300, 2) and map_after.dtype == np.float32
    np.testing.assert_array_equal(map_before, umap_2d(blobs, seed=0))
    # UMAP's SGD amplifies float rounding, so the raw maps differ; Procrustes can only help.
    unaligned = umap_2d(after, seed=0)
    assert ((map_after - map_before) ** 2).sum() <= ((unaligned - map_before) ** 2).sum() + 1e-3
    with pytest.raises(ValueError, match="same points"):
        umap_pair(blobs, blobs[:10])


def test_warm_up_starts_once(monkeypatch):
    calls = []
    release = threading.Event()

    def fake_warm_up():
        calls.append(1)
        release.wait(5)
        projection._WARM.set()

    monkeypatch.setattr(projection, "_WARM", threading.Event())
    monkeypatch.setattr(projection, "_WARM_THREAD", None)
    monkeypatch.setattr(projection, "_warm_up_now", fake_warm_up)
    first = warm_up()
    assert first is not None and first.daemon
    assert warm_up() is first
    assert not is_warm()
    release.set()
    assert warm_up(background=False) is None  # waits for the running thread, starts nothing
    assert is_warm() and len(calls) == 1


def test_umap_leaves_torchs_thread_count_as_it_found_it():
    """umap-learn resets numba's (OpenMP's) thread count, which torch shares: a job worker set to one
    thread would train its next job on every core, slower and with other last bits."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        projection.umap_2d(np.random.default_rng(0).normal(size=(120, 8)).astype(np.float32), seed=0)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
