"""GOAD's tabular protocol, official split (normal rows in file order) or random (seeded), from the
library, the CLI (``--split``) and a page (the *GOAD protocol: training half* choice)."""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat
from streamlit.testing.v1 import AppTest

from adlab.cli import load_problem, main
from adlab.data import goad_split, goad_tabular_split, make_toy
from adlab.data.split import GOAD_SPLITS, goad_split_note

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def odds_table(tmp_path):
    """A small table in the ODDS layout (a .mat file with X and y, y = 1 anomalous), rows of both kinds mixed."""
    rng = np.random.default_rng(0)
    y = (rng.random(120) < 0.15).astype(np.float64)
    X = rng.normal(size=(120, 4)) + 5 * y[:, None]
    X[:, 0] = np.arange(120)  # column 0 = the row's place in the file
    path = tmp_path / "table.mat"
    savemat(path, {"X": X, "y": y[:, None]})
    return path, X, y.astype(int)


def _first_column(rows: np.ndarray) -> list[int]:
    return rows[:, 0].astype(int).tolist()


def test_official_split_keeps_the_file_order_by_default(odds_table):
    path, X, y = odds_table
    normal = np.flatnonzero(y == 0)
    half = len(normal) // 2
    problem = load_problem(str(path), seed=3)
    assert problem.split == "official"
    assert _first_column(problem.X_train) == normal[:half].tolist()  # the first half of the normals, in order
    assert _first_column(problem.X_test) == [*normal[half:], *np.flatnonzero(y == 1)]
    X_train, _, _ = goad_tabular_split(X.astype(problem.X_train.dtype), y)  # the library's default is the same
    np.testing.assert_array_equal(X_train, problem.X_train)


def test_two_seeds_train_on_the_same_rows_only_under_the_official_split(odds_table):
    path, _, y = odds_table
    official = [load_problem(str(path), seed=s, split="official") for s in (0, 1)]
    random = [load_problem(str(path), seed=s, split="random") for s in (0, 1)]
    np.testing.assert_array_equal(official[0].X_train, official[1].X_train)
    assert _first_column(random[0].X_train) != _first_column(random[1].X_train)
    for problem in random:  # a permutation of the normals, cut in the same place
        assert problem.split == "random" and len(problem.X_train) == (y == 0).sum() // 2
        assert _first_column(problem.X_train) != sorted(_first_column(problem.X_train))
        assert problem.is_anomaly.sum() == y.sum()
    np.testing.assert_array_equal(random[0].X_train, load_problem(str(path), seed=0, split="random").X_train)


def test_split_as_a_dataset_split():
    ds = make_toy("blobs", n=200, anomaly_fraction=0.05, seed=0)
    normal = [c for c in ds.class_names if c != "anomaly"]
    a, b = (goad_split(ds, normal, seed=s) for s in (0, 1))
    np.testing.assert_array_equal(a.train_index, b.train_index)
    assert (np.diff(a.train_index) > 0).all()
    c, d = (goad_split(ds, normal, seed=s, split="random") for s in (0, 1))
    assert set(c.train_index) != set(d.train_index)
    with pytest.raises(ValueError, match="split must be one of"):
        goad_split(ds, normal, split="file")


def test_cli_json_and_run_card_name_the_split(odds_table, tmp_path, capsys):
    path = odds_table[0]
    for args, split in (([], "official"), (["--split", "random"], "random")):
        card = tmp_path / f"card_{split}.md"
        assert main(["fit", "iforest", "--data", str(path), "--seed", "2", "--json", "--card", str(card), *args]) == 0
        result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert result["split"] == split
        assert f"{split} split" in result["description"]
        text = card.read_text()
        assert goad_split_note(split) in text and GOAD_SPLITS[split] in text
    assert "file order" in goad_split_note("official") and "permuted with the seed" in goad_split_note("random")


def test_split_on_data_split_one_class_is_an_error(capsys):
    assert main(["fit", "knn", "--data", "toy:blobs", "--split", "random"]) == 2
    err = capsys.readouterr().err
    assert "--split applies to labelled tables" in err and len(err.strip().splitlines()) == 1
    assert main(["fit", "knn", "--data", "digits", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["split"] is None


def test_page_offers_the_split_and_its_run_card_names_it():
    """GOAD page, toy blobs under GOAD's protocol: official by default (file order), random when picked; the
    caption and the run card say which."""
    from pages import _export

    at = AppTest.from_file(str(ROOT / "pages" / "goad.py"), default_timeout=120).run()
    at.selectbox(key="goad_dataset").set_value("toy:blobs").run()
    assert at.radio(key="goad_goad_split").value == "official"
    at.radio(key="goad_protocol").set_value("goad")
    at.number_input(key="goad_epochs").set_value(1)
    seen = {}
    for split in ("official", "random"):
        at.radio(key="goad_goad_split").set_value(split)
        at.button(key="goad_train").click().run(timeout=240)
        assert not at.exception, at.exception
        assert not at.error, [e.value for e in at.error]
        stored = at.session_state["goad_run"]
        assert stored["protocol"] == "goad" and stored["goad_split"] == split
        assert any(f"GOAD's protocol, {split} split" in c.value for c in at.caption)
        card = _export.detector_files("goad", stored)["run_card.md"]
        assert goad_split_note(split) in card
        seen[split] = stored["split"].train_index
    assert (np.diff(seen["official"]) > 0).all()  # the normal rows in the dataset's order
    assert not (np.diff(seen["random"]) > 0).all()
    link = dict(at.query_params)  # the choice is in the link, and a copied link brings it back
    assert link["goad_protocol"] == "goad" and link["goad_goad_split"] == "random"
    again = AppTest.from_file(str(ROOT / "pages" / "goad.py"), default_timeout=120)
    for key, value in link.items():
        again.query_params[key] = value
    again.run()
    assert not again.exception, again.exception
    assert again.radio(key="goad_goad_split").value == "random"
