"""AppTest of the closing page, "Where augmentation runs out" (pages/conclusion.py).

The runs go through the job pool's workers (the "lesson" kind); an upload is put where the sidebar puts
it (``st.session_state["upload"]``, built by the same ``adlab.data.load_upload``), since AppTest cannot
drive a file uploader.
"""

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from adlab.data import DataError
from adlab.data.upload import load_upload
from pages import _upload
from tests.uploads import sample_csv

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "pages" / "conclusion.py"


def _open(upload: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    if upload is not None:
        at.session_state["upload"] = upload
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _entry(name: str, data: bytes, **options) -> dict:
    """What the sidebar keeps for a file: the parsed upload, or the loader's message when it failed."""
    key = _upload.digest(name, data, options)
    try:
        return {"key": key, "name": name, "upload": load_upload(name, data, **options), "dataset": None, "error": None}
    except DataError as err:
        return {"key": key, "name": name, "upload": None, "dataset": None, "error": str(err)}


def test_run_shows_the_bars_the_table_and_a_verdict_computed_from_them():
    at = _open()
    assert at.title[0].value == "Where augmentation runs out"
    assert any("Press **Run**" in i.value for i in at.info), "nothing runs before the button"
    assert at.multiselect(key="runsout_datasets").value == ["digits", "breast_cancer"]
    assert at.slider(key="runsout_strength").value == 1.0

    at.button(key="runsout_run").click().run(timeout=300)
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]

    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    bars = next(s for s in specs if s["layout"].get("barmode") == "group")
    names = [t["name"] for t in bars["data"]]
    assert names[0] == "SimCLR + kNN (strength 1)" and "kNN (raw input)" in names and "CSI" in names
    assert all(t["x"] == ["digits (8×8 images)", "breast cancer (table)"] for t in bars["data"])
    sweep = next(s for s in specs if any("raw kNN" in t.get("name", "") for t in s["data"]))
    assert [t["x"] for t in sweep["data"] if t["name"].endswith("SimCLR + kNN")][0] == [0, 0.5, 1, 1.5, 2]

    stored = at.session_state["runsout_results"]
    cancer = stored["runs"]["breast_cancer"]
    table = at.dataframe[0].value
    assert list(table.columns) == ["method", "family", "digits (8×8 images)", "breast cancer (table)"]
    knn_row = table[table["method"] == "kNN (raw input)"]
    assert float(knn_row["breast cancer (table)"].iloc[0]) == round(cancer.auroc["knn"], 3)
    assert table[table["method"] == "CSI"]["breast cancer (table)"].isna().all(), "CSI takes images only"

    verdict = " ".join(m.value for m in at.markdown if "raw kNN" in m.value)
    assert "**breast cancer (table): raw kNN wins.**" in verdict
    assert f"kNN on the raw input scores {cancer.auroc['knn']:.3f}" in verdict
    assert "**Images against tables.**" in verdict
    link = dict(at.query_params)
    assert link["runsout_strength"] == "1.0" and "runsout_run" not in link


def test_an_unreadable_or_unusable_upload_gets_a_clear_message():
    bad = _entry("broken.csv", b"\x00\x01\x02 not a table")
    assert bad["upload"] is None
    at = _open(bad)
    assert any("Your file cannot be read" in e.value and "binary data" in e.value for e in at.error)
    assert at.multiselect(key="runsout_datasets").options == ["digits (8×8 images)", "breast cancer (table)",
                                                                "wine (table)"]

    at = _open(_entry("flows.csv", sample_csv(), label_column=None))
    assert any("has no labels" in e.value and "label column" in e.value for e in at.error)

    good = _entry("flows.csv", sample_csv())
    at = _open(good)
    assert not at.error
    assert "flows.csv (your table)" in at.multiselect(key="runsout_datasets").options
    assert at.selectbox(key="runsout_upload_normal").value == "normal"

    at.multiselect(key="runsout_datasets").set_value([])
    at.button(key="runsout_run").click().run()
    assert any("Data sets is empty" in e.value for e in at.error)
