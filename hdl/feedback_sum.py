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
    """A word's products and the accumulator word they add to, as the memory reads it (in the
    products' cycle, or the cycle after where it is not registered here), and ``repeat``: the
    word is the one written the cycle before (its read is then stale).  The new sums one cycle
    after the products, their states :func:`activation.latency` cycles after that."""

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
    registered_acc : bool
        The accumulator word comes with the products and is registered here; else it comes a
        cycle later, the memory's read register its only one
        (:func:`~.neuron_timing.direct_accumulators`).

    Latency: ``sums`` :data:`LATENCY` cycle after the products (the memory's word comes
    registered: a word written two cycles before comes through its transparent read, the one
    written in the cycle before from here); ``q`` :attr:`q_latency`, :data:`LATENCY` and the
    activation's.
    """

    LATENCY = 1

    def __init__(self, params: CoreParams, *, forwarding: bool, registered_acc: bool = True):
        if forwarding and not registered_acc:
            raise ValueError("the forwarding path compares the registered accumulator word")
        self.params, self.forwarding, self.registered_acc = params, forwarding, registered_acc
        self.q_latency = self.LATENCY + activation.latency(params)
        super().__init__(FeedbackSumSignature(params))

    def elaborate(self, platform) -> Module:
        m = Module()
        lanes = range(self.params.lanes)
        products = Signal.like(self.products, reset_less=True)
        m.d.sync += products.eq(self.products)
        acc = self.acc
        if self.registered_acc:
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
            m.d.comb += [self.sums[l].eq(sums[l] + products[l]), unit.u.eq(self.sums[l]), self.q[l].eq(unit.q)]
        return m
