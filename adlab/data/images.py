"""Image datasets: sklearn digits (bundled), MNIST IDX files, and torchvision's datasets from a folder."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from .types import DataError, Dataset, Text

__all__ = [
    "TORCHVISION_NAMES",
    "load_digits",
    "load_mnist_idx",
    "load_torchvision",
    "read_idx",
    "shared_data_dir",
]

DIGIT_NAMES = tuple(str(i) for i in range(10))

# IDX type code -> big-endian numpy dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def shared_data_dir() -> Path:
    """The benchmark data folder beside the checkout: ``<repo root>/../shared/data``."""
    repo_root = Path(__file__).resolve().parents[2]
    return repo_root.parent / "shared" / "data"


def load_digits() -> Dataset:
    """scikit-learn's 8x8 handwritten digits: ``X`` ``(1797, 1, 8, 8)`` in ``[0, 1]`` (pixels / 16)."""
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    X = (bunch.images.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    y = bunch.target.astype(np.int64)
    return Dataset(X=X, y=y, class_names=DIGIT_NAMES, name="digits", kind="image")


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a numpy array.

    Layout: 2 zero bytes, a type byte (0x08 uint8 ... 0x0E float64), a byte ``ndim``, then ``ndim``
    big-endian uint32 sizes, then ``prod(sizes)`` values, big-endian. Compression is detected from
    the content (gzip magic ``1f 8b``), not the file name. Returns an array of shape ``sizes`` in
    native byte order. A missing, truncated or malformed file raises ``DataError``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError.say("upload.folder.idx_missing", path=str(path))
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DataError.say("upload.folder.gzip_damaged", name=path.name, err=str(err)) from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError.say("upload.folder.not_idx", name=path.name,
                            magic=raw[:4].hex(" ") or Text("upload.folder.magic_missing"))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    ndim = raw[3]
    header_len = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header_len:
        raise DataError.say("upload.folder.idx_header", name=path.name, ndim=ndim)
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header_len
    if found != expected:
        raise DataError.say("upload.folder.idx_truncated" if found < expected else "upload.folder.idx_longer",
                            name=path.name, shape=str(shape), expected=expected, found=found)
    data = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find_idx(folder: Path, stem: str) -> Path | None:
    for directory in (folder, folder / "raw"):
        for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
            if (directory / name).is_file():
                return directory / name
    return None


def load_mnist_idx(folder: str | Path, split: str = "test") -> Dataset:
    """Load MNIST (or any MNIST-layout set) from its four IDX files in ``folder``.

    Looks for ``t10k-images-idx3-ubyte[.gz]`` / ``t10k-labels-idx1-ubyte[.gz]`` (``split="test"``) or
    ``train-*`` (``split="train"``) in ``folder`` or ``folder/raw``. Returns ``X`` float32
    ``(n, 1, 28, 28)`` = pixels / 255 and ``y`` int64 ``(n,)``, classes ``"0".."9"``.
    """
    if split not in ("test", "train"):
        raise ValueError(f"split must be 'test' or 'train', got {split!r}")
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError.say("upload.folder.mnist_missing", folder=str(folder))
    prefix = "t10k" if split == "test" else "train"
    image_path = _find_idx(folder, f"{prefix}-images-idx3-ubyte")
    label_path = _find_idx(folder, f"{prefix}-labels-idx1-ubyte")
    if image_path is None or label_path is None:
        missing = [
            f"{prefix}-{what}-ubyte[.gz]"
            for what, p in (("images-idx3", image_path), ("labels-idx1", label_path))
            if p is None
        ]
        files = missing[0] if len(missing) == 1 else Text("upload.folder.both", first=missing[0], second=missing[1])
        raise DataError.say("upload.folder.mnist_lacks", folder=str(folder), files=files,
                            split=Text(f"upload.folder.split_{split}"))
    images = read_idx(image_path)
    labels = read_idx(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError.say("upload.folder.mnist_images", name=image_path.name, dtype=str(images.dtype),
                            shape=str(images.shape))
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError.say("upload.folder.mnist_labels", name=label_path.name, n=len(images), shape=str(labels.shape))
    if labels.size and labels.max() >= 10:
        raise DataError.say("upload.folder.mnist_digits", name=label_path.name, found=int(labels.max()))
    X = (images.astype(np.float32) / 255.0)[:, None]
    return Dataset(
        X=X, y=labels.astype(np.int64), class_names=DIGIT_NAMES, name=f"mnist-{split}", kind="image"
    )


TORCHVISION_NAMES = ("mnist", "fashion-mnist", "cifar10")
_TV_CLASSES = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "cifar10": "CIFAR10"}
_ALIASES = {
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "cifar-10": "cifar10",
    "cifar_10": "cifar10",
}
FASHION_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def load_torchvision(name: str, root: str, train: bool, download: bool = False) -> Dataset:
    """Load MNIST, Fashion-MNIST or CIFAR-10 in ``torchvision.datasets``' folder layout from ``root``.

    Nothing is downloaded unless ``download=True`` (then ``torchvision.datasets`` fetches into
    ``root``). The MNISTs are read straight from their IDX files in ``root/MNIST/raw`` (or
    ``root/FashionMNIST/raw``, or ``root`` itself), so the split asked for is enough (torchvision
    itself insists on all four files); CIFAR-10 goes through ``torchvision.datasets.CIFAR10``
    (``root/cifar-10-batches-py``). Returns images ``(n, C, H, W)`` float32 in ``[0, 1]`` (C = 1 for
    the MNISTs, 3 for CIFAR-10). Missing or damaged files raise ``DataError`` naming the folder.
    """
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in TORCHVISION_NAMES:
        raise ValueError(f"name must be one of {TORCHVISION_NAMES}, got {name!r}")
    if not root or not str(root).strip():
        raise DataError.say("upload.folder.none")
    root_path = Path(root).expanduser()
    tv_class = _TV_CLASSES[key]
    split = "train" if train else "test"
    if not download and not root_path.is_dir():
        raise DataError.say("upload.folder.root_missing", root=str(root_path), dataset=tv_class)

    if key != "cifar10":
        prefix = "train" if train else "t10k"
        for folder in (root_path / tv_class / "raw", root_path / tv_class, root_path):
            stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
            if all(_find_idx(folder, stem) for stem in stems):
                ds = load_mnist_idx(folder, split=split)
                names = DIGIT_NAMES if key == "mnist" else FASHION_NAMES
                return Dataset(X=ds.X, y=ds.y, class_names=names, name=f"{key}-{split}", kind="image")
        if not download:
            raise DataError.say("upload.folder.no_files", dataset=tv_class, split=Text(f"upload.folder.split_{split}"),
                                prefix=prefix,
                                root=str(root_path), raw=str(root_path / tv_class / "raw"))
    try:
        from torchvision import datasets
    except ImportError as err:
        raise DataError.say("upload.folder.no_torchvision", dataset=tv_class) from err
    try:
        tv = getattr(datasets, tv_class)(str(root_path), train=bool(train), download=bool(download))
    except RuntimeError as err:
        where = "cifar-10-batches-py/" if key == "cifar10" else f"{tv_class}/raw/"
        raise DataError.say("upload.folder.tv_missing_network" if download else "upload.folder.tv_missing",
                            dataset=tv_class, root=str(root_path), err=str(err), where=where) from err
    data = np.asarray(tv.data)  # MNISTs: (n, 28, 28) uint8; CIFAR-10: (n, 32, 32, 3) uint8
    X = data.astype(np.float32) / 255.0
    X = X[:, None] if X.ndim == 3 else X.transpose(0, 3, 1, 2)  # (n, C, H, W)
    y = np.asarray(tv.targets, dtype=np.int64)
    names = {"mnist": DIGIT_NAMES, "fashion-mnist": FASHION_NAMES}
    class_names = names.get(key) or tuple(str(c) for c in tv.classes)
    return Dataset(
        X=np.ascontiguousarray(X), y=y, class_names=class_names, name=f"{key}-{split}", kind="image"
    )
