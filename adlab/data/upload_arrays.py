"""NumPy (.npz, .npy) and MATLAB (.mat, ODDS style) uploads: an array ``X`` and optional labels ``y``.

``X`` may be a table ``(n, d)`` or images ``(n, C, H, W)`` (also ``(n, H, W)`` and ``(n, H, W, C)``,
C in 1 or 3). Array headers are read and checked (dtype, shape, size) before any data is, and
object (pickled) arrays are refused from their header: nothing is ever unpickled.
"""

from __future__ import annotations

import io

import numpy as np

from .types import DataError
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
_SAVE_HINT = "np.savez('data.npz', X=X, y=y)"


def _check_dtype(name: str, what: str, dtype: np.dtype, labels: bool = False) -> None:
    """Refuse object (pickled), complex, text (unless ``labels``) and record dtypes, naming them."""
    if dtype.hasobject:
        raise DataError(
            f"{name}: {what} holds Python objects (pickled data), which adlab never loads; "
            f"save plain numeric arrays with {_SAVE_HINT}"
        )
    if dtype.kind in "biuf" or (labels and dtype.kind in "US"):
        return
    holds, todo = {
        "c": ("complex numbers", "save the real part or the magnitude as float"),
        "U": ("text", "convert it to numbers, or upload a table with text columns as CSV"),
        "S": ("bytes (text)", "convert it to numbers"),
        "V": ("records (a structured array)", "save a plain float array"),
        "M": ("dates", "convert them to numbers"),
        "m": ("time spans", "convert them to numbers"),
    }.get(dtype.kind, ("values adlab cannot use", "save a plain float array"))
    raise DataError(f"{name}: {what} holds {holds} (dtype {dtype}); {todo}")


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
            raise DataError(f"{name}: {what} uses .npy format version {version}; save it again with np.save")
        header_len = fp.tell()
    except (DataError, MemoryError):
        raise
    except Exception as err:  # numpy's header parser raises many types (ValueError, SyntaxError, TokenError, ...)
        raise DataError(
            f"{name}: {what} is not a readable .npy array (damaged or truncated header: {err}); save it again"
        ) from err
    _check_dtype(name, what, dtype, labels=True)
    return tuple(int(s) for s in shape), dtype, header_len


def _nbytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return int(np.prod(shape, dtype=np.float64)) * dtype.itemsize


def read_npy(name: str, data: bytes, limits: UploadLimits) -> Upload:
    """One ``.npy`` array, used as ``X`` (no labels)."""
    shape, dtype, header_len = _npy_header(name, "the array", io.BytesIO(data))
    need, found = _nbytes(shape, dtype), len(data) - header_len
    if need != found:
        problem = "truncated" if found < need else "longer than its header says"
        raise DataError(
            f"{name}: the file is {problem}: shape {shape} {dtype} needs {need} bytes of data, found {found}; "
            "save it again with np.save"
        )
    try:
        X = np.load(io.BytesIO(data), allow_pickle=False)
    except MemoryError:
        raise
    except Exception as err:  # damaged data: numpy raises ValueError, OSError, EOFError, ...
        raise DataError(f"{name}: the array cannot be read ({err}); save it again with np.save") from err
    notes = ["a .npy file holds one array: loaded as X, without labels (use .npz with X and y for labels)"]
    return from_arrays(name, "npy", X, None, notes, limits)


