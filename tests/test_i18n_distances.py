"""The Distance axioms page in Korean and English: every distance, the counterexamples, the learned distance.

In Korean every text the page draws (the checker's verdicts and counterexamples, the tables, the figures'
legends) must be Korean, :func:`i18n_probe.english_left` aside the seminar's terms; the English page says
what it always said, with no Hangul; and a setting outlives a switch of the language.
"""

import json
from pathlib import Path

import i18n_probe
import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from adlab import distances as dist
from adlab import i18n
from adlab.viz_distances import distance_field_figure, points_figure

PAGE = "distances"
FILE = str(Path(__file__).resolve().parents[1] / "pages" / f"{PAGE}.py")
METRICS = ("euclidean", "squared_euclidean", "cosine", "angular", "manhattan", "chebyshev", "kl_divergence",
           "learned_demo")
PRESETS = ("squared_euclidean", "cosine", "cosine_identity", "learned", "kl_divergence")


def _page(lang: str, **state) -> AppTest:
    at = AppTest.from_file(FILE, default_timeout=120)
    at.query_params["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def _clean(at: AppTest, what: str) -> None:
    assert not at.exception, (what, [e.value for e in at.exception])
    assert not at.error, (what, [e.value for e in at.error])
    left = i18n_probe.english_left(at)
    assert left == [], f"English on the Korean page after {what}:\n" + "\n".join(map(repr, left[:40]))


def _texts(at: AppTest) -> str:
    return "\n".join(i18n_probe.texts(at))


def test_every_distance_and_counterexample_in_korean():
    at = _page("ko")
    _clean(at, "opening")
    assert at.title[0].value == "거리 공리"
    for metric in METRICS:  # the default points hold the origin: cosine and angular say why they are undefined
        at.session_state[f"{PAGE}_metric"] = metric  # (set_value would format the value outside the run: in English)
        at.run()
        _clean(at, metric)
        if metric in ("cosine", "angular", "kl_divergence"):  # x0 is the origin, not a probability vector
            assert any("정의할 수 없습니다" in w.value for w in at.warning), (metric, [w.value for w in at.warning])
    for preset in PRESETS:
        at.button(key=f"{PAGE}_preset_{preset}").click().run()
        _clean(at, f"the preset {preset}")
    lines = [m.value for m in at.markdown]
    assert any("**대칭성** :red[**깨짐**]" in line for line in lines), lines  # KL(p||q) != KL(q||p)
    table = at.dataframe[-1].value
    assert table.index.name == "거리" and table.loc["제곱 유클리드 거리", "삼각 부등식 · 무작위 sample"] == "깨짐"
    at.button(key=f"{PAGE}_preset_learned").click().run()
    assert any("x0 != x1인데도" in line for line in (m.value for m in at.markdown))
    scatter = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                   if any(t.get("name") == "점" for t in json.loads(c.proto.spec)["data"]))
    assert "x0 ≠ x1인데 d = 0" in [t.get("name") for t in scatter["data"]]


def test_bad_points_are_named_in_korean():
    nan_row = pd.DataFrame({"coordinate 1": [0.0, 1.0, 2.0], "coordinate 2": [0.0, np.nan, 1.0]})
    at = _page("ko", _distances_table=nan_row)
    _clean(at, "a row without a number")
    assert any("1번 행" in w.value and "'좌표 2'" in w.value for w in at.warning), [w.value for w in at.warning]
    zero = pd.DataFrame({"coordinate 1": [0.0, 1.0, 0.0], "coordinate 2": [0.0, 0.0, 1.0]})
    at = _page("ko", _distances_table=zero, distances_metric="kl_divergence")
    _clean(at, "KL on points that are not probability vectors")
    assert any("확률 벡터" in w.value for w in at.warning)


def test_learned_distance_trains_in_korean():
    at = _page("ko")
    assert any(i.value.startswith("**f 학습**을 누르면") for i in at.info)
    at.session_state[f"{PAGE}_encoder"] = "collapsed"
    at.number_input(key=f"{PAGE}_epochs").set_value(2)
    at.button(key=f"{PAGE}_train").click().run(timeout=120)
    _clean(at, "training f")
    assert any(s.value.startswith("f를 학습했습니다 (붕괴(collapsed)") for s in at.success), [s.value for s in at.success]
    md = [m.value for m in at.markdown]
    assert "**무작위 f (학습 전)**" in md and "**학습된 f (학습 후)**" in md
    at.button(key=f"{PAGE}_twin").click().run(timeout=120)
    _clean(at, "adding a twin of x0")
    broken = [m.value for m in at.markdown if "**식별 불가능한 것의 동일성** :red[**깨짐**]" in m.value]
    assert len(broken) == 2 and all("x0 != x3인데도" in line for line in broken)


