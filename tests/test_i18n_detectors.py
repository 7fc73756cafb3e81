"""The anomaly-detector pages (Deep SVDD, GOAD, DROC, CSI, Compare) speak Korean all the way through a run.

Each page is opened with ``lang=ko``, its main button pressed with the smallest settings the page tests use,
and everything it then shows (results, tables, figures, captions, the form) must hold no English
(:func:`i18n_probe.english_left`); the same run in English still reads as before and holds no Hangul. A
setting survives switching the language, and the link keeps the value, not its label. The figures of
:mod:`adlab.viz_detectors` and the errors of :mod:`pages._data` are said in both languages too.
"""

from pathlib import Path

import i18n_probe
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from adlab import i18n
from adlab import viz_detectors as vd
from adlab.data import DataError
from tests.uploads import sample_csv

ROOT = Path(__file__).resolve().parents[1]
DETECTOR_PAGES = ["deep_svdd", "goad", "droc", "csi"]


def _page(name: str, lang: str, upload: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=300)
    at.query_params["lang"] = lang
    if upload is not None:
        at.session_state["upload"] = upload
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _train(at: AppTest, page: str, epochs: int = 1) -> AppTest:
    at.number_input(key=f"{page}_epochs").set_value(epochs)
    at.button(key=f"{page}_train").click().run(timeout=300)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert f"{page}_run" in at.session_state
    return at


def _english_left(at: AppTest) -> str:
    left = i18n_probe.english_left(at)
    return f"{len(left)} English texts left:\n" + "\n".join(map(repr, left[:40]))


def _legends(at: AppTest) -> set[str]:
    import json

    return {trace.get("name", "") for chart in at.get("plotly_chart") for trace in json.loads(chart.proto.spec)["data"]}


@pytest.mark.parametrize("page", DETECTOR_PAGES)
def test_a_detector_page_trains_and_shows_its_results_in_korean(page):
    at = _page(page, "ko")
    assert not i18n_probe.english_left(at), _english_left(at)
    _train(at, page, epochs=2 if page == "deep_svdd" else 1)  # Deep SVDD: guards "both", two runs
    assert not i18n_probe.english_left(at), _english_left(at)
    assert at.subheader[0].value == "테스트 세트에서의 이상 탐지"
    metrics = {m.label for m in at.metric}
    assert {"AUROC", "AUPRC", "F1", "학습 시간"} <= metrics
    assert {"정상", "이상"} <= _legends(at)
    if page == "deep_svdd":
        assert {"붕괴 비율, 방지책 켬", "붕괴 비율, 방지책 끔", "반지름 R"} <= metrics
        assert any(c.value.startswith("이번 학습에서는 자릿수가 바뀔 만큼의 붕괴가 없었습니다") for c in at.caption)
    if page == "droc":
        at.radio(key="droc_view_scorer").set_value("kde")
        at.radio(key="droc_view_features").set_value("head").run()
        assert not at.exception and not i18n_probe.english_left(at), _english_left(at)
        assert "AUROC (KDE, head)" in {m.label for m in at.metric}
        assert list(at.dataframe[0].value.columns[:2]) == ["feature", "one-class 모델"]
    if page == "csi":
        assert "대조 부분 −s_con-SI" in metrics
        assert "회전" in next(d.value for d in at.dataframe if len(d.value) == 4 and "‖z‖" in d.value.columns).columns
    if page == "goad":
        assert {"회전 0°", "회전 90°", "중심점 c_m"} <= _legends(at)


def test_goad_on_the_toy_blobs_offers_the_tabular_protocols_in_korean():
    at = _page("goad", "ko")
    at.selectbox(key="goad_dataset").set_value("toy:blobs").run()
    assert not at.exception
    assert at.selectbox(key="goad_dataset").format_func("toy:blobs") == "toy: 덩어리 세 개"
    split = at.radio(key="goad_protocol")
    assert split.label == "분할" and split.options == ["one-class 절반 분할",
                                                      "GOAD 표 형식 프로토콜 (이상 데이터 전부를 테스트 세트에)"]
    assert at.multiselect(key="goad_normal_toy:blobs").options == ["덩어리 0", "덩어리 1", "덩어리 2", "이상"]
    assert any("거의 찍기 수준" in c.value for c in at.caption), "planted toy anomalies: the page warns"
    split.set_value("goad")
    _train(at, "goad")
    assert not i18n_probe.english_left(at), _english_left(at)
    assert any("GOAD의 프로토콜, official 분할" in c.value for c in at.caption)


