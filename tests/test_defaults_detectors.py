"""Issue 9, "defaults that show each idea": each detector page's default run, as a visitor sees it.

Every page trains with its own defaults (no field touched) and must show a gain from training
against the same detector untrained, on a test set where anomalies are the minority. Deep SVDD's
default run must show the collapse its guards prevent; CSI must speak of one score direction; GOAD's
caption must say where the normal copies cluster, as the figure draws them. UMAP is swapped for its
linear fallback as in tests/test_pages_detectors.py.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import adlab.projection as projection
from adlab.data import load_digits, one_class_split
from tests.test_pages_detectors import _decode, linear_projection  # noqa: F401 (autouse: UMAP -> a linear map)

ROOT = Path(__file__).resolve().parents[1]


def _xy(trace: dict) -> np.ndarray:
    return np.column_stack([_decode(trace["x"]), _decode(trace["y"])])


def _default_run(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    at.button(key=f"{page}_train").click().run(timeout=240)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _gain(at: AppTest) -> float:
    """The AUROC change against the untrained detector, as the AUROC metric's delta shows it."""
    auroc = next(m for m in at.metric if m.label == "AUROC")
    return float(auroc.proto.delta.split()[0])


def _assert_minority(at: AppTest, page: str, share: float = 0.1) -> None:
    split = at.session_state[f"{page}_run"]["split"]
    n, k = len(split.X_test), int(split.anomalous_test.sum())
    assert 0 < k <= share * n, f"{k} anomalies among {n} test points"
    assert any(f"{n} test points, {k} of them anomalous ({k / n:.0%})" in c.value for c in at.caption), \
        "the caption states the test set's composition"


def test_split_caps_the_share_of_anomalies_in_the_test_set():
    ds = load_digits()
    full = one_class_split(ds, ["3"], seed=0)
    capped = one_class_split(ds, ["3"], seed=0, test_anomaly_fraction=0.1)
    n_normal = int((~full.anomalous_test).sum())
    assert int((~capped.anomalous_test).sum()) == n_normal, "every normal test point stays"
    assert 0 < capped.anomalous_test.sum() <= 0.1 * len(capped.X_test)
    assert set(capped.test_index) <= set(full.test_index) and np.array_equal(capped.X_train, full.X_train)
    again = one_class_split(ds, ["3"], seed=0, test_anomaly_fraction=0.1)
    assert np.array_equal(again.test_index, capped.test_index), "seeded"
    other = one_class_split(ds, ["3"], seed=1, test_anomaly_fraction=0.1)
    assert not np.array_equal(other.test_index, capped.test_index)
    loose = one_class_split(ds, ["3"], seed=0, test_anomaly_fraction=0.95)
    assert np.array_equal(np.sort(loose.test_index), np.sort(full.test_index)), "a cap above the share changes nothing"
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="test_anomaly_fraction"):
            one_class_split(ds, ["3"], test_anomaly_fraction=bad)


