"""Why anomaly detection is hard: the seminar's four reasons, and a 2-D toy where a supervised model misses
an anomaly it never saw while a one-class score does not (adlab.lessons.ad_hard)."""

try:
    from pages import _i18n as i18n_ui
    from pages import _ui as ui
except ImportError:  # the page file run on its own (AppTest)
    import _i18n as i18n_ui
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

from adlab.lessons import ad_hard as lesson
from adlab.viz_lecture import hard_figure

PAGE = "ad_hard"
ui.begin(PAGE)
t, lang = i18n_ui.translator(), i18n_ui.lang()


@st.cache_data(max_entries=64, show_spinner=False)
def _run(share: float, seed: int) -> lesson.HardResult:
    return lesson.run(lesson.HardConfig(share=share, seed=seed))


st.title(t("lecture.hard.title"))
st.markdown(t("lecture.hard.reasons"))
st.markdown(t("lecture.hard.so"))

st.header(t("lecture.hard.toy"))
st.caption(t("lecture.hard.toy_caption", k=lesson.HardConfig().k))
with ui.settings_container():
    c1, c2, c3 = st.columns([2, 1, 2])
    share = c1.select_slider(t("lecture.hard.share"), [0.005, 0.01, 0.02, 0.05, 0.1, 0.2], value=0.02,
                             key=f"{PAGE}_share", help=t("lecture.hard.share_help"))
    seed = int(c2.number_input(t("lecture.hard.seed"), 0, 999, 0, 1, key=f"{PAGE}_seed", help=t("lecture.hard.seed_help")))
    detector = c3.radio(t("lecture.hard.detector"), ("supervised", "one_class"), key=f"{PAGE}_detector",
                        format_func=lambda d: t(f"lecture.hard.detector_{d}"), horizontal=True)
result = _run(float(share), seed)
names = {d: t(f"lecture.hard.name_{d}") for d in ("supervised", "one_class")}
cols = st.columns(4)
for i, (d, group) in enumerate((("supervised", "seen"), ("supervised", "unseen"), ("one_class", "seen"),
                                ("one_class", "unseen"))):
    cols[i].metric(t(f"lecture.hard.metric_{group}", detector=names[d]), f"{result.auroc[(d, group)]:.3f}")
ui.shared_chart(None, ("ad_hard", float(share), seed, detector), lambda: hard_figure(result, detector, lang=lang),
                key=f"{PAGE}_chart")
numbers = dict(sup_seen=result.auroc[("supervised", "seen")], sup_unseen=result.auroc[("supervised", "unseen")],
               one_seen=result.auroc[("one_class", "seen")], one_unseen=result.auroc[("one_class", "unseen")])
missed = numbers["sup_unseen"] < numbers["one_unseen"] - 0.1
(st.success if missed else st.info)(t("lecture.hard.verdict" if missed else "lecture.hard.verdict_close", **numbers))
