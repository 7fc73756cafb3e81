"""CSI (Tack et al., NeurIPS 2020): rotated copies are negatives, and a head learns the rotation."""

try:
    from pages import _i18n as i18n_ui
    from pages import _methods as m
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/csi.py, AppTest)
    import _i18n as i18n_ui
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
t, lang = i18n_ui.t, i18n_ui.lang()
ROTATIONS = ("0°", "90°", "180°", "270°")
VARIANTS = ("s_con", "s_con_si", "s_cls_si", "s_csi")  # the ablation's anomaly scores: detectors.csi.variant.<v>

st.title(t("detectors.csi.title"))
st.markdown(t("detectors.csi.intro"))
st.latex(r"\mathcal L_{\text{con-SI}}=\mathrm{NT\text{-}Xent}_\tau\Bigl(\bigl\{z(T_y\tilde x^{(1)}_i)\bigr\},"
         r"\bigl\{z(T_y\tilde x^{(2)}_i)\bigr\}\Bigr),\qquad "
         r"\mathcal L_{\text{cls-SI}}=\mathrm{CE}\bigl(c(f(T_y\tilde x)),\,y\bigr),\qquad "
         r"\mathcal L=\mathcal L_{\text{con-SI}}+\mathcal L_{\text{cls-SI}}")
st.latex(r"s_{\text{con}}(x)=\max_m\cos\bigl(z(x_m),z(x)\bigr)\,\lVert z(x)\rVert,\qquad "
         r"s_{\text{con-SI}}=\sum_{y}\lambda_y\,s_{\text{con}}(T_yx)")
st.latex(r"s_{\text{cls-SI}}=\sum_y\lambda'_y\,l_y(x)_y,\qquad s_{\text{CSI}}=s_{\text{con-SI}}+s_{\text{cls-SI}}")
st.markdown(t("detectors.csi.symbols"))
with st.expander(t("detectors.paper_expander"), expanded=False):
    st.markdown(t("detectors.csi.paper"))

# ----------------------------------------------------------------------------- training
st.header(t("detectors.csi.train_heading"))


def knobs(kind: str) -> dict:
    c1, c2 = st.columns(2)
    draws = int(c2.slider(t("detectors.csi.ensemble"), 1, 8, 2, key=f"{PAGE}_ensemble",
                          help=t("detectors.csi.ensemble_help")))
    return dict(
        temperature=float(c1.number_input(t("detectors.csi.tau"), 0.05, 2.0, 0.5, 0.05, key=f"{PAGE}_tau")),
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
    ui.hint(PAGE, t("detectors.csi.hint"))
    st.stop()

m.show_results(PAGE, stored, score_text=t("detectors.csi.score_text"))
run, terms = stored["run"], stored["terms"]

# ----------------------------------------------------------------------------- terms
st.header(t("detectors.csi.terms_heading"))
variants = csi_variant_metrics(terms, run.is_anomaly)
st.dataframe({
    t("detectors.csi.variant_column"): [t(f"detectors.csi.variant.{k}") for k in variants],
    "AUROC": [round(v["auroc"], 3) for v in variants.values()],
    "AUPRC": [round(v["auprc"], 3) for v in variants.values()],
    "F1": [round(v["f1"], 3) for v in variants.values()],
}, hide_index=True, key=f"{PAGE}_variants")
st.caption(t("detectors.csi.variants_caption"))

st.header(t("detectors.csi.point_heading"))


@st.fragment
def point_view() -> None:
    i = m.point_picker(PAGE, stored)
    weights = run.detector.weights
    con, cls = terms["con_parts"][i], terms["cls_parts"][i]
    c1, c2, c3 = st.columns(3)
    c1.metric(t("detectors.csi.con"), f"{-terms['s_con_si'][i]:.4f}", help=t("detectors.csi.con_help"))
    c2.metric(t("detectors.csi.cls"), f"{-terms['s_cls_si'][i]:.4f}", help=t("detectors.csi.cls_help"))
    c3.metric(t("detectors.csi.total"), f"{-terms['s_csi'][i]:.4f}", help=t("detectors.csi.total_help"))
    table = {
        t("detectors.csi.rotation"): list(ROTATIONS),
        t("detectors.csi.max_cos"): np.round(terms["max_cos"][i], 4),
        "‖z‖": np.round(terms["norm"][i], 4),
        t("detectors.csi.s_con_rot"): np.round(terms["s_con_rot"][i], 4),
        "λ_y": np.round(weights["con"], 4),
        t("detectors.csi.con_part"): np.round(con, 4),
        t("detectors.csi.logit"): np.round(terms["logit_rot"][i], 4),
        "λ'_y": np.round(weights["cls"], 4),
        "λ'_y · l_y": np.round(cls, 4),
    }
    st.dataframe(table, hide_index=True, key=f"{PAGE}_terms_table")
    st.caption(t("detectors.csi.table_caption", s_con=terms["s_con"][i]))
    ui.chart(vd.csi_terms_figure(con, cls, ROTATIONS, reference=-stored["train_s_csi"], lang=lang),
             f"{PAGE}_terms_fig")
    st.caption(t("detectors.csi.chart_caption", mean=-stored["train_s_csi"]))


point_view()
