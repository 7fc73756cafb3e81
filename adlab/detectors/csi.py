"""CSI: contrasting shifted instances (Tack et al., NeurIPS 2020), for images only.

Rotations by ``y * 90`` degrees (``T_y``, ``y`` in 0..3) are *shifting* transformations: a rotated
image is treated as a different instance (a negative) in contrastive learning, and a small head
learns to tell the rotation apart. Both signals are turned into a normality score.

Training (official ``training/unsup/simclr_CSI.py``), per batch of ``B`` images:

* two views of each image: an independent random horizontal flip per view (probability ``flip``;
  the official code always uses 0.5, the presets 0 since digits have a handedness), then all 4
  rotations of each view, then SimCLR augmentations drawn independently for each of the
  ``2 * 4 * B`` images (random resized crop, brightness/contrast jitter: digits are grey);
* ``z = g(f(x))`` (SimCLR projection head on the encoder), ``l = c(f(x))`` (linear 4-way shift head);
* ``L_con-SI`` = NT-Xent (``tau = 0.5``) over the ``8B`` views: the positive of a view is the same
  image, same rotation, in the other view; every other view (other images, and the other
  rotations of the same image) is a negative;
* ``L_cls-SI`` = cross-entropy of the rotation label; ``L = L_con-SI + L_cls-SI``.

Scoring (official ``evals/ood_pre.py``): each image ``x`` is flipped at random, rotated by every
``y``, augmented, and its features averaged over ``n_ensemble`` such draws:
``z_y(x)`` (simclr head, *not* normalised) and ``l_y(x)`` (shift logits, 4 numbers), both for
``T_y x``. With the same averaged features ``z_y(x_m)`` of the training images ``x_m``:

.. math::
    s_{con}(T_y x) = \\max_m \\cos(z_y(x_m), z_y(x)) \\, \\|z_y(x)\\|,\\qquad
    s_{con\\text{-}SI} = \\sum_y \\lambda_y\\, s_{con}(T_y x),\\qquad
    s_{cls\\text{-}SI} = \\sum_y \\lambda'_y\\, l_y(x)_y

``lambda_y = 1 / mean_m ||z_y(x_m)||`` (the training mean of ``s_con``, where a training image
is its own nearest neighbour) and ``lambda'_y = 1 / mean_m l_y(x_m)_y`` (official: the same
arrays, averaged over the training set). ``s_CSI = s_con-SI + s_cls-SI`` is a *normality* score;
``anomaly_score = -s_CSI``. (The official code divides the sum by 4, a constant factor that
changes no ranking; we keep the paper's sum.) If a trained shift head gives a non-positive mean
training logit, ``lambda'_y = 1 / |mean|`` keeps "higher logit = more normal".

Ablations, all off by default (official behaviour): ``score_layer="encoder"`` measures ``s_con`` on
the encoder features ``f`` instead of ``z``; ``con_norm=False`` drops the ``||z||`` factor
(``s_con = max cos``); ``score="con_si"`` / ``"cls_si"`` ranks by one term only (as the official
``--ood_score simclr`` does for a model trained without shifts). ``score_terms`` returns every term so a
page can show what each contributes; ``fit_bank`` switches the scoring without retraining.
On one-class MNIST with a CPU-sized budget the ``||z||`` factor is a weak signal on its own (see
``bench/results/mnist_csi.md``, which reports every term).

Shapes: fit/score take ``X`` of shape ``(n, C, S, S)`` (square images, side >= 8, values in
[0, 1]); tabular ``(n, d)`` input raises ``ValueError``. ``embed(X)`` returns the encoder
features ``f(x)`` of the un-augmented, unrotated images, ``(n, feature_dim)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adlab.augment import ColorJitter, Compose, RandomApply, RandomFlip, RandomResizedCrop, Rotation
from adlab.detectors.base import DeepDetector, TrainPlan, check_X
from adlab.encoders import ProjectionHead, SmallCNN
from adlab.losses import nt_xent
from adlab.train import TrainConfig, TrainEvent

__all__ = ["CSI", "CSINet", "MNIST_PARAMS", "PRESETS"]

N_SHIFTS = 4  # rotations by 0, 90, 180, 270 degrees

SCORES = ("csi", "con_si", "cls_si")

#: MNIST 28x28 (bench/bench_mnist_csi.py): about 10 CPU-seconds of training for ~500 images.
#: ``crop_scale=1.0``: the crops keep the whole area and only change the aspect ratio (3/4..4/3),
#: a stretch of up to 13 % along one axis with a shift. Crops of half the area (0.5, the earlier
#: preset) cut digits into pieces that look like other digits (a part of a 0 is a C), and the
#: network learns to call those normal: s_CSI on classes 0 and 8 went from 89.3 / 79.1 to
#: 93.9 / 91.9 AUROC (screen in bench/results/mnist_csi.md). Scoring without test-time
#: augmentation: a 4-draw ensemble was no better on MNIST, 4x slower.
MNIST_PARAMS: dict[str, Any] = {
    "epochs": 12,
    "batch_size": 32,
    "lr": 2e-3,
    "feature_dim": 64,
    "simclr_dim": 32,
    "channels": (8, 16, 32),
    "crop_scale": 1.0,
    "flip": 0.0,
    "jitter": 0.4,
    "score_augment": False,
}

#: ``CSI.preset(name)``: "digits" = the defaults; "mnist" = official score, MNIST-sized training;
#: "mnist-encoder" = the same training, ranked by s_con-SI on encoder features without ``||z||``
#: (an ablation, not the paper's score; bench/results/mnist_csi.md reports both).
PRESETS: dict[str, dict[str, Any]] = {
    "digits": {},
    "mnist": MNIST_PARAMS,
    "mnist-encoder": {**MNIST_PARAMS, "score_layer": "encoder", "con_norm": False, "score": "con_si"},
}


class CSINet(nn.Module):
    """Encoder ``f`` with a SimCLR head ``g`` and a linear shift head ``c``.

    ``forward(x) -> (z, logits)``: ``(N, C, S, S) -> (N, simclr_dim), (N, 4)``. The heads follow
    the official ``BaseModel``: ``g = Linear(d, d) -> ReLU -> Linear(d, simclr_dim)``,
    ``c = Linear(d, 4)``. The encoder is ``SmallCNN`` followed by a ReLU, so that ``f(x) >= 0``
    as the pooled ResNet features of the official code are.
    """

    def __init__(self, in_channels: int, image_size: int, feature_dim: int, simclr_dim: int,
                 channels: Sequence[int] | None = None) -> None:
        super().__init__()
        cnn = SmallCNN(in_channels, image_size, out_dim=feature_dim, channels=channels)
        self.encoder = nn.Sequential(cnn, nn.ReLU())
        self.simclr_head = ProjectionHead(feature_dim, hidden=feature_dim, out_dim=simclr_dim)
        self.shift_head = nn.Linear(feature_dim, N_SHIFTS)

    def features(self, x: Tensor) -> Tensor:
        return self.encoder(x)  # (N, feature_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.encoder(x)  # (N, feature_dim)
        return self.simclr_head(h), self.shift_head(h)  # (N, simclr_dim), (N, 4)


class CSI(DeepDetector):
    """Contrasting shifted instances (Tack et al., NeurIPS 2020); see the module docstring.

    Defaults are sized for a quick run on 8x8 digits (about a second for one class on two CPU
    cores); use ``CSI.preset("mnist")`` for 28x28 MNIST. Learned state: ``model_`` (a
    :class:`CSINet`), ``bank_`` ``(4, M, d)`` L2-normalised ensemble-averaged training features
    per rotation (``d = simclr_dim``, or ``feature_dim`` with ``score_layer="encoder"``),
    ``weights_`` ``(2, 4)`` = ``[lambda_y (con), lambda'_y (cls)]`` (also ``weights`` as a dict),
    ``history_`` (loss curves; ``history_.extras["loss_con_si"]`` / ``["loss_cls_si"]`` per epoch).

    Parameters: ``epochs``, ``batch_size`` (``B`` images, so ``8B`` views per step), ``lr``,
    ``weight_decay`` (Adam), ``temperature`` (NT-Xent ``tau``), ``feature_dim`` (encoder output),
    ``simclr_dim`` (head output), ``channels`` (CNN widths, ``None`` = SmallCNN's default),
    ``crop_scale`` (minimum area fraction of the training crops; the official 0.08 is for natural
    images, on digits 1.0, crops that only change the aspect ratio, scored best: on 8x8 digits, 10
    classes x 2 seeds, mean AUROC 95.1 with 1.0 vs 93.7 with 0.8), ``flip`` (probability of the
    horizontal flip; the official code always flips with p = 0.5, digits have a handedness so the
    presets do not), ``jitter`` (brightness and contrast strength, applied with p = 0.8),
    ``n_ensemble`` (augmented draws averaged at scoring), ``score_augment`` (False: score the
    plain rotated images once), ``score_crop_scale`` (fixed crop area at scoring, the official
    ``--resize_fix``; ``None`` = ``crop_scale``..1 as in training), ``score_layer``, ``con_norm``
    and ``score`` (the ablations of the module docstring), ``bank_size`` (at most this many
    training images form the feature bank and the weights), ``seed``, ``device``.
    """

    name: ClassVar[str] = "csi"
    label: ClassVar[str] = "CSI"
    kinds: ClassVar[tuple[str, ...]] = ("image",)
    quick: ClassVar[dict[str, dict[str, Any]]] = {"image": {"epochs": 15}}
    presets: ClassVar[dict[str, dict[str, Any]]] = PRESETS
    paper_key: ClassVar[str] = "csi"
    untrained_note: ClassVar[str] = (
        "the initial network (same seed), BatchNorm on its default statistics; the feature bank and the "
        "weights lambda_y, lambda'_y built from it on the training images as in a real fit"
    )
    _state_tensors: ClassVar[tuple[str, ...]] = ("bank_", "weights_")

    def __init__(
        self,
        *,
        epochs: int = 15,
        batch_size: int = 32,
        lr: float = 2e-3,
        weight_decay: float = 1e-6,
        temperature: float = 0.5,
        feature_dim: int = 32,
        simclr_dim: int = 16,
        channels: tuple[int, ...] | None = None,
        crop_scale: float = 1.0,
        flip: float = 0.0,
        jitter: float = 0.4,
        n_ensemble: int = 2,
        score_augment: bool = True,
        score_crop_scale: float | None = None,
        score_layer: str = "head",
        con_norm: bool = True,
        score: str = "csi",
        bank_size: int = 5000,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.temperature = temperature
        self.feature_dim = feature_dim
        self.simclr_dim = simclr_dim
        self.channels = channels
        self.crop_scale = crop_scale
        self.flip = flip
        self.jitter = jitter
        self.n_ensemble = n_ensemble
        self.score_augment = score_augment
        self.score_crop_scale = score_crop_scale
        self.score_layer = score_layer
        self.con_norm = con_norm
        self.score = score
        self.bank_size = bank_size
        self.seed = seed
        self.device = device

    # -- checks and pieces ------------------------------------------------------------------
    def _check_params(self) -> None:
        for arg in ("epochs", "batch_size", "feature_dim", "simclr_dim", "n_ensemble", "bank_size"):
            value = getattr(self, arg)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{arg} must be a positive integer, got {value!r}")
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2 (NT-Xent needs pairs), got {self.batch_size!r}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature!r}")
        if not 0.0 < self.crop_scale <= 1.0:
            raise ValueError(f"crop_scale must lie in (0, 1], got {self.crop_scale!r}")
        if self.score_crop_scale is not None and not 0.0 < self.score_crop_scale <= 1.0:
            raise ValueError(f"score_crop_scale must be None or lie in (0, 1], got {self.score_crop_scale!r}")
        if self.score_layer not in ("head", "encoder"):
            raise ValueError(f"score_layer must be 'head' or 'encoder', got {self.score_layer!r}")
        if self.score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {self.score!r}")
        if not 0.0 <= self.flip <= 1.0:
            raise ValueError(f"flip must lie in [0, 1], got {self.flip!r}")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"jitter must lie in [0, 1], got {self.jitter!r}")

    @staticmethod
    def _check_images(X: Any, name: str = "X") -> np.ndarray:
        X = check_X(X, name=name)
        if X.ndim != 4:
            raise ValueError(
                f"CSI works on images only: {name} must have shape (n, C, H, W), got {X.shape}; "
                "its shifting transformations are image rotations, which tabular rows do not have"
            )
        if X.shape[2] != X.shape[3] or X.shape[2] < 8:
            raise ValueError(f"CSI needs square images of side >= 8 (rotations by 90 degrees), got {X.shape[2:]}")
        return X

    def _build(self, input_shape: tuple[int, ...]) -> nn.Module:
        c, s, _ = input_shape
        channels = tuple(self.channels) if self.channels is not None else None
        return CSINet(c, s, self.feature_dim, self.simclr_dim, channels)

    def _augment(self, *, scoring: bool) -> Compose:
        """SimCLR augmentations applied after the rotation (official order): crop, then jitter."""
        if scoring and self.score_crop_scale is not None:
            scale = (self.score_crop_scale, self.score_crop_scale)
        else:
            scale = (self.crop_scale, 1.0)
        steps: list[Any] = [RandomResizedCrop(scale=scale)]
        if self.jitter > 0:
            steps.append(RandomApply(ColorJitter(self.jitter, self.jitter), p=0.8))
        return Compose(steps)

    @staticmethod
    def _shifted(x: Tensor) -> Tensor:
        """``(N, C, S, S) -> (4N, C, S, S)``: ``[T_0 x; T_1 x; T_2 x; T_3 x]``."""
        rot = Rotation()
        return torch.cat([rot.apply(x, k) for k in range(N_SHIFTS)])

    # -- training: the template's hooks (adlab.detectors.base.DeepDetector) ---------------------
    def _check_input(self, X: Any) -> np.ndarray:
        X = self._check_images(X)
        if len(X) < 2:
            raise ValueError(f"X needs at least 2 images for contrastive pairs, got {len(X)}")
        return X

    def _plan(self, model: nn.Module, X: np.ndarray, Xt: Tensor, cfg: TrainConfig) -> TrainPlan:
        """Two flipped views, all 4 rotations of each, SimCLR augmentations: L_con-SI + L_cls-SI."""
        flip, augment = RandomFlip(self.flip), self._augment(scoring=False)
        aug_gen = torch.Generator().manual_seed(self.seed + 1)
        terms: dict[str, list[float]] = {"con": [], "cls": []}  # per step
        per_epoch: dict[str, list[float]] = {"loss_con_si": [], "loss_cls_si": []}

        def step(net: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
            x = batch[0]  # (B, C, S, S)
            n = x.shape[0]
            views = flip(torch.cat([x, x]), aug_gen)  # (2B, ...): an independent flip per view
            shifted = torch.cat([self._shifted(views[:n]), self._shifted(views[n:])])  # (8B, ...)
            z, logits = net(augment(shifted, aug_gen))  # (8B, simclr_dim), (8B, 4)
            labels = torch.arange(N_SHIFTS, device=x.device).repeat_interleave(n).repeat(2)  # (8B,)
            loss_con = nt_xent(z[: 4 * n], z[4 * n :], temperature=self.temperature)  # row i <-> row i
            loss_cls = F.cross_entropy(logits, labels)
            terms["con"].append(float(loss_con.detach()))
            terms["cls"].append(float(loss_cls.detach()))
            return loss_con + loss_cls

        def record(event: TrainEvent) -> None:
            if event.kind == "epoch":
                per_epoch["loss_con_si"].append(float(np.mean(terms["con"])))
                per_epoch["loss_cls_si"].append(float(np.mean(terms["cls"])))
                terms["con"].clear()
                terms["cls"].clear()

        return TrainPlan(step=step, data=(Xt,), callbacks=(record,), state={"per_epoch": per_epoch})

    def _finish(self, model: nn.Module, X: np.ndarray, Xt: Tensor, plan: TrainPlan) -> None:
        """The feature bank and the weights from the training images (:meth:`fit_bank`)."""
        self.history_.extras.update(plan.state["per_epoch"])
        self.fit_bank(X)

    def fit_bank(self, X: np.ndarray) -> CSI:
        """(Re)build the feature bank and the weights from normal images ``X``, without training.

        Uses the current scoring parameters (``score_layer``, ``con_norm``, ``n_ensemble``,
        ``score_augment``, ``score_crop_scale``), so they can be changed after ``fit``. At most
        ``bank_size`` images (a seeded subset) are used, the official code uses the whole training
        set. ``lambda_y = 1 / mean_m s_con(T_y x_m)`` with each training image its own nearest
        neighbour (so ``= 1 / mean_m ||z_y(x_m)||``, or 1 when ``con_norm=False``);
        ``lambda'_y = 1 / |mean_m l_y(x_m)_y|``.
        """
        self._check_fitted()
        self._check_params()
        X = self._check_images(X)
        if len(X) > self.bank_size:
            rng = np.random.default_rng(self.seed)
            X = X[np.sort(rng.choice(len(X), self.bank_size, replace=False))]
        feats = self._ensemble_features(X)
        z = feats[self.score_layer]  # (4, M, d)
        self.bank_ = F.normalize(z, dim=2)  # (4, M, d)
        con_mean = z.norm(dim=2).mean(dim=1) if self.con_norm else torch.ones(N_SHIFTS)  # (4,)
        cls_mean = feats["logits"].diagonal(dim1=0, dim2=2).mean(dim=0)  # (4,): mean_m l_y(x_m)_y
        self.weights_ = torch.stack([1.0 / con_mean.clamp_min(1e-12), 1.0 / cls_mean.abs().clamp_min(1e-6)])
        self.bank_setting_ = (self.score_layer, self.con_norm)
        return self

    # -- scoring ----------------------------------------------------------------------------
    @torch.no_grad()
    def _ensemble_features(self, X: np.ndarray, chunk: int = 256) -> dict[str, Tensor]:
        """Ensemble-averaged features of ``T_y x`` for every rotation, on the CPU.

        ``{"encoder": (4, n, feature_dim), "head": (4, n, simclr_dim), "logits": (4, n, 4)}``;
        row ``[y, i]`` belongs to ``T_y x_i``. Each of the ``n_ensemble`` draws flips ``x`` at
        random (the same flip for its 4 rotations, as the official ``hflip`` before the shift) and
        augments the 4 rotated copies independently; ``score_augment=False`` uses one plain pass.
        The draws come from a generator seeded with ``seed``: the same ``X`` gives the same result.
        """
        net = self.model_.eval()
        device = self._device()
        n_draws = self.n_ensemble if self.score_augment else 1
        flip, augment = RandomFlip(self.flip), self._augment(scoring=True)
        if not self.score_augment:
            flip = augment = Compose([])
        gen = torch.Generator().manual_seed(self.seed + 2)
        parts: dict[str, list[Tensor]] = {"encoder": [], "head": [], "logits": []}
        for start in range(0, len(X), chunk):
            x = torch.from_numpy(X[start : start + chunk]).to(device)  # (b, C, S, S)
            b = x.shape[0]
            sums: dict[str, Tensor] = {}
            for _ in range(n_draws):
                h = net.features(augment(self._shifted(flip(x, gen)), gen))  # (4b, feature_dim)
                out = {"encoder": h, "head": net.simclr_head(h), "logits": net.shift_head(h)}
                for key, value in out.items():
                    sums[key] = sums[key] + value if key in sums else value
            for key, value in sums.items():
                parts[key].append((value / n_draws).view(N_SHIFTS, b, -1).cpu())  # (4, b, d)
        return {key: torch.cat(value, dim=1) for key, value in parts.items()}

    def _s_con(self, feats: Tensor) -> tuple[Tensor, Tensor]:
        """``max_m cos(z_y(x_m), z_y(x))`` and ``||z_y(x)||``, both ``(n, 4)``, for ``feats`` (4, n, d)."""
        cos = torch.stack([(F.normalize(feats[y], dim=1) @ self.bank_[y].T).max(dim=1).values
                           for y in range(N_SHIFTS)], dim=1)  # (n, 4)
        return cos, feats.norm(dim=2).T  # (n, 4), (n, 4)

    def score_terms(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Every term of the CSI score for ``X`` ``(n, C, S, S)``; all float64 numpy arrays.

        Per rotation ``y`` (arrays ``(n, 4)``): ``max_cos`` = ``max_m cos(z_y(x_m), z_y(x))``,
        ``norm`` = ``||z_y(x)||``, ``s_con_rot`` = ``s_con(T_y x)`` (``max_cos * norm``, or
        ``max_cos`` when ``con_norm=False``), ``logit_rot`` = ``l_y(x)_y``, and ``con_parts`` /
        ``cls_parts`` = those times ``lambda_y`` / ``lambda'_y``. Per image ``(n,)``: ``s_con``
        (the plain SimCLR-style score, ``s_con_rot[:, 0]``), ``s_con_si`` and ``s_cls_si`` (row sums
        of the parts), ``s_csi = s_con_si + s_cls_si`` and ``anomaly_score = -s_csi`` (or minus
        the one term chosen by ``score``).
        """
        self._check_fitted()
        self._check_params()
        X = self._check_images(X)
        if (self.score_layer, self.con_norm) != self.bank_setting_:
            raise ValueError(
                f"score_layer/con_norm changed since the bank was built with {self.bank_setting_}; "
                "call fit_bank(X_train) (no retraining needed) or fit again"
            )
        feats = self._ensemble_features(X)
        max_cos, norm = self._s_con(feats[self.score_layer])  # (n, 4) each
        s_con_rot = max_cos * norm if self.con_norm else max_cos
        logit_rot = feats["logits"].diagonal(dim1=0, dim2=2)  # (n, 4): l_y(x)_y
        con_parts, cls_parts = s_con_rot * self.weights_[0], logit_rot * self.weights_[1]
        s_con_si, s_cls_si = con_parts.sum(dim=1), cls_parts.sum(dim=1)
        s_csi = s_con_si + s_cls_si
        out = {
            "max_cos": max_cos, "norm": norm, "s_con_rot": s_con_rot, "logit_rot": logit_rot,
            "con_parts": con_parts, "cls_parts": cls_parts, "s_con": s_con_rot[:, 0],
            "s_con_si": s_con_si, "s_cls_si": s_cls_si, "s_csi": s_csi,
        }
        out["anomaly_score"] = -out[f"s_{self.score}"]
        return {key: value.double().numpy() for key, value in out.items()}

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self.score_terms(X)["anomaly_score"]

    @torch.no_grad()
    def embed(self, X: np.ndarray) -> np.ndarray:
        """Encoder features ``f(x)`` of the plain images, ``(n, feature_dim)``."""
        self._check_fitted()
        X = self._check_images(X)
        device = self._device()
        net = self.model_.eval()
        out = [net.features(torch.from_numpy(X[i : i + 512]).to(device)).cpu() for i in range(0, len(X), 512)]
        return torch.cat(out).numpy()

    @property
    def weights(self) -> dict[str, np.ndarray]:
        """``{"con": lambda_y (4,), "cls": lambda'_y (4,)}`` as numpy arrays."""
        self._check_fitted()
        return {"con": self.weights_[0].numpy().copy(), "cls": self.weights_[1].numpy().copy()}

    def _after_load(self) -> None:
        self.bank_ = self.bank_.float()
        self.weights_ = self.weights_.float()
        self.bank_setting_ = (self.score_layer, self.con_norm)

