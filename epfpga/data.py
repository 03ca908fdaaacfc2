"""Data sets: scikit-learn's bundled 8x8 digits (the default), MNIST idx files and CIFAR-10
(:mod:`epfpga.cifar`).

Every set is returned as float32 pixels, one row per sample, and int64 labels; digits and
MNIST pixels lie in [0, 1].

``digits``: the 1,797 samples of :func:`sklearn.datasets.load_digits`, pixels divided by 16,
split by a fixed permutation (``numpy.random.RandomState(0).permutation(1797)``): the first
1,437 permuted samples train, the last 360 test.  The split never depends on the config seed.

``mnist:DIR``: the four standard idx files in ``DIR`` (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), each
either raw or gzip-compressed with a ``.gz`` suffix; pixels divided by 255.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .config import Config
from .errors import DataError, UserError

DIGITS_TRAIN = 1437


@dataclass(frozen=True)
class Dataset:
    """``levels``: every pixel is a byte ``k`` over ``levels`` (``k = 0 … levels``, at most 255),
    stored as the float32 nearest ``k / levels``; a board then takes the bytes
    (``docs/protocol.md`` §3).  ``None``: the pixels are not bytes."""

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    levels: int | None = None

    @property
    def features(self) -> int:
        return self.train_x.shape[1]

    @property
    def classes(self) -> int:
        return int(max(self.train_y.max(), self.test_y.max())) + 1

    def check_fits(self, config: Config) -> None:
        """Raise a :class:`UserError` unless ``config``'s input and output widths fit this set."""
        if self.features != config.sizes[0]:
            raise UserError(f"data '{self.name}' has {self.features} inputs but config "
                            f"'{config.name}' sizes[0] = {config.sizes[0]} (choose the data with --data)")
        if self.classes > config.classes:
            raise UserError(f"data '{self.name}' has {self.classes} classes but config "
                            f"'{config.name}' has {config.classes} outputs")

    def limited(self, n: int | None, test: int | None = None) -> Dataset:
        """The same set with at most ``n`` training samples and ``test`` test samples, the
        first ones (``None``: all)."""
        return replace(self, train_x=self.train_x[:n], train_y=self.train_y[:n], test_x=self.test_x[:test],
                       test_y=self.test_y[:test])


def load_digits() -> Dataset:
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    order = np.random.RandomState(0).permutation(len(y))
    train, test = order[:DIGITS_TRAIN], order[DIGITS_TRAIN:]
    return Dataset("digits", x[train], y[train], x[test], y[test], levels=16)


_IDX_MAGIC = {1: 2049, 3: 2051}


def _read_idx(directory: Path, stem: str, ndim: int) -> np.ndarray:
    raw, gz = directory / stem, directory / f"{stem}.gz"
    if raw.is_file():
        path, opener = raw, open
    elif gz.is_file():
        path, opener = gz, gzip.open
    else:
        raise DataError(f"MNIST file missing: neither {raw} nor {gz} exists")
    try:
        with opener(path, "rb") as f:
            blob = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"MNIST file {path} cannot be read: {exc}") from None
    header = 4 + 4 * ndim
    if len(blob) < header:
        raise DataError(f"MNIST file {path} is truncated: {len(blob)} bytes, header needs {header}")
    magic = struct.unpack(">I", blob[:4])[0]
    if magic != _IDX_MAGIC[ndim]:
        raise DataError(f"MNIST file {path} has magic {magic}, expected {_IDX_MAGIC[ndim]} "
                        f"(an idx{ndim} file of unsigned bytes)")
    dims = struct.unpack(f">{ndim}I", blob[4:header])
    expected = header + int(np.prod(dims))
    if len(blob) != expected:
        raise DataError(f"MNIST file {path} holds {len(blob)} bytes, its header "
                        f"{'x'.join(map(str, dims))} needs {expected}")
    return np.frombuffer(blob, dtype=np.uint8, offset=header).reshape(dims)


def _mnist_split(directory: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    images = _read_idx(directory, f"{prefix}-images-idx3-ubyte", 3)
    labels = _read_idx(directory, f"{prefix}-labels-idx1-ubyte", 1)
    if len(images) != len(labels):
        raise DataError(f"MNIST {prefix} set in {directory}: {len(images)} images "
                        f"but {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise DataError(f"MNIST {prefix} labels in {directory} hold {labels.max()}, "
                        "beyond the 10 classes")
    x = images.reshape(len(images), -1).astype(np.float32) / 255.0
    return x, labels.astype(np.int64)


def load_mnist(directory: str | Path) -> Dataset:
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"MNIST directory {directory} does not exist")
    train_x, train_y = _mnist_split(directory, "train")
    test_x, test_y = _mnist_split(directory, "t10k")
    if train_x.shape[1] != test_x.shape[1]:
        raise DataError(f"MNIST in {directory}: train images have {train_x.shape[1]} pixels, "
                        f"test images {test_x.shape[1]}")
    return Dataset("mnist", train_x, train_y, test_x, test_y, levels=255)


def load(spec: str) -> Dataset:
    """``digits``, ``mnist:DIR`` or ``cifar10:DIR``; raises :class:`DataError` naming the problem."""
    if spec == "digits":
        return load_digits()
    if spec.startswith("mnist:") and len(spec) > len("mnist:"):
        return load_mnist(spec[len("mnist:"):])
    if spec.startswith("cifar10:") and len(spec) > len("cifar10:"):
        from .cifar import load_cifar10
        return load_cifar10(spec[len("cifar10:"):])
    raise DataError(f"--data '{spec}': expected 'digits', 'mnist:DIR' or 'cifar10:DIR'")
