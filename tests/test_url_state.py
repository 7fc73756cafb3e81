"""Shareable state: a page's settings go into the URL, and a copied link restores them and the numbers."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from pages import _state as state

ROOT = Path(__file__).resolve().parents[1]


def _page(name: str, params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=60)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    return at.run()


def _app(params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    return at.run()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("value", ["digits", "1", 0.25, 3, True, ["1", "2"], [], "a b&c"])
def test_encode_decode_round_trip(value):
    assert state.decode(state.encode(value)) == value


def test_plain_strings_stay_readable():
    assert state.encode("toy:moons") == "toy:moons"
    assert state.encode("1") == '"1"'  # would decode as a number otherwise


def test_link_round_trip_restores_settings_and_numbers():
    """Change settings, train, copy the URL; a fresh session opened with it shows the same settings
    and, trained again, the same numbers (same seed, same device)."""
    at = _page("simclr")
    assert not at.exception, at.exception
    at.selectbox(key="simclr_dataset").set_value("toy:moons").run()
    at.number_input(key="simclr_epochs").set_value(2)
    at.number_input(key="simclr_seed").set_value(7)
    at.number_input(key="simclr_train_tau").set_value(0.3)
    at.slider(key="simclr_tau").set_value(0.2)
    at.button(key="simclr_train").click().run(timeout=240)
    assert not at.exception, at.exception
    first = _metrics(at)
    assert "AUROC after training" in first
    link = dict(at.query_params)
    assert link["simclr_dataset"] == "toy:moons"
    assert state.decode(link["simclr_seed"]) == 7
    assert state.decode(link["simclr_train_tau"]) == pytest.approx(0.3)
    assert state.decode(link["simclr_tau"]) == pytest.approx(0.2)
    assert "simclr_train" not in link and "simclr_run" not in link  # buttons and results stay out

    again = _page("simclr", link)
    assert not again.exception, again.exception
    assert again.selectbox(key="simclr_dataset").value == "toy:moons"
    assert again.number_input(key="simclr_seed").value == 7
    assert again.number_input(key="simclr_epochs").value == 2
    assert again.slider(key="simclr_tau").value == pytest.approx(0.2)
    assert not again.warning, [w.value for w in again.warning]
    again.button(key="simclr_train").click().run(timeout=240)
    assert not again.exception, again.exception
    assert _metrics(again) == first, "the same link must reproduce the same numbers"


def test_detector_link_restores_knobs():
    link = {"goad_dataset": "toy:blobs", "goad_lambda": "0.3", "goad_margin": "2.0", "goad_seed": "5"}
    at = _page("goad", link)
    assert not at.exception, at.exception
    assert at.selectbox(key="goad_dataset").value == "toy:blobs"
    assert at.slider(key="goad_lambda").value == pytest.approx(0.3)
    assert at.slider(key="goad_margin").value == pytest.approx(2.0)
    assert at.number_input(key="goad_seed").value == 5


def test_link_with_unusable_values_says_so():
    at = _page("simclr", {"simclr_dataset": "no-such-set", "simclr_epochs": "3"})
    assert not at.exception, at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "simclr_dataset" in warnings and "no-such-set" in warnings
    assert at.number_input(key="simclr_epochs").value == 3  # the usable part of the link still applies


def test_link_to_an_uploaded_file_asks_for_the_file():
    at = _page("simclr", {"simclr_dataset": "upload:0123456789ab"})
    assert not at.exception, at.exception
    assert any("uploaded file" in w.value for w in at.warning)


def test_presenter_mode_hides_the_settings_in_a_closed_box():
    at = _page("goad", {"present": "true"})
    assert not at.exception, at.exception
    boxes = [e for e in at.expander if e.label == "Settings"]
    assert boxes, "presenter mode keeps the settings in a Settings box"
    assert at.button(key="goad_train")  # still reachable inside it
    plain = _page("goad")
    assert not [e for e in plain.expander if e.label == "Settings"]


def test_presenter_mode_enlarges_the_figures():
    import json

    def first_figure(at):
        return json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]

    plain, big = first_figure(_page("simclr")), first_figure(_page("simclr", {"present": "true"}))
    assert big["font"]["size"] > plain["font"]["size"]
    assert big["height"] >= plain["height"]  # taller up to PRESENTER_MAX_HEIGHT (see below)


# ----------------------------------------------------------------------------- every link reopens
PAGES = ["home", "distances", "triplet", "npair", "supcon", "simclr", "deep_svdd", "goad", "droc", "csi", "compare"]


def _reopen(at: AppTest, name: str) -> AppTest:
    """A fresh session opened with ``at``'s link, as a colleague opens a copied address."""
    again = _page(name, dict(at.query_params))
    assert not again.exception, f"{name}: the link {dict(at.query_params)} fails: {again.exception}"
    return again


