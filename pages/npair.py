"""N-pair loss (Sohn 2016): the idea, an instant view of the embedding length, a live run, an explorer."""

try:
    from pages import _i18n as i18n_ui
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/npair.py, AppTest)
    import _i18n as i18n_ui
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

from adlab import instant
from adlab.losses import NPairConfig

PAGE = "npair"
ui.begin(PAGE)
t = i18n_ui.translator()  # this run's language, kept by the widgets' format_func
BATCH = instant.pair_batch()  # 5 classes, one (anchor, positive) pair each, fixed seed
N = len(BATCH.points) // 2
# knobs shown both in the instant view and in the training form (the form starts from the view's)
LINKS = (ui.Link("npair_normalize_instant", "npair_normalize", "losses.npair.link_normalize"),
         ui.Link("npair_l2_instant", "npair_l2", "losses.npair.link_penalty"))

st.title(t("losses.npair.title"))
st.markdown(t("losses.npair.intro"))
st.latex(
    r"\mathcal{L}_{N\text{-pair}} = \frac{1}{N}\sum_{i=1}^{N}"
    r"\log\Big(1 + \sum_{j\neq i}\exp\big(f_i^{\top} f_j^{+} - f_i^{\top} f_i^{+}\big)\Big)"
    r" \;+\; \lambda\,\frac{1}{N}\sum_{i=1}^{N}\big(\lVert f_i\rVert^2 + \lVert f_i^{+}\rVert^2\big)"
)
st.markdown(t("losses.npair.symbols"))
with st.expander(t("losses.npair.expander"), expanded=True):
    st.markdown(t("losses.npair.paper"))

# ----------------------------------------------------------------------------- instant view
st.header(t("losses.npair.instant_header"))
st.caption(t("losses.npair.instant_caption", n=N, last=N - 1))


@st.fragment
def instant_view() -> None:
    c1, c2 = st.columns([1, 2])
    with c1:
        norm = st.slider(t("losses.npair.norm"), 0.25, 4.0, 1.0, 0.05, key="npair_norm")
        normalize = st.toggle(t("losses.npair.normalize"), value=False, key="npair_normalize_instant")
        l2_reg = st.select_slider(t("losses.npair.penalty"), [0.0, 0.002, 0.01, 0.05], value=0.002,
                                  key="npair_l2_instant")
        anchor = st.selectbox(t("losses.anchor"), range(N), key="npair_anchor", format_func=lambda i: f"a{i}")
        view = instant.view("npair", BATCH, anchor, NPairConfig(normalize=normalize, l2_reg=l2_reg), norm=norm)
        ui.loss_metrics(view)
        if normalize:
            st.info(t("losses.npair.normalised_info"))
        else:
            st.caption(t("losses.npair.logits", scale=norm ** 2, penalty=l2_reg * 2 * norm ** 2))
    with c2:
        ui.chart(ui.instant_figure(view, t("losses.npair.figure", anchor=anchor, n=N)), "npair_instant_fig")
    st.caption(t("losses.npair.figure_caption"))
    ui.chart(ui.breakdown_figure(view), "npair_instant_bars")
    ui.end_instant_view(PAGE, LINKS)


instant_view()

# ----------------------------------------------------------------------------- live run
st.header(t("losses.npair.train_header"))
st.markdown(t("data.split_note") + t("losses.npair.look_for"))
st.caption(t("losses.npair.train_caption"))


def knobs() -> dict:
    c1, c2 = st.columns(2)
    return dict(
        normalize=bool(c1.checkbox(t("losses.npair.normalize"), value=False, key="npair_normalize")),
        l2_reg=float(c2.select_slider(t("losses.npair.penalty"), [0.0, 0.002, 0.01, 0.05], value=0.002,
                                      key="npair_l2")),
    )


ui.live_run(PAGE, "npair", knobs, epochs=16, batch_size=128, lr=1e-3, links=LINKS)
