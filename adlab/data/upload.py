"""The safe loader for files a user uploads: tables, arrays and ZIPs of images, never pickles.

``load_upload(name, data)`` reads the bytes of one file into an ``Upload`` (preview, notes, and
``to_dataset()``); ``sniff_columns`` reads only a table's header, to offer the label choice.

Formats, picked by extension and checked against the content:

- ``.csv`` / ``.tsv`` / ``.txt`` (tab- or comma-separated): a header row, an optional label column
  (see ``upload_tables``);
- ``.npz`` (arrays ``X`` and optional ``y``), ``.npy`` (``X`` only), ``.mat`` v4-v7 (``X``, ``y``):
  tables ``(n, d)`` or images ``(n, C, H, W)`` (see ``upload_arrays``);
- ``.zip`` of images, one folder per class (see ``upload_images``).

Safety: nothing is unpickled or executed. Model and pickle files are refused by name (``.pkl``,
``.pt``, ``.h5``, ...) and by content (the pickle header, a ZIP holding ``data.pkl`` as torch
checkpoints do, object arrays in ``.npy``/``.npz``, refused from their header). A file whose content
does not match its extension is refused saying what it looks like. ZIPs are vetted before any member
is read (paths, links, encryption, entry count, declared sizes, compression ratio), and every size
is capped by ``LIMITS`` (``UploadLimits``). Every problem raises ``DataError`` with a message that
names the file, the problem and what to do.
"""

from __future__ import annotations

import codecs
import io
import zipfile
from pathlib import PurePosixPath
from typing import Literal

from .types import DataError
from .upload_arrays import read_mat, read_npy, read_npz
from .upload_base import LIMITS, PICKLE_REFUSAL, Upload, UploadLimits, check_entry_count, megabytes
from .upload_images import IMAGE_EXTENSIONS, read_image_zip
from .upload_tables import read_header, read_table

__all__ = ["ACCEPTED_EXTENSIONS", "LIMITS", "Upload", "UploadLimits", "load_upload", "sniff_columns"]

_FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "txt", ".npz": "npz", ".npy": "npy", ".mat": "mat", ".zip": "zip"}
ACCEPTED_EXTENSIONS = tuple(_FORMATS)
_ACCEPTED = ".csv, .tsv or .txt (tables), .npz, .npy or .mat (arrays), .zip (one folder of images per class)"
_MODEL_EXTENSIONS = (".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".joblib", ".bin", ".h5", ".hdf5", ".keras",
                     ".onnx", ".safetensors", ".sav", ".dill")
# protocol 0/1 pickles start with an opcode and a module name, or an empty dict/list memoised as 0
_PICKLE_PREFIXES = (b"(dp0", b"(lp0", b"(tp0", b"(i__main__", b"cnumpy\n", b"ccopy_reg\n", b"c__builtin__\n",
                    b"cbuiltins\n", b"c__main__\n", b"}q\x00", b"]q\x00")
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"MATLAB 5.0 MAT-file", "a MATLAB .mat file"),
    (b"MATLAB 7.3 MAT-file", "a MATLAB v7.3 .mat file"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"%PDF-", "a PDF document"),
    (b"\x7fELF", "a program"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel/Office file"),
)


def _is_pickle(data: bytes) -> bool:
    """True for data starting like a pickle: the PROTO opcode 0x80 with protocol 2-5, or a protocol 0/1 opening."""
    return (len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5) or data.startswith(_PICKLE_PREFIXES)


def _zip_kind(data: bytes) -> str:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except MemoryError:
        raise
    except Exception:  # zipfile raises many types on damaged bytes (BadZipFile, zlib.error, ...)
        return _ZIP_DAMAGED
    lowered = [n.lower() for n in names]
    if any(n == "data.pkl" or n.endswith("/data.pkl") or n.endswith(_MODEL_EXTENSIONS) for n in lowered):
        return "a torch checkpoint"
    if "xl/workbook.xml" in lowered:
        return "an Excel workbook (.xlsx)"
    if "word/document.xml" in lowered:
        return "a Word document"
    if lowered and all(n.endswith(".npy") for n in lowered):
        return "a NumPy .npz archive"
    if any(n.endswith(IMAGE_EXTENSIONS) for n in lowered):
        return "a ZIP of images"
    return "a ZIP archive"


