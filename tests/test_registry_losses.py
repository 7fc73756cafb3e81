"""The loss contract: a loss defined here, registered at run time, goes through every place that
dispatches by name (training, breakdown, instant view, explorer, config); every built-in loss
carries the whole contract."""

from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from adlab import instant, registry
from adlab.contrastive import ContrastiveConfig, run_contrastive
from adlab.data import make_toy, one_class_split
from adlab.encoders import MLP, ContrastiveNet, ProjectionHead
from adlab.losses.base import CLASS
from adlab.losses.diagnostics import AnchorBreakdown, anchor_breakdown
from adlab.train import TrainConfig


# ----------------------------------------------------------------------------- a test-local loss
@dataclass(frozen=True)
class CentreConfig:
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale!r}")


def _centre_loss(z: torch.Tensor, labels: torch.Tensor, scale: float) -> torch.Tensor:
    """``scale * mean_i ||z_i - c_{y_i}||^2`` with ``c_k`` the mean of class ``k`` in the batch."""
    classes, inverse = torch.unique(labels, return_inverse=True)
    sums = torch.zeros(len(classes), z.shape[1], dtype=z.dtype).index_add(0, inverse, z)  # (K, d)
    counts = torch.bincount(inverse, minlength=len(classes)).to(z.dtype)  # (K,)
    return scale * (z - (sums / counts[:, None])[inverse]).pow(2).sum(1).mean()


def _make_step(cfg: CentreConfig, ctx):
    def step(model, batch):
        x, y = batch
        ctx.record({"batches": 1})
        return _centre_loss(F.normalize(model(x), dim=1), y, cfg.scale)

    return step


def _breakdown(cfg: CentreConfig, *, anchor: int, embeddings: torch.Tensor, labels: torch.Tensor) -> AnchorBreakdown:
    """Anchor loss ``scale ||z_a - c||^2``; with ``c`` held fixed its gradient is
    ``sum_k w_k (z_k - z_a)``, ``w_k = -2 scale / |C|`` for the anchor's classmates, 0 for the others."""
    z, lab = embeddings.detach().double(), torch.as_tensor(labels)
    same = lab == lab[anchor]  # (B,) the class, anchor included
    loss = cfg.scale * float((z[anchor] - z[same].mean(0)).pow(2).sum())
    index = torch.arange(len(z))[torch.arange(len(z)) != anchor]  # (B-1,)
    is_pos = same[index]
    weight = torch.where(is_pos, -2.0 * cfg.scale / int(same.sum()), 0.0)
    dist = (z[index] - z[anchor]).pow(2).sum(1)
    return AnchorBreakdown("centre", anchor, loss, index.numpy(), np.where(is_pos.numpy(), "positive", "negative"),
                           dist.numpy(), np.zeros(len(index)), weight.numpy(), 1.0, similarity_name="distance")


def _instant_view(batch, anchor, cfg):
    anchor = instant.check_anchor(anchor, len(batch.points))
    emb, lab = instant.as_tensor(batch.points), torch.as_tensor(batch.labels)
    bd = _breakdown(cfg, anchor=anchor, embeddings=emb, labels=lab)
    loss = _centre_loss(emb, lab, cfg.scale)
    return instant.finish("centre", batch, anchor, float(loss), bd, bd.index, batch.points, batch.points[anchor],
                          on_sphere=False)


def _explore(cfg, pool, *, size=64):
    rows = pool.sample(size)
    bd = _breakdown(cfg, anchor=0, embeddings=F.normalize(pool.embed(rows), dim=1),
                    labels=torch.as_tensor(pool.y[rows]))
    return instant.ExplorerResult(bd, rows, np.zeros(len(rows), dtype=np.int64))


def _centre_module() -> types.ModuleType:
    module = types.ModuleType("centre_loss")
    module.NAME, module.LABEL, module.PAPER_KEY = "centre", "Centre (test)", ""
    module.Config = CentreConfig
    module.positives = lambda cfg: CLASS
    module.make_step = _make_step
    module.breakdown = _breakdown
    module.instant_batch = instant.class_batch
    module.instant_view = _instant_view
    module.explore = _explore
    return module


@pytest.fixture
def centre():
    module = registry.register_loss(_centre_module())
    yield module
    registry.unregister("centre")
    assert "centre" not in registry.loss_names()


@pytest.fixture(scope="module")
def blobs():
    return one_class_split(make_toy("blobs", n=240, seed=0), [0, 1, 2], seed=0)


# ----------------------------------------------------------------------------- the extra loss end to end
def test_registered_loss_trains_end_to_end(centre, blobs):
    assert "centre" in registry.loss_names()
    train = TrainConfig(epochs=3, batch_size=32, lr=1e-2, device="cpu")
    cfg = ContrastiveConfig.for_loss("centre", train, scale=2.0, knn_k=3)
    assert cfg.loss == CentreConfig(scale=2.0) and cfg.knn_k == 3 and cfg.loss_name == "centre"
    assert cfg.positives == "class"
    run = run_contrastive(blobs, cfg)
    assert run.config is cfg and len(run.history.epoch_losses) == 3
    assert np.isfinite(run.history.step_losses).all()
    assert run.history.epoch_losses[-1] < run.history.epoch_losses[0]  # pulling classes together works
    per_epoch = len(run.history.step_losses) // 3  # the step's counter: one per batch, totalled per epoch
    assert per_epoch >= 2 and run.triplet_counts == [{"batches": per_epoch}] * 3
    assert run.scores_after.shape == (len(blobs.X_test),) and run.scores_after.std() > 0
    assert set(run.geometry_after) == {"alignment", "uniformity"}
    again = run_contrastive(blobs, cfg)
    assert again.history.step_losses == run.history.step_losses  # seeded like the built-ins


