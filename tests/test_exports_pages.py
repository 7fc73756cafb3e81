"""Downloads after training on a page: every file is built from the run and reads back to the same values."""

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from adlab import export
from adlab.contrastive import build_model
from adlab.data import load_upload
from adlab.detectors.goad import GOAD

ROOT = Path(__file__).resolve().parents[1]
BUTTONS = {"Scores (CSV)", "Embeddings (TSV, ZIP)", "Run card (Markdown)", "Figures (HTML, ZIP)", "Everything (ZIP)"}


def _trained(page: str, dataset: str, epochs: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=120).run()
    at.selectbox(key=f"{page}_dataset").set_value(dataset).run()
    at.number_input(key=f"{page}_epochs").set_value(epochs)
    at.button(key=f"{page}_train").click().run(timeout=240)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _labels(at: AppTest) -> set[str]:
    return {b.proto.label for b in at.get("download_button")}


@pytest.fixture(scope="module")
def goad_page():
    return _trained("goad", "toy:blobs", 2)


def test_detector_page_offers_every_download(goad_page):
    assert BUTTONS | {"Weights + config (ZIP)"} <= _labels(goad_page)


def test_detector_files_read_back(goad_page, tmp_path):
    from pages import _export

    stored = goad_page.session_state["goad_run"]
    run, split = stored["run"], stored["split"]
    files = _export.files_as_dict(_export.detector_files("goad", stored))

    scores = pd.read_csv(io.BytesIO(files["scores.csv"]))
    assert list(scores.columns) == ["id", "label", "is_anomaly", "score", "split"]
    np.testing.assert_array_equal(scores["score"].to_numpy(), run.scores)
    np.testing.assert_array_equal(scores["id"].to_numpy(), split.test_index)
    np.testing.assert_array_equal(scores["is_anomaly"].to_numpy().astype(bool), run.is_anomaly)
    assert set(scores["split"]) == {"test"}

    after = np.loadtxt(io.BytesIO(files["embeddings_after.tsv"]), delimiter="\t")
    np.testing.assert_allclose(after, run.test_after, rtol=1e-6, atol=1e-6)
    meta = pd.read_csv(io.BytesIO(files["metadata.tsv"]), sep="\t")
    assert len(meta) == len(after) and {"class", "anomalous", "score"} <= set(meta.columns)

    (tmp_path / "goad.pt").write_bytes(files["weights.pt"])
    (tmp_path / "goad.json").write_bytes(files["config.json"])
    state = torch.load(tmp_path / "goad.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    restored = GOAD.load(tmp_path / "goad")
    np.testing.assert_allclose(restored.anomaly_score(split.X_test), run.scores, rtol=1e-5, atol=1e-6)

    card = files["run_card.md"].decode()
    assert f"{run.metrics['auroc']:.4f}" in card and "toy:blobs" in card
    assert export.NO_PAPER_NUMBER in card  # the app's split is no paper's protocol


def test_detector_figures_export(goad_page):
    from pages import _export

    files = _export.figure_files(goad_page.session_state["_figures"]["goad"], png=False)
    names = {Path(k).stem for k in files}
    # exactly what the page drew for this run: the trained run's views and the per-point inspection
    assert names == {"goad_umap", "goad_hist", "goad_roc", "goad_loss_curve", "goad_centres", "goad_softmax",
                     "goad_terms"}, names
    html = files["figures/goad_roc.html"].decode()
    assert "<script" in html and "Plotly.newPlot" in html
    assert not re.search(r"<script[^>]*src=", html), "plotly.js is embedded, so the file works offline"
    everything = zipfile.ZipFile(io.BytesIO(export.bundle_zip(files)))
    assert set(everything.namelist()) == set(files)


def test_loss_page_exports_a_loadable_model():
    from pages import _export

    at = _trained("simclr", "toy:moons", 1)
    assert BUTTONS | {"Weights + config (ZIP)"} <= _labels(at)
    stored = at.session_state["simclr_run"]
    run = stored["run"]
    files = _export.files_as_dict(_export.contrastive_files("simclr", stored))
    config = json.loads(files["config.json"])
    assert config["loss"] == "simclr" and config["train"]["epochs"] == 1
    model = build_model(stored["split"].X_train.shape[1:], run.config)
    model.load_state_dict(torch.load(io.BytesIO(files["weights.pt"]), weights_only=True))
    x = torch.as_tensor(stored["split"].X_test[:5])
    run.model.eval(), model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x), run.model.cpu()(x))
    scores = pd.read_csv(io.BytesIO(files["scores.csv"]))
    np.testing.assert_array_equal(scores["score"].to_numpy(), run.scores_after)


def test_goad_protocol_on_uploaded_thyroid_puts_the_paper_beside_ours(shared_data):
    """ODDS Thyroid uploaded as it is, GOAD's split chosen: the run card names the paper's F1 74.5."""
    from pages import _export, _upload

    data = (shared_data / "odds" / "thyroid.mat").read_bytes()
    entry = {"key": _upload.digest("thyroid.mat", data, {}), "name": "thyroid.mat", "dataset": None, "error": None,
             "upload": load_upload("thyroid.mat", data)}
    at = AppTest.from_file(str(ROOT / "pages" / "goad.py"), default_timeout=120)
    at.session_state["upload"] = entry
    at.run()
    box = at.selectbox(key="goad_dataset")
    box.select_index(box.options.index("your file: thyroid.mat")).run()
    assert at.multiselect(key=f"goad_normal_{entry['key']}").value == ["0"]
    at.radio(key="goad_protocol").set_value("goad")
    at.number_input(key="goad_epochs").set_value(1)
    at.button(key="goad_train").click().run(timeout=300)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    stored = at.session_state["goad_run"]
    assert len(stored["split"].X_train) == 1839 and len(stored["split"].X_test) == 1933
    assert stored["run"].is_anomaly.sum() == 93
    assert stored["paper_protocol"] == "goad-tabular:thyroid"
    card = _export.detector_files("goad", stored)["run_card.md"]
    assert "74.5" in card and "Bergman" in card and export.NO_PAPER_NUMBER not in card
