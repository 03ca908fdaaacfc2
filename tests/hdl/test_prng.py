"""Gateware xorshift32 streams against the golden one-step reference."""

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
