"""The app shell: navigation, the device choice, and the Home page."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_home_is_the_first_step_the_definition_and_maps_the_path():
    from pages import _steps

    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Contrastive learning for anomaly detection"
    n = len(_steps.STEPS)
    text = " ".join(m.value for m in at.markdown)
    for phrase in ("A contrast is a great difference", "Contrastive learning", f"{n} steps"):
        assert phrase in text, phrase
    assert any("Computing on" in c.value for c in at.sidebar.caption)
    links = [el.proto for el in at.get("page_link")]
    steps = [link for link in links if link.label.startswith("**")]
    steps.sort(key=lambda link: int(link.label.split(". ", 1)[0].strip("*")))
    assert [link.label.split(". ", 1)[0].strip("*") for link in steps] == [str(k) for k in range(1, n + 1)]
    assert "Anchor, positive sample, negative sample" in steps[2].label and "Conclusion" in steps[-1].label


def test_device_choice_lists_every_available_device():
    from adlab.device import available_devices, pick_device

    at = AppTest.from_file(APP, default_timeout=60).run()
    box = at.sidebar.selectbox(key="device")
    assert box.options == ["auto", *available_devices()] and box.value == "auto"
    for option in available_devices():  # each named device is the one a run would use
        assert pick_device(option).type == option.split(":")[0], option


def test_a_page_trains_on_the_device_chosen_in_the_sidebar():
    """AppTest drops the sidebar of st.navigation apps on reruns, so the choice is set in the session
    key the sidebar writes; a device the machine cannot use must reach the page as an error naming it."""
    page = str(Path(APP).parent / "pages" / "simclr.py")
    at = AppTest.from_file(page, default_timeout=120)
    at.session_state["device"] = "cpu"
    at.run()
    at.number_input(key="simclr_epochs").set_value(1)
    at.button(key="simclr_train").click().run()
    assert not at.exception and not at.error
    assert at.session_state["simclr_run"]["run"].history.device == "cpu"

    at = AppTest.from_file(page, default_timeout=120)
    at.session_state["device"] = "tpu"
    at.run()
    at.button(key="simclr_train").click().run()
    assert not at.exception
    assert any("'tpu'" in e.value for e in at.error), [e.value for e in at.error]
    assert "simclr_run" not in at.session_state


def test_navigation_reaches_each_loss_page():
    at = AppTest.from_file(APP, default_timeout=90).run()
    for page in ("pages/triplet.py", "pages/simclr.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        assert at.title, page
