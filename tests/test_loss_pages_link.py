"""Loss pages: the instant views' settings reach the link as the sliders move, and the training form
starts from the instant view's knobs (a link that sets both restores both; a difference is shown)."""

import functools
from pathlib import Path
from unittest import mock

import pytest
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
from streamlit.testing.v1 import AppTest, local_script_runner

from pages import _state as state

ROOT = Path(__file__).resolve().parents[1]
# page -> (instant slider key, training-form key of the same knob, a value other than the default)
KNOBS = {
    "triplet": ("triplet_margin", "triplet_train_margin", 0.85),
    "npair": ("npair_norm", None, 3.5),
    "supcon": ("supcon_tau", "supcon_train_tau", 0.45),
    "simclr": ("simclr_tau", "simclr_train_tau", 0.15),
}


def _page(name: str, params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=60)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    return at.run()


def _fragment_rerun(at: AppTest) -> AppTest:
    """Rerun only the page's instant-view fragment, as the browser does when one of its widgets moves.

    ``AppTest.run`` always reruns the whole script (which writes the URL at its start anyway), so the
    rerun request is given the fragment's id here. Private API: the fragment ids AppTest keeps.
    """
    (fragment_id,) = list(at._fragment_storage._fragments)  # a loss page has one fragment, its instant view
    scoped = functools.partial(RerunData, fragment_id_queue=[fragment_id])
    with mock.patch.object(local_script_runner, "RerunData", scoped):
        return at.run()


def _link_value(at: AppTest, key: str):
    return state.decode(at.query_params[key])


@pytest.mark.parametrize("page", list(KNOBS))
def test_moving_an_instant_slider_updates_the_link(page):
    key, _, value = KNOBS[page]
    at = _page(page)
    assert not at.exception, at.exception
    at.slider(key=key).set_value(value)
    at = _fragment_rerun(at)
    assert not at.exception, at.exception
    assert at.get("plotly_chart"), "the fragment redrew its figure"
    assert _link_value(at, key) == pytest.approx(value), "the fragment's own rerun must write the URL"


def test_full_rerun_also_writes_the_link():
    at = _page("triplet")
    at.slider(key="triplet_margin").set_value(0.85).run()
    assert at.query_params["triplet_margin"] == "0.85"


@pytest.mark.parametrize("page", [p for p, (_, train, _) in KNOBS.items() if train])
def test_training_form_starts_from_the_instant_value(page):
    key, train, value = KNOBS[page]
    at = _page(page, {key: str(value)})
    assert not at.exception, at.exception
    assert at.slider(key=key).value == pytest.approx(value)
    assert at.number_input(key=train).value == pytest.approx(value)
    assert not at.warning, [w.value for w in at.warning]
    assert _link_value(at, train) == pytest.approx(value)


def test_npair_form_starts_from_the_instant_penalty_and_normalisation():
    at = _page("npair", {"npair_l2_instant": "0.05", "npair_normalize_instant": "true"})
    assert not at.exception, at.exception
    assert at.select_slider(key="npair_l2").value == pytest.approx(0.05)
    assert at.checkbox(key="npair_normalize").value is True


def test_a_link_that_sets_both_restores_both_and_says_they_differ():
    at = _page("triplet", {"triplet_margin": "0.6", "triplet_train_margin": "0.3"})
    assert not at.exception, at.exception
    assert at.slider(key="triplet_margin").value == pytest.approx(0.6)
    assert at.number_input(key="triplet_train_margin").value == pytest.approx(0.3)
    assert not at.warning, [w.value for w in at.warning]  # both values were usable
    notes = " ".join(i.value for i in at.info)
    assert "m = 0.3" in notes and "m = 0.6" in notes, notes
    assert _link_value(at, "triplet_margin") == pytest.approx(0.6)
    assert _link_value(at, "triplet_train_margin") == pytest.approx(0.3)


def test_moved_slider_is_flagged_and_one_click_copies_it_into_the_form():
    at = _page("supcon")
    assert not at.warning
    assert any("uses the same" in c.value for c in at.caption)
    at.slider(key="supcon_tau").set_value(0.45)
    at = _fragment_rerun(at)
    notes = " ".join(i.value for i in at.info)
    assert "τ = 0.1" in notes and "τ = 0.45" in notes, notes
    at.button(key="_supcon_copy_to_form").click().run()
    assert not at.exception, at.exception
    assert at.number_input(key="supcon_train_tau").value == pytest.approx(0.45)
    assert not [i for i in at.info if "training form below uses" in i.value]
    assert "_supcon_copy_to_form" not in at.query_params  # a button never goes into the link
    assert _link_value(at, "supcon_train_tau") == pytest.approx(0.45)
