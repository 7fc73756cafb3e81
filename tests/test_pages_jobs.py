"""A page's training runs as a job (pages/_jobs.py over adlab.jobs): its status while it runs, Cancel,
Train pressed twice, two sessions sharing one job, and a failure inside the job shown as before.

``_jobs_wait_s`` in session state bounds how long one script run follows its job, so a test can look
at the page while the job is still queued or training (in the app a run follows it to the end).
"""

import os
import signal
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGE = "simclr"
RUNNING = ("queued", "training", "scoring", "projecting")


def _open(page: str = PAGE, *, wait: float | None = 0.5) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=240)
    at.session_state["_jobs_wait_s"] = wait
    at.run()
    assert not at.exception, at.exception
    return at


def _status_text(at: AppTest) -> str:
    """The job's status line ("queued — place 1 in the queue", "training — epoch 2/5 · loss ...")."""
    lines = [c.value for c in at.caption if c.value.startswith(RUNNING)]
    assert lines, [c.value for c in at.caption]
    return lines[0]


def _handle(at: AppTest, slot: str = PAGE):
    return at.session_state[f"_job_{slot}"].handles["run"]


def _settings(at: AppTest, *, epochs: int, seed: int) -> None:
    """A run of its own (the seed), long enough to be seen running (batch size 32: four times the steps)."""
    at.number_input(key=f"{PAGE}_epochs").set_value(epochs)
    at.number_input(key=f"{PAGE}_seed").set_value(seed)
    at.select_slider(key=f"{PAGE}_batch").set_value(32)


def _follow(at: AppTest) -> AppTest:
    """Let the next script run follow the job to its end."""
    at.session_state["_jobs_wait_s"] = None
    at.run(timeout=240)
    assert not at.exception, at.exception
    return at


def test_the_page_shows_the_job_then_its_result():
    at = _open()
    _settings(at, epochs=20, seed=0)
    at.button(key=f"{PAGE}_train").click().run()
    assert not at.exception, at.exception
    _status_text(at)
    assert at.status and at.button(key=f"_{PAGE}_cancel"), "a running job has a status box with a Cancel button"
    assert f"{PAGE}_run" not in at.session_state

    _follow(at)
    assert not at.error, [e.value for e in at.error]
    assert f"_job_{PAGE}" not in at.session_state, "an ended job leaves the session"
    run = at.session_state[f"{PAGE}_run"]["run"]
    assert (run.config.train.epochs, run.config.train.batch_size) == (20, 32)
    auroc = next(m for m in at.metric if m.label == "AUROC after training")
    assert auroc.value == f"{run.metrics_after['auroc']:.3f}"


def test_cancel_stops_the_job_and_says_so():
    at = _open()
    _settings(at, epochs=100, seed=2)
    at.button(key=f"{PAGE}_train").click().run()
    handle = _handle(at)
    at.button(key=f"_{PAGE}_cancel").click().run()
    assert not at.exception, at.exception
    assert any("cancelled" in i.value for i in at.info), [i.value for i in at.info]
    assert handle.status().phase == "cancelled"
    assert f"_job_{PAGE}" not in at.session_state and f"{PAGE}_run" not in at.session_state


def test_train_again_cancels_the_first_job():
    at = _open()
    _settings(at, epochs=100, seed=3)
    at.button(key=f"{PAGE}_train").click().run()
    first = _handle(at)
    at.number_input(key=f"{PAGE}_seed").set_value(4)
    at.button(key=f"{PAGE}_train").click().run()
    second = _handle(at)
    assert second.key != first.key
    assert first.status().phase == "cancelled", "pressing Train again cancels the job it replaces"
    assert second.status().phase in RUNNING
    at.button(key=f"_{PAGE}_cancel").click().run()
    assert second.status().phase == "cancelled"


def test_a_rerun_finds_the_running_job():
    """A moved slider reruns the script mid-job: the next run follows the same job, it does not start one."""
    at = _open()
    _settings(at, epochs=100, seed=5)
    at.button(key=f"{PAGE}_train").click().run()
    handle = _handle(at)
    at.slider(key=f"{PAGE}_tau").set_value(0.1).run()  # the instant view's slider: a plain rerun
    assert _handle(at) is handle
    assert _status_text(at).startswith(("queued", "training")), "the rerun shows the same job's status"
    at.button(key=f"_{PAGE}_cancel").click().run()
    assert handle.status().phase == "cancelled"


def test_two_sessions_share_one_job_and_see_the_same_numbers():
    from pages import _jobs

    sessions = [_open(), _open()]
    for at in sessions:
        _settings(at, epochs=100, seed=7)
    before = _jobs.manager().executions
    for at in sessions:
        at.button(key=f"{PAGE}_train").click().run()
        assert not at.exception, at.exception
    first, second = (_handle(at) for at in sessions)
    assert first.key == second.key
    assert second.status().shared == 2
    assert "shared with 1 other session" in _status_text(sessions[1])
    for at in sessions:
        _follow(at)
    assert _jobs.manager().executions - before == 1, "identical work is done once"
    runs = [at.session_state[f"{PAGE}_run"]["run"] for at in sessions]
    assert runs[0] is runs[1]
    assert [m.value for m in sessions[0].metric] == [m.value for m in sessions[1].metric]


