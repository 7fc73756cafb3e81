"""Where the app's losses differ from the official code and the seminar's slides, each page says so
(issue 12's notes, compared with TensorFlow's npairs_loss, SupContrast, google-research/simclr, alinlab/CSI)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("page", "phrases"), [
    ("npair", ["`reg_lambda = 0.002`", "this app's 0.0005", "four times stronger"]),
    ("supcon", ["Anchors without a positive", "*(unverified here)*", "one positive plus the negatives"]),
    ("simclr", ["twice this app's mean", "*decoupled*", "InfoNCE"]),
    ("csi", ["adds $10^{-8}$ inside the logarithm", "18.4"]),
])
def test_each_page_names_where_it_differs_from_the_official_code(page, phrases):
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    for phrase in phrases:
        assert phrase in text, f"{page}: {phrase!r} missing"
