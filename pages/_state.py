"""Shareable state: a page's settings live in the URL, like TensorFlow Playground, and a presenter mode.

* :func:`restore` (once per session and page, before any widget is drawn) copies the link's query
  parameters into ``st.session_state`` for the widget keys of that page (keys start with the page's
  name, e.g. ``simclr_tau``) and for the app-wide keys ``device`` and ``present``.
* :func:`sync` writes the current values of those keys back into the URL (``st.query_params``), so the
  address bar always holds a link that reproduces the view; it also warns once when the link asked
  for something the page could not use (Streamlit silently falls back for unknown options).
* Values are JSON (``["1","2"]``, ``0.2``, ``true``); a plain string that is not JSON is kept as it is
  (``simclr_dataset=digits``).

Nothing here computes: re-running a restored page gives the same numbers because every run is seeded
by the seed in the link and runs on the device in the link.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import streamlit as st

GLOBAL_KEYS = ("device", "present", "upload_label", "upload_size")
_DEFAULTS = {"device": "auto", "present": False, "upload_label": "(guess)", "upload_size": "keep"}
# keys whose values are not settings: buttons, stored results, internal flags
_SKIP_SUFFIXES = ("_train", "_run", "_runs", "_results", "_add", "_twin", "_figures", "_fits")
_RESTORED = "_url_restored"  # session_state: {page: {key: value}}
_WARNED = "_url_warned"


def encode(value: Any) -> str:
    """A query-parameter string for a widget value (JSON, except plain strings that are not JSON)."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
    return json.dumps(value)


def decode(text: str) -> Any:
    """The inverse of :func:`encode`."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _shareable(key: str, value: Any, page: str) -> bool:
    if (not isinstance(key, str) or key.endswith(_SKIP_SUFFIXES) or key.startswith(("_", "FormSubmitter"))
            or "_dl_" in key):
        return False
    if not (key in GLOBAL_KEYS or key.startswith(f"{page}_")):
        return False
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, (str, int, float, bool)) for v in value)
    return isinstance(value, (str, int, float, bool)) and value is not None


def restore(page: str, *, check: Callable[[str, Any], str | None] | None = None) -> dict[str, Any]:
    """Copy the link's settings for ``page`` into session state, once per session; returns what it set.

    ``check(key, value)`` returns why a value cannot be restored (shown as a warning; e.g. a dataset
    that was an uploaded file), or None.
    """
    done = st.session_state.setdefault(_RESTORED, {})
    if page in done:
        return done[page]
    restored: dict[str, Any] = {}
    for key, text in st.query_params.to_dict().items():
        value = decode(text)
        if not _shareable(key, value, page):
            continue
        if key in GLOBAL_KEYS and key in st.session_state:  # app.py restored it before drawing its widget
            continue
        reason = check(key, value) if check is not None else None
        if reason:
            st.warning(reason)
            continue
        st.session_state[key] = value
        restored[key] = value
    done[page] = restored
    return restored


def sync(page: str) -> None:
    """Put ``page``'s current settings into the URL and warn once about link values that were not used."""
    current = {k: v for k, v in st.session_state.items() if _shareable(k, v, page)}
    dataset = current.get(f"{page}_dataset")
    if isinstance(dataset, str):  # class choices of the other datasets are not part of this view
        current = {k: v for k, v in current.items()
                   if not (k.startswith((f"{page}_normal_", f"{page}_anomalous_")) and not k.endswith(f"_{dataset}"))}
    wanted = {k: encode(list(v) if isinstance(v, tuple) else v) for k, v in sorted(current.items())
              if not (k in _DEFAULTS and v == _DEFAULTS[k])}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
    restored = st.session_state.get(_RESTORED, {}).get(page, {})
    warned = st.session_state.setdefault(_WARNED, set())
    lost = [k for k, v in restored.items() if k in current and _normal(current[k]) != _normal(v) and k not in warned]
    if lost:
        warned.update(lost)
        st.warning("The link asked for settings this page cannot use, so they were reset: "
                   + "; ".join(f"`{k}` = {encode(restored[k])} (now {encode(current[k])})" for k in lost)
                   + ". The options may differ on this version of the app or for this dataset.")


def _normal(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return value


# ----------------------------------------------------------------------------- presenter mode
def presenting() -> bool:
    """Presenter mode: from the sidebar toggle, or ``?present=true`` in the link."""
    if "present" in st.session_state:
        return bool(st.session_state["present"])
    return decode(st.query_params.get("present", "false")) is True


PRESENTER_CSS = """
<style>
header[data-testid="stHeader"] {display: none;}
[data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"] {display: none;}
.block-container {padding-top: 1.2rem; max-width: 100%;}
.stMarkdown p, .stMarkdown li {font-size: 1.2rem;}
</style>
"""


def presenter_css() -> None:
    """Hide Streamlit's header and toolbar and enlarge the text (call on every run in presenter mode)."""
    if presenting():
        st.html(PRESENTER_CSS)


def scale_figure(fig, factor: float = 1.3):
    """A copy of a plotly figure with every font ``factor`` times larger and ``factor`` times taller."""
    import plotly.graph_objects as go

    fig = go.Figure(fig)
    layout = fig.layout
    base = layout.font.size or 16
    fig.update_layout(font_size=round(base * factor))
    if layout.title.font.size:
        fig.update_layout(title_font_size=round(layout.title.font.size * factor))
    if layout.legend.font.size:
        fig.update_layout(legend_font_size=round(layout.legend.font.size * factor))
    fig.for_each_annotation(lambda a: a.update(font_size=round((a.font.size or base) * factor)))
    if layout.height:
        fig.update_layout(height=round(layout.height * factor))
    return fig
