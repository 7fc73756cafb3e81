"""What a job is: :class:`JobSpec`, and the content hash that makes equal work share one job.

``JobSpec(kind, args, kwargs, seed, device, label)`` names a work function in
:data:`adlab.jobs.work.KINDS` and its arguments. :meth:`JobSpec.key` is

    key = sha256(kind, H(args), H(kwargs), seed, device)

with ``H`` = :func:`content_hash`: dataclasses by class and fields, mappings by sorted items,
sequences by items, numpy arrays and torch tensors by ``(dtype, shape, bytes)``, classes by their
import path. Equal work gives an equal key in any process; a changed setting, data row, seed or
device gives a new one. ``label`` is for people only and is not part of the key.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

__all__ = ["JobSpec", "content_hash"]


def _feed(h: Any, obj: Any) -> None:
    """Write an unambiguous, process-independent encoding of ``obj`` into the hash ``h``."""
    def tag(name: str, payload: bytes = b"") -> None:
        h.update(name.encode() + b"\x00" + struct.pack("<Q", len(payload)) + payload)

    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
        tag(type(obj).__name__, obj if isinstance(obj, bytes) else repr(obj).encode())
    elif isinstance(obj, np.ndarray) or isinstance(obj, np.generic):
        arr = np.ascontiguousarray(obj)
        if arr.dtype == object:
            tag("object-array", repr(arr.shape).encode())
            for item in arr.ravel():
                _feed(h, item)
        else:
            tag("ndarray", f"{arr.dtype.str}{arr.shape}".encode())
            h.update(memoryview(arr).cast("B") if arr.size else b"")
    elif _is_tensor(obj):
        import torch

        t = obj.detach().cpu().contiguous()
        tag("tensor", f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())  # (numel * element_size,) raw bytes
    elif isinstance(obj, enum.Enum):
        tag("enum", _path(type(obj)).encode() + b"." + obj.name.encode())
    elif isinstance(obj, type) or callable(obj) and hasattr(obj, "__qualname__"):
        tag("ref", _path(obj).encode())
    elif dataclasses.is_dataclass(obj):
        tag("dataclass", _path(type(obj)).encode())
        for f in dataclasses.fields(obj):
            tag("field", f.name.encode())
            _feed(h, getattr(obj, f.name))
    elif isinstance(obj, Mapping):
        items = sorted((content_hash(k), v) for k, v in obj.items())
        tag("mapping", str(len(items)).encode())
        for k, v in items:
            tag("key", k.encode())
            _feed(h, v)
    elif isinstance(obj, (list, tuple)):
        tag(type(obj).__name__, str(len(obj)).encode())
        for item in obj:
            _feed(h, item)
    elif isinstance(obj, (set, frozenset)):
        tag("set", ",".join(sorted(content_hash(x) for x in obj)).encode())
    elif hasattr(obj, "__dict__"):
        tag("object", _path(type(obj)).encode())
        _feed(h, vars(obj))
    else:
        raise TypeError(f"cannot hash a {type(obj).__name__} into a job key; pass numpy arrays, "
                        "dataclasses, mappings, sequences or plain values")


def _is_tensor(obj: Any) -> bool:
    return type(obj).__module__.startswith("torch") and hasattr(obj, "detach") and hasattr(obj, "dtype")


def _path(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"


def content_hash(obj: Any) -> str:
    """The sha256 hex digest of ``obj``'s content (see the module docstring); raises ``TypeError``
    for objects it cannot encode (open files, locks, models: keep those out of a job's arguments)."""
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()


@dataclass(frozen=True)
class JobSpec:
    """One unit of work for a worker: ``KINDS[kind](*args, progress=..., **kwargs)``.

    ``args`` / ``kwargs`` must pickle (configs, a ``Split``, a ``MethodSpec``, arrays); ``seed`` is
    the run's seed (it is also inside the configs; here it makes the key's dependence explicit);
    ``device`` the resolved device name the job runs on (``"cpu"``, ``"cuda"``, ``"cuda:1"``,
    ``"mps"``): a Dask job on ``cuda`` asks for a worker with the ``GPU`` resource. ``label``:
    what people read in queues and errors ("SimCLR on digits").
    """

    kind: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    device: str = "cpu"
    label: str = ""

    def __post_init__(self) -> None:
        from adlab.jobs.work import KINDS

        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not isinstance(self.args, tuple):
            raise ValueError(f"args must be a tuple, got {type(self.args).__name__}")
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not isinstance(self.device, str) or self.device.split(":")[0] not in ("cpu", "cuda", "mps"):
            raise ValueError(f"device must be 'cpu', 'cuda[:N]' or 'mps', got {self.device!r}")
        object.__setattr__(self, "kwargs", dict(self.kwargs))

    def key(self) -> str:
        """sha256 hex of (kind, args, kwargs, seed, device) by content: equal work, equal key."""
        return self._key

    @cached_property
    def _key(self) -> str:
        return content_hash(("adlab-job/1", self.kind, self.args, self.kwargs, int(self.seed), self.device))

    @property
    def title(self) -> str:
        """``label``, or the kind when no label was given."""
        return self.label or f"the {self.kind} job"
