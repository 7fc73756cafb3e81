"""AppTest of the page "Which augmentation is a shift?" (pages/csi_shift.py): it opens, shows what each way
trains on, and a small run shows the three bars, their metrics and CSI's criterion beside the numbers."""

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "pages" / "csi_shift.py"


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _width(z) -> int:
    """Columns of a heatmap's z (a list of rows, or plotly 7's base64 dict with its shape)."""
    return int(str(z["shape"]).split(",")[1]) if isinstance(z, dict) else len(z[0])


def test_the_page_opens_with_the_views_and_nothing_trained():
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Which augmentation is a shift?"
    assert at.latex, "the three ways and the score as formulas"
    assert at.selectbox(key="shift_transform").value == "rotation"
    views = _specs(at)
    assert len(views) == 1 and [t["type"] for t in views[0]["data"]] == ["heatmap"] * 3, "three rows of digits"
    assert any("Press **Run**" in i.value for i in at.info)
    assert "shift_results" not in at.session_state


def test_run_shows_the_bars_the_metrics_and_the_criterion():
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    at.multiselect(key="shift_classes").set_value([1, 4])
    at.number_input(key="shift_epochs").set_value(4)
    at.button(key="shift_train").click().run(timeout=240)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]

    result = at.session_state["shift_results"]
    assert result.classes == (1, 4) and result.config.epochs == 4 and result.auroc.shape == (3, 2)
    metrics = {m.label: m for m in at.metric}
    assert set(metrics) == {"T not used", "T as a positive", "T as a shifted negative"}
    for label, row in zip(["T not used", "T as a positive", "T as a shifted negative"], result.auroc, strict=True):
        assert metrics[label].value == f"{row.mean():.3f}"
    assert "vs not used" in metrics["T as a shifted negative"].delta

    bars = next(s for s in _specs(at) if s["data"][0]["type"] == "bar")
    assert bars["data"][0]["x"] == ["T not used", "T as a positive", "T as a shifted negative"]
    legend = [t.get("name", "") for t in bars["data"] if t.get("mode") == "lines"]
    assert [n.split(":")[0] for n in legend] == ["untrained network", "kNN on raw pixels"]

    text = "\n".join(m.value for m in at.markdown)
    assert "hurts when used as a positive" in text and "shifted negative" in text and "Tack et al." in text
    assert "As a shifted negative it moved it by" in text, "the measured numbers stand beside the criterion"
    assert dict(at.query_params)["shift_classes"] == "[1, 4]", "the link reopens the view"
    assert "shift_train" not in at.query_params


def test_another_transformation_and_an_empty_class_list():
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert _width(_specs(at)[0]["data"][2]["z"]) == 3 * 4 * 8 + 3 * 3 + 2 * 3, "rotation: 3 images x 4 copies, gaps"
    at.selectbox(key="shift_transform").set_value("vflip").run()
    assert not at.exception, at.exception
    assert _width(_specs(at)[0]["data"][2]["z"]) == 3 * 2 * 8 + 3 * 1 + 2 * 3, "a flip: 2 copies of each image"
    at.multiselect(key="shift_classes").set_value([])
    at.button(key="shift_train").click().run()
    assert any("pick at least one digit" in e.value for e in at.error)
    assert "shift_results" not in at.session_state
