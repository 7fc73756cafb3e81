"""A light student for bench_room.py: one Streamlit session over its websocket, no browser.

It speaks the protocol the browser speaks (``/_stcore/stream``; BackMsg ``rerun_script`` out, ForwardMsg
in, both Streamlit's own protobufs), so the server does exactly the work a browser session costs it (the
script run, the job, every delta), while the client only parses protobufs: no layout, no JavaScript, no
plotly. What it cannot measure is paint; bench_room.py keeps real Chromium contexts for that (Home's
first paint, the slider's answer). Like the browser, it reruns a fragment that asks for it (``auto_rerun``:
a page following a long job polls it from a ``run_every`` fragment) until told to stop.

    s = WsStudent(url, "simclr", "simclr_epochs=20&simclr_seed=3")
    await s.open()                      # first script run of the link, widget ids learnt
    t = await s.click("simclr_train")   # the form's submit button, as a click sends it
    r = await s.result(t)               # metrics as the page shows them ("AUROC after training 0.939 +0.064 vs before")
    await s.close()
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

T_LONG = 600.0


@dataclass
class WsResult:
    shown_s: float  # click -> the AUROC metric received
    drawn_s: float  # click -> the script run finished (everything sent)
    metrics: list[str]


class WsStudent:
    def __init__(self, url: str, page: str, query: str) -> None:
        self.ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.page, self.query = page, query
        self.widgets: dict[str, str] = {}  # user key -> widget id (buttons)
        self.numbers: dict[str, float] = {}  # user key -> a number input's value as the page drew it
        self.metrics: list[tuple[tuple[int, ...], float, str]] = []  # (delta path, arrival, text) since the click
        self.finished = asyncio.Event()
        self.exception: str | None = None
        self.errors: list[str] = []  # st.error bodies since the click
        self.bytes_in = 0
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._timers: dict[str, asyncio.Task] = {}  # fragment id -> its auto-rerun loop
        self.page_hash = ""  # the page's script hash, as the last full run named it (a fragment rerun needs it)

    async def open(self) -> None:
        self._ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                            open_timeout=T_LONG, ping_interval=None)
        self._reader = asyncio.create_task(self._read())
        await self._rerun()
        await asyncio.wait_for(self.finished.wait(), T_LONG)
        if self.exception:
            raise RuntimeError(f"{self.page}: the script raised: {self.exception}")

    async def _rerun(self, trigger: str | None = None, fragment: str | None = None) -> None:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.page_name = self.page
        cs.widget_states.SetInParent()
        if fragment is not None:  # a fragment's own timed rerun, as the browser sends it (with the page's hash:
            cs.page_script_hash = self.page_hash  # a st.rerun(scope="app") from it would otherwise open Home)
            cs.fragment_id = fragment
            cs.is_auto_rerun = True
            await self._ws.send(msg.SerializeToString())
            return
        if trigger is not None:
            w = cs.widget_states.widgets.add()
            w.id = trigger
            w.trigger_value = True
        self.finished.clear()
        await self._ws.send(msg.SerializeToString())

    async def click(self, key: str) -> float:
        """Press the button with user key ``key`` (seen in the last run); the time it was sent."""
        if key not in self.widgets:
            raise RuntimeError(f"no button {key!r} on {self.page}; saw {sorted(self.widgets)}")
        self.metrics.clear()
        self.errors.clear()
        await self._rerun(self.widgets[key])
        return time.perf_counter()

    async def result(self, t_click: float, label: str = "AUROC after training") -> WsResult:
        shown = None
        while True:
            await asyncio.wait_for(self.finished.wait(), T_LONG)
            if self.exception:
                raise RuntimeError(f"{self.page}: the script raised: {self.exception}")
            hits = [t for _, t, text in self.metrics if text.startswith(label)]
            if hits:
                shown = hits[0]
                break
            if self.errors:
                raise RuntimeError(f"{self.page}: the run failed: {self.errors[-1]}")
            self.finished.clear()  # a run that ended without the result (should not happen): wait again
        drawn = self._finished_at
        after = [text for _, _, text in sorted(self.metrics) if "after" in text]  # as bench_room's browser filter
        return WsResult(shown - t_click, drawn - t_click, after)

    async def _read(self) -> None:
        try:
            async for frame in self._ws:
                self.bytes_in += len(frame)
                fm = ForwardMsg()
                fm.ParseFromString(frame)
                kind = fm.WhichOneof("type")
                if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                    self._element(fm)
                elif kind == "page_info_changed":  # the page rewrote its link, as the address bar follows
                    self.query = fm.page_info_changed.query_string
                elif kind == "navigation":  # st.navigation names the page it runs
                    self.page_hash = fm.navigation.page_script_hash or self.page_hash
                elif kind == "new_session" and not fm.metadata.run.fragment_ids:
                    for fragment in list(self._timers):  # a full run: the browser drops its fragment timers
                        self._stop_timer(fragment)
                elif kind == "auto_rerun":
                    self._start_timer(fm.auto_rerun.fragment_id, fm.auto_rerun.interval)
                elif kind == "stop_auto_rerun":
                    for fragment in fm.stop_auto_rerun.fragment_ids:
                        self._stop_timer(fragment)
                elif kind == "script_finished" and fm.script_finished in (0, 1):  # not a rerun's early end
                    self._finished_at = time.perf_counter()
                    self.finished.set()
        except websockets.ConnectionClosed:
            pass

    def _start_timer(self, fragment: str, interval: float) -> None:
        self._stop_timer(fragment)

        async def tick() -> None:
            try:
                while True:
                    await asyncio.sleep(interval)
                    await self._rerun(fragment=fragment)
            except (asyncio.CancelledError, websockets.ConnectionClosed):
                pass

        self._timers[fragment] = asyncio.create_task(tick())

    def _stop_timer(self, fragment: str) -> None:
        task = self._timers.pop(fragment, None)
        if task is not None:
            task.cancel()

    def _element(self, fm: ForwardMsg) -> None:
        el = fm.delta.new_element
        kind = el.WhichOneof("type")
        if kind == "button" and el.button.id:
            key = el.button.id.rsplit("-", 1)[-1]
            self.widgets[key] = el.button.id
        elif kind == "number_input" and el.number_input.id:
            box = el.number_input
            self.numbers[box.id.rsplit("-", 1)[-1]] = box.value if box.set_value else box.default
        elif kind == "metric":
            m = el.metric
            text = " ".join(x for x in (m.label, m.body, m.delta) if x)
            self.metrics.append((tuple(fm.metadata.delta_path), time.perf_counter(), " ".join(text.split())))
        elif kind == "alert" and el.alert.format == 1:  # st.error: a failed job says why here
            self.errors.append(el.alert.body)
        elif kind == "exception":
            self.exception = f"{el.exception.type}: {el.exception.message}"

    async def close(self) -> None:
        for fragment in list(self._timers):
            self._stop_timer(fragment)
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader
