"""Take a run's results away: scores, embeddings, figures, weights, configuration and a run card.

Every function returns ``str`` or ``bytes`` (nothing is written to disk), ready for a download
button or for :func:`bundle_zip`:

* :func:`scores_csv`: one row per test point, ``id,label,is_anomaly,score,split`` (higher score =
  more anomalous), floats written exactly (shortest round-trip ``repr``);
* :func:`projector_tsv` / :func:`embeddings_bundle`: TensorFlow Embedding Projector files
  (https://projector.tensorflow.org, "Load");
* :func:`figure_html` (interactive, offline) and :func:`figures_png` (static, through kaleido and
  a local Chromium; :func:`png_available` says whether one is there);
* :func:`weights_bytes` (a state dict of tensors only, loadable with ``weights_only=True``) and
  :func:`config_json` (pretty JSON of configs, specs and detectors; :mod:`adlab.config_json`);
* :func:`run_card`: a Markdown summary with the paper's number beside ours where one exists
  (:mod:`adlab.run_card`, :mod:`adlab.papers`).
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import shutil
import threading
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
from torch import nn

from adlab.config_json import config_json
from adlab.detectors.base import DeepDetector, Detector
from adlab.run_card import NO_PAPER_NUMBER, run_card

__all__ = [
    "NO_PAPER_NUMBER",
    "ExportError",
    "bundle_zip",
    "config_json",
    "embeddings_bundle",
    "figure_html",
    "figures_png",
    "png_available",
    "projector_tsv",
    "run_card",
    "scores_csv",
    "weights_bytes",
]

#: Where Debian / Ubuntu put Chromium; used when ``BROWSER_PATH`` is unset.
DEFAULT_CHROMIUM = "/usr/bin/chromium"
_BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_PNG_TIMEOUT_S = 60.0


class ExportError(RuntimeError):
    """An export that cannot be made here (no browser for PNGs, a failed render, an unusable name)."""


# ----------------------------------------------------------------------------- scores
def _column(values: Sequence[Any] | np.ndarray, n: int, name: str) -> list[Any]:
    """``values`` as a list of ``n`` items (one per row); ``ValueError`` naming ``name`` otherwise."""
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"{name} must have one value per row, shape ({n},), got {values.shape}")
        values = values.tolist()
    out = list(values)
    if len(out) != n:
        raise ValueError(f"{name} has {len(out)} values but there are {n} rows; pass one per row")
    return out


def scores_csv(
    scores: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    split: Sequence[str] | str = "test",
    ids: Sequence[int] | None = None,
    is_anomaly: np.ndarray | None = None,
) -> str:
    """CSV text with one row per score: ``id,label,is_anomaly,score,split``.

    ``scores`` (n,) floats, higher = more anomalous, written with ``repr`` (shortest text that reads
    back to the same float64; ``nan`` / ``inf`` as such). ``ids`` (n,) integers (default
    ``0..n-1``, the row index in the test set); ``labels`` (n,) class names and ``is_anomaly`` (n,)
    bools (written ``1`` / ``0``) add their columns only when given; ``split`` is one name for all
    rows or (n,) names. Labels are quoted as CSV needs (commas, quotes, newlines).
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores must have shape (n,), got {s.shape}; flatten them first")
    n = len(s)
    id_col = list(range(n)) if ids is None else _column(ids, n, "ids")
    if not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in id_col):
        raise ValueError("ids must be integers (row indices or sample ids)")
    split_col = [split] * n if isinstance(split, str) else _column(split, n, "split")
    header = ["id"]
    columns: list[list[Any]] = [[int(i) for i in id_col]]
    if labels is not None:
        header.append("label")
        columns.append([str(v) for v in _column(labels, n, "labels")])
    if is_anomaly is not None:
        flags = np.asarray(is_anomaly)
        if flags.shape != (n,) or not np.isin(flags, (0, 1)).all():
            raise ValueError(f"is_anomaly must be ({n},) booleans or 0/1, got shape {flags.shape}")
        header.append("is_anomaly")
        columns.append([int(bool(f)) for f in flags])
    header += ["score", "split"]
    columns += [[repr(float(v)) for v in s], [str(v) for v in split_col]]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(zip(*columns, strict=True))
    return buf.getvalue()


# ----------------------------------------------------------------------------- embedding projector
def _tsv_cell(value: Any) -> str:
    text = str(value).replace("\t", " ").replace("\r", " ").replace("\n", " ")
    # the projector skips blank lines, which would shift every later row: never write one
    return text if text.strip() else "(blank)"


