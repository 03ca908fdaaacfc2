"""The batch sum of product differences, twin of
:func:`epfpga.golden.fixed.weight_update.product_difference` and ``bias_difference``
(``docs/fixed-point.md`` §6): ``D = Σ_b (m1_b − m2_b)`` over the cycles of one word."""

from __future__ import annotations

from amaranth import Module, Mux, Shape, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out


class BatchSum(wiring.Component):
    """``lanes`` lanes of ``D``, one product difference a lane a cycle.

    A word's samples come in consecutive cycles with ``valid`` high; its first cycle has
    ``first`` high and restarts the sum.  The weight update feeds, for ``W_n`` (``n ≥ 2``)
    ``m1 = q_b,post·q_b,pre`` and ``m2 = q_a,post·q_a,pre`` of one sample a cycle; for ``W_1``
    ``m1 = (q_b,1 − q_a,1)·x`` of one sample and ``m2 = −(q_b,1 − q_a,1)·x`` of the next (two
    samples a cycle); for biases the states themselves.

    Parameters
    ----------
    lanes : int
    product_shape : Shape
        Of ``m1`` and ``m2``.
    sum_shape : Shape
        Of ``D``: wide enough for the largest batch sum (``CoreParams.diff_bits``).

    Attributes
    ----------
    m1, m2 : In(ArrayLayout(product_shape, lanes))
    first, valid : In(1)
    d : Out(ArrayLayout(sum_shape, lanes))
        The sum of the word so far, this cycle's products included: combinational
        (latency 0); the running sum is registered when ``valid``.
    held : Out(ArrayLayout(sum_shape, lanes))
        With ``held``: the running sum, ``d`` of the last valid cycle (a cycle later).
    """

    LATENCY = 0

    def __init__(self, lanes: int, product_shape: Shape, sum_shape: Shape, held: bool = False):
        self.lanes = lanes
        products = data.ArrayLayout(product_shape, lanes)
        sums = data.ArrayLayout(sum_shape, lanes)
        super().__init__({"m1": In(products), "m2": In(products), "first": In(1), "valid": In(1),
                          "d": Out(sums), **({"held": Out(sums)} if held else {})})

    def elaborate(self, platform) -> Module:
        m = Module()
        for l in range(self.lanes):
            running = Signal.like(self.d[l], name=f"sum_l{l}", reset_less=True)
            m.d.comb += self.d[l].eq(Mux(self.first, 0, running) + self.m1[l] - self.m2[l])
            with m.If(self.valid):
                m.d.sync += running.eq(self.d[l])
            if "held" in self.signature.members:
                m.d.comb += self.held[l].eq(running)
        return m
