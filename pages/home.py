"""Home, the lecture's first step: the seminar's definition of a contrast, and the path through the app."""

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

import streamlit as st

ui.begin("home")  # the link keeps the app-wide settings (presenter mode, device, language) on Home too
t = i18n_ui.translator()

st.title(t("lecture.home.title"))
st.markdown(t("lecture.home.definition"))
st.markdown(t("lecture.home.text"))
st.markdown(t("lecture.home.path", n=len(lecture.STEPS)))

lead, start = st.columns([3, 2], vertical_alignment="center")
lead.page_link("pages/lecture.py", label=t("lecture.home.lecture"), icon=":material/co_present:")
if not state.presenting() and start.button(t("lecture.home.start"), key="home_btn_start", icon=":material/slideshow:",
                                           type="primary", on_click=state.set_kept, args=("present", True)):
    st.switch_page(f"pages/{lecture.STEPS[0].page}", query_params=lecture.query(lecture.STEPS[0]))

st.subheader(t("lecture.home.map"))
cols = st.columns(3)
for k, step in enumerate(lecture.STEPS, start=1):
    with cols[(k - 1) % 3]:
        with st.container(border=True):
            st.page_link(f"pages/{step.page}", label=f"**{t('lecture.home.step', k=k, topic=t(f'lecture.topic.{step.topic}'))}**",
                         query_params=lecture.query(step))
            st.caption(t(f"lecture.point.{step.topic}"))