def _vectors_tsv(features: np.ndarray, name: str) -> tuple[str, int]:
    F = np.asarray(features)
    if F.ndim != 2 or F.shape[0] == 0 or F.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty (n, d) array, got shape {F.shape}")
    if F.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got dtype {F.dtype}")
    if F.dtype.kind == "f" and F.dtype.itemsize <= 4:
        fmt, F = "%.9g", F.astype(np.float32)  # 9 significant digits read back to the same float32
    else:
        fmt, F = "%.17g", F.astype(np.float64)  # 17 for float64
    if not np.isfinite(F).all():
        bad = int((~np.isfinite(F)).sum())
        raise ValueError(f"{name} holds {bad} NaN or infinite values; the projector cannot read them")
    buf = io.StringIO()
    np.savetxt(buf, F, fmt=fmt, delimiter="\t", newline="\n")
    return buf.getvalue(), len(F)


def _metadata_tsv(metadata: Mapping[str, Sequence[Any]], n: int) -> str:
    if not metadata:
        raise ValueError("metadata needs at least one column, e.g. {'label': class_names}")
    columns = [_column(values, n, f"metadata[{key!r}]") for key, values in metadata.items()]
    rows = [[_tsv_cell(v) for v in row] for row in zip(*columns, strict=True)]
    if len(columns) > 1:  # the projector reads a first line with a tab as the header
        rows.insert(0, [_tsv_cell(key) for key in metadata])
    return "".join("\t".join(row) + "\n" for row in rows)


def projector_tsv(features: np.ndarray, metadata: Mapping[str, Sequence[Any]]) -> tuple[str, str]:
    """``(vectors_tsv, metadata_tsv)`` in the TensorFlow Embedding Projector's format.

    ``features`` (n, d) numbers -> one line per point, ``d`` tab-separated floats, no header
    (float32 with 9 significant digits, anything else as float64 with 17: both read back exactly).
    ``metadata`` ``{column: (n,) values}``: with two or more columns the first line is the header;
    a single column has no header (the projector's rule: a first line without a tab is data). Tabs
    and newlines inside values become spaces; a blank value becomes ``(blank)``, because the
    projector drops blank lines. ``ValueError`` for NaN/inf features or columns of the wrong length.
    """
    vectors, n = _vectors_tsv(features, "features")
    return vectors, _metadata_tsv(metadata, n)


def embeddings_bundle(
    before: np.ndarray | None, after: np.ndarray, metadata: Mapping[str, Sequence[Any]]
) -> dict[str, bytes]:
    """Projector files for the features before and after training, sharing one metadata file.

    ``before`` / ``after`` (n, d_before) / (n, d_after), the same n rows in the same order; returns
    ``{"embeddings_before.tsv", "embeddings_after.tsv", "metadata.tsv"}`` as UTF-8 bytes (the
    first omitted when ``before`` is None).
    """
    after_tsv, n = _vectors_tsv(after, "after")
    files = {}
    if before is not None:
        before_tsv, n_before = _vectors_tsv(before, "before")
        if n_before != n:
            raise ValueError(f"before has {n_before} rows but after has {n}; pass the same points in the same order")
        files["embeddings_before.tsv"] = before_tsv.encode()
    files["embeddings_after.tsv"] = after_tsv.encode()
    files["metadata.tsv"] = _metadata_tsv(metadata, n).encode()
    return files


# ----------------------------------------------------------------------------- figures
def figure_html(fig: go.Figure) -> bytes:
    """A self-contained interactive HTML page of ``fig`` (UTF-8): plotly.js is inlined, so it opens
    offline; nothing is fetched from a CDN (MathJax is left out)."""
    return fig.to_html(include_plotlyjs=True, include_mathjax=False, full_html=True).encode("utf-8")


def _browser_path() -> str | None:
    """The Chromium kaleido should drive: ``BROWSER_PATH``, else /usr/bin/chromium, else on PATH."""
    env = os.environ.get("BROWSER_PATH")
    if env:
        return env if Path(env).is_file() and os.access(env, os.X_OK) else None
    if Path(DEFAULT_CHROMIUM).is_file() and os.access(DEFAULT_CHROMIUM, os.X_OK):
        return DEFAULT_CHROMIUM
    for name in _BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def png_available() -> bool:
    """Whether :func:`figures_png` can run: a Chromium at ``BROWSER_PATH``, /usr/bin/chromium or on PATH."""
    return _browser_path() is not None


def _png_size(fig: go.Figure) -> tuple[int, int]:
    """Width and height in CSS pixels as kaleido lays the figure out (layout, template, 700 x 500)."""
    layout = fig.layout
    width = layout.width or (layout.template.layout.width if layout.template else None) or 700
    height = layout.height or (layout.template.layout.height if layout.template else None) or 500
    return int(width), int(height)


