"""A seminar room on one server: N students (headless-Chromium contexts, or websocket sessions without a
browser) press Train on a loss page at the same moment, first with distinct seeds, then all with one link.

For each N in --sessions:

1. Solo (server A, fresh): every link alone, one after the other, each in a fresh session: click Train ->
   the AUROC metric and the UMAP figure on screen (seconds), and the metrics shown.
2. Room (server B, fresh, so that no solo result sits in the job cache): N sessions open their links and
   click Train at once (asyncio.gather over one async Playwright); the makespan runs from the first click
   to the last session showing its result. Distinct seeds 0..N-1 first, then N copies of one link.
3. Probes, in a second room of the same size on seeds nobody ran yet (or in the timed rooms themselves with
   --together): a newcomer opens Home in a fresh context again and again (seconds from goto() to the title
   painted) and another student moves the Triplet margin slider (seconds from the key press to the
   instant view's new batch loss on screen). Idle values are taken on server B before its rooms.
4. Every session's "... after" metrics must equal, string for string as shown, those of the same link run
   alone; the makespan is compared with the summed solo times (distinct) and one solo time (identical).

CPU time of the server (Streamlit process, job workers), of the client (this process, Playwright,
Chromium) and of every other process is sampled with psutil over each room run: on 2 cores the client and
other people's jobs compete with the server.

    .venv/bin/python bench/bench_room.py --sessions 6,12 --epochs 20,10 [--client browser|ws[,...]] [--page simclr]
        [--together] [--out bench/results/room.md]
    .venv/bin/python bench/bench_room.py --dry-run [--client browser,ws]   # 2 sessions, 2 epochs, /tmp/room_dry.md

--client ws drives the N students through bench/_room_client.py (Streamlit's websocket protocol, no
rendering), which is how 30 students fit on a 2-core machine beside the server; the probes stay Chromium.

Goals (issue 11; benchmarks, not timed tests), with 12 sessions training on a 2-core machine: Home paints
within 2 s and a slider answers within 0.5 s (every sample); every session's numbers equal its solo run;
distinct runs finish within 1.3x their summed solo times; twelve identical links within 1.5x one solo run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from _machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-sync",
               # many contexts in one headless browser: keep every page's timers and rendering running
               "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
               "--disable-backgrounding-occluded-windows"]
VIEWPORT = {"width": 1400, "height": 1000}
HOME_TITLE = "Contrastive learning for anomaly detection"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
GOALS = {"home_s": 2.0, "slider_s": 0.5, "distinct_ratio": 1.3, "identical_ratio": 1.5}
T_LONG = 600_000  # ms: a room of 12 on 2 cores can take minutes


# ----------------------------------------------------------------------------- server
class Server:
    """One `streamlit run app.py` on a free port, stopped by its own PID."""

    def __init__(self, log: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=2).read() == b"ok":
                    return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the server did not answer its health check within 120 s (log: {log})")

    def stop(self) -> None:
        procs = []
        try:
            procs = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for child in procs:  # the job workers, should the server have left any behind
            try:
                child.kill()
            except psutil.Error:
                pass
        self.log.close()


# ----------------------------------------------------------------------------- CPU
class CpuSampler:
    """CPU seconds used by the server's process tree (main process / workers) and by the client (this
    process, Playwright's driver, Chromium and its renderers), sampled every 0.5 s between start and stop."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.group: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.t0 = self.t1 = 0.0

    @staticmethod
    def _cpu(p: psutil.Process) -> float:
        t = p.cpu_times()
        return t.user + t.system

    def _sample(self) -> None:
        try:
            server = psutil.Process(self.server_pid)
            tree = {server.pid: "server"} | {c.pid: "workers" for c in server.children(recursive=True)}
        except psutil.Error:
            tree = {}
        me = psutil.Process(os.getpid())
        client = {me.pid: "client"} | {c.pid: "client" for c in me.children(recursive=True) if c.pid not in tree}
        for pid, grp in (tree | client).items():
            try:
                p = psutil.Process(pid)
                cpu = self._cpu(p)
                born = p.create_time()
            except psutil.Error:
                continue
            if pid not in self.first:
                self.first[pid] = 0.0 if born > self.wall0 else cpu
            self.last[pid] = cpu
            self.group[pid] = grp

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(0.5)

    @staticmethod
    def _busy() -> float:
        t = psutil.cpu_times()
        return sum(t) - t.idle - getattr(t, "iowait", 0.0)

    def start(self) -> None:
        self.busy0 = self._busy()
        self.load0 = os.getloadavg()[0]
        self.wall0 = time.time()
        self.t0 = time.perf_counter()
        self._sample()
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.t1 = time.perf_counter()
        used = {"server": 0.0, "workers": 0.0, "client": 0.0}
        for pid, cpu in self.last.items():
            used[self.group[pid]] += max(0.0, cpu - self.first[pid])
        used["wall"] = self.t1 - self.t0
        used["machine"] = self._busy() - self.busy0  # every process on the machine
        used["others"] = max(0.0, used["machine"] - used["server"] - used["workers"] - used["client"])
        used["load0"] = self.load0
        return used


