"""Every page renders in Korean and in English (AppTest), and says nothing in the other language.

Each page is opened inside app.py (its sidebar, the language switch and the navigation are read too). A
page opened with ``lang=ko`` must hold no English sentence or label (``i18n_probe.english_left``: the
seminar's English terms and the methods' names aside); opened with ``lang=en`` it must hold no Hangul.
These runs see a page as it opens; the pages' own Korean tests train and look at the results too.
"""

from pathlib import Path

import i18n_probe
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(p.stem for p in (ROOT / "pages").glob("*.py") if not p.stem.startswith("_"))


def open_page(name: str, lang: str) -> AppTest:
    """The page as the app shows it: app.py (its sidebar and navigation) opened with ``lang=``, then the page."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["lang"] = lang
    at.run()
    if name != "home":
        at.switch_page(f"pages/{name}.py").run()
    return at


@pytest.mark.parametrize("name", PAGES)
def test_every_page_opens_in_korean_with_no_english_left(name):
    at = open_page(name, "ko")
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["lang"] == "ko"
    left = i18n_probe.english_left(at)
    assert not left, f"{len(left)} English texts on the Korean {name} page:\n" + "\n".join(map(repr, left[:40]))


@pytest.mark.parametrize("name", PAGES)
def test_every_page_opens_in_english_with_no_korean_left(name):
    at = open_page(name, "en")
    assert not at.exception, [e.value for e in at.exception]
    if name != "glossary":  # the glossary shows both languages side by side, on purpose
        assert not i18n_probe.hangul_left(at), i18n_probe.hangul_left(at)


def test_the_probe_finds_english_and_lets_the_seminars_terms_and_names_be():
    english = i18n_probe.is_english
    assert english("Train the model")
    assert english("Learning rate")
    assert english("학습률 (learning rate): the step size of the optimiser")
    assert not english("학습 전 feature space")
    assert not english("Anchor와 같은 class의 positive sample")
    assert not english("SimCLR + kNN")
    assert not english("AUROC 0.97")
    assert not english("$d(a,p) + m$ 안쪽의 semi-hard negative")
    assert not english("논문: *FaceNet: A Unified Embedding for Face Recognition and Clustering*, CVPR 2015")
    assert not english("Deep SVDD")
    assert english("unit circle")
    assert not english("Triplet loss (FaceNet)")  # the seminar's own title
