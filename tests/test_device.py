import random

import numpy as np
import pytest
import torch

from adlab.device import available_devices, describe_device, pick_device, seed_everything


def test_auto_picks_the_best_available():
    assert pick_device("auto").type == available_devices()[0]
    assert available_devices()[-1] == "cpu"
    assert pick_device("cpu") == torch.device("cpu")
    assert describe_device("cpu").startswith("cpu")


def test_unknown_or_missing_device_is_a_clear_error():
    with pytest.raises(ValueError, match="device must be"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available here"):
            pick_device("cuda")


def test_seed_everything_makes_all_generators_repeat():
    seed_everything(5)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(5)
    assert a == (random.random(), np.random.rand(), torch.rand(1).item())
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)
