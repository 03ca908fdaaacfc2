"""The output layer's states, twin of :func:`epfpga.golden.fixed.neuron_update.output_state`:
``ρ_q(u)``, plus the rounded nudge where it goes outside ρ, clamped to the rails."""

from __future__ import annotations

from amaranth import Module, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import CoreParams

from . import activation
from .activation import Activation, clamp, rshift_round
from .delay import delay_line


class OutputStateSignature(wiring.Signature):
    """A unit's accumulator (with the nudge inside ρ, if there) and its nudge σ·(y_q − q_N);
    its state :attr:`OutputState.latency` cycles later (the activation's)."""

    def __init__(self, params: CoreParams):
        super().__init__({"u": In(signed(params.acc_bits)), "err": In(signed(params.state_bits + 2)),
                          "q": Out(unsigned(params.state_bits))})


class OutputState(wiring.Component):
    def __init__(self, params: CoreParams):
        self.params = params
        self.latency = activation.latency(params)
        super().__init__(OutputStateSignature(params))

    def elaborate(self, platform) -> Module:
        m = Module()
        spec = self.params.spec
        unit = m.submodules.activation = Activation(self.params)
        m.d.comb += unit.u.eq(self.u)
        if self.params.nudge_inside:
            m.d.comb += self.q.eq(unit.q)
            return m
        err = delay_line(m, self.err, self.latency, "err", reset_less=True)[-1]
        m.d.comb += self.q.eq(clamp(unit.q + rshift_round(err, spec.k), 0, spec.one))
        return m
