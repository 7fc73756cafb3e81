"""adlab.export and adlab.papers: every export is read back and compared with what went in."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import io
import json
import re
import zipfile

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import scipy.io
import torch
from PIL import Image
from torch import nn

from adlab import export, papers
from adlab.contrastive import ContrastiveConfig, build_model
from adlab.data import load_mnist_idx
from adlab.detectors import DeepSVDD, KNNDetector
from adlab.experiment import MethodSpec
from adlab.train import TrainConfig

AWKWARD = np.array([0.1 + 0.2, 1e-300, -2.5e17, np.pi, 1 / 3, 0.0, 7.0])


# ----------------------------------------------------------------------------- scores
def test_scores_csv_reads_back_exactly():
    labels = ["cat", 'say "hi"', "a,b", "dog", "line\nbreak", "x", "y"]
    is_anom = np.array([1, 0, 0, 1, 0, 1, 0], dtype=bool)
    split = ["test", "test", "val", "test", "val", "test", "test"]
    ids = [10, 11, 12, 13, 14, 15, 99]
    text = export.scores_csv(AWKWARD, labels=labels, split=split, ids=ids, is_anomaly=is_anom)
    assert text.splitlines()[0] == "id,label,is_anomaly,score,split"
    df = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert df["id"].tolist() == ids
    assert df["label"].tolist() == labels
    assert df["is_anomaly"].tolist() == [1, 0, 0, 1, 0, 1, 0]
    assert np.array_equal(df["score"].to_numpy(), AWKWARD)  # bit-for-bit, not approximately
    assert df["split"].tolist() == split
    assert repr(0.1 + 0.2) in text


def test_scores_csv_optional_columns_and_errors():
    text = export.scores_csv(np.array([2.0, -1.0, np.nan]))
    assert text.splitlines() == ["id,score,split", "0,2.0,test", "1,-1.0,test", "2,nan,test"]
    with pytest.raises(ValueError, match="labels has 2 values but there are 3"):
        export.scores_csv(np.zeros(3), labels=["a", "b"])
    with pytest.raises(ValueError, match=r"shape \(n,\)"):
        export.scores_csv(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="is_anomaly"):
        export.scores_csv(np.zeros(3), is_anomaly=np.array([0, 2, 1]))


# ----------------------------------------------------------------------------- projector
def test_projector_tsv_round_trip_multi_column():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(6, 4)).astype(np.float32) * np.float32(1e-3)
    meta = {"label": ["0", "1", "1", "0", "2", "2"], "note": ["a\tb", "c\nd", "", "e", "f", "g"]}
    vectors, metadata = export.projector_tsv(feats, meta)
    back = np.loadtxt(io.StringIO(vectors), delimiter="\t", dtype=np.float32)
    assert back.shape == (6, 4) and np.array_equal(back, feats)
    lines = metadata.splitlines()
    assert lines[0] == "label\tnote"  # two columns: a header row
    assert [line.split("\t") for line in lines[1:]] == [
        ["0", "a b"], ["1", "c d"], ["1", "(blank)"], ["0", "e"], ["2", "f"], ["2", "g"],
    ]


def test_projector_tsv_single_column_has_no_header_and_float64_is_exact():
    feats = np.array([[0.1 + 0.2, 1 / 3], [1e-300, -2.0]])
    vectors, metadata = export.projector_tsv(feats, {"class": np.array([3, 7])})
    assert metadata == "3\n7\n"  # the projector reads a first line without a tab as data
    assert np.array_equal(np.loadtxt(io.StringIO(vectors), delimiter="\t"), feats)
    with pytest.raises(ValueError, match="NaN or infinite"):
        export.projector_tsv(np.array([[np.nan, 1.0]]), {"l": ["a"]})
    with pytest.raises(ValueError, match=r"metadata\['l'\] has 1 values"):
        export.projector_tsv(np.zeros((2, 2)), {"l": ["a"]})


def test_embeddings_bundle_files():
    before, after = np.zeros((3, 2), np.float32), np.arange(12, dtype=np.float32).reshape(3, 4)
    files = export.embeddings_bundle(before, after, {"label": ["n", "a", "n"]})
    assert set(files) == {"embeddings_before.tsv", "embeddings_after.tsv", "metadata.tsv"}
    assert np.array_equal(np.loadtxt(io.BytesIO(files["embeddings_after.tsv"]), delimiter="\t"), after)
    assert files["metadata.tsv"] == b"n\na\nn\n"
    assert set(export.embeddings_bundle(None, after, {"label": ["n", "a", "n"]})) == {
        "embeddings_after.tsv", "metadata.tsv",
    }
    with pytest.raises(ValueError, match="before has 2 rows but after has 3"):
        export.embeddings_bundle(before[:2], after, {"label": ["n", "a", "n"]})


# ----------------------------------------------------------------------------- figures
def _figure() -> go.Figure:
    return go.Figure(
        go.Scatter(x=np.array([0.125, 2.5, 4.0]), y=[3.75, -1.0, 8.5], text=["alpha-pt", "beta-pt", "gamma"],
                   name="trace-xyz"),
        layout=dict(width=320, height=200, title="export test"),
    )


def test_figure_html_is_self_contained_with_the_data():
    html = export.figure_html(_figure()).decode("utf-8")
    assert "<script" in html and not re.search(r"<script[^>]*\bsrc=", html)  # plotly.js inlined, no CDN
    assert "Plotly.newPlot(" in html and len(html) > 1_000_000  # the whole library is inside
    start = html.index("[", html.index("Plotly.newPlot("))
    data, _ = json.JSONDecoder().raw_decode(html, start)
    (trace,) = data
    assert trace["name"] == "trace-xyz" and trace["text"] == ["alpha-pt", "beta-pt", "gamma"]
    x = np.frombuffer(base64.b64decode(trace["x"]["bdata"]), dtype=trace["x"]["dtype"])
    assert x.tolist() == [0.125, 2.5, 4.0] and trace["y"] == [3.75, -1.0, 8.5]


@pytest.mark.slow  # starts Chromium: about 4 s
@pytest.mark.skipif(not export.png_available(), reason="no Chromium for kaleido (BROWSER_PATH, /usr/bin/chromium, PATH)")
def test_figures_png_size_and_signature():
    tall = go.Figure(go.Bar(x=["a", "b"], y=[1, 3]), layout=dict(height=300))
    pngs = export.figures_png({"scatter": _figure(), "bar": tall}, scale=2)  # one browser, two figures
    assert set(pngs) == {"scatter", "bar"}
    for png in pngs.values():
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
    scatter = Image.open(io.BytesIO(pngs["scatter"]))
    assert scatter.size == (640, 400)
    assert Image.open(io.BytesIO(pngs["bar"])).size == (1400, 600)  # width unset: 700 x scale
    assert len(np.unique(np.asarray(scatter.convert("RGB")).reshape(-1, 3), axis=0)) > 10  # something drawn


def test_figures_png_without_a_browser(monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    assert export.png_available() is False
    with pytest.raises(export.ExportError, match="/nonexistent/chromium"):
        export.figures_png({"f": _figure()})


# ----------------------------------------------------------------------------- weights
@pytest.fixture(scope="module")
def svdd() -> tuple[DeepSVDD, np.ndarray]:
    X = np.random.default_rng(1).normal(size=(64, 5)).astype(np.float32)
    det = DeepSVDD(epochs=1, hidden=(16,), rep_dim=4, device="cpu", seed=3).fit(X)
    return det, X


def test_weights_bytes_of_a_detector_restore_the_same_scores(svdd, tmp_path):
    det, X = svdd
    data = export.weights_bytes(det)
    state = torch.load(io.BytesIO(data), weights_only=True)
    weights, _ = det.save(tmp_path / "saved")
    saved = torch.load(weights, weights_only=True)
    assert list(state) == list(saved) and any(k.startswith("extra.") for k in state)
    assert all(torch.equal(state[k], saved[k]) for k in saved)
    # the bytes plus config_json are what DeepDetector.load reads
    (tmp_path / "export.pt").write_bytes(data)
    (tmp_path / "export.json").write_text(export.config_json(det))
    fresh = DeepSVDD.load(tmp_path / "export")
    assert np.array_equal(fresh.anomaly_score(X), det.anomaly_score(X))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:  # torch.save's format: a zip around one pickle
        pickle_bytes = zf.read(next(n for n in zf.namelist() if n.endswith("data.pkl")))
    assert b"numpy" not in pickle_bytes and b"adlab" not in pickle_bytes  # tensors and strings only


def test_weights_bytes_of_a_module_restore_the_same_outputs():
    torch.manual_seed(0)
    model = build_model((5,), ContrastiveConfig(feature_dim=4)).eval()
    state = torch.load(io.BytesIO(export.weights_bytes(model)), weights_only=True)
    torch.manual_seed(1)
    fresh = build_model((5,), ContrastiveConfig(feature_dim=4)).eval()
    x = torch.randn(8, 5)
    assert not torch.equal(fresh(x), model(x))
    fresh.load_state_dict(state)
    assert torch.equal(fresh(x), model(x))


class _WithExtraState(nn.Linear):
    def get_extra_state(self):
        return {"note": object()}

    def set_extra_state(self, state):
        pass


def test_weights_bytes_refuses_what_would_need_pickle():
    module = _WithExtraState(2, 2)
    buf = io.BytesIO()
    torch.save(module.state_dict(), buf)  # what a naive export would write ...
    with pytest.raises(Exception, match="(?i)weights.only"):
        torch.load(io.BytesIO(buf.getvalue()), weights_only=True)  # ... cannot be loaded safely
    with pytest.raises(ValueError, match="_extra_state"):
        export.weights_bytes(module)
    with pytest.raises(ValueError, match="no network weights"):
        export.weights_bytes(KNNDetector(k=1).fit(np.zeros((4, 2), np.float32)))


# ----------------------------------------------------------------------------- config
def _lists(value):
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class _RunConfig:
    """A frozen config with a nested TrainConfig, shaped like the pages' (ContrastiveConfig's API is its own)."""

    name: str = "triplet"
    margin: float = 0.2
    train: TrainConfig = TrainConfig()


def test_config_json_round_trips_configs_and_specs():
    cfg = _RunConfig(margin=0.3, train=TrainConfig(epochs=3, betas=(0.5, 0.999), seed=4))
    loaded = json.loads(export.config_json(cfg))
    assert loaded == _lists(dataclasses.asdict(cfg))
    assert list(loaded) == ["name", "margin", "train"] and loaded["train"]["betas"] == [0.5, 0.999]
    assert _RunConfig(**{**loaded, "train": TrainConfig(**{**loaded["train"], "betas": (0.5, 0.999)})}) == cfg

    spec = MethodSpec.of("deepsvdd", hidden=(8, 4), epochs=2, lr=1e-2)
    d = json.loads(export.config_json(spec))
    assert d == {"method": "deepsvdd", "params": {"epochs": 2, "hidden": [8, 4], "lr": 0.01}}
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in d["params"].items()}
    assert MethodSpec.of(d["method"], **params) == spec


def test_config_json_converts_non_json_values():
    d = json.loads(export.config_json({
        "device": torch.device("cpu"), "dtype": torch.float32, "k": np.int64(5), "x": np.float32(0.5),
        "bad": float("nan"), "tags": {"b", "a"}, 3: "int key", "arr": np.array([[1, 2]]),
    }))
    assert d == {"device": "cpu", "dtype": "torch.float32", "k": 5, "x": 0.5, "bad": "nan", "tags": ["a", "b"],
                 "3": "int key", "arr": [[1, 2]]}


# ----------------------------------------------------------------------------- run card
def _card(**overrides) -> str:
    kwargs = dict(
        title="GOAD on Thyroid", dataset="ODDS Thyroid", dataset_note="50% of normals train",
        config=MethodSpec.of("goad", epochs=1, n_transforms=256).kwargs, seed=7, device="cuda:0", seconds=12.34,
        metrics={"auroc": 0.912345, "auprc": 0.5, "f1": 0.61116}, n_train=1839, n_test=1933, n_anomalies=93,
        method="goad", protocol="goad-tabular:thyroid", created="2025-01-02T03:04:05+00:00",
    )
    return export.run_card(**{**kwargs, **overrides})


def test_run_card_with_the_paper_number():
    card = _card()
    assert card.startswith("# GOAD on Thyroid\n")
    assert "| Method | GOAD (`goad`) |" in card and "| Dataset | ODDS Thyroid (50% of normals train) |" in card
    assert "| Test rows | 1933, of which 93 anomalous (4.8%) |" in card
    assert "| Seed | 7 |" in card and "| Device | cuda:0 |" in card and "| Time | 12.3 s |" in card
    assert "| This run | 0.9123 | 0.5000 | 0.6112 |" in card
    assert "| n_transforms | 256 |" in card
    assert "| Paper: GOAD | – | – | 0.745 (unverified) |" in card
    assert "- GOAD paper (Bergman & Hoshen, ICLR 2020), tabular experiments: F1 74.5 (unverified)" in card
    assert export.NO_PAPER_NUMBER not in card
    assert card == _card()  # deterministic for fixed inputs


def test_run_card_without_a_paper_number():
    for overrides in ({"protocol": None}, {"protocol": "one-class:mnist"}, {"method": "knn"},
                      {"method": "simclr", "protocol": None}):
        card = _card(**overrides)
        assert "No paper number: the papers did not use this dataset/protocol." in card
        assert "Paper:" not in card and "74.5" not in card
    with pytest.raises(ValueError, match="n_anomalies <= n_test"):
        _card(n_anomalies=5000)
    mnist = _card(method="deepsvdd", protocol="one-class:mnist", created=None)
    assert "| Paper: Deep SVDD | 0.948 (unverified) | – | – |" in mnist
    assert re.search(r"\| Created \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 \|", mnist)


# ----------------------------------------------------------------------------- papers
def test_paper_numbers_come_from_methods_md(shared_data):
    methods_md = shared_data.parent / "docs" / "METHODS.md"  # the methods reference beside the data
    if not methods_md.is_file():
        pytest.skip(f"{methods_md} is absent")
    text = methods_md.read_text()
    for p in papers.PAPER_NUMBERS:
        assert f"{p.value:.1f}" in text, p
    assert [(p.method, p.value) for p in papers.reference("deepsvdd", "one-class:mnist")] == [("deepsvdd", 94.8)]
    assert papers.reference("deepsvdd", "one-class:mnist")[0].unverified
    assert all(p.unverified for p in papers.PAPER_NUMBERS if p.protocol.startswith("goad-tabular"))
    assert papers.reference("supcon", "one-class:mnist") == [] and papers.reference("goad", None) == []
    with pytest.raises(ValueError, match="method must be one of"):
        papers.reference("goadd", None)
    with pytest.raises(ValueError, match="protocol must be one of"):
        papers.reference("goad", "thyroid")


def _mat(shared_data, name):
    m = scipy.io.loadmat(shared_data / "odds" / f"{name}.mat")
    return m["X"], m["y"]


def test_detect_protocol_on_the_odds_files(shared_data):
    for name, protocol in (("thyroid", "goad-tabular:thyroid"), ("arrhythmia", "goad-tabular:arrhythmia")):
        X, y = _mat(shared_data, name)
        assert papers.detect_protocol(X, y, name) == protocol
        assert papers.detect_protocol(X, None, f"ODDS {name}") == protocol
        assert papers.detect_protocol(X, None, "my table") is None
        flipped = y.copy()
        flipped[np.flatnonzero(y.ravel() == 0)[0]] = 1
        assert papers.detect_protocol(X, flipped, name) is None  # one anomaly too many
        shuffled = X.reshape(X.shape[1], X.shape[0])  # same numbers, other shape
        assert papers.detect_protocol(shuffled, None, name) is None
        assert papers.detect_protocol(X[:-1], y[:-1], name) is None


def test_detect_protocol_kdd_and_mnist(shared_data):
    with gzip.open(shared_data / "kddcup99" / "kddcup.data_10_percent.gz", "rb") as f:
        raw = f.read()
    rows, normal = raw.count(b"\n"), raw.count(b",normal.\n")
    y = np.zeros(rows, dtype=np.int64)
    y[:normal] = 1  # GOAD's convention: the normal traffic is the anomaly class
    X = np.broadcast_to(np.zeros(121, np.float32), (rows, 121))  # one-hot width, no memory
    assert papers.detect_protocol(X, y, "kdd") == "goad-tabular:kddcup99"
    assert papers.detect_protocol(X, 1 - y, "kdd") is None  # attacks as anomalies: another protocol

    mnist = load_mnist_idx(shared_data / "mnist", split="test")
    assert papers.detect_protocol(mnist.X, mnist.y, "anything") == "one-class:mnist"
    assert papers.detect_protocol(mnist.X, None, "mnist-test") == "one-class:mnist"
    assert papers.detect_protocol(mnist.X, None, "fashion-mnist") is None
    assert papers.detect_protocol(mnist.X, np.repeat(np.arange(10), 1000), "fashion-mnist") is None
    assert papers.detect_protocol(mnist.X[:5000], mnist.y[:5000], "mnist") is None


# ----------------------------------------------------------------------------- zip
def test_bundle_zip_round_trip_and_unsafe_names():
    files = {"scores.csv": "id,score\n0,1.5\n", "figures/roc.png": b"\x89PNG\x00\xff", "card.md": "é ✓"}
    data = export.bundle_zip(files)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == list(files)
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in zf.infolist())
        assert zf.read("scores.csv") == b"id,score\n0,1.5\n"
        assert zf.read("figures/roc.png") == b"\x89PNG\x00\xff"
        assert zf.read("card.md").decode("utf-8") == "é ✓"
    for bad in ("../x", "/etc/passwd", "a/../b", "a//b", "a\\b", "C:x", "", "./x"):
        with pytest.raises(ValueError, match="file name"):
            export.bundle_zip({bad: b"x"})
