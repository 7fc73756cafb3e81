"""Anchor, positive sample, negative sample: the roles of one batch by class or by augmentation."""

try:
    from pages import _i18n as i18n_ui
    from pages import _ui as ui
except ImportError:  # the page file run on its own (AppTest)
    import _i18n as i18n_ui
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

from adlab import instant
from adlab.lessons import roles as lesson
from adlab.viz_lecture import roles_figure

PAGE = "roles"
ui.begin(PAGE)
t, lang = i18n_ui.translator(), i18n_ui.lang()
BATCH = instant.class_batch()  # the loss pages' batch: 3 classes x 4 unit vectors, fixed seed

st.title(t("lecture.roles.title"))
st.markdown(t("lecture.roles.intro"))
st.markdown(t("lecture.roles.list"))
left, right = st.columns(2)
left.markdown(t("lecture.roles.class_text"))
right.markdown(t("lecture.roles.instance_text"))

controls, figure = st.columns([1, 2])
with controls:
    mode = st.radio(t("lecture.roles.mode"), lesson.MODES, key=f"{PAGE}_mode", help=t("lecture.roles.mode_help"),
                    format_func=lambda m: t(f"lecture.roles.mode_{m}"))
    labels = BATCH.labels
    anchor = st.selectbox(t("lecture.roles.pick"), list(range(len(labels))), key=f"{PAGE}_anchor",
                          help=t("lecture.roles.pick_help"),
                          format_func=lambda i: t("lecture.roles.pick_option", sample=i, label=int(labels[i])))
    r = lesson.roles(BATCH.points, labels, int(anchor), mode)
    st.markdown(t("lecture.roles.counts", positives=r.count("positive"), negatives=r.count("negative")))
    if mode == "instance":
        same = int(((r.role == "negative") & (r.labels == labels[anchor])).sum())
        st.info(t("lecture.roles.same_class_note", same=same), icon=":material/info:")
with figure:
    ui.shared_chart(None, ("roles", mode, int(anchor)), lambda: roles_figure(r, mode, lang=lang), key=f"{PAGE}_figure")
st.caption(t("lecture.roles.caption"))