def read_npz(name: str, data: bytes, limits: UploadLimits) -> Upload:
    """An ``.npz`` archive with arrays ``X`` and optional ``y`` (or a single array of any name, as ``X``)."""
    zf, infos = open_zip(name, data, limits)
    members = {i.filename[: -len(".npy")]: i for i in infos if i.filename.endswith(".npy") and not i.is_dir()}
    others = [i.filename for i in infos if not i.filename.endswith(".npy") and not i.is_dir()]
    if not members or others:
        shown = ", ".join(others[:3]) + (" …" if len(others) > 3 else "")
        raise DataError(
            f"{name}: looks like a ZIP archive that is not an NPZ (it holds {shown or 'no .npy arrays'}); "
            f"save arrays with {_SAVE_HINT}, or name a ZIP of images '.zip'"
        )
    check_expansion(name, list(members.values()), limits)
    for key, info in members.items():  # every header is checked (dtype, size) before any data is read
        try:
            with zf.open(info) as fp:
                shape, dtype, header_len = _npy_header(name, f"array '{key}'", fp)
        except (DataError, MemoryError):
            raise
        except Exception as err:  # damaged member: zipfile raises BadZipFile, zlib.error, ...
            raise DataError(f"{name}: array '{key}' is damaged ({err}); save the file again") from err
        if header_len + _nbytes(shape, dtype) != info.file_size:
            raise DataError(
                f"{name}: array '{key}' declares shape {shape} {dtype} but its member holds "
                f"{info.file_size - header_len} bytes of data; the file is damaged, save it again"
            )

    x_key, y_key, notes = _pick_xy(name, list(members), "array", _SAVE_HINT)
    ignored = [k for k in members if k not in (x_key, y_key)]
    if ignored:
        notes.append(f"ignored array(s) {', '.join(map(repr, ignored))} (only X and y are used)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            X = npz[x_key]
            y = npz[y_key] if y_key is not None else None
    except MemoryError:
        raise
    except Exception as err:  # damaged data: zipfile and numpy raise many types (zlib.error, ValueError, ...)
        raise DataError(f"{name}: the arrays cannot be read ({err}); save the file again with {_SAVE_HINT}") from err
    if y is None and x_key in _X_NAMES:
        notes.append("no array 'y': loaded without labels")
    return from_arrays(name, "npz", X, y, notes, limits)


def _pick_xy(name: str, keys: list[str], what: str, hint: str) -> tuple[str, str | None, list[str]]:
    """The names of X and y among a file's arrays (``what``: "array" or "variable"), and a note when
    the only one is taken as X; ``DataError`` when several are there and none is named X."""
    x_key = next((k for k in _X_NAMES if k in keys), None)
    y_key = next((k for k in _Y_NAMES if k in keys), None)
    if x_key is not None:
        return x_key, y_key, []
    if len(keys) != 1:
        raise DataError(f"{name}: holds {what}s {', '.join(map(repr, keys))} but none named 'X'; save them as {hint}")
    return keys[0], None, [f"the only {what}, '{keys[0]}', is used as X (no labels)"]


_MAT_NUMERIC = {
    "double": 8, "single": 4, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4,
    "int64": 8, "uint64": 8, "logical": 1, "sparse": 8,
}


def read_mat(name: str, data: bytes, limits: UploadLimits) -> Upload:
    """A MATLAB v4-v7 ``.mat`` file with variables ``X`` and optional ``y`` (ODDS layout, ``y`` ``(n, 1)``)."""
    if data[:19] == b"MATLAB 7.3 MAT-file" or data[512:520] == b"\x89HDF\r\n\x1a\n":
        raise DataError(
            f"{name}: is a MATLAB v7.3 (HDF5) file, which adlab cannot read; re-save it in MATLAB with "
            "save('data.mat', 'X', 'y', '-v7')"
        )
    import scipy.io

    # scipy's MAT reader raises many exception types on damaged bytes; all of them mean "damaged"
    try:
        variables = scipy.io.whosmat(io.BytesIO(data))
    except MemoryError:
        raise
    except NotImplementedError as err:
        raise DataError(f"{name}: {err}; re-save it in MATLAB with save('data.mat', 'X', 'y', '-v7')") from err
    except Exception as err:
        raise DataError(f"{name}: is not a readable MAT file, damaged or truncated ({err}); save it again") from err
    info = {v[0]: (tuple(int(s) for s in v[1]), v[2]) for v in variables if not v[0].startswith("__")}
    if not info:
        raise DataError(f"{name}: holds no variables; save X (and y) with save('data.mat', 'X', 'y', '-v7')")
    x_key, y_key, notes = _pick_xy(name, list(info), "variable", "save('data.mat', 'X', 'y', '-v7')")
    total = 0
    for key in (x_key, y_key):
        if key is None:
            continue
        shape, cls = info[key]
        allowed = _MAT_NUMERIC if key == x_key else {**_MAT_NUMERIC, "char": 2}
        if cls not in allowed:
            raise DataError(
                f"{name}: variable '{key}' is a MATLAB {cls}, not a numeric matrix; save X as a double matrix"
            )
        total += int(np.prod(shape, dtype=np.float64)) * allowed[cls]
    if total > limits.max_zip_uncompressed:
        raise DataError(
            f"{name}: X and y take {megabytes(total)} in memory, above the limit of "
            f"{megabytes(limits.max_zip_uncompressed)} (max_zip_uncompressed in adlab.data.upload.LIMITS); "
            "save fewer rows"
        )
    try:
        mat = scipy.io.loadmat(io.BytesIO(data), variable_names=[k for k in (x_key, y_key) if k])
        X = mat[x_key]
        y = mat[y_key] if y_key is not None else None
    except MemoryError:
        raise
    except Exception as err:
        raise DataError(f"{name}: the MAT file is damaged or truncated ({err}); save it again") from err
    if hasattr(X, "toarray"):  # a MATLAB sparse matrix
        X = X.toarray()
        notes.append("X was a sparse matrix: made dense")
    if y is not None and hasattr(y, "toarray"):
        y = y.toarray()
    if y is None and x_key in _X_NAMES:
        notes.append("no variable 'y': loaded without labels")
    return from_arrays(name, "mat", X, y, notes, limits)


def from_arrays(
    name: str, fmt: str, X: np.ndarray, y: np.ndarray | None, notes: list[str], limits: UploadLimits
) -> Upload:
    """Check and convert ``X`` (table or images) and ``y`` into an ``Upload`` (see the module docstring)."""
    X = np.asarray(X)
    _check_dtype(name, "X", X.dtype)
    if X.ndim == 3 and X.shape[-1] in (3, 4):
        raise DataError(
            f"{name}: X has shape {X.shape}, which is ambiguous (one colour image, or {X.shape[0]} images of "
            f"{X.shape[1]}×{X.shape[2]}?); save images as (N, C, H, W)"
        )
    if X.ndim == 3:
        X = X[:, None]  # (N, H, W) -> (N, 1, H, W)
        notes.append("X of shape (N, H, W) read as N grayscale images")
    elif X.ndim == 4 and X.shape[1] not in (1, 3):
        if X.shape[3] not in (1, 3):
            raise DataError(
                f"{name}: X has shape {X.shape}: images need 1 or 3 channels, as (N, C, H, W) or (N, H, W, C)"
            )
        X = X.transpose(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
        notes.append("X of shape (N, H, W, C) transposed to (N, C, H, W)")
    elif X.ndim not in (2, 4):
        raise DataError(
            f"{name}: X has shape {X.shape} ({X.ndim}-D); adlab takes a table (rows, features) or images "
            "(N, C, H, W)" + (", e.g. X.reshape(-1, 1) for one feature" if X.ndim == 1 else "")
        )
    if 0 in X.shape:
        raise DataError(f"{name}: X has shape {X.shape}, with no values; save the data itself")
    kind = "tabular" if X.ndim == 2 else "image"
    n = X.shape[0]
    if kind == "tabular":
        if n > limits.max_rows:
            raise DataError(
                f"{name}: X has {n} rows, above the limit of {limits.max_rows} "
                "(max_rows in adlab.data.upload.LIMITS); save fewer rows"
            )
        if X.shape[1] > limits.max_features:
            raise DataError(
                f"{name}: X has {X.shape[1]} features, above the limit of {limits.max_features} "
                "(max_features in adlab.data.upload.LIMITS); keep fewer features"
            )
    else:
        if n > limits.max_images:
            raise DataError(
                f"{name}: X holds {n} images, above the limit of {limits.max_images} "
                "(max_images in adlab.data.upload.LIMITS); save fewer images"
            )
        if max(X.shape[2:]) > limits.max_image_side:
            raise DataError(
                f"{name}: images of {X.shape[2]}×{X.shape[3]} are larger than {limits.max_image_side} px per side "
                "(max_image_side in adlab.data.upload.LIMITS); shrink them before saving"
            )
    if n < limits.min_rows:
        raise DataError(f"{name}: X has {plural(n, 'row')}; adlab needs at least {limits.min_rows}; add rows")
    if X.size > limits.max_values:
        raise DataError(
            f"{name}: X holds {X.size} numbers, above the limit of {limits.max_values} "
            "(max_values in adlab.data.upload.LIMITS); save fewer rows"
        )
    if X.dtype.kind == "b":
        notes.append("X was boolean: read as 0/1")
    with np.errstate(over="ignore", invalid="ignore"):
        values = X.astype(np.float32)
    bad = ~np.isfinite(values)
    if bad.any():
        where = np.argwhere(bad)[0]
        raise DataError(
            f"{name}: X holds {int(bad.sum())} NaN or infinite values (or numbers too large for float32), "
            f"first at index {tuple(int(i) for i in where)}; fill in or drop them before saving"
        )
    if kind == "image":
        low, high = float(values.min()), float(values.max())
        if X.dtype == np.uint8:
            values /= 255.0
        elif X.dtype.kind in "iu" and low >= 0 and high <= 255 and high > 1:
            values /= 255.0
            notes.append(f"integer image values 0..{high:g} divided by 255")
        elif low < 0.0 or high > 1.0:
            values = (values - low) / (high - low) if high > low else np.zeros_like(values)
            notes.append(f"image values ran from {low:g} to {high:g}: min-max scaled to [0, 1]")
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
        raise DataError(f"{name}: y has shape {y.shape}; save one label per row of X, shape ({n},)")
    if len(y) != n:
        raise DataError(f"{name}: X has {n} rows but y has {len(y)} labels; save one label per row of X")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise DataError(f"{name}: y holds {int((~np.isfinite(y)).sum())} NaN or infinite labels; fix them")
    if y.dtype.kind == "S":
        y = np.char.decode(y, "utf-8", errors="replace")
    return encode_labels(y)
