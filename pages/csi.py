"""CSI (Tack et al., NeurIPS 2020): rotated copies are negatives, and a head learns the rotation."""

try:
    from pages import _methods as m
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/csi.py, AppTest)
    import _methods as m
    import _ui as ui

ui.ensure_app_shell()

import numpy as np
import streamlit as st

from adlab import registry
from adlab import viz_detectors as vd
from adlab.experiment import MethodSpec
from adlab.views import csi_variant_metrics

PAGE = "csi"
ui.begin(PAGE)
ROTATIONS = ("0°", "90°", "180°", "270°")
VARIANTS = {  # anomaly scores: each the negated normality score of the paper
    "s_con": "−s_con (SimCLR-style, upright image only)",
    "s_con_si": "−s_con-SI (contrastive, all rotations)",
    "s_cls_si": "−s_cls-SI (rotation classifier)",
    "s_csi": "−s_CSI = −(s_con-SI + s_cls-SI), the page's score",
}

st.title("CSI: contrasting shifted instances")
st.markdown(
    "**Which augmentations make positives, which make negatives?** In SimCLR some augmentations help "
    "(crops, colour changes): two such views of one image stay **positives**. Others hurt (rotating "
    "a digit changes what it is): CSI calls those *shifting* transformations and treats a rotated copy "
    "as a **different instance, a negative**, even of its own image. On top, a small head learns to "
    "classify the rotation (SimCLR loss + cross-entropy). A normal test image then (1) lies close to "
    "the training images in feature space, for each rotation, and (2) has a rotation the head can tell; "
    "the score adds up both."
)
st.latex(r"\mathcal L_{\text{con-SI}}=\mathrm{NT\text{-}Xent}_\tau\Bigl(\bigl\{z(T_y\tilde x^{(1)}_i)\bigr\},"
         r"\bigl\{z(T_y\tilde x^{(2)}_i)\bigr\}\Bigr),\qquad "
         r"\mathcal L_{\text{cls-SI}}=\mathrm{CE}\bigl(c(f(T_y\tilde x)),\,y\bigr),\qquad "
         r"\mathcal L=\mathcal L_{\text{con-SI}}+\mathcal L_{\text{cls-SI}}")
st.latex(r"s_{\text{con}}(x)=\max_m\cos\bigl(z(x_m),z(x)\bigr)\,\lVert z(x)\rVert,\qquad "
         r"s_{\text{con-SI}}=\sum_{y}\lambda_y\,s_{\text{con}}(T_yx)")
st.latex(r"s_{\text{cls-SI}}=\sum_y\lambda'_y\,l_y(x)_y,\qquad s_{\text{CSI}}=s_{\text{con-SI}}+s_{\text{cls-SI}}")
st.markdown(
    "- $T_y$: rotation by $y\\cdot 90°$, $y \\in \\{0,1,2,3\\}$; $\\tilde x^{(1)}, \\tilde x^{(2)}$: two "
    "augmented views. The positive of $T_y\\tilde x^{(1)}_i$ is $T_y\\tilde x^{(2)}_i$ (same image, same "
    "rotation); every other view, **the other rotations of the same image included**, is a negative. "
    "NT-Xent with $\\tau = 0.5$.\n"
    "- $f$: encoder; $z = g(f(\\cdot))$: SimCLR head output (not normalised in the score); $c$: the 4-way "
    "rotation head, $l_y(x)_y$ its logit for the right rotation $y$ of $T_y x$.\n"
    "- $x_m$: the normal training images; $\\lambda_y$, $\\lambda'_y$: one over the training-set mean of "
    "each term, so the eight terms are on one scale.\n"
    "- $s_{\\text{CSI}}$ is a **normality** score; this app's anomaly score is $-s_{\\text{CSI}}$. "
    "Features are averaged over a few random augmentations before scoring (ensemble)."
)
with st.expander("Paper, numbers, and how this app differs", expanded=False):
    st.markdown(
        "- **Paper:** Tack, Mo, Jeong & Shin, *CSI: Novelty Detection via Contrastive Learning on "
        "Distributionally Shifted Instances*, NeurIPS 2020. Official code: `alinlab/CSI`.\n"
        "- **CIFAR-10 one-class mean AUROC:** CSI 94.3; SimCLR 87.9; rotation + translation prediction 90.0.\n"
        "- **Here:** a small CNN on 8×8 digits, a few seconds of training, an ensemble of 2 draws (the "
        "paper: ResNet-18, hundreds of epochs). CSI needs images: its shifts are rotations, which rows of a "
        "table do not have, so this page offers images only (the built-in digits or your own).\n"
        "- **Crops:** the official code crops down to 8 % of a photo's area. A digit cut to half its area "
        "often looks like another digit (part of a 0 is a C), and the network learns to call such pieces "
        "normal. This app's crops keep the whole image and only stretch it (aspect ratio 3/4 to 4/3). On "
        "one-class MNIST that took the paper's s_CSI from 94.1 to 96.6 mean AUROC (seed 0; 96.0 over seeds "
        "0-2, against 95.1 for raw-pixel kNN; adlab's `bench/results/mnist_csi.md`, not a paper number).\n"
        "- **The official NT-Xent** (`alinlab/CSI`, training/contrastive_loss.py) adds $10^{-8}$ inside the "
        "logarithm, which caps each term at $-\\log 10^{-8} \\approx 18.4$ when $\\tau$ is very small; this app "
        "computes it with log-sum-exp and has no such cap."
    )

