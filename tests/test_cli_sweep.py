"""``python -m adlab sweep``: every (class, seed) pair as parallel jobs on the local pool."""

from __future__ import annotations

import json

import numpy as np
import pytest

from adlab.cli import main
from adlab.sweep import parse_seeds


def test_sweep_json_runs_every_pair_on_the_pool_and_matches_fit(capsys):
    assert main(["sweep", "knn", "--data", "digits", "--classes", "3,8", "--seeds", "0,1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out) >= {"method", "data", "runs", "mean_auroc"}
    assert out["method"] == "knn" and out["data"] == "digits" and out["backend"].startswith("local pool")
    assert [(r["normal_class"], r["seed"]) for r in out["runs"]] == [("3", 0), ("3", 1), ("8", 0), ("8", 1)]
    for run in out["runs"]:
        assert set(run) == {"normal_class", "seed", "auroc", "auprc", "f1", "seconds", "worker"}
        assert run["worker"].startswith("local-")
    assert out["mean_auroc"] == pytest.approx(np.mean([r["auroc"] for r in out["runs"]]), abs=1e-6)
    assert main(["fit", "knn", "--data", "digits", "--normal-class", "8", "--seed", "1", "--json"]) == 0
    fit = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["runs"][3]["auroc"] == fit["auroc"] and out["runs"][3]["f1"] == fit["f1"]


def test_sweep_prints_mean_and_std_per_class_and_overall(capsys):
    assert main(["sweep", "iforest", "--data", "digits", "--classes", "0", "--seeds", "0-1"]) == 0
    out = capsys.readouterr().out
    assert "class 0, seed 1: AUROC" in out and "class 0: " in out and "overall (2 runs): " in out and " ± " in out


@pytest.mark.parametrize("args, words", [
    (["--classes", "3", "--seeds", "a"], "--seeds must be"),
    (["--classes", ",", "--seeds", "0"], "--classes is empty"),
    (["--classes", "nope", "--seeds", "0"], "no class named 'nope'"),
])
def test_bad_sweeps_are_one_line_errors(args, words, capsys):
    assert main(["sweep", "knn", "--data", "digits", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err


def test_parse_seeds():
    assert parse_seeds("0-2,5,1") == [0, 1, 2, 5]
