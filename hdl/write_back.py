"""The saturating write-back, twin of :func:`epfpga.golden.fixed.weight_update.write_back`
(``docs/fixed-point.md`` §6): ``W ← clamp(W + ΔW, w_min, w_max)``."""

from __future__ import annotations

from amaranth import Module, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .activation import clamp
from .params import CoreParams


class WriteBack(wiring.Component):
    """``P`` lanes of ``clamp(w + dw, w_min, w_max)``, registered.

    Parameters
    ----------
    params : CoreParams
        The weight format (``w_min``, ``w_max``), the change's width and the lanes.

    Attributes
    ----------
    w : In(ArrayLayout(signed(weight_bits), P))
        The weights (or biases) as read.
    dw : In(ArrayLayout(signed(grad_bits), P))
        Their rounded changes.
    q : Out(ArrayLayout(signed(weight_bits), P))
        The new values, :data:`LATENCY` = 1 cycle after ``w`` and ``dw``.
    """

    LATENCY = 1

    def __init__(self, params: CoreParams):
        self.params = params
        weights = data.ArrayLayout(signed(params.weight_bits), params.lanes)
        super().__init__({"w": In(weights), "dw": In(data.ArrayLayout(signed(params.grad_bits), params.lanes)),
                          "q": Out(weights)})

    def elaborate(self, platform) -> Module:
        m = Module()
        spec = self.params.spec
        m.d.sync += [self.q[l].eq(clamp(self.w[l] + self.dw[l], spec.w_min, spec.w_max))
                     for l in range(self.params.lanes)]
        return m
