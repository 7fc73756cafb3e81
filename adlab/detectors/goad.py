"""GOAD: classification-based anomaly detection for general data (Bergman & Hoshen, ICLR 2020).

M transformations ``T(., m)`` turn the one normal class into M classes. A shared feature extractor
``f`` maps every transformed copy to a feature ``f(T(x, m))`` in R^d and a linear head predicts
``m``. Training minimises, over batches of B training rows (each seen under all M transformations),

    L = CE(head(f(T(x, m))), m) + lambda * L_tc,                              lambda = 0.1
    L_tc = mean_{x, m} max(0, ||f(T(x,m)) - c_m||^2 + s - min_{m' != m} ||f(T(x,m)) - c_m'||^2),

with margin ``s = 1`` and centres ``c_m`` = the batch mean of ``f(T(., m))`` (gradients flow
through the centres, as in the official code). For scoring the centres are the official code's
training means: the average of the per-batch means of ``f(T(x, m))`` over the last epoch
(``centers="running"``, the default; both official scripts, tabular and images, do this);
``centers="final"`` instead recomputes the means over all training rows after training, in eval
mode. A test point is scored by how well its transformed copies find their own centre:

    P(m' | T(x, m)) = softmax_{m'}(-||f(T(x, m)) - c_m'||^2)                   (n, M, M)
    score(x) = -sum_m log P(m | T(x, m))          higher = more anomalous      (n,)

Transformations. Images ``(n, C, S, S)``: ``"rotations"`` (the 4 multiples of 90 degrees, as the
seed slide shows), ``"geometric8"`` (flip x 4 rotations, the official "simple" set) or
``"geometric72"`` (flip x 3 row shifts x 3 column shifts x 4 rotations, the paper's set; shifts
``0, -t, +t`` pixels with ``t = S // 4``, 8 px on 32 px CIFAR as in the official code).
Tabular ``(n, d)`` ("general data"): ``"linear"``, M fixed Gaussian matrices ``W_m`` of shape
``(d, d_out)`` with no bias, ``T(x, m) = x W_m``, applied to rows z-scored with the mean and
(population) standard deviation of the training rows (constant columns: scale 1).

Networks. Tabular, the official ``netC1`` / ``netC5`` (``fcnet.py``): there the M transformed rows
form a length-M sequence of ``d_out`` channels and 1x1 ``Conv1d`` layers without bias are the
extractor shared by all M transformations; here the same maps are ``nn.Linear(bias=False)`` on
the channel axis of ``(N, M, d_out)`` (a 1x1 convolution is exactly that), ``depth`` layers with
LeakyReLU(0.2) between them. The features ``f`` are taken *after* a final LeakyReLU(0.2): the
official head starts with ``LeakyReLU(0.2, inplace=True)``, which overwrites the returned trunk
output, so the official centres and scores use post-activation features. This matters: with a
linear, bias-free ``f`` on z-scored rows every training mean ``c_m`` would be exactly 0 and all
scores equal. The head is ``Linear(d, M)`` with bias. ``depth=1`` is ``netC1`` (Thyroid,
Arrhythmia), ``depth=5`` is ``netC5`` (KDD). Weights: PyTorch's default initialisation, as in the
official runs: ``opt_tc_tabular.py`` calls ``weights_init(self.netC)`` on the network itself, not
through ``.apply``, and that function only acts on modules whose class is a Conv or Linear, so it
changes nothing (a 1x1 ``Conv1d`` and ``nn.Linear`` share the default, Kaiming-uniform with
``a = sqrt(5)`` and fan-in = input channels). Images: :class:`adlab.encoders.SmallCNN` without bias terms (BatchNorm,
LeakyReLU(0.2)) followed by LeakyReLU(0.2) as ``f``, ``Linear(d, M)`` as the head, PyTorch's
default initialisation (the official code: a WRN-10-4 whose post-ReLU pooled activations are
``f``, its ``fc`` the head).

Official tabular settings (README of lironber/GOAD), the defaults here: M = 256 transforms,
``d_out = 32``, width ``d = 8``, 1 epoch, Adam lr 1e-3 betas (0.5, 0.999), batch 64 (the last,
smaller batch is kept, even a single row). KDD: M = 64, d_out = 64, d = 32, depth 5, 25 epochs.

Modules: the transformations (:mod:`adlab.detectors.goad_transforms`), the network
(:mod:`adlab.detectors.goad_net`), the loss (:mod:`adlab.detectors.goad_loss`) and, here, the
estimator.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adlab.augment import RandomLinearMaps
from adlab.detectors.base import DeepDetector, TrainPlan, check_X
from adlab.detectors.goad_loss import sq_dists, tc_loss
from adlab.detectors.goad_net import GOADNet
from adlab.detectors.goad_transforms import GeometricTransforms
from adlab.detectors.scaling import zscore_stats
from adlab.train import TrainConfig

__all__ = [
    "CENTER_MODES",
    "GOAD",
    "GOADNet",
    "GeometricTransforms",
    "TRANSFORM_SETS",
    "tc_loss",
]

#: names accepted by ``GOAD(transforms=...)``
TRANSFORM_SETS = ("auto", "rotations", "geometric8", "geometric72", "linear")
#: names accepted by ``GOAD(centers=...)``
CENTER_MODES = ("final", "running")


class GOAD(DeepDetector):
    """GOAD (Bergman & Hoshen, ICLR 2020); see the module docstring for the formulas.

    Parameters (defaults = the official Thyroid / Arrhythmia settings; a fit on a small tabular
    set or on one digits class takes seconds on a CPU; Thyroid's 1839 rows x 256 maps take longer):

    * ``transforms``: ``"auto"`` (``"linear"`` for rows, ``"rotations"`` for images),
      ``"rotations"``, ``"geometric8"``, ``"geometric72"`` (images) or ``"linear"`` (rows);
    * ``n_transforms``: M for ``"linear"`` (images: fixed by the set, 4 / 8 / 72);
    * ``transform_dim``: ``d_out``, columns of each ``W_m`` (``"linear"`` only);
    * ``feature_dim``: ``d``, the feature width (official ``ndf``); None = 8 for rows, 32 for images;
    * ``depth``: 1x1 conv layers in the tabular extractor (1 = official netC1, 5 = netC5);
    * ``shift``: pixels of the ``"geometric72"`` shifts; None = ``S // 4``;
    * ``lambda_tc`` (0.1), ``margin`` (s = 1), ``feature_penalty`` (adds ``rho * mean(f^2)``;
      the official CIFAR script uses 10, the paper's loss and the default here 0);
    * ``epochs`` (None = 1 for rows, as the official tabular runs; 10 for images),
      ``batch_size`` (rows per batch, each under all M transformations), ``lr``, ``betas``,
      ``seed`` (weights, batch order and the ``W_m``), ``device``;
    * ``centers``: ``"running"`` (the default, the official code's: mean of the per-batch means of
      the last epoch, taken while the weights still move) or ``"final"`` (means of ``f(T(x, m))``
      over the training rows after training, eval mode). On ODDS Arrhythmia (official split, 40
      seeds) they give F1 52.2 and 51.4; on Thyroid 74.8 and 74.9 (bench/results/goad_odds_40seeds.md).

    Learned state: ``model_`` (:class:`GOADNet`), ``centers_`` ``(M, d)`` float32,
    ``transforms_`` (the transformation object: :class:`GeometricTransforms` or
    :class:`adlab.augment.RandomLinearMaps` holding the fitted ``W_m``), ``history_``
    (:class:`adlab.train.History`, ``extras['ce']`` / ``extras['tc']`` per step),
    ``input_shape_``, ``centers_rule_`` (the rule that made ``centers_``: ``"running"``, or
    ``"final"`` when asked for, before training, or when a stop came before the last epoch's first
    batch; not saved).
    """

    name: ClassVar[str] = "goad"
    label: ClassVar[str] = "GOAD"
    kinds: ClassVar[tuple[str, ...]] = ("image", "tabular")
    quick: ClassVar[dict[str, dict[str, Any]]] = {
        "image": {"transforms": "rotations", "epochs": 10},
        # 1 epoch as the official tabular runs; 32 maps instead of 256 keep the page's pictures readable.
        # On a small training set more epochs make the centres (the last epoch's per-batch means, over
        # 2 batches of toy data) erratic: M = 16 / 10 epochs gave mean AUROC 65.7 on Thyroid, 75.0 on
        # toy blobs (4 seeds), M = 32 / 1 epoch 94.9 and 99.9.
        "tabular": {"n_transforms": 32, "epochs": 1},
    }
    paper_key: ClassVar[str] = "goad"
    untrained_note: ClassVar[str] = (
        "the initial network (same seed, same transformations); no epoch ran, so there are no per-batch "
        "means to average: the centres are the means of f(T(x, m)) over the training rows in eval mode "
        "(the centers='final' rule), whatever centers says"
    )
    _state_tensors: ClassVar[tuple[str, ...]] = ("centers_",)

    def __init__(
        self,
        *,
        transforms: str = "auto",
        n_transforms: int = 256,
        transform_dim: int = 32,
        feature_dim: int | None = None,
        depth: int = 1,
        shift: int | None = None,
        lambda_tc: float = 0.1,
        margin: float = 1.0,
        feature_penalty: float = 0.0,
        epochs: int | None = None,
        batch_size: int = 64,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.5, 0.999),
        centers: str = "running",
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.transforms = transforms
        self.n_transforms = n_transforms
        self.transform_dim = transform_dim
        self.feature_dim = feature_dim
        self.depth = depth
        self.shift = shift
        self.lambda_tc = lambda_tc
        self.margin = margin
        self.feature_penalty = feature_penalty
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.betas = betas
        self.centers = centers
        self.seed = seed
        self.device = device

    # -- configuration --------------------------------------------------------------------
    def _resolved(self, input_shape: tuple[int, ...]) -> dict:
        """Check the parameters against the input kind; return the settings actually used."""
        tabular = len(input_shape) == 1
        kind = "tabular" if tabular else "image"
        if self.centers not in CENTER_MODES:
            raise ValueError(f"centers must be one of {CENTER_MODES}, got {self.centers!r}")
        if self.transforms not in TRANSFORM_SETS:
            raise ValueError(f"transforms must be one of {TRANSFORM_SETS}, got {self.transforms!r}")
        transforms = self.transforms if self.transforms != "auto" else ("linear" if tabular else "rotations")
        if tabular and transforms != "linear":
            raise ValueError(f"transforms={transforms!r} needs images (n, C, H, W); rows (n, d) use 'linear'")
        if not tabular:
            if transforms == "linear":
                raise ValueError(
                    "transforms='linear' is for rows (n, d); images use 'rotations', "
                    "'geometric8' or 'geometric72'"
                )
            if len(input_shape) != 3 or input_shape[1] != input_shape[2] or input_shape[1] < 8:
                raise ValueError(
                    f"GOAD needs square images of at least 8x8 pixels, got (C, H, W) = {input_shape}"
                )
        for name in ("n_transforms", "transform_dim", "depth", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if tabular and self.n_transforms < 2:
            raise ValueError(f"n_transforms must be at least 2, got {self.n_transforms}")
        feature_dim = self.feature_dim if self.feature_dim is not None else (8 if tabular else 32)
        epochs = self.epochs if self.epochs is not None else (1 if tabular else 10)
        shift = self.shift if self.shift is not None else (0 if tabular else input_shape[1] // 4)
        for name, v in (("feature_dim", feature_dim), ("epochs", epochs)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(shift, int) or shift < 0 or (not tabular and shift >= input_shape[1]):
            raise ValueError(f"shift must be an integer in [0, image size), got {shift!r}")
        for name in ("lambda_tc", "margin", "feature_penalty"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        return {
            "kind": kind,
            "transforms": transforms,
            "feature_dim": feature_dim,
            "epochs": epochs,
            "shift": shift,
        }

    def _build(self, input_shape: tuple[int, ...]) -> GOADNet:
        r = self._resolved(tuple(input_shape))
        return GOADNet(
            tuple(input_shape),
            transforms=r["transforms"],
            n_transforms=self.n_transforms,
            transform_dim=self.transform_dim,
            feature_dim=r["feature_dim"],
            depth=self.depth,
            shift=r["shift"],
            seed=self.seed,
        )

    # -- the template's hooks (adlab.detectors.base.DeepDetector) --------------------------------
    def _check_input(self, X: Any) -> np.ndarray:
        X = check_X(X, min_rows=2)
        self._resolved(tuple(X.shape[1:]))
        return X

    def _train_config(self, input_shape: tuple[int, ...]) -> TrainConfig:
        return TrainConfig(
            epochs=self._resolved(input_shape)["epochs"],
            batch_size=self.batch_size,
            lr=self.lr,
            betas=tuple(self.betas),
            seed=self.seed,
            device=self.device,
        )

    def _plan(self, model: nn.Module, X: np.ndarray, Xt: Tensor, cfg: TrainConfig) -> TrainPlan:
        """The z-score buffers of the tabular net, and the CE + tc step that records per-batch centres."""
        if model.tabular:
            mu, sd = zscore_stats(X, dtype=np.float64, min_std=0.0)  # official norm_data
            model.shift.copy_(torch.from_numpy(mu).float())
            model.scale.copy_(torch.from_numpy(sd).float())
        parts: dict[str, list[float]] = {"ce": [], "tc": []}
        running: list[Tensor] = []  # per-batch centres of the current epoch
        lambda_tc, margin, rho = float(self.lambda_tc), float(self.margin), float(self.feature_penalty)

        def step(net: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
            feats, logits = net(batch[0])  # (B, M, d), (B, M, M)
            running.append(feats.detach().mean(0))
            b, m = logits.shape[:2]
            labels = torch.arange(m, device=logits.device).repeat(b)  # (B*M,) copy m has class m
            ce = F.cross_entropy(logits.reshape(b * m, m), labels)
            tc = tc_loss(feats, margin=margin)
            parts["ce"].append(float(ce.detach()))
            parts["tc"].append(float(tc.detach()))
            loss = ce + lambda_tc * tc
            return loss + rho * (feats**2).mean() if rho else loss

        def batches(epoch: int, generator: torch.Generator):
            running.clear()
            order = torch.randperm(len(Xt), generator=generator)
            # every row once per epoch; the last, smaller batch is kept even with one row (official)
            for start in range(0, len(Xt), cfg.batch_size):
                yield (Xt[order[start : start + cfg.batch_size]],)

        return TrainPlan(step=step, data=batches, state={"parts": parts, "running": running})

    def _finish(self, model: nn.Module, X: np.ndarray, Xt: Tensor, plan: TrainPlan) -> None:
        """The centres ``c_m`` (``centers``), or, before training, the eval-mode means (``untrained_note``)."""
        self.history_.extras.update(plan.state["parts"])
        running = plan.state["running"]
        if self.centers == "running" and running:
            self.centers_ = torch.stack(running).mean(0).cpu().numpy()  # (M, d), unweighted as official
            self.centers_rule_ = "running"
        else:
            self.centers_ = self._features(X).mean(0).astype(np.float32)  # (M, d), eval mode
            self.centers_rule_ = "final"
        self._after_load()

    def _after_load(self) -> None:
        self.centers_ = np.asarray(
            self.centers_.detach().cpu().numpy() if isinstance(self.centers_, Tensor) else self.centers_,
            dtype=np.float32,
        )
        net: GOADNet = self.model_
        if net.tabular:
            w = net.maps.detach().cpu()
            maps = RandomLinearMaps(w.shape[1], w.shape[0], w.shape[2], seed=self.seed)
            maps.weights = w.clone()
            self.transforms_ = maps
        else:
            self.transforms_ = net.transform

    # -- inference ------------------------------------------------------------------------
    def _checked(self, X: np.ndarray) -> np.ndarray:
        """``check_X`` plus the fitted input shape."""
        self._check_fitted()
        X = check_X(X)
        self._check_shape(X)
        return X

    def _chunks(self, X: np.ndarray):
        """Yield ``f(T(x, m))`` ``(b, M, d)`` for row blocks small enough to hold ``(b, M, M)``."""
        net: GOADNet = self.model_
        dev = self._device()
        m = net.n_transforms
        rows = max(1, 2**22 // (m * m)) if net.tabular else max(1, 4096 // m)
        net.eval()
        with torch.no_grad():
            for start in range(0, len(X), rows):
                yield net.features(torch.from_numpy(X[start : start + rows]).to(dev))

    def _features(self, X: np.ndarray) -> np.ndarray:
        return np.concatenate([f.cpu().numpy() for f in self._chunks(X)])  # (n, M, d)

    def _log_probs(self, X: np.ndarray, *, diagonal: bool) -> np.ndarray:
        """``log P(m' | T(x, m))``: (n, M, M), or its diagonal (n, M) with ``diagonal=True``."""
        centers = torch.from_numpy(self.centers_).to(self._device())
        out = []
        for feats in self._chunks(X):
            neg = -sq_dists(feats, centers)  # (b, M, M) logits over the centres m'
            if diagonal:  # log P(m | T(x, m)) without materialising the whole softmax
                out.append((torch.diagonal(neg, dim1=1, dim2=2) - torch.logsumexp(neg, dim=-1)).cpu().numpy())
            else:
                out.append(torch.log_softmax(neg, dim=-1).cpu().numpy())
        return np.concatenate(out)

    def features(self, X: np.ndarray) -> np.ndarray:
        """``f(T(x, m))`` for every row and transformation: ``(n, M, d)``."""
        return self._features(self._checked(X))

    def embed(self, X: np.ndarray, *, transform: int = 0) -> np.ndarray:
        """Features of one transformed copy, ``f(T(x, transform))``: ``(n, d)``.

        ``transform=0`` is the identity for images; for rows it is the first random map (there is
        no identity). These live in the same space as ``centers_[m]``, so a page can project test
        features together with the M centres.
        """
        X = self._checked(X)
        m = self.model_.n_transforms
        if not isinstance(transform, (int, np.integer)) or not 0 <= transform < m:
            raise ValueError(f"transform must be an integer in [0, {m}), got {transform!r}")
        return self._features(X)[:, int(transform)]

    def transform_probabilities(self, X: np.ndarray, *, diagonal: bool = False) -> np.ndarray:
        """Each test point's softmax over the centres: ``P(m' | T(x, m))``.

        ``(n, M, M)`` (rows sum to 1; row m is the copy under transformation m), or with
        ``diagonal=True`` only ``P(m | T(x, m))``, ``(n, M)``. Mind the size: n * M^2 floats.
        """
        return np.exp(self._log_probs(self._checked(X), diagonal=diagonal))

    def score_breakdown(self, X: np.ndarray) -> np.ndarray:
        """Per-transformation scores ``-log P(m | T(x, m))``: ``(n, M)``; each row sums to the score."""
        return -self._log_probs(self._checked(X), diagonal=True).astype(np.float64)

    def _score(self, X: np.ndarray) -> np.ndarray:
        X = self._checked(X)
        return -self._log_probs(X, diagonal=True).astype(np.float64).sum(1)  # (n,)
