"""Checkpoint and resume: a run stopped and resumed equals the run that was never stopped,
weights, PRNG states and metrics (all but the wall-clock figures)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from epfpga import checkpoint
from epfpga import config as config_mod
from epfpga import data as data_mod
from epfpga.errors import UserError
from epfpga.golden.fixed.trainer import FixedTrainer
from epfpga.train import run

TIMING = ("seconds", "samples_per_s")


def small_config(**changes) -> config_mod.Config:
    base = dict(name="ckpt", sizes=[64, 12, 10], lanes=4, batch=8, lrs=[0.2, 0.1], t1=4, t2=2, epochs=2,
                estimator="random-sign", fixed={"rounding": "stochastic"}, seed=7)
    return config_mod.from_dict({**base, **changes})


def digits() -> data_mod.Dataset:
    return data_mod.load("digits").limited(80, 40)


def without_timing(metrics: dict) -> dict:
    return {**metrics, "epochs": [{k: v for k, v in e.items() if k not in TIMING} for e in metrics["epochs"]]}


class Interrupted(Exception):
    pass


class StopsAfter(FixedTrainer):
    """A fixed-point trainer that dies after ``n`` mini-batches (a killed process)."""

    def __init__(self, config, n):
        super().__init__(config)
        self.left = n

    def train_batch(self, x, y):
        if self.left == 0:
            raise Interrupted
        self.left -= 1
        return super().train_batch(x, y)


@pytest.mark.parametrize("stop_after", [10, 13])   # at an epoch's end (10 batches) and within epoch 2
def test_a_resumed_run_equals_the_uninterrupted_one(tmp_path, stop_after):
    cfg, data = small_config(), digits()
    straight = run(cfg, data, FixedTrainer(cfg), tmp_path / "a")
    with pytest.raises(Interrupted):
        run(cfg, data, StopsAfter(cfg, stop_after), tmp_path / "b", checkpoint_every=3)
    saved, position = checkpoint.load(tmp_path / "b", cfg)
    assert (position.epoch, position.batch) == ((2, 0) if stop_after == 10 else (2, 2))   # every 3rd batch
    resumed_trainer = FixedTrainer(cfg)
    resumed = run(cfg, data, resumed_trainer, tmp_path / "b", checkpoint_every=3, resume=tmp_path / "b")
    assert without_timing(resumed) == without_timing(straight)
    assert (tmp_path / "a" / "weights.npz").read_bytes() == (tmp_path / "b" / "weights.npz").read_bytes()
    reference = FixedTrainer(cfg)
    run(cfg, data, reference, tmp_path / "c")
    for key, value in reference.state().items():
        assert np.array_equal(resumed_trainer.state()[key], value), key


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path):
    cfg, data = small_config(epochs=1), digits()
    run(cfg, data, FixedTrainer(cfg), tmp_path, checkpoint_every=100)
    with pytest.raises(UserError, match="config key 'lrs'"):
        checkpoint.load(tmp_path, small_config(lrs=[0.3, 0.1]))
    checkpoint.load(tmp_path, small_config(epochs=5))   # more epochs: allowed


def test_resume_of_a_folder_without_checkpoint_says_so(tmp_path):
    with pytest.raises(UserError, match="checkpoint.npz: no such file"):
        checkpoint.load(tmp_path, small_config())


def test_checkpoints_through_the_cli_on_the_fixed_backend(tmp_path):
    from epfpga.cli import main
    toml = tmp_path / "c.toml"
    toml.write_text(config_mod.dumps(small_config()))
    common = ["train", "--config", str(toml), "--backend", "fixed", "--limit", "80", "--test-limit", "40"]
    assert main(common + ["--epochs", "2", "--out", str(tmp_path / "a")]) == 0
    assert main(common + ["--epochs", "1", "--checkpoint-every", "4", "--out", str(tmp_path / "b")]) == 0
    assert main(common + ["--epochs", "2", "--resume", str(tmp_path / "b")]) == 0
    a, b = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in "ab")
    assert without_timing(a) == without_timing(b)
    assert (tmp_path / "a" / "weights.npz").read_bytes() == (tmp_path / "b" / "weights.npz").read_bytes()
