"""Choosing the compute device once, and seeding every random number generator."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["DeviceError", "available_devices", "pick_device", "seed_everything", "seeded", "describe_device"]

# One lock for the whole process: Streamlit runs sessions as threads of one process, and torch's
# global generator is shared by all of them.
_GLOBAL_RNG = threading.RLock()


class DeviceError(ValueError):
    """A device that cannot be used here. ``str(err)`` is the English sentence; ``text_key`` and
    ``text_fields`` say it from the app's catalogue in another language (:func:`adlab.i18n.message`)."""

    def __init__(self, key: str, message: str, **fields: str) -> None:
        super().__init__(message)
        self.text_key, self.text_fields = f"common.device.{key}", dict(fields)

    def __reduce__(self):  # pickled as it was made (a worker process may raise it)
        return (_rebuild, (self.text_key.rsplit(".", 1)[1], str(self), self.text_fields))


def _rebuild(key: str, message: str, fields: dict[str, str]) -> DeviceError:
    return DeviceError(key, message, **fields)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """Devices usable here, best first: ``cuda`` (if present), ``mps`` (if present), ``cpu``."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if _mps_available():
        found.append("mps")
    found.append("cpu")
    return found


def pick_device(prefer: str = "auto") -> torch.device:
    """Return the device to compute on.

    ``prefer="auto"`` takes CUDA, then Apple MPS, then the CPU. Naming a device that is not
    available raises :class:`DeviceError` (a ``ValueError``) that says which ones are.
    """
    choices = available_devices()
    if prefer in ("auto", None, ""):
        return torch.device(choices[0])
    if not isinstance(prefer, str):
        prefer = str(prefer)
    kind = prefer.split(":")[0]
    if kind not in ("cuda", "mps", "cpu"):
        raise DeviceError("unknown", f"device must be 'auto', 'cuda', 'mps' or 'cpu', got {prefer!r}",
                          asked=repr(prefer))
    if kind not in choices:
        available = ", ".join(choices)
        raise DeviceError("unavailable", f"device {prefer!r} is not available here; available: {available}",
                          asked=repr(prefer), available=available)
    return torch.device(prefer)


def describe_device(device: torch.device | str, lang: str = "en") -> str:
    """A short human-readable name, e.g. ``cuda (NVIDIA H200)`` or ``cpu (2 threads)``, in ``lang`` (the
    app's catalogue, ``common.device.*``; English by default)."""
    from adlab import i18n  # the catalogue is read only when a page asks

    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return i18n.text("common.device.cpu", lang, threads=torch.get_num_threads())


def _check_seed(seed: int) -> None:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block (building a model: ``nn.init`` draws from torch's global generator) as if the
    process had just been seeded with ``seed``, and leave every global generator as it was.

    Holds a process-wide lock for the block, so two sessions building models at the same time never
    interleave their draws: each run's initial weights depend on its own seed alone. Python's
    ``random`` and numpy's global state are saved and restored too; torch's CPU and CUDA generators
    through :func:`torch.random.fork_rng`.
    """
    _check_seed(seed)
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with _GLOBAL_RNG, torch.random.fork_rng(devices=devices):
        py_state, np_state = random.getstate(), np.random.get_state()
        try:
            seed_everything(seed)
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, numpy and torch (CPU and every CUDA device): process-wide.

    For scripts and benchmarks; the library itself uses :func:`seeded` and explicit generators, so a
    run in one thread never moves another thread's random stream.
    """
    _check_seed(seed)
    random.seed(int(seed))
    np.random.seed(int(seed) % (2**32))
    torch.manual_seed(int(seed))