def test_registered_loss_reaches_the_downloads_and_the_run_card(centre, blobs):
    """The loss page's downloads (pages/_export.py) name the extra loss by its label and write its
    settings, with no file but this one knowing it."""
    import json

    from pages import _export

    cfg = ContrastiveConfig.for_loss("centre", TrainConfig(epochs=2, batch_size=32, device="cpu"), scale=2.0)
    run = run_contrastive(blobs, cfg)
    stored = {"run": run, "split": blobs, "dataset": "toy:blobs", "class_names": ("0", "1", "2", "anomaly")}
    files = _export.files_as_dict(_export.contrastive_files("centre", stored))
    assert {"scores.csv", "config.json", "run_card.md", "weights.pt"} <= set(files)
    config = json.loads(files["config.json"])
    assert config["loss"] == "centre" and config["scale"] == 2.0
    card = files["run_card.md"].decode()
    assert card.startswith("# Centre (test) on toy:blobs"), card[:80]
    assert f"{run.metrics_after['auroc']:.4f}" in card


def test_registered_loss_config_routes_its_knobs(centre):
    with pytest.raises(ValueError, match="unknown setting.s. margin for the loss 'centre'; its settings are scale"):
        ContrastiveConfig.for_loss("centre", margin=0.2)
    with pytest.raises(ValueError, match="scale must be > 0"):
        ContrastiveConfig.for_loss("centre", scale=0.0)
    assert ContrastiveConfig("centre").loss == CentreConfig()
    flat = ContrastiveConfig.for_loss("centre", scale=3.0).to_dict()
    assert flat["loss"] == "centre" and flat["scale"] == 3.0
    assert ContrastiveConfig.from_dict(flat).loss == CentreConfig(scale=3.0)


def test_registered_loss_breakdown_view_and_explorer(centre):
    z = F.normalize(torch.randn(9, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64), dim=1)
    y = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2])
    bd = anchor_breakdown("centre", CentreConfig(scale=0.5), anchor=4, embeddings=z, labels=y)
    assert bd.kind == "centre" and bd.loss == pytest.approx(0.5 * float((z[4] - z[3:6].mean(0)).pow(2).sum()))
    assert sorted(bd.index[bd.role == "positive"].tolist()) == [3, 5]
    # the weights give the gradient with the centre held fixed
    za = z[4].clone().requires_grad_()
    (0.5 * (za - z[3:6].mean(0)).pow(2).sum()).backward()
    predicted = (torch.as_tensor(bd.grad_weight)[:, None] * (z[torch.as_tensor(bd.index)] - z[4])).sum(0)
    assert torch.allclose(za.grad, predicted, atol=1e-12)
    with pytest.raises(ValueError, match="cfg must be a CentreConfig"):
        anchor_breakdown("centre", ContrastiveConfig().loss, anchor=0, embeddings=z, labels=y)

    view = instant.view("centre", instant.class_batch(), 2, CentreConfig(scale=1.0))
    assert view.kind == "centre" and view.groups[2] == "anchor" and view.sizes.max() == pytest.approx(1.0)
    assert np.linalg.norm(view.step) > 0

    torch.manual_seed(0)
    model = ContrastiveNet(MLP(2, hidden=(16,), out_dim=8), ProjectionHead(8, hidden=8, out_dim=4))
    X = np.random.default_rng(0).normal(size=(30, 2)).astype(np.float32)
    labels = np.repeat(np.arange(3), 10)
    res = instant.explore_anchor(model, X, labels, 5, ContrastiveConfig("centre"), data_kind="tabular", size=12)
    pos = res.rows[res.breakdown.index][res.breakdown.role == "positive"]
    assert res.breakdown.kind == "centre" and len(pos) >= 1 and (labels[pos] == labels[5]).all()


# ----------------------------------------------------------------------------- the built-ins
CONTRACT = (*registry._LOSS_ATTRS, "positives", "instant_batch", "explore")
BAD_VALUES = {
    "triplet": {"margin": -1.0},
    "npair": {"l2_reg": -0.1},
    "supcon": {"temperature": 0.0},
    "simclr": {"temperature": float("inf")},
}


def test_the_built_ins_are_the_four_losses():
    assert set(BAD_VALUES) <= set(registry.loss_names())
    assert registry.loss_names()[:4] == ("triplet", "npair", "supcon", "simclr")


@pytest.mark.parametrize("name", list(BAD_VALUES))
def test_every_built_in_loss_has_the_contract_and_its_config_checks_values(name):
    module = registry.loss(name)
    missing = [attr for attr in CONTRACT if not hasattr(module, attr)]
    assert not missing, missing
    assert module.NAME == name and module.LABEL and isinstance(module.PAPER_KEY, str)
    cfg = module.Config()
    assert dataclasses.is_dataclass(cfg) and hash(cfg) == hash(module.Config())  # usable as a cache key
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(cfg, dataclasses.fields(cfg)[0].name, None)
    assert module.positives(cfg) in ("class", "augmentation")
    (knob, bad), = BAD_VALUES[name].items()
    with pytest.raises(ValueError, match=knob):
        module.Config(**{knob: bad})
    with pytest.raises(ValueError, match=knob):
        ContrastiveConfig.for_loss(name, **{knob: bad})
