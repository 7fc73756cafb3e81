"""The parts every page shares, in Korean and English: the figures of adlab.viz, the figures shared between
sessions (one per language), the training form, its job's status and results, the downloads and the run
card, the device's error, and PNG exports that draw Hangul.

A loss page's own texts (its title, formulas, knobs) belong to that page; the tests here look at the texts
these shared parts produce (the ``common.*`` and ``jobs.*`` catalogue entries, and every figure they build).
"""

from __future__ import annotations

import string
from pathlib import Path

import i18n_probe
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from adlab import export, i18n, viz
from adlab.jobs import JobStatus
from pages import _export, _jobs
from pages._page import SharedFigures

ROOT = Path(__file__).resolve().parents[1]
PAGE = "simclr"
SHARED = ("common.training.", "common.export.", "jobs.")  # the page parts this file owns


# ----------------------------------------------------------------------------- helpers
def _figure_texts(fig) -> list[str]:
    return [t for t in i18n_probe._figure_texts(fig.to_json()) if t.strip()]


def _english(fig) -> list[str]:
    return [t for t in _figure_texts(fig) if i18n_probe.is_english(t)]


def _hangul(fig) -> list[str]:
    return [t for t in _figure_texts(fig) if i18n_probe.HANGUL.search(t)]


def _fixed_english(prefixes: tuple[str, ...] = SHARED) -> dict[str, str]:
    """The English texts of ``prefixes`` that have no fields (they appear on a page exactly as written)."""
    english = i18n.catalogue("en")
    return {k: v for k, v in english.items() if k.startswith(prefixes)
            and not any(name for _, name, _, _ in string.Formatter().parse(v) if name is not None)}


def _figures() -> dict[str, object]:
    """Every public figure builder of adlab.viz, in a function of the language."""
    rng = np.random.default_rng(0)
    xy, is_anomaly = rng.normal(size=(40, 2)), np.arange(40) % 5 == 0
    scores = rng.normal(size=40) + 2 * is_anomaly
    scores[0] = 50.0  # a far outlier: the histogram's axis names its last bin
    points = np.stack([np.cos(np.linspace(0, 6, 8)), np.sin(np.linspace(0, 6, 8))], 1)
    groups = ["anchor", "positive", "negative", "easy", "semi-hard", "hard", "other", "negative"]
    return {
        "umap": lambda lang: viz.umap_pair_figure(xy, xy + 1, is_anomaly, lang=lang),
        "loss": lambda lang: viz.loss_curve_figure(np.linspace(2, 1, 20), [1.8, 1.2], lang=lang),
        "roc": lambda lang: viz.roc_figure({"kNN": (is_anomaly, scores)}, lang=lang),
        "hist": lambda lang: viz.score_histogram_figure(scores, is_anomaly, lang=lang),
        "distribution": lambda lang: viz.score_distribution_figure(scores, lang=lang),
        "by_score": lambda lang: viz.embedding_by_score_figure(xy, scores, lang=lang),
        "circle": lambda lang: viz.circle_batch_figure(points, 0, groups, np.full(8, 0.5), step=np.ones(2),
                                                       lang=lang),
        "bars": lambda lang: viz.breakdown_bar_figure(list("abcd"), np.full(4, 0.25), np.array([-1.0, 0.5, 0.2, 0.1]),
                                                      ["positive", "negative", "negative", "negative"], lang=lang),
        "counts": lambda lang: viz.triplet_counts_figure([{"easy": 3, "semi_hard": 2, "hard": 1}] * 2, lang=lang),
    }


# ----------------------------------------------------------------------------- adlab.viz
@pytest.mark.parametrize("name", sorted(_figures()))
def test_every_figure_speaks_the_language_it_is_given(name):
    build = _figures()[name]
    korean, english = build("ko"), build("en")
    assert _figure_texts(korean), f"{name}: no texts read"
    assert not _english(korean), f"{name}: English left in the Korean figure: {_english(korean)}"
    assert _hangul(korean), name
    assert not _hangul(english), f"{name}: Hangul in the English figure: {_hangul(english)}"
    assert _figure_texts(build.__call__("en")) == _figure_texts(english)


