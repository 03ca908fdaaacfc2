"""VF's update rule and dynamics (separate feedback weights)."""

import numpy as np
import torch

from epfpga.golden.estimators import vf_update
from epfpga.golden.network import Dynamics, init_params
from epfpga.golden.trainer import FloatTrainer

from .random_configs import random_batch, random_config


def _vf(seed, **overrides):
    rng = np.random.default_rng(seed)
    cfg = random_config(rng, loss="mse", sizes=(7, 6, 5, 4), lrs=(0.1, 0.1, 0.1), feedback="separate", **overrides)
    x, y = random_batch(cfg, rng)
    target = torch.nn.functional.one_hot(torch.from_numpy(y), cfg.classes).double()
    return cfg, init_params(cfg), torch.from_numpy(x), target


def test_feedback_weights_are_drawn_independently():
    cfg, p, _, _ = _vf(0)
    assert p["B2"].shape == (6, 5) and p["B3"].shape == (5, 4)
    assert not torch.equal(p["B2"], p["W2"].T)
    angles = FloatTrainer(cfg, p).angles()
    assert set(angles) == {"B2", "B3"} and all(60 < a < 120 for a in angles.values())


def test_separate_feedback_equal_to_w_transposed_gives_the_tied_dynamics():
    cfg, p, x, target = _vf(1)
    tied = cfg.replace(feedback="tied")
    q = {k: v for k, v in p.items() if not k.startswith("B")}
    p = {**q, "B2": q["W2"].T.clone(), "B3": q["W3"].T.clone()}
    dv, dt = Dynamics(cfg), Dynamics(tied)
    s = dv.zero_state(len(x), x)
    for beta in (0.0, 0.0, cfg.beta, cfg.beta):
        a = dv.step(p, s, dv.drive(p, x), beta, target)
        b = dt.step(q, s, dt.drive(q, x), beta, target)
        assert all(torch.equal(u, v) for u, v in zip(a, b))
        s = a


def test_vf_update_is_postsynaptic_change_times_presynaptic_reference():
    cfg, p, x, target = _vf(2)
    rng = np.random.default_rng(3)
    states = [[torch.from_numpy(rng.uniform(0, 1, (len(x), n))) for n in cfg.neuron_sizes] for _ in range(3)]
    ref, s_a, s_b = states
    got = vf_update(Dynamics(cfg), p, x, target, ref, (s_a, -0.25), (s_b, 0.25))
    chain = [x, *ref]
    for n in range(1, 4):
        delta = (s_b[n - 1] - s_a[n - 1]) / 0.5
        want_w = torch.einsum("bi,bj->ij", delta, chain[n - 1]) / len(x)
        assert torch.allclose(got[f"W{n}"], want_w, rtol=0, atol=1e-14)
        assert torch.allclose(got[f"b{n}"], delta.mean(dim=0), rtol=0, atol=1e-14)
        if n > 1:   # B_n: from s_n (presynaptic, at ref) to s_{n-1} (postsynaptic)
            below = (s_b[n - 2] - s_a[n - 2]) / 0.5
            want_b = torch.einsum("bi,bj->ij", below, ref[n - 1]) / len(x)
            assert torch.allclose(got[f"B{n}"], want_b, rtol=0, atol=1e-14)
