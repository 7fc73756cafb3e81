"""Training runs as jobs (:mod:`adlab.jobs`): one job manager per server, the jobs a page submitted kept in
its session, and the status line a page shows while they run. Imports no other page helper but _i18n.

A page calls :func:`run_job` (one job) or :func:`run_jobs` (several, submitted together) on every script run:
with specs it cancels the slot's earlier jobs and submits the new ones; without, it goes on following the
jobs still running there (a moved slider reruns the script, and the next run picks them up again). While
the jobs run, the page shows their phase, place in the queue, epoch and loss, and a Cancel button; the
call returns once they have all ended. Leaving the page cancels them (:func:`leave_others`, from app.py);
a closed tab stops touching them, and the manager drops them a few seconds later.

Everything it says is in the session's language (``jobs.*`` in the catalogues, through :mod:`pages._i18n`);
the jobs themselves report numbers and phases, and the page words them.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from adlab import i18n
from adlab.device import pick_device
from adlab.jobs import JobCancelled, JobFailed, JobHandle, JobManager, JobSpec, JobStatus
from adlab.jobs.local import LocalBackend

try:
    from pages import _i18n as i18n_ui
except ImportError:  # a page file run on its own (AppTest)
    import _i18n as i18n_ui

POLL_S = 0.25  # between two looks at a running job (each one also tells the manager the page is still open)
FOLLOW_BLOCK_S = math.inf  # a script run follows its jobs this long, then a fragment does (follow_block_s)
FOLLOW_EVERY_S = 1.0  # how often that fragment looks (a room of them polls the one server)
ENDED = ("done", "failed", "cancelled")
WAIT_KEY = "_jobs_wait_s"  # tests: the longest one script run follows its jobs (absent: until they end)
OWNER_KEY = "_jobs_owner"
_STARTED: list[JobManager] = []  # the managers manager() made, for shutdown() (written once per server)


@st.cache_resource(show_spinner=False)
def _manager() -> JobManager:
    made = JobManager.from_env(os.environ, _secrets())  # its workers never import the page (adlab.jobs.local)
    _STARTED.append(made)
    return made


def manager() -> JobManager:
    """The server's one job manager: the Dask scheduler in ``ADLAB_SCHEDULER`` or Streamlit's secrets
    (``scheduler = "tcp://..."``), else a pool of worker processes on this machine. The first call of a
    server shows a spinner while the workers start (in the language of the session that waits)."""
    if _STARTED:
        return _manager()
    with st.spinner(i18n_ui.t("jobs.starting")):
        return _manager()


def shutdown() -> None:
    """Stop the manager and its workers (a test session's end; a server's end stops them with it)."""
    while _STARTED:
        _STARTED.pop().shutdown()
    _manager.clear()


def _secrets() -> Mapping[str, Any] | None:
    if not st.secrets.load_if_toml_exists():  # no secrets file: that is the usual case, not an error
        return None
    return {key: st.secrets[key] for key in st.secrets}


def backend_text(lang: str | None = None) -> str:
    """Where the jobs run, for people, in ``lang`` (default: the session's language): the local pool and its
    workers, or the Dask cluster's address (the sidebar's "jobs run on the ..." line)."""
    lang = lang or i18n_ui.lang()
    backend = manager().backend
    if isinstance(backend, LocalBackend):
        workers = backend.max_workers
        key, fields = ("jobs.backend.local_one", {}) if workers == 1 else ("jobs.backend.local_many", {"workers": workers})
        return i18n.text_or_english(key, lang, **fields)
    client = getattr(backend, "client", None)  # a DaskBackend (distributed is imported only when one is used)
    if client is not None:
        return i18n.text_or_english("jobs.backend.dask", lang, address=client.scheduler.address)
    return manager().backend_name


def show_warning(container: Any = st) -> None:
    """The manager's warning (e.g. the scheduler did not answer, so jobs run here), if there is one."""
    if manager().warning:
        container.warning(manager().warning, icon=":material/dns:")


def spec(kind: str, *args: Any, seed: int, device: str, label: str, **kwargs: Any) -> JobSpec:
    """A :class:`JobSpec`; ``device`` as the sidebar names it (``"auto"``), resolved here (``ValueError``
    naming an unusable one, shown by the page like any other bad setting)."""
    return JobSpec(kind, args, kwargs, seed=int(seed), device=pick_device(device).type, label=label)


def owner() -> str:
    """This session's name for the manager: Streamlit's session id and a random suffix kept in the session
    (AppTest gives every session the same id)."""
    if OWNER_KEY not in st.session_state:
        ctx = get_script_run_ctx()
        st.session_state[OWNER_KEY] = f"{ctx.session_id if ctx else 'session'}-{uuid.uuid4().hex[:8]}"
    return st.session_state[OWNER_KEY]


