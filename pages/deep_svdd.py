"""Deep one-class classification (Deep SVDD): pull the normal data to a centre, flag what stays far."""

try:
    from pages import _i18n as i18n_ui
    from pages import _methods as m
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/deep_svdd.py, AppTest)
    import _i18n as i18n_ui
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
t = i18n_ui.t
#: The default run trains on the toy blobs, where the guards-off network collapses (seed 0, BatchNorm
#: off, lr 0.01, 100 epochs: collapse ratio 2.4e-4 with the guards off against 5.3e-2 with them on;
#: guards on, AUROC 0.901 untrained -> 0.945 trained). On the digits the same settings collapse only
#: about 10x more with the guards off, and BatchNorm (which the digits need) slows it further.
DEFAULT_DATASET = "toy:blobs"
GUARDS = {
    "on": dict(no_bias=True, bn_no_affine=True, c_from_init=True, c_eps=True),
    "off": dict(no_bias=False, bn_no_affine=False, c_from_init=False, c_eps=False),
}

st.title(t("detectors.deep_svdd.title"))
st.markdown(t("detectors.deep_svdd.intro"))
st.latex(r"\min_{\phi}\ \frac1n\sum_{i=1}^{n}\lVert\phi(x_i)-c\rVert^2"
         r"\qquad\text{" + t("detectors.deep_svdd.latex_one_class") + "}")
st.latex(r"\min_{\phi,R}\ R^2+\frac{1}{\nu n}\sum_{i=1}^{n}\max\bigl(0,\ \lVert\phi(x_i)-c\rVert^2-R^2\bigr)"
         r"\qquad\text{" + t("detectors.deep_svdd.latex_soft_boundary") + "}")
st.latex(r"s(x)=\lVert\phi(x)-c\rVert^2\qquad\text{" + t("detectors.deep_svdd.latex_higher") + "}")
st.markdown(t("detectors.deep_svdd.symbols"))
st.markdown(t("detectors.deep_svdd.catch"))
with st.expander(t("detectors.paper_expander"), expanded=False):
    st.markdown(t("detectors.deep_svdd.paper"))

# ----------------------------------------------------------------------------- training
st.header(t("detectors.deep_svdd.train_heading"))


def guard_word(guard: str) -> str:
    """"on", "off" or "both" as the page says it (the values stay these codes)."""
    return t(f"detectors.deep_svdd.guard.{guard}")


def knobs(kind: str) -> dict:
    c1, c2, c3, c4 = st.columns(4)
    guards = c1.radio(t("detectors.deep_svdd.guards"), ["on", "off", "both"], index=2, key=f"{PAGE}_guards",
                      horizontal=True, format_func=i18n_ui.option_labels("detectors.deep_svdd.guard"),
                      help=t("detectors.deep_svdd.guards_help"))
    batchnorm = c2.checkbox(t("detectors.deep_svdd.batchnorm"), value=False, key=f"{PAGE}_batchnorm",
                            help=t("detectors.deep_svdd.batchnorm_help"))
    objective = c3.radio(t("detectors.deep_svdd.objective"), ["one-class", "soft-boundary"], key=f"{PAGE}_objective",
                         horizontal=True, format_func=i18n_ui.option_labels("detectors.deep_svdd.objective_option"))
    nu = c4.slider(t("detectors.deep_svdd.nu"), 0.01, 0.5, 0.1, 0.01, key=f"{PAGE}_nu")
    rep_dim = st.select_slider(t("detectors.deep_svdd.rep_dim"), [2, 4, 8, 16, 32, 64], value=32,
                               key=f"{PAGE}_rep_dim")
    return dict(guards=guards, batchnorm=batchnorm, objective=objective, nu=float(nu), rep_dim=int(rep_dim))


if f"{PAGE}_dataset" not in st.session_state:  # the set where the collapse shows (a link's choice stays)
    st.session_state[f"{PAGE}_dataset"] = DEFAULT_DATASET
form = m.detector_form(PAGE, knobs, epochs={"tabular": 100, "image": 30}, lr=1e-2, batch_size=128)
st.caption(t("detectors.deep_svdd.defaults"))

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


done = m.run_detectors(PAGE, form, guard_specs,
                       describe=lambda guard, spec: t("detectors.deep_svdd.job", label=m.method_label(spec.method),
                                                      guard=guard_word(guard)),
                       summary=lambda done: ", ".join(t("detectors.deep_svdd.trained", guard=guard_word(g),
                                                        seconds=r.run.fit_seconds)
                                                      for g, r in done.results.items()))
if done is not None:
    runs = st.session_state.get(f"{PAGE}_runs", {})
    for guard, result in done.results.items():
        runs[guard] = m.stored_run(result, done.keep, guards=guard)
    st.session_state[f"{PAGE}_run"] = runs["on"] if "on" in runs else runs[next(iter(done.results))]
    st.session_state[f"{PAGE}_runs"] = runs

