"""The lesson pages in Korean and English, after a run: Why contrastive features help (pages/why_contrastive.py),
Which augmentation is a shift? (pages/csi_shift.py) and Where augmentation runs out (pages/conclusion.py).

In Korean every text a page draws once its runs are back (metrics, charts, captions, the sentences written from
the run's numbers, the tables) must be Korean, :func:`i18n_probe.english_left` aside the seminar's terms and the
methods' names; the English page says what it always said, with no Hangul; a setting outlives a switch of the
language. The runs use the smallest settings of the pages' own tests (tests/test_page_*.py).
"""

from pathlib import Path

import i18n_probe
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from adlab import i18n, papers
from adlab.data.upload import load_upload
from adlab.lessons import runs_out as ro
from adlab.lessons import runs_out_text as rot
from adlab.lessons import shift
from pages import _upload
from tests.uploads import sample_csv

PAGES = Path(__file__).resolve().parents[1] / "pages"


def _page(name: str, lang: str, **state) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=120)
    at.query_params["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _press(at: AppTest, key: str, timeout: float = 300) -> AppTest:
    at.button(key=key).click().run(timeout=timeout)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _korean_only(at: AppTest, what: str) -> None:
    left = i18n_probe.english_left(at)
    assert left == [], f"English on the Korean page after {what}:\n" + "\n".join(map(repr, left[:40]))


def _english_only(at: AppTest, what: str) -> None:
    left = i18n_probe.hangul_left(at)
    assert left == [], f"Korean on the English page after {what}:\n" + "\n".join(map(repr, left[:40]))


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


# ----------------------------------------------------------------------------- Why contrastive features help
def test_why_page_trains_every_section_in_korean_and_says_it_again_in_english():
    at = _page("why_contrastive", "ko")
    assert at.title[0].value == "Contrastive learning의 효과"
    _korean_only(at, "opening")
    for section in ("noise", "mix", "pre"):
        at.number_input(key=f"why_{section}_epochs").set_value(2)
        _press(at, f"why_{section}_train", timeout=240)
        _korean_only(at, f"training section {section}")
    metrics = {m.label for m in at.metric}
    assert {"CE, 마지막 epoch", "CE만: 테스트 정확도", "CE + 2·SimCLR: 테스트 정확도"} <= metrics, metrics
    run = at.session_state["why_noise_results"]
    assert any(f"깨끗한 테스트 label {run.n_test}개" in c.value for c in at.caption)
    assert "**정직하게 읽기.**" in _markdown(at) and "**볼 것.**" in _markdown(at)

    at.session_state["lang"] = "en"  # what the sidebar's switch does: the same runs, said in English
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    _english_only(at, "switching to English")
    assert at.title[0].value == "Why contrastive features help"
    assert "**Read it honestly.**" in _markdown(at) and "**What to look for.**" in _markdown(at)
    metrics = {m.label for m in at.metric}
    assert {"CE, last epoch", "CE alone: test accuracy", "CE + 2·SimCLR: test accuracy"} <= metrics, metrics
    assert all(at.number_input(key=f"why_{section}_epochs").value == 2 for section in ("noise", "mix", "pre"))
    assert at.query_params["why_noise_epochs"] == "2", "the link keeps the settings"


# ----------------------------------------------------------------------------- Which augmentation is a shift?
def _shift_run(lang: str) -> AppTest:
    at = _page("csi_shift", lang)
    at.multiselect(key="shift_classes").set_value([1, 4])
    at.number_input(key="shift_epochs").set_value(4)
    return _press(at, "shift_train")


def test_shift_page_runs_and_reads_the_criterion_in_korean():
    at = _shift_run("ko")
    _korean_only(at, "a run")
    result = at.session_state["shift_results"]
    assert {m.label for m in at.metric} == {"T 사용 안 함", "T positive로", "T shifted negative로"}
    text = _markdown(at)
    assert "**기준**" in text and "Shifted negative로 쓰면" in text, text
    for line in shift.verdict_lines(result, "ko"):
        assert line in text
    assert not any(line in text for line in shift.verdict_lines(result, "en"))
    at.selectbox(key="shift_transform").set_value("hflip").run()  # another transformation's pictures
    _korean_only(at, "another transformation")


def test_shift_page_in_english_still_writes_the_english_verdict():
    at = _shift_run("en")
    _english_only(at, "a run")
    text = _markdown(at)
    assert "As a shifted negative it moved it by" in text
    for line in shift.verdict_lines(at.session_state["shift_results"], "en"):
        assert line in text


def test_a_setting_outlives_a_switch_of_the_language():
    at = _page("csi_shift", "ko")
    at.selectbox(key="shift_transform").set_value("vflip").run()
    assert at.selectbox(key="shift_transform").label == "Transformation T"
    for lang, label in (("en", "Vertical flip (upside down)"), ("ko", "상하 뒤집기 (거꾸로)")):
        at.session_state["lang"] = lang  # what the sidebar's switch does
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        box = at.selectbox(key="shift_transform")
        assert box.value == "vflip" and box.options[box.index] == label
        assert at.query_params["shift_transform"] == "vflip", "the link keeps the code, not the words"


@pytest.mark.parametrize("mean", [dict(unused=0.90, positive=0.85, negative=0.95),
                                  dict(unused=0.90, positive=0.95, negative=0.92),
                                  dict(unused=0.900, positive=0.897, negative=0.903),
                                  dict(unused=0.87, positive=0.968, negative=0.966),
                                  dict(unused=0.95, positive=0.90, negative=0.91)])
def test_every_verdict_of_the_criterion_reads_in_both_languages(mean):
    import numpy as np

    cfg = shift.ShiftConfig(classes=(0, 1), modes=tuple(mean))
    result = shift.ShiftResult(cfg, np.array([[v, v] for v in mean.values()]), np.zeros((3, 2)), np.zeros((3, 2)),
                               np.zeros(2), np.zeros(2), "cpu")
    korean, english = shift.verdict_lines(result, "ko"), shift.verdict_lines(result, "en")
    assert len(korean) == len(english) == 3
    assert not [line for line in korean if i18n_probe.is_english(line)], korean
    assert not [line for line in english if i18n_probe.HANGUL.search(line)], english


# ----------------------------------------------------------------------------- Where augmentation runs out
def test_conclusion_page_runs_in_korean_with_a_dash_for_csi_on_tables():
    at = _page("conclusion", "ko")
    _korean_only(at, "opening")
    assert at.multiselect(key="runsout_datasets").options == ["digits (8×8 이미지)", "breast cancer (표)",
                                                               "wine (표)"]
    _press(at, "runsout_run")
    _korean_only(at, "a run")
    table = at.dataframe[0].value
    assert list(table.columns) == ["방법", "계열", "digits (8×8 이미지)", "breast cancer (표)"]
    assert table[table["방법"] == "CSI"]["breast cancer (표)"].isna().all()
    shown = pa.ipc.open_stream(at.dataframe[0].proto.arrow_data.styler.display_values).read_all().to_pandas()
    assert shown.loc[table["방법"] == "CSI", "breast cancer (표)"].tolist() == ["—"], "CSI on a table: a dash, not None"
    text = _markdown(at)
    assert "**breast cancer (표): 원시 입력의 kNN이 이깁니다.**" in text and "**이미지 대 표.**" in text, text
    results = [(run, at.session_state["runsout_results"]["sweeps"].get(name))
               for name, run in at.session_state["runsout_results"]["runs"].items()]
    assert all(line in text for line in rot.verdict(results, 1.0, "ko"))


def test_conclusion_page_in_english_still_writes_the_english_verdict():
    at = _page("conclusion", "en")
    at.multiselect(key="runsout_datasets").set_value(["wine"])
    _press(at, "runsout_run")
    _english_only(at, "a run")
    text = _markdown(at)
    assert "**wine (table): " in text and "raw kNN" in text
    assert list(at.dataframe[0].value.columns) == ["method", "family", "wine (table)"]


def _entry(name: str, data: bytes, **options) -> dict:
    """What the sidebar keeps for a file it could read (as tests/test_page_conclusion.py builds it)."""
    key = _upload.digest(name, data, options)
    return {"key": key, "name": name, "upload": load_upload(name, data, **options), "dataset": None, "error": None}


def test_an_unusable_upload_is_explained_in_korean():
    at = _page("conclusion", "ko", upload=_entry("flows.csv", sample_csv(), label_column=None))
    errors = [e.value for e in at.error]
    assert any("flows.csv에는 label이 없습니다" in e for e in errors), errors
    _korean_only(at, "an upload without labels")
    at = _page("conclusion", "ko", upload=_entry("flows.csv", sample_csv()))
    assert not at.error, [e.value for e in at.error]
    assert "flows.csv (내 표)" in at.multiselect(key="runsout_datasets").options
    classes = set(at.selectbox(key="runsout_upload_normal").options)  # the file's own class names: its data
    left = [text for text in i18n_probe.english_left(at) if text not in classes]
    assert left == [], left


def test_the_papers_numbers_read_in_korean_and_as_they_were_in_english():
    numbers = [p for key in ("droc", "csi", "goad") for p in papers.reference(key, "one-class:cifar10")]
    numbers += [p for key in ("thyroid", "arrhythmia") for p in papers.reference("goad", f"goad-tabular:{key}")]
    for number in numbers:
        assert rot.paper_line(number, "en") == number.describe()
        korean = rot.paper_line(number, "ko")
        assert i18n_probe.HANGUL.search(korean) and not i18n_probe.is_english(korean), korean


def test_an_upload_error_carries_its_catalogue_key():
    with pytest.raises(Exception) as caught:
        ro.source_from_upload(load_upload("flows.csv", sample_csv(), label_column=None), "upload:x")
    err = caught.value
    assert "has no labels" in str(err)
    assert i18n.message(err, "ko").startswith("flows.csv에는 label이 없습니다")
