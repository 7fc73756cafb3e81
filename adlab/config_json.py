"""Configurations as plain JSON: dataclasses, method specs, detectors, numpy and torch values."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import numpy as np
import torch
from torch import nn

from adlab.detectors.base import Detector

__all__ = ["config_json", "jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` as JSON types; tuples/sets -> lists, devices/dtypes/paths -> strings, never dropped."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # "nan", "inf", "-inf"
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return jsonable(value.tolist())
    if isinstance(value, Detector):
        out: dict[str, Any] = {
            "detector": value.name,
            "class": type(value).__name__,
            "params": jsonable(value.get_params()),
        }
        if hasattr(value, "input_shape_"):
            out["input_shape"] = jsonable(value.input_shape_)
        return out
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if _is_method_spec(value):
            return {"method": value.method, "params": {k: jsonable(v) for k, v in value.params}}
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, (torch.device, torch.dtype, np.dtype, PurePath)):
        return str(value)
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, nn.Module):
        return {"class": type(value).__name__, "modules": repr(value)}
    return repr(value)


def _is_method_spec(value: Any) -> bool:
    from adlab.experiment import MethodSpec  # imported when needed: keeps this module light

    return isinstance(value, MethodSpec)


def config_json(obj: Any) -> str:
    """Pretty JSON (2-space indent, keys in field order) of a configuration.

    Dataclasses (``ContrastiveConfig`` with its nested ``TrainConfig``, ``TrainConfig``) become
    objects of their fields; a ``MethodSpec`` becomes ``{"method", "params": {name: value}}``; a
    detector becomes ``{"detector", "class", "params", "input_shape"}`` (the layout
    :meth:`DeepDetector.save` writes; ``input_shape`` once fitted); mappings stay objects.
    Tuples and sets become lists, numpy scalars and arrays numbers and lists, devices, dtypes and
    paths strings, NaN/inf the strings ``"nan"``/``"inf"``; anything else its ``repr``.
    """
    return json.dumps(jsonable(obj), indent=2, allow_nan=False, ensure_ascii=False) + "\n"
