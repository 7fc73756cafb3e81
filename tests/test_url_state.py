"""Shareable state: a page's settings go into the URL, and a copied link restores them and the numbers."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages import _state as state

ROOT = Path(__file__).resolve().parents[1]


def _page(name: str, params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=60)
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
    assert big["height"] > plain["height"]
