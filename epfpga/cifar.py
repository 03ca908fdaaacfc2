"""CIFAR-10 in its standard python-pickle release (``cifar-10-batches-py``).

``--data cifar10:DIR`` reads ``data_batch_1`` … ``data_batch_5`` and ``test_batch`` from
``DIR`` or from ``DIR/cifar-10-batches-py``.  Each is a pickled dict with ``data`` (``N ×
3072`` bytes: the red, green and blue 32×32 planes of each image, row-major) and ``labels``.
Pixels are scaled to [0, 1] and normalised per channel with the 2021 paper's mean and *three*
standard deviations, ``(v − mean) / (3·std)``, and returned flattened in ``[C, H, W]`` order.
The training set is not augmented.

The files are unpickled with a loader that accepts only what such a file holds (a dict of
bytes, lists and numpy arrays): a file carrying anything else is refused, not executed.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from .errors import DataError

MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
STD = np.array([0.2023, 0.1994, 0.2010], dtype=np.float32)
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
PIXELS = 3 * 32 * 32


class _DataUnpickler(pickle.Unpickler):
    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"),
                ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
                ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refuses to load {module}.{name}")
        return super().find_class(module, name)


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DataError(f"CIFAR-10 file missing: {path}")
    try:
        with open(path, "rb") as f:
            batch = _DataUnpickler(f, encoding="bytes").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, KeyError) as exc:
        raise DataError(f"CIFAR-10 file {path} is not a CIFAR-10 python batch: {exc}") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataError(f"CIFAR-10 file {path} is not a CIFAR-10 python batch: no 'data' and 'labels'")
    data, labels = batch[b"data"], batch[b"labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        shown = getattr(data, "shape", type(data).__name__)
        raise DataError(f"CIFAR-10 file {path}: 'data' must be N x {PIXELS} bytes, got {shown}")
    try:
        y = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        raise DataError(f"CIFAR-10 file {path}: 'labels' must be integers") from None
    if y.shape != (len(data),):
        raise DataError(f"CIFAR-10 file {path}: {len(data)} images but {y.size} labels")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise DataError(f"CIFAR-10 file {path}: labels must be 0-9, found {y.min()}..{y.max()}")
    return data, y


def _normalise(data: np.ndarray) -> np.ndarray:
    x = data.reshape(len(data), 3, 32 * 32).astype(np.float32) / 255.0
    x = (x - MEAN[:, None]) / (3.0 * STD[:, None])
    return x.reshape(len(data), PIXELS)


def load_cifar10(directory: str | Path):
    from .data import Dataset

    directory = Path(directory)
    if (directory / "cifar-10-batches-py").is_dir():
        directory = directory / "cifar-10-batches-py"
    if not directory.is_dir():
        raise DataError(f"CIFAR-10 directory {directory} does not exist")
    train = [_read_batch(directory / name) for name in TRAIN_FILES]
    test_data, test_y = _read_batch(directory / TEST_FILE)
    train_data = np.concatenate([d for d, _ in train])
    train_y = np.concatenate([y for _, y in train])
    return Dataset("cifar10", _normalise(train_data), train_y, _normalise(test_data), test_y)
