"""GOAD (Bergman & Hoshen, ICLR 2020): transformations turn one normal class into M classes."""

try:
    from pages import _methods as m
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/goad.py, AppTest)
    import _methods as m
    import _ui as ui

ui.ensure_app_shell()

import numpy as np
import streamlit as st

from adlab import viz_detectors as vd
from adlab.experiment import MethodSpec, balanced_rows
from adlab.views import goad_centre_map, transform_names

PAGE = "goad"
ui.begin(PAGE)

st.title("GOAD: classification-based anomaly detection")
st.markdown(
    "**Make classes out of one class.** Only normal data, no labels, so GOAD invents a classification "
    "task: apply $M$ transformations to every sample and call the result of transformation $m$ "
    "*class m*. For digits the transformations are the rotations: the original is class 1, rotated 90° "
    "class 2, 180° class 3, 270° class 4. A network learns to tell which transformation was applied. "
    "It learns that on normal data only, so on an anomaly (a digit it never saw) it guesses worse.\n\n"
    "The loss is cross-entropy plus a **triplet loss on class centres**: the anchor is a transformed "
    "sample's feature, its **positive** is the centre of its own transformation, its **negative** the "
    "nearest centre of any other transformation. A new sample gets the same $M$ transformations; how "
    "close each copy lands to its own centre decides its score. For *general data* (tables), the "
    "transformations are random linear maps $x \\mapsto xW_m$."
)
st.latex(r"\mathcal L=\mathrm{CE}\bigl(h(f(T(x,m))),\,m\bigr)+\lambda\,\mathcal L_{tc}")
st.latex(r"\mathcal L_{tc}=\frac{1}{nM}\sum_{x,m}\max\Bigl(0,\ \lVert f(T(x,m))-c_m\rVert^2+s"
         r"-\min_{m'\neq m}\lVert f(T(x,m))-c_{m'}\rVert^2\Bigr)")
st.latex(r"P(m'\mid T(x,m))=\frac{\exp(-\lVert f(T(x,m))-c_{m'}\rVert^2)}{\sum_{k}\exp(-\lVert f(T(x,m))-c_{k}\rVert^2)},"
         r"\qquad s(x)=-\sum_{m=1}^{M}\log P(m\mid T(x,m))")
st.markdown(
    "- $T(x,m)$: transformation $m$ of $x$ ($M$ of them); $f$: the shared feature extractor; $h$: a linear "
    "head that predicts $m$ (the cross-entropy term).\n"
    "- $c_m$: the centre of transformation $m$, the mean of $f(T(x,m))$ (per batch while training; for "
    "scoring, the average of those batch means over the last epoch, as in the official code).\n"
    "- $s$: the triplet margin (1); $\\lambda$: the weight of the centre triplet loss (0.1).\n"
    "- $s(x)$: higher = the copies of $x$ do not find their own centres = more anomalous."
)
with st.expander("Paper, numbers, and how this app differs", expanded=False):
    st.markdown(
        "- **Paper:** Bergman & Hoshen, *Classification-Based Anomaly Detection for General Data*, ICLR 2020. "
        "Official code: `lironber/GOAD`.\n"
        "- **Images:** the paper uses 72 geometric transformations (flips × translations × 4 rotations); "
        "CIFAR-10 one-class mean AUROC 88.2. Here: the 4 rotations (or 8 with flips) on 8×8 digits.\n"
        "- **Tabular:** F1 on Arrhythmia 52.0, Thyroid 74.5, KDDCUP99 98.4, KDD-Rev 98.9 (unverified), "
        "with $M = 256$ random maps, 1 epoch, averaged over many runs. The ODDS sets are not built in: the "
        "toy 2-D sets stand in for tabular data, with a smaller $M$ (32) so the picture stays readable, and "
        "1 epoch as in the paper. More epochs can hurt here: the centres are the last epoch's batch means, "
        "and a small training set has only a couple of batches (try 10 epochs on the blobs). "
        "To set a run beside the paper's F1, upload `thyroid.mat` or `arrhythmia.mat` (ODDS) under *Your "
        "data*, choose *Split: GOAD tabular protocol* with the *official* training half (the first half of the "
        "normal rows in file order, as the official code loads these files; the seed then changes only the "
        "initialisation) and $M = 256$; the run card in the downloads then prints the paper's number next to "
        "yours and names the split. The *random* half (normal rows shuffled by the seed) varies more from seed "
        "to seed: on Thyroid, seeds 0-4, mean F1 71.4 against 74.6 (`bench/results/goad_odds.md`).\n"
        "- **Toy sets, planted anomalies:** GOAD is near chance there (AUROC about 0.3 to 0.6), while the "
        "plain distance from the data's centre scores above 0.9: the task *which random map was applied?* "
        "does not get harder for a point far out in two dimensions, often easier. Make one blob normal and "
        "the other two anomalous to see it work (AUROC above 0.99).\n"
        "- **Symmetric digits** (0, 1, 8) look alike under some rotations, which makes GOAD's task ill-posed "
        "for them: try them as the normal class."
    )

# ----------------------------------------------------------------------------- training
st.header("Train GOAD")


