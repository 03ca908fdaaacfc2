"""The output layer's nudge, twin of :func:`epfpga.golden.fixed.neuron_update.nudge_error`
(``docs/fixed-point.md`` §5): ``σ·(y_q − q_N)`` in state units, ``y_q`` one-hot."""

from __future__ import annotations

from amaranth import Module, Mux, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.isa import Nudge
from epfpga.contract.params import CoreParams



class NudgeError(wiring.Component):
    """The error of one output unit, combinational (latency 0): the neuron update registers
    it with the row's other operands.

    Parameters
    ----------
    params : CoreParams
        The state format and the number of output units.

    Attributes
    ----------
    unit, label : In(unsigned(label_bits))
        The output unit, and the sample's label (its target is ``2^fs``, every other's 0).
    q : In(unsigned(state_bits))
        The unit's state before the step.
    nudge : In(2)
        β of the step (:class:`~epfpga.contract.isa.Nudge`): ``PLUS`` gives ``target − q``,
        ``MINUS`` ``q − target``, ``FREE`` 0.
    err : Out(signed(state_bits + 2))
    """

    def __init__(self, params: CoreParams):
        self.params = params
        label = unsigned(params.label_bits)
        super().__init__({"unit": In(label), "label": In(label), "q": In(unsigned(params.state_bits)),
                          "nudge": In(2), "err": Out(signed(params.state_bits + 2))})

    def elaborate(self, platform) -> Module:
        m = Module()
        target = Mux(self.unit == self.label, self.params.spec.one, 0)
        with m.Switch(self.nudge):
            with m.Case(Nudge.PLUS):
                m.d.comb += self.err.eq(target - self.q)
            with m.Case(Nudge.MINUS):
                m.d.comb += self.err.eq(self.q - target)
        return m
