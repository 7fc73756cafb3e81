"""DROC (Sohn et al., ICLR 2021): contrastive representation first, a shallow one-class model second."""

try:
    from pages import _i18n as i18n_ui
    from pages import _methods as m
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/droc.py, AppTest)
    import _i18n as i18n_ui
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
t, lang = i18n_ui.t, i18n_ui.lang()


def scorer_label(scorer: str) -> str:
    """A stage-2 model's name ("kde" -> "KDE", "knn" -> "1-NN (cosine)")."""
    return t(f"detectors.droc.scorer_option.{scorer}")


def feature_label(features: str) -> str:
    """A feature space as the radios show it ("encoder" -> "encoder f(x)")."""
    return t(f"detectors.droc.feature_option.{features}")


def feature_word(features: str) -> str:
    """A feature space's name in a metric label or a figure title ("encoder")."""
    return t(f"detectors.droc.feature_word.{features}")


st.title(t("detectors.droc.title"))
st.markdown(t("detectors.droc.intro"))
st.latex(r"\mathcal L=-\frac1N\sum_{i=1}^{N}\log\frac{\exp(\hat u_i\cdot\hat v_i/\tau)}{\sum_{k=1}^{N}\exp(\hat u_i\cdot\hat v_k/\tau)}")
st.latex(r"s_{\mathrm{KDE}}(x)=-\frac1\gamma\log\sum_{i}\exp\bigl(2\gamma\,\cos(f(x),f(x_i))\bigr),"
         r"\qquad \gamma=\frac{10}{\operatorname{Var}(F)\,d}")
st.markdown(t("detectors.droc.symbols"))
with st.expander(t("detectors.paper_expander"), expanded=False):
    st.markdown(t("detectors.droc.paper"))

# ----------------------------------------------------------------------------- training
st.header(t("detectors.droc.train_heading"))


def knobs(kind: str) -> dict:
    c1, c2, c3, c4 = st.columns(4)
    da = c1.checkbox(t("detectors.droc.da"), value=True, key=f"{PAGE}_da", help=t("detectors.droc.da_help"))
    scorer = c2.radio(t("detectors.droc.scorer"), SCORERS, index=SCORERS.index("gaussian"), key=f"{PAGE}_scorer",
                      format_func=i18n_ui.option_labels("detectors.droc.scorer_option"))
    features = c3.radio(t("detectors.droc.features"), FEATURE_SPACES, key=f"{PAGE}_features",
                        format_func=i18n_ui.option_labels("detectors.droc.feature_option"))
    tau = c4.number_input(t("detectors.droc.tau"), 0.05, 2.0, 0.2, 0.05, key=f"{PAGE}_tau")
    return dict(distribution_augmentation=bool(da and kind == "image"), scorer=scorer, features=features,
                temperature=float(tau))


form = m.detector_form(PAGE, knobs, epochs=m.quick_epochs("droc"), lr=2e-3, batch_size=32)
if form.submitted and form.kind != "image" and st.session_state.get(f"{PAGE}_da"):
    st.info(t("detectors.droc.da_off"))
stored = m.train_and_store(PAGE, form, lambda: MethodSpec.quick("droc", form.kind, input_shape=form.input_shape,
                                                                **form.params))
if stored is not None:  # a run that just ended
    st.session_state[f"{PAGE}_fits"] = st.session_state.get(f"{PAGE}_fits", 0) + 1
    stored["test_features"] = stored["run"].detector.transform(stored["split"].X_test)

stored = st.session_state.get(f"{PAGE}_run")
if not stored:
    ui.hint(PAGE, t("detectors.droc.hint"))
    st.stop()

run = stored["run"]
det = run.detector
st.markdown(t("detectors.droc.stage2", scorer=scorer_label(det.scorer), features=feature_label(det.features)))
m.show_results(PAGE, stored, score_text=t("detectors.droc.score_text"))

# ----------------------------------------------------------------------------- instant switch
st.header(t("detectors.droc.switch_heading"))
st.caption(t("detectors.droc.switch_caption"))


@st.fragment
def switch_view() -> None:
    c1, c2 = st.columns(2)
    scorer = c1.radio(t("detectors.droc.scorer"), SCORERS, index=SCORERS.index(det.scorer), key=f"{PAGE}_view_scorer",
                      horizontal=True, format_func=i18n_ui.option_labels("detectors.droc.scorer_option"))
    features = c2.radio(t("detectors.droc.features"), FEATURE_SPACES, index=FEATURE_SPACES.index(det.features),
                        key=f"{PAGE}_view_features", horizontal=True,
                        format_func=i18n_ui.option_labels("detectors.droc.feature_option"))
    scores = det.score_features(stored["test_features"], scorer, features)
    metrics = evaluate(run.is_anomaly, scores)
    cols = st.columns(3)
    for col, (key, label) in zip(cols, (("auroc", "AUROC"), ("auprc", "AUPRC"), ("f1", "F1")), strict=True):
        col.metric(t("detectors.droc.metric", metric=label, scorer=scorer_label(scorer), features=feature_word(features)),
                   f"{metrics[key]:.3f}", delta=t("detectors.droc.vs_trained", delta=metrics[key] - run.metrics[key]))
    left, right = st.columns(2)
    ui.chart(viz.score_histogram_figure(scores, run.is_anomaly, t("detectors.droc.histogram", scorer=scorer_label(scorer),
                                                                  features=feature_word(features)), lang=lang),
             f"{PAGE}_view_hist", left)
    curve = t("detectors.droc.curve", scorer=scorer_label(scorer), features=feature_word(features))
    ui.chart(viz.roc_figure({curve: (run.is_anomaly, scores)}, lang=lang),
             f"{PAGE}_view_roc", right)
    if "grid" not in stored:
        stored["grid"] = scorer_grid(det, stored["test_features"], run.is_anomaly)
    table = {
        t("detectors.droc.column_features"): [feature_label(r["features"]) for r in stored["grid"]],
        t("detectors.droc.column_scorer"): [scorer_label(r["scorer"]) for r in stored["grid"]],
        "AUROC": [round(r["auroc"], 3) for r in stored["grid"]],
        "AUPRC": [round(r["auprc"], 3) for r in stored["grid"]],
        "F1": [round(r["f1"], 3) for r in stored["grid"]],
    }
    st.markdown(t("detectors.droc.all_eight"))
    st.dataframe(table, hide_index=True, key=f"{PAGE}_grid")


switch_view()
