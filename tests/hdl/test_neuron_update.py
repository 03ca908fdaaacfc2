"""The neuron update as one engine against its golden twins ``input_drive`` and
``neuron_step``: a drive pass over ``W_1`` for a pair of samples, then one step of every layer
(both samples, the nudge on the output layer), the memories and the lanes' multipliers modelled
around the engine as the core has them (reads 3 cycles, writes landing the cycle after their
request, products 2 cycles), two and three layers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from amaranth.utils import ceil_log2

from epfpga.contract.isa import Nudge
from epfpga.golden.fixed.neuron_update import input_drive, neuron_step, weight_view
from epfpga.hdl import memories as mem
from epfpga.hdl import multiplier
from epfpga.hdl.neuron_update import NeuronUpdate

from .neuron_params import params
from .sim_helpers import bias_stores, lane_words, multiplier_model, read_model, run_engine, simulate, weight_stores, write_model

SRC, DST = (0, 3), (1, 4)      # the pair's source and destination slots (ping of each, pong of each)


@pytest.mark.parametrize("sizes, lanes, board", [((20, 12, 5), 4, "ulx3s-85f"), ((20, 9, 7, 5), 4, "ulx3s-85f"),
                                                 ((40, 36, 20), 32, "ulx3s-85f"), ((40, 36, 20, 10), 32, "ulx3s-85f"),
                                                 ((20, 9, 7, 5), 4, "icebreaker"), ((20, 9, 10, 5), 4, "icebreaker")])
# (two-level trees at 32 lanes; the iCEBreaker's biases in one memory, its accumulators read
# transparently where a row is two words, directly where every row is three)
@pytest.mark.parametrize("nudge", ["inside", "outside"])
def test_a_drive_and_a_step_equal_the_model(sizes, lanes, board, nudge):
    p = params(sizes=sizes, lanes=lanes, batch=2, board=board, nudge=nudge)
    spec, P, N = p.spec, p.lanes, p.layers
    rng = np.random.default_rng(len(sizes))
    lim = min(spec.w_max, 1 << spec.fw)
    w = {n: torch.from_numpy(rng.integers(-lim, lim + 1, (p.sizes[n], p.sizes[n - 1]))) for n in range(1, N + 1)}
    b = {n: torch.from_numpy(rng.integers(-lim, lim + 1, p.sizes[n])) for n in range(1, N + 1)}
    x = torch.from_numpy(rng.integers(0, (1 << spec.fx) + 1, (2, p.sizes[0])))
    q = [torch.from_numpy(rng.integers(0, spec.one + 1, (2, p.sizes[n]))) for n in range(1, N + 1)]
    q[-1][0, 0], q[0][1, :] = spec.one, 0         # rails
    labels = (3, 1)

    dut = NeuronUpdate(p)
    stride_bits = ceil_log2(p.input_stride)
    inputs = {g | h << stride_bits: word for h in range(2) for g, word in enumerate(lane_words(x[h], P))}
    states = [{SRC[h] << ceil_log2(p.slot_stride(n)) | g: word for h in range(2)
               for g, word in enumerate(lane_words(q[n - 1][h], P))} for n in range(1, N + 1)]
    processes = [read_model(dut.x, inputs, P), read_model(dut.x2, inputs, P), multiplier_model(dut.mul, 2 * P, multiplier.latency(p))]
    processes += [read_model(port, store, P) for port, store in zip(dut.weights, weight_stores(p, w))]
    processes += [read_model(port, store, P) for port, store in zip(dut.biases, bias_stores(p, b))]
    processes += [read_model(port, store, P) for port, store in zip(dut.states, states)]
    processes += [write_model(port, store) for port, store in zip(dut.state_writes, states)]

    async def tb(ctx):
        ctx.set(dut.src_slots, list(SRC))
        ctx.set(dut.dst_slots, list(DST))
        ctx.set(dut.label, labels[0])
        ctx.set(dut.label_odd, labels[1])
        for drive in (1, 0):
            ctx.set(dut.drive, drive)
            ctx.set(dut.src, mem.SlotCode.PING)
            ctx.set(dut.nudge, 0 if drive else Nudge.PLUS)
            await run_engine(ctx, dut)

    simulate(dut, tb, *processes)
    ints = weight_view({**{f"W{n}": w[n] for n in w}, **{f"b{n}": b[n] for n in b}})
    target = torch.nn.functional.one_hot(torch.tensor(labels), p.sizes[-1]) * spec.one
    want = neuron_step(spec, ints, q, input_drive(spec, ints, x), 1, target)
    for n in range(1, N + 1):
        slot_bits = ceil_log2(p.slot_stride(n))
        for h in range(2):
            got = sum((states[n - 1][DST[h] << slot_bits | g] for g in range(p.groups(p.sizes[n]))), [])
            assert got[:p.sizes[n]] == want[n - 1][h].tolist(), (n, h)
            assert not any(got[p.sizes[n]:]), (n, h)         # padding lanes stay 0