# ----------------------------------------------------------------------------- training
st.header("Train CSI")


def knobs(kind: str) -> dict:
    c1, c2 = st.columns(2)
    draws = int(c2.slider("Ensemble draws at scoring", 1, 8, 2, key=f"{PAGE}_ensemble",
                          help="Features averaged over this many augmented copies of each test image (the "
                               "paper's ensemble; scoring takes that many times longer). 1 = the plain image, "
                               "no augmentation."))
    return dict(
        temperature=float(c1.number_input("Temperature τ", 0.05, 2.0, 0.5, 0.05, key=f"{PAGE}_tau")),
        n_ensemble=draws,
        score_augment=draws > 1,
    )


form = m.detector_form(PAGE, knobs, kinds=registry.detector("csi").kinds, epochs=m.quick_epochs("csi"), lr=2e-3, batch_size=32)
stored = m.train_and_store(PAGE, form, lambda: MethodSpec.quick("csi", form.kind, input_shape=form.input_shape,
                                                                **form.params))
if stored is not None:  # a run that just ended
    det, split = stored["run"].detector, stored["split"]
    stored["terms"] = det.score_terms(split.X_test)
    stored["train_s_csi"] = float(det.score_terms(split.X_train)["s_csi"].mean())

stored = st.session_state.get(f"{PAGE}_run")
if not stored:
    ui.hint(PAGE, "Press **Train** to fit CSI on the normal digits and score the test set.")
    st.stop()

m.show_results(PAGE, stored, score_text="Score = −s_CSI.")
run, terms = stored["run"], stored["terms"]

# ----------------------------------------------------------------------------- terms
st.header("What each part of the score is worth")
variants = csi_variant_metrics(terms, run.is_anomaly)
st.dataframe({
    "anomaly score (higher = more anomalous)": [VARIANTS[k] for k in variants],
    "AUROC": [round(v["auroc"], 3) for v in variants.values()],
    "AUPRC": [round(v["auprc"], 3) for v in variants.values()],
    "F1": [round(v["f1"], 3) for v in variants.values()],
}, hide_index=True, key=f"{PAGE}_variants")
st.caption("The same trained network scored four ways: the paper's ablation in miniature. The paper's s terms "
           "are normality scores (higher = more normal); each row ranks by minus its term, so higher = more "
           "anomalous, as everywhere in this app.")

st.header("One test point: the score, term by term")


@st.fragment
def point_view() -> None:
    i = m.point_picker(PAGE, stored)
    weights = run.detector.weights
    con, cls = terms["con_parts"][i], terms["cls_parts"][i]
    c1, c2, c3 = st.columns(3)
    c1.metric("−s_con-SI", f"{-terms['s_con_si'][i]:.4f}",
              help="The contrastive part of the anomaly score (higher = more anomalous): minus the paper's s_con-SI.")
    c2.metric("−s_cls-SI", f"{-terms['s_cls_si'][i]:.4f}",
              help="The rotation-classifier part of the anomaly score: minus the paper's s_cls-SI.")
    c3.metric("Anomaly score −s_CSI", f"{-terms['s_csi'][i]:.4f}",
              help="= −s_con-SI − s_cls-SI, the score above (higher = more anomalous); the paper's s_CSI is its "
                   "negative, a normality score.")
    table = {
        "rotation": list(ROTATIONS),
        "max cos to training": np.round(terms["max_cos"][i], 4),
        "‖z‖": np.round(terms["norm"][i], 4),
        "s_con(T_y x)": np.round(terms["s_con_rot"][i], 4),
        "λ_y": np.round(weights["con"], 4),
        "λ_y · s_con": np.round(con, 4),
        "logit l_y(x)_y": np.round(terms["logit_rot"][i], 4),
        "λ'_y": np.round(weights["cls"], 4),
        "λ'_y · l_y": np.round(cls, 4),
    }
    st.dataframe(table, hide_index=True, key=f"{PAGE}_terms_table")
    st.caption("**The table holds the paper's terms, which point the other way: higher = more normal.** "
               f"s_con (the plain SimCLR-style score, upright image only) = {terms['s_con'][i]:.4f}. "
               "s_con-SI is the sum of the λ_y · s_con column, s_cls-SI the sum of the λ'_y · l_y column; the "
               "anomaly score is minus their sum.")
    ui.chart(vd.csi_terms_figure(con, cls, ROTATIONS, reference=-stored["train_s_csi"]), f"{PAGE}_terms_fig")
    st.caption("The chart adds up the anomaly score −s_CSI from the negated terms. Each λ scales its term so that "
               "its mean over the training images is about 1 (a training image is its own nearest neighbour), so "
               f"a training image's anomaly score is about −8 (here {-stored['train_s_csi']:.2f} on average, the "
               "dashed line). A step well above −1 shows where this point looks unlike the normal data.")


point_view()
