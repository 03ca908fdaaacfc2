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
    ``W_1``); :attr:`RowEnd.early` cycles before them, the row's other operands: its bias, and
    for the output layer the unit, its state before the step, the pair's labels, which sample,
    β (:class:`~epfpga.contract.isa.Nudge`) and ``output`` (a pass over ``W_N``).  The
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
    """The nudge σ·(y_q − q_N) is formed from registered labels (a step does not change its
    samples) and added to the bias as the sums are registered, so that the accumulator is one
    add after the register (timing).

    Where the board has room (:attr:`~epfpga.contract.params.CoreParams.timing_registers`)
    the other operands come :attr:`early` = 1 cycle ahead of the sums and the nudge is
    registered on its own, so that its carry and the bias's add are not in one cycle (the
    ULX3S's ``digits`` builds' row-end path); else :attr:`early` = 0, and the sums come
    registered (:attr:`registered_sums`: the row sum's accumulators, a cycle later than its
    sums, ``RowSum.held``), where a register of them here would copy those.
    """

    LATENCY = 1

    def __init__(self, params: CoreParams):
        self.params = params
        self.early = int(params.timing_registers)
        self.registered_sums = not params.timing_registers
        super().__init__(RowEndSignature(params))

    def elaborate(self, platform) -> Module:
        m = Module()
        p, spec = self.params, self.params.spec
        labels = Signal.like(self.labels)
        m.d.sync += labels.eq(self.labels)
        nudge = m.submodules.nudge_error = NudgeError(p)
        m.d.comb += [nudge.unit.eq(self.unit), nudge.label.eq(Mux(self.half, labels[1], labels[0])),
                     nudge.q.eq(self.q), nudge.nudge.eq(self.nudge)]
        err, bias, output = nudge.err, self.bias, self.output
        for k in range(self.early):
            err_q, bias_q, output_q = Signal.like(err, name=f"err_q{k}"), Signal.like(bias, name=f"bias_q{k}"), \
                Signal(name=f"output_q{k}")
            m.d.sync += [err_q.eq(err), bias_q.eq(bias), output_q.eq(output)]
            err, bias, output = err_q, bias_q, output_q
        sums, drive = Signal.like(self.sums, reset_less=True), Signal(reset_less=True)
        offset = Signal(signed(p.acc_bits), reset_less=True)   # bias, and the nudge inside ρ
        nudge_in = Mux(output, err << (spec.fw - spec.k), 0) if p.nudge_inside else 0
        registers = [drive.eq(self.drive), self.err.eq(err), offset.eq((bias << spec.fs) + nudge_in)]
        if self.registered_sums:
            m.d.comb += sums.eq(self.sums)
            m.d.sync += registers
        else:
            m.d.sync += [sums.eq(self.sums), *registers]
        scale = spec.fs - spec.fx
        m.d.comb += [self.u.eq(Mux(drive, sums[0] << scale, sums[1]) + offset),
                     self.u_odd.eq((sums[1] << scale) + offset)]
        return m
