"""The weight update as one engine against its golden twin, the fixed-point trainer's
``update``: every block of a mini-batch's update (the first layer's differences, then
``W_n`` and ``b_n`` of each layer) from the saved states of phases ``a`` and ``b``, the memories
and the lanes' multipliers modelled around the engine as the core has them; pairs and single
samples, one read port for the weights (``B ≥ 4``), nearest and stochastic rounding, ``σ_u``
of both signs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from amaranth.utils import ceil_log2

from epfpga import config as config_mod
from epfpga.contract.params import CoreParams
from epfpga.golden.fixed.trainer import FixedTrainer
from epfpga.hdl import memories as mem
from epfpga.hdl import multiplier
from epfpga.hdl.update_plan import single_port_weights
from epfpga.hdl.weight_update import WeightUpdate

from .sim_helpers import bias_stores, lane_words, multiplier_model, read_model, run_engine, simulate, weight_stores, write_model


ICE = "icebreaker"     # (no timing registers: the lanes' block selects decoded, the operands' lead 0)


@pytest.mark.parametrize("sizes, lanes, batch, rounding, sign, board", [
    ([20, 9, 5], 4, 2, "nearest", 1, "ulx3s-85f"), ([20, 9, 5], 4, 4, "stochastic", -1, "ulx3s-85f"),
    ([20, 9, 5], 4, 1, "nearest", -1, "ulx3s-85f"), ([20, 9, 5], 4, 8, "stochastic", 1, "ulx3s-85f"),
    ([40, 36, 5], 32, 2, "stochastic", 1, "ulx3s-85f"),
    ([20, 15, 20, 12], 2, 4, "stochastic", 1, "ulx3s-85f"), ([4, 4, 6], 8, 16, "nearest", 1, "ulx3s-85f"),     # two levels of gather and broadcast; rows in both groups
    ([20, 9, 5], 4, 2, "nearest", 1, ICE), ([20, 15, 20, 12], 2, 4, "stochastic", -1, ICE),
])
def test_an_update_equals_the_model(sizes, lanes, batch, rounding, sign, board):
    cfg = config_mod.from_dict(dict(sizes=sizes, lanes=lanes, batch=batch, lrs=[0.5, 0.25, 0.5][:len(sizes) - 1],
                                    fixed={"rounding": rounding}, hardware={"board": board}))
    p = CoreParams.from_config(cfg)
    spec, P, N, B = p.spec, p.lanes, p.layers, p.batch
    assert single_port_weights(p) == (batch >= 4)
    rng = np.random.default_rng(batch)
    golden = FixedTrainer(cfg)
    x = torch.from_numpy(rng.integers(0, (1 << spec.fx) + 1, (B, p.sizes[0])))
    a = [torch.from_numpy(rng.integers(0, spec.one + 1, (B, p.sizes[n]))) for n in range(1, N + 1)]
    b = [torch.from_numpy(rng.integers(0, spec.one + 1, (B, p.sizes[n]))) for n in range(1, N + 1)]
    a[0][0, :], b[0][0, :] = 0, spec.one        # the rails: the largest differences
    golden.params["W1"][0, :3] = torch.tensor([spec.w_max, spec.w_min, spec.w_max])   # and saturation
    weights = {k: v.clone() for k, v in golden.params.items()}

    dut = WeightUpdate(p)
    stores = weight_stores(p, {n: weights[f"W{n}"] for n in range(1, N + 1)})
    stride_bits = ceil_log2(p.input_stride)
    inputs = {g | s << stride_bits: word for s in range(B) for g, word in enumerate(lane_words(x[s], P))}
    biases = bias_stores(p, {n: weights[f"b{n}"] for n in range(1, N + 1)})
    saved = 3 * p.halves                  # phase a's slots, then phase b's (memories.slot_index)
    states = [{(saved + phase * B + s) << ceil_log2(p.slot_stride(n)) | g: word
               for phase, q in enumerate((a, b)) for s in range(B) for g, word in enumerate(lane_words(q[n - 1][s], P))}
              for n in range(1, N + 1)]
    processes = [read_model(dut.x, inputs, P), read_model(dut.x2, inputs, P), multiplier_model(dut.mul, 2 * P, multiplier.update_latency(p))]
    one_port = single_port_weights(p)
    for read, write, store in zip(dut.weights, dut.weight_writes, stores):
        processes += [read_model(read, store, P, write, one_port), write_model(write, store)]
    for read, write, store in zip(dut.biases, dut.bias_writes, biases):
        processes += [read_model(read, store, P, write), write_model(write, store)]
    processes += [read_model(port, store, P) for ports in (dut.states_a, dut.states_b) for port, store in zip(ports, states)]

    async def tb(ctx):
        ctx.set(dut.negate, sign < 0)
        ctx.set(dut.halve, p.update_c_log2)
        await run_engine(ctx, dut)

    simulate(dut, tb, *processes)
    golden.update(x, a, b, sign)
    for n in range(1, N + 1):
        wm = mem.weight_memory(p, n)
        store = stores[mem.weight_index(p, n)]
        for i in range(p.sizes[n]):
            got = sum((store[wm.base(n) + i * p.weight_groups(n) + g] for g in range(p.weight_groups(n))), [])
            assert got[:p.sizes[n - 1]] == golden.params[f"W{n}"][i].tolist(), (n, i)
        bm, store = mem.bias_memory(p, n), biases[mem.bias_index(p, n)]
        got = sum((store[bm.base(n) + g] for g in range(p.unit_words(n))), [])
        assert got[:p.sizes[n]] == golden.params[f"b{n}"].tolist(), n
    assert not torch.equal(golden.params["W1"], weights["W1"])      # (the update changed something)
