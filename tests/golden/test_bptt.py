"""Truncated BPTT: per-step gradients sum to plain autograd through the truncated unroll."""

import numpy as np
import pytest
import torch

from epfpga.golden import bptt
from epfpga.golden.network import Dynamics, init_params

from .random_configs import random_batch, random_config


def _plain_autograd(cfg, p, x, target, steps, k):
    dyn = Dynamics(cfg)
    leaves = {n: v.clone().requires_grad_() for n, v in p.items()}
    with torch.no_grad():
        s = dyn.relax(p, dyn.zero_state(len(x), x), dyn.drive(p, x), steps - k, 0.0, None)
    for _ in range(k):
        s = dyn.step(leaves, s, dyn.drive(leaves, x), 0.0, None)
    loss = dyn.loss(leaves, s[-1], target)
    grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
    return {n: g if g is not None else torch.zeros_like(p[n]) for n, g in zip(leaves, grads)}


@pytest.mark.parametrize("seed", range(30))
def test_truncated_gradients_equal_plain_autograd(seed):
    rng = np.random.default_rng(2000 + seed)
    cfg = random_config(rng)
    p = init_params(cfg)
    x, y = random_batch(cfg, rng)
    x = torch.from_numpy(x)
    target = torch.nn.functional.one_hot(torch.from_numpy(y), cfg.classes).double()
    k = int(rng.integers(1, cfg.t1 + 1))
    grads, final = bptt.gradients(Dynamics(cfg), p, x, target, cfg.t1, k)
    ref = _plain_autograd(cfg, p, x, target, cfg.t1, k)
    for name in p:
        assert float((grads[name] - ref[name]).abs().max()) <= 1e-12, name
    assert len(final) == len(cfg.neuron_sizes)


def test_per_step_terms_are_the_differences_of_truncations():
    rng = np.random.default_rng(5)
    cfg = random_config(rng, loss="mse", activation="tanh", t1=8, sizes=(5, 4, 4, 3), lrs=(0.1,) * 3)
    p = init_params(cfg)
    x, y = random_batch(cfg, rng)
    x = torch.from_numpy(x)
    target = torch.nn.functional.one_hot(torch.from_numpy(y), cfg.classes).double()
    dyn = Dynamics(cfg)
    _, per_step, _ = bptt.step_gradients(dyn, p, x, target, cfg.t1, 5)
    for j in range(1, 5):
        g_j = _plain_autograd(cfg, p, x, target, cfg.t1, j + 1)
        g_prev = _plain_autograd(cfg, p, x, target, cfg.t1, j)
        for name in p:
            assert float((per_step[j][name] - (g_j[name] - g_prev[name])).abs().max()) <= 1e-12
