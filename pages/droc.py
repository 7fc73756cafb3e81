"""DROC (Sohn et al., ICLR 2021): contrastive representation first, a shallow one-class model second."""

try:
    from pages import _methods as m
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/droc.py, AppTest)
    import _methods as m
    import _ui as ui

ui.ensure_app_shell()

import streamlit as st

from adlab import viz
from adlab.detectors.droc import FEATURE_SPACES
from adlab.detectors.shallow import SCORERS
from adlab.experiment import MethodSpec
from adlab.metrics import evaluate
from adlab.views import scorer_grid

PAGE = "droc"
ui.begin(PAGE)
SCORER_LABELS = {"kde": "KDE", "ocsvm": "OC-SVM", "gaussian": "Gaussian", "knn": "1-NN (cosine)"}
FEATURE_LABELS = {"encoder": "encoder f(x)", "head": "head g(f(x))"}

st.title("DROC: representations for deep one-class classification")
st.markdown(
    "**Two stages, composed.** (1) Learn a representation suited to anomaly detection with SimCLR, on "
    "normal data only, plus **extra negatives**: every training image also enters the set rotated by "
    "90°, 180° and 270°, each copy a sample of its own (*distribution augmentation*). To tell an image "
    "from its own rotations the network has to learn what *upright* normal data looks like, and the "
    "normal data no longer spreads uniformly over the whole sphere of features. (2) Freeze the network "
    "and fit a **simple one-class model** on the features of the un-augmented training images: a kernel "
    "density, a one-class SVM, a Gaussian, or the nearest neighbour. Because the stages are separate, "
    "the second one can be swapped in an instant (below)."
)
st.latex(r"\mathcal L=-\frac1N\sum_{i=1}^{N}\log\frac{\exp(\hat u_i\cdot\hat v_i/\tau)}{\sum_{k=1}^{N}\exp(\hat u_i\cdot\hat v_k/\tau)}")
st.latex(r"s_{\mathrm{KDE}}(x)=-\frac1\gamma\log\sum_{i}\exp\bigl(2\gamma\,\cos(f(x),f(x_i))\bigr),"
         r"\qquad \gamma=\frac{10}{\operatorname{Var}(F)\,d}")
st.markdown(
    "- $\\hat u_i$, $\\hat v_k$: the L2-normalised head outputs of the first and second augmented view of "
    "samples $i$ and $k$ in a batch of $N$ (rotated copies included as samples); the positive of $\\hat u_i$ "
    "is $\\hat v_i$, the negatives are the other samples' second views (DROC's one-directional, cross-view "
    "form of NT-Xent); $\\tau = 0.2$.\n"
    "- $f(x)$: encoder features (before the head), L2-normalised; $x_i$: the normal training images; "
    "$F$: their feature matrix, $d$ its width.\n"
    "- Scores (higher = more anomalous): KDE as above; OC-SVM with an RBF kernel of the same $\\gamma$; "
    "Gaussian = negative log-density of one Gaussian fitted to $F$; 1-NN = $1-\\max_i\\cos(f(x), f(x_i))$."
)
with st.expander("Paper, numbers, and how this app differs", expanded=False):
    st.markdown(
        "- **Paper:** Sohn, Li, Yoon, Jin & Pfister, *Learning and Evaluating Representations for Deep "
        "One-Class Classification*, ICLR 2021. Official code: `google-research/deep_representation_one_class`.\n"
        "- **CIFAR-10 one-class mean AUROC:** contrastive 89.0, contrastive + distribution augmentation 92.5, "
        "rotation prediction 91.3 (ResNet-18, OC-SVM / KDE on encoder features).\n"
        "- **Encoder vs head:** the paper finds the features before the projection head far better; switch "
        "them below and see.\n"
        "- **Here:** a small CNN on 8×8 digits, a few seconds of training; the Gaussian stage 2 is the default "
        "because it scores best with these small encoders. On the toy sets (rows, not images) there is no "
        "rotation: distribution augmentation is switched off and the views come from noise and masking.\n"
        "- **Gain from training, measured here** (not a paper number): on 8×8 digits an untrained encoder is "
        "already a good feature space, so training adds little. Default run (digit 3, seed 0): AUROC 0.971 "
        "untrained → 0.991 trained. Over seeds 0-3 the change ranges from −0.015 to +0.051: the default test "
        "set holds about nine anomalies, so differences of a few hundredths are within its noise. Without "
        "distribution augmentation the trained encoder scores below the untrained one (digit 3, seeds 0-2, "
        "400 test points without the anomaly cap: −0.026, −0.022, −0.013, against −0.003, +0.009, +0.024 "
        "with it)."
    )

