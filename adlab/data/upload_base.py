"""What every upload reader shares: the limits, the ``Upload`` result, label encoding and safe ZIP access.

The readers (``upload_tables``, ``upload_arrays``, ``upload_images``) build an ``Upload``; the public
entry point ``adlab.data.upload.load_upload`` picks the reader. Nothing here unpickles or executes.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from dataclasses import dataclass, fields

import numpy as np

from .types import DataError, Dataset

__all__ = [
    "LIMITS",
    "PICKLE_REFUSAL",
    "Upload",
    "UploadLimits",
    "check_entry_count",
    "check_expansion",
    "encode_labels",
    "megabytes",
    "plural",
    "natural_key",
    "open_zip",
    "read_member",
]

PICKLE_REFUSAL = (
    "looks like a pickle / model file, which adlab never opens; export the numbers as CSV or NPZ "
    "(np.savez('data.npz', X=X, y=y))"
)
_MB = 2**20


@dataclass(frozen=True)
class UploadLimits:
    """Caps on an uploaded file; a file over any of them is refused with a message naming the cap.

    Attributes:
        max_bytes: file size, 50 MiB, the same as ``server.maxUploadSize = 50`` in ``.streamlit/config.toml``.
        max_rows: table rows (CSV, TSV, NPZ, NPY, MAT).
        max_features: table columns after one-hot encoding.
        max_images: images in a ZIP or an image array.
        max_image_side: pixels per side of an image that is not resized (``image_size=None``).
        max_zip_entries: entries listed in a ZIP (NPZ included), counted before anything is read.
        max_zip_uncompressed: sum of the declared sizes of the ZIP members that are read, before any
            is expanded; also caps the arrays of a MAT file.
        min_rows: the fewest rows (or images) worth loading.
        max_zip_ratio: declared/compressed size above which a member over 1 MiB is refused as a zip bomb.
        max_image_pixels: width × height of one image, checked from its header before decoding.
        max_values: numbers in the loaded ``X`` (2**28 float32 = 1 GiB).
    """

    max_bytes: int = 50 * _MB
    max_rows: int = 200_000
    max_features: int = 4_096
    max_images: int = 20_000
    max_image_side: int = 512
    max_zip_entries: int = 25_000
    max_zip_uncompressed: int = 512 * _MB
    min_rows: int = 10
    max_zip_ratio: float = 200.0
    max_image_pixels: int = 4096 * 4096
    max_values: int = 2**28

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"UploadLimits.{f.name} must be a positive number, got {value!r}")


LIMITS = UploadLimits()

_CAP_HINT = "adlab.data.upload.LIMITS"


@dataclass(frozen=True, eq=False)
class Upload:
    """A user's file, read and checked, ready to preview and to turn into a ``Dataset``.

    Attributes:
        X: float32, tabular ``(n, d)`` or images ``(n, C, H, W)`` scaled to ``[0, 1]``.
        y: int64 ``(n,)`` index into ``class_names``, or ``None`` when the file has no labels.
        class_names: label values as strings (numbers in numeric order); ``()`` when ``y`` is None.
        kind: ``"tabular"`` or ``"image"``.
        name: the file name.
        format: ``"csv"``, ``"tsv"``, ``"npz"``, ``"npy"``, ``"mat"`` or ``"zip"``.
        feature_names: tabular: one per column of ``X`` (one-hot ones as ``"colour=red"``); images: ``()``.
        notes: sentences on what was chosen, converted or dropped, and why.
        label_column: CSV/TSV: the column the labels came from; else None.
        columns: CSV/TSV: every column of the file, to offer as label choices; else ``()``.
        n_one_hot: how many of ``feature_names`` come from one-hot encoding.
    """

    X: np.ndarray
    y: np.ndarray | None
    class_names: tuple[str, ...]
    kind: str
    name: str
    format: str
    feature_names: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    label_column: str | None = None
    columns: tuple[str, ...] = ()
    n_one_hot: int = 0

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def to_dataset(self) -> Dataset:
        """The labelled ``Dataset``; ``DataError`` when the upload has no labels."""
        if self.y is None:
            how = {
                "csv": "choose a label column in the upload options (or add one to the file)",
                "tsv": "choose a label column in the upload options (or add one to the file)",
                "zip": "put the images in one folder per class (e.g. normal/ and abnormal/)",
            }.get(self.format, "save the labels beside X: np.savez('data.npz', X=X, y=y)")
            raise DataError(f"{self.name} has no labels: {how}")
        return Dataset(X=self.X, y=self.y, class_names=self.class_names, name=self.name, kind=self.kind)

    def class_counts(self) -> dict[str, int]:
        """Rows per class name, in class order; ``{}`` when unlabelled."""
        if self.y is None:
            return {}
        counts = np.bincount(self.y, minlength=len(self.class_names))
        return {name: int(c) for name, c in zip(self.class_names, counts, strict=True)}

    def preview_rows(self, n: int = 5) -> dict[str, list]:
        """Tabular: the first ``n`` rows as ``{feature name: values}`` plus ``"label"``; images: ``{}``."""
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        if self.kind != "tabular":
            return {}
        rows = self.X[:n]
        out: dict[str, list] = {f: [float(v) for v in rows[:, j]] for j, f in enumerate(self.feature_names)}
        if self.y is not None:
            key = "label" if "label" not in out else "label (y)"
            out[key] = [self.class_names[i] for i in self.y[:n]]
        return out

    def thumbnails(self, per_class: int = 4) -> list[tuple[str, np.ndarray]]:
        """Images: the first ``per_class`` of each class as ``(class name, uint8 HxW or HxWxC)``; else ``[]``.

        Unlabelled images come under the name ``"unlabelled"``.
        """
        if not isinstance(per_class, (int, np.integer)) or per_class < 1:
            raise ValueError(f"per_class must be a positive integer, got {per_class!r}")
        if self.kind != "image":
            return []
        if self.y is None:
            groups = [("unlabelled", np.arange(min(per_class, len(self))))]
        else:
            groups = [(c, np.flatnonzero(self.y == i)[:per_class]) for i, c in enumerate(self.class_names)]
        out = []
        for cls, idx in groups:
            for i in idx:
                img = np.clip(np.rint(self.X[i] * 255.0), 0, 255).astype(np.uint8)  # (C, H, W)
                out.append((cls, img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)))  # HxW / HxWxC
        return out

    def describe(self) -> str:
        """One line, e.g. ``"data.csv: 500 rows × 12 features (3 one-hot), labels from 'class': normal 450, attack 50"``."""
        n = len(self)
        if self.kind == "tabular":
            text = f"{self.name}: {n} rows × {self.X.shape[1]} features"
            if self.n_one_hot:
                text += f" ({self.n_one_hot} one-hot)"
        else:
            c, h, w = self.X.shape[1:]
            text = f"{self.name}: {n} images {c}×{h}×{w}"
        if self.y is None:
            return text + ", no labels"
        source = (
            f"'{self.label_column}'"
            if self.label_column
            else ("folders" if self.format == "zip" else "y")
        )
        counts = list(self.class_counts().items())
        shown = ", ".join(f"{k} {v}" for k, v in counts[:10])
        more = f", … ({len(counts) - 10} more classes)" if len(counts) > 10 else ""
        return f"{text}, labels from {source}: {shown}{more}"


def megabytes(n: int) -> str:
    """A byte count for a message: ``"512 MB"``, ``"1.5 MB"``, ``"0.002 MB"``."""
    digits = 0 if n % _MB == 0 or n >= 100 * _MB else 1 if n >= _MB else 3
    return f"{n / _MB:.{digits}f} MB"


def plural(k: int, noun: str) -> str:
    """``"1 row"``, ``"3 rows"``."""
    return f"{k} {noun}{'' if k == 1 else 's'}"


def natural_key(text: str) -> tuple:
    """Sort key that puts ``"c2"`` before ``"c10"`` and ignores case (ties broken by the text)."""
    parts = re.split(r"([0-9]+)", text.lower())
    return tuple((0, int(p), "") if p[0] in "0123456789" else (1, 0, p) for p in parts if p), text


def _number_name(v: float | int | bool) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)


def _as_numbers(values: np.ndarray) -> np.ndarray | None:
    """Float array when every string parses as a finite number, else None."""
    try:
        nums = values.astype(np.float64)
    except ValueError:
        return None
    return nums if np.isfinite(nums).all() else None


def encode_labels(values: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels ``(n,)`` (numbers, bools or strings) -> ``(y int64 (n,), class names)``.

    Numbers (also numbers written as text, "1" and "1.0" being one class) sort numerically and are
    named ``"0"``, ``"1"``, ``"2.5"``; other text sorts naturally (``"c2"`` before ``"c10"``).
    """
    values = np.asarray(values)
    if values.dtype.kind in "US":
        strings = np.char.strip(values.astype(str))
        nums = _as_numbers(strings)
        if nums is None:
            uniq, inv = np.unique(strings, return_inverse=True)
            order = sorted(range(len(uniq)), key=lambda i: natural_key(str(uniq[i])))
            rank = np.empty(len(uniq), dtype=np.int64)
            rank[order] = np.arange(len(uniq))
            return rank[inv.reshape(-1)], tuple(str(uniq[i]) for i in order)
        values = nums
    uniq, inv = np.unique(values, return_inverse=True)  # numeric order
    return inv.reshape(-1).astype(np.int64), tuple(_number_name(v) for v in uniq)


