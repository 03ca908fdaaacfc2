"""Gateware xorshift32 streams against the golden one-step reference."""

import pytest

from epfpga.golden.prng import SIGN_STREAM, xorshift32, stream_seed
from epfpga.hdl.prng import Xorshift32

from .sim_helpers import simulate


def test_draws_follow_the_golden_stream_and_hold_without_advance():
    seed = stream_seed(1234, SIGN_STREAM)
    dut = Xorshift32([seed])
    want, x = [], seed
    for _ in range(200):
        x = xorshift32(x)
        want.append(x)
    got = []

    async def tb(ctx):
        for t in range(300):
            advance = t % 3 != 2          # hold every third cycle
            got.append((ctx.get(dut.draw), advance))
            ctx.set(dut.advance, advance)
            await ctx.tick()

    simulate(dut, tb)
    taken = [draw for draw, advance in got if advance][:200]
    assert taken == want
    held = [got[t][0] == got[t + 1][0] for t in range(len(got) - 1) if not got[t][1]]
    assert all(held)


def test_several_streams_in_one_memory_step_independently_and_load_by_address():
    """The rounding units' form: four streams, stepped in an irregular order, each follows its
    own golden stream; a load sets one stream's state and leaves the others."""
    seeds = [stream_seed(99, lane) for lane in range(4)]
    dut = Xorshift32(seeds)
    order = [0, 1, 2, 3, 3, 1, 0, 0, 2, 1, 3, 2] * 5
    got = {s: [] for s in range(4)}
    states = {}

    async def tb(ctx):
        for s in order:
            ctx.set(dut.addr, s)
            ctx.set(dut.advance, 1)
            got[s].append(ctx.get(dut.draw))
            await ctx.tick()
        ctx.set(dut.advance, 0)
        ctx.set(dut.addr, 2)
        ctx.set(dut.load, 1)
        ctx.set(dut.value, 0x1234_5678)
        await ctx.tick()
        ctx.set(dut.load, 0)
        for s in range(4):
            ctx.set(dut.addr, s)
            states[s] = ctx.get(dut.state)

    simulate(dut, tb)
    for s, seed in enumerate(seeds):
        want, x = [], seed
        for _ in got[s]:
            x = xorshift32(x)
            want.append(x)
        assert got[s] == want, f"stream {s}"
        assert states[s] == (0x1234_5678 if s == 2 else want[-1])


@pytest.mark.parametrize("streams", [1, 4])
def test_the_peek_port_reads_any_stream_while_another_steps(streams):
    """The host's read port (``peek``): each cycle a stream steps at ``addr`` and ``peek`` reads
    another one (the next, or the same with one stream); it gives that stream's state as the
    golden streams have it then, before the cycle's step lands."""
    seeds = [stream_seed(7, lane) for lane in range(streams)]
    dut = Xorshift32(seeds, peek=True)
    state = list(seeds)
    seen, want = [], []

    async def tb(ctx):
        for t in range(40):
            s, q = t * 3 % streams, (t * 3 + 1) % streams
            ctx.set(dut.addr, s)
            ctx.set(dut.advance, 1)
            ctx.set(dut.peek_addr, q)
            seen.append(ctx.get(dut.peek))
            want.append(state[q])
            state[s] = xorshift32(state[s])
            await ctx.tick()

    simulate(dut, tb)
    assert seen == want