# ----------------------------------------------------------------------------- what a session keeps
@dataclass
class Batch:
    """Jobs a page submitted together, under ``_job_<slot>`` in session state."""

    page: str
    specs: dict[str, JobSpec]
    handles: dict[str, JobHandle]
    keep: dict[str, Any] = field(default_factory=dict)  # what the page needs with the results (split, dataset)


@dataclass(frozen=True)
class Done:
    """The ended batch: results by name, failures by name (a sentence each), and what the page kept."""

    results: dict[str, Any]
    errors: dict[str, str]
    keep: dict[str, Any]
    seconds: float

    @property
    def result(self) -> Any:
        """The result of a one-job batch."""
        return next(iter(self.results.values()))


def _key(slot: str) -> str:
    return f"_job_{slot}"


def _retry_key(slot: str) -> str:
    return f"_job_{slot}_failed"


def _note_key(slot: str) -> str:
    return f"_job_{slot}_note"


def pending(slot: str) -> Batch | None:
    return st.session_state.get(_key(slot))


def cancel(slot: str, note: str | None = None) -> None:
    """Detach this session from the slot's jobs (the manager stops each one nobody else waits for)."""
    batch = st.session_state.pop(_key(slot), None)
    if batch is not None:
        for handle in batch.handles.values():
            handle.cancel()
        if note:
            st.session_state[_note_key(slot)] = note


def leave_others(page: str) -> None:
    """Cancel the jobs of every page but ``page`` (app.py: the user navigated away); touch ``page``'s own,
    so that the rerun's way back to the poll loop does not count as a closed tab."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith("_job_")]:
        batch = st.session_state[key]
        if not isinstance(batch, Batch):
            continue
        if batch.page == page:
            for handle in batch.handles.values():
                handle.touch()
        else:
            cancel(key.removeprefix("_job_"))


def submit(slot: str, specs: Mapping[str, JobSpec], *, page: str, keep: Mapping[str, Any] | None = None) -> Batch:
    """Cancel the slot's earlier jobs, then submit ``specs`` (name -> spec) for this session."""
    cancel(slot)
    st.session_state.pop(_retry_key(slot), None)
    st.session_state.pop(_note_key(slot), None)
    mgr, me = manager(), owner()
    handles = {name: mgr.submit(s, owner=me) for name, s in specs.items()}
    batch = Batch(page, dict(specs), handles, dict(keep or {}))
    st.session_state[_key(slot)] = batch
    return batch


# ----------------------------------------------------------------------------- what the page says
def _t(key: str, /, **fields: Any) -> str:
    """``jobs.<key>`` in the session's language."""
    return i18n_ui.t(f"jobs.{key}", **fields)


def error_text(err: BaseException) -> str:
    """What the page says about an error in the session's language: a catalogue error's text
    (:func:`adlab.i18n.message`; a lost worker's failure and a run past the time limit carry theirs,
    ``jobs.worker_lost`` and ``jobs.time_limit``), any other error by its own text (adlab's English
    developer messages)."""
    return i18n.message(err, i18n_ui.lang())


# ----------------------------------------------------------------------------- following the jobs
def phase_text(status: JobStatus, lang: str | None = None) -> str:
    """One line for people: queued (place), training (epoch, loss), scoring, projecting, ended; in ``lang``
    (default: the session's language)."""
    lang = lang or i18n_ui.lang()

    def say(key: str, **fields: Any) -> str:
        return i18n.text_or_english(f"jobs.{key}", lang, **fields)

    if status.phase == "queued" and status.place:
        text = say("queued_place", place=status.place)
    elif status.phase == "training" and status.epoch is not None:
        if status.loss is not None:
            text = say("training_loss", epoch=status.epoch, epochs=status.epochs, loss=status.loss)
        else:
            text = say("training_epoch", epoch=status.epoch, epochs=status.epochs)
    elif f"jobs.phase.{status.phase}" in i18n.catalogue(i18n.REFERENCE):
        text = say(f"phase.{status.phase}")
    else:
        text = status.phase
    if status.shared > 1:
        others = status.shared - 1
        text += " · " + (say("shared_one") if others == 1 else say("shared_many", others=others))
    return text


def _fraction(status: JobStatus) -> float:
    if status.phase in ENDED:
        return 1.0
    if status.phase in ("scoring", "projecting"):
        return 0.95
    return 0.9 * min(1.0, max(0.0, status.fraction))


