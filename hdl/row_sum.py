"""The forward sums of a row, twin of :func:`epfpga.golden.fixed.neuron_update.forward_sum`:
``P`` products a cycle through a balanced adder tree, then the row accumulator."""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import CoreParams

from .adder_tree import tree_sum
from .delay import delay_line
from .neuron_timing import tree_registers


def product_shape(p: CoreParams):
    """A lane multiplier's product of a weight and a state (``hdl/multiplier.py``)."""
    return signed(p.weight_bits + p.state_bits + 1)


class RowSumSignature(wiring.Signature):
    """A word's products of both samples of the pair, with the token's ``valid`` and ``first``
    (the row's first word) in the same cycle; the sums so far :attr:`RowSum.latency` cycles
    later, and with ``held`` the accumulators: the sums up to the last valid word, a cycle
    after they were ``sums``."""

    def __init__(self, params: CoreParams, held: bool = False):
        products = data.ArrayLayout(data.ArrayLayout(product_shape(params), params.lanes), 2)
        sums = data.ArrayLayout(signed(params.acc_bits), 2)
        super().__init__({"products": In(products), "valid": In(1), "first": In(1), "sums": Out(sums),
                          **({"held": Out(sums)} if held else {})})


class RowSum(wiring.Component):
    """The row's forward sums so far of the pair's two samples (a step's is the odd one's: the
    even multipliers carry the feedback products).

    The tree is registered :func:`~.neuron_timing.tree_registers` times (timing at large ``P``),
    which is the latency: ``sums`` is the row's sum up to the word given that many cycles
    before, combinational from there (the row end registers it, or takes ``held``, the
    accumulators, where ``held``: a copy of them would be flip-flops that no LUT of theirs
    feeds, a logic cell each on the iCE40).
    """

    def __init__(self, params: CoreParams, held: bool = False):
        self.params = params
        self.latency = tree_registers(params)
        super().__init__(RowSumSignature(params, held))

    def elaborate(self, platform) -> Module:
        m = Module()
        valid = delay_line(m, self.valid, self.latency, "valid")[-1]
        first = delay_line(m, self.first, self.latency, "first")[-1]
        for sample in range(2):
            acc = Signal(signed(self.params.acc_bits), name=f"acc{sample}", reset_less=True)
            total = self.sums[sample]
            m.d.comb += total.eq(Mux(first, 0, acc) + tree_sum(list(self.products[sample]), m, self.latency))
            with m.If(valid):
                m.d.sync += acc.eq(total)
            if "held" in self.signature.members:
                m.d.comb += self.held[sample].eq(acc)
        return m
