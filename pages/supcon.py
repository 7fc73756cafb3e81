"""SupCon (Khosla et al. 2020): the idea, an instant view of the temperature, a live run, an explorer."""

try:
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/supcon.py, AppTest)
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

from adlab import instant
from adlab.losses import SupConConfig

PAGE = "supcon"
ui.begin(PAGE)
BATCH = instant.class_batch()  # 3 classes x 4 unit vectors, fixed seed
# knobs shown both in the instant view and in the training form (the form starts from the view's)
LINKS = (ui.Link("supcon_tau", "supcon_train_tau", "τ"), ui.Link("supcon_variant_instant", "supcon_variant", "variant"))

st.title("Supervised contrastive loss (SupCon)")
st.markdown(
    "**Class discrimination with many positives and many negatives.** N-pair gives each anchor exactly "
    "one positive. SupCon takes every other sample of the anchor's class in the batch as a "
    "**positive**, including the second augmented view of the anchor itself, and everything else as a "
    "**negative**. Each positive is pulled toward the anchor and every sample in the batch competes "
    "for the anchor's attention in one softmax, whose sharpness the **temperature** $\\tau$ sets."
)
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
st.markdown(
    "- $I$: the multi-view batch, two augmented views of each of $N$ samples ($2N$ rows).\n"
    "- $\\hat z_i = z_i / \\lVert z_i \\rVert$: the normalised output of the projection head for row $i$.\n"
    "- $A(i) = I \\setminus \\{i\\}$: every other row; positives **stay in** the denominator.\n"
    "- $P(i)$: rows of $A(i)$ with the anchor's label; $|P(i)|$ their number.\n"
    "- $\\tau$: the temperature; small $\\tau$ makes the softmax focus on the closest (hardest) samples.\n"
    "- $\\mathcal{L}_{\\text{out}}$ averages the log outside, $\\mathcal{L}_{\\text{in}}$ inside. This app "
    "averages over anchors (rather than summing) and skips an anchor with no positive instead of "
    "producing NaN. Without labels ($P(i)$ = the other view only) the loss is SimCLR's."
)
with st.expander("Paper, defaults, and where libraries differ", expanded=True):
    st.markdown(
        "- **Paper:** Khosla et al., *Supervised Contrastive Learning*, NeurIPS 2020. The paper recommends "
        "$\\mathcal{L}_{\\text{out}}$; both are offered here.\n"
        "- **Temperature:** $\\tau = 0.1$ in the official code's CIFAR script.\n"
        "- **Libraries differ:** the widely used PyTorch port (HobbitLong/SupContrast) defaults to "
        "$\\tau = 0.07$ and multiplies the loss by $\\tau / \\tau_{\\text{base}}$ with "
        "$\\tau_{\\text{base}} = 0.07$; that rescales the loss (and its gradients) but not the softmax, so "
        "its loss values differ from this app's by that factor whenever $\\tau \\ne 0.07$.\n"
        "- **Anchors without a positive** (a class seen once in the batch): this app averages over the "
        "anchors that have one. The SupContrast versions readable here divide by the number of positives, "
        "0/0 for such an anchor; a later change there reportedly counts it as 0 and averages over all anchors "
        "*(unverified here)*. The two differ whenever some anchor has no positive.\n"
        "- **The seminar slide** puts one positive plus the negatives in the denominator; the paper (and this "
        "app) puts every other sample of the batch there, all positives and all negatives. Switch on *As on "
        "the slide* below to see both on the same batch."
    )

# ----------------------------------------------------------------------------- instant view
SLIDE_NOTE = (
    "On the slide $N$ is the anchor's number of positives $|P(i)|$, and $f(x)$ is normalised, as the dots are. Each "
    "positive shares its denominator with the negatives only: the anchor's other positives are left out, so they "
    "no longer compete with it, and the slide's loss is never above $\\mathcal{L}_{\\text{out}}$ (equal when an "
    "anchor has a single positive). The slide averages the log outside, like $\\mathcal{L}_{\\text{out}}$; with "
    "$\\mathcal{L}_{\\text{in}}$ selected the paper's values are $\\mathcal{L}_{\\text{in}}$'s. Both are means over "
    "the anchors (the slide writes a sum over $X$). The figure and the bars show the paper's loss."
)
st.header("Move the temperature: who gets the anchor's attention?")
st.caption("A fixed batch of 12 unit vectors in 2-D (3 classes, the number on each dot). Nothing is "
           "trained here: every same-class dot is a positive.")


@st.fragment
def instant_view() -> None:
    c1, c2 = st.columns([1, 2])
    with c1:
        tau = st.slider("Temperature τ", 0.02, 1.0, 0.1, 0.01, key="supcon_tau")
        variant = st.radio("Variant", ["out", "in"], horizontal=True, key="supcon_variant_instant",
                           format_func=lambda v: f"L_{v}")
        anchor = st.selectbox("Anchor", range(len(BATCH.points)), key="supcon_anchor",
                              format_func=lambda i: f"#{i} (class {BATCH.labels[i]})")
        slide = st.toggle("As on the slide", value=False, key="supcon_slide",
                          help="The seminar slide's formula (one positive plus the negatives in each denominator) "
                               "beside the paper's, and both losses on this batch.")
        view = instant.view("supcon", BATCH, anchor, SupConConfig(temperature=tau, variant=variant), slide=slide)
        ui.loss_metrics(view, slide=slide)
        neg = view.breakdown.role == "negative"
        st.caption(f"Negatives hold {view.breakdown.denominator_share[neg].sum():.0%} of the anchor's "
                   "denominator.")
    with c2:
        ui.chart(ui.instant_figure(view, "One anchor, its positives and negatives"), "supcon_instant_fig")
    st.caption("Marker size = the term's gradient weight on the anchor: a negative's share of the "
               "denominator, or (share − target) for a positive. Lower τ: the nearest negatives take almost "
               "all the weight (hard-negative mining for free). The arrow = the anchor's descent direction.")
    if slide:
        ui.paper_and_slide(PAPER[variant], SLIDE, SLIDE_NOTE)
    ui.chart(ui.breakdown_figure(view), "supcon_instant_bars")
    ui.end_instant_view(PAGE, LINKS)


instant_view()

# ----------------------------------------------------------------------------- live run
st.header("Train an encoder with SupCon")
st.markdown(
    ui.SPLIT_NOTE + "With positives *by class*, SupCon pulls every view of the same digit "
    "together: about 0.97. Switch *Positives* to *by augmentation* and it becomes SimCLR's loss at τ = 0.1; at "
    "seed 0 it does even better (0.977 against 0.966). Labels are not automatically a gain for anomaly detection: "
    "they teach the encoder to ignore whatever does not separate 2, 3, 5 and 8, and some of that is what sets a 9 "
    "apart. Other seeds move these numbers by a few hundredths."
)


def knobs() -> dict:
    c1, c2, c3 = st.columns(3)
    return dict(
        temperature=float(c1.number_input("Temperature τ", 0.01, 2.0, 0.1, 0.01, key="supcon_train_tau")),
        variant=c2.selectbox("Variant", ["out", "in"], key="supcon_variant", format_func=lambda v: f"L_{v}"),
        use_labels=c3.radio("Positives", [True, False], key="supcon_positives", horizontal=True,
                            format_func=lambda v: "by class" if v else "by augmentation"),
    )


ui.live_run(PAGE, "supcon", knobs, epochs=15, batch_size=128, lr=1e-3, links=LINKS)