def _draw(lines: Any, bar: Any, batch: Batch, statuses: dict[str, JobStatus]) -> None:
    """Draw the status lines and the bar."""
    if len(statuses) == 1:
        body, text = phase_text(next(iter(statuses.values()))), None
    else:
        text = _t("done_of", done=sum(s.phase in ENDED for s in statuses.values()), total=len(statuses))
        body = "\n".join(f"- **{batch.specs[n].label}**: {phase_text(s)}" for n, s in statuses.items())
    fraction = round(sum(_fraction(s) for s in statuses.values()) / len(statuses), 3)
    # drawn on every poll, changed or not: a script run notices a stop (a closed tab) or a rerun (a moved
    # slider) only when it calls Streamlit, so a poll that sent nothing would keep a closed tab's job alive
    (lines.caption if len(statuses) == 1 else lines.markdown)(body)
    bar.progress(fraction, text=text)


def run_jobs(slot: str, specs: Mapping[str, JobSpec] | None = None, *, page: str, keep: Mapping[str, Any] | None = None,
             title: str | None = None, summary: Callable[[Done], str] | None = None) -> Done | None:
    """Submit ``specs`` (when given), then follow the slot's jobs until they have all ended.

    Returns the ended batch once (the results of those that finished, a message for each that failed), or
    None: nothing was running, the jobs were cancelled (``st.info``), or none finished. Every failure is
    shown here (``st.error`` with its text, prefixed by the job's label in a batch of several), with a
    Retry button when the machine failed (a worker stopped), not the settings. ``summary(done)`` labels
    the closed status box; ``title`` labels it while the jobs run ("Training…" in the session's language
    by default).
    """
    if title is None:
        title = _t("title")
    if specs:
        submit(slot, specs, page=page, keep=keep)
    note = st.session_state.pop(_note_key(slot), None)
    if note:
        st.info(note, icon=":material/cancel:")
    batch = pending(slot)
    if batch is None:
        _offer_retry(slot)
        return None
    show_warning()
    wait = st.session_state.get(WAIT_KEY)
    limit = float(wait) if wait is not None else follow_block_s()
    started = time.monotonic()
    holder = st.empty()
    with holder.container(), st.status(title, expanded=True) as box:
        lines = st.container(key=f"_{slot}_job_status").empty()  # the status line (a browser test reads it)
        bar = st.progress(0.0, text=_t("submitted"))
        st.button(_t("cancel"), key=f"_{slot}_cancel", on_click=cancel, args=(slot, _t("cancelled")),
                  icon=":material/cancel:")
        statuses = {}
        while True:
            statuses = _look(batch)
            _draw(lines, bar, batch, statuses)
            if all(s.phase in ENDED for s in statuses.values()):
                break
            if time.monotonic() - started > limit:
                break
            time.sleep(POLL_S)
        ended = all(s.phase in ENDED for s in statuses.values())
        if ended:
            done, retry = _collect(batch, statuses)
            if done.results:
                box.update(label=summary(done) if summary else _t("done_in", seconds=done.seconds), state="complete",
                           expanded=False)
            else:
                box.update(label=_t("failed") if done.errors else _t("cancelled_short"), state="error", expanded=True)
    if not ended:
        if wait is not None:
            return None  # a test looks at the running job; the next script run follows it again
        holder.empty()  # the jobs go on: a fragment follows them, so this script run ends and the page's
        ctx = get_script_run_ctx()  # other fragments (the instant views) answer at once while they train
        if ctx is not None:
            keeper().watch(ctx.session_id, slot, list(batch.handles.values()))
        _follow(slot, title)
        return None
    if retry:
        st.session_state[_retry_key(slot)] = (batch, done.errors)
        _offer_retry(slot)
    else:
        _show_errors(batch, done.errors)
    if not done.results and not done.errors:
        message = next((s.message for s in statuses.values() if s.message), "")
        st.info(message or _t("cancelled"), icon=":material/cancel:")
    st.session_state.pop(_key(slot), None)  # last: a rerun that stops the drawing above finds the jobs again
    return done if done.results else None


def follow_block_s() -> float:
    """How long one script run follows its jobs before a fragment takes over: ``ADLAB_FOLLOW_BLOCK_S``
    seconds. Default ``inf``: to the end. A finite value (e.g. 2) keeps a session's own instant views live
    while its job trains, but each session's fragment then reruns once a second, and in bench_room that
    cost the server four times the CPU with 12 sessions training (bench/results/room.md, second report)."""
    try:
        value = float(os.environ.get("ADLAB_FOLLOW_BLOCK_S", FOLLOW_BLOCK_S))
    except ValueError:
        return FOLLOW_BLOCK_S
    return value if value >= 0 else FOLLOW_BLOCK_S


def _look(batch: Batch) -> dict[str, JobStatus]:
    """Tell the manager the page is still open, and read each job's status."""
    for handle in batch.handles.values():
        handle.touch()
    return {name: handle.status() for name, handle in batch.handles.items()}


