"""AppTest of each anomaly-detection page: it renders, a tiny run shows results, its own view works.

The training, scoring and UMAP maps run as jobs in the pool's worker processes (pages/_jobs.py); each
worker compiles umap's numba kernels once, as it starts.
"""

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import adlab.projection as projection

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "pages"


@pytest.fixture(autouse=True)
def linear_projection(monkeypatch):
    """UMAP -> its linear fallback, in this process only. The pages' maps come from the jobs' workers now,
    which this cannot reach; kept because tests/test_defaults_detectors.py imports it (that import can go)."""
    monkeypatch.setattr(projection, "umap_2d", lambda features, seed=0, **kw: projection._linear_2d(
        projection._as_features(features, "features")))


def _decode(values) -> np.ndarray:
    """A plotly array: a list, or plotly 7's base64 ``{"bdata", "dtype"[, "shape"]}``."""
    if isinstance(values, dict):
        arr = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
        if "shape" in values:
            arr = arr.reshape([int(s) for s in str(values["shape"]).split(",")])
        return arr
    return np.asarray(values, dtype=float)


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _open(page: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.title and at.latex, "each page explains its loss and score with formulas"
    assert any("Press" in i.value for i in at.info), "nothing is trained before the button"
    return at


def _train(at: AppTest, page: str, epochs: int = 1) -> AppTest:
    at.number_input(key=f"{page}_epochs").set_value(epochs)
    at.button(key=f"{page}_train").click().run(timeout=240)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _assert_results(at: AppTest, page: str) -> None:
    metrics = _metrics(at)
    assert float(metrics["AUROC"]) > 0.6, metrics  # even a tiny run ranks the digits better than chance
    assert {"AUPRC", "F1", "Training time"} <= set(metrics)
    specs = _specs(at)
    umap = next(s for s in specs if [t.get("name") for t in s["data"]] == ["normal", "anomaly"] * 2)
    assert sum(len(_decode(t["x"])) for t in umap["data"][:2]) == sum(len(_decode(t["x"])) for t in umap["data"][2:])
    assert any(all(t["type"] == "histogram" for t in s["data"]) for s in specs), "score histogram"
    assert any(any("AUROC" in t.get("name", "") for t in s["data"]) for s in specs), "ROC curve"
    assert f"{page}_run" in at.session_state


def test_deep_svdd_guards_on_and_off_side_by_side():
    at = _open("deep_svdd")
    at.radio(key="deep_svdd_guards").set_value("both")
    _train(at, "deep_svdd", epochs=2)
    _assert_results(at, "deep_svdd")
    metrics = _metrics(at)
    for guard in ("on", "off"):
        assert float(metrics[f"Collapse ratio, guards {guard}"]) > 0
    runs = at.session_state["deep_svdd_runs"]
    assert runs["on"]["run"].detector.no_bias is True and runs["off"]["run"].detector.no_bias is False
    names = [[t.get("name", "") for t in s["data"]] for s in _specs(at)]
    spheres = [n for n in names if any(x.startswith("sphere, R =") for x in n)]
    assert len(spheres) == 3, "the run's sphere plus one per guard setting"
    # two epochs are too few to collapse: the caption must not claim it did
    assert any("No collapse by orders of magnitude" in c.value for c in at.caption)


def test_goad_softmax_for_a_point_on_images_and_rows():
    at = _open("goad")
    assert at.number_input(key="goad_epochs").value == 10, "images: 10 epochs by default"
    _train(at, "goad")
    _assert_results(at, "goad")

    def heatmap() -> np.ndarray:
        spec = next(s for s in _specs(at) if s["data"][0]["type"] == "heatmap")
        return _decode(spec["data"][0]["z"]).astype(float)

    probs = heatmap()
    assert probs.shape == (4, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    normal = int(np.flatnonzero(~at.session_state["goad_run"]["run"].is_anomaly)[0])
    at.number_input(key="goad_point").set_value(normal).run()
    assert not at.exception
    assert not np.allclose(heatmap(), probs), "another test point has another softmax"
    centres = next(s for s in _specs(at) if s["data"][-1].get("name") == "centres c_m")
    assert len(centres["data"]) == 6  # one trace per rotation, the normal training means, the centres

    at.selectbox(key="goad_dataset").set_value("toy:blobs").run()
    assert at.number_input(key="goad_epochs").value == 1, "tabular data: 1 epoch, as the official runs"
    assert any("near chance" in c.value for c in at.caption), "planted toy anomalies: the page warns"
    _train(at, "goad")
    assert heatmap().shape == (32, 32), "toy rows use M = 32 random linear maps"
    _train(at, "goad", epochs=3)  # a value sent with the form
    at.selectbox(key="goad_dataset").set_value("toy:moons").run()
    assert at.number_input(key="goad_epochs").value == 3, "a chosen value stays while the kind stays"
    at.selectbox(key="goad_dataset").set_value("digits").run()
    assert at.number_input(key="goad_epochs").value == 10, "back to images: their default again"


def test_droc_switches_the_scorer_without_retraining():
    at = _open("droc")
    _train(at, "droc")
    _assert_results(at, "droc")
    run = at.session_state["droc_run"]["run"]
    before = {k: v for k, v in _metrics(at).items() if k.startswith("AUROC (")}
    assert list(before) == ["AUROC (Gaussian, encoder)"]

    at.radio(key="droc_view_scorer").set_value("kde")
    at.radio(key="droc_view_features").set_value("head").run()
    assert not at.exception
    after = {k: v for k, v in _metrics(at).items() if k.startswith("AUROC (")}
    assert list(after) == ["AUROC (KDE, head)"]
    grid = at.dataframe[0].value
    row = grid[(grid["features"] == "head g(f(x))") & (grid["one-class model"] == "KDE")]
    assert float(after["AUROC (KDE, head)"]) == pytest.approx(float(row["AUROC"].iloc[0]), abs=1e-3)
    assert at.session_state["droc_fits"] == 1, "switching must not train again"
    assert at.session_state["droc_run"]["run"] is run


def test_csi_terms_sum_to_s_csi():
    at = _open("csi")
    _train(at, "csi")
    _assert_results(at, "csi")
    variants = at.dataframe[0].value
    assert len(variants) == 4
    table = next(d.value for d in at.dataframe if "λ_y · s_con" in d.value.columns)
    assert len(table) == 4, "one row per rotation"
    metrics = _metrics(at)
    # the metrics show the anomaly-score parts, minus the paper's (normality) terms in the table
    s_con_si, s_cls_si, s_csi = (-float(metrics[k]) for k in ("−s_con-SI", "−s_cls-SI", "Anomaly score −s_CSI"))
    assert table["λ_y · s_con"].sum() == pytest.approx(s_con_si, abs=1e-3)
    assert table["λ'_y · l_y"].sum() == pytest.approx(s_cls_si, abs=1e-3)
    assert s_con_si + s_cls_si == pytest.approx(s_csi, abs=2e-4)
    waterfall = next(s for s in _specs(at) if s["data"][0]["type"] == "waterfall")
    assert waterfall["data"][0]["x"][-1] == "−s_CSI"
    det = at.session_state["csi_run"]["run"].detector
    assert (det.n_ensemble, det.score_augment) == (2, True), "the slider's 2 draws are 2 augmented copies"
    at.slider(key="csi_ensemble").set_value(1)
    _train(at, "csi")
    det = at.session_state["csi_run"]["run"].detector
    assert det.score_augment is False, "1 draw = the plain image"


def test_compare_has_a_row_per_method():
    at = AppTest.from_file(str(PAGES / "compare.py"), default_timeout=120).run()
    assert not at.exception and at.title
    methods = at.multiselect(key="compare_methods_image").value
    assert methods == ["deepsvdd", "goad", "droc", "csi", "knn", "iforest", "ocsvm"]
    at.button(key="compare_run").click().run(timeout=300)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert len(table) == len(methods)
    assert {"AUROC", "AUPRC", "F1", "fit (s)"} <= set(table.columns)
    assert table["AUROC"].gt(0.6).all(), table
    roc = next(s for s in _specs(at) if s["data"][-1].get("name") == "chance")
    assert len(roc["data"]) == len(methods) + 1
    grid = next(s for s in _specs(at) if len(s["data"]) > 4 and s["data"][0].get("name") == "normal")
    assert len(grid["data"]) == 2 * 5, "four deep methods and one shared panel for the raw-input baselines"
    # the results survive a rerun (the button's own state must not overwrite them)
    at.run()
    assert not at.exception and len(at.dataframe[0].value) == len(methods)
    assert "compare_results" in at.session_state


def test_compare_offers_no_csi_on_rows_and_errors_are_shown():
    at = AppTest.from_file(str(PAGES / "compare.py"), default_timeout=120).run()
    at.selectbox(key="compare_dataset").set_value("toy:moons").run()
    options = at.multiselect(key="compare_methods_tabular").options  # as shown: labels
    assert "CSI" not in options and "Deep SVDD" in options
    at = _open("deep_svdd")
    at.multiselect(key="deep_svdd_normal_toy:blobs").set_value([])  # the page opens on the toy blobs
    at.button(key="deep_svdd_train").click().run(timeout=60)
    assert not at.exception
    assert at.error and "normal" in at.error[0].value
    assert "deep_svdd_run" not in at.session_state


def test_downloads_hold_only_the_figures_of_the_current_run():
    """Was (issue 10): train with guards "both", then with guards "on" under other settings, and
    "Everything (ZIP)" still held the first run's guards-off sphere and collapse curves."""
    at = _open("deep_svdd")
    at.radio(key="deep_svdd_guards").set_value("both")
    _train(at, "deep_svdd", epochs=2)
    figures = at.session_state["_figures"]["deep_svdd"]
    assert {"deep_svdd_sphere_off", "deep_svdd_collapse_loss"} <= set(figures)
    at.radio(key="deep_svdd_guards").set_value("on")
    _train(at, "deep_svdd", epochs=3)  # another setting: the guards-off run is not comparable any more
    figures = at.session_state["_figures"]["deep_svdd"]
    assert "deep_svdd_sphere_off" not in figures and "deep_svdd_collapse_loss" not in figures, sorted(figures)
    assert "deep_svdd_umap" in figures


def test_deep_svdd_states_the_papers_schedule_with_its_second_rate():
    at = _open("deep_svdd")
    text = " ".join(m.value for m in at.markdown)
    assert "continues at 1e-5" in text and "--lr_milestone 50" in text
