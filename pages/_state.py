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

GLOBAL_KEYS = ("device", "present", "lang", "upload_label", "upload_size")
_DEFAULTS = {"device": "auto", "present": False, "upload_label": "(guess)", "upload_size": "keep"}
# keys whose values are not settings: buttons, stored results, internal flags. Keys that start with "_"
# are never settings either; a button's key must end with one of these suffixes or hold one of the
# markers, because a link is restored before any widget exists (tests/test_url_state.py checks every
# page's buttons against this).
_SKIP_SUFFIXES = ("_train", "_run", "_runs", "_results", "_add", "_twin", "_figures", "_fits", "_leave")
_SKIP_MARKERS = ("_dl_", "_preset_", "_btn_")
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


def setting_key(key: Any) -> bool:
    """Whether a session-state key may be a setting at all (buttons, results and internals never are)."""
    return (isinstance(key, str) and not key.endswith(_SKIP_SUFFIXES) and not key.startswith(("_", "FormSubmitter"))
            and not any(marker in key for marker in _SKIP_MARKERS))


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and value is not None


def _shareable(key: str, value: Any, page: str) -> bool:
    if not setting_key(key) or not (key in GLOBAL_KEYS or key.startswith(f"{page}_")):
        return False
    if isinstance(value, (list, tuple)):  # a multiselect, or a table of numbers (the distance page's points)
        return all(_scalar(v) or (isinstance(v, (list, tuple)) and all(_scalar(w) for w in v)) for v in value)
    return _scalar(value)


def _trigger_keys() -> set[str]:
    """The keys of this session's button-like widgets (their values are events, not settings).

    Reads Streamlit's widget metadata; any failure there (another Streamlit version) gives none:
    the naming rule of :func:`setting_key` still keeps buttons out.
    """
    try:
        from streamlit.runtime.state import get_session_state

        inner = get_session_state()._state
        metadata = inner._new_widget_state.widget_metadata
        return {key for widget_id, key in inner._key_id_mapper.id_key_mapping.items()
                if widget_id in metadata and str(metadata[widget_id].value_type).endswith("trigger_value")}
    except Exception:  # noqa: BLE001 - private API: fall back to the naming rule
        return set()


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
    triggers = _trigger_keys()
    current = {k: v for k, v in st.session_state.items() if _shareable(k, v, page) and k not in triggers}
    dataset = current.get(f"{page}_dataset")
    if isinstance(dataset, str):  # class choices of the other datasets are not part of this view
        current = {k: v for k, v in current.items()
                   if not (k.startswith((f"{page}_normal_", f"{page}_anomalous_")) and not k.endswith(f"_{dataset}"))}
    wanted = {k: encode(_plain(v)) for k, v in sorted(current.items())
              if not (k in _DEFAULTS and v == _DEFAULTS[k])}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
    restored = st.session_state.get(_RESTORED, {}).get(page, {})
    warned = st.session_state.setdefault(_WARNED, set())
    lost = [k for k, v in restored.items() if k in current and _normal(current[k]) != _normal(v) and k not in warned]
    if lost:
        warned.update(lost)
        t = _i18n().t
        items = "; ".join(t("common.state.lost_item", key=k, asked=encode(restored[k]), now=encode(current[k]))
                          for k in lost)
        st.warning(t("common.state.lost", items=items))


def _i18n():
    """:mod:`pages._i18n`, imported when first needed (it imports this module)."""
    try:
        from pages import _i18n as i18n_ui
    except ImportError:  # a page file run on its own (AppTest)
        import _i18n as i18n_ui
    return i18n_ui


