"""The float backend's training step against the naive autograd-of-Φ reference with SGD."""

import numpy as np
import pytest
import torch

from epfpga.golden.mlp import init_params
from epfpga.golden.trainer import FloatTrainer

from .naive_phi import NaivePhiMLP
from .random_configs import random_batch, random_config

BATCHES = 3


def _reference_training(cfg, batches):
    """Train the naive model as the reference code does: SGD on p.grad = -ΔΘ."""
    naive = NaivePhiMLP(cfg, init_params(cfg))
    groups = [{"params": list(lin.parameters()), "lr": lr} for lin, lr in zip(naive.layers, cfg.lrs)]
    opt = torch.optim.SGD(groups, lr=cfg.lrs[0], momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    sign_gen = torch.Generator().manual_seed(cfg.seed)
    preds = []
    for x, y in batches:
        x = torch.from_numpy(x)
        target = torch.nn.functional.one_hot(torch.from_numpy(y), cfg.classes).double()
        beta = cfg.beta
        if cfg.estimator == "random-sign":
            beta = beta if torch.randint(0, 2, (1,), generator=sign_gen).item() else -beta
        free, a, b = naive.phases(x, target, cfg.estimator, beta)
        top = naive.layers[-1](free[-1]) if cfg.loss == "ce" else free[-1]
        preds.append(torch.argmax(top, dim=1).numpy())
        naive.update_direction(x, target, a, b)
        for p in naive.layers.parameters():
            p.grad = -p.grad
        opt.step()
    return naive.params(), preds


@pytest.mark.parametrize("seed", range(40))
def test_training_matches_reference_code_procedure(seed):
    rng = np.random.default_rng(1000 + seed)
    cfg = random_config(rng)
    batches = [random_batch(cfg, rng) for _ in range(BATCHES)]
    trainer = FloatTrainer(cfg)
    preds = [trainer.train_batch(x, y) for x, y in batches]
    ref_params, ref_preds = _reference_training(cfg, batches)
    for name, value in ref_params.items():
        assert float((trainer.params[name] - value).abs().max()) <= 1e-12, name
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
