"""How a running job talks to the process that submitted it: :class:`Progress` and its channels.

The worker side holds a :class:`Progress` (picklable): ``progress.phase(name)`` announces
"training" / "scoring" / "projecting"; ``progress.callback`` is an :mod:`adlab.train` callback that
forwards ``TrainEvent``s as ``{"epoch", "epochs", "loss", "fraction"}`` at most five times a
second; ``progress.cancel.is_set()`` (what :func:`adlab.train.fit` polls) becomes true when the job
is cancelled or has run past its time limit, and the next ``phase`` call then stops the job.

A channel carries the updates: :class:`adlab.jobs.local.ManagerChannel` (a multiprocessing
manager's dicts) on the local pool, :class:`adlab.jobs.dask_backend.DaskChannel` (``distributed.Variable``
and ``Event``) on a cluster. Both implement :class:`Channel`.
"""

from __future__ import annotations

import math
import time
from typing import Any, Protocol

__all__ = ["Channel", "Progress", "Stopped", "THROTTLE_S"]

THROTTLE_S = 0.2  # at most five updates a second
_CANCEL_POLL_S = 0.2  # how often the worker asks the channel whether the job was cancelled


class Channel(Protocol):
    def publish(self, update: dict[str, Any]) -> None: ...  # the job's latest state, whole
    def cancelled(self) -> bool: ...
    def worker_name(self) -> str: ...  # "local-<pid>" or the Dask worker's address


class Stopped(Exception):
    """Raised inside a worker by :meth:`Progress.phase` once the job is cancelled or out of time."""


class _Cancel:
    """``is_set()`` for :func:`adlab.train.fit`: cancelled by the owner, or past the deadline."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def is_set(self) -> bool:
        return self._progress.stop_reason() is not None


class Progress:
    """The worker's handle on its job (see the module docstring). ``time_limit_s`` counts from
    :meth:`begin`, i.e. from when a worker starts the job, not from when it was queued."""

    def __init__(self, channel: Channel, *, time_limit_s: float | None = None) -> None:
        self._channel = channel
        self.time_limit_s = time_limit_s
        self._state: dict[str, Any] = {}
        self._deadline = math.inf
        self._last_publish = 0.0
        self._last_poll = 0.0
        self._cancelled = False
        self._started = 0.0

    def __getstate__(self) -> dict[str, Any]:
        return {"_channel": self._channel, "time_limit_s": self.time_limit_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["_channel"], time_limit_s=state["time_limit_s"])

    # ---------------------------------------------------------------- worker side
    def begin(self) -> None:
        """The job starts on this worker: name it, start the time limit's clock, say "training"."""
        self._started = time.monotonic()
        if self.time_limit_s is not None:
            self._deadline = self._started + float(self.time_limit_s)
        self._state = {"phase": "training", "worker": self._channel.worker_name(), "fraction": 0.0,
                       "epoch": None, "epochs": None, "loss": None}
        self._push()

    def phase(self, name: str) -> None:
        """Announce a new phase; raises :class:`Stopped` when the job was cancelled or is out of time."""
        if self.stop_reason() is not None:
            raise Stopped(self.stop_reason())
        self._state["phase"] = name
        self._push()

    @property
    def callback(self):
        """An :mod:`adlab.train` callback: TrainEvents -> ``{"epoch", "epochs", "loss", "fraction"}``."""
        return self._on_event

    def _on_event(self, event: Any) -> None:
        try:
            self._state.update(epoch=min(event.epoch + 1, event.epochs), epochs=event.epochs,
                               loss=float(event.loss), fraction=float(event.fraction))
            if event.kind == "end":
                self._state["phase"] = "scoring"
                self._push()
            elif time.monotonic() - self._last_publish >= THROTTLE_S:
                self._push()
        except Exception:  # progress must never break a run
            pass

    @property
    def cancel(self) -> _Cancel:
        """For ``fit(cancel=...)``: ``is_set()`` is true once cancelled or past the time limit."""
        return _Cancel(self)

    def stop_reason(self) -> str | None:
        """``"cancelled"``, ``"time limit"`` or None (asks the channel at most five times a second)."""
        if time.monotonic() > self._deadline:
            return "time limit"
        now = time.monotonic()
        if not self._cancelled and now - self._last_poll >= _CANCEL_POLL_S:
            self._last_poll = now
            try:
                self._cancelled = bool(self._channel.cancelled())
            except Exception:
                pass
        return "cancelled" if self._cancelled else None

    def elapsed(self) -> float:
        return time.monotonic() - self._started if self._started else 0.0

    def _push(self) -> None:
        self._last_publish = time.monotonic()
        try:
            self._channel.publish(dict(self._state))
        except Exception:
            pass


class NullChannel:
    """A channel to nowhere: running :func:`adlab.jobs.work.run_spec` in this process (tests, scripts)."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.cancel_requested = False

    def publish(self, update: dict[str, Any]) -> None:
        self.updates.append(update)

    def cancelled(self) -> bool:
        return self.cancel_requested

    def worker_name(self) -> str:
        import os

        return f"local-{os.getpid()}"