def _plain(value: Any) -> Any:
    """Tuples as lists, at any depth (JSON has no tuples)."""
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def _normal(value: Any) -> Any:
    """A value in a form that compares equal whether it came from a link (JSON) or from a widget."""
    if isinstance(value, (list, tuple)):
        return [_normal(v) if isinstance(v, (list, tuple)) else _item(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return value


def _item(value: Any) -> str:
    try:
        return repr(float(value)) if not isinstance(value, bool) else str(value)
    except (TypeError, ValueError):
        return str(value)


# ----------------------------------------------------------------------------- app-wide widgets
def _shadow(key: str) -> str:
    return f"_kept_{key}"


def keep(key: str) -> Callable[[], None]:
    """Keep an app-wide widget's value (``device``, ``present``) across pages; call before drawing it.

    Streamlit can drop a widget's value on a page switch (seen on a server's first session: presenter
    mode fell off at the first *Next*). A plain session key is never dropped, so it holds the value and
    is copied into the widget before the widget is drawn; pass the returned callable as ``on_change``.
    """
    ss = st.session_state
    if _shadow(key) in ss:
        ss[key] = ss[_shadow(key)]
    elif key in ss:
        ss[_shadow(key)] = ss[key]

    def changed() -> None:
        ss[_shadow(key)] = ss[key]

    return changed


def set_kept(key: str, value: Any) -> None:
    """Change a kept app-wide setting from code: in a widget's callback (``on_click``), which runs before the
    setting's own widget is drawn (after it, Streamlit refuses the change)."""
    st.session_state[_shadow(key)] = value
    st.session_state[key] = value


# ----------------------------------------------------------------------------- presenter mode
def presenting() -> bool:
    """Presenter mode: from the sidebar toggle, or ``?present=true`` in the link."""
    for key in (_shadow("present"), "present"):
        if key in st.session_state:
            return bool(st.session_state[key])
    return decode(st.query_params.get("present", "false")) is True


PRESENTER_CSS = """
<style>
/* the header stays (its button opens the sidebar again); its toolbar and the running man go */
header[data-testid="stHeader"] {background: transparent;}
[data-testid="stToolbarActions"], [data-testid="stMainMenu"], [data-testid="stAppDeployButton"],
[data-testid="stDecoration"], [data-testid="stStatusWidget"] {display: none;}
.block-container {padding-top: 2.6rem; max-width: 100%;}
/* everything a room reads, enlarged together: text, captions, labels, expander titles, metrics, tables */
.stMarkdown p, .stMarkdown li, [data-testid="stCaptionContainer"] {font-size: 1.25rem;}
[data-testid="stWidgetLabel"] p, [data-testid="stWidgetLabel"] {font-size: 1.2rem;}
[data-testid="stExpander"] summary p, [data-testid="stExpander"] summary {font-size: 1.3rem;}
[data-testid="stMetricLabel"] p {font-size: 1.2rem;}
[data-testid="stMetricValue"] {font-size: 2.6rem;}
[data-testid="stDataFrame"], [data-testid="stTable"] {zoom: 1.25;}
[data-testid="stSelectbox"] div[data-baseweb="select"], [data-testid="stNumberInput"] input {font-size: 1.15rem;}
/* the presenter bar: previous / next page and the way out stay at the top of the screen */
/* (sticky on the wrapper Streamlit puts around the container: the wrapper's parent is the whole page) */
div:has(> .st-key-adlab_presenter_bar) {position: sticky; top: 0; z-index: 999990;}
.st-key-adlab_presenter_bar {background: #ffffff; border-bottom: 1px solid #e6e6e6; padding: 0.25rem 0 0.35rem 0;}
.st-key-adlab_presenter_bar p {font-size: 1.1rem;}
</style>
"""
# the tallest a figure may be in presenter mode: a before/after pair fits a 1280×720 screen with the bar
PRESENTER_MAX_HEIGHT = 560


def presenter_css() -> None:
    """Hide Streamlit's header and toolbar and enlarge the text (call on every run in presenter mode)."""
    if presenting():
        st.html(PRESENTER_CSS)


def scale_figure(fig, factor: float = 1.3):
    """A copy of a plotly figure with every font ``factor`` times larger and ``factor`` times taller.

    Taller only up to :data:`PRESENTER_MAX_HEIGHT` (a figure already taller keeps its height), so the
    main figure of a page still fits a 1280×720 projector under the presenter bar.
    """
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
        fig.update_layout(height=min(round(layout.height * factor), max(layout.height, PRESENTER_MAX_HEIGHT)))
    return fig