def test_english_is_the_default_and_keeps_its_words():
    fig = viz.loss_curve_figure([3.0, 2.0, 1.0], [2.0])
    assert fig.layout.title.text == "Training loss" and [t.name for t in fig.data] == ["per step", "epoch mean"]
    roc = viz.roc_figure({"after": (np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.8]))})
    assert [t.name for t in roc.data] == ["after (AUROC 1.000)", "chance"]
    assert viz.loss_curve_figure([1.0], [1.0], lang="ko").layout.title.text == "학습 loss"
    counts = viz.triplet_counts_figure([{"easy": 1}], lang="ko")
    assert counts.data[0].hovertemplate == "triplet %{customdata:,.0f}개 (%{y:.1f}%)"


def test_the_template_ends_in_korean_fonts():
    family = viz.template().layout.font.family
    assert family.split(",")[0].strip() == '"Open Sans"', family  # Latin text looks as before
    assert "Noto Sans CJK KR" in family and family.rstrip().endswith("sans-serif"), family


@pytest.mark.skipif(not export.png_available(), reason="PNG export needs a Chromium")
def test_a_korean_figure_exports_to_png(tmp_path):
    fig = viz.umap_pair_figure(np.eye(4)[:, :2], np.eye(4)[:, 2:], np.array([0, 0, 1, 1], bool), lang="ko")
    fig.update_layout(title="한국어 제목: 학습 전 / 학습 후 feature space")
    png = export.figures_png({"umap": fig}, scale=1.0)["umap"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    (tmp_path / "umap.png").write_bytes(png)


# ----------------------------------------------------------------------------- figures shared by sessions
def test_a_shared_figure_is_kept_once_per_language():
    shared, calls = SharedFigures(size=8), []

    def build(lang):
        calls.append(lang)
        return {"lang": lang}

    en, ko = shared.in_language("en"), shared.in_language("ko")
    first = en.get(("roc", 1), lambda: build("en"))
    assert en.get(("roc", 1), lambda: build("again")) is first
    assert ko.get(("roc", 1), lambda: build("ko")) == {"lang": "ko"}, "a Korean session got the English figure"
    assert calls == ["en", "ko"] and shared.built == 2 and len(en) == len(ko) == 2


def _instant(lang: str, tau: float) -> dict:
    at = AppTest.from_file(str(ROOT / "pages" / f"{PAGE}.py"), default_timeout=120)
    at.query_params["lang"] = lang
    at.run()
    at.slider(key=f"{PAGE}_tau").set_value(tau).run()
    assert not at.exception, at.exception
    return at.session_state["_figures"][PAGE]


def test_sessions_in_two_languages_never_share_a_figure():
    en, en_again, ko = _instant("en", 0.29), _instant("en", 0.29), _instant("ko", 0.29)
    assert en["simclr_instant_fig"] is en_again["simclr_instant_fig"], "the same language still shares"
    assert ko["simclr_instant_fig"] is not en["simclr_instant_fig"]
    assert ko["simclr_instant_bars"] is not en["simclr_instant_bars"]
    assert not _hangul(en["simclr_instant_bars"])
    assert not _english(ko["simclr_instant_bars"]), _english(ko["simclr_instant_bars"])


# ----------------------------------------------------------------------------- a loss page, trained in Korean
def _page(lang: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{PAGE}.py"), default_timeout=240)
    at.query_params["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _trained(lang: str) -> AppTest:
    at = _page(lang)
    at.number_input(key=f"{PAGE}_epochs").set_value(1)
    at.number_input(key=f"{PAGE}_seed").set_value(4242)
    at.button(key=f"{PAGE}_train").click().run(timeout=240)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert f"{PAGE}_run" in at.session_state
    return at


@pytest.fixture(scope="module")
def korean_and_english():
    """The simclr page trained in Korean, then the same run in English (it attaches to the same job)."""
    return _trained("ko"), _trained("en")


def test_the_results_and_downloads_are_in_korean(korean_and_english):
    ko, _ = korean_and_english
    texts = i18n_probe.texts(ko)
    left = sorted({k for k, v in _fixed_english().items() if v in texts})
    assert not left, f"English texts of the shared parts on the Korean page: {left}"
    for key in ("common.training.changed", "common.export.title", "common.export.scores", "common.export.everything",
                "common.training.alignment_after", "common.training.train"):
        assert i18n.text(key, "ko") in texts, key
    assert any(m.label == "학습 후 AUROC" for m in ko.metric), [m.label for m in ko.metric]
    auroc = next(m for m in ko.metric if m.label == "학습 후 AUROC")
    assert auroc.delta.endswith("(학습 전 대비)") and auroc.delta[0] in "+-"  # Streamlit reads the sign first
    figures = ko.session_state["_figures"][PAGE]
    for key in ("simclr_umap", "simclr_loss_curve", "simclr_roc"):
        assert not _english(figures[key]), (key, _english(figures[key]))
        assert _hangul(figures[key]), key
    english_left = [t for t in i18n_probe.english_left(ko) if any(t.startswith(v[:12]) for v in _fixed_english().values())]
    assert not english_left, english_left


def test_the_same_run_in_english_keeps_its_english_texts(korean_and_english):
    ko, en = korean_and_english
    assert en.session_state[f"{PAGE}_run"]["run"] is ko.session_state[f"{PAGE}_run"]["run"], "one job, two sessions"
    texts = i18n_probe.texts(en)
    for text in ("What training changed", "Take it with you: downloads", "Scores (CSV)", "Everything (ZIP)",
                 "AUROC after training"):
        assert text in texts, text
    figures, korean = en.session_state["_figures"][PAGE], ko.session_state["_figures"][PAGE]
    for key in ("simclr_umap", "simclr_loss_curve", "simclr_roc"):
        assert figures[key] is not korean[key], f"{key}: the Korean session's figure was shared"
        assert not _hangul(figures[key]), (key, _hangul(figures[key]))
    assert figures["simclr_loss_curve"].layout.title.text == "Training loss"


def test_the_run_card_and_files_follow_the_language(korean_and_english):
    ko, _ = korean_and_english
    stored = ko.session_state[f"{PAGE}_run"]
    korean = _export.files_as_dict(_export.contrastive_files(PAGE, stored, lang="ko"))["run_card.md"].decode()
    english = _export.files_as_dict(_export.contrastive_files(PAGE, stored, lang="en"))["run_card.md"].decode()
    for text in ("## 설정", "## 지표", "| 이번 실행 |", "| 데이터셋 |", "| 학습 행 수 |", "논문 수치 없음", "정상: 2, 3, 5, 8"):
        assert text in korean, text
    for text in ("## Configuration", "| This run |", "Training rows", "No paper number", "| split |", "normal: 2"):
        assert text in english, text
        assert text not in korean, text
    assert "| 점수 |" in korean and "평균 cosine 거리" in korean


def test_the_run_card_in_korean():
    card = export.run_card(title="GOAD on Thyroid", dataset="ODDS Thyroid", config={"epochs": 1}, seed=7,
                           device="cpu", seconds=1.25, metrics={"auroc": 0.9, "f1": 0.5}, n_train=10, n_test=20,
                           n_anomalies=5, method="goad", protocol="goad-tabular:thyroid", created="now", lang="ko")
    assert "| 방법 | GOAD (`goad`) |" in card and "| 테스트 행 수 | 20개 중 이상 5개 (25.0%) |" in card
    assert "| 논문: GOAD | – | 0.745 (미검증) |" in card and "(미검증): " in card
    assert "| 소요 시간 | 1.2초 |" in card or "| 소요 시간 | 1.3초 |" in card
    for english in ("Method", "Training rows", "This run", "Paper:", "(unverified)", "Higher scores"):
        assert english not in card, english


# ----------------------------------------------------------------------------- the job's status, errors, settings
def _status(**fields) -> JobStatus:
    base = dict(phase="queued", place=None, epoch=None, epochs=None, loss=None, fraction=0.0, message="", worker="",
                shared=1, seconds=0.0)
    return JobStatus(**{**base, **fields})


def test_the_job_status_line_in_both_languages():
    cases = [
        (_status(place=2), "queued — place 2 in the queue", "대기 중 — 대기열 2번째"),
        (_status(phase="training", epoch=2, epochs=5, loss=0.5, shared=2),
         "training — epoch 2/5 · loss 0.5000 · shared with 1 other session", "학습 중 — epoch 2/5 · loss 0.5000 · 다른 세션 1개와 공유 중"),
        (_status(phase="projecting", shared=4), "projecting the features with UMAP · shared with 3 other sessions",
         "UMAP으로 feature를 2차원에 투영하는 중 · 다른 세션 3개와 공유 중"),
        (_status(phase="scoring"), "scoring the test points", "테스트 데이터의 이상 점수를 계산하는 중"),
        (_status(phase="done"), "done", "완료"),
    ]
    for status, english, korean in cases:
        assert _jobs.phase_text(status, "en") == english
        assert _jobs.phase_text(status, "ko") == korean


def test_a_running_job_and_its_cancel_in_korean():
    at = _page("ko", _jobs_wait_s=0.5)
    at.number_input(key=f"{PAGE}_epochs").set_value(100)
    at.number_input(key=f"{PAGE}_seed").set_value(77)
    at.select_slider(key=f"{PAGE}_batch").set_value(32)
    at.button(key=f"{PAGE}_train").click().run()
    assert not at.exception, at.exception
    lines = [c.value for c in at.caption if c.value.startswith(("대기 중", "학습 중", "UMAP", "테스트"))]
    assert lines, [c.value for c in at.caption]
    assert at.button(key=f"_{PAGE}_cancel").label == "취소"
    assert i18n.text("jobs.title", "ko") in i18n_probe.texts(at)
    at.button(key=f"_{PAGE}_cancel").click().run()
    assert not at.exception, at.exception
    assert any(i.value == "학습을 취소했습니다." for i in at.info), [i.value for i in at.info]
    left = [t for t in i18n_probe.english_left(at) if t in _fixed_english().values()]
    assert not left, left


def test_a_device_the_machine_cannot_use_is_named_in_korean():
    at = _page("ko", device="tpu")
    at.button(key=f"{PAGE}_train").click().run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any("'tpu'" in e and "연산 장치" in e for e in errors), errors
    assert f"{PAGE}_run" not in at.session_state
    english = _page("en", device="tpu")
    english.button(key=f"{PAGE}_train").click().run()
    assert any(e.value == "device must be 'auto', 'cuda', 'mps' or 'cpu', got 'tpu'" for e in english.error)


def test_a_setting_survives_switching_the_language():
    at = _page("en", device="tpu")  # Train commits the form, and the unusable device stops before training
    at.number_input(key=f"{PAGE}_epochs").set_value(7)
    at.select_slider(key=f"{PAGE}_batch").set_value(64)
    at.selectbox(key=f"{PAGE}_dataset").set_value("toy:moons")
    at.button(key=f"{PAGE}_train").click().run()
    assert at.number_input(key=f"{PAGE}_epochs").label == "Epochs"
    assert at.number_input(key=f"{PAGE}_epochs").value == 7
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception, at.exception
    assert at.number_input(key=f"{PAGE}_epochs").label == "Epoch 수"
    assert at.number_input(key=f"{PAGE}_epochs").value == 7
    assert at.select_slider(key=f"{PAGE}_batch").value == 64
    assert at.selectbox(key=f"{PAGE}_dataset").value == "toy:moons"
    assert at.query_params[f"{PAGE}_epochs"] in ("7", ["7"]), "the link keeps the setting too"
    assert at.query_params["lang"] in ("ko", ["ko"])


def test_the_sidebar_line_parts_in_both_languages():
    from adlab.device import describe_device

    assert describe_device("cpu") == f"cpu ({__import__('torch').get_num_threads()} threads)"
    korean = describe_device("cpu", lang="ko")
    assert korean.startswith("cpu (스레드 ") and not i18n_probe.is_english(f"**{korean}**에서 계산")
    workers = _jobs.manager().backend.max_workers
    assert _jobs.backend_text("en") == _jobs.manager().backend_name
    assert _jobs.backend_text("ko") == (f"이 컴퓨터의 작업 프로세스 {workers}개")
