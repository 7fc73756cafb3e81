"""The sidebar's "Your data": upload a file once, use it on every loss and detector page and on Compare.

Parsing is :func:`adlab.data.load_upload` (the CLI's ``--data FILE`` uses the same function); this
module only draws the uploader and its options and keeps the parsed file in session state under
``"upload"`` as ``{"key": "upload:<digest>", "name", "upload", "dataset", "error"}``. The digest covers
the bytes and the options, so a link that names it is restored only with the same file and choices.
"""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from adlab.data import LIMITS, DataError, load_upload, sniff_columns

try:
    from pages import _state as state
except ImportError:  # a page file run on its own (AppTest)
    import _state as state

TYPES = ["csv", "tsv", "txt", "npz", "npy", "mat", "zip"]
AUTO, NONE = "(guess)", "(no labels)"
SIZES = ["keep", 8, 16, 28, 32, 64]


def digest(name: str, data: bytes, options: dict[str, Any]) -> str:
    """``upload:<12 hex>`` from the file's bytes and the loader options."""
    h = hashlib.sha256(data)
    h.update(repr(sorted(options.items())).encode())
    return f"upload:{h.hexdigest()[:12]}"


def store(name: str, data: bytes, **options: Any) -> dict[str, Any]:
    """Parse a file (once per file and options) and keep it in session state; returns the entry."""
    key = digest(name, data, options)
    entry = st.session_state.get("upload")
    if entry is None or entry.get("key") != key:
        try:
            upload = load_upload(name, data, **options)
        except DataError as err:
            entry = {"key": key, "name": name, "upload": None, "dataset": None, "error": str(err)}
        else:
            entry = {"key": key, "name": name, "upload": upload, "dataset": None, "error": None}
        st.session_state["upload"] = entry
    return entry


def _columns(file: Any) -> tuple[str, ...]:
    """The header of an uploaded table, read once per upload (``DataError`` for a file that is no table)."""
    memo = st.session_state.get("_upload_columns")
    if memo is None or memo[0] != file.file_id:
        try:
            memo = (file.file_id, sniff_columns(file.name, file.getvalue()), None)
        except DataError as err:
            memo = (file.file_id, (), err)
        st.session_state["_upload_columns"] = memo
    if memo[2] is not None:
        raise memo[2]
    return memo[1]


def sidebar() -> None:
    """The uploader, its options (label column; image size), and what the loader made of the file."""
    st.subheader("Your data")
    file = st.file_uploader(
        "A CSV/TSV, NPZ/NPY, MATLAB .mat (ODDS) file or a ZIP of images", type=TYPES, key="upload_file",
        help="Labels: a CSV column; arrays X and y in NPZ/MAT (ODDS: y = 1 anomalous); a ZIP with one folder "
             "per class, or normal/ and abnormal/. Limits: "
             f"{LIMITS.max_bytes // 2**20} MB, {LIMITS.max_rows:,} rows, {LIMITS.max_features:,} features, "
             f"{LIMITS.max_images:,} images. Nothing in the file is executed; pickles and model files are refused.")
    if file is None:
        st.session_state.pop("upload", None)
        return
    suffix = file.name.rsplit(".", 1)[-1].lower() if "." in file.name else ""
    options: dict[str, Any] = {}
    if suffix in ("csv", "tsv", "txt"):
        try:
            columns = _columns(file)
        except DataError as err:
            st.error(str(err))
            st.session_state["upload"] = {"key": None, "name": file.name, "upload": None, "error": str(err)}
            return
        choice = st.selectbox("Label column", [AUTO, NONE, *columns], key="upload_label",
                              on_change=state.keep("upload_label"),
                              help="Its values become the classes; pick which are normal on each page. "
                                   f"{AUTO}: a column named y, label, class, target, anomaly or outlier.")
        options["label_column"] = {AUTO: "auto", NONE: None}.get(choice, choice)
    elif suffix == "zip":
        size = st.select_slider("Resize images to", SIZES, value="keep", key="upload_size",
                                on_change=state.keep("upload_size"),
                                help="Images must share one size; pick a side length to resize them all.")
        if size != "keep":
            options["image_size"] = int(size)
    # every rerun of every page passes here: read, hash and parse the bytes once per upload and options
    source = (file.file_id, tuple(sorted(options.items())))
    entry = st.session_state.get("upload")
    if entry is None or entry.get("source") != source:
        entry = store(file.name, file.getvalue(), **options)
        entry["source"] = source
    if entry["upload"] is None:
        st.error(entry["error"])
        return
    upload = entry["upload"]
    st.success(upload.describe(), icon=":material/check_circle:")
    if upload.y is None:
        st.caption("No labels: the detector pages and Compare can score every row (no AUROC). To train on normal "
                   "rows and evaluate, choose a label column (CSV), add y (NPZ/MAT), or use class folders (ZIP).")
    else:
        st.caption(f"Pick **your file: {file.name}** in the Dataset box of a page.")