@pytest.fixture(scope="module")
def runs() -> dict[str, AppTest]:
    """Each page's default run, made once for the tests below (Deep SVDD with the guards "both")."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(projection, "umap_2d", lambda features, seed=0, **kw: projection._linear_2d(
            projection._as_features(features, "features")))
        out = {page: _default_run(page) for page in ("droc", "goad", "csi")}
        at = AppTest.from_file(str(ROOT / "pages" / "deep_svdd.py"), default_timeout=120).run()
        out["deep_svdd_default_guards"] = at.radio(key="deep_svdd_guards").value
        at.radio(key="deep_svdd_guards").set_value("both")
        at.button(key="deep_svdd_train").click().run(timeout=240)
        assert not at.exception and not at.error, at.exception
        out["deep_svdd"] = at
    return out


@pytest.mark.parametrize("page", ["droc", "goad", "csi", "deep_svdd"])
def test_default_run_gains_from_training(runs, page):
    """Issue 9 points 1 and 3: the trained detector beats the untrained one at the page's defaults
    (Deep SVDD: the guarded run, shown first)."""
    assert _gain(runs[page]) > 0.01


@pytest.mark.parametrize("page", ["droc", "goad", "csi", "deep_svdd"])
def test_default_test_set_has_anomalies_as_a_minority(runs, page):
    """Issue 9 point 4: at most 10 % anomalies in the default test set, and the caption says so."""
    _assert_minority(runs[page], page)


def test_goad_caption_says_where_the_normal_copies_cluster(runs):
    """Issue 9 point 6: the caption names the marker the normal copies cluster at, as the figure draws them."""
    at = runs["goad"]
    fig = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
               if json.loads(c.proto.spec)["data"][-1].get("name") == "centres c_m")
    traces = {t["name"]: t for t in fig["data"]}
    crosses = _xy(traces["centres c_m"])
    caption = next(c.value for c in at.caption if "Features f(T(x, m))" in c.value)
    for m, name in enumerate(["rot 0", "rot 90", "rot 180", "rot 270"]):
        pts = _xy(traces[name])
        normal = np.asarray(traces[name]["marker"]["symbol"]) == "circle"
        centre = pts[normal].mean(axis=0)
        spread = np.sqrt(((pts[normal] - centre) ** 2).sum(axis=1).mean())
        to_cross = np.linalg.norm(centre - crosses[m])
        if "centred on their cross" in caption or "cluster at the centre of their own colour" in caption:
            assert to_cross < 2 * spread, f"{name}: the caption puts the normal copies at the cross"
        else:
            to_circle = np.linalg.norm(centre - _xy(traces["normal training mean"])[m])
            assert "around the open circles" in caption and to_circle < to_cross
            assert to_circle < 2 * spread, f"{name}: the caption puts the normal copies at the circle"


def test_csi_speaks_of_one_score_direction(runs):
    """Issue 9 point 5: every score CSI shows is an anomaly score (higher = more anomalous) or is called a
    normality score where it is shown."""
    at = runs["csi"]
    point = next(md.value for md in at.markdown if md.value.startswith("Test point **#"))
    shown = float(re.search(r"anomaly score \*\*(-?[\d.e+-]+)\*\*", point).group(1))
    metrics = {m.label: float(m.value) for m in at.metric if "s_" in m.label}
    assert metrics, "the score's parts are shown"
    for label in metrics:  # every score part is shown negated, the app's direction
        assert label.lstrip().startswith(("−", "Anomaly")), label
    assert metrics["Anomaly score −s_CSI"] == pytest.approx(shown, rel=1e-3, abs=1e-3)
    assert metrics["−s_con-SI"] + metrics["−s_cls-SI"] == pytest.approx(shown, abs=2e-3)
    waterfall = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                     if json.loads(c.proto.spec)["data"][0]["type"] == "waterfall")
    assert waterfall["data"][0]["x"][-1] == "−s_CSI" and "higher = more anomalous" in waterfall["layout"]["title"]["text"]
    assert any("higher = more normal" in c.value for c in at.caption), "the paper's terms are called normality scores"


def test_deep_svdd_guards_both_at_the_defaults_show_the_collapse(runs):
    """Issue 9 point 2: at the page's defaults, guards off collapse by orders of magnitude, guards on do not."""
    at = runs["deep_svdd"]
    both = at.session_state["deep_svdd_runs"]
    on, off = both["on"]["run"], both["off"]["run"]
    assert on.detector.collapse_ratio_ > 100 * off.detector.collapse_ratio_, "guards off: features shrink 100x more"
    assert np.median(on.scores) > 100 * np.median(off.scores), "guards off: scores drop by orders of magnitude"
    assert any("guards-off map collapsed" in c.value for c in at.caption)
    assert runs["deep_svdd_default_guards"] == "both", "the default run trains both, side by side"


def test_deep_svdd_metrics_fit_their_columns(runs):
    """Issue 9 point 2: no st.metric value long enough to be cut with an ellipsis (a quarter of a 1400 px page)."""
    for metric in runs["deep_svdd"].metric:
        assert len(metric.value) <= 12 and len(metric.label) <= 40, (metric.label, metric.value)
