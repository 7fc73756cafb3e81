"""Deep SVDD: learn a map that packs the normal data into a small hypersphere.

Ruff, Vandermeulen, Goernitz, Deecke, Siddiqui, Binder, Mueller, Kloft, "Deep One-Class
Classification", ICML 2018 (http://proceedings.mlr.press/v80/ruff18a.html); official code
lukasruff/Deep-SVDD-PyTorch (``src/optim/deepSVDD_trainer.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from adlab import train
from adlab.detectors.base import DeepDetector, TrainPlan, check_X
from adlab.detectors.scaling import row_chunks
from adlab.encoders import build_encoder

__all__ = ["DeepSVDD"]

OBJECTIVES = ("one-class", "soft-boundary")
CENTER_EPS = 0.1  # official init_center_c: coordinates with |c_k| < eps are moved to +-eps
_CHUNK = 1024  # rows per forward pass when scoring


class DeepSVDD(DeepDetector):
    """Deep Support Vector Data Description (Ruff et al., ICML 2018).

    A network ``phi`` maps each row to ``phi(x)`` of shape ``(rep_dim,)``; training pulls the normal
    data towards a fixed centre ``c``:

    * ``objective="one-class"``:   ``L = mean_i ||phi(x_i) - c||^2``
    * ``objective="soft-boundary"``: ``L = R^2 + 1/nu * mean_i max(0, ||phi(x_i) - c||^2 - R^2)``;
      ``R`` is not learnt by gradient: from epoch ``warm_up_epochs`` on it is set after each step
      to the ``(1 - nu)``-quantile of that minibatch's distances ``||phi(x_i) - c||`` (as the
      official trainer does, so ``radius_`` is the value from the last minibatch; 0 if training
      stopped before the warm-up ended).

    Anomaly score: ``s(x) = ||phi(x) - c||^2``, shape ``(n,)``, higher = more anomalous, for both
    objectives (the paper's soft-boundary variant subtracts ``R^2``, which does not change the
    ranking). ``radius_`` draws the sphere: a row lies outside it when ``s(x) > radius_**2``. For
    ``one-class`` it is the ``(1 - nu)``-quantile of the training rows' distances, for display.

    Collapse guards. ``phi(x) = c`` for every ``x`` reaches loss 0 and makes the detector useless
    ("hypersphere collapse"). The official code blocks the easy routes to it; each guard here is a
    switch, default on:

    * ``no_bias``: no bias term in any layer (a last-layer bias ``b = c`` with zero weights is a
      constant map onto ``c``; Ruff et al., Prop. 2);
    * ``bn_no_affine``: BatchNorm without learnt scale/shift (scale 0 plus a shift makes a layer
      constant);
    * ``c_from_init``: ``c`` = mean of ``phi`` over the training rows in one forward pass of the
      untrained network, then fixed. Off: ``c`` is fixed at the origin, which all-zero weights of a
      bias-free network hit exactly (Prop. 1); with ``c_eps`` still on it then becomes ``+0.1``;
    * ``c_eps``: coordinates of ``c`` with ``|c_k| < 0.1`` move to ``+-0.1`` (sign kept, 0 goes to
      ``+0.1``): an output unit whose target is 0 is matched by zero weights.

    What collapse looks like here: the features of the training rows shrink towards ``c`` far
    beyond what the guarded network reaches, every score shrinks towards 0 and the loss keeps
    falling instead of levelling off; ``collapse_ratio_`` (feature variance after / before
    training) measures it. BatchNorm in training mode holds every hidden unit at unit batch
    variance, which by itself slows collapse so much that a short run shows little difference; the
    demonstration is clear with ``batchnorm=False``: on 2-D blobs with ``epochs=100, lr=1e-2``
    ``collapse_ratio_`` ends near 2e-4 with all guards off and near 6e-2 with them on. The ranking
    (AUROC) can survive collapse for a long time, on differences too small to mean anything, so
    look at the scale of the scores, not only at AUROC.

    Inputs: tabular ``(n, d)`` rows are z-scored with the training mean / standard deviation
    (constant columns keep scale 1) and fed to ``MLP(d, hidden, rep_dim)`` with LeakyReLU (slope
    0.2); images ``(n, C, S, S)`` are used as given (scaled to ``[0, 1]``) and fed to
    ``SmallCNN(C, S, rep_dim)``. Both come from :mod:`adlab.encoders`; ``bias`` and ``affine``
    follow the guards. Training goes through :func:`adlab.train.fit` (Adam, no lr schedule).

    Deviations from the official code, all for quick runs without pretraining: no autoencoder
    pretraining (weights start from PyTorch's default initialisation); ``c`` is computed with
    BatchNorm on batch statistics, as training sees the network (the official ``init_center_c``
    uses eval mode, whose running statistics the pretraining has calibrated; untrained they are
    the defaults 0 / 1, a different map); after training, the BatchNorm running statistics are
    recomputed on the whole training set (one pass, cumulative average), since on a small set the
    running averages lag behind a short run; defaults lr 1e-3, weight decay 1e-6, 50 epochs. The
    official MNIST example: autoencoder pretraining, then Adam lr 1e-4 for 150 epochs (lr x 0.1
    after epoch 50), batch 200, weight decay 0.5e-6, rep_dim 32, ``nu = 0.1``, 10 warm-up epochs.

    Learned attributes: ``model_`` (phi), ``input_shape_``, ``center_`` (rep_dim,) float32,
    ``radius_`` float, ``input_mean_`` / ``input_scale_`` (the standardisation; 0 / 1 for images),
    ``history_`` (:class:`adlab.train.History`, per-epoch losses), ``train_scores_`` (n_train,),
    ``initial_feature_variance_`` / ``feature_variance_`` (mean per-coordinate variance of ``phi``
    over the training rows before / after training) and ``collapse_ratio_`` (their ratio).
    ``save`` / ``load`` restore the network, ``center_``, ``radius_`` and the standardisation, not
    ``history_`` or the diagnostics.
    """

    name: ClassVar[str] = "deepsvdd"
    label: ClassVar[str] = "Deep SVDD"
    kinds: ClassVar[tuple[str, ...]] = ("image", "tabular")
    quick: ClassVar[dict[str, dict[str, Any]]] = {"image": {"epochs": 30}, "tabular": {"epochs": 30}}
    paper_key: ClassVar[str] = "deepsvdd"
    standardize_input: ClassVar[bool] = True
    untrained_note: ClassVar[str] = (
        "the initial network (same seed) with its centre c computed from it as in a real fit; BatchNorm "
        "recalibrated on the training rows as after training; radius: the (1 - nu)-quantile of the training "
        "distances (one-class) or 0 (soft-boundary: R is only set during training)"
    )
    _state_tensors: ClassVar[tuple[str, ...]] = ("center_", "radius_", "input_mean_", "input_scale_")

    def __init__(
        self,
        *,
        objective: str = "one-class",
        nu: float = 0.1,
        rep_dim: int = 32,
        hidden: tuple[int, ...] = (128, 64),
        no_bias: bool = True,
        bn_no_affine: bool = True,
        batchnorm: bool = True,
        c_from_init: bool = True,
        c_eps: bool = True,
        warm_up_epochs: int = 10,
        epochs: int = 50,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 1e-6,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.objective = objective
        self.nu = nu
        self.rep_dim = rep_dim
        self.hidden = hidden
        self.no_bias = no_bias
        self.bn_no_affine = bn_no_affine
        self.batchnorm = batchnorm
        self.c_from_init = c_from_init
        self.c_eps = c_eps
        self.warm_up_epochs = warm_up_epochs
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.seed = seed
        self.device = device

    # -- model ---------------------------------------------------------------------------------
    def _build(self, input_shape: tuple[int, ...]) -> nn.Module:
        kw: dict[str, object] = {
            "bias": not self.no_bias,
            "batchnorm": self.batchnorm,
            "affine": not self.bn_no_affine,
        }
        if len(input_shape) == 1:
            kw.update(hidden=tuple(self.hidden), activation="leaky_relu")
        return build_encoder(tuple(input_shape), out_dim=self.rep_dim, **kw)

    def _check_params(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if not 0.0 < self.nu <= 1.0:
            raise ValueError(f"nu must lie in (0, 1], got {self.nu!r}")
        if not isinstance(self.rep_dim, int) or self.rep_dim < 1:
            raise ValueError(f"rep_dim must be a positive integer, got {self.rep_dim!r}")
        if not isinstance(self.warm_up_epochs, int) or self.warm_up_epochs < 0:
            raise ValueError(f"warm_up_epochs must be a non-negative integer, got {self.warm_up_epochs!r}")

    # -- the template's hooks (adlab.detectors.base.DeepDetector) --------------------------------
    def _recalibrates_batchnorm(self) -> bool:
        return True

    def _plan(self, model: nn.Module, X: np.ndarray, Xt: torch.Tensor, cfg: train.TrainConfig) -> TrainPlan:
        """The centre ``c`` from the initial network, and the one-class / soft-boundary step."""
        device = next(model.parameters()).device
        init_feats = self._initial_features(model, Xt, device, cfg.batch_size)  # (n, rep_dim)
        c = init_feats.mean(dim=0) if self.c_from_init else torch.zeros(self.rep_dim)
        if self.c_eps:
            small = c.abs() < CENTER_EPS
            c[small & (c < 0)] = -CENTER_EPS
            c[small & (c >= 0)] = CENTER_EPS
        c_dev = c.to(device)
        soft = self.objective == "soft-boundary"
        state: dict[str, Any] = {"epoch": 0, "R": 0.0, "c": c, "init_feats": init_feats}

        def batches(epoch: int, generator: torch.Generator) -> Iterable[tuple[torch.Tensor, ...]]:
            state["epoch"] = epoch
            return train.minibatches((Xt,), cfg.batch_size, generator)

        def step(net: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
            dist = ((net(batch[0]) - c_dev) ** 2).sum(dim=1)  # (B,)
            if not soft:
                return dist.mean()
            r2 = state["R"] ** 2
            loss = r2 + (1.0 / self.nu) * torch.clamp(dist - r2, min=0.0).mean()
            if state["epoch"] >= self.warm_up_epochs:  # R from this batch, as the official trainer
                state["R"] = float(np.quantile(dist.detach().sqrt().cpu().numpy(), 1.0 - self.nu))
            return loss

        return TrainPlan(step=step, data=batches, state=state)

    def _finish(self, model: nn.Module, X: np.ndarray, Xt: torch.Tensor, plan: TrainPlan) -> None:
        """Radius, training scores and the collapse diagnostics."""
        c, init_feats = plan.state["c"], plan.state["init_feats"]
        feats = self._forward(model, Xt, self._device())  # (n, rep_dim), eval mode
        train_scores = ((feats - c) ** 2).sum(dim=1).double().numpy()
        if self.objective == "soft-boundary":
            radius = plan.state["R"]
        else:
            radius = float(np.quantile(np.sqrt(train_scores), 1.0 - self.nu))
        self.center_ = c.numpy().astype(np.float32)
        self.radius_ = float(np.float32(radius))  # float32 so that save / load round-trips it exactly
        self.train_scores_ = train_scores
        self.initial_feature_variance_ = float(init_feats.var(dim=0).mean())
        self.feature_variance_ = float(feats.var(dim=0).mean())
        self.collapse_ratio_ = self.feature_variance_ / max(self.initial_feature_variance_, 1e-30)

    # -- scoring -------------------------------------------------------------------------------
    @staticmethod
    @torch.no_grad()
    def _forward(model: nn.Module, Xt: torch.Tensor, device: torch.device) -> torch.Tensor:
        """``phi`` of every row in eval mode, in chunks; returns a CPU float tensor (n, rep_dim)."""
        model.eval()
        out = [model(Xt[i : i + _CHUNK].to(device)).float().cpu() for i in range(0, len(Xt), _CHUNK)]
        return torch.cat(out)

    @staticmethod
    @torch.no_grad()
    def _initial_features(
        model: nn.Module, Xt: torch.Tensor, device: torch.device, batch: int
    ) -> torch.Tensor:
        """``phi`` of the untrained network as training sees it: train mode, BatchNorm on batch statistics.

        Runs on a copy so the model's BatchNorm running statistics stay untouched. (The official
        ``init_center_c`` uses eval mode after autoencoder pretraining, whose running statistics are
        calibrated; without pretraining they are the defaults 0 / 1, a different map from the one
        trained.) Returns (n, rep_dim) on the CPU.
        """
        probe = copy.deepcopy(model).train()
        return torch.cat([probe(Xt[sl].to(device)).float().cpu() for sl in row_chunks(len(Xt), batch)])

    def _features(self, X: np.ndarray) -> torch.Tensor:
        self._check_shape(X)
        return self._forward(self.model_, torch.from_numpy(self._standardize(X)), self._device())

    def _score(self, X: np.ndarray) -> np.ndarray:
        c = torch.as_tensor(self.center_)
        return ((self._features(X) - c) ** 2).sum(dim=1).double().numpy()  # (n,)

    def embed(self, X: np.ndarray) -> np.ndarray:
        """``phi(x)`` for each row: (n, rep_dim) float32, the space where the sphere lives."""
        self._check_fitted()
        return self._features(check_X(X)).numpy()

    def _after_load(self) -> None:
        self.center_ = np.asarray(self.center_, dtype=np.float32)
        self.radius_ = float(self.radius_)
        self.input_mean_ = np.asarray(self.input_mean_, dtype=np.float32)
        self.input_scale_ = np.asarray(self.input_scale_, dtype=np.float32)

