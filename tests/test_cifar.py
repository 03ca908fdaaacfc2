"""CIFAR-10 in its python-pickle format, on small synthetic stand-ins written in that format."""

import json
import math
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from epfpga import config
from epfpga.cifar import MEAN, STD, TEST_FILE, TRAIN_FILES, load_cifar10
from epfpga.errors import DataError
from epfpga.golden.trainer import FloatTrainer

PER_BATCH = 8


def write_cifar(folder, rng, per_batch=PER_BATCH):
    """Five training batches and a test batch, pickled as the CIFAR-10 release is."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in (*TRAIN_FILES, TEST_FILE):
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, per_batch)]
        with open(folder / name, "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"labels": labels, b"data": data,
                         b"filenames": [b"x.png"] * per_batch}, f, protocol=2)
    return folder


def test_loads_normalises_and_keeps_channel_order(tmp_path):
    folder = write_cifar(tmp_path / "cifar-10-batches-py", np.random.default_rng(0))
    ds = load_cifar10(tmp_path)   # the parent folder of cifar-10-batches-py works too
    assert ds.train_x.shape == (5 * PER_BATCH, 3072) and ds.test_x.shape == (PER_BATCH, 3072)
    with open(folder / "data_batch_2", "rb") as f:
        raw = pickle.load(f, encoding="bytes")
    img = raw[b"data"][3].reshape(3, 32, 32) / 255.0
    want = (img - MEAN[:, None, None]) / (3 * STD[:, None, None])
    assert np.allclose(ds.train_x[PER_BATCH + 3].reshape(3, 32, 32), want, atol=1e-6)
    assert ds.train_y[PER_BATCH + 3] == raw[b"labels"][3]


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _corrupt(case, folder):
    path = folder / "data_batch_3"
    if case == "missing":
        path.unlink()
    elif case == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif case == "not a pickle":
        path.write_text("hello")
    elif case == "code in the pickle":
        path.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": []}))
    elif case == "wrong shape":
        path.write_bytes(pickle.dumps({b"data": np.zeros((4, 100), np.uint8), b"labels": [0] * 4}))
    elif case == "labels out of range":
        path.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 12]}))
    elif case == "label count":
        path.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [3]}))


CASES = ["missing", "truncated", "not a pickle", "code in the pickle", "wrong shape",
         "labels out of range", "label count"]


@pytest.mark.parametrize("case", CASES)
def test_bad_files_raise_data_error_naming_the_file(case, tmp_path):
    folder = write_cifar(tmp_path, np.random.default_rng(1))
    _corrupt(case, folder)
    with pytest.raises(DataError, match="data_batch_3"):
        load_cifar10(folder)


@pytest.mark.parametrize("case", ["code in the pickle", "labels out of range"])
def test_cli_exits_2_with_one_line(case, tmp_path):
    folder = write_cifar(tmp_path / "c", np.random.default_rng(2))
    _corrupt(case, folder)
    proc = subprocess.run([sys.executable, "-m", "epfpga.cli", "train", "--config", "cifar10-cnn",
                           "--data", f"cifar10:{folder}", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "pwned" not in proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "data_batch_3" in lines[0], proc.stderr


def test_cifar10_preset_trains_on_the_stand_in(tmp_path):
    """The preset's network shape (four conv layers, paddings 1 1 1 0, readout from 512x1x1
    maps) with narrow channels and short phases, through the CLI."""
    from epfpga.cli import main

    folder = write_cifar(tmp_path / "c", np.random.default_rng(3))
    toml = tmp_path / "small.toml"
    toml.write_text('preset = "cifar10-cnn"\nchannels = [4, 4, 4, 6]\nt1 = 4\nt2 = 2\nbatch = 8\nepochs = 2\n'
                    'schedule_epochs = 2\n')
    assert main(["train", "--config", str(toml), "--data", f"cifar10:{folder}", "--device", "cpu",
                 "--out", str(tmp_path / "run")]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["data"] == "cifar10" and len(metrics["epochs"]) == 2
    assert metrics["config"]["lr_schedule"] == "cosine"


@pytest.mark.filterwarnings(r"ignore:Detected call of `lr_scheduler.step\(\)` before:UserWarning")
def test_cosine_schedule_follows_pytorch_once_per_epoch():
    cfg = config.load("digits").replace(lr_schedule="cosine", lr_min=1e-3, schedule_epochs=10)
    trainer = FloatTrainer(cfg)
    for epoch in range(1, 4):
        trainer.end_epoch()
        for group, lr0 in zip(trainer.optimizer.param_groups, cfg.lrs):
            want = 1e-3 + (lr0 - 1e-3) * (1 + math.cos(math.pi * epoch / 10)) / 2
            assert group["lr"] == pytest.approx(want, rel=1e-12)
