"""The symmetric estimator's bias against BPTT is O(β²), the one-sided one's O(β)."""

import numpy as np
import pytest
import torch

from epfpga.config import Config, load
from epfpga.data import load_digits
from epfpga.golden.bias import estimator_bias
from epfpga.golden.network import init_params

MLP = Config(sizes=(64, 32, 24, 10), activation="sigmoid", loss="ce", t1=150, t2=40, lrs=(0.1,) * 3,
             dtype="float64", seed=1)


def _batch():
    d = load_digits()
    x = torch.from_numpy(d.train_x[:16].astype(np.float64))
    return x, torch.nn.functional.one_hot(torch.from_numpy(d.train_y[:16]), 10).double()


@pytest.mark.parametrize("net", ["mlp", "conv"])
def test_symmetric_is_5x_closer_to_bptt_at_beta_half_and_second_order(net):
    cfg = MLP if net == "mlp" else load("configs/gdu-conv.toml").replace(
        activation="sigmoid", loss="ce", dtype="float64", t2=40)
    x, target = _batch()
    big, mid, small = estimator_bias(cfg, init_params(cfg), x, target, [0.5, 0.1, 0.05])
    assert big.one_sided > 5 * big.symmetric
    assert 0.4 < small.one_sided / mid.one_sided < 0.6      # first order in β
    assert small.symmetric / mid.symmetric < 0.3            # second order in β
    assert small.ratio < mid.ratio < 0.5