# ----------------------------------------------------------------------------- one student
def link(url: str, page: str, epochs: int, seed: int) -> str:
    return f"{url}/{page}?{page}_epochs={epochs}&{page}_seed={seed}"


async def open_page(browser, address: str, *, wait_title: bool = True):
    ctx = await browser.new_context(viewport=VIEWPORT)
    pg = await ctx.new_page()
    await pg.goto(address, wait_until="commit", timeout=T_LONG)  # the content is waited for below
    if wait_title:
        await pg.wait_for_selector('[data-testid="stMain"] h1', timeout=T_LONG)
        await pg.wait_for_selector(IDLE, timeout=T_LONG)
    return pg


async def check_link(pg, page: str, epochs: int, seed: int) -> None:
    """The link's settings reached the form (else the run would not be the one the link names)."""
    for key, want in ((f"{page}_seed", seed), (f"{page}_epochs", epochs)):
        box = pg.locator(f".st-key-{key} input").first
        await box.wait_for(timeout=T_LONG)
        got = await box.input_value()
        if int(float(got)) != want:
            raise RuntimeError(f"{key}: the page shows {got}, the link says {want}")


async def click_train(pg, page: str) -> float:
    await pg.locator(f".st-key-{page}_train button").first.click(timeout=T_LONG)
    return time.perf_counter()


@dataclass
class Result:
    shown_s: float  # click -> AUROC metric on screen
    drawn_s: float  # click -> the UMAP figure drawn too
    metrics: list[str]


async def wait_result(pg, page: str, t_click: float) -> Result:
    auroc = pg.locator('[data-testid="stMetric"]').filter(has_text="AUROC after training").first
    await auroc.wait_for(timeout=T_LONG)
    shown = time.perf_counter() - t_click
    await pg.locator(f".st-key-{page}_umap .js-plotly-plot").first.wait_for(timeout=T_LONG)
    drawn = time.perf_counter() - t_click
    await pg.wait_for_selector(IDLE, timeout=T_LONG)
    if await pg.locator('[data-testid="stException"]').count():
        raise RuntimeError("the page shows an exception: "
                           + await pg.locator('[data-testid="stException"]').first.inner_text())
    metrics = await pg.locator('[data-testid="stMetric"]').filter(has_text="after").all_inner_texts()
    return Result(shown, drawn, [" ".join(m.split()) for m in metrics])


class BrowserStudent:
    """A student in a real browser: a fresh Chromium context on the link."""

    def __init__(self, browser, url: str, page: str, epochs: int, seed: int) -> None:
        self.browser, self.address, self.page, self.epochs, self.seed = browser, link(url, page, epochs, seed), page, epochs, seed
        self.pg = None

    async def open(self) -> None:
        self.pg = await open_page(self.browser, self.address)
        await check_link(self.pg, self.page, self.epochs, self.seed)

    async def click(self) -> float:
        return await click_train(self.pg, self.page)

    async def result(self, t_click: float) -> Result:
        return await wait_result(self.pg, self.page, t_click)

    async def close(self) -> None:
        await self.pg.context.close()


