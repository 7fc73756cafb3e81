"""adlab: contrastive learning for anomaly detection, one page per idea.

Run with ``streamlit run app.py``. The pages follow the seminar's order: what a contrast is,
distances, class discrimination (triplet, N-pair, SupCon), instance discrimination (SimCLR).
"""

import threading

import streamlit as st
import torch

from adlab.device import available_devices, describe_device, pick_device
from adlab.train import warm_up_optimizer
from pages import _jobs as jobs
from pages import _state as state
from pages import _upload as upload

st.set_page_config(page_title="adlab: contrastive anomaly detection", page_icon=":material/explore:", layout="wide",
                   initial_sidebar_state="collapsed" if state.presenting() else "auto")
state.restore("_app")  # the link's app-wide settings (device, presenter mode, upload options)


@st.cache_resource(show_spinner=False)
def _warm_up() -> threading.Thread:
    """Once per server, in a background thread, off the first click: let torch import its optimiser
    machinery (the instant views' steps). UMAP runs in the jobs' workers, which warm it up themselves."""
    thread = threading.Thread(target=warm_up_optimizer, name="adlab-warm-torch", daemon=True)
    thread.start()
    return thread


_warm_up()


@st.cache_resource(show_spinner=False)
def _one_torch_thread() -> int:
    """Once per server process, before any session trains: torch computes on one CPU thread.

    The models are tiny, so one thread costs little; on a busy 2-core machine the default two OpenMP
    threads made training 10-25x slower (48 s instead of 2 s for SupCon on digits). Set once here,
    never per request: sessions are threads of this process, and a per-request change raced.
    """
    torch.set_num_threads(1)
    return torch.get_num_threads()


_one_torch_thread()

PAGES = {
    "Start": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Contrastive learning": [
        st.Page("pages/distances.py", title="Distance axioms", icon=":material/straighten:"),
        st.Page("pages/triplet.py", title="Triplet loss", icon=":material/change_history:"),
        st.Page("pages/npair.py", title="N-pair loss", icon=":material/link:"),
        st.Page("pages/supcon.py", title="SupCon", icon=":material/label:"),
        st.Page("pages/simclr.py", title="SimCLR / NT-Xent", icon=":material/sync_alt:"),
        st.Page("pages/why_contrastive.py", title="Why contrastive features help", icon=":material/shield:"),
    ],
    "Anomaly detection": [
        st.Page("pages/deep_svdd.py", title="Deep one-class (SVDD)", icon=":material/adjust:"),
        st.Page("pages/goad.py", title="GOAD", icon=":material/shuffle:"),
        st.Page("pages/droc.py", title="DROC", icon=":material/science:"),
        st.Page("pages/csi.py", title="CSI", icon=":material/rotate_right:"),
        st.Page("pages/csi_shift.py", title="Which augmentation is a shift?", icon=":material/flip:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/leaderboard:"),
    ],
    "Conclusion": [
        st.Page("pages/conclusion.py", title="Where augmentation runs out", icon=":material/block:"),
    ],
}
REFERENCE = [st.Page("pages/glossary.py", title="Glossary (한국어 / English)", icon=":material/translate:")]

with st.sidebar:
    choices = ["auto", *available_devices()]
    st.selectbox(
        "Device",
        choices,
        key="device",
        on_change=state.keep("device"),
        help="auto takes CUDA, then Apple MPS, then the CPU. Every page trains on this device.",
    )
    st.caption(f"Computing on **{describe_device(pick_device(st.session_state['device']))}** · "
               f"jobs run on the **{jobs.manager().backend_name}**")
    jobs.show_warning(st.sidebar)
    st.toggle("Presenter mode", key="present", on_change=state.keep("present"),
              help="Hides the settings (they stay in a closed Settings box), enlarges text and figures, and keeps "
                   "the sidebar closed when the link is opened. The link in the address bar carries it.")
    upload.sidebar()

ORDER = [page for group in PAGES.values() for page in group]  # the seminar's order (the glossary is beside it)


def _leave_presenter_mode() -> None:
    state.set_kept("present", False)


def presenter_bar(current: st.Page) -> None:
    """Presenter mode's bar at the top of every page: previous and next page in the app's order,
    where we are, and the way out (the sidebar stays reachable through the header's button too)."""
    index = next((i for i, p in enumerate(ORDER) if p.url_path == current.url_path), None)
    with st.container(key="adlab_presenter_bar"):
        back, where, forward, leave = st.columns([2.8, 2.6, 2.8, 2.4], vertical_alignment="center")
        if index is None:  # a page beside the path (the glossary): only the way out
            where.markdown(f"**{current.title}**")
        elif index > 0:
            back.page_link(ORDER[index - 1], label=f"Previous: {ORDER[index - 1].title}", icon=":material/arrow_back:")
        if index is not None:
            where.markdown(f"**{index + 1} / {len(ORDER)}** · {current.title}")
        if index is not None and index < len(ORDER) - 1:
            forward.page_link(ORDER[index + 1], label=f"Next: {ORDER[index + 1].title}",
                              icon=":material/arrow_forward:")
        leave.button("Leave presenter mode", key="present_leave", on_click=_leave_presenter_mode,
                     width="stretch",
                     help="Back to the normal view: the settings, the sidebar and the usual text size.")


page = st.navigation({**PAGES, "Reference": REFERENCE}, expanded=True)  # every step of the path in view
jobs.leave_others(page.url_path)  # leaving a page cancels its jobs; the page's own go on
if state.presenting():
    presenter_bar(page)  # (each page's ui.begin adds the presenter CSS)
page.run()
