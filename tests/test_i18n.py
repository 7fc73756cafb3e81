"""Korean and English: the catalogues (adlab.i18n), the session's language (pages/_i18n.py), the glossary page."""

import logging
import re
import types
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from adlab import i18n
from pages import _i18n as i18n_ui
from pages import _state as state

ROOT = Path(__file__).resolve().parents[1]
HANGUL = re.compile(r"[\uac00-\ud7a3]")


# ----------------------------------------------------------------------------- the catalogues
def test_the_catalogues_hold_the_same_texts_in_both_languages():
    assert i18n.check_catalogues() == []


def _write(folder: Path, en: str, ko: str) -> Path:
    (folder / "en.toml").write_text(en, encoding="utf-8")
    (folder / "ko.toml").write_text(ko, encoding="utf-8")
    return folder


def test_a_text_in_one_language_only_and_every_other_mismatch_are_reported(tmp_path):
    folder = _write(
        tmp_path,
        en='[a]\nboth = "fine {x}"\nenglish_only = "hello"\nfield = "epoch {epoch}"\nempty = "text"\n'
           'number = "text"\nlatex = "$x^{{2}}$"\n',
        ko='[a]\nboth = "좋음 {x}"\nkorean_only = "안녕"\nfield = "epoch {epoc}"\nempty = " "\n'
           'number = 3\nlatex = "$x^{2}$"\n',
    )
    problems = "\n".join(i18n.check_catalogues(folder))
    assert "'a.english_only' is only in en (missing from ko)" in problems
    assert "'a.korean_only' is only in ko (missing from en)" in problems
    assert "'a.field' has different fields: en ['epoch']; ko ['epoc']" in problems
    assert "'a.empty' is empty in ko" in problems
    assert "'a.number' in ko is a int, not a string" in problems
    assert "'a.latex' in ko: positional or unnamed field {2}" in problems
    assert "a.both" not in problems
    assert len(i18n.check_catalogues(folder)) == 6


def test_a_catalogue_that_cannot_be_read_is_reported(tmp_path):
    (tmp_path / "en.toml").write_text('a = "b"\n')
    (tmp_path / "ko.toml").write_text('a = "unterminated\n')
    [problem] = i18n.check_catalogues(tmp_path)
    assert problem.startswith("ko: cannot read the catalogue") and "ko.toml" in problem
    (tmp_path / "ko.toml").unlink()
    assert i18n.check_catalogues(tmp_path)[0].startswith("ko: cannot read the catalogue")


def test_text_fills_named_fields_and_names_what_is_missing():
    assert i18n.text("jobs.training_loss", "en", epoch=2, epochs=5, loss=0.123456) == \
        "training — epoch 2/5 · loss 0.1235"
    assert i18n.text("jobs.training_loss", "ko", epoch=2, epochs=5, loss=0.123456) == \
        "학습 중 — epoch 2/5 · loss 0.1235"
    assert i18n.text("presenter.next", "ko", title="거리 공리") == "다음: 거리 공리"
    with pytest.raises(KeyError, match=r"'jobs\.queued_place' \(en\) needs the field 'place'"):
        i18n.text("jobs.queued_place", "en")
    with pytest.raises(KeyError, match=r"no text 'nav\.nowhere' in the 'ko' catalogue"):
        i18n.text("nav.nowhere", "ko")
    with pytest.raises(ValueError, match=r"lang must be one of \('en', 'ko'\), got 'fr'"):
        i18n.text("nav.home", "fr")


def test_the_app_shows_english_for_a_missing_korean_text_and_logs_it(monkeypatch, caplog):
    """The app's policy (text_or_english); the catalogue test above is what keeps it from ever happening."""
    english = i18n.catalogue("en")
    planted = {"en": {**english, "demo.only_english": "only {n} in English"}, "ko": dict(i18n.catalogue("ko"))}
    monkeypatch.setattr(i18n, "catalogue", lambda lang, directory=i18n.DIRECTORY: planted[lang])
    with caplog.at_level(logging.WARNING, logger="adlab.i18n"):
        assert i18n.text_or_english("demo.only_english", "ko", n=1) == "only 1 in English"
    assert "'demo.only_english' is missing from the 'ko' catalogue" in caplog.text
    with pytest.raises(KeyError, match="demo.only_english"):
        i18n.text("demo.only_english", "ko", n=1)  # strict: tests and library code see it
    with pytest.raises(KeyError, match="no text 'demo.typo' in any catalogue"):
        i18n.text_or_english("demo.typo", "ko")


def test_the_catalogues_are_read_only():
    with pytest.raises(TypeError):
        i18n.catalogue("en")["nav.home"] = "changed"  # type: ignore[index]


