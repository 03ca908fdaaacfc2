"""Prediction in gateware: a running argmax over the output layer as its states are written,
twin of :func:`epfpga.golden.fixed.prediction.prediction` (ties to the lowest index)."""

from __future__ import annotations

from amaranth import Module, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import CoreParams



class Prediction(wiring.Component):
    """Argmax of the output layer, fed one unit at a time in increasing unit order.

    Each step's outputs start at unit 0, which starts the argmax afresh: no clear is needed,
    so the steps of a relaxation may follow one another without a gap.

    Attributes
    ----------
    valid, unit, q : In
        One output unit and its new state.
    index : Out(label_bits)
        Index of the largest state since the last unit 0; a later unit replaces it only when
        strictly larger, so ties keep the lowest index.  Updated one cycle after ``valid``.
    """

    def __init__(self, params: CoreParams):
        super().__init__({
            "valid": In(1), "unit": In(unsigned(params.label_bits)),
            "q": In(unsigned(params.state_bits)), "index": Out(unsigned(params.label_bits)),
        })
        self.params = params

    def elaborate(self, platform) -> Module:
        m = Module()
        best = Signal(unsigned(self.params.state_bits))
        with m.If(self.valid & ((self.unit == 0) | (self.q > best))):
            m.d.sync += [best.eq(self.q), self.index.eq(self.unit)]
        return m
