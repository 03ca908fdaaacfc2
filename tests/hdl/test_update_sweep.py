"""The sweep against its golden twins ``scale_round`` and ``write_back``: words at the rate the
batch sum gives them, shared units (one lane a cycle) and one a lane, nearest and stochastic
rounding with the lanes' own streams, ``σ_u = −1``, right and left shifts, a frozen layer,
changes that saturate at both rails."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from epfpga.golden.fixed.weight_update import scale_round, write_back
from epfpga.golden.prng import LaneStreams
from epfpga.hdl.update_sweep import UpdateSweep

from .neuron_params import params
from .sim_helpers import simulate

WORDS = 12
SHIFTS = [-2, 0, 5, 9]


def run(dut, words, *, shift, negate, frozen, draws, gaps=None):
    """Feed ``(addr, sums, weights)`` a word every ``share`` cycles (and ``gaps[k]`` idle cycles
    more after word ``k``); the words written."""
    got = []
    gaps = gaps or [0] * len(words)

    async def tb(ctx):
        for port, value in ((dut.shift, shift), (dut.negate, negate), (dut.frozen, frozen), (dut.draws, draws)):
            ctx.set(port, value)
        feed = [w for word, gap in zip(words, gaps) for w in [word] + [None] * (dut.share - 1 + gap)]
        for cycle in range(len(feed) + dut.latency + 1):
            word = feed[cycle] if cycle < len(feed) else None
            ctx.set(dut.valid, word is not None)
            if word is not None:
                ctx.set(dut.addr, word[0])
                ctx.set(dut.sums, word[1])
                ctx.set(dut.weights, word[2])
            if ctx.get(dut.write.en):
                got.append((cycle, ctx.get(dut.write.addr), list(ctx.get(dut.write.data))))
            await ctx.tick()
        assert not ctx.get(dut.busy)

    simulate(dut, tb)
    return got


@pytest.mark.parametrize("batch", [2, 8])            # one unit a lane; units of 4 lanes
@pytest.mark.parametrize("rounding", ["nearest", "stochastic"])
@pytest.mark.parametrize("shift, negate", [(5, 0), (9, 1), (-2, 0), (0, 1)])
def test_written_words_equal_scale_round_and_write_back(batch, rounding, shift, negate):
    p = params(lanes=4, batch=batch, fixed={"rounding": rounding})
    spec = p.spec
    dut = UpdateSweep(p, 64, SHIFTS)
    assert dut.share == min(4, batch // 2)
    rng = np.random.default_rng(batch + shift)
    big = 1 << 14
    sums = torch.from_numpy(rng.integers(-big, big, (WORDS, p.lanes)))
    sign = -1 if negate else 1
    sums[0], sums[1] = sign * (big - 1), -sign * big       # changes past both rails
    weights = torch.from_numpy(rng.integers(spec.w_min, spec.w_max + 1, (WORDS, p.lanes)))
    weights[0], weights[1] = spec.w_max, spec.w_min
    words = [(k + 1, sums[k].tolist(), weights[k].tolist()) for k in range(WORDS)]   # (a run: in order)
    stochastic = rounding == "stochastic"
    got = run(dut, words, shift=shift, negate=negate, frozen=0, draws=stochastic and shift > 0)
    streams = LaneStreams(p.seed, p.lanes) if stochastic else None
    want = write_back(spec, weights, scale_round(sums * (-1 if negate else 1), shift, streams))
    assert [(a, d) for _, a, d in got] == [(w[0], row) for w, row in zip(words, want.tolist())]
    assert [c for c, _, _ in got] == [k * dut.share + dut.latency for k in range(WORDS)]
    assert spec.w_max in want[0] and spec.w_min in want[1]


def test_a_frozen_layer_writes_its_words_unchanged():
    p = params(lanes=4, batch=4)
    dut = UpdateSweep(p, 64, SHIFTS)
    rng = np.random.default_rng(3)
    words = [(k, rng.integers(-999, 999, 4).tolist(), rng.integers(-99, 99, 4).tolist()) for k in range(4)]
    got = run(dut, words, shift=0, negate=0, frozen=1, draws=0)
    assert [(a, d) for _, a, d in got] == [(w[0], w[2]) for w in words]


@pytest.mark.parametrize("batch", [2, 8])
def test_consecutive_words_are_written_at_their_counted_addresses(batch):
    """Runs of words at consecutive addresses, back to back, a cycle apart while the sweep is
    still busy, and after it has emptied; each run's first address comes with its first word."""
    p = params(lanes=4, batch=batch)
    dut = UpdateSweep(p, 64, SHIFTS)
    rng = np.random.default_rng(batch)
    starts = [10] * 4 + [40] * 3 + [7] * 3
    offsets = [0, 1, 2, 3, 0, 1, 2, 0, 1, 2]
    words = [(a + k, rng.integers(-999, 999, 4).tolist(), rng.integers(-99, 99, 4).tolist())
             for a, k in zip(starts, offsets)]
    gaps = [0, 1, 0, dut.latency + 2, 1, 0, dut.latency + 1, 0, 0, 0]
    got = run(dut, words, shift=0, negate=0, frozen=1, draws=0, gaps=gaps)
    assert [(a, d) for _, a, d in got] == [(w[0], w[2]) for w in words]
