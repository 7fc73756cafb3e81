"""GOAD (Bergman & Hoshen, ICLR 2020): transformations turn one normal class into M classes."""

try:
    from pages import _i18n as i18n_ui
    from pages import _methods as m
    from pages import _ui as ui
except ImportError:  # the page file run on its own (streamlit run pages/goad.py, AppTest)
    import _i18n as i18n_ui
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
t, lang = i18n_ui.t, i18n_ui.lang()

st.title(t("detectors.goad.title"))
st.markdown(t("detectors.goad.intro"))
st.latex(r"\mathcal L=\mathrm{CE}\bigl(h(f(T(x,m))),\,m\bigr)+\lambda\,\mathcal L_{tc}")
st.latex(r"\mathcal L_{tc}=\frac{1}{nM}\sum_{x,m}\max\Bigl(0,\ \lVert f(T(x,m))-c_m\rVert^2+s"
         r"-\min_{m'\neq m}\lVert f(T(x,m))-c_{m'}\rVert^2\Bigr)")
st.latex(r"P(m'\mid T(x,m))=\frac{\exp(-\lVert f(T(x,m))-c_{m'}\rVert^2)}{\sum_{k}\exp(-\lVert f(T(x,m))-c_{k}\rVert^2)},"
         r"\qquad s(x)=-\sum_{m=1}^{M}\log P(m\mid T(x,m))")
st.markdown(t("detectors.goad.symbols"))
with st.expander(t("detectors.paper_expander"), expanded=False):
    st.markdown(t("detectors.goad.paper"))

# ----------------------------------------------------------------------------- training
st.header(t("detectors.goad.train_heading"))


def knobs(kind: str) -> dict:
    c1, c2, c3 = st.columns(3)
    if kind == "image":
        params = dict(transforms=c1.radio(t("detectors.goad.transforms"), ["rotations", "geometric8"],
                                          key=f"{PAGE}_transforms", horizontal=True,
                                          format_func=i18n_ui.option_labels("detectors.goad.transforms_option"),
                                          help=t("detectors.goad.transforms_help")))
    else:
        params = dict(
            n_transforms=int(c1.select_slider(t("detectors.goad.n_transforms"), [4, 8, 16, 32, 64, 128, 256],
                                              value=32, key=f"{PAGE}_n_transforms")),
            transform_dim=int(st.select_slider(t("detectors.goad.transform_dim"), [4, 8, 16, 32, 64], value=32,
                                               key=f"{PAGE}_transform_dim")),
        )
    params["lambda_tc"] = float(c2.slider(t("detectors.goad.lambda"), 0.0, 1.0, 0.1, 0.05, key=f"{PAGE}_lambda"))
    params["margin"] = float(c3.slider(t("detectors.goad.margin"), 0.0, 5.0, 1.0, 0.5, key=f"{PAGE}_margin"))
    return params


form = m.detector_form(PAGE, knobs, epochs=m.quick_epochs("goad"), lr=1e-3, batch_size=64)
if form.dataset.startswith("toy:") and "anomaly" in form.anomalous:
    st.caption(t("detectors.goad.near_chance"))
m.train_and_store(PAGE, form, lambda: MethodSpec.quick("goad", form.kind, input_shape=form.input_shape, **form.params))

stored = st.session_state.get(f"{PAGE}_run")
if not stored:
    ui.hint(PAGE, t("detectors.goad.hint"))
    st.stop()

m.show_results(PAGE, stored, score_text=t("detectors.goad.score_text"))
run, split = stored["run"], stored["split"]
det = run.detector


def transform_label(name: str) -> str:
    """One of :func:`transform_names` in the page's language: ``"flip, shift (-2, +0), rot 90"`` is made of
    parts said by ``detectors.goad.part.*``; a random map's name (``"W3"``) stays as it is."""
    parts = []
    for part in name.split(", "):
        if part == "flip":
            parts.append(t("detectors.goad.part.flip"))
        elif part.startswith("rot "):
            parts.append(t("detectors.goad.part.rot", angle=part[4:]))
        elif part.startswith("shift "):
            parts.append(t("detectors.goad.part.shift", offset=part[6:]))
        else:
            parts.append(part)
    return ", ".join(parts)


names = [transform_label(n) for n in transform_names(det)]

# ----------------------------------------------------------------------------- centres
st.header(t("detectors.goad.centres_heading"))
if "centre_map" not in stored:  # once per run: it embeds every normal training row M times
    stored["centre_map"] = goad_centre_map(det, split.X_test, balanced_rows(run.is_anomaly, 40, seed=0),
                                           X_train=split.X_train)
cmap = stored["centre_map"]
normal_points = ~run.is_anomaly[cmap.row]
ui.chart(vd.goad_centres_figure(cmap.points, cmap.transform, cmap.centres, names, ~normal_points,
                                focus=normal_points, means=cmap.means, lang=lang), f"{PAGE}_centres")
lo = np.concatenate([cmap.points[normal_points], cmap.centres, cmap.means]).min(axis=0)
hi = np.concatenate([cmap.points[normal_points], cmap.centres, cmap.means]).max(axis=0)
outside = int(((cmap.points < lo - 0.1 * (hi - lo)) | (cmap.points > hi + 0.1 * (hi - lo))).any(axis=1).sum())
if cmap.offset > cmap.spread:  # the centres the score uses sit away from the clusters (see goad_centre_map)
    where = t("detectors.goad.where_offset", offset=cmap.offset, spread=cmap.spread)
else:
    where = t("detectors.goad.where_centred")
own_normal, own_anomalous = cmap.own_centre[normal_points].mean(), cmap.own_centre[~normal_points].mean()
stray = t("detectors.goad.stray") if own_normal > own_anomalous + 0.1 else t("detectors.goad.no_stray")
st.caption(t("detectors.goad.centres_caption", points=len(np.unique(cmap.row)), m=len(names), explained=cmap.explained,
             outside=t("detectors.goad.outside", outside=outside) if outside else t("detectors.goad.none_outside"),
             where=where, own_normal=own_normal, own_anomalous=own_anomalous, stray=stray))

# ----------------------------------------------------------------------------- one point
st.header(t("detectors.goad.point_heading"))


@st.fragment
def point_view() -> None:
    i = m.point_picker(PAGE, stored)
    x = split.X_test[i : i + 1]
    probs = det.transform_probabilities(x)[0]  # (M, M)
    terms = det.score_breakdown(x)[0]  # (M,)
    left, right = st.columns(2)
    ui.chart(vd.transform_softmax_figure(probs, names, lang=lang), f"{PAGE}_softmax", left)
    ui.chart(vd.per_transform_bar_figure(terms, names, lang=lang), f"{PAGE}_terms", right)
    st.caption(t("detectors.goad.point_caption", total=terms.sum()))


point_view()