stored = st.session_state.get(f"{PAGE}_run")
if not stored:
    ui.hint(PAGE, t("detectors.deep_svdd.hint"))
    st.stop()

st.markdown(t("detectors.deep_svdd.results_of", guard=guard_word(stored["guards"])))
m.show_results(PAGE, stored, score_text=t("detectors.deep_svdd.score_text"))

# ----------------------------------------------------------------------------- the hypersphere
st.header(t("detectors.deep_svdd.sphere_heading"))


def sphere_view(stored: dict, key: str, *, title: str) -> None:
    run = stored["run"]
    det = run.detector
    r, theta = sphere_coordinates(run.test_after, det.center_)
    ui.chart(vd.sphere_figure(r, theta, run.is_anomaly, det.radius_, title=title,
                              hover=m.hover_labels(stored, run.y_test), lang=i18n_ui.lang()), key)


run = stored["run"]
det = run.detector
dist = np.sqrt(run.scores)
c1, c2, c3 = st.columns(3)
c1.metric(t("detectors.deep_svdd.radius"), f"{det.radius_:.4g}")
c2.metric(t("detectors.deep_svdd.inside"), f"{np.mean(dist[~run.is_anomaly] <= det.radius_):.0%}")
c3.metric(t("detectors.deep_svdd.outside"), f"{np.mean(dist[run.is_anomaly] > det.radius_):.0%}")
left, right = st.columns(2)
with left:
    sphere_view(stored, f"{PAGE}_sphere", title=t("detectors.deep_svdd.sphere_title"))
ui.chart(vd.distance_histogram_figure(dist, run.is_anomaly, det.radius_, lang=i18n_ui.lang()), f"{PAGE}_distances",
         right)
st.caption(t("detectors.deep_svdd.sphere_caption"))

# ----------------------------------------------------------------------------- collapse
st.header(t("detectors.deep_svdd.collapse_heading"))
runs = st.session_state.get(f"{PAGE}_runs", {})
if "on" in runs and "off" in runs:
    dets = {g: runs[g]["run"].detector for g in ("on", "off")}
    shrink = dets["on"].collapse_ratio_ / max(dets["off"].collapse_ratio_, 1e-30)
    a, b, c = st.columns(3)
    for col, guard in ((a, "on"), (b, "off")):
        col.metric(t("detectors.deep_svdd.collapse_ratio", guard=guard_word(guard)), f"{dets[guard].collapse_ratio_:.1e}",
                   help=t("detectors.deep_svdd.collapse_ratio_help"))
    c.metric(t("detectors.deep_svdd.shrink"),
             t("detectors.deep_svdd.shrink_more", factor=shrink) if shrink >= 1
             else t("detectors.deep_svdd.shrink_less", factor=1 / shrink),
             help=t("detectors.deep_svdd.shrink_help"))
    st.dataframe({
        "": [t(f"detectors.deep_svdd.{row}") for row in ("variance_before", "variance_after", "median_score",
                                                           "auroc_untrained", "auroc_trained")],
        **{t("detectors.deep_svdd.guards_column", guard=guard_word(g)): [f"{dets[g].initial_feature_variance_:.1e}", f"{dets[g].feature_variance_:.1e}",
                           f"{np.median(runs[g]['run'].scores):.1e}",
                           f"{runs[g]['run'].metrics_before['auroc']:.3f}" if runs[g]["run"].metrics_before else "–",
                           f"{runs[g]['run'].metrics['auroc']:.3f}"] for g in ("on", "off")},
    }, hide_index=True, key=f"{PAGE}_collapse_table")
    cols = st.columns(2)
    for col, guard in zip(cols, ("on", "off"), strict=True):
        with col:
            sphere_view(runs[guard], f"{PAGE}_sphere_{guard}",
                        title=t("detectors.deep_svdd.guards_sphere_title", guard=guard_word(guard)))
    curves = {t("detectors.deep_svdd.guards_column", guard=guard_word(g)): runs[g]["run"].history.epoch_losses
              for g in ("on", "off")}
    ui.chart(vd.loss_curves_figure(curves, lang=i18n_ui.lang()), f"{PAGE}_collapse_loss")
    score_drop = np.median(runs["on"]["run"].scores) / max(np.median(runs["off"]["run"].scores), 1e-300)
    if shrink >= 100 and score_drop >= 100:
        st.caption(t("detectors.deep_svdd.collapsed", shrink=shrink, drop=score_drop))
    else:
        st.caption(t("detectors.deep_svdd.not_collapsed", shrink=shrink, drop=score_drop))
else:
    st.info(t("detectors.deep_svdd.train_both"))
