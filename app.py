"""adlab: contrastive learning for anomaly detection, one page per idea.

Run with ``streamlit run app.py``. The pages follow the seminar's order (pages/_steps.py): what a contrast
is, distances, anchor / positive / negative, class discrimination (triplet, N-pair, SupCon), instance
discrimination (SimCLR), what contrastive learning brings, why anomaly detection is hard, then the detectors
(Deep SVDD, GOAD, DROC, CSI) and the conclusion. Every text is in Korean and English (adlab/i18n.py).
"""

import threading

import streamlit as st
import torch

from adlab.device import available_devices, describe_device, pick_device
from adlab.train import warm_up_optimizer
from pages import _i18n as i18n_ui
from pages import _jobs as jobs
from pages import _state as state
from pages import _steps as lecture
from pages import _upload as upload

t = i18n_ui.t
st.set_page_config(page_title=t("app.page_title"), page_icon=":material/explore:", layout="wide",
                   initial_sidebar_state="collapsed" if state.presenting() else "auto")
state.restore("_app")  # the link's app-wide settings (device, presenter mode, language, upload options)


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

with st.sidebar:
    i18n_ui.language_switch()  # first: everything below is said in the language it settles

ICONS = {"home": ":material/home:", "distances": ":material/straighten:", "roles": ":material/group_work:",
         "triplet": ":material/change_history:", "npair": ":material/link:", "supcon": ":material/label:",
         "simclr": ":material/sync_alt:", "why_contrastive": ":material/shield:", "ad_hard": ":material/warning:",
         "deep_svdd": ":material/adjust:", "goad": ":material/shuffle:", "droc": ":material/science:",
         "csi": ":material/rotate_right:", "csi_shift": ":material/flip:", "conclusion": ":material/block:"}
STEP_PAGES = {step.path: st.Page(f"pages/{step.page}", title=t(f"nav.{step.nav}"), icon=ICONS[step.path or "home"],
                                 default=step.path == "")
              for step in lecture.STEPS}
ORDER = list(STEP_PAGES.values())  # the lecture path, in the seminar's order
LECTURE = st.Page("pages/lecture.py", title=t("nav.lecture"), icon=":material/co_present:")
GROUPS = {"start": ["", LECTURE], "contrastive": ["distances", "roles", "triplet", "npair", "supcon", "simclr",
                                                 "why_contrastive"],
          "anomaly": ["ad_hard", "deep_svdd", "goad", "droc", "csi", "csi_shift"], "conclusion": ["conclusion"]}
PAGES = {t(f"nav.group.{group}"): [STEP_PAGES[item] if isinstance(item, str) else item for item in items]
         for group, items in GROUPS.items()}
REFERENCE = [st.Page("pages/compare.py", title=t("nav.compare"), icon=":material/leaderboard:"),
             st.Page("pages/glossary.py", title=t("nav.glossary_both"), icon=":material/translate:")]
assert [p for group in PAGES.values() for p in group if p is not LECTURE] == ORDER, "the sidebar follows the path"

with st.sidebar:
    choices = ["auto", *available_devices()]
    st.selectbox(t("sidebar.device"), choices, key="device", on_change=state.keep("device"),
                 help=t("sidebar.device_help"))
    st.caption(t("sidebar.computing_on", device=describe_device(pick_device(st.session_state["device"]),
                                                                lang=i18n_ui.lang()),
                 backend=jobs.backend_text()))
    jobs.show_warning(st.sidebar)
    st.toggle(t("sidebar.present"), key="present", on_change=state.keep("present"), help=t("sidebar.present_help"))
    upload.sidebar()


def _leave_presenter_mode() -> None:
    state.set_kept("present", False)


def presenter_bar(current: st.Page) -> None:
    """Presenter mode's bar at the top of every page: the previous and next step of the lecture path (each
    opens with its preset), "step k of n" and the step's topic, and the way out (the sidebar stays
    reachable through the header's button too). A page beside the path shows its title and the way out."""
    index = lecture.index_of(current.url_path)
    with st.container(key="adlab_presenter_bar"):
        back, where, forward, leave = st.columns([2.8, 2.6, 2.8, 2.4], vertical_alignment="center")
        if index is None:  # a page beside the path (the lecture's list, Compare, the glossary): only the way out
            where.markdown(f"**{current.title}**")
        else:
            n = len(lecture.STEPS)
            step = lecture.STEPS[index]
            where.markdown(f"**{t('presenter.step', k=index + 1, n=n)}** · {t(f'lecture.topic.{step.topic}')}")
            if index > 0:
                back.page_link(ORDER[index - 1], label=t("presenter.previous", title=ORDER[index - 1].title),
                               icon=":material/arrow_back:", query_params=lecture.query(lecture.STEPS[index - 1]))
            if index < n - 1:
                forward.page_link(ORDER[index + 1], label=t("presenter.next", title=ORDER[index + 1].title),
                                  icon=":material/arrow_forward:", query_params=lecture.query(lecture.STEPS[index + 1]))
        leave.button(t("presenter.leave"), key="present_leave", on_click=_leave_presenter_mode, width="stretch",
                     help=t("presenter.leave_help"))


page = st.navigation({**PAGES, t("nav.group.reference"): REFERENCE}, expanded=True)  # every step in view
jobs.leave_others(page.url_path)  # leaving a page cancels its jobs; the page's own go on
if state.presenting():
    presenter_bar(page)  # (each page's ui.begin adds the presenter CSS)
page.run()
