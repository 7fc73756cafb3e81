"""The detector contract: scikit-learn's estimator shape, one score direction, registry metadata.

Every detector (deep or shallow) is a :class:`Detector`:

* ``__init__`` only stores keyword arguments (all hyperparameters, with defaults);
* ``fit(X, y=None, *, callbacks=(), cancel=None) -> self`` validates ``X`` and learns; learned
  state ends in ``_``; ``y`` is accepted for API symmetry and ignored (test labels never enter fit);
* ``anomaly_score(X) -> np.ndarray`` of shape (n,): **higher means more anomalous** — the one
  score convention of this project, defined here and nowhere else;
* ``embed(X) -> np.ndarray`` of shape (n, d): the features a page projects with UMAP.

The class carries what :mod:`adlab.registry` lists: ``name``, ``label``, ``kinds``, ``family``,
``quick``, ``presets`` and ``paper_key`` (see :class:`Detector`).

Deep detectors subclass :class:`DeepDetector`, one template ``fit`` with small hooks (see there);
it trains through :func:`adlab.train.fit` and can save / restore its weights as a state dict plus a
JSON config (no pickle anywhere).
"""

from __future__ import annotations

import inspect
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from adlab import train
from adlab.detectors.scaling import identity_stats, recalibrate_batchnorm, zscore_stats
from adlab.device import pick_device, seeded

__all__ = ["DeepDetector", "Detector", "NotFittedError", "TrainPlan", "check_X"]

_NO_SETTINGS: Mapping[str, Mapping[str, Any]] = MappingProxyType({})


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
    """Base class; see the module docstring for the contract.

    Registry metadata (class attributes, read by :mod:`adlab.registry` and everything that lists
    methods: the CLI, Compare, the exports, the run cards):

    * ``name``: the key (CLI argument, links, file names); ``label``: what a person reads;
    * ``kinds``: data kinds it takes, a subset of ``("image", "tabular")``;
    * ``family``: ``"deep"`` (trained network, has an untrained baseline) or ``"baseline"``;
    * ``quick``: ``{kind: params}``, settings for a run of a few seconds on two CPU cores;
    * ``presets``: ``{name: params}``; ``"mnist"`` is used for grey images of MNIST size;
    * ``paper_key``: the method key of its numbers in :mod:`adlab.papers` (``""``: none).
    """

    name: ClassVar[str] = "detector"
    label: ClassVar[str] = ""
    kinds: ClassVar[tuple[str, ...]] = ("image", "tabular")
    family: ClassVar[str] = "baseline"
    quick: ClassVar[Mapping[str, Mapping[str, Any]]] = _NO_SETTINGS
    presets: ClassVar[Mapping[str, Mapping[str, Any]]] = _NO_SETTINGS
    paper_key: ClassVar[str] = ""

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

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> Detector:
        """A detector with the parameters of ``presets[name]``, updated by ``overrides``."""
        if name not in cls.presets:
            raise ValueError(f"name must be one of {sorted(cls.presets)}, got {name!r}")
        return cls(**{**cls.presets[name], **overrides})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- the contract ------------------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        *,
        callbacks: Sequence[train.Callback] = (),
        cancel: threading.Event | None = None,
    ) -> Detector:
        raise NotImplementedError

    def fit_untrained(self, X: np.ndarray, y: np.ndarray | None = None) -> Detector:
        """The detector before training (deep detectors only; a baseline has nothing to train)."""
        raise ValueError(f"{self.name} is not a deep detector; it has no untrained state")

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


@dataclass
class TrainPlan:
    """What a deep detector's :meth:`DeepDetector._plan` hands to the template's training run.

    ``step(model, batch) -> 0-d loss`` and ``data`` (tensors or ``(epoch, generator) -> batches``)
    go to :func:`adlab.train.fit`; ``callbacks`` run before the caller's; ``state`` is the method's
    scratch space, shared by its step and read back in :meth:`DeepDetector._finish`.
    """

    step: train.StepFn
    data: train.BatchSource
    callbacks: Sequence[train.Callback] = ()
    state: dict[str, Any] = field(default_factory=dict)


