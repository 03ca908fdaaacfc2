"""The saturating write-back, twin of :func:`epfpga.golden.fixed.weight_update.write_back`
(``docs/fixed-point.md`` §6): ``W ← clamp(W + ΔW, w_min, w_max)``, the weight format's full
range."""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import CoreParams



class WriteBack(wiring.Component):
    """``lanes`` lanes of ``clamp(w + dw, w_min, w_max)``, registered.

    Parameters
    ----------
    params : CoreParams
        The weight format (``w_min``, ``w_max``) and the change's width.
    lanes : int
        Values a cycle (the weight update's rounding units).

    Attributes
    ----------
    w : In(ArrayLayout(signed(weight_bits), lanes))
        The weights (or biases) as read.
    dw : In(ArrayLayout(signed(grad_bits), lanes))
        Their rounded changes.
    q : Out(ArrayLayout(signed(weight_bits), lanes))
        The new values, :data:`LATENCY` = 1 cycle after ``w`` and ``dw``.
    """

    LATENCY = 1

    def __init__(self, params: CoreParams, lanes: int):
        self.params, self.lanes = params, lanes
        weights = data.ArrayLayout(signed(params.weight_bits), lanes)
        super().__init__({"w": In(weights), "dw": In(data.ArrayLayout(signed(params.grad_bits), lanes)),
                          "q": Out(weights)})

    def elaborate(self, platform) -> Module:
        m = Module()
        spec = self.params.spec
        bits = self.params.weight_bits
        assert (spec.w_min, spec.w_max) == (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)   # the format's full range
        for l in range(self.lanes):
            # a change of 2**bits or more saturates any weight, so dw is first narrowed to
            # bits + 1: kept where it fits, else its own rail.  The sum is then bits + 2 wide and
            # its saturation a test of its top bits: one short carry chain a lane, not a wide
            # add and two wide compares.
            dw = self.dw[l]
            narrow = Signal(signed(bits + 1), name=f"dw_narrow{l}")
            if len(dw) > bits + 1:
                high = dw[bits:]
                fits = high.all() | ~high.any()
                m.d.comb += narrow.eq(Mux(fits, dw[:bits + 1].as_signed(), Mux(dw[-1], -(1 << bits), (1 << bits) - 1)))
            else:
                m.d.comb += narrow.eq(dw)
            total = Signal(signed(bits + 2), name=f"sum{l}")
            m.d.comb += total.eq(self.w[l] + narrow)
            top = total[bits - 1:]
            q = Signal.like(self.q[l], name=f"q{l}", reset_less=True)
            m.d.comb += self.q[l].eq(q)
            m.d.sync += q.eq(Mux(top.all() | ~top.any(), total[:bits].as_signed(), Mux(total[-1], spec.w_min, spec.w_max)))
        return m
