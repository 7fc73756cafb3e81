"""A user's file on the pages: offered in every Dataset box of the right kind, previewed, trained on.

AppTest cannot drive a file uploader, so these tests put the parsed file where the sidebar puts it
(``st.session_state["upload"]``, built by the same ``adlab.data.load_upload``); the browser test
uploads through the real widget.
"""

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from adlab.data import one_class_split
from adlab.data.upload import load_upload
from pages import _upload
from tests.uploads import sample_csv, sample_image_zip

ROOT = Path(__file__).resolve().parents[1]
LOSS_PAGES = ["triplet", "npair", "supcon", "simclr"]
DETECTOR_PAGES = ["deep_svdd", "goad", "droc", "compare"]


def _choose_upload(at: AppTest, page: str, name: str) -> AppTest:
    box = at.selectbox(key=f"{page}_dataset")
    return box.select_index(box.options.index(f"your file: {name}")).run()


def _entry(name: str, data: bytes, **options) -> dict:
    return {"key": _upload.digest(name, data, options), "name": name, "upload": load_upload(name, data, **options),
            "dataset": None, "error": None}


def _page(page: str, entry: dict | None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=60)
    if entry is not None:
        at.session_state["upload"] = entry
    return at.run()


@pytest.fixture(scope="module")
def table():
    return _entry("flows.csv", sample_csv())


@pytest.fixture(scope="module")
def images():
    return _entry("bars.zip", sample_image_zip())


@pytest.mark.parametrize("page", LOSS_PAGES + DETECTOR_PAGES)
def test_every_page_offers_an_uploaded_table(page, table):
    at = _page(page, table)
    assert not at.exception, at.exception
    box = at.selectbox(key=f"{page}_dataset")
    assert "your file: flows.csv" in box.options


@pytest.mark.parametrize("page", ["simclr", "csi"])
def test_image_pages_offer_an_uploaded_zip(page, images):
    at = _page(page, images)
    assert not at.exception, at.exception
    assert "your file: bars.zip" in at.selectbox(key=f"{page}_dataset").options


def test_csi_does_not_offer_a_table_and_says_why(table):
    at = _page("csi", table)
    assert not at.exception, at.exception
    assert "your file: flows.csv" not in at.selectbox(key="csi_dataset").options
    assert any("needs image data" in c.value for c in at.caption)


def test_train_deep_svdd_on_an_uploaded_csv(table):
    at = _page("deep_svdd", table)
    _choose_upload(at, "deep_svdd", "flows.csv")
    assert not at.exception, at.exception
    preview = [e for e in at.expander if e.label.startswith("Your file")]
    assert preview and "flows.csv" in preview[0].label
    text = " ".join(m.value for m in at.markdown)
    assert "one-hot" in text and "colour" in text, "the preview says which columns were one-hot encoded"
    assert at.multiselect(key=f"deep_svdd_normal_{table['key']}").value == ["normal"]
    assert at.multiselect(key=f"deep_svdd_anomalous_{table['key']}").value == ["attack"]
    at.number_input(key="deep_svdd_epochs").set_value(3)
    at.button(key="deep_svdd_train").click().run(timeout=240)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    auroc = next(m for m in at.metric if m.label == "AUROC")
    assert float(auroc.value) > 0.9, "attacks sit 4 standard deviations away: easy to find"


def test_train_simclr_on_an_uploaded_image_zip(images):
    at = _page("simclr", images)
    _choose_upload(at, "simclr", "bars.zip")
    assert not at.exception, at.exception
    assert any(e.label.startswith("Your file") for e in at.expander)
    at.number_input(key="simclr_epochs").set_value(2)
    at.button(key="simclr_train").click().run(timeout=240)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any(m.label == "AUROC after training" for m in at.metric)


def _without_labels(csv: bytes) -> bytes:
    """The sample CSV without its class column (the last one)."""
    return b"\n".join(line.rsplit(b",", 1)[0] for line in csv.strip().split(b"\n")) + b"\n"


