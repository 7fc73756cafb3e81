"""The lecture path (pages/_steps.py), its own steps (Home, roles, why anomaly detection is hard), the
Lecture page, and presenter mode's "step k of n" with Previous / Next."""

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from adlab import i18n
from adlab.lessons import ad_hard, roles
from pages import _steps

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
SEMINAR = ["definition", "axioms", "roles", "triplet", "npair", "supcon", "simclr", "why_contrastive", "ad_hard",
           "deep_svdd", "goad", "droc", "csi", "csi_shift", "conclusion"]


def _page(name: str, params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=120)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    return at.run()


# ----------------------------------------------------------------------------- the path
def test_the_path_follows_the_seminar_and_fills_45_minutes():
    assert [step.topic for step in _steps.STEPS] == SEMINAR
    assert _steps.MINUTES == 45
    for step in _steps.STEPS:
        assert (ROOT / "pages" / step.page).is_file(), step
        for lang in i18n.LANGUAGES:
            assert i18n.text(f"lecture.topic.{step.topic}", lang) and i18n.text(f"lecture.point.{step.topic}", lang)
            assert i18n.text(f"nav.{step.nav}", lang)
    assert _steps.index_of("") == 0 and _steps.index_of("conclusion") == len(SEMINAR) - 1
    assert _steps.index_of("glossary") is None and _steps.index_of("compare") is None


def test_the_app_lists_the_path_in_its_order():
    text = (ROOT / "app.py").read_text()
    assert "lecture.STEPS" in text and "ORDER = list(STEP_PAGES.values())" in text
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception


def test_a_step_link_carries_its_preset_the_language_and_presenter_mode():
    triplet = _steps.STEPS[SEMINAR.index("triplet")]
    assert _steps.link(triplet, "http://room:8501/", lang="ko", present=True) == \
        "http://room:8501/triplet?triplet_slide=true&lang=ko&present=true"
    assert _steps.link(_steps.STEPS[0]) == "/"


@pytest.mark.parametrize("step", [s for s in _steps.STEPS if s.preset], ids=lambda s: s.topic)
def test_every_preset_opens_its_page_with_those_settings_and_no_warning(step):
    at = _page(step.page, {k: v for k, v in _steps.query(step).items()})
    assert not at.exception
    for key, value in step.preset.items():
        assert at.session_state[key] == value, key
        assert json.loads(at.query_params[key]) if not isinstance(value, str) else at.query_params[key] == value
    assert not [w.value for w in at.warning if "link" in w.value], "the preset is a setting the page can use"


