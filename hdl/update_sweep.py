"""The weight update after the batch sum, twin of
:func:`epfpga.golden.fixed.weight_update.scale_round` and
:func:`~epfpga.golden.fixed.weight_update.write_back`: ``round(σ·D·lr_q / 2**S)`` added to the
word with saturation, on ``P / share`` units that each sweep ``share`` lanes, one a cycle
(``CoreParams.update_share``), with the lanes' xorshift32 streams."""

from __future__ import annotations

from collections.abc import Sequence

from amaranth import Array, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import CoreParams
from epfpga.golden.prng import PRNG_BITS, stream_seed

from .prng import Xorshift32
from .stochastic_round import StochasticRound
from .write_back import WriteBack


def sum_shape(p: CoreParams):
    """A batch sum ``D`` of any block (§8)."""
    return signed(max(p.diff_bits(n, bias) for n in range(1, p.layers + 1) for bias in (False, True)))


def sweep_latency(p: CoreParams) -> int:
    """Cycles from a word's sums to its write: pick, round, add, then the sweep's other lanes."""
    return 3 + p.update_share


class WordWrite(wiring.Signature):
    """A word of ``P`` weights (or biases) to write, all its lanes at once."""

    def __init__(self, params: CoreParams, words: int):
        super().__init__({"addr": Out(range(words)), "data": Out(data.ArrayLayout(signed(params.weight_bits), params.lanes)),
                          "en": Out(1)})


class SweepSignature(wiring.Signature):
    """A word's batch sums and weights as they are (``valid``), with the block's rounding: the
    net ``shift`` ``S − log2 lr_q``, ``frozen`` (``lr_q = 0``), ``draws`` (stochastic rounding
    takes a draw a lane) and ``negate`` (``σ_u = −1``); the word to write, :attr:`UpdateSweep.latency`
    cycles later.  ``prng_*``: the host's access to lane ``prng_addr``'s stream (while idle)."""

    def __init__(self, params: CoreParams, words: int, shifts: Sequence[int]):
        lanes = params.lanes
        super().__init__({
            "valid": In(1), "addr": In(range(words)), "sums": In(data.ArrayLayout(sum_shape(params), lanes)),
            "weights": In(data.ArrayLayout(signed(params.weight_bits), lanes)),
            "negate": In(1), "shift": In(range(min(shifts), max(shifts) + 1)), "frozen": In(1), "draws": In(1),
            "write": Out(WordWrite(params, words)), "busy": Out(1),
            "prng_addr": In(range(lanes)), "prng_state": Out(PRNG_BITS), "prng_load": In(1),
            "prng_value": In(PRNG_BITS),
        })