def test_a_killed_worker_gives_a_message_and_a_retry():
    at = _open()
    _settings(at, epochs=40, seed=8)
    at.button(key=f"{PAGE}_train").click().run()
    handle = _handle(at)
    deadline = time.time() + 180
    while handle.status().phase != "training" and time.time() < deadline:
        time.sleep(0.2)
    worker = handle.status().worker
    assert worker.startswith("local-"), worker
    os.kill(int(worker.removeprefix("local-")), signal.SIGKILL)
    _follow(at)
    assert at.error and "stopped unexpectedly" in at.error[0].value, [e.value for e in at.error]
    assert f"{PAGE}_run" not in at.session_state
    at.run()  # the message and the button stay until used
    assert at.error and "_simclr_retry" in [b.key for b in at.button]
    at.button(key="_simclr_retry").click().run(timeout=240)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state[f"{PAGE}_run"]["run"].config.train.seed == 8


SCRIPT = """
import streamlit as st
from adlab.data import make_toy, one_class_split
from adlab.experiment import MethodSpec
from pages import _jobs

split = one_class_split(make_toy("blobs", seed=0), ["blob 0"], ["anomaly"], seed=0)
spec = MethodSpec.of("csi")  # CSI rotates images: on rows the job fails with the library's ValueError
done = _jobs.run_job("demo", _jobs.spec("detector", split, spec, seed=0, device="cpu", label="CSI"), page="demo")
st.write("done" if done else "no result")
"""


def test_a_failure_inside_the_job_shows_the_librarys_message():
    from adlab.data import make_toy, one_class_split
    from adlab.experiment import MethodSpec, run_detector

    split = one_class_split(make_toy("blobs", seed=0), ["blob 0"], ["anomaly"], seed=0)
    with pytest.raises(ValueError) as raised:
        run_detector(split, MethodSpec.of("csi"))
    at = AppTest.from_string(SCRIPT, default_timeout=240).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [" ".join(str(raised.value).split())]
    assert "_demo_retry" not in [b.key for b in at.button], "bad settings are not retried"


def test_a_long_job_is_followed_by_a_fragment_so_the_page_stays_live(monkeypatch):
    """In the app a script run follows its job for ADLAB_FOLLOW_BLOCK_S seconds, then a ``run_every``
    fragment does: the script run ends, so the page's instant view answers while its own job trains."""
    monkeypatch.setenv("ADLAB_FOLLOW_BLOCK_S", "0")
    at = AppTest.from_file(str(ROOT / "pages" / f"{PAGE}.py"), default_timeout=240).run()  # no _jobs_wait_s: as the app
    _settings(at, epochs=60, seed=11)
    at.button(key=f"{PAGE}_train").click().run()
    assert not at.exception, at.exception
    handle = _handle(at)
    assert handle.status().phase in RUNNING, "the script run ended while the job runs"
    assert at.button(key=f"_{PAGE}_stop"), "the fragment's status box, with its Cancel button"
    before = _batch_loss(at)
    at.slider(key=f"{PAGE}_tau").set_value(0.1).run()
    assert not at.exception, at.exception
    assert _batch_loss(at) != before and handle.status().phase in RUNNING, "the instant view answered mid-job"
    assert _handle(at) is handle

    deadline = time.time() + 240
    while f"{PAGE}_run" not in at.session_state and time.time() < deadline:
        time.sleep(0.5)
        at.run()  # the browser reruns the fragment every FOLLOW_EVERY_S; once the job ended it reruns the page
        assert not at.exception, at.exception
    run = at.session_state[f"{PAGE}_run"]["run"]
    assert run.config.train.epochs == 60 and f"_job_{PAGE}" not in at.session_state
    assert any(m.label == "AUROC after training" for m in at.metric)


def test_the_fragments_cancel_button_stops_the_job(monkeypatch):
    monkeypatch.setenv("ADLAB_FOLLOW_BLOCK_S", "0")
    at = AppTest.from_file(str(ROOT / "pages" / f"{PAGE}.py"), default_timeout=240).run()  # no _jobs_wait_s: as the app
    _settings(at, epochs=100, seed=12)
    at.button(key=f"{PAGE}_train").click().run()
    handle = _handle(at)
    at.button(key=f"_{PAGE}_stop").click().run()
    assert not at.exception, at.exception
    assert any("cancelled" in i.value for i in at.info), [i.value for i in at.info]
    assert handle.status().phase == "cancelled"


def _batch_loss(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label.startswith("Batch loss"))


def test_the_keeper_touches_a_connected_sessions_jobs_and_lets_a_closed_tabs_go(monkeypatch):
    """A fragment's browser timer can lag on a busy machine: liveness comes from the server's session list."""
    from streamlit import runtime

    from pages import _jobs

    class Handle:
        def __init__(self):
            self.touches = 0

        def touch(self):
            self.touches += 1

        def status(self):
            return type("S", (), {"phase": "training"})()

    connected = {"open-tab"}
    fake = type("Runtime", (), {"is_active_session": staticmethod(lambda sid: sid in connected)})()
    monkeypatch.setattr(runtime, "exists", lambda: True)
    monkeypatch.setattr(runtime, "get_instance", lambda: fake)
    keeper = _jobs.Keeper(every_s=0.05)
    open_tab, closed_tab = Handle(), Handle()
    keeper.watch("open-tab", PAGE, [open_tab])
    keeper.watch("closed-tab", PAGE, [closed_tab])
    time.sleep(0.5)
    assert open_tab.touches >= 3 and closed_tab.touches == 0
    assert keeper.watching("open-tab", PAGE) and not keeper.watching("closed-tab", PAGE)
    connected.clear()  # the tab closes
    time.sleep(0.3)
    assert not keeper.watching("open-tab", PAGE)
