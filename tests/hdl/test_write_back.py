"""The saturating write-back against its golden twin, at and beyond both rails."""

from __future__ import annotations

import itertools

import numpy as np
import torch

from epfpga import config as config_mod
from epfpga.contract.params import CoreParams
from epfpga.golden.fixed.weight_update import write_back
from epfpga.hdl.write_back import WriteBack

from .sim_helpers import simulate


def test_write_back_equals_the_model_latency_cycles_later():
    p = CoreParams.from_config(config_mod.from_dict(dict(sizes=[5, 6, 3], lanes=4, batch=2, lrs=[4.0, 4.0])))
    spec = p.spec
    g_lo, g_hi = -(1 << (p.grad_bits - 1)), (1 << (p.grad_bits - 1)) - 1
    edges = [spec.w_min, spec.w_min + 1, -1, 0, 1, spec.w_max - 1, spec.w_max]
    # and changes either side of the gateware's narrowing to weight_bits + 1 (±2**weight_bits)
    wide = 1 << p.weight_bits
    steps = [g_lo, -wide - 1, -wide, -wide + 1, -(spec.w_max - spec.w_min), -2, -1, 0, 1, 2,
             spec.w_max - spec.w_min, wide, wide + 1, g_hi]
    rng = np.random.default_rng(4)
    pairs = list(itertools.product(edges, steps)) + [
        (int(rng.integers(spec.w_min, spec.w_max + 1)), int(rng.integers(g_lo, g_hi + 1))) for _ in range(200)]
    pairs += [(0, 0)] * (-len(pairs) % p.lanes)
    words = [pairs[k:k + p.lanes] for k in range(0, len(pairs), p.lanes)]
    dut = WriteBack(p, p.lanes)
    got = []

    async def tb(ctx):
        for t in range(len(words) + WriteBack.LATENCY):
            if t < len(words):
                for lane, (w, dw) in enumerate(words[t]):
                    ctx.set(dut.w[lane], w)
                    ctx.set(dut.dw[lane], dw)
            await ctx.tick()
            if t >= WriteBack.LATENCY - 1:
                got.append([ctx.get(dut.q[lane]) for lane in range(p.lanes)])

    simulate(dut, tb)
    w, dw = (torch.tensor([[pair[k] for pair in word] for word in words]) for k in (0, 1))
    want = write_back(spec, w, dw).tolist()
    assert got[:len(words)] == want
    flat = [v for word in want for v in word]
    assert spec.w_min in flat and spec.w_max in flat   # both rails reached