def test_the_navigation_sidebar_presenter_and_job_texts_are_there():
    pages = ["home", "distances", "triplet", "npair", "supcon", "simclr", "why_contrastive", "deep_svdd", "goad",
             "droc", "csi", "shift", "runs_out", "compare", "glossary", "lecture"]
    keys = [*(f"nav.{p}" for p in pages), "sidebar.device", "sidebar.device_help", "sidebar.present",
            "sidebar.present_help", "sidebar.computing_on", "presenter.previous", "presenter.next", "presenter.leave",
            "presenter.step", "jobs.queued_place", "jobs.training_loss", "jobs.phase.projecting", "jobs.phase.scoring",
            "jobs.shared_many", "jobs.cancel", "jobs.retry", "jobs.cancelled", "jobs.failed"]
    assert [k for k in keys if k not in i18n.catalogue("en")] == []
    assert i18n.text("nav.why_contrastive", "en") == "Why contrastive features help"
    assert i18n.text("presenter.step", "en", k=3, n=12) == "step 3 of 12"


# ----------------------------------------------------------------------------- the glossary's entries
REQUIRED_TERMS = (
    "anchor", "positive", "negative", "margin", "temperature", "feature_space", "embedding", "normal", "anomaly",
    "anomaly_score", "auroc", "one_class_classification", "transformation", "augmentation", "distribution_shift",
    "shifted_instance", "hypersphere", "centre", "triplet_loss", "npair_loss", "supervised_contrastive",
    "instance_discrimination", "projection_head", "encoder", "knn", "label_noise", "linear_probe", "pre_training",
    "metric_axioms", "non_negativity", "identity_of_indiscernibles", "symmetry", "triangle_inequality",
)


def test_every_glossary_term_has_a_name_and_a_meaning_in_both_languages():
    terms = i18n.children("terms")
    assert len(terms) >= 30 and not set(REQUIRED_TERMS) - set(terms)
    for term in terms:
        for lang in i18n.LANGUAGES:
            assert i18n.text(f"terms.{term}.name", lang).strip(), (term, lang)
            assert i18n.text(f"terms.{term}.meaning", lang).strip(), (term, lang)
        assert HANGUL.search(i18n.text(f"terms.{term}.meaning", "ko")), f"{term}: the Korean meaning is not Korean"
    assert not [k for k in i18n.catalogue("en") if k.startswith("terms.") and k.rsplit(".", 1)[1] not in
                ("name", "meaning")]


def test_the_korean_texts_use_the_seminars_terms():
    korean = " ".join(i18n.catalogue("ko").values())
    for word in ("학습 전", "학습 후", "정상", "이상 탐지", "거리 공리", "대조 학습", "중심점", "유사도", "사전학습",
                 "Anchor", "positive sample", "negative sample", "Feature space", "augmentation"):
        assert word in korean, word


# ----------------------------------------------------------------------------- the session's language
@pytest.mark.parametrize(("locale", "expected"), [("ko-KR", "ko"), ("ko", "ko"), ("KO-kr", "ko"), ("en-US", "en"),
                                                  ("de-DE", "en"), ("", "en"), (None, "en")])
def test_the_browsers_language_decides_without_a_link(locale, expected):
    assert i18n.language_of(locale) == expected


def test_the_browser_language_is_read_from_streamlits_locale(monkeypatch):
    monkeypatch.setattr(st, "context", types.SimpleNamespace(locale="ko-KR"))
    assert i18n_ui.browser_language() == "ko"
    monkeypatch.setattr(st, "context", types.SimpleNamespace(locale=None))
    assert i18n_ui.browser_language() == "en"


def _switch_app(tmp_path: Path, params: dict[str, str] | None = None, locale: str | None = None) -> AppTest:
    """The switch on its own, as app.py draws it: the link's app-wide settings, then the sidebar."""
    script = tmp_path / "switch.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'pages')!r})\n"
        "import streamlit as st\nimport _i18n\nimport _state as state\n"
        "state.restore('_app')\nwith st.sidebar:\n    _i18n.language_switch()\n"
        "st.title(_i18n.t('glossary.title'))\n")
    at = AppTest.from_file(str(script), default_timeout=30)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    if locale is not None:
        at.context = {"locale": locale}
    return at.run()


def test_the_switch_starts_in_the_browsers_language_and_switches(tmp_path):
    at = _switch_app(tmp_path, locale="ko-KR")
    assert not at.exception, at.exception
    switch = at.segmented_control(key="lang")
    assert (switch.label, switch.value, switch.options) == ("언어", "ko", ["한국어", "English"])
    assert at.title[0].value == "용어집"
    switch.set_value("en").run()
    assert at.title[0].value == "Glossary" and at.segmented_control(key="lang").label == "Language"
    assert at.session_state["lang"] == "en"
    assert _switch_app(tmp_path, locale="en-US").title[0].value == "Glossary"
    assert _switch_app(tmp_path).title[0].value == "Glossary"  # a client that sends no locale


def test_the_links_language_wins_over_the_browsers_and_a_bad_one_is_named(tmp_path):
    at = _switch_app(tmp_path, {"lang": "en"}, locale="ko-KR")
    assert at.title[0].value == "Glossary" and at.segmented_control(key="lang").value == "en"
    at = _switch_app(tmp_path, {"lang": "fr"}, locale="ko-KR")
    assert not at.exception, at.exception
    assert at.title[0].value == "용어집"
    assert [w.value for w in at.warning] == ["링크가 요청한 언어(lang=fr)는 이 앱에 없어서 한국어로 보여 줍니다."]