class LightStudent:
    """A student without a browser: one Streamlit session over its websocket (bench/_room_client.py);
    ``drawn`` is the moment the script run that shows the result has finished sending."""

    def __init__(self, browser, url: str, page: str, epochs: int, seed: int) -> None:
        from _room_client import WsStudent

        self.page, self.epochs, self.seed = page, epochs, seed
        self.ws = WsStudent(url, page, f"{page}_epochs={epochs}&{page}_seed={seed}")

    async def open(self) -> None:
        await self.ws.open()
        for key, want in ((f"{self.page}_seed", self.seed), (f"{self.page}_epochs", self.epochs)):
            if int(self.ws.numbers.get(key, -1)) != want:
                raise RuntimeError(f"{key}: the page drew {self.ws.numbers.get(key)}, the link says {want}")

    async def click(self) -> float:
        return await self.ws.click(f"{self.page}_train")

    async def result(self, t_click: float) -> Result:
        r = await self.ws.result(t_click)
        return Result(r.shown_s, r.drawn_s, r.metrics)

    async def close(self) -> None:
        await self.ws.close()


STUDENTS = {"browser": BrowserStudent, "ws": LightStudent}


async def train_alone(student) -> Result:
    await student.open()
    try:
        return await student.result(await student.click())
    finally:
        await student.close()


# ----------------------------------------------------------------------------- the probes
async def home_paint(browser, url: str, shells: list[tuple[float, float]]) -> float:
    """A newcomer: fresh context, goto('/') -> the Home title painted (context creation not timed). Goes to
    ``shells``: when the last static file (HTML, JavaScript, CSS, fonts) had arrived, from the page's own
    resource timing, and when Streamlit's frame (``stApp``) was up, before the script's first element."""
    ctx = await browser.new_context(viewport=VIEWPORT)
    pg = await ctx.new_page()
    try:
        t0 = time.perf_counter()
        await pg.goto(url + "/", wait_until="commit", timeout=T_LONG)  # (its load event: Playwright's 30 s cap)
        await pg.wait_for_selector('[data-testid="stApp"]', timeout=T_LONG)
        frame = time.perf_counter() - t0
        await pg.locator('[data-testid="stMain"] h1').filter(has_text=HOME_TITLE).first.wait_for(timeout=T_LONG)
        paint = time.perf_counter() - t0
        files = await pg.evaluate("() => Math.max(0, ...performance.getEntriesByType('resource')"
                                  ".filter(e => e.name.includes('/static/')).map(e => e.responseEnd)) / 1000")
        shells.append((files, frame))
        return paint
    finally:
        await ctx.close()


async def slider_answer(pg) -> float:
    """Triplet margin slider: key press -> the instant view's batch loss changed on screen."""
    metric = pg.locator('[data-testid="stMetric"]').filter(has_text="Batch loss").first
    before = await metric.inner_text()
    thumb = pg.locator(".st-key-triplet_margin input[type=range]").first
    await thumb.focus()
    key = "ArrowLeft" if float(await thumb.input_value()) >= 0.5 else "ArrowRight"
    t0 = time.perf_counter()
    await pg.keyboard.press(key)
    await pg.wait_for_function(
        "(old) => { const m = [...document.querySelectorAll('[data-testid=\"stMetric\"]')]"
        ".find(e => e.innerText.includes('Batch loss')); return m && m.innerText !== old; }",
        arg=before, polling=20, timeout=T_LONG)
    return time.perf_counter() - t0