class Keeper:
    """Keeps the jobs that fragments follow touched while their browser session is connected.

    A fragment reruns when the browser's timer says so, and a busy machine (a room of browsers on two cores)
    delays those timers past the manager's few silent seconds, which would cancel a job whose tab is open.
    So liveness comes from the server instead: once a second this thread touches the handles of every
    watched session that Streamlit still counts as connected; a closed tab stops being touched, and the
    manager drops its jobs a few seconds later, as before. Watches end when their handles have ended.
    """

    def __init__(self, every_s: float = 1.0) -> None:
        import threading

        self.every_s = every_s
        self._watched: dict[tuple[str, str], list[JobHandle]] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._loop, name="adlab-job-keeper", daemon=True).start()

    def watch(self, session_id: str, slot: str, handles: list[JobHandle]) -> None:
        with self._lock:
            self._watched[(session_id, slot)] = list(handles)

    def watching(self, session_id: str, slot: str) -> bool:
        with self._lock:
            return (session_id, slot) in self._watched

    def _loop(self) -> None:
        from streamlit import runtime

        while True:
            time.sleep(self.every_s)
            try:
                live = runtime.get_instance().is_active_session if runtime.exists() else (lambda _: False)
                with self._lock:
                    items = list(self._watched.items())
                for (session_id, slot), handles in items:
                    ended = all(h.status().phase in ENDED for h in handles)
                    if ended or not live(session_id):
                        with self._lock:
                            self._watched.pop((session_id, slot), None)
                        continue
                    for handle in handles:
                        handle.touch()
            except Exception:  # the keeper must outlive any one session's trouble
                pass


@st.cache_resource(show_spinner=False)
def keeper() -> Keeper:
    """The server's one :class:`Keeper`."""
    return Keeper()


@st.fragment(run_every=FOLLOW_EVERY_S)
def _follow(slot: str, title: str) -> None:
    """The status box of jobs that outlast :func:`follow_block_s`, redrawn every :data:`FOLLOW_EVERY_S`.

    A script run that waits for a job holds back every fragment rerun of its session (Streamlit queues
    them behind it), so a student's own instant view would freeze while the room trains. This fragment
    polls instead; once the jobs have ended (or were cancelled) it reruns the whole page, whose
    :func:`run_jobs` then collects them at once. While the tab is open it keeps the jobs touched.
    """
    batch = pending(slot)
    if batch is None:
        st.rerun(scope="app")  # cancelled (the button below): the page says so
    statuses = _look(batch)
    if all(s.phase in ENDED for s in statuses.values()):
        st.rerun(scope="app")
    with st.status(title, expanded=True):
        lines = st.container(key=f"_{slot}_job_status_live").empty()
        bar = st.progress(0.0)
        st.button(_t("cancel"), key=f"_{slot}_stop", on_click=cancel, args=(slot, _t("cancelled")),
                  icon=":material/cancel:")
        _draw(lines, bar, batch, statuses)


def _collect(batch: Batch, statuses: dict[str, JobStatus]) -> tuple[Done, bool]:
    results, errors, retry = {}, {}, False
    for name, handle in batch.handles.items():
        try:
            results[name] = handle.result(timeout=60)
        except JobFailed as err:
            errors[name] = error_text(err) or statuses[name].message
            retry = retry or err.retryable
        except JobCancelled:
            pass
    return Done(results, errors, batch.keep, max(s.seconds for s in statuses.values())), retry


def _offer_retry(slot: str) -> None:
    """A failure the machine caused (a worker stopped): its message and a Retry button, until pressed."""
    failed = st.session_state.get(_retry_key(slot))
    if failed is None:
        return
    batch, errors = failed
    _show_errors(batch, errors)
    st.button(_t("retry"), key=f"_{slot}_retry", on_click=_retry, args=(slot,), icon=":material/refresh:")


def _show_errors(batch: Batch, errors: Mapping[str, str]) -> None:
    """Each failure's sentence; named by its job's label when the batch held several."""
    for name, message in errors.items():
        st.error(message if len(batch.specs) == 1 else f"{batch.specs[name].label}: {message}")


def _retry(slot: str) -> None:
    batch, _ = st.session_state.pop(_retry_key(slot))
    submit(slot, batch.specs, page=batch.page, keep=batch.keep)


def run_job(slot: str, job: JobSpec | None = None, *, page: str, keep: Mapping[str, Any] | None = None,
            title: str | None = None, summary: Callable[[Any], str] | None = None) -> Done | None:
    """:func:`run_jobs` for one job; ``summary(result)`` labels the closed status box."""
    return run_jobs(slot, {"run": job} if job is not None else None, page=page, keep=keep, title=title,
                    summary=(lambda done: summary(done.result)) if summary else None)
