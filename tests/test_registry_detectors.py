"""A detector registered from outside adlab appears everywhere methods are listed (issue 10).

The detector below lives in this test module only. Registered with ``registry.register_detector``
it must be offered by the CLI (``python -m adlab fit NAME``), run through
:func:`adlab.experiment.run_detector`, be listed on the Compare page and reach the exports and the
run card, with no other file edited; unregistered, it is gone again (nothing cached the list).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import adlab.projection as projection
from adlab import export, papers, registry
from adlab.cli import main
from adlab.data import make_toy, one_class_split
from adlab.detectors.base import Detector, check_X
from adlab.experiment import MethodSpec, is_deep, label, methods, quick_params, run_detector

ROOT = Path(__file__).resolve().parents[1]
NAME = "meandist"
LABEL = "Mean distance (raw input)"


class MeanDistance(Detector):
    """``s(x) = ||x - mu||`` with ``mu`` the mean of the flattened training rows: higher = farther = more anomalous."""

    name: ClassVar[str] = NAME
    label: ClassVar[str] = LABEL
    kinds: ClassVar[tuple[str, ...]] = ("tabular", "image")
    family: ClassVar[str] = "baseline"
    quick: ClassVar[dict[str, dict[str, Any]]] = {"tabular": {}, "image": {}}
    presets: ClassVar[dict[str, dict[str, Any]]] = {"squared": {"squared": True}}
    paper_key: ClassVar[str] = ""

    def __init__(self, *, squared: bool = False) -> None:
        self.squared = squared

    def fit(self, X, y=None, *, callbacks=(), cancel=None) -> MeanDistance:
        X = check_X(X)
        self.mean_ = X.reshape(len(X), -1).mean(axis=0)  # (d,)
        return self

    def _score(self, X: np.ndarray) -> np.ndarray:
        d2 = ((X.reshape(len(X), -1) - self.mean_) ** 2).sum(axis=1)  # (n,)
        return d2 if self.squared else np.sqrt(d2)


@pytest.fixture
def registered():
    registry.register_detector(MeanDistance)
    yield MeanDistance
    registry.unregister(NAME)


@pytest.fixture(scope="module")
def toy_split():
    ds = make_toy("blobs", n=300, anomaly_fraction=0.1, seed=0)
    return one_class_split(ds, [c for c in ds.class_names if c != "anomaly"], seed=0)


def _cli_choices(capsys) -> str:
    """The CLI's error for an unknown method, which lists every method it offers."""
    assert main(["fit", "no-such-method", "--data", "toy:blobs"]) == 2
    return capsys.readouterr().err


def test_the_cli_offers_and_fits_a_registered_detector(registered, tmp_path, capsys):
    assert NAME in _cli_choices(capsys)
    card = tmp_path / "card.md"
    assert main(["fit", NAME, "--data", "toy:blobs", "--card", str(card), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["method"] == NAME and result["auroc"] > 0.8, result
    text = card.read_text()
    assert f"{LABEL} (`{NAME}`)" in text and "| squared | false |" in text
    assert export.NO_PAPER_NUMBER in text
    # its parameters come from the class too: it has no epochs
    assert main(["fit", NAME, "--data", "toy:blobs", "--epochs", "3"]) == 2
    assert "does not train in epochs" in capsys.readouterr().err


def test_unregistered_it_is_gone_everywhere(capsys):
    registry.register_detector(MeanDistance)
    try:
        assert NAME in _cli_choices(capsys) and NAME in methods("image")
    finally:
        registry.unregister(NAME)
    assert NAME not in _cli_choices(capsys)
    assert NAME not in methods() and NAME not in methods("tabular")
    with pytest.raises(ValueError, match="method must be one of"):
        MethodSpec.of(NAME)


def test_experiment_runs_a_registered_detector(registered, toy_split):
    assert methods("tabular")[-1] == NAME and methods(family="baseline")[-1] == NAME
    assert label(NAME) == LABEL and not is_deep(NAME) and quick_params(NAME, "tabular") == {}
    assert registered.preset("squared").squared is True
    run = run_detector(toy_split, MethodSpec.quick(NAME, "tabular"))
    assert run.metrics["auroc"] > 0.8
    assert run.scores_before is None and run.test_before is run.test_after  # a baseline has no 'before'
    squared = run_detector(toy_split, MethodSpec.of(NAME, squared=True))
    np.testing.assert_allclose(squared.scores, run.scores**2, rtol=1e-6)
    assert squared.metrics["auroc"] == pytest.approx(run.metrics["auroc"])  # a monotone map keeps the ranking


def test_exports_and_run_cards_name_it(registered):
    spec = MethodSpec.of(NAME, squared=True)
    assert json.loads(export.config_json(spec)) == {"method": NAME, "params": {"squared": True}}
    assert papers.paper_key(NAME) == "" and papers.reference(NAME, "one-class:mnist") == []
    card = export.run_card(title="t", dataset="toy:blobs", config=spec.kwargs, seed=0, device="cpu", seconds=0.1,
                           metrics={"auroc": 0.9, "auprc": 0.5, "f1": 0.4}, n_train=10, n_test=5, n_anomalies=1,
                           method=NAME, protocol="one-class:mnist")
    assert f"| Method | {LABEL} (`{NAME}`) |" in card and export.NO_PAPER_NUMBER in card
    assert f"report no anomaly-detection number for {NAME}" in card


def test_compare_lists_runs_and_exports_it(registered, monkeypatch):
    monkeypatch.setattr(projection, "umap_2d", lambda features, seed=0, **kw: projection._linear_2d(
        projection._as_features(features, "features")))
    at = AppTest.from_file(str(ROOT / "pages" / "compare.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    picker = at.multiselect(key="compare_methods_image")
    assert LABEL in picker.options and NAME in picker.value  # options as shown, value as names
    picker.set_value([NAME, "knn"])
    at.button(key="compare_run").click().run(timeout=120)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert list(table["method"]) == [LABEL, "kNN (raw input)"]
    assert table["AUROC"].gt(0.8).all()
    try:
        from pages import _export
    except ImportError:  # pragma: no cover
        pytest.skip("pages is not importable as a package here")
    files = _export.compare_files(at.session_state["compare_results"])
    assert f"score_{NAME}" in files["scores.csv"].splitlines()[0]
    assert f"{LABEL} (`{NAME}`)" in files["run_card.md"] and NAME in json.loads(files["config.json"])
