"""Weight-update stages: exact product difference, one rounding, saturating write-back."""

import numpy as np
import torch

from epfpga.golden.estimators import ep_update
from epfpga.golden.phases import PHASES
from epfpga.golden.prng import LaneStreams
from epfpga.golden.fixed.trainer import FixedTrainer
from epfpga.golden.fixed.weight_update import (bias_difference, product_difference, scale_round,
                                               stochastic_round, write_back)
from epfpga.golden.network import Dynamics, init_params

from .helpers import random_spec

CASES = 1000


def test_product_difference_is_exact():
    rng = np.random.default_rng(20)
    for case in range(CASES):
        fs, batch = int(rng.integers(1, 17)), int(rng.integers(1, 17))
        n_post, n_pre = rng.integers(1, 9, 2)
        post_a, post_b = (torch.from_numpy(rng.integers(0, (1 << fs) + 1, (batch, n_post))) for _ in range(2))
        pre_a, pre_b = (torch.from_numpy(rng.integers(0, (1 << fs) + 1, (batch, n_pre))) for _ in range(2))
        d = product_difference(post_b, pre_b, post_a, pre_a, clamped_pre=False)
        want = sum(np.outer(post_b[i], pre_b[i]).astype(object) - np.outer(post_a[i], pre_a[i]).astype(object)
                   for i in range(batch))
        assert d.tolist() == want.tolist()
        clamped = product_difference(post_b, pre_b, post_a, pre_b, clamped_pre=True)
        assert torch.equal(clamped, product_difference(post_b, pre_b, post_a, pre_b, clamped_pre=False))
        assert torch.equal(bias_difference(post_b, post_a), (post_b - post_a).sum(0))


def test_nearest_rounding_is_within_half_an_lsb_ties_up():
    rng = np.random.default_rng(21)
    for case in range(CASES):
        shift = int(rng.integers(1, 33))
        v = torch.from_numpy(rng.integers(-(1 << 45), 1 << 45, 64))
        v[0] = 3 << (shift - 1)  # a tie: 1.5 → 2
        v[1] = -(3 << (shift - 1))  # -1.5 → -1
        r = scale_round(v, shift, None)
        exact = v.double() / 2 ** shift
        assert float((r.double() - exact).abs().max()) <= 0.5
        assert int(r[0]) == 2 and int(r[1]) == -1


