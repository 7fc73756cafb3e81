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

from .types import DataError
from .upload_base import (
    PICKLE_REFUSAL,
    Upload,
    UploadLimits,
    check_expansion,
    megabytes,
    natural_key,
    open_zip,
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
_LIMITS = "adlab.data.upload.LIMITS"


def _layout(name: str, paths: list[tuple[str, ...]], notes: list[str]) -> list[str] | None:
    """Class name per image path (after dropping one shared top folder), or None when unlabelled."""
    tops = {p[0] for p in paths}
    if len(tops) == 1 and all(len(p) >= 3 for p in paths):
        notes.append(f"ignored the top folder '{paths[0][0]}/'")
        paths = [p[1:] for p in paths]
    at_top = [p for p in paths if len(p) == 1]
    if len(at_top) == len(paths):
        notes.append("the images sit at the top level, with no class folders: loaded without labels")
        return None
    if at_top:
        in_folder = next(p for p in paths if len(p) > 1)
        raise DataError(
            f"{name}: holds images both at the top level (e.g. {at_top[0][0]}) and in folders "
            f"(e.g. {'/'.join(in_folder)}); put every image in a class folder"
        )
    return [p[0] for p in paths]


def _class_order(classes: set[str], notes: list[str]) -> tuple[str, ...]:
    order = sorted(classes, key=natural_key)
    anomalous = [c for c in order if c.lower() in _ANOMALY_NAMES]
    normal = [c for c in order if c.lower() == "normal"]
    if normal and anomalous:
        order = normal + [c for c in order if c not in normal]
        notes.append(f"normal/anomaly layout: '{normal[0]}' is the normal class, {anomalous[0]!r} the anomalies")
    elif len(order) == 1:
        notes.append(f"only one class folder, '{order[0]}': every image has that label")
    return tuple(order)


def _decode(name: str, path: str, raw: bytes, image_size: int | None, limits: UploadLimits):
    """One image -> (float32 HxW or HxWx3 in [0, 1], "gray" | "colour", original (W, H), converted mode or None)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own pixel cap is lower
            img = Image.open(io.BytesIO(raw), formats=_PIL_FORMATS)
        w, h = img.size
        if w * h > limits.max_image_pixels:
            raise DataError(
                f"{name}: {path} is {w}×{h} pixels, above the limit of {limits.max_image_pixels} "
                f"(max_image_pixels in {_LIMITS}); shrink it"
            )
        if image_size is None and max(w, h) > limits.max_image_side:
            raise DataError(
                f"{name}: {path} is {w}×{h}, larger than {limits.max_image_side} px per side (max_image_side in "
                f"{_LIMITS}); choose an image size (resize) in the upload options, or shrink the images"
            )
        img.load()
    except (DataError, MemoryError):
        raise
    except Exception as err:  # Pillow raises many types on damaged images (OSError, SyntaxError, struct.error, ...)
        reason = "not a PNG, JPEG, BMP, GIF, TIFF or WebP image" if isinstance(err, UnidentifiedImageError) else err
        raise DataError(f"{name}: {path} is not a readable image ({reason}); remove it or save it again") from err
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
            raise DataError(f"{name}: holds {info.filename}, which {PICKLE_REFUSAL}")
        if lower.endswith(_ARCHIVES):
            raise DataError(
                f"{name}: holds another archive, {info.filename}; adlab does not open archives inside "
                "archives: unpack it and zip the image folders directly"
            )
        if info.is_dir():
            continue
        if path.parts[0] == "__MACOSX" or any(p.startswith(".") for p in path.parts):
            skipped_hidden += 1
        elif lower.endswith(IMAGE_EXTENSIONS):
            images.append(info)
        else:
            skipped_other.append(info.filename)
    notes = []
    if skipped_hidden:
        notes.append(f"ignored {skipped_hidden} hidden or __MACOSX file(s)")
    if skipped_other:
        shown = ", ".join(skipped_other[:3]) + (" …" if len(skipped_other) > 3 else "")
        notes.append(f"ignored {len(skipped_other)} file(s) that are not images: {shown}")
    if not images:
        raise DataError(
            f"{name}: holds no images ({', '.join(IMAGE_EXTENSIONS)}); zip one folder of images per class"
        )
    if len(images) > limits.max_images:
        raise DataError(
            f"{name}: holds {len(images)} images, above the limit of {limits.max_images} "
            f"(max_images in {_LIMITS}); upload fewer"
        )
    if len(images) < limits.min_rows:
        raise DataError(
            f"{name}: holds {plural(len(images), 'image')}; adlab needs at least {limits.min_rows}; add images"
        )
    check_expansion(name, images, limits)
    biggest = max(images, key=lambda i: i.file_size)
    if biggest.file_size > 8 * limits.max_image_pixels:  # 8 bytes a pixel: 16-bit RGBA, uncompressed
        raise DataError(
            f"{name}: {biggest.filename} takes {megabytes(biggest.file_size)}, too large for an image of at most "
            f"{limits.max_image_pixels} pixels (max_image_pixels in {_LIMITS}); shrink it"
        )
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
                raise DataError(
                    f"{name}: {len(images)} images of {shape[1]}×{shape[2]}×{shape[3]} make {int(np.prod(shape))} "
                    f"numbers, above the limit of {limits.max_values} (max_values in {_LIMITS}); "
                    "choose a smaller image size or upload fewer images"
                )
            X = np.empty(shape, dtype=np.float32)
        elif kind != first[1]:
            raise DataError(
                f"{name}: mixes grayscale and colour images ({first[0]} is {first[1]}, {info.filename} is "
                f"{kind}); convert them all to grayscale or all to colour"
            )
        elif image_size is None and size != first[2]:
            raise DataError(
                f"{name}: images differ in size ({first[0]} is {first[2][0]}×{first[2][1]}, {info.filename} is "
                f"{size[0]}×{size[1]}); choose an image size (resize) in the upload options"
            )
        resized += image_size is not None and size != (image_size, image_size)
        if mode is not None:
            converted[mode] = converted.get(mode, 0) + 1
        X[k] = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)  # (C, H, W)
    if converted:
        target = "grayscale" if first[1] == "gray" else "RGB"
        modes = ", ".join(f"{c} {m}" for m, c in converted.items())
        notes.append(f"converted to {target}: {modes} image(s) (any transparency dropped)")
    if resized:
        notes.append(f"resized {resized} image(s) to {image_size}×{image_size} (aspect ratio not kept)")

    y, class_names = None, ()
    if classes is not None:
        class_names = _class_order(set(classes), notes)
        index = {c: i for i, c in enumerate(class_names)}
        y = np.array([index[c] for c in classes], dtype=np.int64)
    return Upload(X=X, y=y, class_names=class_names, kind="image", name=name, format="zip", notes=tuple(notes))

