"""Choosing the compute device once, and seeding every random number generator."""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["available_devices", "pick_device", "seed_everything", "describe_device"]


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
    available raises ``ValueError`` that says which ones are.
    """
    choices = available_devices()
    if prefer in ("auto", None, ""):
        return torch.device(choices[0])
    if not isinstance(prefer, str):
        prefer = str(prefer)
    kind = prefer.split(":")[0]
    if kind not in ("cuda", "mps", "cpu"):
        raise ValueError(f"device must be 'auto', 'cuda', 'mps' or 'cpu', got {prefer!r}")
    if kind not in choices:
        raise ValueError(f"device {prefer!r} is not available here; available: {', '.join(choices)}")
    return torch.device(prefer)


def describe_device(device: torch.device | str) -> str:
    """A short human-readable name, e.g. ``cuda (NVIDIA H200)`` or ``cpu (2 threads)``."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({torch.get_num_threads()} threads)"


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, numpy and torch (CPU and every CUDA device)."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % (2**32))
    torch.manual_seed(int(seed))
