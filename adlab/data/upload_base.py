"""What every upload reader shares: the limits, the ``Upload`` result, label encoding and safe ZIP access.

The readers (``upload_tables``, ``upload_arrays``, ``upload_images``) build an ``Upload``; the public
entry point ``adlab.data.upload.load_upload`` picks the reader. Nothing here unpickles or executes.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from adlab import i18n

from .types import DataError, Dataset, Text

__all__ = [
    "LIMITS",
    "Upload",
    "UploadLimits",
    "check_entry_count",
    "check_expansion",
    "encode_labels",
    "joined",
    "megabytes",
    "pickle_refusal",
    "plural",
    "natural_key",
    "open_zip",
    "read_member",
]

_MB = 2**20


def pickle_refusal() -> Text:
    """The sentence every refusal of a pickle or model file shares (``upload.piece.pickle``)."""
    return Text("upload.piece.pickle")


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
            how = {"csv": "label_column", "tsv": "label_column", "zip": "folders"}.get(self.format, "arrays")
            raise DataError.say("upload.error.no_labels", name=self.name, how=Text(f"upload.how.{how}"))
        return Dataset(X=self.X, y=self.y, class_names=self.class_names, name=self.name, kind=self.kind)

    def class_counts(self) -> dict[str, int]:
        """Rows per class name, in class order; ``{}`` when unlabelled."""
        if self.y is None:
            return {}
        counts = np.bincount(self.y, minlength=len(self.class_names))
        return {name: int(c) for name, c in zip(self.class_names, counts, strict=True)}

    def preview_rows(self, n: int = 5, *, lang: str = "en") -> dict[str, list]:
        """Tabular: the first ``n`` rows as ``{feature name: values}`` plus ``"label"`` (in ``lang``); images: ``{}``."""
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        if self.kind != "tabular":
            return {}
        rows = self.X[:n]
        out: dict[str, list] = {f: [float(v) for v in rows[:, j]] for j, f in enumerate(self.feature_names)}
        if self.y is not None:
            key = i18n.message(Text("upload.preview.label"), lang)
            if key in out:
                key = i18n.message(Text("upload.preview.label_y"), lang)
            out[key] = [self.class_names[i] for i in self.y[:n]]
        return out

    def thumbnails(self, per_class: int = 4, *, lang: str = "en") -> list[tuple[str, np.ndarray]]:
        """Images: the first ``per_class`` of each class as ``(class name, uint8 HxW or HxWxC)``; else ``[]``.

        Unlabelled images come under the name ``"unlabelled"`` (in ``lang``).
        """
        if not isinstance(per_class, (int, np.integer)) or per_class < 1:
            raise ValueError(f"per_class must be a positive integer, got {per_class!r}")
        if self.kind != "image":
            return []
        if self.y is None:
            groups = [(i18n.message(Text("upload.preview.unlabelled"), lang), np.arange(min(per_class, len(self))))]
        else:
            groups = [(c, np.flatnonzero(self.y == i)[:per_class]) for i, c in enumerate(self.class_names)]
        out = []
        for cls, idx in groups:
            for i in idx:
                img = np.clip(np.rint(self.X[i] * 255.0), 0, 255).astype(np.uint8)  # (C, H, W)
                out.append((cls, img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)))  # HxW / HxWxC
        return out

    def describe(self, lang: str = "en") -> str:
        """One line in ``lang``, e.g. ``"data.csv: 500 rows × 12 features (3 one-hot), labels from 'class': normal
        450, attack 50"``; in English a :class:`~adlab.data.types.Text` (a ``str`` that can be said in another language)."""
        n = len(self)
        if self.kind == "tabular":
            d = int(self.X.shape[1])
            what = (Text("upload.describe.table_one_hot", name=self.name, n=n, d=d, k=self.n_one_hot) if self.n_one_hot
                    else Text("upload.describe.table", name=self.name, n=n, d=d))
        else:
            c, h, w = (int(s) for s in self.X.shape[1:])
            what = Text("upload.describe.images", name=self.name, n=n, c=c, h=h, w=w)
        if self.y is None:
            text = Text("upload.describe.no_labels", what=what)
        else:
            source = (
                Text("upload.describe.from_column", column=self.label_column)
                if self.label_column
                else Text("upload.describe.from_folders" if self.format == "zip" else "upload.describe.from_y")
            )
            counts = list(self.class_counts().items())
            shown = ", ".join(f"{k} {v}" for k, v in counts[:10])
            more = Text("upload.describe.more", k=len(counts) - 10) if len(counts) > 10 else ""
            text = Text("upload.describe.labels", what=what, source=source, counts=shown, more=more)
        return text if lang == "en" else i18n.message(text, lang)


def megabytes(n: int) -> str:
    """A byte count for a message: ``"512 MB"``, ``"1.5 MB"``, ``"0.002 MB"``."""
    digits = 0 if n % _MB == 0 or n >= 100 * _MB else 1 if n >= _MB else 3
    return f"{n / _MB:.{digits}f} MB"


def plural(k: int, noun: str) -> Text:
    """``"1 row"``, ``"3 rows"``: ``noun`` is ``"row"``, ``"image"`` or ``"infinite_value"`` (``upload.count.*``)."""
    return Text(f"upload.count.{noun}_{'one' if k == 1 else 'many'}", k=k)


def joined(items: Sequence[str]) -> str:
    """``items`` joined by ``", "``, as one text that says each :class:`Text` item in the reader's language
    (a balanced tree of ``upload.piece.joined``, so a long list stays shallow)."""
    if len(items) <= 1:
        return items[0] if items else ""
    half = len(items) // 2
    return Text("upload.piece.joined", first=joined(items[:half]), rest=joined(items[half:]))


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
        raise DataError.say("upload.error.zip_entries_about", name=name, count=count, limit=limits.max_zip_entries)


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
        raise DataError.say("upload.error.zip_damaged", name=name, err=str(err)) from err
    if len(infos) > limits.max_zip_entries:
        raise DataError.say("upload.error.zip_entries", name=name, count=len(infos), limit=limits.max_zip_entries)
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
            raise DataError.say("upload.error.zip_unsafe_path", name=name, entry=repr(raw))
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DataError.say("upload.error.zip_symlink", name=name, entry=repr(raw))
        if info.flag_bits & 0x1:
            raise DataError.say("upload.error.zip_encrypted", name=name, entry=repr(raw))
    return zf, infos


def check_expansion(name: str, infos: list[zipfile.ZipInfo], limits: UploadLimits) -> None:
    """Refuse, from the declared sizes alone, members whose expansion would be too big (zip bombs)."""
    total = sum(info.file_size for info in infos)
    if total > limits.max_zip_uncompressed:
        raise DataError.say("upload.error.zip_expands", name=name, size=megabytes(total),
                            limit=megabytes(limits.max_zip_uncompressed))
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _MB and ratio > limits.max_zip_ratio:
            raise DataError.say("upload.error.zip_bomb", name=name, member=info.filename, ratio=ratio,
                                compressed=info.compress_size, size=info.file_size, limit=limits.max_zip_ratio)


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
        raise DataError.say("upload.error.member_damaged", name=name, member=info.filename, err=str(err)) from err
    if got > info.file_size:
        raise DataError.say("upload.error.member_longer", name=name, member=info.filename)
    return b"".join(parts)