def test_stochastic_rounding_is_floor_or_ceil_and_unbiased():
    rng = np.random.default_rng(22)
    streams = LaneStreams(3, 4)
    for case in range(CASES):
        shift = int(rng.integers(1, 33))
        v = torch.from_numpy(rng.integers(-(1 << 40), 1 << 40, 16))
        r = scale_round(v, shift, streams)
        assert bool(((r == torch.floor(v.double() / 2 ** shift)) | (r == torch.ceil(v.double() / 2 ** shift))).all())
    # unbiased: 0.3 LSB rounds up 30 % of the time
    v = torch.full((200_000,), 3 * (1 << 20) // 10 * 4)  # 0.3 · 2**22 / 2**22 ≈ 0.3
    mean = float(scale_round(v, 22, streams).double().mean())
    assert abs(mean - float(v[0]) / 2 ** 22) < 4 * (0.3 * 0.7 / 200_000) ** 0.5


def test_write_back_saturates_at_the_rails():
    rng = np.random.default_rng(23)
    for case in range(CASES):
        spec = random_spec(rng)
        w = torch.from_numpy(rng.integers(spec.w_min, spec.w_max + 1, 32))
        dw = torch.from_numpy(rng.integers(-(1 << spec.wbits), 1 << spec.wbits, 32))
        got = write_back(spec, w, dw)
        assert torch.equal(got, torch.clamp(w + dw, spec.w_min, spec.w_max))
    assert int(write_back(spec, torch.tensor([spec.w_max]), torch.tensor([1]))) == spec.w_max
    assert int(write_back(spec, torch.tensor([spec.w_min]), torch.tensor([-1]))) == spec.w_min


def test_update_matches_the_float_estimator_within_one_rounding():
    """The integer update of random phase states equals ``lr · ΔΘ`` of the float estimator on
    the same (dequantised) states and learning rate, within one rounding: half an LSB
    (nearest) or one LSB (stochastic)."""
    rng = np.random.default_rng(24)
    for case in range(CASES):
        spec = random_spec(rng)
        cfg = spec.config.replace(dtype="float64")
        trainer = FixedTrainer(cfg)
        before = {k: v.clone() for k, v in trainer.params.items()}
        batch, fs = cfg.batch, spec.fs
        xq = torch.from_numpy(rng.integers(0, (1 << spec.fx) + 1, (batch, spec.sizes[0])))
        a, b = ([torch.from_numpy(rng.integers(0, spec.one + 1, (batch, s))) for s in spec.sizes[1:]] for _ in range(2))
        sign = int(rng.choice([-1, 1])) if cfg.estimator == "random-sign" else 1
        trainer.update(xq, a, b, sign)
        beta = cfg.beta * sign
        pairs = ((a, -beta), (b, beta)) if PHASES[spec.config.estimator].minus else ((a, 0.0), (b, beta))
        direction = ep_update(Dynamics(cfg), init_params(cfg), xq.double() / (1 << spec.fx), None,
                              *[([s.double() / 2 ** fs for s in st], bt) for st, bt in pairs])
        bound = 0.5 if cfg.fixed.rounding == "nearest" else 1.0
        for n in range(1, spec.layers + 1):
            lr = spec.lr_q[n - 1] / 2 ** spec.fl
            for name in (f"W{n}", f"b{n}"):
                want = before[name].double() + lr * direction[name] * 2 ** spec.fw
                got = trainer.params[name].double()
                unsat = (want > spec.w_min) & (want < spec.w_max)
                err = (got - want)[unsat].abs()
                if err.numel():
                    assert float(err.max()) <= bound + 1e-6, (case, name)
                assert bool((got[want >= spec.w_max] == spec.w_max).all())
                assert bool((got[want <= spec.w_min] == spec.w_min).all())


def test_stochastic_round_with_a_given_offset():
    v = torch.tensor([5, -5, 7, 0, 8])
    r = torch.tensor([3, 3, 0, 3, 3])
    # floor((v + r) / 4): 5+3 → 2, -5+3 → -1, 7+0 → 1, 0+3 → 0, 8+3 → 2
    assert stochastic_round(v, 2, r).tolist() == [2, -1, 1, 0, 2]


def test_draw_order_is_by_column_lane_in_rows_padded_to_whole_lanes(monkeypatch):
    """Element (i, j) of a 3×5 block with 4 lanes takes lane j mod 4's next draw; the padding
    (columns 5…7 of each row) draws too, so lane 0 serves columns 0 and 4 of every row."""
    from epfpga.golden.fixed import weight_update
    from epfpga.golden.prng import stream_seed, xorshift32
    lanes = 4
    seen = []
    monkeypatch.setattr(weight_update, "stochastic_round", lambda v, shift, r: seen.append(r) or v)
    scale_round(torch.zeros(3, 5, dtype=torch.int64), 32, LaneStreams(7, lanes))
    scale_round(torch.zeros(6, dtype=torch.int64), 32, LaneStreams(7, lanes))   # a bias row
    state = [stream_seed(7, l) for l in range(lanes)]
    want = torch.zeros(3, 5, dtype=torch.int64)
    for i in range(3):
        for j in range(8):
            state[j % lanes] = xorshift32(state[j % lanes])
            if j < 5:
                want[i, j] = state[j % lanes]
    assert torch.equal(seen[0], want)
    state = [stream_seed(7, l) for l in range(lanes)]
    bias = []
    for j in range(6):
        state[j % lanes] = xorshift32(state[j % lanes])
        bias.append(state[j % lanes])
    assert seen[1].tolist() == bias
