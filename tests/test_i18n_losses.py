"""The loss pages (triplet, N-pair, SupCon, SimCLR) in Korean and English (issue 13).

Each page is opened in Korean with its "As on the slide" switch on and the training form set apart from the
instant view (so the note and the copy button show), trained for one epoch, and read whole: the instant view,
the formulas' explanations, the form, the results and the per-anchor explorer, figures and hover texts
included. The same run in English keeps the English texts word for word; a setting survives switching
the language, option labels included (their values are codes, their labels the catalogue's).
"""

from __future__ import annotations

import json
from pathlib import Path

import i18n_probe
import pytest
import torch
from streamlit.testing.v1 import AppTest

from adlab import i18n, registry
from adlab.losses._checks import user_error
from pages import _instant

ROOT = Path(__file__).resolve().parents[1]
# page -> link settings that switch on what the instant view can show: the slide's formula, a training form
# that differs from the view (its note and copy button), N-pair's normalised view
SETTINGS = {
    "triplet": {"triplet_slide": "true", "triplet_margin": "0.6", "triplet_train_margin": "0.3"},
    "npair": {"npair_normalize_instant": "true", "npair_l2_instant": "0.05"},
    "supcon": {"supcon_slide": "true", "supcon_variant_instant": "in", "supcon_tau": "0.3"},
    "simclr": {"simclr_slide": "true", "simclr_decoupled_instant": "true"},
}
# page -> texts each language must show (from the instant view, the switch and the explorer)
SHOWN = {
    "en": {"triplet": ["Triplet loss (FaceNet)", "Move the margin: which triplets still teach?", "Mining"],
           "npair": ["N-pair loss", "Normalise (cosine version)", "Penalty λ"],
           "supcon": ["Supervised contrastive loss (SupCon)", "Variant", "Positives", "by augmentation"],
           "simclr": ["SimCLR and the NT-Xent loss", "Decoupled (DCL)", "**The paper (DCL)**"]},
    "ko": {"triplet": ["Margin을 움직여 보기: 어떤 triplet이 아직 학습에 기여하나?", "Mining 방식",
                       "batch-hard (anchor마다 가장 어려운 것)"],
           "npair": ["Embedding 늘이기: 길이가 temperature처럼 작용합니다", "정규화 (cosine 버전)", "벌점 λ"],
           "supcon": ["변형", "Positive 기준", "augmentation으로", "L_in (log 안 평균)"],
           "simclr": ["SimCLR와 NT-Xent loss", "Decoupled (DCL, 분모에서 positive 제외)", "**논문 (DCL)**"]},
}
EXPLORER = {"en": "Per-anchor explorer", "ko": "Anchor별 살펴보기"}
HOVER = {"en": "grad weight", "ko": "gradient 가중치"}  # in the instant figure's hover text


def _page(name: str, lang: str, params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=120)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.query_params["lang"] = lang
    return at.run()


def _hover_texts(at: AppTest) -> list[str]:
    return [str(text) for chart in at.get("plotly_chart") for trace in json.loads(chart.proto.spec)["data"]
            for text in (trace.get("hovertext") or [])]


def _trained(name: str, lang: str) -> AppTest:
    at = _page(name, lang, SETTINGS[name])
    assert not at.exception, [e.value for e in at.exception]
    at.number_input(key=f"{name}_epochs").set_value(1)
    at.button(key=f"{name}_train").click().run(timeout=240)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert f"{name}_run" in at.session_state
    return at


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("name", list(SETTINGS))
def test_a_trained_loss_page_speaks_one_language(name, lang):
    at = _trained(name, lang)
    texts = i18n_probe.texts(at)
    for text in [*SHOWN[lang][name], EXPLORER[lang]]:
        assert text in texts, f"{text!r} is not on the {lang} {name} page"
    assert any(HOVER[lang] in text for text in _hover_texts(at)), "the instant figure's hover speaks the language"
    assert at.dataframe, "the per-anchor explorer shows its table"
    if name != "npair":  # the slide's switch is on: both losses, the slide's formula and its note
        assert i18n.text("losses.slide_batch_loss", lang) in [m.label for m in at.metric]
        assert f"**{i18n.text('losses.seminar_slide', lang)}**" in [md.value for md in at.markdown]
    if lang == "ko":
        left = i18n_probe.english_left(at)
        assert not left, f"{len(left)} English texts on the Korean {name} page:\n" + "\n".join(map(repr, left[:40]))
    else:
        assert not i18n_probe.hangul_left(at), i18n_probe.hangul_left(at)


