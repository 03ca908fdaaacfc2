"""The float backend's training step against the naive autograd-of-Φ reference with SGD."""

import numpy as np
import pytest
import torch

from epfpga.golden.network import init_params
from epfpga.golden.trainer import FloatTrainer

from .naive_phi import NaiveTrainer
from .random_configs import random_batch, random_config, random_conv_config, random_images

BATCHES = 3


@pytest.mark.parametrize("seed", range(40))
def test_training_matches_reference_code_procedure(seed):
    rng = np.random.default_rng(1000 + seed)
    cfg = random_config(rng)
    check_training(cfg, [random_batch(cfg, rng) for _ in range(BATCHES)])


@pytest.mark.parametrize("seed", range(20))
def test_conv_training_matches_reference_code_procedure(seed):
    rng = np.random.default_rng(2000 + seed)
    cfg = random_conv_config(rng)
    check_training(cfg, [random_images(cfg, rng) for _ in range(BATCHES)])


@pytest.mark.parametrize("seed", range(20))
def test_cep_matches_reference_procedure(seed):
    """C-EP (MLP and conv, every estimator) against per-step SGD on autograd of Φ: up to
    T2 optimiser steps per mini-batch (two legs for symmetric) accumulate rounding, hence 1e-11
    (relative where weights grow past 1)."""
    rng = np.random.default_rng(4000 + seed)
    if seed % 2:
        cfg = random_conv_config(rng, loss="mse", algorithm="cep")
        check_training(cfg, [random_images(cfg, rng) for _ in range(BATCHES)], tol=1e-11)
    else:
        cfg = random_config(rng, loss="mse", algorithm="cep")
        check_training(cfg, [random_batch(cfg, rng) for _ in range(BATCHES)], tol=1e-11)


def check_training(cfg, batches, tol=1e-12):
    trainer = FloatTrainer(cfg)
    preds = [trainer.train_batch(x, y) for x, y in batches]
    ref = NaiveTrainer(cfg, init_params(cfg))
    ref_preds = [ref.train_batch(x, y) for x, y in batches]
    ref_params = ref.net.params()
    for name, value in ref_params.items():
        scale = max(1.0, float(value.abs().max()))   # relative once weights grow past 1
        assert float((trainer.params[name] - value).abs().max()) <= tol * scale, name
    for ours, ref in zip(preds, ref_preds):
        assert np.array_equal(ours, ref)


def test_float32_and_float64_start_equal_and_stay_close():
    rng = np.random.default_rng(7)
    cfg = random_config(rng, activation="hard_sigmoid", loss="mse", sizes=(6, 5, 3), lrs=(0.1, 0.1))
    x, y = random_batch(cfg, rng)
    t64, t32 = FloatTrainer(cfg), FloatTrainer(cfg.replace(dtype="float32"))
    t64.train_batch(x, y)
    t32.train_batch(x.astype(np.float32), y)
    assert t32.params["W1"].dtype == torch.float32
    assert float((t32.params["W1"].double() - t64.params["W1"]).abs().max()) < 1e-5