def looks_like(data: bytes) -> str | None:
    """What the bytes look like from their first bytes (``"a PNG image"``, ``"a ZIP of images"``, ...), or None."""
    if _is_pickle(data):
        return "a pickle"
    if data[:2] == b"PK" and data[2:4] in (b"\x03\x04", b"\x05\x06", b"\x07\x08"):
        return _zip_kind(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    if len(data) > 520 and data[512:520] == b"\x89HDF\r\n\x1a\n":
        return "a MATLAB v7.3 .mat file"
    desc = next((desc for magic, desc in _MAGIC if data.startswith(magic)), None)
    return desc if desc is not None or not _is_text(data[:4096]) else "text"


def _is_text(head: bytes) -> bool:
    """True when ``head`` reads as UTF-8 (or UTF-16 with a BOM) text without control characters."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return not any(ord(ch) < 32 and ch not in "\t\n\r\x0c" for ch in text)


def _advice(desc: str) -> str:
    if desc.endswith("image") or desc == "a ZIP of images":
        return "put images in a .zip with one folder per class"
    if desc.startswith("an Excel") or desc.startswith("an old Excel"):
        return "save the sheet as CSV (UTF-8) and upload that"
    if desc == "a NumPy .npz archive":
        return "name it .npz"
    if desc == "a NumPy .npy array":
        return "name it .npy"
    if desc.startswith("a MATLAB"):
        return "name it .mat"
    if desc == "text":
        return "name a table .csv (comma-separated) or .tsv (tab-separated)"
    return f"upload one of {_ACCEPTED}"


_WHAT = {"csv": "CSV text", "tsv": "TSV text", "txt": "tab-separated text", "npz": "an NPZ archive",
         "npy": "a .npy array", "mat": "a MATLAB .mat file", "zip": "a ZIP of images"}
_ZIP_DAMAGED = "a ZIP archive (damaged or truncated)"
_EXPECTED = {  # what looks_like may say for each format (None is fine for text and MAT v4)
    "npz": ("a NumPy .npz archive", "a ZIP archive", _ZIP_DAMAGED),
    "zip": ("a ZIP of images", "a ZIP archive", _ZIP_DAMAGED),
    "npy": ("a NumPy .npy array",),
    "mat": ("a MATLAB .mat file", "a MATLAB v7.3 .mat file", "an HDF5 file"),
    "csv": ("text",), "tsv": ("text",), "txt": ("text",),
}


def _check(name: str, data: bytes, limits: UploadLimits) -> str:
    """Byte-level checks common to every format; returns the format key from the extension."""
    ext = PurePosixPath(name.lower()).suffix
    if ext in _MODEL_EXTENSIONS:
        raise DataError(f"{name}: {PICKLE_REFUSAL} (refused by its {ext} extension)")
    if len(data) == 0:
        raise DataError(f"{name}: the file is empty (0 bytes); check that it was saved, then upload it again")
    if len(data) > limits.max_bytes:
        raise DataError(
            f"{name}: the file is {megabytes(len(data))}, above the upload limit of "
            f"{megabytes(limits.max_bytes)} (server.maxUploadSize in .streamlit/config.toml and "
            "max_bytes in adlab.data.upload.LIMITS); upload a sample, or raise both limits"
        )
    if data[:2] == b"PK":
        check_entry_count(name, data, limits)  # before zipfile reads the directory, in looks_like
    desc = looks_like(data)
    if desc in ("a pickle", "a torch checkpoint"):
        raise DataError(f"{name}: {PICKLE_REFUSAL}")
    fmt = _FORMATS.get(ext)
    if fmt is None:
        seen = f" (it looks like {desc}: {_advice(desc)})" if desc else ""
        raise DataError(f"{name}: unknown file type '{ext or 'no extension'}'{seen}; adlab reads {_ACCEPTED}")
    ok = (desc is None and fmt in ("csv", "tsv", "txt", "mat")) or desc in _EXPECTED[fmt]
    if not ok and desc is None:
        raise DataError(f"{name}: is not {_WHAT[fmt]} (its first bytes match no known format); {_advice('')}")
    if not ok:
        raise DataError(f"{name}: looks like {desc}, not {_WHAT[fmt]}; {_advice(desc)}")
    return fmt


def load_upload(
    name: str,
    data: bytes,
    *,
    label_column: str | None | Literal["auto"] = "auto",
    image_size: int | None = None,
    limits: UploadLimits = LIMITS,
) -> Upload:
    """Read one uploaded file (its ``name`` and raw ``data``) into an ``Upload``.

    Args:
        name: the file name; its extension picks the format (see the module docstring).
        data: the file's bytes.
        label_column: CSV/TSV only: ``"auto"`` picks a column named y, label, labels, class, target,
            anomaly, is_anomaly or outlier (any case) if there is one; ``None`` loads no labels; a
            column name uses that column.
        image_size: ZIP of images only: resize every image to ``image_size × image_size`` (then
            sizes may differ and exceed ``limits.max_image_side``); ``None`` keeps them as they are.
        limits: the caps to apply (``LIMITS`` by default).

    Returns ``Upload`` with ``X`` float32 ``(n, d)`` or ``(n, C, H, W)`` in ``[0, 1]`` and ``y`` int64
    ``(n,)`` or None. Anything unusable raises ``DataError`` naming the file, the problem and the fix.
    """
    if not (label_column is None or isinstance(label_column, str)):
        raise ValueError(f"label_column must be 'auto', None or a column name, got {label_column!r}")
    if image_size is not None and (
        isinstance(image_size, bool) or not isinstance(image_size, int) or not 2 <= image_size <= limits.max_image_side
    ):
        raise ValueError(f"image_size must be None or an integer in 2..{limits.max_image_side}, got {image_size!r}")
    data = _as_bytes(data)
    fmt = _check(name, data, limits)
    if fmt in ("csv", "tsv", "txt"):
        return read_table(name, data, fmt, label_column, limits)
    if fmt == "npz":
        return read_npz(name, data, limits)
    if fmt == "npy":
        return read_npy(name, data, limits)
    if fmt == "mat":
        return read_mat(name, data, limits)
    return read_image_zip(name, data, image_size=image_size, limits=limits)


def sniff_columns(name: str, data: bytes, limits: UploadLimits = LIMITS) -> tuple[str, ...]:
    """The column names of a CSV/TSV/TXT upload, from its header line only (cheap); ``DataError`` on bad files."""
    data = _as_bytes(data)
    fmt = _check(name, data, limits)
    if fmt not in ("csv", "tsv", "txt"):
        raise DataError(f"{name}: only tables (.csv, .tsv, .txt) have columns to choose a label from")
    return read_header(name, data, fmt, limits)


def _as_bytes(data: bytes) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be the file's bytes, got {type(data).__name__}")
    return bytes(data)
