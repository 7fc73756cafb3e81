"""The frame of every page: its first call (:func:`begin`), its charts (kept for the downloads, and
shared between sessions when they show the same thing in the same language: :class:`SharedFigures`), the
settings container of presenter mode, the device, the file names of downloads."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st

try:
    from pages import _i18n as i18n_ui
    from pages import _jobs as jobs
    from pages import _state as state
except ImportError:  # a page file run on its own (AppTest)
    import _i18n as i18n_ui
    import _jobs as jobs
    import _state as state
try:
    from pages._data import current_upload
    from pages._shell import ensure_app_shell as ensure_app_shell
except ImportError:  # a page file run on its own (AppTest)
    from _data import current_upload
    from _shell import ensure_app_shell as ensure_app_shell


class SharedFigures:
    """Figures built once per server for the same inputs, shared by every session that shows them.

    Building a plotly figure is most of what a page costs the server (plotly validates every property:
    tens of milliseconds a figure), and sessions are threads of one process: thirty students who open the
    same link, or attach to the same job, would build the same figures thirty times, one after the other.

    :meth:`get` ``(key, build, owner=)``: ``build()``'s figure for ``key``, built on the first call only.
    With ``owner`` (a job's result object, which every session attached to that job shares) the entry
    belongs to that object: it is found only while the object is alive and dropped when it dies.
    Without, ``key`` must hold every input of ``build`` (settings, content hashes). At most ``size``
    entries, least recently used out. Figures handed out are never mutated (:func:`chart` only reads them;
    presenter mode scales a copy, shared the same way).

    A figure's words are in one language, so a page never asks this object directly: :func:`shared_figures`
    hands out :meth:`in_language` views that put the session's language into every key.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = int(size)
        self.built = 0  # figures built (tests: equal requests build once)
        self._items: OrderedDict[Hashable, tuple[Any, Any]] = OrderedDict()
        self._lock = threading.RLock()  # re-entrant: an owner's death may drop its entry in any thread

    def get(self, key: Hashable, build: Callable[[], Any], *, owner: Any = None) -> Any:
        full = (id(owner), key) if owner is not None else (None, key)
        with self._lock:
            entry = self._items.get(full)
            if entry is not None and (owner is None or entry[0]() is owner):
                self._items.move_to_end(full)
                return entry[1]
        fig = build()  # outside the lock: a miss in two sessions at once builds twice, the same figure
        ref = weakref.ref(owner, lambda _, k=full: self._drop(k)) if owner is not None else None
        with self._lock:
            self._items[full] = (ref, fig)
            self._items.move_to_end(full)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            self.built += 1
        return fig

    def _drop(self, full: Hashable) -> None:
        with self._lock:
            entry = self._items.get(full)
            if entry is not None and entry[0] is not None and entry[0]() is None:
                del self._items[full]

    def __len__(self) -> int:
        return len(self._items)

    def in_language(self, lang: str) -> LanguageFigures:
        """This cache as seen by a session in ``lang``: equal keys in two languages are two entries."""
        return LanguageFigures(self, lang)


class LanguageFigures:
    """A view of a :class:`SharedFigures` whose keys are ``(lang, key)``: :meth:`get` as there, for one
    language, so a figure built with Korean texts is never handed to an English session (or back)."""

    def __init__(self, shared: SharedFigures, lang: str) -> None:
        self.shared, self.lang = shared, lang

    def get(self, key: Hashable, build: Callable[[], Any], *, owner: Any = None) -> Any:
        return self.shared.get((self.lang, key), build, owner=owner)

    @property
    def built(self) -> int:
        return self.shared.built

    def __len__(self) -> int:
        return len(self.shared)


@st.cache_resource(show_spinner=False)
def server_figures() -> SharedFigures:
    """The server's one :class:`SharedFigures` (every language's figures)."""
    return SharedFigures()


def shared_figures() -> LanguageFigures:
    """The server's figures for this session's language (:func:`pages._i18n.lang`): pass ``lang`` to the
    builders, and the key needs no language of its own."""
    return server_figures().in_language(i18n_ui.lang())


def chart(fig, key: str, container=st) -> None:
    """A plotly figure at full width with adlab.viz's own styling (projector-sized fonts).

    The figure is also kept for the page's downloads (:func:`figures_of`); in presenter mode it is
    drawn with larger fonts and taller (a scaled copy, made once per figure: :class:`SharedFigures`).
    """
    page = st.session_state.get("_page", key.split("_", 1)[0])
    st.session_state.setdefault("_figures", {}).setdefault(page, {})[key] = fig
    if state.presenting():
        fig = shared_figures().get("presenter", lambda: state.scale_figure(fig), owner=fig)
    container.plotly_chart(fig, key=key, width="stretch", theme=None)


def shared_chart(owner: Any, name: Hashable, build: Callable[[], Any], key: str, container=st) -> None:
    """:func:`chart` of ``build()``, built once per ``owner`` (a job's result), ``name`` and language for
    every session showing that result (``name`` holds whatever else the figure depends on; the session's
    language is added here: ``build`` says its texts in :func:`pages._i18n.lang`)."""
    chart(shared_figures().get(name, build, owner=owner), key, container)


def figures_of(page: str) -> dict[str, Any]:
    """The figures :func:`chart` draws for ``page`` in this session (latest version of each key).

    The dict itself, not a copy: a download built later (on click, in another thread, where session
    state cannot be read) sees the charts drawn after the button too.
    """
    return st.session_state.setdefault("_figures", {}).setdefault(page, {})


def begin(page: str) -> None:
    """First call of a page after its imports: keep it inside app.py, forget the figures of the last
    run (the page draws its current ones again), restore the link's settings (:mod:`pages._state`),
    apply presenter mode, and put the current settings in the URL."""
    ensure_app_shell()
    st.session_state["_page"] = page
    figures_of(page).clear()  # a download holds what this run draws, never a figure an earlier run drew
    state.restore(page, check=_link_check)
    state.presenter_css()
    state.sync(page)


def _link_check(key: str, value: Any) -> str | None:
    if key.endswith("_dataset") and isinstance(value, str) and value.startswith("upload:"):
        entry = current_upload()
        if entry is None or entry["key"] != value:
            return i18n_ui.t("common.page.link_upload")
    return None


def hint(slot: str, text: str) -> None:
    """What to press to see results (``st.info``), unless the slot's job is running: its status box says so."""
    if jobs.pending(slot) is None:
        st.info(text)


def settings_container():
    """Where a page draws its training form: the page itself, or a closed expander in presenter mode."""
    if state.presenting():
        return st.expander(i18n_ui.t("presenter.settings"), expanded=False, icon=":material/tune:")
    return st.container()


def file_stem(page: str, stored: dict[str, Any]) -> str:
    """``adlab_<page>_<dataset>_seed<k>``: the start of every downloaded file's name."""
    run = stored.get("run")
    seed = stored.get("seed")
    seed = seed if seed is not None else getattr(getattr(getattr(run, "config", None), "train", None), "seed", None)
    if seed is None and run is not None and hasattr(run, "spec"):
        seed = run.spec.kwargs.get("seed", 0)
    data = stored["dataset"].replace(":", "-")
    return f"adlab_{page}_{data}_seed{seed if seed is not None else 0}"


def device() -> str:
    """The device chosen in app.py's sidebar, ``"auto"`` when the page runs on its own."""
    return str(st.session_state.get("device", "auto"))