async def probe_loop(fn, stop: asyncio.Event, pause: float) -> list[float]:
    """Measure again and again until ``stop``; a sample started before ``stop`` is kept."""
    out: list[float] = []
    while not stop.is_set():
        out.append(await fn())
        try:
            await asyncio.wait_for(stop.wait(), timeout=pause)
        except TimeoutError:
            pass
    return out


# ----------------------------------------------------------------------------- phases
@dataclass
class Room:
    mode: str  # "distinct" or "identical"
    seeds: list[int]
    probed: bool  # the Home and slider probes ran alongside
    results: list[Result] = field(default_factory=list)
    click_spread_s: float = 0.0  # first click -> last click
    makespan_shown_s: float = 0.0
    makespan_drawn_s: float = 0.0
    home_s: list[float] = field(default_factory=list)
    home_shell_s: list[tuple[float, float]] = field(default_factory=list)  # (static files in, frame up)
    slider_s: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)


async def warm_up(browser, url: str, page: str, epochs: int) -> None:
    """A fresh server: start the job workers, import the pages, run one training no session repeats."""
    for address in (url + "/", url + "/triplet"):
        pg = await open_page(browser, address)
        await pg.context.close()
    await train_alone(BrowserStudent(browser, url, page, epochs, 9999))


async def room_run(browser, server: Server, page: str, epochs: int, seeds: list[int], mode: str,
                   slider_pg, pauses: tuple[float, float], client: str, probed: bool) -> Room:
    room = Room(mode, seeds, probed)
    pages = []
    try:
        for seed in seeds:  # one after the other: N pages loading at once on 2 cores is not what we measure
            pages.append(STUDENTS[client](browser, server.url, page, epochs, seed))
            await pages[-1].open()
        sampler = CpuSampler(server.proc.pid)
        sampler.start()
        stop = asyncio.Event()
        t0 = time.perf_counter()
        clicks = await asyncio.gather(*(pg.click() for pg in pages))
        room.click_spread_s = max(clicks) - t0
        probes = [asyncio.create_task(probe_loop(lambda: home_paint(browser, server.url, room.home_shell_s), stop, pauses[0])),
                  asyncio.create_task(probe_loop(lambda: slider_answer(slider_pg), stop, pauses[1]))] if probed else []
        room.results = list(await asyncio.gather(*(pg.result(c) for pg, c in zip(pages, clicks, strict=True))))
        room.makespan_shown_s = max(c + r.shown_s for c, r in zip(clicks, room.results, strict=True)) - t0
        room.makespan_drawn_s = max(c + r.drawn_s for c, r in zip(clicks, room.results, strict=True)) - t0
        stop.set()
        if probes:
            room.home_s, room.slider_s = await asyncio.gather(*probes)
        room.cpu = sampler.stop()
    finally:
        for pg in pages:
            try:
                await pg.close()
            except Exception:  # noqa: BLE001 (one that never opened)
                pass
    return room


@dataclass
class Trial:
    n: int
    epochs: int
    identical_seed: int
    solo: dict[int, Result] = field(default_factory=dict)  # seed -> alone
    idle_home_s: list[float] = field(default_factory=list)
    idle_home_shell_s: list[tuple[float, float]] = field(default_factory=list)
    idle_slider_s: list[float] = field(default_factory=list)
    rooms: list[Room] = field(default_factory=list)
    backend: str = ""
    client: str = "browser"
    error: str = ""  # the room size failed: why


