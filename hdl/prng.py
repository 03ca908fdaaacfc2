"""xorshift32 streams in gateware: the twins of :mod:`epfpga.golden.prng`.

``docs/fixed-point.md`` §7: ``x ^= x << 13; x ^= x >> 17; x ^= x << 5`` (mod 2**32), a draw
is the new state.  The sequencer's sign stream is one :class:`Xorshift32`; the weight
update's lane streams are one :class:`Xorshift32` per rounding unit, holding the streams of
the lanes that share it.
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth import Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from epfpga.golden.prng import MASK, PRNG_BITS


def xorshift32(x):
    """One step on an Amaranth value (the same expression as the golden :func:`xorshift32`)."""
    x = x ^ (x << 13)[:PRNG_BITS]
    x = x ^ (x >> 17)
    return x ^ (x << 5)[:PRNG_BITS]


class Xorshift32(wiring.Component):
    """Independent xorshift32 streams, one of them stepped or accessed a cycle.

    Parameters
    ----------
    seeds : sequence of int
        The streams' initial states (non-zero), as :func:`~epfpga.golden.prng.stream_seed`
        gives them.  One stream is a register; more share a small memory (LUT RAM on the
        ECP5), read combinationally.

    Attributes
    ----------
    addr : In(range(len(seeds)))
        The stream that ``draw``, ``state``, ``advance`` and ``load`` refer to.
    draw : Out(32)
        Its next draw, ``xorshift32(state)``: combinational, valid in the cycle it is used.
    advance : In(1)
        Take the draw: the stream's state becomes ``draw`` at the next clock edge.
    state : Out(32)
        Its current state (a checkpoint saves it).
    load, value : In(1), In(32)
        Set its state to ``value`` at the next clock edge (takes precedence over ``advance``;
        a checkpoint restores it).  ``value`` must not be 0, xorshift's fixed point.
    peek_addr, peek : In(range(len(seeds))), Out(32)
        With ``peek``: the state of stream ``peek_addr``, combinational, through a read port of
        its own (a copy of the LUT RAM on the ECP5), so that reading a stream moves no address
        of ``addr``'s, which ends in the streams' update.

    Latency: a draw is available in the same cycle; one draw a cycle.
    """

    def __init__(self, seeds: Sequence[int], peek: bool = False):
        for seed in seeds:
            if not 0 < seed <= MASK:
                raise ValueError(f"xorshift32 seed {seed} must be in [1, 2**32)")
        self.seeds = list(seeds)
        streams = range(len(self.seeds))
        super().__init__({"addr": In(streams), "draw": Out(PRNG_BITS), "advance": In(1),
                          "state": Out(PRNG_BITS), "load": In(1), "value": In(PRNG_BITS),
                          **({"peek_addr": In(streams), "peek": Out(PRNG_BITS)} if peek else {})})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.d.comb += self.draw.eq(xorshift32(self.state))
        new = Mux(self.load, self.value, self.draw)
        if len(self.seeds) == 1:
            state = Signal(PRNG_BITS, init=self.seeds[0])
            m.d.comb += self.state.eq(state)
            with m.If(self.load | self.advance):
                m.d.sync += state.eq(new)
            if "peek" in self.signature.members:
                m.d.comb += self.peek.eq(state)
            return m
        states = m.submodules.states = memory.Memory(shape=PRNG_BITS, depth=len(self.seeds), init=self.seeds)
        read, write = states.read_port(domain="comb"), states.write_port()
        m.d.comb += [read.addr.eq(self.addr), write.addr.eq(self.addr), self.state.eq(read.data),
                     write.data.eq(new), write.en.eq(self.load | self.advance)]
        if "peek" in self.signature.members:
            peek = states.read_port(domain="comb")
            m.d.comb += [peek.addr.eq(self.peek_addr), self.peek.eq(peek.data)]
        return m
