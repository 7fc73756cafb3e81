"""The app's language on the Streamlit side: which one a session reads (:func:`lang`), its texts (:func:`t`)
and the sidebar's 한국어 / English switch (:func:`language_switch`). The texts are :mod:`adlab.i18n`'s.

The language is the app-wide setting ``lang`` (``"ko"`` or ``"en"``), kept like ``device`` and
``present`` (:mod:`pages._state`): a link's ``lang=`` is copied into the session when the session
starts, the switch changes it, and every page writes it back into the address bar, so a copied link
reopens in the same language. A link without it opens in the browser's language (Korean when the
browser's language tag starts with ``ko``, English otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from adlab import i18n

try:
    from pages import _state as state
except ImportError:  # a page file run on its own (AppTest)
    import _state as state

KEY = "lang"  # the session key and the link's parameter
SWITCH_ORDER = ("ko", "en")  # the switch reads 한국어 / English


def browser_language() -> str:
    """The language of the browser (``navigator.language`` through ``st.context.locale``): ``"ko"`` or
    ``"en"``; English when the browser did not say (a test, a client without the field)."""
    try:
        locale = st.context.locale
    except Exception:  # noqa: BLE001 - no script run context (a bare import): no browser either
        locale = None
    return i18n.language_of(locale)


def lang() -> str:
    """The session's language: the switch's kept value, else the link's ``lang=``, else the browser's.

    (At a session's start app.py copies the link's value into the session, so the link wins there;
    afterwards the switch does, and the link follows it.) Unknown values are passed over.
    """
    ss = st.session_state
    for value in (ss.get(state._shadow(KEY)), ss.get(KEY), st.query_params.get(KEY)):
        if value in i18n.LANGUAGES:
            return value
    return browser_language()


def t(key: str, /, **fmt: Any) -> str:
    """The text ``key`` in the session's language (:func:`adlab.i18n.text_or_english`: a text missing
    from Korean shows in English and is logged; the tests fail on it)."""
    return i18n.text_or_english(key, lang(), **fmt)


def language_switch() -> str:
    """Draw the language switch (inside ``with st.sidebar:``, after ``state.restore("_app")``, before
    anything else reads the language in this run); returns the language.

    A value the link asked for that the app does not have is named in a warning and replaced by the
    browser's language.
    """
    ss = st.session_state
    asked = ss.get(KEY) if KEY in ss else st.query_params.get(KEY)
    current = lang()
    if asked is not None and asked not in i18n.LANGUAGES:
        st.warning(i18n.text("language.unknown", current, asked=asked, name=i18n.text("language.name", current)))
    if ss.get(KEY) != current:
        ss[KEY] = current  # before the widget exists: its value this run
    st.segmented_control(
        t("sidebar.language"),
        SWITCH_ORDER,
        key=KEY,
        required=True,
        format_func=lambda code: i18n.text("language.name", code),
        on_change=state.keep(KEY),
        help=t("sidebar.language_help"),
    )
    return current


def translator() -> Callable[..., str]:
    """:func:`t` with this run's language fixed: for ``format_func`` and other callbacks that Streamlit may
    call outside the script run (AppTest formats a widget's options again when a test sets its value, where
    the session's language cannot be read and :func:`t` would fall back to the browser's)."""
    code = lang()

    def fixed(key: str, /, **fmt: Any) -> str:
        return i18n.text_or_english(key, code, **fmt)

    return fixed


def option_labels(prefix: str) -> Callable[[Any], str]:
    """A widget's ``format_func`` that shows option ``v`` as the text ``f"{prefix}.{v}"`` in this run's
    language (bound now, as :func:`translator` is)."""
    say = translator()
    return lambda value: say(f"{prefix}.{value}")
