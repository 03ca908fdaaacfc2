"""The feedback sums of a layer, twin of :func:`epfpga.golden.fixed.neuron_update.feedback_sum`:
each row of ``W_(m+1)`` adds ``W[i, j]·q_(m+1)[i]`` to unit ``j``'s accumulator word, ``P`` units
a cycle, and the word's last row sends the sums through the activation."""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import CoreParams

from . import activation
from .activation import Activation
from .row_sum import product_shape


class FeedbackSumSignature(wiring.Signature):
    """A word's products and the accumulator word they add to, as the memory reads it in the
    products' cycle, and ``repeat``: the word is the one written the cycle before (its read is
    then stale).  The new sums one cycle after the products, their states
    :func:`activation.latency` cycles after that."""

    def __init__(self, params: CoreParams):
        lanes = params.lanes
        super().__init__({
            "products": In(data.ArrayLayout(product_shape(params), lanes)),
            "acc": In(data.ArrayLayout(signed(params.acc_bits), lanes)), "repeat": In(1),
            "sums": Out(data.ArrayLayout(signed(params.acc_bits), lanes)),
            "q": Out(data.ArrayLayout(unsigned(params.state_bits), lanes)),
        })


class FeedbackSum(wiring.Component):
    """The read-modify-write of a layer's accumulators, and their activations.

    Parameters
    ----------
    params : CoreParams
    forwarding : bool
        Build the path for ``repeat``: only where a row of ``W_m`` (``m ≥ 2``) is one word does a
        word follow itself (elsewhere 34 flip-flops and a multiplexer a lane for nothing).
    direct : bool
        The accumulator word comes from the memory's own read register, and the sum is
        registered here (:func:`~.neuron_timing.direct_accumulators`: its adder's logic cells
        hold it, where a register of the products and one of the word would be flip-flops that
        no LUT feeds); else the products and the word are registered here, and the memory's
        read is transparent (a word written two cycles before comes through it, the one written
        in the cycle before from here).

    Latency: ``sums`` :data:`LATENCY` cycle after the products; ``q`` :attr:`q_latency`,
    :data:`LATENCY` and the activation's.
    """

    LATENCY = 1

    def __init__(self, params: CoreParams, *, forwarding: bool, direct: bool = False):
        if forwarding and direct:
            raise ValueError("the forwarding path compares the registered accumulator word")
        self.params, self.forwarding, self.direct = params, forwarding, direct
        self.q_latency = self.LATENCY + activation.latency(params)
        super().__init__(FeedbackSumSignature(params))

    def elaborate(self, platform) -> Module:
        m = Module()
        lanes = range(self.params.lanes)
        if self.direct:
            m.d.sync += [self.sums[l].eq(self.acc[l] + self.products[l]) for l in lanes]
        else:
            products = Signal.like(self.products, reset_less=True)
            m.d.sync += products.eq(self.products)
            acc = Signal.like(self.acc, reset_less=True)
            m.d.sync += acc.eq(self.acc)
            sums = list(acc)
        if self.forwarding:
            repeat = Signal()
            m.d.sync += [repeat.eq(self.repeat)]
            last = Signal.like(self.sums, reset_less=True)
            m.d.sync += last.eq(self.sums)
            sums = [Mux(repeat, last[l], acc[l]) for l in lanes]
        for l in lanes:
            unit = m.submodules[f"act_l{l}"] = Activation(self.params)
            if not self.direct:
                m.d.comb += self.sums[l].eq(sums[l] + products[l])
            m.d.comb += [unit.u.eq(self.sums[l]), self.q[l].eq(unit.q)]
        return m
