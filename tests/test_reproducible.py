"""Runs are reproducible whatever else runs in the process: Streamlit runs sessions as threads of one
process, so two students training at once must get exactly what each would get alone, and no run may
move torch's global generator or thread count (issue 11, point 4; the README's link promise)."""

import threading

import numpy as np
import pytest
import torch

from adlab.contrastive import ContrastiveConfig, run_contrastive
from adlab.data import load_digits, one_class_split
from adlab.device import seeded
from adlab.experiment import MethodSpec, run_detector
from adlab.train import TrainConfig


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """The promise is bit-for-bit at one torch thread (the app's process and every job worker run one);
    with two, the order of a reduction's partial sums varies between runs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def split():
    ds = load_digits()
    return one_class_split(ds, ["2", "3", "5", "8"], ["9"], seed=0, max_test=150)


def _loss_run(split, seed: int) -> np.ndarray:
    cfg = ContrastiveConfig(loss="supcon", train=TrainConfig(epochs=2, batch_size=64, lr=1e-3, seed=seed, device="cpu"))
    return run_contrastive(split, cfg).scores_after


def _detector_run(split, method: str, seed: int) -> np.ndarray:
    spec = MethodSpec.quick(method, "image", input_shape=split.X_train.shape[1:], seed=seed, epochs=2)
    return run_detector(split, spec, device="cpu").scores


def _at_once(jobs):
    """Run the callables in threads started together; their results in order."""
    results = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def work(i, job):
        barrier.wait()
        results[i] = job()

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("kind", ["supcon", "deepsvdd", "goad", "droc", "csi"])
def test_two_seeds_at_the_same_time_equal_the_same_runs_one_after_the_other(split, kind):
    run = (lambda seed: _loss_run(split, seed)) if kind == "supcon" else (lambda seed: _detector_run(split, kind, seed))
    alone = [run(0), run(1)]
    together = _at_once([lambda: run(0), lambda: run(1)])
    for a, b in zip(alone, together, strict=True):
        assert np.array_equal(a, b), (f"{kind}: a concurrent run gave other scores than the same run alone "
                                      f"(torch threads {torch.get_num_threads()}, interop {torch.get_num_interop_threads()}; "
                                      f"other threads: {sorted(t.name for t in threading.enumerate())})")
    assert not np.array_equal(alone[0], alone[1]), "the two seeds differ"


def test_a_run_leaves_torch_global_generator_and_threads_alone(split):
    torch.manual_seed(123)
    state, threads = torch.get_rng_state(), torch.get_num_threads()
    np_state = np.random.get_state()
    _detector_run(split, "goad", 5)
    _loss_run(split, 5)
    assert torch.equal(torch.get_rng_state(), state), "a run moved torch's global generator"
    assert np.array_equal(np.random.get_state()[1], np_state[1])
    assert torch.get_num_threads() == threads


def test_seeded_gives_the_seeds_draws_and_restores_the_state():
    torch.manual_seed(7)
    before = torch.get_rng_state()
    with seeded(3):
        inside = torch.rand(4)
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(3)
    assert torch.equal(inside, torch.rand(4))
    with pytest.raises(ValueError, match="seed"):
        with seeded(-1):
            pass
