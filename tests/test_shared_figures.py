"""Figures built once per server for equal inputs (pages._page.SharedFigures), and a page's result
figures shared by the sessions attached to the same job."""

from __future__ import annotations

import gc
from pathlib import Path

from streamlit.testing.v1 import AppTest

from pages._page import SharedFigures

ROOT = Path(__file__).resolve().parents[1]


class _Result:
    """A stand-in for a job's result object (weak-referenceable, compared by identity)."""


def test_equal_keys_build_once_and_different_ones_apart():
    shared, calls = SharedFigures(size=8), []

    def build(tag):
        calls.append(tag)
        return {"figure": tag}

    first = shared.get(("roc", 1), lambda: build("a"))
    assert shared.get(("roc", 1), lambda: build("b")) is first
    assert shared.get(("roc", 2), lambda: build("c")) == {"figure": "c"}
    assert calls == ["a", "c"] and shared.built == 2


def test_an_owner_entry_is_found_only_for_that_owner_and_dropped_when_it_dies():
    shared = SharedFigures(size=8)
    one, two = _Result(), _Result()
    fig = shared.get("umap", lambda: ["one"], owner=one)
    assert shared.get("umap", lambda: ["again"], owner=one) is fig
    assert shared.get("umap", lambda: ["two"], owner=two) == ["two"]
    assert len(shared) == 2
    del one
    gc.collect()
    assert len(shared) == 1, "the dead owner's figure must leave the cache"


def test_the_least_recently_used_entry_leaves_first():
    shared = SharedFigures(size=2)
    shared.get("a", lambda: 1)
    shared.get("b", lambda: 2)
    shared.get("a", lambda: 0)  # a is used again: b is now the oldest
    shared.get("c", lambda: 3)
    assert shared.get("a", lambda: "rebuilt") == 1
    assert shared.get("b", lambda: "rebuilt") == "rebuilt"


def _trained(epochs: int = 1) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "simclr.py"), default_timeout=60).run()
    at.number_input(key="simclr_epochs").set_value(epochs)
    at.number_input(key="simclr_seed").set_value(4321)
    at.button(key="simclr_train").click().run(timeout=240)
    assert not at.exception, at.exception
    return at


def test_two_sessions_on_the_same_job_share_its_figures():
    first, second = _trained(), _trained()
    run1, run2 = first.session_state["simclr_run"]["run"], second.session_state["simclr_run"]["run"]
    assert run1 is run2, "the identical request attaches to the same job and gets the same result"
    figs1, figs2 = first.session_state["_figures"]["simclr"], second.session_state["_figures"]["simclr"]
    for key in ("simclr_umap", "simclr_loss_curve", "simclr_roc"):
        assert figs1[key] is figs2[key], f"{key} was built again for the second session"
    other = _trained(epochs=2)
    assert other.session_state["_figures"]["simclr"]["simclr_umap"] is not figs1["simclr_umap"]


def test_instant_views_with_the_same_settings_share_their_figures_across_sessions():
    def opened(tau: float) -> dict:
        at = AppTest.from_file(str(ROOT / "pages" / "simclr.py"), default_timeout=60).run()
        at.slider(key="simclr_tau").set_value(tau).run()
        assert not at.exception, at.exception
        return at.session_state["_figures"]["simclr"]

    one, two, other = opened(0.23), opened(0.23), opened(0.37)
    assert one["simclr_instant_fig"] is two["simclr_instant_fig"]
    assert one["simclr_instant_bars"] is two["simclr_instant_bars"]
    assert one["simclr_instant_fig"] is not other["simclr_instant_fig"], "another τ is another figure"
