import os
from pathlib import Path

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One intra-op thread per xdist worker: two workers with two threads each oversubscribe
    # the two cores and slow torch down several-fold.
    torch.set_num_threads(1)

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture
def mnist_dir() -> Path:
    """The shared MNIST idx files; tests that need them skip, saying why, where they are absent."""
    if not (MNIST_DIR / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST not found at {MNIST_DIR} (the shared data folder beside the project)")
    return MNIST_DIR


# The simulators' and the toolchain's tests first: with ``-n 2`` the suite takes as long as its
# busiest worker, and one of these started last would run alone at the end.
FIRST = ("tests/verification/", "tests/boards/test_build.py", "tests/hdl/test_core.py")


def pytest_collection_modifyitems(items) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(FIRST))     # (stable: each file keeps its order)
