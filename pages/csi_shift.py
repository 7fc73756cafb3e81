"""Which augmentation is a shift? One transformation used three ways in SimCLR, and CSI's criterion."""

try:
    from pages import _i18n as i18n_ui
    from pages import _jobs as jobs
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/csi_shift.py, AppTest)
    import _i18n as i18n_ui
    import _jobs as jobs
    import _ui as ui

ui.ensure_app_shell()

from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from adlab import i18n, viz_shift
from adlab.device import pick_device
from adlab.lessons import shift

PAGE = "shift"  # the prefix of this page's keys (settings in the link, results in the session)
URL_PATH = Path(__file__).stem  # app.py's name for the page: its jobs are cancelled when the user leaves it
ui.begin(PAGE)
lang = i18n_ui.lang()


def t(key: str, /, **fields: Any) -> str:
    """The text ``key`` in this run's language (bound here, so that a widget's format_func says it in the
    same language whenever it is called)."""
    return i18n.text_or_english(key, lang, **fields)



def mode_label(mode: str) -> str:
    """ "T not used", "T as a positive", "T as a shifted negative" (a bar, a metric, a column)."""
    return t("lessons.shift.metric", mode=t(f"lessons.shift.mode.{mode}"))


st.title(t("lessons.shift.title"))
st.markdown(t("lessons.shift.intro"))
st.latex(t("lessons.shift.ways_latex"))
st.latex(t("lessons.shift.score_latex"))
st.markdown(t("lessons.shift.notes"))
with st.expander(t("lessons.shift.paper_title"), expanded=False):
    st.markdown(t("lessons.shift.paper"))

# ----------------------------------------------------------------------------- what each way trains on
st.header(t("lessons.shift.views_header"))
names = list(shift.TRANSFORMS)
transform = st.selectbox(t("lessons.shift.transform"), names, format_func=lambda n: shift.transform_label(n, lang),
                         key=f"{PAGE}_transform", help=t("lessons.shift.transform_help"))


@st.cache_data(show_spinner=False)
def views(name: str) -> shift.ShiftExamples:
    return shift.example_views(name)


ex = views(transform)
ui.chart(viz_shift.views_figure(ex.pairs, ex.shifted, shift.op_names(transform, lang),
                                {m: t(f"lessons.shift.row.{m}") for m in shift.MODES}), f"{PAGE}_views")
st.caption(t("lessons.shift.views_caption"))

# ----------------------------------------------------------------------------- the run
st.header(t("lessons.shift.run_header"))
with ui.settings_container():
    with st.form(f"{PAGE}_form"):
        c1, c2, c3 = st.columns([3, 1, 1])
        classes = c1.multiselect(t("lessons.shift.classes"), list(range(10)), default=list(range(10)),
                                 key=f"{PAGE}_classes", help=t("lessons.shift.classes_help"))
        epochs = int(c2.number_input(t("lessons.epochs"), 1, 200, shift.ShiftConfig.epochs, key=f"{PAGE}_epochs",
                                     help=t("lessons.shift.epochs_help")))
        seed = int(c3.number_input(t("lessons.seed"), 0, 10_000, 0, key=f"{PAGE}_seed",
                                   help=t("lessons.shift.seed_help")))
        submitted = st.form_submit_button(t("lessons.run"), type="primary", key=f"{PAGE}_train")
ui.state.sync(PAGE)

job = None
if submitted:
    st.session_state.pop(f"{PAGE}_results", None)
    try:
        if not classes:
            raise ValueError(t("lessons.shift.empty"))
        cfg = shift.ShiftConfig(transform=transform, classes=tuple(sorted(classes)), epochs=epochs, seed=seed,
                                device=pick_device(ui.device()).type)
        job = jobs.spec("lesson", "shift", "compare", cfg, seed=seed, device=ui.device(),
                        label=t("lessons.shift.job", transform=shift.transform_label(transform, lang, inline=True)))
    except ValueError as err:
        jobs.cancel(PAGE)
        st.error(str(err))
done = jobs.run_job(PAGE, job, page=URL_PATH, title=t("lessons.shift.running"),
                    summary=lambda r: t("lessons.shift.done", n=r.auroc.size, seconds=r.seconds.sum(), device=r.device))
if done is not None:
    st.session_state[f"{PAGE}_results"] = done.result

result = st.session_state.get(f"{PAGE}_results")
if result is None:
    st.info(t("lessons.shift.info"))
    st.stop()

# ----------------------------------------------------------------------------- results
cfg, mean = result.config, result.mean
label = shift.transform_label(cfg.transform, lang)
n = len(cfg.classes)
st.subheader(t("lessons.shift.result_one" if n == 1 else "lessons.shift.result_many", transform=label, n=n))
cols = st.columns(len(mean))
for col, (mode, value) in zip(cols, mean.items(), strict=True):
    delta = None if mode == "unused" or "unused" not in mean else t("lessons.shift.vs_unused", delta=value - mean["unused"])
    col.metric(mode_label(mode), f"{value:.3f}", delta=delta)
references = {t("lessons.shift.untrained"): float(result.untrained_auroc.mean()),
              t("lessons.shift.raw"): float(result.raw_auroc.mean())}
ui.chart(viz_shift.auroc_figure(mean, dict(zip(result.modes, result.auroc, strict=True)), result.classes,
                                {m: mode_label(m) for m in result.modes}, references, lang=lang), f"{PAGE}_bars")
st.caption(t("lessons.shift.bars_caption", classes=", ".join(map(str, cfg.classes))))

st.subheader(t("lessons.shift.criterion_header"))
st.markdown(t("lessons.shift.criterion"))
st.markdown("\n".join(f"- {line}" for line in shift.verdict_lines(result, lang)))
st.caption(t("lessons.shift.verdict_caption", tie=shift.TIE))

with st.expander(t("lessons.shift.per_digit"), expanded=False):
    table = {t("lessons.shift.normal_digit"): list(cfg.classes)}
    table.update({mode_label(m): np.round(result.auroc[i], 3) for i, m in enumerate(result.modes)})
    table.update({name: np.round(values, 3) for name, values in
                  ((t("lessons.shift.untrained_column"), result.untrained_auroc),
                   (t("lessons.shift.raw_column"), result.raw_auroc))})
    st.dataframe(table, hide_index=True, key=f"{PAGE}_table")
    st.caption(t("lessons.shift.table_caption", n=result.auroc.size, seconds=result.seconds.sum(), device=result.device,
                 epochs=cfg.epochs, batch=cfg.batch_size, lr=cfg.lr, tau=cfg.temperature, seed=cfg.seed))
