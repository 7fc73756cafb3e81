"""The detector contract: scikit-learn's estimator shape, one score direction.

Every detector (deep or shallow) is a :class:`Detector`:

* ``__init__`` only stores keyword arguments (all hyperparameters, with defaults);
* ``fit(X, y=None, *, callbacks=(), cancel=None) -> self`` validates ``X`` and learns; learned
  state ends in ``_``; ``y`` is accepted for API symmetry and ignored (test labels never enter fit);
* ``anomaly_score(X) -> np.ndarray`` of shape (n,): **higher means more anomalous** — the one
  score convention of this project, defined here and nowhere else;
* ``embed(X) -> np.ndarray`` of shape (n, d): the features a page projects with UMAP.

Deep detectors subclass :class:`DeepDetector`, which trains through :func:`adlab.train.fit` and
can save / restore its weights as a state dict plus a JSON config (no pickle anywhere).
"""

from __future__ import annotations

import inspect
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from adlab.train import Callback

__all__ = ["Detector", "DeepDetector", "NotFittedError", "check_X"]


class NotFittedError(RuntimeError):
    """Raised when scoring with a detector that has not been fitted."""


def check_X(X: Any, *, name: str = "X", min_rows: int = 1) -> np.ndarray:
    """Validate a feature array: numeric, finite, 2-D (n, d) or 4-D images (n, C, H, W), float32."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    try:
        X = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    if X.ndim not in (2, 4):
        raise ValueError(f"{name} must have shape (n, d) or (n, C, H, W), got shape {X.shape}")
    if len(X) < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got {len(X)}")
    if not np.isfinite(X).all():
        bad = int((~np.isfinite(X)).sum())
        raise ValueError(f"{name} holds {bad} NaN or infinite values; impute or drop them first")
    return X


class Detector:
    """Base class; see the module docstring for the contract."""

    #: short name used by the CLI and the pages
    name: ClassVar[str] = "detector"

    # -- scikit-learn style parameters -------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind in kinds]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._param_names()}

    def set_params(self, **params: Any) -> Detector:
        valid = set(self._param_names())
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {k!r}; valid: {sorted(valid)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- the contract ------------------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        *,
        callbacks: Sequence[Callback] = (),
        cancel: threading.Event | None = None,
    ) -> Detector:
        raise NotImplementedError

    def _score(self, X: np.ndarray) -> np.ndarray:
        """Subclasses return (n,) scores, higher = more anomalous."""
        raise NotImplementedError

    def anomaly_score(self, X: np.ndarray) -> np.ndarray:
        """Anomaly scores of ``X``: shape (n,), float64, **higher = more anomalous**."""
        self._check_fitted()
        X = check_X(X)
        scores = np.asarray(self._score(X), dtype=np.float64).reshape(-1)
        if scores.shape[0] != X.shape[0]:
            raise RuntimeError(f"{type(self).__name__} returned {scores.shape[0]} scores for {X.shape[0]} rows")
        return scores

    def embed(self, X: np.ndarray) -> np.ndarray:
        """Features of ``X`` (n, d) that a page projects; shallow detectors return flattened inputs."""
        X = check_X(X)
        return X.reshape(len(X), -1)

    def _check_fitted(self) -> None:
        if not any(k.endswith("_") and not k.startswith("_") for k in vars(self)):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(X) first")


class DeepDetector(Detector):
    """A detector whose learned state is one ``nn.Module`` in ``self.model_`` (plus tensors).

    Subclasses set ``model_`` (and any extra tensors listed in ``_state_tensors``) in ``fit``.
    ``save`` writes ``<path>.pt`` (a state dict of tensors only) and ``<path>.json`` (the
    parameters); ``load`` rebuilds the model with ``_build(input_shape)`` and restores it with
    ``torch.load(weights_only=True)``.
    """

    _state_tensors: ClassVar[tuple[str, ...]] = ()

    def _build(self, input_shape: tuple[int, ...]) -> nn.Module:
        raise NotImplementedError

    def _device(self) -> torch.device:
        return next(self.model_.parameters()).device

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """What :meth:`save` writes: ``model.*`` (the network's state dict) and ``extra.*`` (the
        tensors in ``_state_tensors``), detached copies on the CPU; tensors only, so
        ``torch.load(weights_only=True)`` reads them back."""
        self._check_fitted()
        state = {f"model.{k}": v.detach().cpu().clone() for k, v in self.model_.state_dict().items()}
        for name in self._state_tensors:
            state[f"extra.{name}"] = torch.as_tensor(getattr(self, name)).detach().cpu().clone()
        return state

    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write weights (``.pt``, tensors only) and config (``.json``); return both paths."""
        path = Path(path)
        state = self.state_tensors()
        weights, config = path.with_suffix(".pt"), path.with_suffix(".json")
        torch.save(state, weights)
        params = {k: v for k, v in self.get_params().items() if _jsonable(v)}
        meta = {"detector": self.name, "class": type(self).__name__, "params": params,
                "input_shape": list(self.input_shape_)}
        config.write_text(json.dumps(meta, indent=2))
        return weights, config

    @classmethod
    def load(cls, path: str | Path, *, device: str = "cpu") -> DeepDetector:
        """Restore a detector saved by :meth:`save` (weights only: nothing is unpickled)."""
        path = Path(path)
        meta = json.loads(path.with_suffix(".json").read_text())
        if meta.get("class") != cls.__name__:
            raise ValueError(f"{path} holds a {meta.get('class')}, not a {cls.__name__}")
        params = meta["params"]
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
        det = cls(**params)
        state = torch.load(path.with_suffix(".pt"), map_location="cpu", weights_only=True)
        det.input_shape_ = tuple(meta["input_shape"])
        det.model_ = det._build(det.input_shape_)
        det.model_.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("model.")})
        for name in cls._state_tensors:
            setattr(det, name, state[f"extra.{name}"])
        det._after_load()
        det.model_.to(device).eval()
        return det

    def _after_load(self) -> None:
        """Hook for subclasses that derive more state from the restored tensors."""


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True
