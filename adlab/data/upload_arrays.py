"""NumPy (.npz, .npy) and MATLAB (.mat, ODDS style) uploads: an array ``X`` and optional labels ``y``.

``X`` may be a table ``(n, d)`` or images ``(n, C, H, W)`` (also ``(n, H, W)`` and ``(n, H, W, C)``,
C in 1 or 3). Array headers are read and checked (dtype, shape, size) before any data is, and
object (pickled) arrays are refused from their header: nothing is ever unpickled.
"""

from __future__ import annotations

import io

import numpy as np

from .types import DataError, Text
from .upload_base import (
    Upload,
    UploadLimits,
    check_expansion,
    encode_labels,
    megabytes,
    open_zip,
    plural,
)

__all__ = ["from_arrays", "read_mat", "read_npy", "read_npz"]

_X_NAMES = ("X", "x")
_Y_NAMES = ("y", "Y", "labels", "label")
_DTYPES = {"c": "complex", "U": "text", "S": "bytes", "V": "records", "M": "dates", "m": "time_spans"}


def _array(key: str) -> Text:
    return Text("upload.piece.array", key=key)


def _check_dtype(name: str, what: str, dtype: np.dtype, labels: bool = False) -> None:
    """Refuse object (pickled), complex, text (unless ``labels``) and record dtypes, naming them.
    ``what``: ``"X"``, ``"y"`` or a :class:`Text` naming the array."""
    if dtype.hasobject:
        raise DataError.say("upload.error.dtype_objects", name=name, what=what)
    if dtype.kind in "biuf" or (labels and dtype.kind in "US"):
        return
    kind = _DTYPES.get(dtype.kind, "other")
    raise DataError.say(f"upload.error.dtype_{kind}", name=name, what=what, dtype=str(dtype))


def _npy_header(name: str, what: str, fp) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, header length) of the ``.npy`` stream ``fp``, read with ``allow_pickle``-free parsing."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fp)
        else:
            raise DataError.say("upload.error.npy_version", name=name, what=what, version=str(version))
        header_len = fp.tell()
    except (DataError, MemoryError):
        raise
    except Exception as err:  # numpy's header parser raises many types (ValueError, SyntaxError, TokenError, ...)
        raise DataError.say("upload.error.npy_header", name=name, what=what, err=str(err)) from err
    _check_dtype(name, what, dtype, labels=True)
    return tuple(int(s) for s in shape), dtype, header_len


def _nbytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return int(np.prod(shape, dtype=np.float64)) * dtype.itemsize


def read_npy(name: str, data: bytes, limits: UploadLimits) -> Upload:
    """One ``.npy`` array, used as ``X`` (no labels)."""
    shape, dtype, header_len = _npy_header(name, Text("upload.piece.the_array"), io.BytesIO(data))
    need, found = _nbytes(shape, dtype), len(data) - header_len
    if need != found:
        raise DataError.say("upload.error.npy_truncated" if found < need else "upload.error.npy_longer",
                            name=name, shape=str(shape), dtype=str(dtype), need=need, found=found)
    try:
        X = np.load(io.BytesIO(data), allow_pickle=False)
    except MemoryError:
        raise
    except Exception as err:  # damaged data: numpy raises ValueError, OSError, EOFError, ...
        raise DataError.say("upload.error.npy_unreadable", name=name, err=str(err)) from err
    notes = [Text("upload.note.npy_one_array")]
    return from_arrays(name, "npy", X, None, notes, limits)