class DeepDetector(Detector):
    """A detector whose learned state is one ``nn.Module`` in ``self.model_`` (plus tensors).

    **One template for fitting.** :meth:`fit` (and :meth:`fit_untrained`) run, in this order:

    1. ``_check_params()`` and ``X = _check_input(X)`` (hooks; default :func:`check_X`, 2 rows);
    2. standardisation: with ``standardize_input`` (class attribute) tabular rows ``(n, d)`` are
       z-scored, ``x' = (x - mean_j) / s_j`` with the training mean and (population) standard
       deviation, ``s_j = 1`` where it is below 1e-8; images are used as given. Kept as
       ``input_mean_`` / ``input_scale_`` (0 / 1 when nothing is scaled); ``Xt`` = the scaled rows;
    3. the model: ``_build(input_shape)`` under :func:`adlab.device.seeded` (the same seed gives
       the same initial weights, whatever else runs), moved to ``device``;
    4. ``_plan(model, X, Xt, cfg) -> TrainPlan`` (hook): whatever needs the initial network (Deep
       SVDD's centre) and the training step; ``cfg = _train_config(input_shape)`` (hook);
    5. :func:`adlab.train.fit` with the plan (skipped by :meth:`fit_untrained`); anything random in
       a step draws from a ``torch.Generator`` the plan makes from ``seed``, never torch's global one;
    6. BatchNorm recalibration when ``_recalibrates_batchnorm()`` (hook; Deep SVDD always, DROC on
       request): :func:`adlab.detectors.scaling.recalibrate_batchnorm` on ``Xt``;
    7. learned state: ``model_`` (eval mode), ``input_shape_``, ``input_mean_``, ``input_scale_``,
       ``history_``, ``trained_`` (whether at least one optimisation step was taken); then ``_finish(model, X, Xt, plan)`` (hook): what a method
       computes after training (Deep SVDD's radius, GOAD's centres, DROC's stage-2 model, CSI's
       feature bank).

    **The untrained baseline**, :meth:`fit_untrained`: steps 1-4, 6 and 7 exactly as in ``fit``,
    with zero optimisation steps in between: no batch passes through the network in training
    mode, the weights are the initial ones of the same seed, and BatchNorm keeps its default
    running statistics unless step 6 recalibrates them. Each method's ``untrained_note`` says what
    that means for it. ``history_`` is empty and ``trained_`` is False.

    ``save`` writes ``<path>.pt`` (a state dict of tensors only) and ``<path>.json`` (the
    parameters); ``load`` rebuilds the model with ``_build(input_shape)`` and restores it with
    ``torch.load(weights_only=True)``; tensors listed in ``_state_tensors`` are saved beside it.
    """

    family: ClassVar[str] = "deep"
    #: z-score tabular rows with the training statistics before they reach the network
    standardize_input: ClassVar[bool] = False
    #: what "before training" means for this method (shown by pages next to the untrained baseline)
    untrained_note: ClassVar[str] = "the network with its initial weights (same seed), no optimisation step"
    _state_tensors: ClassVar[tuple[str, ...]] = ()

    # -- the template --------------------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        *,
        callbacks: Sequence[train.Callback] = (),
        cancel: threading.Event | None = None,
    ) -> DeepDetector:
        """Train on the rows of ``X`` (all taken as normal; ``y`` is ignored); see the class docstring."""
        return self._run_template(X, train_network=True, callbacks=callbacks, cancel=cancel)

    def fit_untrained(self, X: np.ndarray, y: np.ndarray | None = None) -> DeepDetector:
        """Fit everything but the network: the detector as initialised (class docstring, ``untrained_note``)."""
        return self._run_template(X, train_network=False)

    def _run_template(
        self,
        X: np.ndarray,
        *,
        train_network: bool,
        callbacks: Sequence[train.Callback] = (),
        cancel: threading.Event | None = None,
    ) -> DeepDetector:
        self._check_params()
        X = self._check_input(X)
        shape = tuple(int(s) for s in X.shape[1:])
        cfg = self._train_config(shape)
        device = pick_device(self.device)
        mean, scale = zscore_stats(X) if self.standardize_input and X.ndim == 2 else identity_stats()
        Xt = torch.from_numpy(((X - mean) / scale).astype(np.float32))  # (n, ...) scaled rows
        with seeded(self.seed):  # the same seed gives the same initial weights, whatever else runs
            model = self._build(shape)
        model = model.to(device)
        plan = self._plan(model, X, Xt, cfg)
        if train_network:
            history = train.fit(model, plan.step, plan.data, cfg,
                                callbacks=(*plan.callbacks, *callbacks), cancel=cancel)
        else:
            history = train.History(device=str(device))
        if self._recalibrates_batchnorm():
            recalibrate_batchnorm(model, Xt, device, cfg.batch_size)
        # learned state is set only once training has succeeded
        self.model_ = model.eval()
        self.input_shape_ = shape
        self.input_mean_, self.input_scale_ = mean, scale
        self.history_ = history
        self.trained_ = bool(history.step_losses)  # at least one optimisation step was taken
        self._finish(model, X, Xt, plan)
        return self

    # -- hooks ---------------------------------------------------------------------------------
    def _check_params(self) -> None:
        """Raise ``ValueError`` for a bad hyperparameter (before any work)."""

    def _check_input(self, X: Any) -> np.ndarray:
        """Validate the training data; default :func:`check_X` with at least 2 rows."""
        return check_X(X, min_rows=2)

    def _train_config(self, input_shape: tuple[int, ...]) -> train.TrainConfig:
        """The optimisation settings: ``epochs``, ``batch_size``, ``lr``, ``weight_decay``, ``betas``
        (where the method has them), ``seed``, ``device``."""
        return train.TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=getattr(self, "weight_decay", 0.0),
            betas=tuple(getattr(self, "betas", (0.9, 0.999))),
            seed=self.seed,
            device=self.device,
        )

    def _build(self, input_shape: tuple[int, ...]) -> nn.Module:
        raise NotImplementedError

    def _plan(self, model: nn.Module, X: np.ndarray, Xt: torch.Tensor, cfg: train.TrainConfig) -> TrainPlan:
        raise NotImplementedError

    def _recalibrates_batchnorm(self) -> bool:
        return False

    def _finish(self, model: nn.Module, X: np.ndarray, Xt: torch.Tensor, plan: TrainPlan) -> None:
        """Learned state computed after training (or instead of it, for :meth:`fit_untrained`)."""

    # -- helpers for subclasses ------------------------------------------------------------------
    def _device(self) -> torch.device:
        return next(self.model_.parameters()).device

    def _standardize(self, X: np.ndarray) -> np.ndarray:
        """Rows scaled as in fit (float32)."""
        return ((X - self.input_mean_) / self.input_scale_).astype(np.float32)

    def _check_shape(self, X: np.ndarray) -> None:
        if tuple(X.shape[1:]) != tuple(self.input_shape_):
            raise ValueError(
                f"X rows must have shape {tuple(self.input_shape_)} as in fit, got {tuple(X.shape[1:])}"
            )

    # -- persistence ---------------------------------------------------------------------------
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
        det.input_mean_, det.input_scale_ = identity_stats()
        det.model_ = det._build(det.input_shape_)
        det.model_.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("model.")})
        for name in cls._state_tensors:
            setattr(det, name, state[f"extra.{name}"])
        det._after_load()
        det.model_.to(device).eval()
        return det

    def to(self, device: str | torch.device) -> DeepDetector:
        """Move the fitted network and the tensors of ``_state_tensors`` to ``device``; returns self.

        A run trained on a GPU worker comes back with ``.to("cpu")``, so an app without CUDA can
        unpickle and score with it (scoring follows the network's device).
        """
        self._check_fitted()
        self.model_.to(device)
        for name in self._state_tensors:
            value = getattr(self, name, None)
            if isinstance(value, torch.Tensor):
                setattr(self, name, value.to(device))
        return self

    def _after_load(self) -> None:
        """Hook for subclasses that derive more state from the restored tensors."""


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True