# ---------------------------------------------------------------- ZIP access (images and NPZ)

_DRIVE = re.compile(r"^[A-Za-z]:")


def check_entry_count(name: str, data: bytes, limits: UploadLimits) -> None:
    """Refuse a ZIP with too many entries before ``zipfile`` parses its directory (which costs time and memory).

    Every directory entry starts with the signature ``PK\\x01\\x02``, so counting it bounds the entries.
    """
    count = data.count(b"PK\x01\x02")
    if count > limits.max_zip_entries:
        raise DataError(
            f"{name}: the archive lists about {count} entries, above the limit of {limits.max_zip_entries} "
            f"(max_zip_entries in {_CAP_HINT}); upload fewer files"
        )


def open_zip(name: str, data: bytes, limits: UploadLimits) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Open a ZIP held in memory and vet its directory before any member is read.

    Refused: a damaged archive, more than ``limits.max_zip_entries`` entries, absolute paths, drive
    letters, backslashes, ``..`` components, NUL bytes in names, symbolic links, encrypted entries.
    Returns the open archive and its entries.
    """
    check_entry_count(name, data, limits)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except MemoryError:
        raise
    except Exception as err:  # damaged bytes: zipfile raises BadZipFile, struct.error, ValueError, ...
        raise DataError(
            f"{name}: the ZIP archive is damaged or truncated ({err}); upload the file again or re-create it"
        ) from err
    if len(infos) > limits.max_zip_entries:
        raise DataError(
            f"{name}: the archive lists {len(infos)} entries, above the limit of {limits.max_zip_entries} "
            f"(max_zip_entries in {_CAP_HINT}); upload fewer files"
        )
    for info in infos:
        raw = info.orig_filename
        parts = raw.split("/")
        if (
            "\x00" in raw
            or "\\" in raw
            or raw.startswith("/")
            or _DRIVE.match(raw)
            or ".." in parts
        ):
            raise DataError(
                f"{name}: the entry {raw!r} has an unsafe path (absolute, '..', a drive letter or a "
                "backslash) that could write outside a folder; re-create the ZIP from a plain folder"
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DataError(
                f"{name}: the entry {raw!r} is a symbolic link, which adlab does not follow; "
                "zip the real files instead"
            )
        if info.flag_bits & 0x1:
            raise DataError(
                f"{name}: the entry {raw!r} is encrypted (password-protected); re-create the ZIP without a password"
            )
    return zf, infos


def check_expansion(name: str, infos: list[zipfile.ZipInfo], limits: UploadLimits) -> None:
    """Refuse, from the declared sizes alone, members whose expansion would be too big (zip bombs)."""
    total = sum(info.file_size for info in infos)
    if total > limits.max_zip_uncompressed:
        raise DataError(
            f"{name}: the files inside expand to {megabytes(total)}, above the limit of "
            f"{megabytes(limits.max_zip_uncompressed)} (max_zip_uncompressed in {_CAP_HINT}); "
            "upload fewer or smaller files"
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _MB and ratio > limits.max_zip_ratio:
            raise DataError(
                f"{name}: {info.filename} expands {ratio:.0f}-fold ({info.compress_size} -> {info.file_size} "
                f"bytes), above {limits.max_zip_ratio:.0f}:1, so it is refused as a zip bomb; "
                "upload the data uncompressed or in a normal archive"
            )


def read_member(name: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo, chunk: int = _MB) -> bytes:
    """A member's bytes, reading at most its declared size + 1 so a lying header cannot blow up memory."""
    limit = info.file_size + 1
    parts: list[bytes] = []
    got = 0
    try:
        with zf.open(info) as f:
            while got < limit:
                block = f.read(min(chunk, limit - got))
                if not block:
                    break
                parts.append(block)
                got += len(block)
    except MemoryError:
        raise
    except Exception as err:  # damaged member: zipfile raises BadZipFile, zlib.error, EOFError, ...
        raise DataError(
            f"{name}: {info.filename} is damaged inside the archive ({err}); re-create the ZIP"
        ) from err
    if got > info.file_size:
        raise DataError(
            f"{name}: {info.filename} holds more data than its header declares; the archive is "
            "damaged or crafted, re-create it"
        )
    return b"".join(parts)
