"""DROC: deep representations for one-class classification, in two composed stages.

Sohn, Li, Yoon, Jin, Pfister, "Learning and Evaluating Representations for Deep One-Class
Classification", ICLR 2021 (https://openreview.net/forum?id=HCSgyPUfeDj); official code
``google-research/deep_representation_one_class`` (``contrastive.py``, ``util/train.py``,
``data/cifar.py``, ``script/run_contrastive_da.sh``).

Stage 1 learns a representation by contrastive learning on the normal data only, stage 2 fits a
shallow one-class model (:mod:`adlab.detectors.shallow`) on the L2-normalised features of the
un-augmented training images. The stages are composed, not merged: the scorer and the feature
space can be changed after training without touching the network.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adlab.augment import (
    ColorJitter,
    Compose,
    FeatureMask,
    GaussianBlur,
    RandomApply,
    RandomFlip,
    RandomResizedCrop,
    Rotation,
    TabularNoise,
)
from adlab.detectors.base import DeepDetector, TrainPlan, check_X
from adlab.detectors.shallow import SCORERS, ShallowScorer, make_scorer
from adlab.encoders import MLP, ContrastiveNet, SmallCNN
from adlab.train import TrainConfig

__all__ = ["DROC", "FEATURE_SPACES", "MNIST_PARAMS", "distribution_augment", "droc_contrastive_loss"]

FEATURE_SPACES = ("encoder", "head")
N_ROTATIONS = 4  # distribution augmentation: 0, 90, 180, 270 degrees
_CHUNK = 512  # rows per forward pass when extracting features

#: Parameters of the MNIST 28x28 benchmark (bench/bench_mnist_droc.py); ``DROC.preset("mnist")``.
MNIST_PARAMS: dict[str, Any] = {
    "epochs": 12,
    "batch_size": 64,
    "lr": 2e-3,
    "feature_dim": 128,
    "channels": (8, 16, 32),
}


def droc_contrastive_loss(z1: Tensor, z2: Tensor, *, temperature: float = 0.2) -> Tensor:
    r"""DROC's contrastive loss: one-directional, cross-view only (official ``contrastive.py``).

    With ``u_i = z1_i / ||z1_i||`` and ``v_k = z2_k / ||z2_k||`` (the two augmented views of
    sample ``i`` / ``k``), the logits are the ``(N, N)`` matrix ``s_ik = u_i . v_k / tau`` and

    .. math:: L = -\frac1N \sum_{i=1}^{N} \log \frac{\exp s_{ii}}{\sum_{k=1}^{N} \exp s_{ik}}

    i.e. a cross-entropy with the positives on the diagonal. Compared with SimCLR's NT-Xent
    (:func:`adlab.losses.nt_xent`): only view-1 rows are anchors (no symmetric view-2 term), and
    their negatives are the ``N - 1`` *other view-2* embeddings only: there is no view1-view1
    block, so an anchor is never contrasted with other samples' first views (NT-Xent has
    ``2N - 2`` negatives per anchor). The official code computes
    ``categorical_crossentropy(one_hot(range(N)), (embeds1 @ embeds2.T) / temperature)``.
    Identical embeddings give ``log N``. ``tau = 0.2`` in the official script.

    Shapes: ``z1``, ``z2`` ``(N, d)`` with ``N >= 2``, row ``i`` of both from the same sample.
    Returns a 0-d tensor.
    """
    if z1.ndim != 2 or z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must be (N, d) of the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if z1.shape[0] < 2:
        raise ValueError(f"z1 needs at least 2 rows (one positive, one negative), got {z1.shape[0]}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    u = F.normalize(z1, dim=1)  # (N, d)
    v = F.normalize(z2, dim=1) * (1.0 / temperature)  # (N, d), 1/tau folded in
    logits = u @ v.T  # (N, N), s_ik
    target = torch.arange(z1.shape[0], device=z1.device)  # (N,): positives on the diagonal
    return F.cross_entropy(logits, target)


def distribution_augment(X: Tensor) -> Tensor:
    """``(n, C, S, S) -> (4n, C, S, S)``: ``[x; rot90(x); rot180(x); rot270(x)]``, each a new instance.

    The official ``rotate_array_deterministic``: the rotated copies join the training set before
    shuffling, so in a batch a rotated image is just another sample (a negative of ``x``).
    """
    rot = Rotation()
    return torch.cat([rot.apply(X, k) for k in range(N_ROTATIONS)])


class DROC(DeepDetector):
    """Two-stage one-class detector of Sohn et al. (ICLR 2021); see the module docstring.

    **Stage 1, representation.** A network ``g(f(x))``: encoder ``f`` (``SmallCNN`` for images
    ``(n, C, S, S)``, ``MLP`` for rows ``(n, d)``; ``feature_dim`` outputs, followed by a ReLU for
    images, as the official ResNet's pooled features are non-negative) and projection head ``g``
    (``MLP`` with ``head_layers`` hidden [Linear, BatchNorm, ReLU] layers of ``head_hidden``
    units, then ``Linear(head_hidden, head_dim)``, the official head's shape). Trained with
    :func:`droc_contrastive_loss` (``temperature``) on two augmented views of each instance:

    * ``distribution_augmentation=True`` (images only): the training set becomes
      ``distribution_augment(X)``, 4n instances (:attr:`n_train_instances_`), so the rotations
      of an image are negatives of it: the network must tell the normal orientation apart;
    * augmentations (official ``cnr0.5+hflip+jitter+gray+blur``): random resized crop with area
      in ``[crop_scale, 1]``, horizontal flip with probability ``flip``, brightness / contrast
      jitter ``jitter`` with p = 0.8, Gaussian blur with probability ``blur`` (grey images: no
      saturation, hue or greyscale). Tabular rows: Gaussian noise (``tabular_noise``) and feature
      masking (``tabular_mask``) on z-scored rows; distribution augmentation is not defined for
      them and ``distribution_augmentation=True`` raises ``ValueError``.

    Adam (``lr``, ``weight_decay``) through :func:`adlab.train.fit`; one epoch = one pass over the
    (enlarged) instance set, so with DA an epoch has 4x the steps (official: ``num_batch=0``).
    Features are extracted in eval mode with the BatchNorm running statistics of training (those
    of augmented, rotated views, as in the official code). ``bn_recalibrate=True`` instead resets
    them in one pass over the un-augmented training images (what :class:`DeepSVDD` does); here
    that *hurts* the head features (MNIST digits 2 and 8: head-feature AUROC drops by about 15 to
    20 points, encoder features unchanged; bench/results/mnist_droc.md), because the head then
    sees statistics it was never trained with. Off by default.

    **Stage 2, one-class model** on the un-augmented training images ``x_i``: features
    ``f(x_i)`` (``features="encoder"``, default: they score far better, paper Sec. 4.3) or
    ``g(f(x_i))`` (``"head"``), L2-normalised, then ``scorer``:

    * ``"kde"``: ``s(x) = -(1/gamma) log sum_i exp(2 gamma cos(x, x_i))``;
    * ``"ocsvm"``: RBF one-class SVM, ``s = -score_samples``, ``nu = 0.5``;
    * ``"gaussian"``: negative log-density of one Gaussian (Ledoit-Wolf shrinkage);
    * ``"knn"``: ``1 - max_i cos(x, x_i)``;

    with ``gamma = 10 / (Var(F) d)`` for KDE and OC-SVM (:mod:`adlab.detectors.shallow`).
    Higher = more anomalous for all four. Default ``"gaussian"``: the best of the four on digits
    and on MNIST with these small encoders (bench/results/mnist_droc.md: 98.2 mean AUROC against
    95.9 for OC-SVM and 94.4 for KDE); the official script states its CIFAR-10 result with OC-SVM.

    Switching without retraining: :meth:`set_scorer` refits only the shallow model on the cached
    training features :attr:`train_features_`; :meth:`score_with` scores with any combination
    and leaves the detector's own choice alone; :meth:`transform` + :meth:`score_features` let a
    page compute test features once and re-score them instantly.

    Learned state: ``model_`` (:class:`adlab.encoders.ContrastiveNet`), ``input_shape_``,
    ``input_mean_`` / ``input_scale_`` (z-scoring of tabular rows; 0 / 1 for images),
    ``train_features_`` ``{"encoder": (n, feature_dim), "head": (n, head_dim)}`` float32 (raw,
    un-normalised features of the un-augmented training rows), ``scorer_`` (the fitted shallow
    model for ``scorer`` / ``features``), ``n_train_instances_`` (rows stage 1 trained on),
    ``history_`` (:class:`adlab.train.History`; ``extras["contrastive_accuracy"]`` per epoch =
    how often the positive has the largest logit). ``save`` / ``load`` keep the weights, the
    standardisation and the training features (as tensors), so a loaded detector scores
    identically without the training data; ``history_`` is not saved.

    Defaults: a quick run on 8x8 digits (a few seconds on two CPU cores). ``DROC.preset("mnist")``
    for 28x28 MNIST (:data:`MNIST_PARAMS`).
    """

    name: ClassVar[str] = "droc"
    label: ClassVar[str] = "DROC"
    kinds: ClassVar[tuple[str, ...]] = ("image", "tabular")
    quick: ClassVar[dict[str, dict[str, Any]]] = {
        "image": {"epochs": 20},
        "tabular": {"epochs": 20, "distribution_augmentation": False},
    }
    presets: ClassVar[dict[str, dict[str, Any]]] = {"digits": {}, "mnist": MNIST_PARAMS}
    paper_key: ClassVar[str] = "droc"
    standardize_input: ClassVar[bool] = True
    untrained_note: ClassVar[str] = (
        "the initial encoder and head (same seed), BatchNorm on its default statistics (recalibrated on the "
        "training rows when bn_recalibrate is on, as after training); stage 2 fitted on their features of the "
        "training rows"
    )
    _state_tensors: ClassVar[tuple[str, ...]] = (
        "train_encoder_features_",
        "train_head_features_",
        "input_mean_",
        "input_scale_",
    )

    def __init__(
        self,
        *,
        distribution_augmentation: bool = True,
        scorer: str = "gaussian",
        features: str = "encoder",
        epochs: int = 20,
        batch_size: int = 32,
        lr: float = 2e-3,
        weight_decay: float = 1e-5,
        temperature: float = 0.2,
        feature_dim: int = 32,
        head_dim: int = 32,
        head_hidden: int = 64,
        head_layers: int = 2,
        channels: tuple[int, ...] | None = None,
        hidden: tuple[int, ...] = (128, 64),
        crop_scale: float = 0.5,
        flip: float = 0.5,
        jitter: float = 0.4,
        blur: float = 0.5,
        tabular_noise: float = 0.1,
        tabular_mask: float = 0.2,
        bn_recalibrate: bool = False,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.distribution_augmentation = distribution_augmentation
        self.scorer = scorer
        self.features = features
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.temperature = temperature
        self.feature_dim = feature_dim
        self.head_dim = head_dim
        self.head_hidden = head_hidden
        self.head_layers = head_layers
        self.channels = channels
        self.hidden = hidden
        self.crop_scale = crop_scale
        self.flip = flip
        self.jitter = jitter
        self.blur = blur
        self.tabular_noise = tabular_noise
        self.tabular_mask = tabular_mask
        self.bn_recalibrate = bn_recalibrate
        self.seed = seed
        self.device = device

    # -- checks and pieces ---------------------------------------------------------------------
    def _check_params(self) -> None:
        _check_choice(self.scorer, self.features)
        for arg in ("epochs", "batch_size", "feature_dim", "head_dim", "head_hidden"):
            value = getattr(self, arg)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{arg} must be a positive integer, got {value!r}")
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2 (the loss needs negatives), got {self.batch_size!r}")
        if not isinstance(self.head_layers, int) or self.head_layers < 0:
            raise ValueError(f"head_layers must be a non-negative integer, got {self.head_layers!r}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature!r}")
        if not 0.0 < self.crop_scale <= 1.0:
            raise ValueError(f"crop_scale must lie in (0, 1], got {self.crop_scale!r}")
        for arg in ("flip", "jitter", "blur"):
            if not 0.0 <= getattr(self, arg) <= 1.0:
                raise ValueError(f"{arg} must lie in [0, 1], got {getattr(self, arg)!r}")
        if self.tabular_noise < 0:
            raise ValueError(f"tabular_noise must be >= 0, got {self.tabular_noise!r}")
        if not 0.0 <= self.tabular_mask < 1.0:
            raise ValueError(f"tabular_mask must lie in [0, 1), got {self.tabular_mask!r}")

    def _check_input(self, X: Any) -> np.ndarray:
        return self._check_rows(X, min_rows=2)

    def _check_rows(self, X: Any, name: str = "X", *, min_rows: int = 1) -> np.ndarray:
        X = check_X(X, name=name, min_rows=min_rows)
        if X.ndim == 4:
            if X.shape[2] != X.shape[3] or X.shape[2] < 8:
                raise ValueError(f"DROC needs square images of side >= 8, got {X.shape[2:]}")
        elif self.distribution_augmentation:
            raise ValueError(
                "distribution_augmentation=True rotates images by 90 degrees, which tabular rows "
                f"{X.shape} do not have; pass distribution_augmentation=False to train on rows with "
                "tabular augmentations (Gaussian noise + feature masking)"
            )
        return X

    def _build(self, input_shape: tuple[int, ...]) -> nn.Module:
        if len(input_shape) == 3:
            c, s, _ = input_shape
            channels = tuple(self.channels) if self.channels is not None else None
            cnn = SmallCNN(c, s, out_dim=self.feature_dim, channels=channels)
            encoder: nn.Module = nn.Sequential(cnn, nn.ReLU())
        else:
            encoder = MLP(input_shape[0], hidden=tuple(self.hidden), out_dim=self.feature_dim)
        head_in = self.feature_dim
        head = MLP(head_in, hidden=(self.head_hidden,) * self.head_layers, out_dim=self.head_dim)
        return ContrastiveNet(encoder, head)

    def _augment(self, kind: str) -> Compose:
        if kind == "tabular":
            return Compose([TabularNoise(self.tabular_noise), FeatureMask(self.tabular_mask)])
        steps: list[Any] = [RandomResizedCrop(scale=(self.crop_scale, 1.0))]
        if self.flip > 0:
            steps.append(RandomFlip(self.flip))
        if self.jitter > 0:
            steps.append(RandomApply(ColorJitter(self.jitter, self.jitter), p=0.8))
        if self.blur > 0:
            steps.append(RandomApply(GaussianBlur((0.1, 1.0)), p=self.blur))
        return Compose(steps)

    # -- stage 1: the template's hooks (adlab.detectors.base.DeepDetector) ----------------------
    def _recalibrates_batchnorm(self) -> bool:
        return bool(self.bn_recalibrate)

    def _plan(self, model: nn.Module, X: np.ndarray, Xt: Tensor, cfg: TrainConfig) -> TrainPlan:
        """Distribution augmentation of the instances, and the two-view contrastive step."""
        instances = distribution_augment(Xt) if self.distribution_augmentation else Xt  # (4n or n, ...)
        augment = self._augment("image" if X.ndim == 4 else "tabular")
        aug_gen = torch.Generator().manual_seed(self.seed + 1)
        hits: list[float] = []
        accuracy: list[float] = []

        def step(net: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
            x = batch[0]  # (B, ...)
            views = augment(torch.cat([x, x]), aug_gen)  # (2B, ...): independent draws per view
            z1, z2 = net(views).chunk(2)  # (B, head_dim) each; one pass, BatchNorm sees both views
            with torch.no_grad():
                sim = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T  # (B, B)
                hits.append(float((sim.argmax(1) == torch.arange(len(x), device=x.device)).float().mean()))
            return droc_contrastive_loss(z1, z2, temperature=self.temperature)

        def record(event: Any) -> None:
            if event.kind == "epoch" and hits:
                accuracy.append(float(np.mean(hits)))
                hits.clear()

        state = {"n_instances": len(instances), "accuracy": accuracy}
        return TrainPlan(step=step, data=(instances,), callbacks=(record,), state=state)

    def _finish(self, model: nn.Module, X: np.ndarray, Xt: Tensor, plan: TrainPlan) -> None:
        """Stage 2: features of the un-augmented training rows and the shallow one-class model."""
        self.history_.extras["contrastive_accuracy"] = plan.state["accuracy"]
        self.n_train_instances_ = int(plan.state["n_instances"])
        feats = self._extract(Xt)
        self.train_encoder_features_ = feats["encoder"]
        self.train_head_features_ = feats["head"]
        self._fit_stage2()

    # -- stage 2 -------------------------------------------------------------------------------
    @property
    def train_features_(self) -> dict[str, np.ndarray]:
        """Raw features of the un-augmented training rows: ``{"encoder": (n, feature_dim), "head": (n, head_dim)}``."""
        return {"encoder": self.train_encoder_features_, "head": self.train_head_features_}

    @property
    def scorer_(self) -> ShallowScorer:
        """The fitted shallow model for the current ``scorer`` / ``features`` (fitted on first use, cached)."""
        self._check_fitted()
        return self._shallow(self.scorer, self.features)

    def _fit_stage2(self) -> None:
        self._scorers: dict[tuple[str, str], ShallowScorer] = {}
        self._shallow(self.scorer, self.features)

    def _shallow(self, scorer: str, features: str) -> ShallowScorer:
        """The fitted shallow model for ``(scorer, features)``, fitted once and cached."""
        _check_choice(scorer, features)
        key = (scorer, features)
        cache = self.__dict__.setdefault("_scorers", {})
        if key not in cache:
            cache[key] = make_scorer(scorer).fit(self.train_features_[features])
        return cache[key]

    def set_scorer(self, scorer: str | None = None, features: str | None = None) -> DROC:
        """Switch stage 2 to ``scorer`` / ``features`` (``None`` keeps the current one); no retraining.

        Fits the shallow model on the cached :attr:`train_features_` (or reuses an earlier fit)
        and updates the ``scorer`` / ``features`` parameters, so ``anomaly_score`` and ``save``
        follow the switch. Returns ``self``.
        """
        self._check_fitted()
        scorer = self.scorer if scorer is None else scorer
        features = self.features if features is None else features
        self._shallow(scorer, features)
        self.scorer, self.features = scorer, features
        return self

    def score_features(self, feats: dict[str, np.ndarray] | np.ndarray, scorer: str | None = None,
                       features: str | None = None) -> np.ndarray:
        """Scores (n,) of precomputed features: a :meth:`transform` dict or one ``(n, d)`` array of ``features``."""
        self._check_fitted()
        scorer = self.scorer if scorer is None else scorer
        features = self.features if features is None else features
        F_ = feats[features] if isinstance(feats, dict) else feats
        return self._shallow(scorer, features).score(F_)

    def score_with(self, X: np.ndarray, scorer: str | None = None, features: str | None = None) -> np.ndarray:
        """Anomaly scores (n,) of ``X`` with another stage 2 (``None`` = the current choice); state unchanged."""
        self._check_fitted()
        X = self._check_rows(X)
        features = self.features if features is None else features
        _check_choice(self.scorer if scorer is None else scorer, features)
        return self.score_features(self._features(X, features), scorer, features)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self.score_features(self._features(X, self.features), self.scorer, self.features)

    # -- features ------------------------------------------------------------------------------
    @torch.no_grad()
    def _extract(self, Xt: Tensor) -> dict[str, np.ndarray]:
        """Encoder and head features of standardised rows, eval mode, in chunks: float32 numpy."""
        net = self.model_.eval()
        device = self._device()
        enc, head = [], []
        for start in range(0, len(Xt), _CHUNK):
            h = net.features(Xt[start : start + _CHUNK].to(device))  # (b, feature_dim)
            enc.append(h.float().cpu())
            head.append(net.head(h).float().cpu())  # (b, head_dim)
        return {"encoder": torch.cat(enc).numpy(), "head": torch.cat(head).numpy()}

    def _features(self, X: np.ndarray, which: str) -> np.ndarray:
        self._check_shape(X)
        return self._extract(torch.from_numpy(self._standardize(X)))[which]

    def transform(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Raw (un-normalised) features of ``X`` in both spaces: ``{"encoder": (n, feature_dim), "head": (n, head_dim)}``."""
        self._check_fitted()
        X = self._check_rows(X)
        self._check_shape(X)
        return self._extract(torch.from_numpy(self._standardize(X)))

    def embed(self, X: np.ndarray, which: str | None = None) -> np.ndarray:
        """L2-normalised features of ``X`` in space ``which`` (default: ``features``), (n, d) float32: what stage 2 sees."""
        self._check_fitted()
        which = self.features if which is None else which
        if which not in FEATURE_SPACES:
            raise ValueError(f"which must be one of {FEATURE_SPACES}, got {which!r}")
        feats = self.transform(X)[which]
        return (feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def _after_load(self) -> None:
        self.train_encoder_features_ = np.asarray(self.train_encoder_features_, dtype=np.float32)
        self.train_head_features_ = np.asarray(self.train_head_features_, dtype=np.float32)
        self.input_mean_ = np.asarray(self.input_mean_, dtype=np.float32)
        self.input_scale_ = np.asarray(self.input_scale_, dtype=np.float32)
        self._fit_stage2()


def _check_choice(scorer: str, features: str) -> None:
    if scorer not in SCORERS:
        raise ValueError(f"scorer must be one of {SCORERS}, got {scorer!r}")
    if features not in FEATURE_SPACES:
        raise ValueError(f"features must be one of {FEATURE_SPACES}, got {features!r}")

