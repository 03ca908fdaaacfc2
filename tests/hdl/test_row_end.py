"""The row end against its golden twins ``row_end`` and ``nudge_error``: the drive's two
samples, a hidden row, and an output row with the nudge inside ρ and outside, for every sign,
with sums, biases and states at their extremes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from epfpga.contract.isa import Nudge
from epfpga.golden.fixed.neuron_update import nudge_error, row_end
from epfpga.hdl.row_end import RowEnd

from .neuron_params import params
from .sim_helpers import simulate

SIGNS = {Nudge.FREE: 0, Nudge.PLUS: 1, Nudge.MINUS: -1}
LABELS = (3, 1)


def cases(p, rng):
    spec = p.spec
    big = 1 << (spec.fw + spec.fs + 4)
    sums = [-big, -1, 0, 1, big] + rng.integers(-big, big, 6).tolist()
    biases = [-spec.w_max, 0, spec.w_max] + rng.integers(-spec.w_max, spec.w_max + 1, 2).tolist()
    states = [0, 1, spec.one - 1, spec.one]
    for s0, s1, bias in zip(sums, reversed(sums), itertools.cycle(biases)):
        for kind, code, half, q in itertools.product(("drive", "hidden", "output"), SIGNS, (0, 1), states):
            yield dict(sums=(s0, s1), bias=bias, kind=kind, nudge=code, half=half, q=q, unit=3)


def run(dut, items):
    """Each item's operands, then its sums :attr:`RowEnd.early` cycles later, a row a cycle;
    registered sums (:attr:`RowEnd.registered_sums`) a cycle later again, with the result."""
    got, early = [], dut.early

    async def tb(ctx):
        ctx.set(dut.labels, list(LABELS))
        await ctx.tick()       # (the labels are registered: they hold while a step runs)
        for k in range(len(items) + early):
            if k < len(items):
                c = items[k]
                for port in ("bias", "q", "unit", "half", "nudge"):
                    ctx.set(getattr(dut, port), c[port])
                ctx.set(dut.output, c["kind"] == "output")
            if k >= early:
                c = items[k - early]
                if not dut.registered_sums:
                    ctx.set(dut.sums, list(c["sums"]))
                ctx.set(dut.drive, c["kind"] == "drive")
            await ctx.tick()
            if k >= early:
                if dut.registered_sums:
                    ctx.set(dut.sums, list(items[k - early]["sums"]))
                got.append((ctx.get(dut.u), ctx.get(dut.u_odd), ctx.get(dut.err)))

    simulate(dut, tb)
    return got


@pytest.mark.parametrize("board", ["ulx3s-85f", "icebreaker"])     # operands early, and with the sums
@pytest.mark.parametrize("nudge", ["inside", "outside"])
def test_row_end_equals_the_model(nudge, board):
    p = params(sizes=(6, 8, 5), nudge=nudge, board=board)
    spec = p.spec
    items = list(cases(p, np.random.default_rng(1)))
    dut = RowEnd(p)
    assert dut.early == (board != "icebreaker") and dut.registered_sums == (board == "icebreaker")
    got = run(dut, items)
    t = torch.tensor
    for c, (u, u_odd, err) in zip(items, got):
        target = t(spec.one if LABELS[c["half"]] == c["unit"] else 0)
        want_err = nudge_error(target, t(c["q"]), SIGNS[c["nudge"]])
        bias = t(c["bias"])
        if c["kind"] == "drive":
            want = (row_end(spec, t(c["sums"][0]), bias, drive=True), row_end(spec, t(c["sums"][1]), bias, drive=True))
            assert (u, u_odd) == tuple(int(v) for v in want), c
            continue
        inside = c["kind"] == "output" and nudge == "inside"
        assert u == int(row_end(spec, t(c["sums"][1]), bias, err=want_err if inside else None)), c
        if c["kind"] == "output":
            assert err == int(want_err), c