async def trial(tr: Trial, browser, page: str, logdir: Path, pauses: tuple[float, float], together: bool) -> None:
    """Fill ``tr`` (what was measured stays in it should a later step fail)."""
    n, epochs, client = tr.n, tr.epochs, tr.client
    seeds = list(range(n))
    server = Server(logdir / f"room_server_solo_{n}.log")
    try:
        await warm_up(browser, server.url, page, epochs)
        for seed in [*seeds, tr.identical_seed]:
            tr.solo[seed] = await train_alone(STUDENTS[client](browser, server.url, page, epochs, seed))
            print(f"  N={n} solo seed {seed}: {tr.solo[seed].drawn_s:.2f} s  {tr.solo[seed].metrics[:1]}", flush=True)
    finally:
        server.stop()
    server = Server(logdir / f"room_server_room_{n}.log")
    try:
        await warm_up(browser, server.url, page, epochs)
        slider_pg = await open_page(browser, server.url + "/triplet")
        await slider_pg.locator(".st-key-triplet_margin input[type=range]").first.wait_for(timeout=T_LONG)
        side = await slider_pg.locator('[data-testid="stSidebar"]').get_by_text("jobs run on").all_inner_texts()
        tr.backend = " ".join(side[0].split()) if side else "(not shown)"
        for _ in range(3):
            tr.idle_home_s.append(await home_paint(browser, server.url, tr.idle_home_shell_s))
        for _ in range(5):
            tr.idle_slider_s.append(await slider_answer(slider_pg))
            await asyncio.sleep(0.3)
        print(f"  N={n} idle: Home {_max(tr.idle_home_s):.2f} s, slider {_max(tr.idle_slider_s):.2f} s", flush=True)
        passes = [("distinct", seeds, together), ("identical", [tr.identical_seed] * n, together)]
        if not together:  # the probes in a second room of the same size on seeds nobody ran yet (no cache hits)
            passes[1:1] = [("distinct", [500 + s for s in seeds], True)]
            passes.append(("identical", [2000 + n] * n, True))
        for mode, room_seeds, probed in passes:
            room = await room_run(browser, server, page, epochs, room_seeds, mode, slider_pg, pauses, client, probed)
            tr.rooms.append(room)
            print(f"  N={n} {mode}{' with probes' if probed else ''}: makespan {room.makespan_drawn_s:.1f} s, Home max {_max(room.home_s):.2f} s, "
                  f"slider max {_max(room.slider_s):.2f} s", flush=True)
        await slider_pg.context.close()
    finally:
        server.stop()


# ----------------------------------------------------------------------------- report
def _med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _max(xs: list[float]) -> float:
    return max(xs) if xs else float("nan")


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _reference(tr: Trial, room: Room) -> tuple[float, float, str]:
    """(reference seconds, goal ratio, what the reference is): the clean pass's solo runs."""
    if room.mode == "distinct":
        return sum(tr.solo[s].drawn_s for s in range(tr.n)), GOALS["distinct_ratio"], "sum of solo"
    return tr.solo[tr.identical_seed].drawn_s, GOALS["identical_ratio"], "one solo"


def _equal(tr: Trial, room: Room) -> list[bool] | None:
    """Each session's numbers against the same link alone (None: these seeds had no solo run)."""
    if not all(s in tr.solo for s in room.seeds):
        return None
    return [r.metrics == tr.solo[s].metrics for r, s in zip(room.results, room.seeds, strict=True)]


def _series(xs: list[float], goal: float) -> str:
    if not xs:
        return "—"
    return f"{_med(xs):.2f} / {_max(xs):.2f}, {len(xs)} {_met(_max(xs) <= goal)}"


