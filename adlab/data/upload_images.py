"""ZIP-of-images uploads: one folder per class (``cat/001.png``, optionally under one top folder).

The archive's directory is vetted before any member is read (``upload_base.open_zip``: unsafe paths,
links, encryption, entry count; ``check_expansion``: total size, zip bombs); each member is read with
a hard cap and each image's size is checked from its header before its pixels are decoded. Images
without class folders load unlabelled; ``normal/`` beside ``abnormal/`` (or ``anomalous/``,
``anomaly/``, ``anomalies/``) puts ``normal`` first.
"""

from __future__ import annotations

import io
import warnings
from pathlib import PurePosixPath

import numpy as np
from PIL import Image, UnidentifiedImageError

from .types import DataError, Text
from .upload_base import (
    Upload,
    UploadLimits,
    check_expansion,
    megabytes,
    natural_key,
    open_zip,
    pickle_refusal,
    plural,
    read_member,
)

__all__ = ["IMAGE_EXTENSIONS", "read_image_zip"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_PIL_FORMATS = ["PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"]  # decoders allowed, whatever the extension says
_ARCHIVES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".npz")
_MODELS = (".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".joblib")
_ANOMALY_NAMES = ("abnormal", "anomalous", "anomaly", "anomalies")
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "F")


def _layout(name: str, paths: list[tuple[str, ...]], notes: list[str]) -> list[str] | None:
    """Class name per image path (after dropping one shared top folder), or None when unlabelled."""
    tops = {p[0] for p in paths}
    if len(tops) == 1 and all(len(p) >= 3 for p in paths):
        notes.append(Text("upload.note.top_folder", folder=paths[0][0]))
        paths = [p[1:] for p in paths]
    at_top = [p for p in paths if len(p) == 1]
    if len(at_top) == len(paths):
        notes.append(Text("upload.note.no_class_folders"))
        return None
    if at_top:
        in_folder = next(p for p in paths if len(p) > 1)
        raise DataError.say("upload.error.images_top_and_folders", name=name, top=at_top[0][0],
                            folder="/".join(in_folder))
    return [p[0] for p in paths]


def _class_order(classes: set[str], notes: list[str]) -> tuple[str, ...]:
    order = sorted(classes, key=natural_key)
    anomalous = [c for c in order if c.lower() in _ANOMALY_NAMES]
    normal = [c for c in order if c.lower() == "normal"]
    if normal and anomalous:
        order = normal + [c for c in order if c not in normal]
        notes.append(Text("upload.note.normal_layout", normal=normal[0], anomalous=repr(anomalous[0])))
    elif len(order) == 1:
        notes.append(Text("upload.note.one_class", folder=order[0]))
    return tuple(order)


