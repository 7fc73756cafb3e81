"""Deep one-class classification (Deep SVDD): pull the normal data to a centre, flag what stays far."""

try:
    from pages import _methods as m
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/deep_svdd.py, AppTest)
    import _methods as m
    import _ui as ui

ui.ensure_app_shell()

import numpy as np
import streamlit as st

from adlab import viz_detectors as vd
from adlab.experiment import MethodSpec
from adlab.views import sphere_coordinates

PAGE = "deep_svdd"
ui.begin(PAGE)
#: The default run trains on the toy blobs, where the guards-off network collapses (seed 0, BatchNorm
#: off, lr 0.01, 100 epochs: collapse ratio 2.4e-4 with the guards off against 5.3e-2 with them on;
#: guards on, AUROC 0.901 untrained -> 0.945 trained). On the digits the same settings collapse only
#: about 10x more with the guards off, and BatchNorm (which the digits need) slows it further.
DEFAULT_DATASET = "toy:blobs"
GUARDS = {
    "on": dict(no_bias=True, bn_no_affine=True, c_from_init=True, c_eps=True),
    "off": dict(no_bias=False, bn_no_affine=False, c_from_init=False, c_eps=False),
}

st.title("Deep one-class classification (Deep SVDD)")
st.markdown(
    "**One class, one centre.** We only have normal data, so we train a network $\\phi$ to map every "
    "normal sample close to a single point $c$ in feature space. After training, a new sample is judged "
    "by where it lands: beyond a distance $R$ from $c$ (or, in density terms, in a sparse region) means "
    "anomalous. It is the classical SVDD / one-class SVM picture, except that the feature map is a deep "
    "network learned for the job instead of a fixed kernel."
)
st.latex(r"\min_{\phi}\ \frac1n\sum_{i=1}^{n}\lVert\phi(x_i)-c\rVert^2"
         r"\qquad\text{(one-class)}")
st.latex(r"\min_{\phi,R}\ R^2+\frac{1}{\nu n}\sum_{i=1}^{n}\max\bigl(0,\ \lVert\phi(x_i)-c\rVert^2-R^2\bigr)"
         r"\qquad\text{(soft boundary)}")
st.latex(r"s(x)=\lVert\phi(x)-c\rVert^2\qquad\text{(higher = more anomalous)}")
st.markdown(
    "- $x_i$: the $n$ normal training samples; $\\phi$: the network (a small CNN for images, an MLP for rows).\n"
    "- $c$: the centre, fixed before training to the mean of $\\phi(x_i)$ of the untrained network.\n"
    "- $R$: the radius of the sphere. Soft boundary: $R$ is learnt and a fraction of about $\\nu$ of "
    "the training points may stay outside; one-class: $R$ is only drawn, as the $(1-\\nu)$ quantile of "
    "the training distances.\n"
    "- $s(x)$: the squared distance to $c$. The sphere is a threshold on it; the ranking (and AUROC) "
    "does not need one."
)
st.markdown(
    "**The catch: collapse.** The loss is 0 when $\\phi$ maps *everything* onto $c$, normal or not. "
    "The official code blocks the easy ways there: **no bias terms** (a last-layer bias equal to $c$ "
    "with zero weights is a constant map), **BatchNorm without a learnt scale/shift**, **$c$ from an "
    "initial forward pass** instead of a free or zero vector, and **no coordinate of $c$ near 0** "
    "(|c_k| ≥ 0.1). Switch these guards off below and watch the features shrink."
)
with st.expander("Paper, numbers, and how this app differs", expanded=False):
    st.markdown(
        "- **Paper:** Ruff, Vandermeulen, Görnitz, Deecke, Siddiqui, Binder, Müller & Kloft, *Deep One-Class "
        "Classification*, ICML 2018. Official code: `lukasruff/Deep-SVDD-PyTorch`.\n"
        "- **Reported one-class mean AUROC:** MNIST 94.8, CIFAR-10 64.8 (unverified).\n"
        "- **Here:** no autoencoder pretraining (the paper pretrains with an autoencoder, then trains with Adam "
        "at lr 1e-4 and continues at 1e-5; the official PyTorch code's MNIST example runs 150 epochs with the "
        "rate dropped from 1e-4 to 1e-5 at epoch 50, `--lr_milestone 50`; the paper's own epoch counts are "
        "unverified here); "
        "quick runs with Adam (by default 100 epochs at lr 0.01 on the toy blobs, BatchNorm off: the setting "
        "where switching the guards off shows the collapse); the BatchNorm statistics are recomputed on the "
        "training set after training. The digits are 8×8, far smaller than MNIST."
    )