def report(trials: list[Trial], page: str, command: str, loads: tuple, started: str,
           home_every: float, slider_every: float) -> str:
    end_load = os.getloadavg()
    lines = [
        "# A room on one server: N browser sessions training at once",
        "",
        "Each student is a real headless-Chromium context (Playwright, async API, one browser) on one "
        f"`streamlit run app.py` server; the page is `/{page}` with its settings in the link "
        f"(`?{page}_epochs=E&{page}_seed=S`; the page's form shows the link's seed and epochs before Train is "
        "pressed). **Solo**: each link alone, one after the other, in a fresh context on a fresh server. "
        "**Room**: a second fresh server (so no solo result sits in the job cache), N contexts click Train at "
        "once; *makespan* = first click to the last session's AUROC metric and UMAP figure on screen. "
        "**Probes**: a newcomer opens Home in a fresh context (goto -> the title painted; again "
        f"{home_every:g} s after the last) and one student moves the Triplet margin slider (key press -> the "
        f"instant view's new batch loss on screen; again {slider_every:g} s after the last answer). Unless "
        "`--together`, the probes run in a second room of the same size and kind on seeds nobody ran before, "
        "because their own Chromium work (a whole app load per newcomer) would otherwise stretch the timed "
        "room on 2 cores; that room's makespan is shown against the same reference. **Numbers** = every metric "
        "labelled *... after* as shown (AUROC, AUPRC, F1, alignment, uniformity, with their deltas), compared "
        "as strings with the same link's solo run. With `--client ws` the N students are websocket sessions "
        "without a browser (bench/_room_client.py: Streamlit's own protocol, so the same script runs, jobs "
        "and deltas on the server, and no rendering on the client); their solo runs use the same client, their "
        "*figure* time is the end of the script run that sends the result, and the probes are still Chromium.",
        "",
        f"Command: `{command}`  ",
        f"Date: {started} to {dt.datetime.now().isoformat(timespec='seconds')}  ",
        f"Machine: {platform.machine()} ({cpu_model()}), {os.cpu_count()} CPU cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, python {platform.python_version()}; load average "
        f"(1/5/15 min) at the start: {loads[0]:.1f} / {loads[1]:.1f} / {loads[2]:.1f}, at the end: "
        f"{end_load[0]:.1f} / {end_load[1]:.1f} / {end_load[2]:.1f}  ",
        "Client and server share the machine's cores. CPU seconds per process group over each room run: the "
        "server process, its job workers, the client (this process, Playwright's driver, Chromium), and every "
        "other process on the machine (other people's work) from the system-wide counters.",
        "",
    ]
    summary = ["| N | students | epochs | runs | probes | makespan s | reference s | ratio | goal | numbers equal solo "
               "| Home paint s (median / max, n) | slider s (median / max, n) "
               "| CPU s: server / workers / client / others (wall) |",
               "|---:|---|---:|---|---|---:|---:|---:|---|---|---|---|---|"]
    verdicts = []
    for tr in trials:
        for room in tr.rooms:
            ref, goal, what = _reference(tr, room)
            ratio = room.makespan_drawn_s / ref
            equal = _equal(tr, room)
            cpu = room.cpu
            summary.append(
                f"| {tr.n} | {tr.client} | {tr.epochs} | {room.mode} | {'yes' if room.probed else 'no'} "
                f"| {room.makespan_drawn_s:.1f} | {ref:.1f} ({what}) | {ratio:.2f} | ≤ {goal} {_met(ratio <= goal)} "
                f"| {f'{sum(equal)}/{len(equal)} {_met(all(equal))}' if equal is not None else '— (no solo runs)'} "
                f"| {_series(room.home_s, GOALS['home_s'])} | {_series(room.slider_s, GOALS['slider_s'])} "
                f"| {cpu['server']:.0f} / {cpu['workers']:.0f} / {cpu['client']:.0f} / {cpu['others']:.0f} "
                f"({cpu['wall']:.0f}) |")
            if tr.n >= 12:
                verdicts.append((tr, room, ratio, goal, equal))
    lines += ["## Summary", "", *summary, "",
              "Goals (issue 11, for 12 sessions; other N shown against the same bounds): makespan ratio ≤ 1.3 "
              "(distinct seeds, against the summed solo times) and ≤ 1.5 (identical links, against one solo run); "
              "every Home paint ≤ 2 s and every slider answer ≤ 0.5 s while the room trains; every session's "
              "numbers equal its solo run's.", ""]
    if verdicts:
        lines += ["## Goals with 12 or more sessions", ""]
        for tr, room, ratio, goal, equal in verdicts:
            parts = [f"makespan {room.makespan_drawn_s:.1f} s = {ratio:.2f}x its reference (≤ {goal}: {_met(ratio <= goal)})"]
            if equal is not None:
                parts.append(f"numbers equal solo in {sum(equal)}/{len(equal)} sessions ({_met(all(equal))})")
            if room.probed:
                parts.append(f"Home paint max {_max(room.home_s):.2f} s (≤ 2 s: {_met(_max(room.home_s) <= 2)})")
                parts.append(f"slider max {_max(room.slider_s):.2f} s (≤ 0.5 s: {_met(_max(room.slider_s) <= 0.5)})")
            lines.append(f"- N={tr.n}, {tr.client} students, {room.mode}{', with probes' if room.probed else ''}: "
                         + "; ".join(parts))
        lines.append("")
    for tr in trials:
        lines += [f"## N = {tr.n}, {tr.epochs} epochs, {tr.client} students", ""]
        if tr.error:
            lines += [f"**Failed** after {len(tr.solo)} solo runs and {len(tr.rooms)} room runs: `{tr.error}`", ""]
        lines += [f"Jobs: {tr.backend}. Idle (the room's server before the rooms, nothing training): Home paint "
                  f"{_med(tr.idle_home_s):.2f} s median / {_max(tr.idle_home_s):.2f} s max (n={len(tr.idle_home_s)}; "
                  f"static files in after {_med([a for a, _ in tr.idle_home_shell_s]):.2f} s, Streamlit's frame up after "
                  f"{_med([b for _, b in tr.idle_home_shell_s]):.2f} s, medians), "
                  f"slider {_med(tr.idle_slider_s):.2f} s / {_max(tr.idle_slider_s):.2f} s (n={len(tr.idle_slider_s)}).", ""]
        for room in tr.rooms:
            cpu = room.cpu
            equal = _equal(tr, room)
            lines += [f"**{room.mode}{', with probes' if room.probed else ''}** (seeds {sorted(set(room.seeds))}): "
                      f"clicks spread over {room.click_spread_s:.2f} s; makespan {room.makespan_drawn_s:.1f} s to the last "
                      f"figure ({room.makespan_shown_s:.1f} s to the last AUROC metric). CPU over {cpu['wall']:.0f} s wall: "
                      f"server process {cpu['server']:.0f} s, job workers {cpu['workers']:.0f} s, client {cpu['client']:.0f} s "
                      f"({cpu['client'] / cpu['wall']:.2f} of the {os.cpu_count()} cores), other processes "
                      f"{cpu['others']:.0f} s; load average (1 min) as the room started: {cpu['load0']:.1f}.", ""]
            if room.probed:
                lines += ["Home paints (s; in brackets: the last static file in / Streamlit's frame up, before the "
                          "script's first element): " + ", ".join(
                              f"{x:.2f} ({a:.2f} / {b:.2f})" for x, (a, b) in zip(room.home_s, room.home_shell_s, strict=True))
                          + "  ",
                          f"Slider answers (s): {', '.join(f'{x:.2f}' for x in room.slider_s)}", ""]
            lines += ["| session | seed | solo: Train → metric / figure s | room: Train → metric / figure s "
                      "| AUROC alone | AUROC in the room | all numbers equal |",
                      "|---:|---:|---:|---:|---|---|---|"]
            for i, (seed, r) in enumerate(zip(room.seeds, room.results, strict=True)):
                s = tr.solo.get(seed)
                solo_t = f"{s.shown_s:.2f} / {s.drawn_s:.2f}" if s else "—"
                same = "—" if s is None else ("yes" if r.metrics == s.metrics else "NO")
                lines.append(f"| {i} | {seed} | {solo_t} | {r.shown_s:.2f} / {r.drawn_s:.2f} "
                             f"| {_auroc(s.metrics) if s else '—'} | {_auroc(r.metrics)} | {same} |")
            lines.append("")
            if equal is not None:
                for seed, r in zip(room.seeds, room.results, strict=True):
                    if r.metrics != tr.solo[seed].metrics:
                        lines.append(f"- seed {seed}: alone `{tr.solo[seed].metrics}`, in the room `{r.metrics}`")
                if not all(equal):
                    lines.append("")
    return "\n".join(lines)


