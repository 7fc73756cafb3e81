"""Triplet loss (FaceNet): the idea, an instant view of the margin, a live run, a per-anchor explorer."""

try:
    from pages import _i18n as i18n_ui
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/triplet.py, AppTest)
    import _i18n as i18n_ui
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

from adlab import instant
from adlab.losses import TripletConfig

PAGE = "triplet"
ui.begin(PAGE)
t = i18n_ui.translator()  # this run's language, kept by the widgets' format_func
BATCH = instant.class_batch()  # 3 classes x 4 unit vectors, fixed seed
DISTANCE = {True: "squared_euclidean", False: "euclidean"}  # the "squared distances" box -> the loss's distance
# knobs shown both in the instant view and in the training form (the form starts from the view's)
LINKS = (ui.Link("triplet_margin", "triplet_train_margin", "losses.triplet.link_margin"),
         ui.Link("triplet_squared_instant", "triplet_squared", "losses.triplet.link_squared"))

st.title(t("losses.triplet.title"))
st.markdown(t("losses.triplet.intro"))
PAPER = r"\mathcal{L}_{\text{triplet}} = \frac{1}{|T|}\sum_{(a,p,n)\in T}\max\!\big(d(a,p) - d(a,n) + m,\; 0\big)"
# the seminar slide's formula, as the slide writes it (the margin s subtracted)
SLIDE = (r"\mathcal{L}_{triplet}(x, x_{pos}, x_{neg}) = \sum_{x \in X} \max(\|f(x) - f(x_{pos})\|^2"
         r" - \|f(x) - f(x_{neg})\|^2 - s, 0)")
st.latex(PAPER + r",\qquad d(u,v) = \lVert f(x_u) - f(x_v)\rVert_2^2,\quad \lVert f(x)\rVert_2 = 1")
st.markdown(t("losses.triplet.symbols"))
with st.expander(t("losses.expander_libraries"), expanded=True):
    st.markdown(t("losses.triplet.paper"))

# ----------------------------------------------------------------------------- instant view
st.header(t("losses.triplet.instant_header"))
st.caption(t("losses.triplet.instant_caption"))


@st.fragment
def instant_view() -> None:
    c1, c2 = st.columns([1, 2])
    with c1:
        margin = st.slider(t("losses.triplet.margin"), 0.0, 1.0, 0.2, 0.01, key="triplet_margin")
        squared = st.toggle(t("losses.triplet.squared_instant"), value=True, key="triplet_squared_instant")
        anchor = st.selectbox(t("losses.anchor"), range(len(BATCH.points)), key="triplet_anchor",
                              format_func=lambda i: t("losses.anchor_option", i=i, label=BATCH.labels[i]))
        positives = [i for i in range(len(BATCH.points)) if BATCH.labels[i] == BATCH.labels[anchor] and i != anchor]
        cfg = TripletConfig(margin=margin, distance=DISTANCE[squared])
        farthest = instant.view("triplet", BATCH, anchor, cfg).positive
        positive = st.selectbox(t("losses.triplet.positive"), positives, index=positives.index(farthest),
                                key=f"triplet_positive_{anchor}", format_func=lambda i: f"#{i}",
                                help=t("losses.triplet.positive_help"))
        slide = st.toggle(t("losses.as_on_slide"), value=False, key="triplet_slide", help=t("losses.triplet.slide_help"))
        view = instant.view("triplet", BATCH, anchor, cfg, positive=positive, slide=slide)
        ui.loss_metrics(view, slide=slide, batch=t("losses.triplet.batch_loss"))
        counts, mine = view.counts, view.anchor_counts
        st.markdown(t("losses.triplet.counts", **counts,
                      **{f"anchor_{k}": v for k, v in mine.items()}))
    with c2:
        ui.chart(ui.instant_figure(view, t("losses.triplet.figure")), "triplet_instant_fig")
    st.caption(t("losses.triplet.figure_caption"))
    if slide:
        ui.paper_and_slide(PAPER, SLIDE, t("losses.triplet.slide_note"))
    ui.chart(ui.breakdown_figure(view), "triplet_instant_bars")
    ui.end_instant_view(PAGE, LINKS)


instant_view()

# ----------------------------------------------------------------------------- live run
st.header(t("losses.triplet.train_header"))
st.markdown(t("data.split_note") + t("losses.triplet.look_for"))


def knobs() -> dict:
    c1, c2, c3 = st.columns(3)
    return dict(
        margin=float(c1.number_input(t("losses.triplet.margin"), 0.0, 4.0, 0.2, 0.05, key="triplet_train_margin")),
        mining=c2.selectbox(t("losses.triplet.mining"), ["semi-hard", "hard", "batch-hard", "all"], key="triplet_mining",
                            format_func=lambda v: t(f"losses.triplet.mining_option.{v.replace('-', '_')}")),
        distance=DISTANCE[bool(c3.checkbox(t("losses.triplet.squared"), value=True, key="triplet_squared"))],
    )


ui.live_run(PAGE, "triplet", knobs, epochs=8, batch_size=128, lr=3e-3, links=LINKS)