# ----------------------------------------------------------------------------- training
st.header("Train Deep SVDD")


def knobs(kind: str) -> dict:
    c1, c2, c3, c4 = st.columns(4)
    guards = c1.radio("Collapse guards", ["on", "off", "both"], index=2, key=f"{PAGE}_guards", horizontal=True,
                      help="'both' trains twice with the same seed, guards on and off, and shows them side by side.")
    batchnorm = c2.checkbox("BatchNorm layers", value=False, key=f"{PAGE}_batchnorm",
                            help="BatchNorm keeps each hidden unit at unit batch variance, which by itself slows "
                                 "the collapse a lot (off by default, to show the guards' effect). On the digits, "
                                 "switch it on for better AUROC.")
    objective = c3.radio("Objective", ["one-class", "soft-boundary"], key=f"{PAGE}_objective", horizontal=True)
    nu = c4.slider("ν (outside fraction)", 0.01, 0.5, 0.1, 0.01, key=f"{PAGE}_nu")
    rep_dim = st.select_slider("Feature dimension of φ", [2, 4, 8, 16, 32, 64], value=32, key=f"{PAGE}_rep_dim")
    return dict(guards=guards, batchnorm=batchnorm, objective=objective, nu=float(nu), rep_dim=int(rep_dim))


if f"{PAGE}_dataset" not in st.session_state:  # the set where the collapse shows (a link's choice stays)
    st.session_state[f"{PAGE}_dataset"] = DEFAULT_DATASET
form = m.detector_form(PAGE, knobs, epochs={"tabular": 100, "image": 30}, lr=1e-2, batch_size=128)
st.caption("The defaults show the collapse: toy blobs, BatchNorm off, learning rate 0.01, 100 epochs, guards "
           "**both**. On the 8×8 digits, BatchNorm on and learning rate 0.001 train better, and slow the collapse.")

params = dict(form.params)
guards = ["on", "off"] if params.get("guards") == "both" else [params.get("guards")]
if form.submitted:  # another setting drops the earlier runs (not comparable); the chosen guards retrain
    st.session_state.pop(f"{PAGE}_run", None)
    runs = st.session_state.get(f"{PAGE}_runs", {})
    signature = (form.setting, tuple(sorted((k, v) for k, v in params.items() if k != "guards")))
    if runs.get("signature") != signature:
        runs = {"signature": signature}
    for guard in guards:
        runs.pop(guard, None)
    st.session_state[f"{PAGE}_runs"] = runs


def guard_specs() -> dict[str, MethodSpec]:
    knobs = {k: v for k, v in params.items() if k != "guards"}
    return {g: MethodSpec.quick("deepsvdd", form.kind, input_shape=form.input_shape, **knobs, **GUARDS[g])
            for g in guards}


done = m.run_detectors(PAGE, form, guard_specs, describe=lambda guard, spec: f"{spec.label}, guards {guard}",
                       summary=lambda done: ", ".join(f"guards {g}: trained in {r.run.fit_seconds:.1f} s"
                                                      for g, r in done.results.items()))
if done is not None:
    runs = st.session_state.get(f"{PAGE}_runs", {})
    for guard, result in done.results.items():
        runs[guard] = m.stored_run(result, done.keep, guards=guard)
    st.session_state[f"{PAGE}_run"] = runs["on"] if "on" in runs else runs[next(iter(done.results))]
    st.session_state[f"{PAGE}_runs"] = runs

stored = st.session_state.get(f"{PAGE}_run")
if not stored:
    ui.hint(PAGE, "Press **Train** to fit Deep SVDD on the normal classes and score the test set.")
    st.stop()

st.markdown(f"Results of the run with the guards **{stored['guards']}**.")
m.show_results(PAGE, stored, score_text="Score = ‖φ(x) − c‖².")

# ----------------------------------------------------------------------------- the hypersphere
st.header("The hypersphere")