def read_npz(name: str, data: bytes, limits: UploadLimits) -> Upload:
    """An ``.npz`` archive with arrays ``X`` and optional ``y`` (or a single array of any name, as ``X``)."""
    zf, infos = open_zip(name, data, limits)
    members = {i.filename[: -len(".npy")]: i for i in infos if i.filename.endswith(".npy") and not i.is_dir()}
    others = [i.filename for i in infos if not i.filename.endswith(".npy") and not i.is_dir()]
    if not members or others:
        shown = ", ".join(others[:3]) + (" …" if len(others) > 3 else "")
        raise DataError.say("upload.error.not_npz", name=name, holds=shown or Text("upload.piece.no_npy"))
    check_expansion(name, list(members.values()), limits)
    for key, info in members.items():  # every header is checked (dtype, size) before any data is read
        try:
            with zf.open(info) as fp:
                shape, dtype, header_len = _npy_header(name, _array(key), fp)
        except (DataError, MemoryError):
            raise
        except Exception as err:  # damaged member: zipfile raises BadZipFile, zlib.error, ...
            raise DataError.say("upload.error.npz_member_damaged", name=name, key=key, err=str(err)) from err
        if header_len + _nbytes(shape, dtype) != info.file_size:
            raise DataError.say("upload.error.npz_member_size", name=name, key=key, shape=str(shape), dtype=str(dtype),
                                found=info.file_size - header_len)

    x_key, y_key, notes = _pick_xy(name, list(members), "array")
    ignored = [k for k in members if k not in (x_key, y_key)]
    if ignored:
        notes.append(Text("upload.note.ignored_arrays", arrays=", ".join(map(repr, ignored))))
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            X = npz[x_key]
            y = npz[y_key] if y_key is not None else None
    except MemoryError:
        raise
    except Exception as err:  # damaged data: zipfile and numpy raise many types (zlib.error, ValueError, ...)
        raise DataError.say("upload.error.npz_unreadable", name=name, err=str(err)) from err
    if y is None and x_key in _X_NAMES:
        notes.append(Text("upload.note.no_y_array"))
    return from_arrays(name, "npz", X, y, notes, limits)


def _pick_xy(name: str, keys: list[str], what: str) -> tuple[str, str | None, list[str]]:
    """The names of X and y among a file's arrays (``what``: "array" for NPZ or "variable" for MAT), and a
    note when the only one is taken as X; ``DataError`` when several are there and none is named X."""
    x_key = next((k for k in _X_NAMES if k in keys), None)
    y_key = next((k for k in _Y_NAMES if k in keys), None)
    if x_key is not None:
        return x_key, y_key, []
    if len(keys) != 1:
        raise DataError.say(f"upload.error.no_x_{what}", name=name, keys=", ".join(map(repr, keys)))
    return keys[0], None, [Text(f"upload.note.only_{what}", key=keys[0])]


_MAT_NUMERIC = {
    "double": 8, "single": 4, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4,
    "int64": 8, "uint64": 8, "logical": 1, "sparse": 8,
}


def read_mat(name: str, data: bytes, limits: UploadLimits) -> Upload:
    """A MATLAB v4-v7 ``.mat`` file with variables ``X`` and optional ``y`` (ODDS layout, ``y`` ``(n, 1)``)."""
    if data[:19] == b"MATLAB 7.3 MAT-file" or data[512:520] == b"\x89HDF\r\n\x1a\n":
        raise DataError.say("upload.error.mat73", name=name)
    import scipy.io

    # scipy's MAT reader raises many exception types on damaged bytes; all of them mean "damaged"
    try:
        variables = scipy.io.whosmat(io.BytesIO(data))
    except MemoryError:
        raise
    except NotImplementedError as err:
        raise DataError.say("upload.error.mat_unsupported", name=name, err=str(err)) from err
    except Exception as err:
        raise DataError.say("upload.error.mat_unreadable", name=name, err=str(err)) from err
    info = {v[0]: (tuple(int(s) for s in v[1]), v[2]) for v in variables if not v[0].startswith("__")}
    if not info:
        raise DataError.say("upload.error.mat_empty", name=name)
    x_key, y_key, notes = _pick_xy(name, list(info), "variable")
    total = 0
    for key in (x_key, y_key):
        if key is None:
            continue
        shape, cls = info[key]
        allowed = _MAT_NUMERIC if key == x_key else {**_MAT_NUMERIC, "char": 2}
        if cls not in allowed:
            raise DataError.say("upload.error.mat_not_numeric", name=name, key=key, cls=cls)
        total += int(np.prod(shape, dtype=np.float64)) * allowed[cls]
    if total > limits.max_zip_uncompressed:
        raise DataError.say("upload.error.mat_too_big", name=name, size=megabytes(total),
                            limit=megabytes(limits.max_zip_uncompressed))
    try:
        mat = scipy.io.loadmat(io.BytesIO(data), variable_names=[k for k in (x_key, y_key) if k])
        X = mat[x_key]
        y = mat[y_key] if y_key is not None else None
    except MemoryError:
        raise
    except Exception as err:
        raise DataError.say("upload.error.mat_damaged", name=name, err=str(err)) from err
    if hasattr(X, "toarray"):  # a MATLAB sparse matrix
        X = X.toarray()
        notes.append(Text("upload.note.sparse"))
    if y is not None and hasattr(y, "toarray"):
        y = y.toarray()
    if y is None and x_key in _X_NAMES:
        notes.append(Text("upload.note.no_y_variable"))
    return from_arrays(name, "mat", X, y, notes, limits)


