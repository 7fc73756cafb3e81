"""Triplet loss (FaceNet): the idea, an instant view of the margin, a live run, a per-anchor explorer."""

try:
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/triplet.py, AppTest)
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

from adlab import instant
from adlab.losses import TripletConfig

PAGE = "triplet"
ui.begin(PAGE)
BATCH = instant.class_batch()  # 3 classes x 4 unit vectors, fixed seed
DISTANCE = {True: "squared_euclidean", False: "euclidean"}  # the "squared distances" box -> the loss's distance
# knobs shown both in the instant view and in the training form (the form starts from the view's)
LINKS = (ui.Link("triplet_margin", "triplet_train_margin", "m"),
         ui.Link("triplet_squared_instant", "triplet_squared", "squared distances"))

st.title("Triplet loss (FaceNet)")
st.markdown(
    "**Class discrimination with one positive and one negative at a time.** Pick an **anchor**, a "
    "**positive** from the anchor's class and a **negative** from another class. The loss wants the "
    "negative to sit farther from the anchor than the positive, by at least a **margin** $m$. Once it "
    "does, the triplet is *easy*: its loss is zero and it teaches nothing. So what the network learns "
    "depends on which triplets it is shown, and FaceNet picks them inside each batch (*online mining*)."
)
PAPER = r"\mathcal{L}_{\text{triplet}} = \frac{1}{|T|}\sum_{(a,p,n)\in T}\max\!\big(d(a,p) - d(a,n) + m,\; 0\big)"
# the seminar slide's formula, as the slide writes it (the margin s subtracted)
SLIDE = (r"\mathcal{L}_{triplet}(x, x_{pos}, x_{neg}) = \sum_{x \in X} \max(\|f(x) - f(x_{pos})\|^2"
         r" - \|f(x) - f(x_{neg})\|^2 - s, 0)")
st.latex(PAPER + r",\qquad d(u,v) = \lVert f(x_u) - f(x_v)\rVert_2^2,\quad \lVert f(x)\rVert_2 = 1")
st.markdown(
    "- $f(x)$: the network's embedding of $x$, L2-normalised so every point lies on the unit sphere.\n"
    "- $(a, p, n)$: indices of anchor, positive (same class as $a$) and negative (another class).\n"
    "- $T$: the triplets used in this batch (all of them, or only the semi-hard or hard ones).\n"
    "- $d$: the **squared** Euclidean distance (FaceNet's choice; it ranges over $[0, 4]$ on the sphere).\n"
    "- $m$: the margin, the gap the loss demands between $d(a,n)$ and $d(a,p)$.\n\n"
    "Mining sorts each triplet by where the negative falls: **hard** $d(a,n) \\le d(a,p)$ (wrong order), "
    "**semi-hard** $d(a,p) < d(a,n) < d(a,p) + m$ (right order, inside the margin: loss $> 0$), "
    "**easy** $d(a,n) \\ge d(a,p) + m$ (loss $0$)."
)
with st.expander("Paper, defaults, and where libraries differ", expanded=True):
    st.markdown(
        "- **Paper:** Schroff, Kalenichenko & Philbin, *FaceNet: A Unified Embedding for Face Recognition "
        "and Clustering*, CVPR 2015. Squared Euclidean distance between L2-normalised embeddings; online "
        "mining inside the batch, preferring semi-hard negatives.\n"
        "- **Margin:** $m = 0.2$ in the common FaceNet reference code (squared distances, normalised "
        "embeddings). This app uses the same convention by default.\n"
        "- **Libraries differ:** pytorch-metric-learning's triplet loss defaults to $m = 0.05$ on the "
        "*plain* (not squared) Euclidean distance. The same number means a different gap under the two "
        "conventions (a squared gap of 0.2 around $d^2 = 1$ is a plain gap of about 0.1), so always check "
        "which distance a margin refers to. Untick *squared* below to use plain distances.\n"
        "- **The seminar slide** writes the margin with a minus sign, $\\max(d(a,p) - d(a,n) - s, 0)$; the "
        "margin has to be *added*, or the loss is already zero while the negative is still closer than "
        "the positive. Switch on *As on the slide* below to see both on the same batch."
    )