def sphere_view(stored: dict, key: str, *, title: str) -> None:
    run = stored["run"]
    det = run.detector
    r, theta = sphere_coordinates(run.test_after, det.center_)
    ui.chart(vd.sphere_figure(r, theta, run.is_anomaly, det.radius_, title=title,
                              hover=m.hover_labels(stored, run.y_test)), key)


run = stored["run"]
det = run.detector
dist = np.sqrt(run.scores)
c1, c2, c3 = st.columns(3)
c1.metric("Radius R", f"{det.radius_:.4g}")
c2.metric("Normal test points inside the sphere", f"{np.mean(dist[~run.is_anomaly] <= det.radius_):.0%}")
c3.metric("Anomalies outside the sphere", f"{np.mean(dist[run.is_anomaly] > det.radius_):.0%}")
left, right = st.columns(2)
with left:
    sphere_view(stored, f"{PAGE}_sphere", title="Test points around c")
ui.chart(vd.distance_histogram_figure(dist, run.is_anomaly, det.radius_), f"{PAGE}_distances", right)
st.caption("Left: each test point at its true distance from c; the direction is only a 2-D summary "
           "(the two main axes of φ(x) − c). Right: the same distances as histograms, R dashed.")

# ----------------------------------------------------------------------------- collapse
st.header("Collapse: guards on and off")
runs = st.session_state.get(f"{PAGE}_runs", {})
if "on" in runs and "off" in runs:
    dets = {g: runs[g]["run"].detector for g in ("on", "off")}
    shrink = dets["on"].collapse_ratio_ / max(dets["off"].collapse_ratio_, 1e-30)
    a, b, c = st.columns(3)
    for col, guard in ((a, "on"), (b, "off")):
        col.metric(f"Collapse ratio, guards {guard}", f"{dets[guard].collapse_ratio_:.1e}",
                   help="Mean feature variance of φ over the training set after training / before training.")
    c.metric("Guards off shrink the features", f"{shrink:,.0f}× more" if shrink >= 1 else f"{1 / shrink:,.1f}× less",
             help="Collapse ratio with the guards on / collapse ratio with the guards off.")
    st.dataframe({
        "": ["feature variance before training", "feature variance after training", "median test score ‖φ(x) − c‖²",
             "AUROC untrained", "AUROC trained"],
        **{f"guards {g}": [f"{dets[g].initial_feature_variance_:.1e}", f"{dets[g].feature_variance_:.1e}",
                           f"{np.median(runs[g]['run'].scores):.1e}",
                           f"{runs[g]['run'].metrics_before['auroc']:.3f}" if runs[g]["run"].metrics_before else "–",
                           f"{runs[g]['run'].metrics['auroc']:.3f}"] for g in ("on", "off")},
    }, hide_index=True, key=f"{PAGE}_collapse_table")
    cols = st.columns(2)
    for col, guard in zip(cols, ("on", "off"), strict=True):
        with col:
            sphere_view(runs[guard], f"{PAGE}_sphere_{guard}", title=f"Guards {guard}: test points around c")
    curves = {f"guards {g}": runs[g]["run"].history.epoch_losses for g in ("on", "off")}
    ui.chart(vd.loss_curves_figure(curves), f"{PAGE}_collapse_loss")
    score_drop = np.median(runs["on"]["run"].scores) / max(np.median(runs["off"]["run"].scores), 1e-300)
    if shrink >= 100 and score_drop >= 100:
        st.caption(f"Here the guards-off map collapsed: its features shrank {shrink:,.0f} times more than with the "
                   f"guards on and its median test score is {score_drop:,.0f} times smaller. AUROC can survive for "
                   "a while, on distances too small to mean anything, so look at the scale, not only at AUROC.")
    else:
        st.caption(f"No collapse by orders of magnitude in this run: with the guards off the features shrank "
                   f"{shrink:.2g} times as much as with them on and the median test score is {score_drop:.2g} times "
                   "smaller. BatchNorm, few training steps or a small learning rate slow the collapse; the page's "
                   "defaults (toy blobs, BatchNorm off) show it.")
else:
    st.info("Train with the guards **both** (or once on and once off, with the same settings) to compare "
            "the two runs side by side.")
