"""N-pair loss (Sohn 2016): the idea, an instant view of the embedding length, a live run, an explorer."""

try:
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/npair.py, AppTest)
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

from adlab import instant
from adlab.losses import NPairConfig

PAGE = "npair"
ui.begin(PAGE)
BATCH = instant.pair_batch()  # 5 classes, one (anchor, positive) pair each, fixed seed
N = len(BATCH.points) // 2
# knobs shown both in the instant view and in the training form (the form starts from the view's)
LINKS = (ui.Link("npair_normalize_instant", "npair_normalize", "normalisation"),
         ui.Link("npair_l2_instant", "npair_l2", "λ"))

st.title("N-pair loss")
st.markdown(
    "**Class discrimination against many negatives at once.** A triplet looks at one negative at a "
    "time, so most updates teach little and training is slow. The N-pair loss takes **N pairs from N "
    "different classes**: each **anchor** $a_i$ is compared with its own **positive** $p_i$ and, in the "
    "same step, with the positives of the other $N-1$ classes, which act as its **negatives**. The "
    "loss is a softmax over those N candidates: the anchor should pick out its own positive."
)
st.latex(
    r"\mathcal{L}_{N\text{-pair}} = \frac{1}{N}\sum_{i=1}^{N}"
    r"\log\Big(1 + \sum_{j\neq i}\exp\big(f_i^{\top} f_j^{+} - f_i^{\top} f_i^{+}\big)\Big)"
    r" \;+\; \lambda\,\frac{1}{N}\sum_{i=1}^{N}\big(\lVert f_i\rVert^2 + \lVert f_i^{+}\rVert^2\big)"
)
st.markdown(
    "- $f_i = f(a_i)$: embedding of the anchor of class $i$; $f_i^{+} = f(p_i)$: embedding of its positive.\n"
    "- $j \\ne i$: the positives of the other classes, the anchor's negatives.\n"
    "- The first term equals $-\\log \\frac{\\exp(f_i^\\top f_i^+)}{\\sum_j \\exp(f_i^\\top f_j^+)}$: a "
    "cross-entropy whose logits are the inner products $f_i^{\\top} f_j^{+}$.\n"
    "- $\\lambda$: weight of a penalty on the embeddings' squared length (paper's version only).\n"
    "- *Normalised* variant (the seminar's slide): $f$ is L2-normalised, the logits are cosine "
    "similarities in $[-1, 1]$ and the penalty is not needed."
)
with st.expander("Paper, defaults, and where implementations differ", expanded=True):
    st.markdown(
        "- **Paper:** Sohn, *Improved Deep Metric Learning with Multi-class N-pair Loss Objective*, "
        "NeurIPS 2016. Unnormalised inner products plus an L2 penalty on the embeddings, "
        "$\\lambda \\approx 0.002$ *(the paper's own value unverified here)*.\n"
        "- **Where 0.002 comes from:** TensorFlow's `npairs_loss` defaults to `reg_lambda = 0.002` and adds "
        "$0.25\\,\\lambda\\,(\\overline{\\lVert a\\rVert^2} + \\overline{\\lVert p\\rVert^2})$; this app adds "
        "$\\lambda\\,(\\overline{\\lVert a\\rVert^2} + \\overline{\\lVert p\\rVert^2})$. So TensorFlow's 0.002 is "
        "this app's 0.0005, and the 0.002 here is four times stronger.\n"
        "- **Why a penalty:** without normalisation, making every embedding longer multiplies all logits "
        "and sharpens the softmax, so the loss can fall just by growing the vectors. The instant view "
        "below shows this: move the length slider with normalisation off.\n"
        "- **Seminar and many implementations:** the cosine (normalised) version. The training form below "
        "starts from the instant view's settings, i.e. the paper's version (not normalised, "
        "$\\lambda = 0.002$); tick *Normalise* there to train the cosine version."
    )

# ----------------------------------------------------------------------------- instant view
st.header("Stretch the embeddings: length acts like a temperature")
st.caption(f"A fixed batch of {N} pairs on the unit circle (a0/p0 … a{N - 1}/p{N - 1}: anchor and positive of "
           "class i). Nothing is trained here.")


@st.fragment
def instant_view() -> None:
    c1, c2 = st.columns([1, 2])
    with c1:
        norm = st.slider("Embedding length ‖f‖", 0.25, 4.0, 1.0, 0.05, key="npair_norm")
        normalize = st.toggle("Normalise (cosine version)", value=False, key="npair_normalize_instant")
        l2_reg = st.select_slider("Penalty λ", [0.0, 0.002, 0.01, 0.05], value=0.002, key="npair_l2_instant")
        anchor = st.selectbox("Anchor", range(N), key="npair_anchor", format_func=lambda i: f"a{i}")
        view = instant.view("npair", BATCH, anchor, NPairConfig(normalize=normalize, l2_reg=l2_reg), norm=norm)
        st.metric("Batch loss", f"{view.loss:.4f}")
        st.metric("This anchor's loss", f"{view.anchor_loss:.4f}")
        if normalize:
            st.info("Normalised: the length no longer matters, every logit is a cosine in [-1, 1].")
        else:
            st.caption(f"Logits = ‖f‖² · cos = {norm ** 2:.2f} · cos; the penalty adds "
                       f"λ · 2‖f‖² = {l2_reg * 2 * norm ** 2:.4f}.")
    with c2:
        ui.chart(ui.instant_figure(view, f"Anchor a{anchor} against the {N} positives"), "npair_instant_fig")
    st.caption("Grey dots are the other anchors: they are not in this anchor's loss. Marker size = gradient "
               "weight on the anchor (the softmax probability for a negative, probability − 1 for the "
               "positive); the arrow = the direction gradient descent moves the anchor.")
    ui.chart(ui.breakdown_figure(view), "npair_instant_bars")
    ui.end_instant_view(PAGE, LINKS)


instant_view()

# ----------------------------------------------------------------------------- live run
st.header("Train an encoder with the N-pair loss")
st.markdown(
    ui.SPLIT_NOTE + "The form starts from the instant view's settings, the paper's version "
    "(unnormalised inner products, penalty λ = 0.002): about 0.95 after 16 epochs. Tick *Normalise* and train "
    "again: the cosine version reaches about 0.98 on this split, because the embeddings can no longer lower the "
    "loss just by growing longer (the instant view above). Other seeds move these numbers by a few hundredths."
)
st.caption("Each batch holds groups of one (anchor, positive) pair per normal class; pick at least two "
           "normal classes.")


def knobs() -> dict:
    c1, c2 = st.columns(2)
    return dict(
        normalize=bool(c1.checkbox("Normalise (cosine version)", value=False, key="npair_normalize")),
        l2_reg=float(c2.select_slider("Penalty λ", [0.0, 0.002, 0.01, 0.05], value=0.002, key="npair_l2")),
    )


ui.live_run(PAGE, "npair", knobs, epochs=16, batch_size=128, lr=1e-3, links=LINKS)
