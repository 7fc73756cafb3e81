"""SimCLR / NT-Xent (Chen et al. 2020): the idea, an instant view of τ, a live run, an explorer."""

try:
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/simclr.py, AppTest)
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

from adlab import instant
from adlab.losses import SimCLRConfig

PAGE = "simclr"
ui.begin(PAGE)
BATCH = instant.view_batch()  # 6 instances x 2 views, fixed seed
N = len(BATCH.points) // 2
# knobs shown both in the instant view and in the training form (the form starts from the view's)
LINKS = (ui.Link("simclr_tau", "simclr_train_tau", "τ"), ui.Link("simclr_decoupled_instant", "simclr_decoupled", "decoupled"))

st.title("SimCLR and the NT-Xent loss")
st.markdown(
    "**Instance discrimination: no labels needed.** Each sample is its own class. Two random "
    "**augmentations** of the same sample (crop, flip, colour change, blur, noise) form the "
    "**positive** pair; the views of every other sample in the batch are **negatives**. To pick its "
    "partner out of the batch, the network has to keep what survives augmentation (shape, not "
    "brightness). For anomaly detection we train on normal data only and hope that what the network "
    "learned to keep sets normal samples apart from anomalies."
)
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
st.markdown(
    "- $2N$: the views in a batch, two per sample; $i$ runs over all of them.\n"
    "- $\\hat z_i$: the L2-normalised output of the projection head for view $i$, so "
    "$\\hat z_i\\cdot\\hat z_k$ is a cosine similarity.\n"
    "- $j(i)$: the other view of the same sample, the only positive.\n"
    "- $k \\ne i$: the denominator holds the positive and the $2N-2$ negatives.\n"
    "- $\\tau$: the temperature (NT-Xent = *normalised, temperature-scaled cross-entropy*).\n"
    "- **Decoupled** variant (DCL; Yeh et al., ECCV 2022): drop the positive from the denominator, so a "
    "positive that is already close no longer damps the push on the negatives."
)
with st.expander("Paper, defaults, and where libraries differ", expanded=True):
    st.markdown(
        "- **Paper:** Chen, Kornblith, Norouzi & Hinton, *A Simple Framework for Contrastive Learning of "
        "Visual Representations*, ICML 2020. The loss acts on a small projection head; the features "
        "used afterwards come from the encoder before the head (this app's kNN score does the same).\n"
        "- **Temperature:** $\\tau = 0.5$ for CIFAR-10 and $\\tau = 0.1$ for ImageNet (SimCLR); this app defaults to 0.5.\n"
        "- **Libraries differ** in their default $\\tau$ and in whether the positive stays in the "
        "denominator (NT-Xent) or not (decoupled); SupCon's loss with labels switched off is the same "
        "loss (see the SupCon page).\n"
        "- **google-research/simclr** sums the two directions (view 1 → 2 and 2 → 1, each a mean over the "
        "$N$ samples): its loss is twice this app's mean over all $2N$ anchors; the gradients point the same "
        "way, twice as large.\n"
        "- **The seminar slide** calls its SimCLR loss **InfoNCE** but leaves the positive out of the "
        "denominator: that is the *decoupled* loss, the toggle below. InfoNCE (van den Oord et al., 2018) keeps "
        "the positive in, as NT-Xent does. Switch on *As on the slide* below to see both on the same batch."
    )

# ----------------------------------------------------------------------------- instant view
SLIDE_NOTE = (
    "The slide names this loss **InfoNCE**, but InfoNCE (van den Oord et al., 2018) keeps the positive in the "
    "denominator: NT-Xent is InfoNCE on cosine similarities over $\\tau$. Without the positive, the slide's formula "
    "is the decoupled loss (DCL): switch on *Decoupled* and the two values agree. It is always below NT-Xent and "
    "goes below zero once the positive outweighs all the negatives. The slide writes one direction and a sum over "
    "$X$; both values are means over all $2N$ views. The figure and the bars show the paper's loss."
)
st.header("Move the temperature: how hard does the anchor push?")
st.caption(f"A fixed batch of {N} samples × 2 augmented views on the unit circle (the number on each dot "
           "is the sample; its two views are positives of each other). Nothing is trained here.")


@st.fragment
def instant_view() -> None:
    c1, c2 = st.columns([1, 2])
    with c1:
        tau = st.slider("Temperature τ", 0.02, 1.0, 0.5, 0.01, key="simclr_tau")
        decoupled = st.toggle("Decoupled (positive out of the denominator)", value=False,
                              key="simclr_decoupled_instant")
        anchor = st.selectbox("Anchor", range(len(BATCH.points)), key="simclr_anchor",
                              format_func=lambda i: f"#{i} (sample {BATCH.labels[i]}, view {1 + i // N})")
        slide = st.toggle("As on the slide", value=False, key="simclr_slide",
                          help="The seminar slide's formula (\"InfoNCE\", no positive in the denominator) beside "
                               "the paper's, and both losses on this batch.")
        view = instant.view("simclr", BATCH, anchor, SimCLRConfig(temperature=tau, decoupled=decoupled), slide=slide)
        ui.loss_metrics(view, slide=slide)
        pos = view.breakdown.role == "positive"
        st.caption(f"The positive holds {view.breakdown.denominator_share[pos].sum():.0%} of the anchor's "
                   f"denominator; a uniform batch would give {1 / (2 * N - 1):.0%}.")
    with c2:
        ui.chart(ui.instant_figure(view, "One view against the other 2N − 1"), "simclr_instant_fig")
    st.caption("Marker size = gradient weight on the anchor (a negative's softmax share; share − 1 for the "
               "positive). Low τ: the nearest negatives dominate; high τ: all negatives push about equally. "
               "The arrow = the anchor's descent direction.")
    if slide:
        ui.paper_and_slide(PAPER[decoupled] + MEAN, SLIDE, SLIDE_NOTE,
                        paper_name="The paper (DCL)" if decoupled else "The paper (NT-Xent)")
    ui.chart(ui.breakdown_figure(view), "simclr_instant_bars")
    ui.end_instant_view(PAGE, LINKS)


instant_view()

# ----------------------------------------------------------------------------- live run
st.header("Train an encoder with SimCLR")
st.markdown(
    ui.SPLIT_NOTE + "SimCLR never sees the labels: the four digits are one unlabelled normal set. "
    "At τ = 0.5 it reaches about 0.94, below the label-based losses on the other pages (0.95 to 0.975). Move τ "
    "in the instant view to 0.1, press *Use this view's τ in the training form*, then *Train*: about 0.97, as a low "
    "temperature makes each anchor push hardest on its nearest negatives. Other seeds move these numbers by a "
    "few hundredths."
)
st.caption("Class labels are not used for training: positives are two augmentations of one sample.")


def knobs() -> dict:
    c1, c2 = st.columns(2)
    return dict(
        temperature=float(c1.number_input("Temperature τ", 0.01, 2.0, 0.5, 0.01, key="simclr_train_tau")),
        decoupled=bool(c2.checkbox("Decoupled (DCL)", value=False, key="simclr_decoupled")),
    )


ui.live_run(PAGE, "simclr", knobs, epochs=20, batch_size=128, lr=1e-3, links=LINKS)