@pytest.mark.parametrize("name", PAGES)
def test_no_button_key_is_a_setting(name):
    """Buttons are events, not settings: a restored button value is an error in Streamlit, so no button
    key may pass as a setting (the naming rule in pages/_state.py), and none may be in the link."""
    at = _app() if name == "home" else _page(name)
    assert not at.exception, at.exception
    keys = [b.key for b in at.button if b.key] + [b.proto.id for b in at.get("download_button")]
    offenders = [k for k in keys if state.setting_key(k) and not k.startswith("$$")]
    assert not offenders, f"{name}: button keys that would go into a link: {offenders}"
    assert not set(at.query_params) & set(keys)
    if name != "home":
        _reopen(at, name)


def test_distance_link_reopens_with_the_points_after_presets_twin_and_metric():
    """Was: StreamlitValueAssignmentNotAllowedError on distances_preset_*, and the points were lost."""
    at = _page("distances")
    at.button(key="distances_preset_learned").click().run()
    at.button(key="distances_twin").click().run()
    at.selectbox(key="distances_metric").set_value("euclidean").run()
    assert not at.exception, at.exception
    link = dict(at.query_params)
    assert not [k for k in link if "preset" in k], link
    points = state.decode(link["distances_points"])
    assert len(points) == 4 and points[3] == [points[0][0], points[0][1] + 1.5], points  # x0's twin is in it
    again = _reopen(at, "distances")
    assert again.selectbox(key="distances_metric").value == "euclidean"
    table = again.session_state["_distances_table"].to_numpy().tolist()
    assert table == points
    assert dict(again.query_params) == link, "the reopened page writes the same link"
    assert not again.warning, [w.value for w in again.warning]


def test_an_old_distance_link_with_button_values_still_opens():
    """Links written by the app before the fix carried distances_preset_*=false: they open now."""
    at = _page("distances", {"distances_preset_cosine": "false", "distances_preset_learned": "false",
                             "distances_metric": "cosine"})
    assert not at.exception, at.exception
    assert at.selectbox(key="distances_metric").value == "cosine"


def test_a_broken_points_value_in_a_link_is_a_message():
    at = _page("distances", {"distances_points": "[[1, 2], [3]]"})
    assert not at.exception, at.exception
    assert any("distances_points" in w.value for w in at.warning)


@pytest.mark.parametrize("name", ["distances", "triplet", "goad"])
def test_links_reopen_after_interaction(name):
    at = _page(name)
    if name == "distances":
        at.button(key="distances_preset_kl_divergence").click().run()
        at.button(key="distances_add").click().run()
    elif name == "triplet":
        at.selectbox(key="triplet_anchor").set_value(5).run()
        at.slider(key="triplet_margin").set_value(0.85).run()
    else:
        at.selectbox(key="goad_dataset").set_value("toy:moons").run()
    assert not at.exception, at.exception
    again = _reopen(at, name)
    assert dict(again.query_params) == dict(at.query_params)


# ----------------------------------------------------------------------------- presenter mode
def _page_links(at: AppTest) -> dict[str, str]:
    return {p.proto.label: p.proto.page for p in at.get("page_link")}


