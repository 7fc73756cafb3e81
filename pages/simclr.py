"""SimCLR / NT-Xent (Chen et al. 2020): the idea, an instant view of τ, a live run, an explorer."""

try:
    from pages import _i18n as i18n_ui
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/simclr.py, AppTest)
    import _i18n as i18n_ui
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

from adlab import instant
from adlab.losses import SimCLRConfig

PAGE = "simclr"
ui.begin(PAGE)
t = i18n_ui.translator()  # this run's language, kept by the widgets' format_func
BATCH = instant.view_batch()  # 6 instances x 2 views, fixed seed
N = len(BATCH.points) // 2
# knobs shown both in the instant view and in the training form (the form starts from the view's)
LINKS = (ui.Link("simclr_tau", "simclr_train_tau", "losses.simclr.link_tau"),
         ui.Link("simclr_decoupled_instant", "simclr_decoupled", "losses.simclr.link_decoupled"))

st.title(t("losses.simclr.title"))
st.markdown(t("losses.simclr.intro"))
MEAN = r"\qquad \mathcal{L} = \frac{1}{2N}\sum_{i=1}^{2N}\ell_i"
PAPER = {  # by the "decoupled" toggle
    False: r"\ell_i = -\log\frac{\exp(\hat z_i\cdot\hat z_{j(i)}/\tau)}{\sum_{k\neq i}\exp(\hat z_i\cdot\hat z_k/\tau)},",
    True: r"\ell_i = -\log\frac{\exp(\hat z_i\cdot\hat z_{j(i)}/\tau)}"
          r"{\sum_{k\neq i,\, j(i)}\exp(\hat z_i\cdot\hat z_k/\tau)},",
}
# the seminar slide's formula, as the slide writes it (no positive in the denominator)
SLIDE = (r"\mathcal{L}_{simCLR}(x_{pos}^1, x_{pos}^2, \{x_{neg}^j\}) = - \sum_{x \in X} \log"
         r" \frac{\exp(f(x_{pos}^1)f(x_{pos}^2)/\tau)}{\sum_i \exp(f(x_{pos}^1)f(x_{neg}^i)/\tau)}")
st.latex(PAPER[False] + r"\qquad \mathcal{L}_{\text{NT-Xent}} = \frac{1}{2N}\sum_{i=1}^{2N}\ell_i")
st.markdown(t("losses.simclr.symbols"))
with st.expander(t("losses.expander_libraries"), expanded=True):
    st.markdown(t("losses.simclr.paper"))

# ----------------------------------------------------------------------------- instant view
st.header(t("losses.simclr.instant_header"))
st.caption(t("losses.simclr.instant_caption", n=N))


@st.fragment
def instant_view() -> None:
    c1, c2 = st.columns([1, 2])
    with c1:
        tau = st.slider(t("losses.temperature"), 0.02, 1.0, 0.5, 0.01, key="simclr_tau")
        decoupled = st.toggle(t("losses.simclr.decoupled_instant"), value=False, key="simclr_decoupled_instant")
        anchor = st.selectbox(t("losses.anchor"), range(len(BATCH.points)), key="simclr_anchor",
                              format_func=lambda i: t("losses.simclr.anchor_option", i=i, sample=BATCH.labels[i],
                                                      view=1 + i // N))
        slide = st.toggle(t("losses.as_on_slide"), value=False, key="simclr_slide", help=t("losses.simclr.slide_help"))
        view = instant.view("simclr", BATCH, anchor, SimCLRConfig(temperature=tau, decoupled=decoupled), slide=slide)
        ui.loss_metrics(view, slide=slide)
        pos = view.breakdown.role == "positive"
        st.caption(t("losses.simclr.positive_share", share=view.breakdown.denominator_share[pos].sum(),
                     uniform=1 / (2 * N - 1)))
    with c2:
        ui.chart(ui.instant_figure(view, t("losses.simclr.figure")), "simclr_instant_fig")
    st.caption(t("losses.simclr.figure_caption"))
    if slide:
        ui.paper_and_slide(PAPER[decoupled] + MEAN, SLIDE, t("losses.simclr.slide_note"),
                           paper_name=t("losses.simclr.paper_dcl") if decoupled else t("losses.simclr.paper_ntxent"))
    ui.chart(ui.breakdown_figure(view), "simclr_instant_bars")
    ui.end_instant_view(PAGE, LINKS)


instant_view()

# ----------------------------------------------------------------------------- live run
st.header(t("losses.simclr.train_header"))
st.markdown(t("data.split_note") + t("losses.simclr.look_for"))
st.caption(t("losses.simclr.train_caption"))


def knobs() -> dict:
    c1, c2 = st.columns(2)
    return dict(
        temperature=float(c1.number_input(t("losses.temperature"), 0.01, 2.0, 0.5, 0.01, key="simclr_train_tau")),
        decoupled=bool(c2.checkbox(t("losses.simclr.decoupled"), value=False, key="simclr_decoupled")),
    )


ui.live_run(PAGE, "simclr", knobs, epochs=20, batch_size=128, lr=1e-3, links=LINKS)
