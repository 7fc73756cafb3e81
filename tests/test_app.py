"""The app shell: navigation, the device choice, and the Home page."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_home_renders_storyline_and_map():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Contrastive learning for anomaly detection"
    text = " ".join(m.value for m in at.markdown)
    for phrase in ("Anchor", "Imbalance", "No labels", "Diversity", "hard augmentations"):
        assert phrase in text, phrase
    assert any("Computing on" in c.value for c in at.sidebar.caption)


def test_device_choice_lists_every_available_device():
    from adlab.device import available_devices, pick_device

    at = AppTest.from_file(APP, default_timeout=60).run()
    box = at.sidebar.selectbox(key="device")
    assert box.options == ["auto", *available_devices()] and box.value == "auto"
    assert all(pick_device(o) is not None for o in box.options)
    # AppTest drops the sidebar of st.navigation apps on reruns, so the pages are checked to read
    # the same session key instead (pages/_ui.py: device()).
    assert 'st.session_state.get("device", "auto")' in (Path(APP).parent / "pages" / "_ui.py").read_text()


def test_navigation_reaches_each_loss_page():
    at = AppTest.from_file(APP, default_timeout=90).run()
    for page in ("pages/triplet.py", "pages/simclr.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        assert at.title, page