def test_presenter_mode_has_a_way_out_and_a_way_on():
    """Was: no control on screen, the sidebar gone, and the link kept present=true."""
    at = _app({"present": "true"})
    assert not at.exception, at.exception
    links = _page_links(at)
    assert links.get("Next: Distance axioms") == "distances"
    assert not [label for label in links if label.startswith("Previous")]  # Home is the first page
    from pages import _steps

    assert any(f"step 1 of {len(_steps.STEPS)}" in md.value for md in at.markdown)
    assert at.query_params["present"] == "true"
    # (AppTest drops the sidebar toggle's value on switch_page; the browser test walks every page with Next)
    at.button(key="present_leave").click().run()
    assert not at.exception, at.exception
    assert "present" not in at.query_params, "leaving presenter mode takes it out of the link"
    assert not [e for e in at.expander if e.label == "Settings"], "the settings are back on the page"
    assert not [k for k in _page_links(at) if k.startswith(("Next", "Previous"))]


def test_presenter_css_enlarges_tables_labels_and_expanders_and_keeps_the_sidebar_button():
    css = state.PRESENTER_CSS
    for selector in ('stWidgetLabel', 'stExpander', 'stDataFrame', 'stMetricValue', 'stCaptionContainer'):
        assert selector in css, selector
    assert 'header[data-testid="stHeader"] {display: none' not in css, "the header holds the sidebar's button"


def test_presenter_figures_fit_a_1280x720_screen():
    import plotly.graph_objects as go

    from adlab import viz

    pair = viz.umap_pair_figure(np.zeros((4, 2)), np.ones((4, 2)), np.array([0, 0, 1, 1], bool))
    big = state.scale_figure(pair)
    assert big.layout.font.size > pair.layout.font.size
    assert pair.layout.height < big.layout.height <= state.PRESENTER_MAX_HEIGHT <= 720 - 120
    tall = state.scale_figure(go.Figure(layout=dict(height=700)))
    assert tall.layout.height == 700  # never taller than it was, for figures already taller


def test_no_deploy_button():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] in ("viewer", "minimal")


def test_home_and_the_lecture_page_count_the_steps_right():
    from pages import _steps

    home = " ".join(m.value for m in _app().markdown)
    assert f"{len(_steps.STEPS)} steps, from this definition to the conclusion" in home
    lecture = AppTest.from_file(str(ROOT / "pages" / "lecture.py"), default_timeout=60).run()
    assert f"{len(_steps.STEPS)} steps in the talk's order, about {_steps.MINUTES} minutes" in \
        " ".join(m.value for m in lecture.markdown)


def test_the_conclusion_flags_the_slides_csi_wording():
    """The slide counts other normal samples as positives; CSI (and the CSI page) makes them negatives (the
    lesson to take home moved from Home to the conclusion, the path's last step)."""
    at = AppTest.from_file(str(ROOT / "pages" / "conclusion.py"), default_timeout=60).run()
    text = " ".join(m.value for m in at.markdown)
    assert "CSI itself" in text and "normal ones included" in text


def test_a_button_outside_the_naming_rule_still_stays_out_of_the_link(tmp_path):
    """The second guard: Streamlit's widget metadata marks button values as events, whatever their key."""
    script = tmp_path / "page.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'pages')!r})\n"
        "import streamlit as st\nimport _state as state\n"
        "st.button('go', key='demo_go')\nst.slider('level', 0, 5, 2, key='demo_level')\n"
        "st.json(sorted(state._trigger_keys()))\nstate.sync('demo')\n")
    at = AppTest.from_file(str(script), default_timeout=30).run()
    at.button(key="demo_go").click().run()
    assert not at.exception, at.exception
    assert state.setting_key("demo_go"), "the naming rule alone would let this key through"
    assert at.get("json")[0].proto.body == '["demo_go"]'
    assert dict(at.query_params) == {"demo_level": "2"}
