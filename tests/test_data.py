"""Datasets and the one-class split: shapes, ranges, real MNIST counts, leakage, reproducibility."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from adlab.data import (
    DataError,
    Dataset,
    load_digits,
    load_mnist_idx,
    load_torchvision,
    make_toy,
    one_class_split,
    read_idx,
)

MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def write_idx(path: Path, array: np.ndarray, code: int = 0x08, compress: bool = False) -> Path:
    dtype = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[code]
    raw = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw += np.ascontiguousarray(array, dtype=dtype).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


# ---------------------------------------------------------------- toy sets
@pytest.mark.parametrize("name, k", [("blobs", 3), ("moons", 2), ("rings", 2)])
def test_toy_shapes_classes_and_scale(name: str, k: int) -> None:
    ds = make_toy(name, n=400, anomaly_fraction=0.1, seed=3)
    assert ds.kind == "tabular" and ds.X.shape == (400, 2) and ds.X.dtype == np.float32
    assert ds.y.dtype == np.int64
    assert ds.class_names[-1] == "anomaly" and len(ds.class_names) == k + 1
    assert np.sum(ds.y == k) == 40
    normal = ds.X[ds.y < k]
    assert np.allclose(normal.mean(axis=0), 0.0, atol=1e-4)
    assert 0.5 < normal.std() < 1.5


def test_toy_anomalies_are_away_from_normals() -> None:
    ds = make_toy("rings", n=600, anomaly_fraction=0.1, seed=0)
    normal, anomaly = ds.X[ds.y < 2], ds.X[ds.y == 2]
    gaps = np.linalg.norm(anomaly[:, None] - normal[None], axis=-1).min(axis=1)
    assert gaps.min() >= 0.35 - 1e-6


def test_toy_is_deterministic_by_seed() -> None:
    a, b, c = make_toy("moons", seed=1), make_toy("moons", seed=1), make_toy("moons", seed=2)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)


def test_toy_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="name"):
        make_toy("spirals")
    with pytest.raises(ValueError, match="anomaly_fraction"):
        make_toy("blobs", anomaly_fraction=0.7)


def test_dataset_validates_its_arrays() -> None:
    with pytest.raises(DataError, match="float32"):
        Dataset(X=np.zeros((3, 2)), y=np.zeros(3, np.int64), class_names=("a",), name="t", kind="tabular")
    with pytest.raises(DataError, match="labels"):
        Dataset(
            X=np.zeros((3, 2), np.float32),
            y=np.array([0, 1, 2]),
            class_names=("a", "b"),
            name="t",
            kind="tabular",
        )


# ---------------------------------------------------------------- images
def test_load_digits() -> None:
    ds = load_digits()
    assert ds.X.shape == (1797, 1, 8, 8) and ds.X.dtype == np.float32 and ds.kind == "image"
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert ds.class_names == tuple("0123456789")


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path: Path, compress: bool) -> None:
    data = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(read_idx(write_idx(tmp_path / "a", data, compress=compress)), data)
    floats = np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2)
    out = read_idx(write_idx(tmp_path / "f", floats, code=0x0D))
    assert out.dtype == np.float32 and np.array_equal(out, floats)


def test_read_idx_rejects_bad_files(tmp_path: Path) -> None:
    good = write_idx(tmp_path / "good", np.zeros((5, 4, 4), np.uint8))
    (tmp_path / "short").write_bytes(good.read_bytes()[:-7])
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "short")
    (tmp_path / "magic").write_bytes(b"\x08\x03" + good.read_bytes()[2:])
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(tmp_path / "magic")
    (tmp_path / "bad.gz").write_bytes(gzip.compress(good.read_bytes())[:30])
    with pytest.raises(DataError, match="gzip"):
        read_idx(tmp_path / "bad.gz")
    with pytest.raises(DataError, match="not found"):
        read_idx(tmp_path / "nothing-here")


def test_load_mnist_idx_from_small_files(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (6, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, compress=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([0, 1, 2, 3, 4, 9], np.uint8))
    ds = load_mnist_idx(tmp_path, split="train")
    assert ds.X.shape == (6, 1, 28, 28) and np.allclose(ds.X[:, 0] * 255, images)
    assert list(ds.y) == [0, 1, 2, 3, 4, 9]
    with pytest.raises(DataError, match="t10k-images"):
        load_mnist_idx(tmp_path, split="test")
    with pytest.raises(DataError, match="not found"):
        load_mnist_idx(tmp_path / "missing")


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason=f"real MNIST files not present at {MNIST_DIR}")
def test_load_real_mnist_test_split() -> None:
    ds = load_mnist_idx(MNIST_DIR, split="test")
    assert ds.X.shape == (10000, 1, 28, 28) and ds.X.dtype == np.float32
    assert 0.0 == ds.X.min() and ds.X.max() == 1.0
    assert np.bincount(ds.y, minlength=10).tolist() == MNIST_TEST_COUNTS


def test_load_torchvision_never_downloads_and_explains(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="download"):
        load_torchvision("mnist", str(tmp_path), train=False)
    with pytest.raises(DataError, match="download"):
        load_torchvision("fashion-mnist", str(tmp_path), train=True)
    with pytest.raises(DataError, match="does not exist.*download"):
        load_torchvision("cifar10", str(tmp_path / "absent"), train=True)
    with pytest.raises(DataError):  # torchvision's own "not found", or "torchvision is not installed"
        load_torchvision("cifar10", str(tmp_path), train=False)
    assert list(tmp_path.iterdir()) == []  # nothing was fetched or created
    with pytest.raises(ValueError, match="name"):
        load_torchvision("imagenet", str(tmp_path), train=False)


def test_load_torchvision_reads_the_split_present_in_a_local_folder(tmp_path: Path) -> None:
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx(raw / "t10k-images-idx3-ubyte", np.full((4, 28, 28), 255, np.uint8))
    write_idx(raw / "t10k-labels-idx1-ubyte", np.array([7, 2, 1, 0], np.uint8))
    ds = load_torchvision("fashion-mnist", str(tmp_path), train=False)  # no train files needed
    assert ds.X.shape == (4, 1, 28, 28) and ds.X.max() == 1.0 and list(ds.y) == [7, 2, 1, 0]
    assert ds.class_names[9] == "Ankle boot" and ds.name == "fashion-mnist-test"


# ---------------------------------------------------------------- one-class split
def _toy_split(**kw):
    ds = make_toy("blobs", n=1000, anomaly_fraction=0.2, seed=0)
    return ds, one_class_split(ds, normal_classes=[0, 1, 2], **kw)


def test_split_is_disjoint_and_train_has_only_normals() -> None:
    ds, s = _toy_split(seed=4)
    assert set(s.train_index).isdisjoint(s.test_index)
    assert np.isin(s.y_train, [0, 1, 2]).all() and not s.contaminated_train.any()
    assert np.array_equal(s.X_train, ds.X[s.train_index]) and np.array_equal(s.y_test, ds.y[s.test_index])
    assert np.array_equal(s.anomalous_test, s.y_test == 3)
    assert s.anomaly_classes == (3,) and s.normal_classes == (0, 1, 2)
    assert 0 < s.anomalous_test.sum() < len(s.y_test)


def test_split_contamination_gives_the_requested_fraction() -> None:
    _, s = _toy_split(contamination=0.1, seed=1)
    n_anom = int(s.contaminated_train.sum())
    assert n_anom == round(0.1 * len(s.y_train)) and n_anom > 0
    assert np.array_equal(s.contaminated_train, s.y_train == 3)
    assert set(s.train_index).isdisjoint(s.test_index)
    _, capped = _toy_split(contamination=0.2, max_train=100, seed=1)
    assert len(capped.y_train) == 100 and capped.contaminated_train.sum() == 20


def test_split_max_test_keeps_the_anomaly_fraction() -> None:
    _, full = _toy_split(seed=2)
    _, small = _toy_split(seed=2, max_test=100)
    assert len(small.y_test) == 100
    assert abs(small.anomalous_test.mean() - full.anomalous_test.mean()) <= 0.01 + 1e-9


def test_split_is_reproducible() -> None:
    _, a = _toy_split(seed=7, contamination=0.05, max_train=200)
    _, b = _toy_split(seed=7, contamination=0.05, max_train=200)
    _, c = _toy_split(seed=8, contamination=0.05, max_train=200)
    assert np.array_equal(a.train_index, b.train_index) and np.array_equal(a.test_index, b.test_index)
    assert not np.array_equal(a.train_index, c.train_index)


def test_split_with_named_classes_on_digits() -> None:
    ds = load_digits()
    s = one_class_split(ds, "3", anomaly_classes=[5, "8"], seed=0)
    assert set(np.unique(s.y_train)) == {3}
    assert set(np.unique(s.y_test)) == {3, 5, 8}


def test_split_reports_unusable_choices() -> None:
    ds = make_toy("blobs", n=400, anomaly_fraction=0.05)
    with pytest.raises(DataError, match="valid classes"):
        one_class_split(ds, 7)
    with pytest.raises(DataError, match="both normal and anomalous"):
        one_class_split(ds, [0, 1], anomaly_classes=[1, 3])
    with pytest.raises(DataError, match="no anomaly class"):
        one_class_split(ds, [0, 1, 2, 3])
    with pytest.raises(DataError, match="contamination"):
        one_class_split(ds, [0, 1, 2], contamination=0.4)  # only ~10 anomalies in the train half
    with pytest.raises(ValueError, match="contamination"):
        one_class_split(ds, 0, contamination=0.5)
    empty = make_toy("blobs", n=400, anomaly_fraction=0.0)
    with pytest.raises(DataError, match="no anomaly-class rows"):
        one_class_split(empty, [0, 1, 2])


def test_likely_normal_class_prefers_a_normal_name_then_the_largest_class():
    import numpy as np

    from adlab.data import Dataset

    def ds(names, y):
        return Dataset(X=np.zeros((len(y), 2), np.float32), y=np.asarray(y, np.int64), class_names=names,
                       name="t", kind="tabular")

    assert ds(("attack", "Normal"), [0, 0, 0, 1]).likely_normal_class() == "Normal"
    assert ds(("0", "1"), [1, 1, 1, 0]).likely_normal_class() == "0"
    assert ds(("cat", "dog", "eel"), [0, 1, 1, 2]).likely_normal_class() == "dog"
