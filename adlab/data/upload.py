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

from .types import DataError, Text
from .upload_arrays import read_mat, read_npy, read_npz
from .upload_base import LIMITS, Upload, UploadLimits, check_entry_count, megabytes, pickle_refusal
from .upload_images import IMAGE_EXTENSIONS, read_image_zip
from .upload_tables import read_header, read_table

__all__ = ["ACCEPTED_EXTENSIONS", "LIMITS", "Upload", "UploadLimits", "load_upload", "sniff_columns"]

_FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "txt", ".npz": "npz", ".npy": "npy", ".mat": "mat", ".zip": "zip"}
ACCEPTED_EXTENSIONS = tuple(_FORMATS)
_MODEL_EXTENSIONS = (".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".joblib", ".bin", ".h5", ".hdf5", ".keras",
                     ".onnx", ".safetensors", ".sav", ".dill")
# protocol 0/1 pickles start with an opcode and a module name, or an empty dict/list memoised as 0
_PICKLE_PREFIXES = (b"(dp0", b"(lp0", b"(tp0", b"(i__main__", b"cnumpy\n", b"ccopy_reg\n", b"c__builtin__\n",
                    b"cbuiltins\n", b"c__main__\n", b"}q\x00", b"]q\x00")
_MAGIC = (  # first bytes -> what the file looks like (upload.looks.<code>)
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\x93NUMPY", "npy"),
    (b"MATLAB 5.0 MAT-file", "mat"),
    (b"MATLAB 7.3 MAT-file", "mat73"),
    (b"\x89HDF\r\n\x1a\n", "hdf5"),
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"%PDF-", "pdf"),
    (b"\x7fELF", "program"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old_office"),
)


def _is_pickle(data: bytes) -> bool:
    """True for data starting like a pickle: the PROTO opcode 0x80 with protocol 2-5, or a protocol 0/1 opening."""
    return (len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5) or data.startswith(_PICKLE_PREFIXES)


def _zip_kind(data: bytes) -> str:
    """What a ZIP holds, as a code of ``upload.looks``."""
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except MemoryError:
        raise
    except Exception:  # zipfile raises many types on damaged bytes (BadZipFile, zlib.error, ...)
        return "zip_damaged"
    lowered = [n.lower() for n in names]
    if any(n == "data.pkl" or n.endswith("/data.pkl") or n.endswith(_MODEL_EXTENSIONS) for n in lowered):
        return "torch"
    if "xl/workbook.xml" in lowered:
        return "xlsx"
    if "word/document.xml" in lowered:
        return "word"
    if lowered and all(n.endswith(".npy") for n in lowered):
        return "npz"
    if any(n.endswith(IMAGE_EXTENSIONS) for n in lowered):
        return "image_zip"
    return "zip"


def _looks(data: bytes) -> str | None:
    """What the bytes look like from their first bytes, as a code of ``upload.looks`` (``"png"``), or None."""
    if _is_pickle(data):
        return "pickle"
    if data[:2] == b"PK" and data[2:4] in (b"\x03\x04", b"\x05\x06", b"\x07\x08"):
        return _zip_kind(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if len(data) > 520 and data[512:520] == b"\x89HDF\r\n\x1a\n":
        return "mat73"
    code = next((code for magic, code in _MAGIC if data.startswith(magic)), None)
    return code if code is not None or not _is_text(data[:4096]) else "text"


def looks_like(data: bytes) -> Text | None:
    """What the bytes look like from their first bytes (``"a PNG image"``, ``"a ZIP of images"``, ...), or None."""
    code = _looks(data)
    return None if code is None else Text(f"upload.looks.{code}")


def _is_text(head: bytes) -> bool:
    """True when ``head`` reads as UTF-8 (or UTF-16 with a BOM) text without control characters."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return not any(ord(ch) < 32 and ch not in "\t\n\r\x0c" for ch in text)


_IMAGES = ("png", "jpeg", "gif", "tiff", "webp", "image_zip")
_ADVICE = {**dict.fromkeys(_IMAGES, "images"), "xlsx": "excel", "old_office": "excel", "npz": "npz", "npy": "npy",
           "mat": "mat", "mat73": "mat", "text": "text"}  # what the file looks like -> upload.advice.<key>


def _advice(code: str | None) -> Text:
    """What to do with a file that looks like ``code`` (of ``upload.looks``; None: like nothing known)."""
    key = _ADVICE.get(code or "", "other")
    return Text(f"upload.advice.{key}", accepted=Text("upload.piece.accepted")) if key == "other" else Text(f"upload.advice.{key}")


_EXPECTED = {  # what _looks may say for each format (None is fine for text and MAT v4)
    "npz": ("npz", "zip", "zip_damaged"),
    "zip": ("image_zip", "zip", "zip_damaged"),
    "npy": ("npy",),
    "mat": ("mat", "mat73", "hdf5"),
    "csv": ("text",), "tsv": ("text",), "txt": ("text",),
}


def _check(name: str, data: bytes, limits: UploadLimits) -> str:
    """Byte-level checks common to every format; returns the format key from the extension."""
    ext = PurePosixPath(name.lower()).suffix
    if ext in _MODEL_EXTENSIONS:
        raise DataError.say("upload.error.model_extension", name=name, refusal=pickle_refusal(), ext=ext)
    if len(data) == 0:
        raise DataError.say("upload.error.empty", name=name)
    if len(data) > limits.max_bytes:
        raise DataError.say("upload.error.too_big", name=name, size=megabytes(len(data)),
                            limit=megabytes(limits.max_bytes))
    if data[:2] == b"PK":
        check_entry_count(name, data, limits)  # before zipfile reads the directory, in _looks
    code = _looks(data)
    if code in ("pickle", "torch"):
        raise DataError.say("upload.error.pickle", name=name, refusal=pickle_refusal())
    fmt = _FORMATS.get(ext)
    if fmt is None:
        shown = ext or Text("upload.piece.no_extension")
        if code is None:
            raise DataError.say("upload.error.unknown_type", name=name, ext=shown, accepted=Text("upload.piece.accepted"))
        raise DataError.say("upload.error.unknown_type_seen", name=name, ext=shown, desc=Text(f"upload.looks.{code}"),
                            advice=_advice(code), accepted=Text("upload.piece.accepted"))
    ok = (code is None and fmt in ("csv", "tsv", "txt", "mat")) or code in _EXPECTED[fmt]
    if not ok and code is None:
        raise DataError.say("upload.error.unknown_content", name=name, what=Text(f"upload.what.{fmt}"),
                            advice=_advice(None))
    if not ok:
        raise DataError.say("upload.error.mismatch", name=name, desc=Text(f"upload.looks.{code}"),
                            what=Text(f"upload.what.{fmt}"), advice=_advice(code))
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
        raise DataError.say("upload.error.no_columns", name=name)
    return read_header(name, data, fmt, limits)


def _as_bytes(data: bytes) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be the file's bytes, got {type(data).__name__}")
    return bytes(data)