def test_compare_runs_every_method_in_korean():
    at = _page("compare", "ko")
    assert at.multiselect(key="compare_methods_image").value == ["deepsvdd", "goad", "droc", "csi", "knn",
                                                                  "iforest", "ocsvm"]
    assert "kNN (원본 입력)" in at.multiselect(key="compare_methods_image").options
    at.button(key="compare_run").click().run(timeout=300)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert not i18n_probe.english_left(at), _english_left(at)
    table = at.dataframe[0].value
    assert list(table.columns) == ["방법", "AUROC", "AUPRC", "F1", "학습 (초)", "점수 계산 (초)"]
    assert list(table["방법"])[-3:] == ["kNN (원본 입력)", "Isolation Forest (원본 입력)", "OC-SVM (원본 입력)"]
    assert "kNN = Isolation Forest = OC-SVM (원본 입력)" in i18n_probe.texts(at), "one panel for the baselines"


def test_compare_says_an_empty_choice_of_methods_in_korean():
    at = _page("compare", "ko")
    at.multiselect(key="compare_methods_image").set_value([])
    at.button(key="compare_run").click().run()
    assert [e.value for e in at.error] == ["방법이 하나도 없습니다. 적어도 하나를 고르세요"]


def test_an_unlabelled_upload_is_scored_in_korean():
    from adlab.data.upload import load_upload
    from pages import _upload

    csv = b"\n".join(line.rsplit(b",", 1)[0] for line in sample_csv().strip().split(b"\n")) + b"\n"
    entry = {"key": _upload.digest("nolabels.csv", csv, {"label_column": None}), "name": "nolabels.csv",
             "upload": load_upload("nolabels.csv", csv, label_column=None), "dataset": None, "error": None}
    at = _page("compare", "ko", entry)
    box = at.selectbox(key="compare_dataset")
    box.select_index(box.options.index("내 파일: nolabels.csv")).run()
    at.selectbox(key="compare_u_method").set_value("iforest")
    at.button(key="compare_u_train").click().run(timeout=300)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    # the file's own words stay as they are: its column "colour" and that column's values
    assert not [text for text in i18n_probe.english_left(at) if "colour" not in text], _english_left(at)
    assert list(at.dataframe[-1].value.columns[:2]) == ["행", "점수"]
    assert "모든 행의 점수 (CSV)" in {b.proto.label for b in at.get("download_button")}


@pytest.mark.parametrize("page", ["deep_svdd", "compare"])
def test_the_same_runs_in_english_read_as_before(page):
    at = _page(page, "en")
    if page == "compare":
        at.multiselect(key="compare_methods_image").set_value(["deepsvdd", "knn", "iforest"])
        at.button(key="compare_run").click().run(timeout=300)
        assert not at.exception and not at.error
        assert list(at.dataframe[0].value["method"]) == ["Deep SVDD", "kNN (raw input)", "Isolation Forest (raw input)"]
        assert "kNN = Isolation Forest (raw input)" in i18n_probe.texts(at)
    else:
        _train(at, page, epochs=2)
        assert {"Collapse ratio, guards on", "Training time"} <= {m.label for m in at.metric}
        assert any("No collapse by orders of magnitude" in c.value for c in at.caption)
    assert at.subheader[0].value in ("Detection on the test split", "Scores on the test split")
    assert {"normal", "anomaly"} <= _legends(at)
    assert i18n_probe.hangul_left(at) == []


def test_a_setting_survives_switching_the_language():
    at = _page("deep_svdd", "en")
    at.selectbox(key="deep_svdd_dataset").set_value("toy:moons").run()
    at.radio(key="deep_svdd_guards").set_value("off")
    at.radio(key="deep_svdd_objective").set_value("soft-boundary")
    _train(at, "deep_svdd", epochs=3)  # the form's settings count once submitted
    assert at.radio(key="deep_svdd_guards").options == ["on", "off", "both"]
    at.session_state["lang"] = "ko"  # what the sidebar's switch does
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    guards = at.radio(key="deep_svdd_guards")
    assert (guards.label, guards.options, guards.value) == ("붕괴 방지책", ["켬", "끔", "둘 다"], "off")
    assert at.radio(key="deep_svdd_objective").value == "soft-boundary"
    assert at.selectbox(key="deep_svdd_dataset").value == "toy:moons"
    assert at.selectbox(key="deep_svdd_dataset").label == "데이터셋"
    assert at.number_input(key="deep_svdd_epochs").value == 3
    assert any(m.value == "방지책 **끔** 상태로 학습한 결과입니다." for m in at.markdown), "the run is still shown"
    assert not i18n_probe.english_left(at), _english_left(at)
    for key, value in (("deep_svdd_guards", "off"), ("deep_svdd_dataset", "toy:moons")):
        link = at.query_params[key]
        assert (link[0] if isinstance(link, list) else link).strip('"') == value, "the link keeps the value"
    at.session_state["lang"] = "en"
    at.run()
    assert at.radio(key="deep_svdd_guards").value == "off" and at.radio(key="deep_svdd_guards").label == "Collapse guards"


