"""Fast 2-D UMAP maps of feature vectors, and before/after pairs aligned for comparison.

``umap_2d`` runs UMAP (McInnes, Healy & Melville, 2018) with settings tuned for the app's sizes
(a few thousand points): the exact k-nearest-neighbour graph is computed here by brute force and
handed to umap-learn (``precomputed_knn``), the layout gets a spectral start and far fewer
optimisation epochs than the default 500. ``bench/bench_projection.py`` checks that on
2,000 x 64 inputs this takes at most 0.15x the time of ``umap.UMAP().fit_transform`` while its
trustworthiness (sklearn, 5 neighbours) stays within 0.02 of the default's.

umap-learn (and numba) are imported lazily inside the functions, so ``import adlab.projection``
is cheap; ``warm_up()`` imports umap and compiles its numba kernels in a daemon thread so that
the first map a user asks for does not wait for the compiler.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
from scipy.linalg import orthogonal_procrustes

__all__ = ["umap_2d", "umap_pair", "procrustes_align", "warm_up", "is_warm"]

N_NEIGHBORS = 15  # umap-learn's default neighbourhood size
N_EPOCHS = 60  # umap-learn's default is 500 below 10,000 points; see bench/results/projection.md
EXACT_KNN_MAX = 20_000  # above this, let umap-learn find neighbours with NN-descent
_MIN_POINTS = 4  # fewer points (or fewer than 2 features) -> linear projection, no UMAP

# Messages umap-learn emits for the precomputed-kNN path we use on purpose.
_EXPECTED_WARNINGS = (
    r"precomputed_knn\[2\]",  # no NNDescent index: fine, we never call .transform
    r"n_jobs value",  # random_state forces one thread; we ask for one anyway
    r"n_neighbors is larger than the dataset size",
)


def _as_features(features: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(features)
    if x.ndim == 1:
        x = x[:, None]  # (n,) -> (n, 1)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_points, n_features), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real numbers, got dtype {x.dtype}")
    x = x.astype(np.float32, copy=False)
    bad = ~np.isfinite(x)
    if bad.any():
        raise ValueError(
            f"{name} contains {int(np.isnan(x).sum())} NaN and {int(np.isinf(x).sum())} inf "
            "values; UMAP needs finite features"
        )
    return x


def _linear_2d(x: np.ndarray) -> np.ndarray:
    """PCA to (at most) 2 components by SVD, zero-padded to 2 columns: (n, d) -> (n, 2)."""
    out = np.zeros((x.shape[0], 2), dtype=np.float32)
    if x.shape[0] < 2:
        return out
    centred = x.astype(np.float64) - x.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    m = min(2, s.size)
    coords = u[:, :m] * s[:m]  # (n, m) principal-component scores
    # Fix each axis' sign (largest |score| positive) so the result does not depend on LAPACK.
    signs = np.sign(coords[np.abs(coords).argmax(axis=0), np.arange(m)])
    out[:, :m] = coords * np.where(signs == 0, 1.0, signs)
    return out


def _exact_knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force Euclidean k-NN of every row among all rows, itself included first.

    ``d²(i, j) = ‖x_i‖² + ‖x_j‖² − 2 x_i·x_j`` in float64, in row blocks of about 128 MB.
    Returns indices (n, k) int32 and distances (n, k) float32, ascending, column 0 = the point
    itself at distance 0, which is the layout umap-learn's own neighbour search produces.
    """
    n = x.shape[0]
    x64 = x.astype(np.float64)
    sq = np.einsum("ij,ij->i", x64, x64)  # (n,)
    indices = np.empty((n, k), dtype=np.int32)
    dists = np.empty((n, k), dtype=np.float32)
    block = max(1, (1 << 24) // n)
    for start in range(0, n, block):
        stop = min(start + block, n)
        rows = np.arange(start, stop)
        d2 = sq[start:stop, None] + sq[None, :] - 2.0 * (x64[start:stop] @ x64.T)  # (b, n)
        d2[rows - start, rows] = -1.0  # self first, even among exact duplicates
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]  # (b, k), unordered
        part_d2 = np.take_along_axis(d2, part, axis=1)
        order = np.argsort(part_d2, axis=1, kind="stable")
        indices[start:stop] = np.take_along_axis(part, order, axis=1)
        dists[start:stop] = np.sqrt(np.maximum(np.take_along_axis(part_d2, order, axis=1), 0.0))
    return indices, dists