def test_unlabelled_upload_is_scored_row_by_row():
    """No labels: no training form and no AUROC, but every row scored, the top rows listed, scores to take away."""
    entry = _entry("nolabels.csv", _without_labels(sample_csv()), label_column=None)
    at = _page("goad", entry)
    _choose_upload(at, "goad", "nolabels.csv")
    assert not at.exception, at.exception
    assert any("no labels" in w.value for w in at.warning)
    keys = {b.key for b in at.button}
    assert "goad_train" not in keys and "goad_u_train" in keys
    at.button(key="goad_u_train").click().run(timeout=240)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[-1].value  # the ranking (AppTest exposes no dataframe keys)
    assert len(table) == 12  # the top 5 % of 240 rows
    assert table["score"].is_monotonic_decreasing and table["row"].between(0, 239).all()
    assert not any(m.label == "AUROC" for m in at.metric)
    assert "Scores of every row (CSV)" in {b.proto.label for b in at.get("download_button")}


def test_unlabelled_scores_download_is_named_after_the_file_stem(monkeypatch):
    """Issue 9 point 7: ``adlab_goad_cardio_nolabel_scores.csv``, not ``..._cardio_nolabel.csv_scores.csv``."""
    names = []
    real = st.download_button

    def recording(*args, **kwargs):
        names.append(kwargs.get("file_name"))
        return real(*args, **kwargs)

    monkeypatch.setattr(st, "download_button", recording)
    entry = _entry("cardio_nolabel.csv", _without_labels(sample_csv()), label_column=None)
    at = _page("goad", entry)
    _choose_upload(at, "goad", "cardio_nolabel.csv")
    at.button(key="goad_u_train").click().run(timeout=240)
    assert not at.exception, at.exception
    assert "adlab_goad_cardio_nolabel_scores.csv" in names, names


def test_compare_tests_the_whole_test_half_of_an_uploaded_table():
    """Issue 9 point 4: Compare scores every test row of an uploaded table (not 400), anomalies a minority."""
    entry = _entry("flows1000.csv", sample_csv(n=1000))
    at = _page("compare", entry)
    _choose_upload(at, "compare", "flows1000.csv")
    at.multiselect(key="compare_methods_tabular").set_value(["knn", "iforest"])
    at.button(key="compare_run").click().run(timeout=240)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    split = at.session_state["compare_results"]["split"]
    assert len(split.X_test) > 400, "no 400-row cap"
    whole = one_class_split(entry["dataset"] or entry["upload"].to_dataset(), ["normal"], ["attack"], seed=0,
                            test_anomaly_fraction=0.1)
    assert len(split.X_test) == len(whole.X_test), "every normal row of the test half"
    n, k = len(split.X_test), int(split.anomalous_test.sum())
    assert 0 < k <= 0.1 * n
    assert any(f"{n} test points, {k} of them anomalous" in c.value and "5,000" in c.value for c in at.caption)
    assert any(f"UMAP of 400 of the {n} test points" in c.value for c in at.caption), "the maps say they sample"


def test_compare_scores_an_unlabelled_upload_with_a_chosen_method():
    entry = _entry("nolabels.csv", _without_labels(sample_csv()), label_column=None)
    at = _page("compare", entry)
    _choose_upload(at, "compare", "nolabels.csv")
    at.selectbox(key="compare_u_method").set_value("iforest")
    at.button(key="compare_u_train").click().run(timeout=240)
    assert not at.exception, at.exception
    table = at.dataframe[-1].value
    assert len(table) == 12
    # the sample CSV plants an attack every 8th row, 4 standard deviations away: Isolation Forest ranks them first
    assert (table["row"] % 8 == 0).mean() >= 0.75


def test_app_has_the_uploader_in_its_sidebar():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.get("file_uploader"), "the sidebar holds the upload"
    assert any(t.label == "Presenter mode" for t in at.toggle)


def test_non_square_images_point_to_the_resize_option():
    import io
    import zipfile

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for folder in ("normal", "abnormal"):
            for i in range(12):
                png = io.BytesIO()
                Image.fromarray(np.full((12, 16), 40 * i % 255, np.uint8), "L").save(png, format="PNG")
                zf.writestr(f"{folder}/{i}.png", png.getvalue())
    entry = _entry("wide.zip", buf.getvalue())
    at = _page("goad", entry)
    _choose_upload(at, "goad", "wide.zip")
    assert not at.exception, at.exception
    assert any("Resize images to" in i.value for i in at.info)
