"""The loss pages' "As on the slide" switches (issue 12): the slide's formula beside the paper's, both
losses on the instant view's batch equal to adlab's values, the switch in the link."""

import functools
from pathlib import Path
from unittest import mock

import pytest
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
from streamlit.testing.v1 import AppTest, local_script_runner

from adlab import instant
from adlab.losses import SimCLRConfig, SupConConfig, TripletConfig

ROOT = Path(__file__).resolve().parents[1]
# page -> a piece of the slide's formula as the slide writes it
SLIDE_TEX = {
    "triplet": r"\|f(x) - f(x_{neg})\|^2 - s, 0)",
    "supcon": r"\exp(f(x)f(x_{pos}^i)/\tau) + \sum_j \exp(f(x)f(x_{neg}^j)/\tau)",
    "simclr": r"{\sum_i \exp(f(x_{pos}^1)f(x_{neg}^i)/\tau)}",
}
SLIDE_METRICS = ["Paper's batch loss", "Paper's anchor loss", "Slide's batch loss", "Slide's anchor loss"]


def _page(name: str, params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=60)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    return at.run()


def _fragment_rerun(at: AppTest) -> AppTest:
    """Rerun only the instant-view fragment, as the browser does when one of its widgets changes
    (as in tests/test_loss_pages_link.py; private API: the fragment ids AppTest keeps)."""
    (fragment_id,) = list(at._fragment_storage._fragments)
    scoped = functools.partial(RerunData, fragment_id_queue=[fragment_id])
    with mock.patch.object(local_script_runner, "RerunData", scoped):
        return at.run()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _library_view(at: AppTest, page: str) -> instant.InstantView:
    """adlab's instant view for the settings the page's widgets hold now."""
    if page == "triplet":
        anchor = at.selectbox(key="triplet_anchor").value
        cfg = TripletConfig(margin=at.slider(key="triplet_margin").value,
                            distance="squared_euclidean" if at.toggle(key="triplet_squared_instant").value
                            else "euclidean")
        positive = at.selectbox(key=f"triplet_positive_{anchor}").value
        return instant.view("triplet", instant.class_batch(), anchor, cfg, positive=positive, slide=True)
    if page == "supcon":
        cfg = SupConConfig(temperature=at.slider(key="supcon_tau").value,
                           variant=at.radio(key="supcon_variant_instant").value)
        return instant.view("supcon", instant.class_batch(), at.selectbox(key="supcon_anchor").value, cfg, slide=True)
    cfg = SimCLRConfig(temperature=at.slider(key="simclr_tau").value,
                       decoupled=at.toggle(key="simclr_decoupled_instant").value)
    return instant.view("simclr", instant.view_batch(), at.selectbox(key="simclr_anchor").value, cfg, slide=True)


def _shown_match_the_library(at: AppTest, page: str) -> instant.InstantView:
    view = _library_view(at, page)
    shown = _metrics(at)
    assert shown["Paper's batch loss"] == f"{view.loss:.4f}"
    assert shown["Paper's anchor loss"] == f"{view.anchor_loss:.4f}"
    assert shown["Slide's batch loss"] == f"{view.slide_loss:.4f}"
    assert shown["Slide's anchor loss"] == f"{view.slide_anchor_loss:.4f}"
    return view


@pytest.mark.parametrize("page", list(SLIDE_TEX))
def test_switch_shows_the_slides_formula_and_both_losses(page):
    at = _page(page)
    assert not at.exception, at.exception
    key = f"{page}_slide"
    assert at.toggle(key=key).value is False
    assert not set(SLIDE_METRICS) & set(_metrics(at)), "off: the page shows the paper's loss only"
    assert not any(SLIDE_TEX[page] in tex.value for tex in at.latex)

    at.toggle(key=key).set_value(True)
    at = _fragment_rerun(at)
    assert not at.exception, at.exception
    assert any(SLIDE_TEX[page] in tex.value for tex in at.latex), "the slide's formula, as the slide writes it"
    assert any("**The seminar slide**" == md.value for md in at.markdown)
    view = _shown_match_the_library(at, page)
    shown = _metrics(at)
    assert shown["Slide's batch loss"] != shown["Paper's batch loss"]
    assert shown["Slide's anchor loss"] != shown["Paper's anchor loss"]
    delta = next(m.proto.delta for m in at.metric if m.label == "Slide's batch loss")
    assert delta == f"{view.slide_loss - view.loss:+.4f} vs paper"
    assert at.query_params[key] == "true", "the fragment's own rerun writes the switch into the link"
    if page == "simclr":
        assert "InfoNCE" in " ".join(c.value for c in at.caption)

    again = _page(page, dict(at.query_params))
    assert not again.exception, again.exception
    assert again.toggle(key=key).value is True, "a link with the switch on reopens with it on"
    assert not again.warning, [w.value for w in again.warning]
    assert _metrics(again)["Slide's batch loss"] == shown["Slide's batch loss"]


def test_triplet_slide_follows_the_margin_and_agrees_at_zero():
    at = _page("triplet", {"triplet_slide": "true", "triplet_margin": "0.5", "triplet_anchor": "4"})
    assert not at.exception, at.exception
    _shown_match_the_library(at, "triplet")
    at.slider(key="triplet_margin").set_value(0.0)
    at = _fragment_rerun(at)
    view = _shown_match_the_library(at, "triplet")
    assert view.slide_loss == pytest.approx(view.loss, abs=1e-12)  # "- s" and "+ m" agree at 0
    shown = _metrics(at)
    assert shown["Slide's batch loss"] == shown["Paper's batch loss"]
    assert shown["Slide's anchor loss"] == shown["Paper's anchor loss"]


def test_supcon_slide_is_the_same_loss_under_either_variant():
    at = _page("supcon", {"supcon_slide": "true", "supcon_tau": "0.3"})
    assert not at.exception, at.exception
    out = _shown_match_the_library(at, "supcon")
    at.radio(key="supcon_variant_instant").set_value("in")
    at = _fragment_rerun(at)
    inside = _shown_match_the_library(at, "supcon")
    assert inside.loss != pytest.approx(out.loss) and inside.slide_loss == out.slide_loss
    assert any(tex.value.lstrip("$\n").startswith(r"\mathcal{L}_{\text{in}}") for tex in at.latex), "the paper's side: L_in"


def test_simclr_slide_is_the_decoupled_loss():
    at = _page("simclr", {"simclr_slide": "true", "simclr_decoupled_instant": "true", "simclr_anchor": "7"})
    assert not at.exception, at.exception
    view = _shown_match_the_library(at, "simclr")
    assert view.slide_loss == pytest.approx(view.loss, rel=1e-12)
    shown = _metrics(at)
    assert shown["Slide's batch loss"] == shown["Paper's batch loss"]
    assert shown["Slide's anchor loss"] == shown["Paper's anchor loss"]
    assert "**The paper (DCL)**" in [md.value for md in at.markdown]
