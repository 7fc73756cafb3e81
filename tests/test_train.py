import threading

import pytest
import torch
from torch import nn

from adlab.device import available_devices
from adlab.train import NonFiniteLoss, TrainConfig, fit, minibatches


def _regression_data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    w = torch.tensor([[1.0], [-2.0], [0.5]])
    return x, x @ w


def _mse_step(model, batch):
    x, y = batch
    return ((model(x) - y) ** 2).mean()


def test_fit_reduces_loss_and_reports_progress():
    x, y = _regression_data()
    model = nn.Linear(3, 1)
    events = []
    cfg = TrainConfig(epochs=30, batch_size=16, lr=0.05, seed=1, device="cpu", snapshot_every=10)
    history = fit(model, _mse_step, (x, y), cfg, callbacks=[events.append])
    assert history.epoch_losses[-1] < 0.1 * history.epoch_losses[0]
    assert len(history.step_losses) == 30 * 4
    kinds = [e.kind for e in events]
    assert kinds.count("epoch") == 30 and kinds.count("step") == 120 and kinds[-1] == "end"
    assert kinds.count("snapshot") == 2  # after epochs 10 and 20, not after the last
    assert events[-1].fraction == 1.0
    fractions = [e.fraction for e in events if e.kind == "epoch"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_fit_is_reproducible_with_the_seed():
    x, y = _regression_data()
    runs = []
    for _ in range(2):
        torch.manual_seed(123)
        model = nn.Linear(3, 1)
        runs.append(fit(model, _mse_step, (x, y), TrainConfig(epochs=3, batch_size=8, seed=7, device="cpu")).step_losses)
    assert runs[0] == runs[1]


def test_non_finite_loss_stops_with_a_clear_message():
    x, y = _regression_data()

    def bad_step(model, batch):
        return model(batch[0]).sum() * float("nan")

    with pytest.raises(NonFiniteLoss, match="lower the learning rate"):
        fit(nn.Linear(3, 1), bad_step, (x, y), TrainConfig(epochs=2, batch_size=8, device="cpu"))


def test_cancel_stops_early():
    x, y = _regression_data()
    cancel = threading.Event()

    def stop_after_three(event):
        if event.kind == "step" and event.step == 3:
            cancel.set()

    history = fit(nn.Linear(3, 1), _mse_step, (x, y), TrainConfig(epochs=50, batch_size=8, device="cpu"),
                  callbacks=[stop_after_three], cancel=cancel)
    assert history.cancelled and len(history.step_losses) == 3


@pytest.mark.parametrize("device", available_devices())
def test_callable_data_source_gets_a_seeded_generator_and_runs_on_the_named_device(device):
    x, y = _regression_data()

    def run(seed: int) -> tuple[list[list[int]], list[torch.device], str]:
        orders, places = [], []

        def data(epoch, generator):
            order = torch.randperm(len(x), generator=generator)[:8]
            orders.append(order.tolist())
            yield x[order], y[order]

        def step(model, batch):
            places.extend([batch[0].device, next(model.parameters()).device])
            return _mse_step(model, batch)

        history = fit(nn.Linear(3, 1), step, data, TrainConfig(epochs=2, device=device, seed=seed))
        return orders, places, history.device

    orders, places, where = run(0)
    assert len(orders) == 2 and orders[0] != orders[1]  # one generator for the run, advancing per epoch
    assert run(0)[0] == orders and run(1)[0] != orders  # ... seeded by the config's seed
    assert {p.type for p in places} == {device.split(":")[0]} and where.startswith(device.split(":")[0])


def test_too_small_dataset_is_a_clear_error():
    x, y = _regression_data(n=1)
    with pytest.raises(ValueError, match="too small"):
        fit(nn.Linear(3, 1), _mse_step, (x, y), TrainConfig(epochs=1, device="cpu"))


@pytest.mark.parametrize(
    "kwargs, name",
    [({"epochs": 0}, "epochs"), ({"batch_size": 1}, "batch_size"), ({"lr": -1.0}, "lr"),
     ({"seed": -1}, "seed"), ({"optimizer": "lbfgs"}, "optimizer"), ({"weight_decay": -0.1}, "weight_decay")],
)
def test_config_validation_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TrainConfig(**kwargs)


def test_minibatches_cover_rows_once():
    g = torch.Generator().manual_seed(0)
    idx = torch.arange(10)
    batches = list(minibatches((idx,), 4, g, drop_last=False))
    assert sorted(torch.cat([b[0] for b in batches]).tolist()) == list(range(10))
    assert [len(b[0]) for b in batches] == [4, 4, 2]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_fit_on_cuda():
    x, y = _regression_data()
    model = nn.Linear(3, 1)
    history = fit(model, _mse_step, (x, y), TrainConfig(epochs=2, device="cuda"))
    assert history.device.startswith("cuda") and next(model.parameters()).is_cuda
