"""The update's rounding, twin of :func:`epfpga.golden.fixed.weight_update.stochastic_round`
with a fed ``r`` (and of ``rshift_round`` for nearest rounding): ``floor((v + r) / 2**S)``,
``S`` one of a few shifts chosen at run time."""

from __future__ import annotations

from collections.abc import Sequence

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from epfpga.golden.prng import PRNG_BITS


class StochasticRound(wiring.Component):
    """``lanes`` lanes of ``v / 2**shift`` rounded, registered.

    For ``shift > 0`` the result is ``(v + r) >> shift``, with ``r`` the top ``shift`` bits of
    the lane's ``draw`` (stochastic) or ``2**(shift − 1)`` (nearest, ties up); for ``shift ≤ 0``
    it is ``v << −shift``; ``zero`` makes it 0.  One adder a lane, of ``v`` scaled by the
    shift and the draw's top bits, then a fixed shift.

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
        # floor((v + r) / 2**s) = floor((v·2**(top − s) + R) / 2**top), with R the top ``top``
        # bits of the draw, of which r = R >> (top − s) is the top s (R's lower bits never
        # carry into the quotient; nearest: R = 2**(top − 1), r = 2**(s − 1); s ≤ 0: the
        # quotient is v << −s).  So the shift picks only the scaled value, the offset is the
        # draw's top bits as they are, and the quotient a fixed shift: no multiplexer sits
        # between the adder and either register (timing).
        top = max(0, max(self.shifts))
        widest = top - min(self.shifts)
        for l in range(self.lanes):
            v = self.v[l]
            scaled = Signal(signed(len(v) + widest), name=f"scaled_l{l}")
            with m.Switch(self.shift):
                for s in self.shifts:
                    with m.Case(s):
                        m.d.comb += scaled.eq(v << (top - s))
            if top == 0:
                offset = 0
            else:
                offset = self.draw[l][PRNG_BITS - top:] if self.stochastic else 1 << (top - 1)
            q = Signal.like(self.q[l], name=f"q_l{l}", reset_less=True)
            m.d.comb += self.q[l].eq(q)
            m.d.sync += q.eq(Mux(self.zero, 0, (scaled + offset) >> top))
        return m