# ----------------------------------------------------------------------------- instant view
SLIDE_NOTE = (
    "The slide's $s$ is the margin $m$ (the same slider), subtracted: a triplet counts only when the negative is "
    "closer to the anchor than the positive by more than $s$. The slide's loss ignores every semi-hard triplet and "
    "the hard ones within $s$, the very ones the margin is there to push apart; at $m = 0$ the two agree. Both "
    "values are means over the batch's triplets (the slide writes a sum over $X$) on the distance chosen above "
    "(the slide's is squared). The figure and the bars show the paper's loss."
)
st.header("Move the margin: which triplets still teach?")
st.caption("A fixed batch of 12 unit vectors in 2-D (3 classes, the number on each dot). Nothing is "
           "trained here: the loss and its parts are recomputed as you move the controls.")


@st.fragment
def instant_view() -> None:
    c1, c2 = st.columns([1, 2])
    with c1:
        margin = st.slider("Margin m", 0.0, 1.0, 0.2, 0.01, key="triplet_margin")
        squared = st.toggle("Squared distances (FaceNet)", value=True, key="triplet_squared_instant")
        anchor = st.selectbox("Anchor", range(len(BATCH.points)), key="triplet_anchor",
                              format_func=lambda i: f"#{i} (class {BATCH.labels[i]})")
        positives = [i for i in range(len(BATCH.points)) if BATCH.labels[i] == BATCH.labels[anchor] and i != anchor]
        cfg = TripletConfig(margin=margin, distance=DISTANCE[squared])
        farthest = instant.view("triplet", BATCH, anchor, cfg).positive
        positive = st.selectbox("Positive that sets the band", positives, index=positives.index(farthest),
                                key=f"triplet_positive_{anchor}", format_func=lambda i: f"#{i}",
                                help="Defaults to the farthest positive, the one batch-hard mining picks.")
        slide = st.toggle("As on the slide", value=False, key="triplet_slide",
                          help="The seminar slide's formula (margin subtracted) beside the paper's, and both "
                               "losses on this batch.")
        view = instant.view("triplet", BATCH, anchor, cfg, positive=positive, slide=slide)
        ui.loss_metrics(view, slide=slide, batch="Batch loss (all triplets)")
        counts, mine = view.counts, view.anchor_counts
        st.markdown(
            f"**Whole batch** ({counts['total']} triplets): {counts['easy']} easy · "
            f"{counts['semi_hard']} semi-hard · {counts['hard']} hard  \n"
            f"**This anchor** ({mine['total']}): {mine['easy']} easy · {mine['semi_hard']} semi-hard · "
            f"{mine['hard']} hard"
        )
    with c2:
        ui.chart(ui.instant_figure(view, "Rings: d(a,p) and d(a,p) + m around the anchor"), "triplet_instant_fig")
    st.caption("Negatives are coloured by where they fall for the chosen positive: inside the inner ring "
               "= hard, between the rings = semi-hard, outside = easy. The rings are drawn as Euclidean "
               "radii; with squared distances the outer one sits at √(d² + m). Marker size = the term's "
               "gradient weight on the anchor; the arrow = the direction gradient descent moves the anchor.")
    if slide:
        ui.paper_and_slide(PAPER, SLIDE, SLIDE_NOTE)
    ui.chart(ui.breakdown_figure(view), "triplet_instant_bars")
    ui.end_instant_view(PAGE, LINKS)


instant_view()

# ----------------------------------------------------------------------------- live run
st.header("Train an encoder with the triplet loss")
st.markdown(
    ui.SPLIT_NOTE + "The triplet loss learns from the four class labels and lifts it to about 0.97. "
    "Watch the *Triplet categories per epoch* chart: easy triplets (loss 0) grow from about 40 % in the first "
    "epoch to nearly all, and semi-hard mining keeps training on the few still inside the margin. The other loss pages use the same split and seed "
    "(N-pair about 0.95, SupCon 0.97, SimCLR 0.94), so their AUROC compares directly; other seeds move these "
    "numbers by a few hundredths."
)


def knobs() -> dict:
    c1, c2, c3 = st.columns(3)
    return dict(
        margin=float(c1.number_input("Margin m", 0.0, 4.0, 0.2, 0.05, key="triplet_train_margin")),
        mining=c2.selectbox("Mining", ["semi-hard", "hard", "batch-hard", "all"], key="triplet_mining"),
        distance=DISTANCE[bool(c3.checkbox("Squared distances", value=True, key="triplet_squared"))],
    )


ui.live_run(PAGE, "triplet", knobs, epochs=8, batch_size=128, lr=3e-3, links=LINKS)