def _figure_texts(fig) -> list[str]:
    return [text for text in i18n_probe._figure_texts(fig.to_json()) if text.strip()]


def test_the_detector_figures_speak_both_languages():
    rng = np.random.default_rng(0)
    r, theta, labels = rng.random(20), rng.random(20) * 6, np.arange(20) % 4 == 0
    names = ["rot 0", "rot 90"]
    figures = {
        lang: [vd.sphere_figure(r, theta, labels, 0.5, lang=lang),
               vd.distance_histogram_figure(r, labels, 0.5, lang=lang),
               vd.loss_curves_figure({"a": [1.0, 0.5]}, lang=lang),
               vd.goad_centres_figure(rng.random((20, 2)), np.arange(20) % 2, rng.random((2, 2)), names, labels,
                                      means=rng.random((2, 2)), lang=lang),
               vd.transform_softmax_figure(np.full((2, 2), 0.5), names, lang=lang),
               vd.per_transform_bar_figure(np.ones(2), names, lang=lang),
               vd.csi_terms_figure(np.ones(4), np.ones(4), ("0°", "90°", "180°", "270°"), reference=-8.0, lang=lang),
               vd.umap_grid_figure({"kNN": rng.random((20, 2))}, labels, lang=lang)]
        for lang in ("en", "ko")
    }
    english = [text for fig in figures["en"] for text in _figure_texts(fig)]
    assert {"Distances to the centre c", "sphere, R = 0.5", "centre c", "normal", "anomaly", "epoch",
            "training mean -8"} <= set(english)
    assert not [text for text in english if i18n_probe.HANGUL.search(text)]
    korean = [text for fig in figures["ko"] for text in _figure_texts(fig) if text not in ("rot 0", "rot 90", "a")]
    assert not [text for text in korean if i18n_probe.is_english(text)], korean
    assert {"중심점 c까지의 거리", "초구, R = 0.5", "정상", "이상"} <= set(korean)
    assert vd.sphere_figure(r, theta, labels, 0.5, title="given", lang="ko").layout.title.text == "given"


def test_the_pages_data_errors_are_said_in_the_readers_language():
    from pages import _data as pdata

    with pytest.raises(DataError) as gone:
        pdata.load_dataset("upload:0123")  # no file in this session
    assert str(gone.value).startswith("The uploaded file this view was made with is no longer loaded")  # the CLI's
    assert i18n.message(gone.value, "ko").startswith("이 화면을 만든 파일이 더 이상 올라와 있지 않습니다")
    with pytest.raises(DataError) as unknown:
        pdata.load_dataset("squares")
    assert i18n.message(unknown.value, "ko").startswith("데이터셋은 ('digits', 'toy:blobs'")
    assert pdata.dataset_label("toy:moons", "ko") == "toy: 초승달 두 개"
    assert pdata.dataset_label("toy:moons", "en") == "toy: two moons"
    assert pdata.class_label("upper moon", "toy:moons", "ko") == "위쪽 초승달"
    assert pdata.class_label("upper moon", "upload:abc", "ko") == "upper moon", "a file's classes stay as they are"
    assert pdata.SPLIT_NOTE == i18n.text("data.split_note", "en")


def test_the_papers_numbers_are_said_in_both_languages():
    from adlab import papers

    thyroid = papers.reference("goad", "goad-tabular:thyroid")[0]
    assert thyroid.describe() == "GOAD paper (Bergman & Hoshen, ICLR 2020), tabular experiments: F1 74.5 (unverified)"
    assert thyroid.describe("ko") == "GOAD 논문 (Bergman & Hoshen, ICLR 2020), 표 형식 데이터 실험: F1 74.5 (확인 안 됨)"
    for number in papers.PAPER_NUMBERS:
        assert not i18n_probe.is_english(number.describe("ko")), number.describe("ko")
