"""xorshift32 streams in gateware: the twins of :mod:`epfpga.golden.prng`.

``docs/fixed-point.md`` §7: ``x ^= x << 13; x ^= x >> 17; x ^= x << 5`` (mod 2**32), a draw
is the new state.  The lane streams of the weight-update pipeline and the sequencer's sign
stream are each one :class:`Xorshift32`.
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from epfpga.golden.prng import MASK, PRNG_BITS


def xorshift32(x):
    """One step on an Amaranth value (the same expression as the golden :func:`xorshift32`)."""
    x = x ^ (x << 13)[:PRNG_BITS]
    x = x ^ (x >> 17)
    return x ^ (x << 5)[:PRNG_BITS]


class Xorshift32(wiring.Component):
    """One xorshift32 stream.

    Parameters
    ----------
    seed : int
        Initial state (non-zero), as :func:`~epfpga.golden.prng.stream_seed` gives it.

    Attributes
    ----------
    draw : Out(32)
        The next draw, ``xorshift32(state)``: combinational, valid in the cycle it is used.
    advance : In(1)
        Take the draw: the state becomes ``draw`` at the next clock edge.
    state : Out(32)
        The current state (a checkpoint saves it).
    load, value : In(1), In(32)
        Set the state to ``value`` at the next clock edge (takes precedence over ``advance``;
        a checkpoint restores it).  ``value`` must not be 0, xorshift's fixed point.

    Latency: a draw is available in the same cycle; one draw per cycle.
    """

    def __init__(self, seed: int):
        if not 0 < seed <= MASK:
            raise ValueError(f"xorshift32 seed {seed} must be in [1, 2**32)")
        self.seed = seed
        super().__init__({"draw": Out(PRNG_BITS), "advance": In(1), "state": Out(PRNG_BITS),
                          "load": In(1), "value": In(PRNG_BITS)})

    def elaborate(self, platform) -> Module:
        m = Module()
        state = Signal(PRNG_BITS, init=self.seed)
        m.d.comb += [self.draw.eq(xorshift32(state)), self.state.eq(state)]
        with m.If(self.load):
            m.d.sync += state.eq(self.value)
        with m.Elif(self.advance):
            m.d.sync += state.eq(self.draw)
        return m