def knobs(kind: str) -> dict:
    c1, c2, c3 = st.columns(3)
    if kind == "image":
        params = dict(transforms=c1.radio("Transformations", ["rotations", "geometric8"], key=f"{PAGE}_transforms",
                                          horizontal=True, help="rotations: M = 4; geometric8: flip × 4 rotations"))
    else:
        params = dict(
            n_transforms=int(c1.select_slider("M random linear maps", [4, 8, 16, 32, 64, 128, 256], value=32,
                                              key=f"{PAGE}_n_transforms")),
            transform_dim=int(st.select_slider("Output width of each map W_m", [4, 8, 16, 32, 64], value=32,
                                               key=f"{PAGE}_transform_dim")),
        )
    params["lambda_tc"] = float(c2.slider("λ (centre triplet weight)", 0.0, 1.0, 0.1, 0.05, key=f"{PAGE}_lambda"))
    params["margin"] = float(c3.slider("Margin s", 0.0, 5.0, 1.0, 0.5, key=f"{PAGE}_margin"))
    return params


form = m.detector_form(PAGE, knobs, epochs=m.quick_epochs("goad"), lr=1e-3, batch_size=64)
if form.dataset.startswith("toy:") and "anomaly" in form.anomalous:
    st.caption("Expect GOAD to be near chance on the toy sets' planted anomalies: a point far out in two "
               "dimensions is no harder to classify by the map that moved it (see *Paper, numbers, and how "
               "this app differs*). Make one blob normal and the others anomalous to see it work.")
m.train_and_store(PAGE, form, lambda: MethodSpec.quick("goad", form.kind, input_shape=form.input_shape, **form.params))

stored = st.session_state.get(f"{PAGE}_run")
if not stored:
    ui.hint(PAGE, "Press **Train** to fit GOAD on the normal classes and score the test set.")
    st.stop()

m.show_results(PAGE, stored, score_text="Score = −Σ_m log P(m | T(x, m)).")
run, split = stored["run"], stored["split"]
det = run.detector
names = transform_names(det)

# ----------------------------------------------------------------------------- centres
st.header("The transformation centres")
if "centre_map" not in stored:  # once per run: it embeds every normal training row M times
    stored["centre_map"] = goad_centre_map(det, split.X_test, balanced_rows(run.is_anomaly, 40, seed=0),
                                           X_train=split.X_train)
cmap = stored["centre_map"]
normal_points = ~run.is_anomaly[cmap.row]
ui.chart(vd.goad_centres_figure(cmap.points, cmap.transform, cmap.centres, names, ~normal_points,
                                focus=normal_points, means=cmap.means), f"{PAGE}_centres")
lo = np.concatenate([cmap.points[normal_points], cmap.centres, cmap.means]).min(axis=0)
hi = np.concatenate([cmap.points[normal_points], cmap.centres, cmap.means]).max(axis=0)
outside = int(((cmap.points < lo - 0.1 * (hi - lo)) | (cmap.points > hi + 0.1 * (hi - lo))).any(axis=1).sum())
if cmap.offset > cmap.spread:  # the centres the score uses sit away from the clusters (see goad_centre_map)
    where = (f"The crosses are the centres c_m the score uses: the batch means of the last training epoch, taken "
             "in training mode (BatchNorm on each batch's statistics, weights still moving), as the official code "
             "does. The points are computed as for scoring (eval mode, BatchNorm on its running statistics), so "
             "the normal copies cluster around the open circles (their mean over the normal training rows), not "
             f"at the crosses: {cmap.offset:.2g} apart on average, against a spread of {cmap.spread:.2g} within a "
             "cluster. The score only compares distances to the crosses")
else:
    where = ("The normal copies of each colour are centred on their cross (the open circle, their mean over the "
             "normal training rows, sits on it). The score compares distances to the crosses")
own_normal, own_anomalous = cmap.own_centre[normal_points].mean(), cmap.own_centre[~normal_points].mean()
stray = ("the anomalous copies stray towards other centres, or far from all" if own_normal > own_anomalous + 0.1
         else "here the anomalous copies find their own centre about as often, so the score hardly separates them")
st.caption(f"Features f(T(x, m)) of {len(np.unique(cmap.row))} test points (up to 40 normal as circles, 40 anomalous as open "
           f"diamonds) under each of the M = {len(names)} transformations, coloured by m, and the centres c_m "
           f"(crosses), on the plane through the centres that keeps the most of their spread "
           f"({cmap.explained:.0%}). The view fits the normal points"
           + (f"; {outside} anomalous points lie outside it. " if outside else ". ") + where
           + f": {own_normal:.0%} of the normal copies shown are nearer their own c_m than any other (in the full "
           f"feature space), against {own_anomalous:.0%} of the anomalous copies; {stray}.")

# ----------------------------------------------------------------------------- one point
st.header("One test point: which centre does each copy find?")


@st.fragment
def point_view() -> None:
    i = m.point_picker(PAGE, stored)
    x = split.X_test[i : i + 1]
    probs = det.transform_probabilities(x)[0]  # (M, M)
    terms = det.score_breakdown(x)[0]  # (M,)
    left, right = st.columns(2)
    ui.chart(vd.transform_softmax_figure(probs, names), f"{PAGE}_softmax", left)
    ui.chart(vd.per_transform_bar_figure(terms, names), f"{PAGE}_terms", right)
    st.caption(f"Row m of the heatmap: the copy T(x, m)'s softmax over the M centres. A normal point puts its mass "
               f"on the diagonal; the bars are −log of the diagonal, and their sum {terms.sum():.4g} is the score.")


point_view()
