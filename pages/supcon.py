"""SupCon (Khosla et al. 2020): the idea, an instant view of the temperature, a live run, an explorer."""

try:
    from pages import _i18n as i18n_ui
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/supcon.py, AppTest)
    import _i18n as i18n_ui
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

from adlab import instant
from adlab.losses import SupConConfig

PAGE = "supcon"
ui.begin(PAGE)
t = i18n_ui.translator()  # this run's language, kept by the widgets' format_func
BATCH = instant.class_batch()  # 3 classes x 4 unit vectors, fixed seed
# knobs shown both in the instant view and in the training form (the form starts from the view's)
LINKS = (ui.Link("supcon_tau", "supcon_train_tau", "losses.supcon.link_tau"),
         ui.Link("supcon_variant_instant", "supcon_variant", "losses.supcon.link_variant"))

st.title(t("losses.supcon.title"))
st.markdown(t("losses.supcon.intro"))
PAPER = {
    "out": r"\mathcal{L}_{\text{out}} = \sum_{i\in I} \frac{-1}{|P(i)|}\sum_{p\in P(i)}"
           r"\log\frac{\exp(\hat z_i\cdot\hat z_p/\tau)}{\sum_{a\in A(i)}\exp(\hat z_i\cdot\hat z_a/\tau)}",
    "in": r"\mathcal{L}_{\text{in}} = \sum_{i\in I} -\log\Big(\frac{1}{|P(i)|}\sum_{p\in P(i)}"
          r"\frac{\exp(\hat z_i\cdot\hat z_p/\tau)}{\sum_{a\in A(i)}\exp(\hat z_i\cdot\hat z_a/\tau)}\Big)",
}
# the seminar slide's formula, as the slide writes it (one positive plus the negatives in the denominator)
SLIDE = (r"\mathcal{L}_{supcon}(x, \{x_{pos}^i\}, \{x_{neg}^j\}) = - \sum_{x \in X} \frac{1}{N} \sum_{i=1}^N"
         r" \log \frac{\exp(f(x)f(x_{pos}^i)/\tau)}{\exp(f(x)f(x_{pos}^i)/\tau) + \sum_j \exp(f(x)f(x_{neg}^j)/\tau)}")
st.latex(PAPER["out"] + r"\qquad" + PAPER["in"])
st.markdown(t("losses.supcon.symbols"))
with st.expander(t("losses.expander_libraries"), expanded=True):
    st.markdown(t("losses.supcon.paper"))

# ----------------------------------------------------------------------------- instant view
st.header(t("losses.supcon.instant_header"))
st.caption(t("losses.supcon.instant_caption"))


def variant_name(v: str) -> str:
    """``L_out`` / ``L_in``, as the page writes the two variants."""
    return t(f"losses.supcon.variant_{v}")


@st.fragment
def instant_view() -> None:
    c1, c2 = st.columns([1, 2])
    with c1:
        tau = st.slider(t("losses.temperature"), 0.02, 1.0, 0.1, 0.01, key="supcon_tau")
        variant = st.radio(t("losses.supcon.variant"), ["out", "in"], horizontal=True, key="supcon_variant_instant",
                           format_func=variant_name)
        anchor = st.selectbox(t("losses.anchor"), range(len(BATCH.points)), key="supcon_anchor",
                              format_func=lambda i: t("losses.anchor_option", i=i, label=BATCH.labels[i]))
        slide = st.toggle(t("losses.as_on_slide"), value=False, key="supcon_slide", help=t("losses.supcon.slide_help"))
        view = instant.view("supcon", BATCH, anchor, SupConConfig(temperature=tau, variant=variant), slide=slide)
        ui.loss_metrics(view, slide=slide)
        neg = view.breakdown.role == "negative"
        st.caption(t("losses.supcon.negative_share", share=view.breakdown.denominator_share[neg].sum()))
    with c2:
        ui.chart(ui.instant_figure(view, t("losses.supcon.figure")), "supcon_instant_fig")
    st.caption(t("losses.supcon.figure_caption"))
    if slide:
        ui.paper_and_slide(PAPER[variant], SLIDE, t("losses.supcon.slide_note"))
    ui.chart(ui.breakdown_figure(view), "supcon_instant_bars")
    ui.end_instant_view(PAGE, LINKS)


instant_view()

# ----------------------------------------------------------------------------- live run
st.header(t("losses.supcon.train_header"))
st.markdown(t("data.split_note") + t("losses.supcon.look_for"))


def knobs() -> dict:
    c1, c2, c3 = st.columns(3)
    return dict(
        temperature=float(c1.number_input(t("losses.temperature"), 0.01, 2.0, 0.1, 0.01, key="supcon_train_tau")),
        variant=c2.selectbox(t("losses.supcon.variant"), ["out", "in"], key="supcon_variant", format_func=variant_name),
        use_labels=c3.radio(t("losses.supcon.positives"), [True, False], key="supcon_positives", horizontal=True,
                            format_func=lambda v: t("losses.supcon.by_class") if v else
                            t("losses.supcon.by_augmentation")),
    )


ui.live_run(PAGE, "supcon", knobs, epochs=15, batch_size=128, lr=1e-3, links=LINKS)