def test_the_training_forms_note_and_button_follow_the_language():
    at = _page("triplet", "ko", {"triplet_margin": "0.6", "triplet_train_margin": "0.3", "triplet_squared": "false"})
    assert not at.exception, [e.value for e in at.exception]
    note = "아래 학습 설정은 m = 0.3, 제곱 거리 = 꺼짐 값을 쓰고, 이 보기는 m = 0.6, 제곱 거리 = 켜짐 값을 보여 줍니다."
    assert note in [i.value for i in at.info]
    assert at.button(key="_triplet_copy_to_form").label == "학습 설정에 이 보기의 m 및 제곱 거리 값 사용"
    at.button(key="_triplet_copy_to_form").click().run()
    assert at.number_input(key="triplet_train_margin").value == pytest.approx(0.6)
    assert at.checkbox(key="triplet_squared").value is True
    assert "아래 학습 설정도 같은 m 및 제곱 거리 값을 씁니다." in [c.value for c in at.caption]


def test_an_explorer_note_and_a_loss_error_are_said_in_the_language():
    assert _instant.said(_instant.NOTES, "no positive: skipped by the loss", "ko") == "positive 없음: loss에서 건너뜀"
    assert _instant.said(_instant.SHARE_NAMES, "share of the denominator", "ko") == "분모에서의 비중"
    assert _instant.said(_instant.VALUE_NAMES, "a·p", "en") == "a·p"
    assert _instant.said(_instant.NOTES, "a note of a loss registered elsewhere", "ko") == \
        "a note of a loss registered elsewhere"
    with pytest.raises(ValueError, match="N-pair needs at least two normal classes") as err:  # the CLI's English
        next(registry.loss("npair")._class_batches(torch.zeros(8, dtype=torch.long), 8, torch.Generator()))  # one class
    assert i18n.message(err.value, "ko").startswith("N-pair에는 sample이 두 개 이상인 정상 class가")
    assert i18n.message(user_error("x", "losses.error.npair_pool"), "en") == (
        "N-pair needs the anchor's class and one more class with two points each in the pool")


def test_a_setting_survives_switching_the_language():
    at = _page("supcon", "en", {"supcon_positives": "false"})  # a form's field takes a value on Train, or by link
    assert at.radio(key="supcon_positives").value is False
    at.radio(key="supcon_variant_instant").set_value("in")
    at.slider(key="supcon_tau").set_value(0.3)
    at.selectbox(key="supcon_anchor").set_value(5)
    at.run()
    assert at.radio(key="supcon_variant_instant").options == ["L_out", "L_in"]
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="supcon_variant_instant").label == "변형"
    assert at.radio(key="supcon_variant_instant").options == ["L_out (log 바깥 평균)", "L_in (log 안 평균)"]
    assert at.radio(key="supcon_variant_instant").value == "in"
    assert at.slider(key="supcon_tau").value == pytest.approx(0.3)
    assert at.selectbox(key="supcon_anchor").value == 5
    assert at.radio(key="supcon_positives").value is False
    assert at.radio(key="supcon_positives").options == ["class로", "augmentation으로"]
    assert at.query_params["supcon_variant_instant"] in ("in", '"in"'), "the link keeps the value, not the label"
    at.session_state["lang"] = "en"
    at.run()
    assert at.radio(key="supcon_variant_instant").value == "in"
    assert at.selectbox(key="supcon_anchor").options[5] == "#5 (class 1)"


def test_a_trained_run_is_kept_and_redrawn_in_the_new_language():
    at = _page("simclr", "en")
    at.number_input(key="simclr_epochs").set_value(1)
    at.button(key="simclr_train").click().run(timeout=240)
    at.number_input(key="simclr_probe").set_value(7).run()
    run = at.session_state["simclr_run"]["run"]
    assert EXPLORER["en"] in i18n_probe.texts(at)
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["simclr_run"]["run"] is run, "switching the language keeps the run, it does not retrain"
    assert at.number_input(key="simclr_probe").value == 7
    assert at.number_input(key="simclr_probe").label == "테스트 점"
    assert EXPLORER["ko"] in i18n_probe.texts(at)
    assert not i18n_probe.english_left(at), i18n_probe.english_left(at)
