"""Explicit P-MLP and P-CNN dynamics and estimators against the naive autograd-of-Φ implementation."""

import numpy as np
import pytest
import torch

from epfpga.config import ACTIVATIONS, Config
from epfpga.golden.estimators import ep_update
from epfpga.golden.network import Dynamics, init_params, param_shapes

from .naive_phi import NaivePhiNet
from .random_configs import random_batch, random_config, random_conv_config, random_images

CASES = 60
CONV_CASES = 40
TOL = 1e-12


def _setup(seed, conv=False, **overrides):
    """A random MLP (or, with ``conv``, P-CNN on images with a zero border) and its batch."""
    rng = np.random.default_rng(10_000 + seed if conv else seed)
    cfg = (random_conv_config if conv else random_config)(rng, **overrides)
    x, y = (random_images if conv else random_batch)(cfg, rng)
    target = torch.nn.functional.one_hot(torch.from_numpy(y), cfg.classes).double()
    return cfg, init_params(cfg), torch.from_numpy(x), target


def _maxdiff(a, b):
    return max(float((u - v).abs().max()) for u, v in zip(a, b))


@pytest.mark.parametrize("seed", range(CASES))
def test_phases_match_autograd_of_phi(seed):
    check_phases(*_setup(seed))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_matches_autograd_of_phi(activation):
    """Each of the authors' activations (the reference defines them as their code does)."""
    check_phases(*_setup(500, activation=activation))


def check_phases(cfg, p, x, y):
    dyn, naive = Dynamics(cfg), NaivePhiNet(cfg, p)
    drive = dyn.drive(p, x)
    free = dyn.relax(p, dyn.zero_state(len(x), x), drive, cfg.t1, 0.0, None)
    naive_free = naive.relax(x, naive.zero_state(len(x), x.dtype), cfg.t1, 0.0, None)
    assert _maxdiff(free, naive_free) <= TOL
    for beta in (cfg.beta, -cfg.beta):
        nudged = dyn.relax(p, free, drive, cfg.t2, beta, y)
        assert _maxdiff(nudged, naive.relax(x, naive_free, cfg.t2, beta, y)) <= TOL


@pytest.mark.parametrize("seed", range(CONV_CASES))
def test_conv_phases_match_autograd_of_phi(seed):
    check_phases(*_setup(seed, conv=True))


@pytest.mark.parametrize("seed", range(CASES))
def test_estimator_update_matches_autograd_of_phi(seed):
    check_update(*_setup(seed))


@pytest.mark.parametrize("seed", range(CONV_CASES))
def test_conv_estimator_update_matches_autograd_of_phi(seed):
    check_update(*_setup(seed, conv=True))


def _tied_windows(conv: torch.Tensor) -> int:
    """Pool windows (2×2, stride 2) whose maximum is reached more than once."""
    h, w = conv.shape[-2] // 2 * 2, conv.shape[-1] // 2 * 2
    win = conv[..., :h, :w].unfold(-2, 2, 2).unfold(-2, 2, 2).flatten(-2)
    return int(((win == win.amax(dim=-1, keepdim=True)).sum(dim=-1) > 1).sum())


def test_conv_max_pool_ties_route_like_pytorch():
    """From the zero state every window of the second conv layer is tied (conv of zeros is
    the bias), and so are the input's zero regions: the explicit feedback and update must pick
    the window's first maximum, as autograd through ``max_pool2d`` does."""
    cfg, p, x, y = _setup(3, conv=True, channels=(2, 3), kernels=(3, 2), paddings=(1, 0),
                               input_shape=(1, 10, 10), sizes=(100, 4), loss="mse",
                               lrs=(0.1, 0.1, 0.1), activation="hard_sigmoid", t1=3, t2=2)
    dyn = Dynamics(cfg)
    s0 = dyn.zero_state(len(x), x)
    conv2 = torch.nn.functional.conv2d(s0[0], p["W2"], p["b2"])
    assert _tied_windows(conv2) == conv2[..., :4, :4].numel() // 4
    conv1 = torch.nn.functional.conv2d(dyn.image(x), p["W1"], p["b1"], padding=1)
    assert _tied_windows(conv1) > 0
    check_phases(cfg, p, x, y)
    check_update(cfg, p, x, y)


def check_update(cfg, p, x, y):
    dyn, naive = Dynamics(cfg), NaivePhiNet(cfg, p)
    _, a, b = naive.phases(x, y, cfg.estimator, cfg.beta)
    ours = ep_update(dyn, p, x, y, a, b)
    ref = naive.update_direction(x, y, a, b)
    assert ours.keys() == ref.keys()
    for name in ours:
        assert float((ours[name] - ref[name]).abs().max()) <= TOL, name


def test_nudge_changes_the_output_only_where_configured():
    cfg = Config(sizes=(4, 3, 2), dtype="float64", lrs=(0.1, 0.1))
    p, dyn = init_params(cfg), Dynamics(cfg)
    x = torch.rand(2, 4, dtype=torch.float64)
    s = dyn.zero_state(2, x)
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    free = dyn.step(p, s, dyn.drive(p, x), 0.0, None)
    nudged = dyn.step(p, s, dyn.drive(p, x), 0.5, target)
    assert torch.equal(free[0], nudged[0])
    expected = (free[1].new_tensor(0) + torch.addmm(p["b2"], s[0], p["W2"].T) + 0.5 * target).clamp(0, 1)
    assert torch.equal(nudged[1], expected)


def test_prediction_ties_go_to_the_lowest_index():
    cfg = Config(sizes=(2, 4), lrs=(0.1,))
    dyn = Dynamics(cfg)
    top = torch.tensor([[0.2, 0.7, 0.7, 0.1], [1.0, 1.0, 1.0, 1.0]])
    assert dyn.predict(init_params(cfg), [top]).tolist() == [1, 0]


def test_init_is_pytorch_linear_default_and_dtype_independent():
    cfg = Config(sizes=(100, 30, 10), lrs=(0.1, 0.1))
    p32, p64 = init_params(cfg), init_params(cfg.replace(dtype="float64"))
    assert {k: tuple(v.shape) for k, v in p32.items()} == param_shapes(cfg)
    assert float(p32["W1"].abs().max()) <= 100 ** -0.5 and float(p32["W2"].abs().max()) <= 30 ** -0.5
    assert float(p32["W1"].abs().max()) > 0.9 * 100 ** -0.5
    assert torch.equal(p32["W1"], p64["W1"].float())
