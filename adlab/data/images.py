"""Image datasets: sklearn digits (bundled), MNIST IDX files, and torchvision's datasets from a folder."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from .types import DataError, Dataset

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
        raise DataError(f"IDX file not found: {path}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DataError(
                f"{path.name}: the gzip data is damaged or truncated ({err}); download it again"
            ) from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(
            f"{path.name}: not an IDX file (magic bytes {raw[:4].hex(' ') or 'missing'}; expected "
            "00 00 <type 08..0e> <ndim>); pick the MNIST '*-ubyte' files"
        )
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    ndim = raw[3]
    header_len = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header_len:
        raise DataError(f"{path.name}: IDX header is truncated or declares {ndim} dimensions")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header_len
    if found != expected:
        problem = "truncated" if found < expected else "longer than its header says"
        raise DataError(
            f"{path.name}: file is {problem}: header {shape} needs {expected} data bytes, found {found}; "
            "download it again"
        )
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
        raise DataError(f"MNIST folder not found: {folder}; name the folder that holds the IDX files")
    prefix = "t10k" if split == "test" else "train"
    image_path = _find_idx(folder, f"{prefix}-images-idx3-ubyte")
    label_path = _find_idx(folder, f"{prefix}-labels-idx1-ubyte")
    if image_path is None or label_path is None:
        missing = [
            f"{prefix}-{what}-ubyte[.gz]"
            for what, p in (("images-idx3", image_path), ("labels-idx1", label_path))
            if p is None
        ]
        raise DataError(
            f"{folder} lacks {' and '.join(missing)}; name the folder that holds the MNIST {split} files"
        )
    images = read_idx(image_path)
    labels = read_idx(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(
            f"{image_path.name}: expected uint8 images (n, H, W), got {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{label_path.name}: expected {len(images)} labels, got shape {labels.shape}")
    if labels.size and labels.max() >= 10:
        raise DataError(f"{label_path.name}: labels must be digits 0..9, found {int(labels.max())}")
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
        raise DataError("no data folder given: name the folder that holds the dataset, or tick download")
    root_path = Path(root).expanduser()
    tv_class = _TV_CLASSES[key]
    split = "train" if train else "test"
    if not download and not root_path.is_dir():
        raise DataError(
            f"data folder {root_path} does not exist: name the folder that holds {tv_class}, or tick download"
        )

    if key != "cifar10":
        prefix = "train" if train else "t10k"
        for folder in (root_path / tv_class / "raw", root_path / tv_class, root_path):
            stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
            if all(_find_idx(folder, stem) for stem in stems):
                ds = load_mnist_idx(folder, split=split)
                names = DIGIT_NAMES if key == "mnist" else FASHION_NAMES
                return Dataset(X=ds.X, y=ds.y, class_names=names, name=f"{key}-{split}", kind="image")
        if not download:
            raise DataError(
                f"no {tv_class} {split} files ({prefix}-images-idx3-ubyte[.gz], {prefix}-labels-idx1-ubyte[.gz]) "
                f"under {root_path} or {root_path / tv_class / 'raw'}: name the folder that holds them, or tick download"
            )
    try:
        from torchvision import datasets
    except ImportError as err:
        raise DataError(
            f"torchvision is not installed, so {tv_class} cannot be read or downloaded here"
        ) from err
    try:
        tv = getattr(datasets, tv_class)(str(root_path), train=bool(train), download=bool(download))
    except RuntimeError as err:
        hint = "tick download to fetch it" if not download else "check the folder and the network"
        where = "cifar-10-batches-py/" if key == "cifar10" else f"{tv_class}/raw/"
        raise DataError(
            f"{tv_class} not found or damaged under {root_path} ({err}); name the folder that holds "
            f"'{where}', or {hint}"
        ) from err
    data = np.asarray(tv.data)  # MNISTs: (n, 28, 28) uint8; CIFAR-10: (n, 32, 32, 3) uint8
    X = data.astype(np.float32) / 255.0
    X = X[:, None] if X.ndim == 3 else X.transpose(0, 3, 1, 2)  # (n, C, H, W)
    y = np.asarray(tv.targets, dtype=np.int64)
    names = {"mnist": DIGIT_NAMES, "fashion-mnist": FASHION_NAMES}
    class_names = names.get(key) or tuple(str(c) for c in tv.classes)
    return Dataset(
        X=np.ascontiguousarray(X), y=y, class_names=class_names, name=f"{key}-{split}", kind="image"
    )