# ----------------------------------------------------------------------------- training
st.header("Train DROC")


def knobs(kind: str) -> dict:
    c1, c2, c3, c4 = st.columns(4)
    da = c1.checkbox("Distribution augmentation (rotations as negatives)", value=True, key=f"{PAGE}_da",
                     help="Images only: on tabular rows it is switched off.")
    scorer = c2.radio("One-class model", SCORERS, index=SCORERS.index("gaussian"), key=f"{PAGE}_scorer",
                      format_func=SCORER_LABELS.get)
    features = c3.radio("Features", FEATURE_SPACES, key=f"{PAGE}_features", format_func=FEATURE_LABELS.get)
    tau = c4.number_input("Temperature τ", 0.05, 2.0, 0.2, 0.05, key=f"{PAGE}_tau")
    return dict(distribution_augmentation=bool(da and kind == "image"), scorer=scorer, features=features,
                temperature=float(tau))


form = m.detector_form(PAGE, knobs, epochs=m.quick_epochs("droc"), lr=2e-3, batch_size=32)
if form.submitted and form.kind != "image" and st.session_state.get(f"{PAGE}_da"):
    st.info("Distribution augmentation rotates images; the toy sets are rows, so it is off for this run.")
stored = m.train_and_store(PAGE, form, lambda: MethodSpec.quick("droc", form.kind, input_shape=form.input_shape,
                                                                **form.params))
if stored is not None:  # a run that just ended
    st.session_state[f"{PAGE}_fits"] = st.session_state.get(f"{PAGE}_fits", 0) + 1
    stored["test_features"] = stored["run"].detector.transform(stored["split"].X_test)

stored = st.session_state.get(f"{PAGE}_run")
if not stored:
    ui.hint(PAGE, "Press **Train** to learn the representation on the normal classes and score the test set.")
    st.stop()

run = stored["run"]
det = run.detector
st.markdown(f"Stage 2 of this run: **{SCORER_LABELS[det.scorer]}** on **{FEATURE_LABELS[det.features]}** features.")
m.show_results(PAGE, stored, score_text="Score = the stage-2 model's negative log-density (or distance).")

# ----------------------------------------------------------------------------- instant switch
st.header("Switch the one-class model, not the network")
st.caption("The network stays as trained; the test features are computed once. Each choice below only fits "
           "the small stage-2 model on the cached training features, which takes a fraction of a second.")


@st.fragment
def switch_view() -> None:
    c1, c2 = st.columns(2)
    scorer = c1.radio("One-class model", SCORERS, index=SCORERS.index(det.scorer), key=f"{PAGE}_view_scorer",
                      horizontal=True, format_func=SCORER_LABELS.get)
    features = c2.radio("Features", FEATURE_SPACES, index=FEATURE_SPACES.index(det.features),
                        key=f"{PAGE}_view_features", horizontal=True, format_func=FEATURE_LABELS.get)
    scores = det.score_features(stored["test_features"], scorer, features)
    metrics = evaluate(run.is_anomaly, scores)
    cols = st.columns(3)
    for col, (key, label) in zip(cols, (("auroc", "AUROC"), ("auprc", "AUPRC"), ("f1", "F1")), strict=True):
        col.metric(f"{label} ({SCORER_LABELS[scorer]}, {features})", f"{metrics[key]:.3f}",
                   delta=f"{metrics[key] - run.metrics[key]:+.3f} vs the trained choice")
    left, right = st.columns(2)
    ui.chart(viz.score_histogram_figure(scores, run.is_anomaly, f"Scores: {SCORER_LABELS[scorer]} on {features}"),
             f"{PAGE}_view_hist", left)
    ui.chart(viz.roc_figure({f"{SCORER_LABELS[scorer]}, {features}": (run.is_anomaly, scores)}),
             f"{PAGE}_view_roc", right)
    if "grid" not in stored:
        stored["grid"] = scorer_grid(det, stored["test_features"], run.is_anomaly)
    table = {
        "features": [FEATURE_LABELS[r["features"]] for r in stored["grid"]],
        "one-class model": [SCORER_LABELS[r["scorer"]] for r in stored["grid"]],
        "AUROC": [round(r["auroc"], 3) for r in stored["grid"]],
        "AUPRC": [round(r["auprc"], 3) for r in stored["grid"]],
        "F1": [round(r["f1"], 3) for r in stored["grid"]],
    }
    st.markdown("**All eight combinations** on this run's features:")
    st.dataframe(table, hide_index=True, key=f"{PAGE}_grid")


switch_view()