def _decode(name: str, path: str, raw: bytes, image_size: int | None, limits: UploadLimits):
    """One image -> (float32 HxW or HxWx3 in [0, 1], "gray" | "colour", original (W, H), converted mode or None)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own pixel cap is lower
            img = Image.open(io.BytesIO(raw), formats=_PIL_FORMATS)
        w, h = img.size
        if w * h > limits.max_image_pixels:
            raise DataError.say("upload.error.image_pixels", name=name, path=path, w=w, h=h,
                                limit=limits.max_image_pixels)
        if image_size is None and max(w, h) > limits.max_image_side:
            raise DataError.say("upload.error.image_side", name=name, path=path, w=w, h=h,
                                limit=limits.max_image_side)
        img.load()
    except (DataError, MemoryError):
        raise
    except Exception as err:  # Pillow raises many types on damaged images (OSError, SyntaxError, struct.error, ...)
        reason = Text("upload.piece.not_an_image") if isinstance(err, UnidentifiedImageError) else str(err)
        raise DataError.say("upload.error.image_unreadable", name=name, path=path, reason=reason) from err
    mode, converted = img.mode, None
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(img, dtype=np.float32) / 65535.0  # 16-bit grayscale
        kind = "gray"
    elif mode in _GRAY_MODES:
        converted = None if mode in ("1", "L") else mode
        arr = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
        kind = "gray"
    else:
        converted = None if mode == "RGB" else mode
        arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0  # (H, W, 3)
        kind = "colour"
        if mode == "P" and (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all():
            arr, kind = arr[..., 0], "gray"  # a palette of greys
    if image_size is not None and (w, h) != (image_size, image_size):
        channels = [arr] if arr.ndim == 2 else [np.ascontiguousarray(arr[..., c]) for c in range(arr.shape[2])]
        resized = [  # each channel as a float32 ("F") image, resized with antialiasing
            np.asarray(Image.fromarray(c).resize((image_size, image_size), Image.Resampling.BILINEAR))
            for c in channels
        ]
        arr = resized[0] if arr.ndim == 2 else np.stack(resized, axis=-1)
    return np.clip(arr, 0.0, 1.0), kind, (w, h), converted


def read_image_zip(name: str, data: bytes, *, image_size: int | None, limits: UploadLimits) -> Upload:
    """A ZIP of images -> ``Upload`` with ``X`` float32 ``(n, C, H, W)`` in ``[0, 1]`` (C 1 or 3)."""
    zf, infos = open_zip(name, data, limits)
    images, skipped_hidden, skipped_other = [], 0, []
    for info in infos:
        path = PurePosixPath(info.filename)
        lower = info.filename.lower()
        if lower.endswith(_MODELS):
            raise DataError.say("upload.error.zip_model", name=name, member=info.filename, refusal=pickle_refusal())
        if lower.endswith(_ARCHIVES):
            raise DataError.say("upload.error.zip_archive", name=name, member=info.filename)
        if info.is_dir():
            continue
        if path.parts[0] == "__MACOSX" or any(p.startswith(".") for p in path.parts):
            skipped_hidden += 1
        elif lower.endswith(IMAGE_EXTENSIONS):
            images.append(info)
        else:
            skipped_other.append(info.filename)
    notes: list[str] = []
    if skipped_hidden:
        notes.append(Text("upload.note.hidden", k=skipped_hidden))
    if skipped_other:
        shown = ", ".join(skipped_other[:3]) + (" …" if len(skipped_other) > 3 else "")
        notes.append(Text("upload.note.not_images", k=len(skipped_other), files=shown))
    if not images:
        raise DataError.say("upload.error.zip_no_images", name=name, extensions=", ".join(IMAGE_EXTENSIONS))
    if len(images) > limits.max_images:
        raise DataError.say("upload.error.zip_images", name=name, n=len(images), limit=limits.max_images)
    if len(images) < limits.min_rows:
        raise DataError.say("upload.error.zip_few_images", name=name, count=plural(len(images), "image"),
                            min=limits.min_rows)
    check_expansion(name, images, limits)
    biggest = max(images, key=lambda i: i.file_size)
    if biggest.file_size > 8 * limits.max_image_pixels:  # 8 bytes a pixel: 16-bit RGBA, uncompressed
        raise DataError.say("upload.error.image_file_size", name=name, path=biggest.filename,
                            size=megabytes(biggest.file_size), limit=limits.max_image_pixels)
    images.sort(key=lambda i: natural_key(i.filename))
    classes = _layout(name, [PurePosixPath(i.filename).parts for i in images], notes)

    X = None
    first = None  # (path, kind, size) of the first image
    converted: dict[str, int] = {}
    resized = 0
    for k, info in enumerate(images):
        arr, kind, size, mode = _decode(name, info.filename, read_member(name, zf, info), image_size, limits)
        if first is None:
            first = (info.filename, kind, size)
            shape = (len(images), 1 if arr.ndim == 2 else 3, *arr.shape[:2])  # (n, C, H, W)
            if int(np.prod(shape)) > limits.max_values:
                raise DataError.say("upload.error.image_values", name=name, n=len(images), c=shape[1], h=shape[2],
                                    w=shape[3], values=int(np.prod(shape)), limit=limits.max_values)
            X = np.empty(shape, dtype=np.float32)
        elif kind != first[1]:
            raise DataError.say("upload.error.image_modes", name=name, first=first[0],
                                first_kind=Text(f"upload.piece.{first[1]}"), path=info.filename,
                                kind=Text(f"upload.piece.{kind}"))
        elif image_size is None and size != first[2]:
            raise DataError.say("upload.error.image_sizes", name=name, first=first[0], first_w=first[2][0],
                                first_h=first[2][1], path=info.filename, w=size[0], h=size[1])
        resized += image_size is not None and size != (image_size, image_size)
        if mode is not None:
            converted[mode] = converted.get(mode, 0) + 1
        X[k] = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)  # (C, H, W)
    if converted:
        modes = ", ".join(f"{c} {m}" for m, c in converted.items())
        notes.append(Text("upload.note.converted_gray" if first[1] == "gray" else "upload.note.converted_rgb",
                          modes=modes))
    if resized:
        notes.append(Text("upload.note.resized", k=resized, size=image_size))

    y, class_names = None, ()
    if classes is not None:
        class_names = _class_order(set(classes), notes)
        index = {c: i for i, c in enumerate(class_names)}
        y = np.array([index[c] for c in classes], dtype=np.int64)
    return Upload(X=X, y=y, class_names=class_names, kind="image", name=name, format="zip", notes=tuple(notes))

