"""Keep every page inside app.py's navigation, even for a page URL that is a fresh server's first request.

Streamlit decides per process whether an app uses the old ``pages/`` folder convention; until some
session has run ``app.py`` (which calls ``st.navigation``), a direct link such as ``/simclr`` runs the
page file on its own, without the sidebar, the device choice or the warm-up. A page that finds
itself run that way switches the process to navigation mode and reruns, which runs ``app.py`` with the
same URL, so the user lands on the page they asked for, inside the app.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def ensure_app_shell() -> None:
    """Call first thing on every page."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