def test_the_english_page_is_unchanged():
    at = _page("en")
    assert not at.exception
    assert at.title[0].value == "Distance axioms"
    at.selectbox(key=f"{PAGE}_encoder").set_value("collapsed")
    at.number_input(key=f"{PAGE}_epochs").set_value(2)
    at.button(key=f"{PAGE}_train").click().run(timeout=120)
    assert not at.exception and not at.error
    assert any(s.value.startswith("Trained f (collapsed: MLP on x₁ only) with the triplet (batch-hard) loss on moons")
               for s in at.success)
    texts = _texts(at)
    for english in ("Place points and test a distance", "Every distance, every axiom", "Reference point for the heatmap",
                    "Closest far-apart pair · Trained f", "far-apart pair with the smallest d", "coordinate 1"):
        assert english in texts, english
    table = at.dataframe[-1].value
    assert table.loc["squared Euclidean", "triangle · your points"] == "BREAKS"
    assert i18n_probe.hangul_left(at) == []


def test_a_setting_survives_switching_the_language():
    at = _page("en")
    at.button(key=f"{PAGE}_preset_kl_divergence").click().run()  # the probability vectors, and KL selected
    at.button(key=f"{PAGE}_add").click().run()  # a fourth point, drawn at random
    at.selectbox(key=f"{PAGE}_toy").set_value("blobs")
    at.number_input(key=f"{PAGE}_epochs").set_value(2)
    at.button(key=f"{PAGE}_train").click().run(timeout=120)  # the form's settings count once submitted
    assert not at.exception and any(s.value.startswith("Trained f") for s in at.success)
    points = at.session_state[f"{PAGE}_points"]
    assert len(points) == 4 and at.selectbox(key=f"{PAGE}_metric").label == "Distance"
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key=f"{PAGE}_metric").label == "거리"
    assert at.selectbox(key=f"{PAGE}_metric").value == "kl_divergence"
    assert at.selectbox(key=f"{PAGE}_toy").value == "blobs"
    assert at.number_input(key=f"{PAGE}_epochs").value == 2
    assert at.session_state[f"{PAGE}_points"] == points, "the table keeps its points"
    assert list(at.dataframe[0].value.columns) == ["좌표 1", "좌표 2"]
    assert any(s.value.startswith("f를 학습했습니다") and "덩어리 세 개 (blobs)" in s.value for s in at.success)
    link = at.query_params[f"{PAGE}_metric"]
    assert (link[0] if isinstance(link, list) else link) == "kl_divergence", "the link keeps the setting too"


def test_the_library_speaks_both_languages():
    report = dist.check_axioms(dist.squared_euclidean, dist.demo_points("squared_euclidean").points, lang="ko")
    assert report.triangle.worst.sentence == "d(x0,x2) = 4.000 > d(x0,x1) + d(x1,x2) = 1.000 + 1.000"
    assert report.triangle.message.startswith("순서 있는 세 점 6개 중 2개가 이를 어깁니다")
    assert report.symmetry.message == "쌍 3개 모두에서 d(x, y) = d(y, x)입니다 (최대 차이 0.000)."
    assert dist.cosine.claim_in("ko").startswith("Metric이 아닙니다") and dist.angular.domain_in("ko") == "단위 구"
    assert dist.demo_points("learned").caption("ko").startswith("Encoder f(x) = x_1은")
    try:
        dist.cosine.pairwise(np.zeros((1, 2)))
    except dist.DomainError as err:
        assert str(err) == "X has zero vector(s) at row(s) [0]: the angle is undefined"
        assert i18n.message(err, "ko") == "`X`의 [0]번 행이 영벡터라서 각도가 정의되지 않습니다"
    else:
        raise AssertionError("a zero vector has no angle")
    fig = points_figure(np.eye(2), zero_pair=(0, 1), lang="ko")
    assert [t.name for t in fig.data] == ["x0 ≠ x1인데 d = 0", "점"] and fig.layout.xaxis.title.text == "좌표 1"
    field = distance_field_figure(np.arange(2.0), np.arange(2.0), [np.zeros((2, 2))], reference=np.zeros(2),
                                  titles=["학습 전"], lang="ko")
    assert [t.name for t in field.data] == ["히트맵", "기준점"]