class UpdateSweep(wiring.Component):
    """Lane ``u·share + c`` of a word is unit ``u``'s in sweep cycle ``c``: ``c + 1`` picked,
    ``× σ_u`` (a negation) and its stream's draw; ``c + 2`` rounded (one shift); ``c + 3`` the
    saturating add; the earlier lanes' new values wait for the last, and the word is written at
    :attr:`latency` = ``3 + share``.  A word may follow every ``share`` cycles.

    ``lr_q = 2**L`` (§1) and the rounding divides by ``2**S``, so ``round(σ·D·2**L, S)`` is
    ``round(σ·D, S − L)`` with the top ``S − L`` bits of the same draw (the offset's low ``L``
    bits never carry into the quotient): one shift a block, one rounding adder a unit.
    """

    def __init__(self, params: CoreParams, words: int, shifts: Sequence[int]):
        self.params, self.shifts = params, sorted(shifts)
        self.share = params.update_share
        self.latency = sweep_latency(params)
        super().__init__(SweepSignature(params, words, self.shifts))

    def elaborate(self, platform) -> Module:
        m = Module()
        p, share = self.params, self.share
        P, units = p.lanes, p.lanes // share
        valid, addr = Signal(), Signal.like(self.addr, reset_less=True)
        sums, weights = Signal.like(self.sums, reset_less=True), Signal.like(self.weights)
        m.d.sync += valid.eq(self.valid)
        with m.If(self.valid):
            m.d.sync += [addr.eq(self.addr), sums.eq(self.sums), weights.eq(self.weights)]
        slot, sweeping = Signal(range(share)), Signal()
        active = valid | sweeping
        if share > 1:
            m.d.sync += sweeping.eq(active & (slot != share - 1))
            with m.If(active):
                m.d.sync += slot.eq(slot + 1)     # wraps to 0 as the sweep ends
        streams = [Xorshift32([stream_seed(p.seed, u * share + c) for c in range(share)]) for u in range(units)]
        host_unit = self.prng_addr // share if units > 1 else 0
        for u, stream in enumerate(streams):
            m.submodules[f"prng_u{u}"] = stream
            m.d.comb += [stream.addr.eq(Mux(active, slot, self.prng_addr % share)), stream.value.eq(self.prng_value),
                         stream.load.eq(self.prng_load & (host_unit == u)), stream.advance.eq(active & self.draws)]
        m.d.comb += self.prng_state.eq(Array(stream.state for stream in streams)[host_unit])

        def lane(values, u):
            """The value of unit ``u``'s lane in the sweep's current cycle."""
            return Array(values[u * share:(u + 1) * share])[slot] if share > 1 else values[u]

        top = max(1, max(self.shifts))
        picked = Signal(data.StructLayout({"valid": 1, "slot": len(slot), "addr": len(addr)}))
        m.d.sync += [picked.valid.eq(active), picked.slot.eq(slot), picked.addr.eq(addr)]
        v = [Signal(signed(len(sums[0]) + 1), name=f"v_u{u}", reset_less=True) for u in range(units)]
        w = [Signal.like(weights[0], name=f"wa_u{u}") for u in range(units)]
        draw = [Signal(top, name=f"draw_u{u}", reset_less=True) for u in range(units)]
        for u, stream in enumerate(streams):
            d = lane(list(sums), u)
            m.d.sync += [v[u].eq(Mux(self.negate, -d, d)), w[u].eq(lane(list(weights), u)),
                         draw[u].eq(stream.draw[PRNG_BITS - top:])]
        rounding = m.submodules.rounding = StochasticRound(units, v[0].shape(), signed(p.grad_bits), self.shifts,
                                                           p.stochastic)
        m.d.comb += [rounding.shift.eq(self.shift), rounding.zero.eq(self.frozen)]
        m.d.comb += [rounding.v[u].eq(v[u]) for u in range(units)]
        m.d.comb += [rounding.draw[u][PRNG_BITS - top:].eq(draw[u]) for u in range(units)]
        rounded = Signal.like(picked)
        w_b = [Signal.like(w[u], name=f"wb_u{u}") for u in range(units)]
        m.d.sync += [rounded.eq(picked)] + [w_b[u].eq(w[u]) for u in range(units)]
        write_back = m.submodules.write_back = WriteBack(p, units)
        m.d.comb += [write_back.w[u].eq(w_b[u]) for u in range(units)]
        m.d.comb += [write_back.dw[u].eq(rounding.q[u]) for u in range(units)]
        added = Signal.like(picked)
        m.d.sync += added.eq(rounded)
        # the new values of the sweep's earlier lanes wait for its last
        held = {l: Signal.like(weights[0], name=f"new_l{l}") for l in range(P) if l % share != share - 1}
        for l, value in held.items():
            with m.If(added.valid & (added.slot == l % share)):
                m.d.sync += value.eq(write_back.q[l // share])
        m.d.comb += [self.write.addr.eq(added.addr), self.write.en.eq(added.valid & (added.slot == share - 1)),
                     *[self.write.data[l].eq(write_back.q[l // share] if l % share == share - 1 else held[l])
                       for l in range(P)],
                     self.busy.eq(active | picked.valid | rounded.valid | added.valid)]
        return m