def from_arrays(
    name: str, fmt: str, X: np.ndarray, y: np.ndarray | None, notes: list[str], limits: UploadLimits
) -> Upload:
    """Check and convert ``X`` (table or images) and ``y`` into an ``Upload`` (see the module docstring)."""
    X = np.asarray(X)
    _check_dtype(name, "X", X.dtype)
    if X.ndim == 3 and X.shape[-1] in (3, 4):
        raise DataError.say("upload.error.x_ambiguous", name=name, shape=str(X.shape), n=X.shape[0], h=X.shape[1],
                            w=X.shape[2])
    if X.ndim == 3:
        X = X[:, None]  # (N, H, W) -> (N, 1, H, W)
        notes.append(Text("upload.note.nhw"))
    elif X.ndim == 4 and X.shape[1] not in (1, 3):
        if X.shape[3] not in (1, 3):
            raise DataError.say("upload.error.x_channels", name=name, shape=str(X.shape))
        X = X.transpose(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
        notes.append(Text("upload.note.nhwc"))
    elif X.ndim not in (2, 4):
        raise DataError.say("upload.error.x_ndim_1d" if X.ndim == 1 else "upload.error.x_ndim", name=name,
                            shape=str(X.shape), ndim=X.ndim)
    if 0 in X.shape:
        raise DataError.say("upload.error.x_empty", name=name, shape=str(X.shape))
    kind = "tabular" if X.ndim == 2 else "image"
    n = X.shape[0]
    if kind == "tabular":
        if n > limits.max_rows:
            raise DataError.say("upload.error.x_rows", name=name, n=n, limit=limits.max_rows)
        if X.shape[1] > limits.max_features:
            raise DataError.say("upload.error.x_features", name=name, d=X.shape[1], limit=limits.max_features)
    else:
        if n > limits.max_images:
            raise DataError.say("upload.error.x_images", name=name, n=n, limit=limits.max_images)
        if max(X.shape[2:]) > limits.max_image_side:
            raise DataError.say("upload.error.x_side", name=name, h=X.shape[2], w=X.shape[3],
                                limit=limits.max_image_side)
    if n < limits.min_rows:
        raise DataError.say("upload.error.x_few_rows", name=name, count=plural(n, "row"), min=limits.min_rows)
    if X.size > limits.max_values:
        raise DataError.say("upload.error.x_values", name=name, n=X.size, limit=limits.max_values)
    if X.dtype.kind == "b":
        notes.append(Text("upload.note.boolean"))
    with np.errstate(over="ignore", invalid="ignore"):
        values = X.astype(np.float32)
    bad = ~np.isfinite(values)
    if bad.any():
        where = np.argwhere(bad)[0]
        raise DataError.say("upload.error.x_not_finite", name=name, k=int(bad.sum()),
                            index=str(tuple(int(i) for i in where)))
    if kind == "image":
        low, high = float(values.min()), float(values.max())
        if X.dtype == np.uint8:
            values /= 255.0
        elif X.dtype.kind in "iu" and low >= 0 and high <= 255 and high > 1:
            values /= 255.0
            notes.append(Text("upload.note.divided", high=high))
        elif low < 0.0 or high > 1.0:
            values = (values - low) / (high - low) if high > low else np.zeros_like(values)
            notes.append(Text("upload.note.scaled", low=low, high=high))
    labels, class_names = None, ()
    if y is not None:
        labels, class_names = _labels(name, np.asarray(y), n)
    feature_names = tuple(f"x{j}" for j in range(values.shape[1])) if kind == "tabular" else ()
    return Upload(
        X=values,
        y=labels,
        class_names=class_names,
        kind=kind,
        name=name,
        format=fmt,
        feature_names=feature_names,
        notes=tuple(notes),
    )


def _labels(name: str, y: np.ndarray, n: int) -> tuple[np.ndarray, tuple[str, ...]]:
    _check_dtype(name, "y", y.dtype, labels=True)
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)  # MATLAB's (n, 1) or (1, n)
    if y.ndim != 1:
        raise DataError.say("upload.error.y_shape", name=name, shape=str(y.shape), n=n)
    if len(y) != n:
        raise DataError.say("upload.error.y_length", name=name, n=n, k=len(y))
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise DataError.say("upload.error.y_not_finite", name=name, k=int((~np.isfinite(y)).sum()))
    if y.dtype.kind == "S":
        y = np.char.decode(y, "utf-8", errors="replace")
    return encode_labels(y)
