"""Shared test fixtures: where the real data lives, and the repository root."""

import os
from pathlib import Path

import pytest

# AppTest cannot drive a timed fragment: a page under test follows its jobs to the end in one script run
# (the app hands a long job to a fragment after 2 s: pages/_jobs.py, tested on its own with this at 0).
os.environ.setdefault("ADLAB_FOLLOW_BLOCK_S", "inf")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it sits beside the checkout as ../shared/data)")
    return SHARED_DATA


def pytest_configure(config):
    # The models here are tiny: one torch thread is as fast as two on an idle 2-core machine and
    # 20-30x faster when the other core is busy (the browser test runs a server and chromium).
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def _job_pool():
    """The pages run their training as jobs on one pool of worker processes per test process (made on
    the first Train); stop it at the end, so no worker outlives the session."""
    yield
    import sys

    for name in ("pages._jobs", "_jobs"):  # a page run on its own may import the helper either way
        module = sys.modules.get(name)
        if module is not None:
            module.shutdown()


@pytest.fixture(autouse=True)
def _torch_threads_left_alone(request):
    """A test that leaves torch's thread count changed is named in the session's report (process-wide
    state: the later tests of this process would run with it)."""
    import torch

    before = torch.get_num_threads()
    yield
    after = torch.get_num_threads()
    if after != before:
        request.config._adlab_thread_changes = [*getattr(request.config, "_adlab_thread_changes", []),
                                                f"{request.node.nodeid}: {before} -> {after}"]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    changes = getattr(config, "_adlab_thread_changes", [])
    if changes:
        terminalreporter.write_line("tests that changed torch's thread count: " + "; ".join(changes))