def umap_2d(
    features: np.ndarray,
    *,
    seed: int = 0,
    n_neighbors: int = N_NEIGHBORS,
    n_epochs: int = N_EPOCHS,
) -> np.ndarray:
    """Embed ``features`` (n, d) in the plane with UMAP: returns (n, 2) float32.

    UMAP builds a fuzzy k-NN graph with memberships ``w_ij = exp(−(d_ij − ρ_i) / σ_i)``
    (symmetrised by fuzzy union ``w + wᵀ − w∘wᵀ``) and lays it out by SGD on the cross-entropy
    between ``w`` and ``v_ij = 1 / (1 + a‖y_i − y_j‖^{2b})``. Here the k-NN graph is exact (brute
    force, Euclidean), the start is spectral and only ``n_epochs`` SGD epochs run. Deterministic
    for a given ``seed`` (umap-learn then runs single-threaded).

    Small or degenerate inputs do not raise: fewer than 4 points or fewer than 2 features give
    the (zero-padded) PCA projection, and identical points all map to the origin.
    NaN or inf in ``features`` raises ``ValueError``.
    """
    x = _as_features(features, "features")
    if not isinstance(n_neighbors, (int, np.integer)) or n_neighbors < 2:
        raise ValueError(f"n_neighbors must be an integer >= 2, got {n_neighbors!r}")
    if not isinstance(n_epochs, (int, np.integer)) or n_epochs < 1:
        raise ValueError(f"n_epochs must be an integer >= 1, got {n_epochs!r}")
    n, d = x.shape
    if n < _MIN_POINTS or d < 2:
        return _linear_2d(x)
    if np.ptp(x, axis=0).max() == 0.0:  # all points identical
        return np.zeros((n, 2), dtype=np.float32)

    import umap  # lazy: importing umap-learn (numba, pynndescent) takes seconds

    k = int(min(n_neighbors, n - 1))
    precomputed = (None, None, None)
    if n <= EXACT_KNN_MAX:
        indices, dists = _exact_knn(x, k)
        precomputed = (indices, dists, None)
    reducer = umap.UMAP(
        n_neighbors=k,
        n_components=2,
        n_epochs=int(n_epochs),
        init="spectral",
        random_state=int(seed),
        n_jobs=1,
        precomputed_knn=precomputed,
    )
    import torch

    threads = torch.get_num_threads()
    try:
        with warnings.catch_warnings():
            for message in _EXPECTED_WARNINGS:
                warnings.filterwarnings("ignore", message=message)
            embedding = reducer.fit_transform(x)
    finally:  # umap-learn resets numba's thread count, which is OpenMP's and so torch's: a worker's next
        if torch.get_num_threads() != threads:  # job would train on every core, with other last bits
            torch.set_num_threads(threads)
    embedding = np.asarray(embedding, dtype=np.float32)
    if not np.isfinite(embedding).all():  # umap marks graph-isolated points with NaN
        return _linear_2d(x)
    _WARM.set()
    return embedding


def procrustes_align(reference: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """Rotate/reflect, scale and shift ``moving`` (n, 2) onto ``reference`` (n, 2).

    Orthogonal Procrustes with scale: with centred ``A = moving − mean``, ``B = reference − mean``,
    ``R = argmin_{RᵀR=I} ‖A R − B‖_F`` (``R = U Vᵀ`` from the SVD ``AᵀB = U Σ Vᵀ``) and
    ``s = tr Σ / ‖A‖_F²``; returns ``s·A·R + mean(reference)``. Reflections are allowed, since
    UMAP's mirror image is an equally good map. ``reference`` itself is left unchanged.
    """
    ref = np.asarray(reference, dtype=np.float64)
    mov = np.asarray(moving, dtype=np.float64)
    if ref.ndim != 2 or mov.shape != ref.shape:
        raise ValueError(
            f"reference and moving must be 2-D arrays of the same shape, got {ref.shape} and {mov.shape}"
        )
    ref_mean, mov_mean = ref.mean(axis=0), mov.mean(axis=0)
    a, b = mov - mov_mean, ref - ref_mean
    norm2 = float((a * a).sum())
    if norm2 == 0.0:  # all moving points coincide: nothing to rotate
        return np.broadcast_to(ref_mean, ref.shape).astype(np.float32)
    rotation, sigma_sum = orthogonal_procrustes(a, b)
    return (sigma_sum / norm2 * (a @ rotation) + ref_mean).astype(np.float32)


def umap_pair(before: np.ndarray, after: np.ndarray, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """UMAP maps of the same n points under two feature sets, ``after`` aligned to ``before``.

    ``before`` (n, d1) and ``after`` (n, d2) — e.g. raw inputs and learned embeddings — are
    mapped separately with ``umap_2d``; the ``after`` map is then moved onto the ``before`` map
    by ``procrustes_align`` so that the two panels share orientation and scale.
    Returns ``(map_before, map_after)``, each (n, 2) float32.
    """
    b = _as_features(before, "before")
    a = _as_features(after, "after")
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"before and after must hold the same points, got {b.shape[0]} and {a.shape[0]} rows"
        )
    map_before = umap_2d(b, seed=seed)
    map_after = umap_2d(a, seed=seed)
    return map_before, procrustes_align(map_before, map_after)


_WARM = threading.Event()
_WARM_LOCK = threading.Lock()
_WARM_THREAD: threading.Thread | None = None


def _warm_up_now() -> None:
    rng = np.random.default_rng(0)
    # Two small clusters: the same dtypes and code path (exact kNN, spectral start, SGD) as a
    # real call, so numba compiles everything a real call needs.
    x = rng.normal(size=(64, 8)).astype(np.float32)
    x[32:] += 5.0
    umap_2d(x, seed=0, n_epochs=11)
    _WARM.set()


def warm_up(background: bool = True) -> threading.Thread | None:
    """Import umap-learn and compile its numba kernels once, so the first real map is quick.

    ``background=True`` starts a daemon thread and returns it; only the first call starts one,
    later calls return that same thread (or ``None`` if the process was already warm without
    one). ``background=False`` does the work now — or waits for the thread already doing it —
    and returns ``None``. Nothing global changes beyond umap's import and numba's compiled code.
    """
    global _WARM_THREAD
    with _WARM_LOCK:
        thread = _WARM_THREAD
        if thread is None and background and not _WARM.is_set():
            thread = threading.Thread(target=_warm_up_now, name="adlab-umap-warm-up", daemon=True)
            thread.start()
            _WARM_THREAD = thread
    if background:
        return thread
    if thread is not None:
        thread.join()
    if not _WARM.is_set():
        _warm_up_now()
    return None


def is_warm() -> bool:
    """True once umap-learn is imported and a fit has completed in this process."""
    return _WARM.is_set()
