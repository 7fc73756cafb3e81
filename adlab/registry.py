"""The one list of methods: the anomaly detectors (deep ones and baselines) and the contrastive losses.

Every other place (the CLI's choices, Compare's list, the pages' pickers, the exports, the run
cards, the loss dispatch of :mod:`adlab.contrastive` and :mod:`adlab.losses.diagnostics`) asks this
module; none keeps its own tuple of names.

* A **detector** entry is the class itself (a :class:`adlab.detectors.base.Detector`) carrying its
  metadata as class attributes: ``name`` (the key), ``label``, ``kinds`` (the data kinds it takes:
  ``"image"``, ``"tabular"``), ``family`` (``"deep"`` or ``"baseline"``), ``quick`` (quick settings
  per data kind), ``presets`` (named settings, e.g. ``"mnist"`` for images of MNIST size) and
  ``paper_key`` (the method key of its numbers in :mod:`adlab.papers`, or ``""``).
* A **loss** entry is the loss's module (e.g. :mod:`adlab.losses.triplet`) carrying ``NAME``,
  ``LABEL``, ``PAPER_KEY``, ``Config`` (its frozen settings), ``positives``, ``make_step``,
  ``breakdown``, ``instant_batch``, ``instant_view`` and ``explore``; :mod:`adlab.losses.base`
  states the contract.

Adding a method = its module + one line in ``_BUILTIN_DETECTORS`` / ``_BUILTIN_LOSSES`` below (or a
call to :func:`register_detector` / :func:`register_loss` from your own code) + its tests.
Built-ins are imported on first use, so importing this module imports no method.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import Any

__all__ = [
    "DATA_KINDS",
    "detector",
    "detector_names",
    "detectors",
    "loss",
    "loss_names",
    "losses",
    "register_detector",
    "register_loss",
    "unregister",
]

DATA_KINDS: tuple[str, ...] = ("image", "tabular")

# --- the built-in methods, in the order the app lists them --------------------------------------
_BUILTIN_DETECTORS: tuple[str, ...] = (
    "adlab.detectors.deep_svdd:DeepSVDD",
    "adlab.detectors.goad:GOAD",
    "adlab.detectors.droc:DROC",
    "adlab.detectors.csi:CSI",
    "adlab.detectors.baselines:KNNDetector",
    "adlab.detectors.baselines:IsolationForestDetector",
    "adlab.detectors.baselines:OCSVMDetector",
)
_BUILTIN_LOSSES: tuple[str, ...] = (
    "adlab.losses.triplet",
    "adlab.losses.npair",
    "adlab.losses.supcon",
    "adlab.losses.ntxent",
)

_DETECTOR_ATTRS = ("name", "label", "kinds", "family", "quick", "presets", "paper_key")
_LOSS_ATTRS = ("NAME", "LABEL", "PAPER_KEY", "Config", "positives", "make_step", "breakdown", "instant_batch",
               "instant_view", "explore")

_lock = threading.RLock()
_detectors: dict[str, type] = {}
_losses: dict[str, ModuleType | Any] = {}
_loaded: set[str] = set()  # "detectors", "losses": built-ins imported


def _load(which: str) -> None:
    """Import the built-in detectors or losses once (each family on its own first use)."""
    with _lock:
        if which in _loaded:
            return
        _loaded.add(which)  # first: a built-in module may itself ask the registry while importing
        try:
            if which == "detectors":
                for ref in _BUILTIN_DETECTORS:
                    module, _, attr = ref.partition(":")
                    register_detector(getattr(importlib.import_module(module), attr))
            else:
                for ref in _BUILTIN_LOSSES:
                    register_loss(importlib.import_module(ref))
        except Exception:
            _loaded.discard(which)
            raise


def register_detector(cls: type) -> type:
    """Add a detector class (usable as a decorator); its ``name`` must be new. Returns ``cls``."""
    _load("detectors")  # the built-ins first, so a method added later is listed after them
    missing = [a for a in _DETECTOR_ATTRS if not hasattr(cls, a)]
    if missing:
        raise TypeError(f"{cls.__name__} is missing the registry attribute(s) {', '.join(missing)}")
    bad = set(cls.kinds) - set(DATA_KINDS)
    if not cls.kinds or bad:
        raise ValueError(f"{cls.__name__}.kinds must be a non-empty subset of {DATA_KINDS}, got {cls.kinds!r}")
    if not cls.label:
        raise ValueError(f"{cls.__name__}.label is empty: give the method a name for people")
    if cls.family not in ("deep", "baseline"):
        raise ValueError(f"{cls.__name__}.family must be 'deep' or 'baseline', got {cls.family!r}")
    with _lock:
        if cls.name in _detectors and _detectors[cls.name] is not cls:
            raise ValueError(f"a detector named {cls.name!r} is already registered ({_detectors[cls.name].__name__})")
        _detectors[cls.name] = cls
    return cls


def register_loss(module: ModuleType | Any) -> ModuleType | Any:
    """Add a loss module (or any object with the loss attributes); its ``NAME`` must be new."""
    _load("losses")  # the built-ins first, so a loss added later is listed after them
    missing = [a for a in _LOSS_ATTRS if not hasattr(module, a)]
    if missing:
        raise TypeError(f"{getattr(module, '__name__', module)!r} is missing the loss attribute(s) {', '.join(missing)}")
    with _lock:
        if module.NAME in _losses and _losses[module.NAME] is not module:
            raise ValueError(f"a loss named {module.NAME!r} is already registered")
        _losses[module.NAME] = module
    return module


def unregister(name: str) -> None:
    """Remove a detector or loss registered under ``name`` (for tests that register their own)."""
    with _lock:
        _detectors.pop(name, None)
        _losses.pop(name, None)


def detectors(*, kind: str | None = None, family: str | None = None) -> dict[str, type]:
    """Registered detector classes by name, in registration order; filtered by data ``kind``
    (``"image"`` / ``"tabular"``) and ``family`` (``"deep"`` / ``"baseline"``) when given."""
    _load("detectors")
    if kind is not None and kind not in DATA_KINDS:
        raise ValueError(f"kind must be one of {DATA_KINDS}, got {kind!r}")
    with _lock:
        items = list(_detectors.items())
    return {n: c for n, c in items if (kind is None or kind in c.kinds) and (family is None or c.family == family)}


def detector_names(**filters: str | None) -> tuple[str, ...]:
    """Names of :func:`detectors` (same filters)."""
    return tuple(detectors(**filters))


def detector(name: str) -> type:
    """The detector class registered as ``name``; ``ValueError`` listing the names otherwise."""
    found = detectors()
    if name not in found:
        raise ValueError(f"method must be one of {', '.join(found)}, got {name!r}")
    return found[name]


def losses() -> dict[str, ModuleType | Any]:
    """Registered loss modules by name, in registration order."""
    _load("losses")
    with _lock:
        return dict(_losses)


def loss_names() -> tuple[str, ...]:
    """Names of :func:`losses`."""
    return tuple(losses())


def loss(name: str) -> ModuleType | Any:
    """The loss module registered as ``name``; ``ValueError`` listing the names otherwise."""
    found = losses()
    if name not in found:
        raise ValueError(f"loss must be one of {', '.join(found)}, got {name!r}")
    return found[name]
