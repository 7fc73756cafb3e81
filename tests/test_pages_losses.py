"""AppTest of each loss page: it renders, the instant view follows its slider, a tiny run shows results."""

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
# page -> (instant-view slider key, a value other than the default)
PAGES = {
    "triplet": ("triplet_margin", 0.6),
    "npair": ("npair_norm", 2.5),
    "supcon": ("supcon_tau", 0.5),
    "simclr": ("simclr_tau", 0.1),
}


def _batch_loss(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label.startswith("Batch loss"))


def _decode(values) -> np.ndarray:
    """A plotly array: a plain list, or plotly 7's base64 ``{"bdata", "dtype"}``."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


def _umap_spec(at: AppTest) -> dict:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if [t.get("name") for t in spec["data"]] == ["normal", "anomaly", "normal", "anomaly"]:
            return spec
    raise AssertionError("no before/after UMAP chart on the page")


@pytest.mark.parametrize("page", list(PAGES))
def test_loss_page(page):
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.title and at.latex
    assert at.get("plotly_chart"), "the instant view draws its figure without training"

    key, value = PAGES[page]
    before = _batch_loss(at)
    at.slider(key=key).set_value(value).run()
    assert not at.exception
    assert _batch_loss(at) != before, "moving the slider must change the loss shown"

    at.number_input(key=f"{page}_epochs").set_value(1)
    at.button(key=f"{page}_train").click().run(timeout=240)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m for m in at.metric}
    auroc = metrics["AUROC after training"]
    run = at.session_state[page + "_run"]["run"]
    assert run.config.loss_name == page and run.config.train.epochs == 1
    after, before = run.metrics_after["auroc"], run.metrics_before["auroc"]
    assert auroc.value == f"{after:.3f}", "the page shows the run's AUROC"
    assert auroc.proto.delta == f"{after - before:+.3f} vs before", "AUROC shows its change against the untrained encoder"
    assert before == pytest.approx(0.875, abs=0.01)  # the default split's untrained score (SPLIT_NOTE)
    assert after > 0.8, "one epoch on the default split keeps the kNN score useful"
    assert {"AUPRC after training", "F1 after training", "Alignment after", "Uniformity after"} <= set(metrics)

    spec = _umap_spec(at)
    n_before = sum(len(_decode(t["x"])) for t in spec["data"][:2])
    n_after = sum(len(_decode(t["x"])) for t in spec["data"][2:])
    assert n_before == n_after > 0
    assert page + "_run" in at.session_state
    assert at.dataframe, "the per-anchor explorer shows its table"


def test_unusable_settings_show_an_error_not_a_traceback():
    at = AppTest.from_file(str(ROOT / "pages" / "triplet.py"), default_timeout=60).run()
    at.multiselect(key="triplet_normal_digits").set_value([])
    at.button(key="triplet_train").click().run(timeout=120)
    assert not at.exception
    assert at.error and "normal" in at.error[0].value
    assert "triplet_run" not in at.session_state


def test_toy_dataset_trains_with_its_own_classes():
    at = AppTest.from_file(str(ROOT / "pages" / "npair.py"), default_timeout=60).run()
    at.selectbox(key="npair_dataset").set_value("toy:moons").run()
    assert at.multiselect(key="npair_anomalous_toy:moons").value == ["anomaly"]
    at.number_input(key="npair_epochs").set_value(2)
    at.button(key="npair_train").click().run(timeout=120)
    assert not at.exception and not at.error
    assert "AUROC after training" in [m.label for m in at.metric]