# ----------------------------------------------------------------------------- the glossary page
def _glossary(lang: str | None = None, params: dict[str, str] | None = None, locale: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "glossary.py"), default_timeout=60)
    if lang is not None:
        at.session_state["lang"] = lang
    for key, value in (params or {}).items():
        at.query_params[key] = value
    if locale is not None:
        at.context = {"locale": locale}
    return at.run()


def test_the_glossary_in_korean():
    at = _glossary("ko")
    assert not at.exception, at.exception
    assert at.title[0].value == "용어집"
    table = at.table[0].value
    assert list(table.columns) == ["한국어", "English", "뜻"]
    anchor = table[table["English"] == "Anchor"].iloc[0]
    assert anchor["한국어"] == "앵커" and anchor["뜻"].startswith("기준이 되는 sample")
    assert at.caption[0].value == f"용어 {len(table)}개 중 {len(table)}개"
    at.text_input(key="glossary_filter").input("margin").run()
    table = at.table[0].value
    assert "마진" in set(table["한국어"]) and len(table) < len(i18n.children("terms"))
    assert at.query_params["glossary_filter"] == "margin", "the filter is in the link"


def test_the_glossary_in_english_and_its_filter():
    at = _glossary("en")
    assert not at.exception, at.exception
    assert at.title[0].value == "Glossary"
    assert list(at.table[0].value.columns) == ["English", "한국어", "Meaning"]
    at.text_input(key="glossary_filter").input("중심점").run()  # a Korean word finds the English term
    assert "Centre" in set(at.table[0].value["English"])
    at.text_input(key="glossary_filter").input("no such term").run()
    assert not at.table and at.info[0].value == "No term contains “no such term”."


def test_the_glossary_follows_the_browser_without_a_choice():
    assert _glossary(locale="ko-KR").title[0].value == "용어집"
    assert _glossary(locale="en-GB").title[0].value == "Glossary"


@pytest.mark.skipif("lang" not in state.GLOBAL_KEYS,
                    reason="pages/_state.py does not keep `lang` in links yet (GLOBAL_KEYS)")
def test_a_link_with_lang_opens_the_glossary_in_that_language_and_keeps_it():
    at = _glossary(params={"lang": "ko"}, locale="en-US")
    assert at.title[0].value == "용어집"
    assert at.query_params["lang"] == "ko", "the address bar keeps the language"
    at = _glossary(params={"lang": "en", "glossary_filter": "anchor"}, locale="ko-KR")
    assert at.title[0].value == "Glossary" and "Anchor" in set(at.table[0].value["English"])


@pytest.mark.skipif("language_switch" not in (ROOT / "app.py").read_text(),
                    reason="app.py does not draw the language switch yet")
def test_the_app_puts_the_language_into_the_link():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.context = {"locale": "ko-KR"}
    at.run()
    assert not at.exception, at.exception
    assert at.query_params["lang"] == "ko"
    at.segmented_control(key="lang").set_value("en").run()
    assert at.query_params["lang"] == "en"


def test_a_data_error_raised_in_a_worker_is_said_in_the_sessions_language():
    """A job's DataError crosses a process boundary as JobFailed: its catalogue key and fields go with it."""
    import pickle

    from adlab.data import DataError
    from adlab.jobs.errors import JobFailed

    err = DataError.say("upload.error.empty", name="x.csv")
    failed = pickle.loads(pickle.dumps(JobFailed.of(err, str(err))))
    assert str(failed) == str(err) and failed.text_key == "upload.error.empty"
    assert i18n.message(failed, "ko") == i18n.text("upload.error.empty", "ko", name="x.csv")
    assert i18n.message(failed, "en") == str(err)
    plain = pickle.loads(pickle.dumps(JobFailed.of(ValueError("lr must be > 0"), "lr must be > 0")))
    assert plain.text_key is None and i18n.message(plain, "ko") == "lr must be > 0"


def test_korean_markdown_emphasis_closes_before_a_hangul_particle():
    """CommonMark does not close ``**`` or ``*`` after punctuation when a letter follows at once, so
    ``**cpu (1 thread)**에서`` showed its asterisks. No Korean text may put a closing delimiter between
    punctuation (or a field, which may end in punctuation) and Hangul."""
    closing = re.compile(r"(?<=[^\s*])([)\]\.!?'\"”’:;,…%}`$°])(\*{1,2})(?=[\uac00-\ud7a3])")
    safe_fields = re.compile(r"\{[a-z_]+:[^}]*[df]\}\*{1,2}[\uac00-\ud7a3]")  # a formatted number ends in a digit
    bad = [key for key, value in i18n.catalogue("ko").items()
           for m in closing.finditer(value)
           if not safe_fields.match(value, value.rfind("{", 0, m.end()) if m.group(1) == "}" else m.start())]
    assert bad == []