def _presenter(path: str, lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["present"] = "true"
    at.query_params["lang"] = lang
    at.run()
    if path:
        at.switch_page(f"pages/{_steps.STEPS[_steps.index_of(path)].page}").run()
    return at


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_presenter_mode_says_step_k_of_n_and_links_the_neighbours_with_their_presets(lang):
    at = _presenter("npair", lang)
    assert not at.exception
    n = len(_steps.STEPS)
    k = _steps.index_of("npair") + 1
    bar = " ".join(m.value for m in at.markdown)
    assert i18n.text("presenter.step", lang, k=k, n=n) in bar
    assert i18n.text("lecture.topic.npair", lang) in bar
    links = {link.proto.label: link.proto for link in at.get("page_link")}
    previous = next(p for label, p in links.items() if label.startswith(i18n.text("presenter.previous", lang, title="")))
    following = next(p for label, p in links.items() if label.startswith(i18n.text("presenter.next", lang, title="")))
    assert i18n.text("nav.triplet", lang) in previous.label and "triplet_slide=true" in previous.query_string
    assert i18n.text("nav.supcon", lang) in following.label and "supcon_slide=true" in following.query_string


def test_the_first_step_has_no_previous_and_the_last_no_next():
    first, last = _presenter(""), _presenter("conclusion")
    labels = lambda at: [link.proto.label for link in at.get("page_link")]  # noqa: E731
    assert not [label for label in labels(first) if label.startswith("Previous:")]
    assert [label for label in labels(first) if label.startswith("Next:")]
    assert not [label for label in labels(last) if label.startswith("Next:")]
    assert "step 15 of 15" in " ".join(m.value for m in last.markdown)


# ----------------------------------------------------------------------------- the lecture's own steps
def test_roles_by_class_and_by_augmentation():
    batch = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    labels = np.array([0, 0, 1, 1])
    by_class = roles.roles(batch, labels, 0, "class")
    assert list(by_class.role) == ["anchor", "positive", "negative", "negative"]
    by_view = roles.roles(batch, labels, 1, "instance", seed=3)
    assert by_view.points.shape == (8, 2) and np.allclose(np.linalg.norm(by_view.points, axis=1), 1.0)
    assert by_view.role[1] == "anchor" and by_view.role[5] == "positive" and by_view.count("negative") == 6
    assert by_view.count("positive") == 1 and (by_view.labels[by_view.role == "negative"] == 0).sum() == 2
    with pytest.raises(ValueError, match="mode"):
        roles.roles(batch, labels, 0, "views")


def test_the_roles_page_counts_and_names_same_class_negatives():
    at = _page("roles.py")
    assert not at.exception
    assert "**3** positives · **8** negatives" in " ".join(m.value for m in at.markdown)
    at.radio(key="roles_mode").set_value("instance").run()
    assert "**1** positives · **22** negatives" in " ".join(m.value for m in at.markdown)
    assert any("6 of the negatives belong to the anchor's own class" in i.value for i in at.info)
    assert at.query_params["roles_mode"] == "instance"


def test_a_supervised_model_misses_the_unseen_kind_and_the_one_class_score_does_not():
    result = ad_hard.run(ad_hard.HardConfig(share=0.02, seed=0))
    assert result.auroc[("supervised", "seen")] > 0.95 and result.auroc[("one_class", "seen")] > 0.95
    assert result.auroc[("supervised", "unseen")] < 0.2 < 0.95 < result.auroc[("one_class", "unseen")]
    assert ad_hard.run(ad_hard.HardConfig(share=0.02, seed=0)).auroc == result.auroc, "seeded"
    with pytest.raises(ValueError, match="share"):
        ad_hard.HardConfig(share=0.6)


def test_the_ad_hard_page_shows_both_scores_and_a_verdict_from_them():
    at = _page("ad_hard.py")
    assert not at.exception and len(at.metric) == 4
    assert any("on the unseen kind" in s.value for s in at.success)
    at.select_slider(key="ad_hard_share").set_value(0.1).run()
    assert not at.exception and at.query_params["ad_hard_share"] == "0.1"


def test_the_lecture_page_lists_a_link_per_step_in_the_chosen_language():
    at = _page("lecture.py", {"lang": "ko"})
    assert not at.exception
    frame = at.dataframe[0].value
    assert len(frame) == len(_steps.STEPS)
    links = list(frame[i18n.text("lecture.page.link", "ko")])
    assert all("lang=ko" in link and "present=true" in link for link in links)
    assert "triplet_slide=true" in links[SEMINAR.index("triplet")]
    assert len(at.code) == len(_steps.STEPS)
    at.segmented_control(key="lecture_links").set_value("en").run()
    assert all("lang=en" in link for link in at.dataframe[0].value[i18n.text("lecture.page.link", "ko")])


@pytest.mark.parametrize(("page", "button"), [("pages/lecture.py", "lecture_btn_start"), ("", "home_btn_start")])
def test_start_the_lecture_opens_step_one_in_presenter_mode(page, button):
    """Was: the button changed presenter mode after the sidebar's toggle was drawn (an exception)."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = "ko"
    at.run()
    if page:
        at.switch_page(page).run()
    at.button(key=button).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["present"] is True
    assert at.query_params["present"] == "true"
    if not page:  # (AppTest does not follow a switch_page from another page; the browser test does)
        bar = " ".join(m.value for m in at.markdown)
        assert i18n.text("presenter.step", "ko", k=1, n=len(_steps.STEPS)) in bar
