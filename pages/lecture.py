"""The Lecture page: the seminar's talk as the app's path, each step with its topic, what to show, its
minutes and a link that opens it prepared (pages/_steps.py)."""

try:
    from pages import _i18n as i18n_ui
    from pages import _state as state
    from pages import _steps as lecture
    from pages import _ui as ui
except ImportError:  # the page file run on its own (AppTest)
    import _i18n as i18n_ui
    import _state as state
    import _steps as lecture
    import _ui as ui

ui.ensure_app_shell()

from urllib.parse import urlsplit

import pandas as pd
import streamlit as st

from adlab import i18n

PAGE = "lecture"
ui.begin(PAGE)
t, lang = i18n_ui.translator(), i18n_ui.lang()


def base_url() -> str:
    """The app's address as the browser sees it (scheme and host), or "" when unknown (a test)."""
    try:
        parts = urlsplit(st.context.url or "")
    except Exception:  # noqa: BLE001 - no browser behind this run
        return ""
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


st.title(t("lecture.page.title"))
st.markdown(t("lecture.page.intro", n=len(lecture.STEPS), minutes=lecture.MINUTES))
if st.button(t("lecture.page.start"), key="lecture_btn_start", icon=":material/slideshow:", type="primary",
             help=t("lecture.page.start_help"), on_click=state.set_kept, args=("present", True)):
    st.switch_page(f"pages/{lecture.STEPS[0].page}", query_params=lecture.query(lecture.STEPS[0]))

st.subheader(t("lecture.page.links_title"))
link_lang = st.segmented_control(t("lecture.page.links_language"), i18n.LANGUAGES, default=lang, key=f"{PAGE}_links",
                                 format_func=lambda code: i18n.text("language.name", code), required=True) or lang
st.caption(t("lecture.page.links_caption"))
base = base_url()
rows = [{t("lecture.page.step"): k,
         t("lecture.page.topic"): t(f"lecture.topic.{step.topic}"),
         t("lecture.page.page"): t(f"nav.{step.nav}"),
         t("lecture.page.show"): t(f"lecture.point.{step.topic}"),
         t("lecture.page.minutes"): step.minutes,
         t("lecture.page.link"): lecture.link(step, base, lang=link_lang, present=True)}
        for k, step in enumerate(lecture.STEPS, start=1)]
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
             column_config={t("lecture.page.link"): st.column_config.LinkColumn(width="large"),
                            t("lecture.page.show"): st.column_config.TextColumn(width="large")})
with st.expander(t("lecture.page.copy")):
    for k, step in enumerate(lecture.STEPS, start=1):
        st.caption(t("lecture.home.step", k=k, topic=t(f"lecture.topic.{step.topic}")))
        st.code(lecture.link(step, base, lang=link_lang, present=True), language=None)
st.caption(t("lecture.page.beside"))
