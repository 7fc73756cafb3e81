"""AppTest of the distance-axioms page: counterexamples, bad input, the table, the learned distance."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "distances.py")
TRIANGLE_BREAK = "d(x0,x2) = 4.000 > d(x0,x1) + d(x1,x2) = 1.000 + 1.000"
HOLDS, BREAKS = ":green[:material/check_circle:]", ":red[:material/cancel:]"  # the page's line prefixes


def _app(**state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def _markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def _axiom_lines(at: AppTest) -> list[str]:
    return [m for m in _markdown(at) if m.startswith((HOLDS, BREAKS))]


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_collinear_preset_breaks_triangle_for_squared_euclidean_not_for_euclidean():
    at = _app()
    assert not at.exception
    at.button(key="distances_preset_squared_euclidean").click().run()
    at.selectbox(key="distances_metric").set_value("squared_euclidean").run()
    assert not at.exception
    lines = _axiom_lines(at)
    assert any(line.startswith(f"{BREAKS} **triangle inequality** :red[**breaks**]") and TRIANGLE_BREAK in line for line in lines)
    # the offending triangle is drawn on the scatter: long side x0-x2 and the detour via x1
    scatter = next(s for s in _specs(at) if any(t.get("name") == "points" for t in s["data"]))
    names = [t.get("name") for t in scatter["data"]]
    assert "long side x0–x2" in names and "detour via x1" in names
    # the numbers come from the torch distance the triplet loss uses
    assert any("EmbeddingDistance('squared_euclidean')" in c.value for c in at.caption)

    at.selectbox(key="distances_metric").set_value("euclidean").run()
    assert not at.exception
    lines = _axiom_lines(at)
    assert len(lines) >= 4 and not any(line.startswith(BREAKS) for line in lines)
    assert any("All four axioms hold" in s.value for s in at.success)
    assert not at.warning
    at.selectbox(key="distances_metric").set_value("manhattan").run()  # no torch counterpart: no such line
    assert not at.exception and not any("EmbeddingDistance" in c.value for c in at.caption)


def test_invalid_points_warn_instead_of_failing():
    nan_row = pd.DataFrame({"coordinate 1": [0.0, 1.0, 2.0], "coordinate 2": [0.0, np.nan, 1.0]})
    at = _app(_distances_table=nan_row)
    assert not at.exception
    assert any("Row 1" in w.value and "coordinate 2" in w.value for w in at.warning)

    zero = pd.DataFrame({"coordinate 1": [0.0, 1.0, 0.0], "coordinate 2": [0.0, 0.0, 1.0]})
    at = _app(_distances_table=zero, distances_metric="cosine")
    assert not at.exception
    assert any("zero vector" in w.value for w in at.warning)

    at = _app(_distances_table=zero, distances_metric="kl_divergence")
    assert not at.exception
    assert any("probability vectors" in w.value for w in at.warning)


def test_comparison_table_covers_every_distance_and_axiom():
    at = _app()
    table = at.dataframe[-1].value
    assert len(table) == 8  # seven registered distances and the demo learned distance
    # plain words, no emoji (was ✅ / ❌, boxes in a browser without an emoji font, as Debian's chromium)
    cells = "".join(str(v) for v in table.to_numpy().ravel())
    assert not [c for c in cells if 0x2600 <= ord(c) <= 0x27BF or ord(c) >= 0x1F000], cells
    assert set(table.filter(like="·").to_numpy().ravel()) <= {"holds", "BREAKS", "undefined", "no points"}
    sq = table.loc["squared Euclidean"]
    assert sq["triangle · your points"] == "BREAKS"
    assert sq["triangle · random sample"] == "BREAKS"
    assert "triangle can break" in sq["theory"]
    eu = table.loc["Euclidean"]
    assert all(eu[f"{a} · {on}"] == "holds" for a in ("non-negativity", "identity", "symmetry", "triangle")
               for on in ("your points", "random sample"))
    assert table.loc["cosine distance 1 − cos", "identity · your points"] == "undefined"  # zero vector x0
    assert table.loc["KL divergence", "symmetry · random sample"] == "BREAKS"

    at.button(key="distances_preset_learned").click().run()  # also selects the demo f(x) = x_1
    assert not at.exception and at.selectbox(key="distances_metric").value == "learned_demo"
    assert any(line.startswith(f"{BREAKS} **identity of indiscernibles**") and "although x0 != x1" in line
               for line in _axiom_lines(at))


def test_learned_distance_trains_and_collapsed_encoder_breaks_identity():
    at = _app()
    assert any(i.value.startswith("Press **Train f**") for i in at.info)
    at.selectbox(key="distances_encoder").set_value("collapsed")
    at.number_input(key="distances_epochs").set_value(2)
    at.button(key="distances_train").click().run(timeout=120)
    assert not at.exception
    assert any(s.value.startswith("Trained f (collapsed") for s in at.success)
    md = _markdown(at)
    assert "**Random f (before training)**" in md and "**Trained f (after training)**" in md
    heat = next(s for s in _specs(at) if any(t.get("type") == "heatmap" for t in s["data"]))
    assert sum(t.get("type") == "heatmap" for t in heat["data"]) == 2  # before and after side by side
    # f ignores coordinate 2: toy points far apart along it but with almost equal coordinate 1 are almost
    # indiscernible, before and after training
    values = [float(m.value.removeprefix("d_f = ")) for m in at.metric][-2:]
    assert len(values) == 2 and max(values) < 0.01
    # the learned f can be taken away: weights load back with weights_only, the card names the run
    import io

    import torch

    from pages import _export

    labels = {b.proto.label for b in at.get("download_button")}
    assert {"Weights + config (ZIP)", "Run card (Markdown)", "Everything (ZIP)"} <= labels
    run = at.session_state["distances_run"]
    files = _export.distance_files(run)
    state = torch.load(io.BytesIO(files["weights.pt"]), weights_only=True)
    assert state.keys() == run.encoder_after.state_dict().keys()
    assert "collapsed" in files["run_card.md"]

    at.button(key="distances_twin").click().run(timeout=120)  # x3 = x0 + (0, 1.5)
    assert not at.exception
    broken = [line for line in _axiom_lines(at) if line.startswith(f"{BREAKS} **identity of indiscernibles**")]
    assert len(broken) == 2 and all("although x0 != x3" in line for line in broken)


def test_demo_library_pieces_without_streamlit():
    from adlab.distance_demo import (
        DistanceDemoConfig,
        build_demo_encoder,
        closest_distinct_pair,
        distance_field,
        plane_grid,
    )
    from adlab.distances import LearnedDistance, check_axioms
    from adlab.viz_distances import points_figure

    cfg = DistanceDemoConfig(encoder="collapsed", seed=3)
    f1, f2 = build_demo_encoder(cfg), build_demo_encoder(cfg)
    assert all((a == b).all() for a, b in zip(f1.parameters(), f2.parameters(), strict=True))  # seeded
    d = LearnedDistance(f1)
    pts = np.array([[0.5, 0.0], [0.5, 2.0], [1.5, 1.0]])
    report = check_axioms(d, pts)
    assert report.failed == ("identity of indiscernibles",) and report.identity.worst.indices == (0, 1)
    xs, ys = plane_grid(pts, steps=7)
    field = distance_field(d, pts[0], xs, ys)
    assert field.shape == (7, 7) and np.allclose(field[:, 0], field[0, 0])  # constant along coordinate 2
    probe = closest_distinct_pair(d, np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2), min_gap=1.0)
    assert probe.d == 0.0 and probe.gap >= 1.0 and probe.a[0] == probe.b[0]
    fig = points_figure(pts, distances=d.pairwise(pts), zero_pair=(0, 1))
    assert [t.name for t in fig.data] == ["x0 ≠ x1 but d = 0", "points"]
    with pytest.raises(ValueError, match="points"):
        points_figure(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="encoder"):
        DistanceDemoConfig(encoder="cnn")
