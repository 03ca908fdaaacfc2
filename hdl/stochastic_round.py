"""The update's rounding, twin of :func:`epfpga.golden.fixed.weight_update.stochastic_round`
with a fed ``r`` (and of ``rshift_round`` for nearest rounding): ``floor((v + r) / 2**S)``,
``S`` one of a few shifts chosen at run time."""

from __future__ import annotations

from collections.abc import Sequence

from amaranth import Module, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from epfpga.golden.prng import PRNG_BITS


class StochasticRound(wiring.Component):
    """``lanes`` lanes of ``v / 2**shift`` rounded, registered.

    For ``shift > 0`` the result is ``(v + r) >> shift``, with ``r`` the top ``shift`` bits of
    the lane's ``draw`` (stochastic) or ``2**(shift − 1)`` (nearest, ties up); for ``shift ≤ 0``
    it is ``v << −shift``; ``zero`` makes it 0.  One adder a lane: the shift picks the offset
    and the shift out, both wiring behind a multiplexer.

    Parameters
    ----------
    lanes : int
    v_shape, q_shape : Shape
        The values in, the rounded values out (wide enough for the largest left shift).
    shifts : sequence of int
        The shifts ``shift`` may take.
    stochastic : bool
        Stochastic rounding from ``draw``, else nearest (``draw`` unused).

    Attributes
    ----------
    v : In(ArrayLayout(v_shape, lanes))
    draw : In(ArrayLayout(unsigned(32), lanes))
        Each lane's xorshift32 draw.
    shift : In(range(min(shifts), max(shifts) + 1))
    zero : In(1)
    q : Out(ArrayLayout(q_shape, lanes))
        :data:`LATENCY` = 1 cycle after the inputs.
    """

    LATENCY = 1

    def __init__(self, lanes: int, v_shape, q_shape, shifts: Sequence[int], stochastic: bool):
        self.lanes, self.shifts, self.stochastic = lanes, sorted(set(shifts)), stochastic
        super().__init__({"v": In(data.ArrayLayout(v_shape, lanes)),
                          "draw": In(data.ArrayLayout(unsigned(PRNG_BITS), lanes)),
                          "shift": In(range(min(self.shifts), max(self.shifts) + 1)), "zero": In(1),
                          "q": Out(data.ArrayLayout(q_shape, lanes))})

    def elaborate(self, platform) -> Module:
        m = Module()
        top = max(self.shifts)
        for l in range(self.lanes):
            v = self.v[l]
            offset = Signal(max(1, top), name=f"offset_l{l}")
            with m.Switch(self.shift):
                for s in self.shifts:
                    if s > 0:
                        with m.Case(s):
                            m.d.comb += offset.eq(self.draw[l][PRNG_BITS - s:] if self.stochastic else 1 << (s - 1))
            total = Signal((v + offset).shape(), name=f"total_l{l}")
            m.d.comb += total.eq(v + offset)
            q = Signal.like(self.q[l], name=f"q_l{l}", reset_less=True)
            m.d.comb += self.q[l].eq(q)
            with m.If(self.zero):
                m.d.sync += q.eq(0)
            with m.Else():
                with m.Switch(self.shift):
                    for s in self.shifts:
                        with m.Case(s):
                            m.d.sync += q.eq(total >> s if s > 0 else v << -s)
        return m

