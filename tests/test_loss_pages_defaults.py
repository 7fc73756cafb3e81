"""Loss pages' defaults show the idea: a split where training helps, runs that differ between the losses,
a word on what to look for, and why the toy sets lose AUROC."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("triplet", "npair", "supcon", "simclr")


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=60).run()


@pytest.mark.parametrize("page", PAGES)
def test_default_split_and_what_to_look_for(page):
    at = _page(page)
    assert not at.exception, at.exception
    assert at.multiselect(key=f"{page}_normal_digits").value == ["2", "3", "5", "8"]
    assert at.multiselect(key=f"{page}_anomalous_digits").value == ["9"]
    assert any(md.value.startswith("**What to look for.**") for md in at.markdown)


@pytest.mark.parametrize("page", ["triplet", "simclr"])
def test_toy_sets_say_why_training_lowers_the_auroc(page):
    at = _page(page)
    assert not any("lower the AUROC" in c.value for c in at.caption)  # digits: no such note
    at.selectbox(key=f"{page}_dataset").set_value("toy:moons").run()
    assert not at.exception, at.exception
    note = " ".join(c.value for c in at.caption if "lower the AUROC" in c.value)
    assert "0.999 → 0.912" in note and "moon" in note, note


@pytest.mark.slow
def test_default_runs_gain_and_the_losses_differ():
    """Train each page with its defaults (as a visitor pressing Train): AUROC rises on every page, and the
    four results are not all the same number."""
    after = {}
    for page in PAGES:
        at = _page(page)
        at.button(key=f"{page}_train").click().run(timeout=240)
        assert not at.exception and not at.error, (page, at.exception, [e.value for e in at.error])
        metric = next(m for m in at.metric if m.label == "AUROC after training")
        gain = float(metric.proto.delta.split()[0])
        assert gain > 0.03, f"{page}: the default run must show what training adds, got {gain:+.3f}"
        after[page] = float(metric.value)
    assert max(after.values()) - min(after.values()) >= 0.02, after
