"""A row's accumulator from its forward sum, twin of
:func:`epfpga.golden.fixed.neuron_update.row_end`: the input's scale for the input drive, the
bias, and the output layer's nudge inside ρ."""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import CoreParams

from .nudge_error import NudgeError


class RowEndSignature(wiring.Signature):
    """The row's forward sums of the pair (:class:`~.row_sum.RowSum`) and ``drive`` (a pass over
    ``W_1``); :attr:`RowEnd.EARLY` cycle before them, the row's other operands: its bias, and for
    the output layer the unit, its state before the step, the pair's labels, which sample, β
    (:class:`~epfpga.contract.isa.Nudge`) and ``output`` (a pass over ``W_N``).  The
    accumulators and the nudge :attr:`RowEnd.LATENCY` cycle after the sums: ``u`` (a step's is
    the odd sum's), ``u_odd`` (the drive's odd sample) and ``err``."""

    def __init__(self, params: CoreParams):
        acc, label = signed(params.acc_bits), unsigned(params.label_bits)
        super().__init__({
            "sums": In(data.ArrayLayout(acc, 2)), "bias": In(signed(params.weight_bits)),
            "unit": In(label), "q": In(unsigned(params.state_bits)), "labels": In(data.ArrayLayout(label, 2)),
            "half": In(1), "nudge": In(2), "drive": In(1), "output": In(1),
            "u": Out(acc), "u_odd": Out(acc), "err": Out(signed(params.state_bits + 2)),
        })


class RowEnd(wiring.Component):
    """The nudge σ·(y_q − q_N) is formed from the early operands and registered, then added to
    the bias as the sums are registered, so that neither its carry nor the accumulator's
    follows another in one cycle (timing)."""

    LATENCY = 1
    EARLY = 1

    def __init__(self, params: CoreParams):
        self.params = params
        super().__init__(RowEndSignature(params))

    def elaborate(self, platform) -> Module:
        m = Module()
        p, spec = self.params, self.params.spec
        labels = Signal.like(self.labels)
        m.d.sync += labels.eq(self.labels)
        nudge = m.submodules.nudge_error = NudgeError(p)
        m.d.comb += [nudge.unit.eq(self.unit), nudge.label.eq(Mux(self.half, labels[1], labels[0])),
                     nudge.q.eq(self.q), nudge.nudge.eq(self.nudge)]
        err, bias, output = Signal.like(nudge.err), Signal.like(self.bias), Signal()
        m.d.sync += [err.eq(nudge.err), bias.eq(self.bias), output.eq(self.output), self.err.eq(err)]
        sums, drive = Signal.like(self.sums, reset_less=True), Signal(reset_less=True)
        offset = Signal(signed(p.acc_bits), reset_less=True)   # bias, and the nudge inside ρ
        nudge_in = Mux(output, err << (spec.fw - spec.k), 0) if p.nudge_inside else 0
        m.d.sync += [sums.eq(self.sums), drive.eq(self.drive), offset.eq((bias << spec.fs) + nudge_in)]
        scale = spec.fs - spec.fx
        m.d.comb += [self.u.eq(Mux(drive, sums[0] << scale, sums[1]) + offset),
                     self.u_odd.eq((sums[1] << scale) + offset)]
        return m