def _auroc(metrics: list[str]) -> str:
    return next((m.replace("AUROC after training", "").strip() for m in metrics if m.startswith("AUROC")), "?")


# ----------------------------------------------------------------------------- main
async def amain(args, sessions: list[int], epochs: list[int], clients: list[str], save) -> list[Trial]:
    from playwright.async_api import async_playwright

    logdir = Path(args.logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    trials = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            for n, e, client in zip(sessions, epochs, clients, strict=True):
                print(f"N={n}, {e} epochs, {client} students", flush=True)
                trials.append(Trial(n, e, identical_seed=1000 + n, client=client))
                try:
                    await trial(trials[-1], browser, args.page, logdir, (args.home_every, args.slider_every),
                                args.together)
                except Exception as err:  # noqa: BLE001 (reported, and the other room sizes still run)
                    print(f"  N={n} failed: {type(err).__name__}: {err}", flush=True)
                    trials[-1].error = f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:300]}"
                save(trials)  # what is done so far, should a later room size never end
        finally:
            await browser.close()
    return trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="6,12", help="room sizes, comma-separated")
    parser.add_argument("--epochs", default="20", help="epochs per run: one value, or one per room size")
    parser.add_argument("--page", default="simclr", help="a loss page: simclr, supcon, npair, triplet")
    parser.add_argument("--out", default=None, help="markdown result (default bench/results/room.md)")
    parser.add_argument("--home-every", type=float, default=3.0, help="seconds between two newcomers on Home")
    parser.add_argument("--slider-every", type=float, default=1.0, help="seconds between two slider moves")
    parser.add_argument("--client", default="browser",
                        help="the N students: browser (Chromium contexts) or ws (websocket sessions without a "
                             "browser, bench/_room_client.py); one value, or one per --sessions entry. The Home "
                             "and slider probes are Chromium either way")
    parser.add_argument("--together", action="store_true",
                        help="probe Home and the slider during the timed rooms themselves (default: in a second "
                             "room of the same size, so that the probes' own browser work does not stretch the "
                             "makespan on a 2-core machine)")
    parser.add_argument("--append", action="store_true",
                        help="keep what --out already holds and add this run's report below it")
    parser.add_argument("--logdir", default="/tmp/bench_room", help="the servers' logs")
    parser.add_argument("--dry-run", action="store_true", help="2 sessions, 2 epochs, /tmp/room_dry.md")
    args = parser.parse_args()
    if args.dry_run:  # one small room per client named
        args.sessions, args.epochs = ",".join("2" for x in args.client.split(",") if x), "2"
        args.out = args.out or "/tmp/room_dry.md"
    out = Path(args.out or ROOT / "bench" / "results" / "room.md")
    sessions = [int(x) for x in args.sessions.split(",") if x]
    epochs = [int(x) for x in args.epochs.split(",") if x]
    if len(epochs) == 1:
        epochs *= len(sessions)
    if len(epochs) != len(sessions):
        parser.error("--epochs takes one value or one per --sessions entry")
    clients = [x for x in args.client.split(",") if x]
    if len(clients) == 1:
        clients *= len(sessions)
    if len(clients) != len(sessions) or set(clients) - set(STUDENTS):
        parser.error(f"--client takes one of {sorted(STUDENTS)}, or one per --sessions entry")
    command = ".venv/bin/python bench/bench_room.py " + " ".join(sys.argv[1:])
    loads = os.getloadavg()
    started = dt.datetime.now().isoformat(timespec="seconds")

    before = out.read_text().rstrip() + "\n\n---\n\n" if args.append and out.exists() else ""

    def save(trials: list[Trial]) -> str:
        text = report(trials, args.page, command, loads, started, args.home_every, args.slider_every)
        out.write_text(before + text)
        return text

    print(save(asyncio.run(amain(args, sessions, epochs, clients, save))))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
