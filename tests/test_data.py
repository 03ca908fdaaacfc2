import gzip
import shutil

import numpy as np
import pytest

from epfpga import data
from epfpga.errors import DataError


def test_digits_split_is_fixed_and_documented():
    a, b = data.load("digits"), data.load("digits")
    assert (len(a.train_y), len(a.test_y), a.features, a.classes) == (1437, 360, 64, 10)
    assert np.array_equal(a.train_x, b.train_x) and np.array_equal(a.test_y, b.test_y)
    assert a.train_x.dtype == np.float32 and 0.0 <= a.train_x.min() and a.train_x.max() == 1.0
    assert set(np.unique(a.test_y)) == set(range(10))


def test_mnist_reader_matches_the_published_checks(mnist_dir):
    ds = data.load(f"mnist:{mnist_dir}")
    assert ds.train_x.shape == (60000, 784) and ds.test_x.shape == (10000, 784)
    assert ds.train_y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert ds.test_y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert ds.train_x.mean() * 255 == pytest.approx(33.32, abs=0.01)


def _write_idx(directory, prefix, images, labels, compress):
    directory.mkdir(exist_ok=True)
    blobs = {
        f"{prefix}-images-idx3-ubyte": b"\x00\x00\x08\x03" + np.array(images.shape, ">u4").tobytes()
        + images.tobytes(),
        f"{prefix}-labels-idx1-ubyte": b"\x00\x00\x08\x01" + np.array(labels.shape, ">u4").tobytes()
        + labels.tobytes(),
    }
    for name, blob in blobs.items():
        if compress:
            with gzip.open(directory / f"{name}.gz", "wb") as f:
                f.write(blob)
        else:
            (directory / name).write_bytes(blob)


@pytest.mark.parametrize("compress", [False, True])
def test_raw_and_gzip_idx_read_the_same(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 4, 4), dtype=np.uint8)
    labels = rng.integers(0, 10, 6, dtype=np.uint8)
    for prefix in ("train", "t10k"):
        _write_idx(tmp_path / "m", prefix, images, labels, compress)
    ds = data.load(f"mnist:{tmp_path / 'm'}")
    assert np.array_equal(ds.train_x, images.reshape(6, 16).astype(np.float32) / 255)
    assert ds.test_y.tolist() == labels.tolist()


def test_corrupt_gzip_is_a_clear_error(tmp_path, mnist_dir):
    target = tmp_path / "m"
    shutil.copytree(mnist_dir, target)
    blob = (target / "t10k-labels-idx1-ubyte.gz").read_bytes()
    (target / "t10k-labels-idx1-ubyte.gz").chmod(0o644)
    (target / "t10k-labels-idx1-ubyte.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz cannot be read"):
        data.load(f"mnist:{target}")