def figures_png(figs: Mapping[str, go.Figure], *, scale: float = 2.0) -> dict[str, bytes]:
    """PNG bytes of each figure, ``{name: png}``, rendered by one Chromium through kaleido.

    Each image is ``(width * scale) x (height * scale)`` pixels, width/height from the figure's
    layout (700 x 500 when unset). Chromium comes from ``BROWSER_PATH``, else /usr/bin/chromium,
    else PATH; MathJax is off and plotly.js is the local copy, so nothing is fetched from the
    network (LaTeX in labels shows as plain text). Takes a few seconds to start the browser.
    Raises :class:`ExportError` when no Chromium is found or a render fails.
    """
    if not (isinstance(scale, (int, float)) and 0 < scale <= 10):
        raise ValueError(f"scale must be a number in (0, 10], got {scale!r}")
    if not figs:
        return {}
    path = _browser_path()
    if path is None:
        where = os.environ.get("BROWSER_PATH") or f"{DEFAULT_CHROMIUM} or on PATH"
        raise ExportError(
            f"PNG export needs Chromium and none was found at {where}; install it "
            "(apt-get install chromium) or set BROWSER_PATH, or download the HTML version instead"
        )
    import kaleido  # heavy (choreographer, logistro): only when PNGs are asked for

    jobs = []
    for name, fig in figs.items():
        width, height = _png_size(fig)
        jobs.append((name, fig, {"format": "png", "width": width, "height": height, "scale": scale}))

    async def render() -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        async with kaleido.Kaleido(path=path, mathjax=False, timeout=_PNG_TIMEOUT_S) as k:
            for name, fig, opts in jobs:
                try:
                    out[name] = await k.calc_fig(fig, opts=opts)
                except Exception as exc:  # noqa: BLE001 - reported with the figure's name
                    raise ExportError(f"rendering figure {name!r} to PNG failed: {exc}") from exc
        return out

    result: dict[str, Any] = {}

    def run() -> None:  # its own thread, so a caller's running event loop does not matter
        try:
            result["value"] = asyncio.run(render())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            result["error"] = exc

    worker = threading.Thread(target=run, name="adlab-png-export", daemon=True)
    worker.start()
    worker.join()
    if "error" in result:
        exc = result["error"]
        if isinstance(exc, ExportError):
            raise exc
        raise ExportError(f"PNG export with the browser at {path} failed: {type(exc).__name__}: {exc}") from exc
    return result["value"]


# ----------------------------------------------------------------------------- weights and config
def weights_bytes(module_or_detector: nn.Module | DeepDetector) -> bytes:
    """``torch.save`` bytes of a state dict holding tensors only (no pickled objects).

    A fitted :class:`DeepDetector` gives the keys its ``save`` writes (``model.*`` and
    ``extra.*``: write them as ``name.pt`` beside ``config_json(detector)`` as ``name.json`` and
    ``type(detector).load("name")`` restores it); an ``nn.Module`` gives its ``state_dict()``.
    Read back with ``torch.load(io.BytesIO(data), weights_only=True)``. ``ValueError`` for a
    shallow detector (no weights) or a module whose state holds non-tensor entries.
    """
    obj = module_or_detector
    if isinstance(obj, DeepDetector):
        state = obj.state_tensors()
    elif isinstance(obj, Detector):
        raise ValueError(f"{type(obj).__name__} has no network weights; export its config and scores instead")
    elif isinstance(obj, nn.Module):
        state = {}
        for key, value in obj.state_dict().items():
            if not isinstance(value, torch.Tensor):
                raise ValueError(
                    f"state_dict entry {key!r} is a {type(value).__name__}, not a tensor; "
                    "it could only be saved by pickling, which weights-only loading refuses"
                )
            state[key] = value.detach().cpu().clone()
    else:
        raise TypeError(f"expected an nn.Module or a fitted DeepDetector, got {type(obj).__name__}")
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


# ----------------------------------------------------------------------------- zip
def _check_member(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"file names must be non-empty strings, got {name!r}")
    parts = name.split("/")
    bad = (
        name.startswith("/")
        or "\\" in name
        or ":" in name
        or "\x00" in name
        or any(part in ("", ".", "..") for part in parts)
    )
    if bad:
        raise ValueError(
            f"unsafe file name {name!r} in the bundle: use relative names such as 'scores.csv' or "
            "'figures/roc.png' (no leading '/', '..', '.', empty parts, backslashes or drive letters)"
        )
    return name


def bundle_zip(files: Mapping[str, bytes | str]) -> bytes:
    """One ZIP (deflated) holding ``{name: content}``; ``str`` contents are stored as UTF-8.

    Names are relative paths with ``/`` between folders; absolute names, ``..`` / ``.`` parts,
    empty parts, backslashes and drive letters raise ``ValueError`` (no path tricks on unzip).
    """
    buf = io.BytesIO()
    stamp = datetime.now().timetuple()[:6]
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            info = zipfile.ZipInfo(_check_member(name), date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            if isinstance(content, str):
                content = content.encode("utf-8")
            elif not isinstance(content, (bytes, bytearray, memoryview)):
                raise TypeError(f"{name!r}: content must be bytes or str, got {type(content).__name__}")
            zf.writestr(info, bytes(content))
    return buf.getvalue()
