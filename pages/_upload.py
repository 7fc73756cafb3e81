"""The sidebar's "Your data": upload a file once, use it on every loss and detector page and on Compare.

Parsing is :func:`adlab.data.load_upload` (the CLI's ``--data FILE`` uses the same function); this
module only draws the uploader and its options and keeps the parsed file in session state under
``"upload"`` as ``{"key": "upload:<digest>", "name", "upload", "dataset", "error"}`` (``"error"``: the
loader's :class:`~adlab.data.DataError`, whose ``str`` is the English message; a page says it in its
language with ``adlab.i18n.message(entry["error"], lang)``). The digest covers the bytes and the options,
so a link that names it is restored only with the same file and choices. The option values are
language-neutral (``AUTO``, ``NONE``, column names, ``"keep"`` and sizes); only their labels are translated.
"""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from adlab import i18n
from adlab.data import LIMITS, DataError, load_upload, sniff_columns

try:
    from pages import _i18n as i18n_ui
    from pages import _state as state
except ImportError:  # a page file run on its own (AppTest)
    import _i18n as i18n_ui
    import _state as state

t = i18n_ui.t

TYPES = ["csv", "tsv", "txt", "npz", "npy", "mat", "zip"]
AUTO, NONE = "(guess)", "(no labels)"  # the label box's own values (kept in links); shown in the session's language
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
            entry = {"key": key, "name": name, "upload": None, "dataset": None, "error": err}
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


def _label_option(value: str) -> str:
    """The label box shows its two choices in the session's language and a column by its own name."""
    return {AUTO: t("upload.sidebar.auto"), NONE: t("upload.sidebar.none")}.get(value, value)


def _size_option(value: str | int) -> str:
    return t("upload.sidebar.keep") if value == "keep" else str(value)


def sidebar() -> None:
    """The uploader, its options (label column; image size), and what the loader made of the file."""
    lang = i18n_ui.lang()
    st.subheader(t("upload.sidebar.title"))
    file = st.file_uploader(
        t("upload.sidebar.file"), type=TYPES, key="upload_file",
        help=t("upload.sidebar.file_help", mb=LIMITS.max_bytes // 2**20, rows=LIMITS.max_rows,
               features=LIMITS.max_features, images=LIMITS.max_images))
    if file is None:
        st.session_state.pop("upload", None)
        return
    suffix = file.name.rsplit(".", 1)[-1].lower() if "." in file.name else ""
    options: dict[str, Any] = {}
    if suffix in ("csv", "tsv", "txt"):
        try:
            columns = _columns(file)
        except DataError as err:
            st.error(i18n.message(err, lang))
            st.session_state["upload"] = {"key": None, "name": file.name, "upload": None, "error": err}
            return
        choice = st.selectbox(t("upload.sidebar.label_column"), [AUTO, NONE, *columns], key="upload_label",
                              format_func=_label_option, on_change=state.keep("upload_label"),
                              help=t("upload.sidebar.label_column_help", auto=_label_option(AUTO)))
        options["label_column"] = {AUTO: "auto", NONE: None}.get(choice, choice)
    elif suffix == "zip":
        size = st.select_slider(t("upload.sidebar.resize"), SIZES, value="keep", key="upload_size",
                                format_func=_size_option, on_change=state.keep("upload_size"),
                                help=t("upload.sidebar.resize_help"))
        if size != "keep":
            options["image_size"] = int(size)
    # every rerun of every page passes here: read, hash and parse the bytes once per upload and options
    source = (file.file_id, tuple(sorted(options.items())))
    entry = st.session_state.get("upload")
    if entry is None or entry.get("source") != source:
        entry = store(file.name, file.getvalue(), **options)
        entry["source"] = source
    if entry["upload"] is None:
        st.error(i18n.message(entry["error"], lang))
        return
    upload = entry["upload"]
    st.success(upload.describe(lang), icon=":material/check_circle:")
    if upload.y is None:
        st.caption(t("upload.sidebar.no_labels"))
    else:
        st.caption(t("upload.sidebar.pick", name=file.name))
