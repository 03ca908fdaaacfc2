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

from .delay import delay_line
from .distribution import REPLICA
from .prng import Xorshift32
from .stochastic_round import StochasticRound
from .write_back import WriteBack


def sum_shape(p: CoreParams):
    """A batch sum ``D`` of any block (§8)."""
    return signed(max(p.diff_bits(n, bias) for n in range(1, p.layers + 1) for bias in (False, True)))


def host_read_port(p: CoreParams) -> bool:
    """Whether the host reads the streams' states through a read port of their own
    (``prng_read_addr``), not at the address the update steps them at: where the board has the
    timing registers (the ECP5, whose LUT RAM makes the port a copy of 8 ``DPR16X4`` a unit).
    The core then reads a state when it picks the answer, with no multiplexer into the streams'
    address, and holds no state for the 3 cycles of a memory's read (96 flip-flops)."""
    return p.timing_registers


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
    cycles later.  ``prng_*``: the host's access to lane ``prng_addr``'s stream (while idle); it
    reads lane ``prng_read_addr``'s where the sweep has :func:`host_read_port`."""

    def __init__(self, params: CoreParams, words: int, shifts: Sequence[int]):
        lanes = params.lanes
        super().__init__({
            "valid": In(1), "addr": In(range(words)), "sums": In(data.ArrayLayout(sum_shape(params), lanes)),
            "weights": In(data.ArrayLayout(signed(params.weight_bits), lanes)),
            "negate": In(1), "shift": In(range(min(shifts), max(shifts) + 1)), "frozen": In(1), "draws": In(1),
            "write": Out(WordWrite(params, words)), "busy": Out(1),
            "prng_addr": In(range(lanes)), "prng_state": Out(PRNG_BITS), "prng_load": In(1),
            "prng_value": In(PRNG_BITS), **({"prng_read_addr": In(range(lanes))} if host_read_port(params) else {}),
        })


class UpdateSweep(wiring.Component):
    """Lane ``u·share + c`` of a word is unit ``u``'s in sweep cycle ``c``: ``c + 1`` picked,
    ``× σ_u`` (a negation) and its stream's draw; ``c + 2`` rounded (one shift); ``c + 3`` the
    saturating add; the earlier lanes' new values wait for the last, and the word is written at
    :attr:`latency` = ``3 + share``.  A word may follow every ``share`` cycles.

    ``lr_q = 2**L`` (§1) and the rounding divides by ``2**S``, so ``round(σ·D·2**L, S)`` is
    ``round(σ·D, S − L)`` with the top ``S − L`` bits of the same draw (the offset's low ``L``
    bits never carry into the quotient): one shift a block, one rounding adder a unit.

    A word that comes while the sweep is busy is at the address after the one before it (the
    blocks' words, in order), so the write's address is counted from the first word of each
    run, not carried through the stages (flip-flops that no LUT feeds, a logic cell a bit and
    a stage on the iCE40).
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
        addr = Signal.like(self.addr, reset_less=True)
        # each unit's lanes wait in a queue that moves one lane a cycle, so its next lane is a
        # register's output, not a multiplexer by a counter that every unit shares (timing)
        sums = [self._queue(m, self.sums, u, f"sums_u{u}") for u in range(units)]
        weights = [self._queue(m, self.weights, u, f"weights_u{u}") for u in range(units)]
        # each unit's slot and whether it sweeps (a word came, or its lanes are not all done) in
        # registers of its own: they select its stream's state, whose draw is written back in
        # the same cycle (timing: the P = 32 and digits builds' critical path)
        slots = [Signal(range(share), name=f"slot_u{u}", attrs={REPLICA: 1}) for u in range(units)]
        actives = [Signal(name=f"active_u{u}", attrs={REPLICA: 1}) for u in range(units)]
        slot, active = slots[0], actives[0]
        m.d.sync += [a.eq(self.valid | ((active & (slot != share - 1)) if share > 1 else 0)) for a in actives]
        if share > 1:
            with m.If(active):
                m.d.sync += [s.eq(slot + 1) for s in slots]    # wraps to 0 as the sweep ends
        peek = host_read_port(p)
        streams = [Xorshift32([stream_seed(p.seed, u * share + c) for c in range(share)], peek) for u in range(units)]
        host_unit = self.prng_addr // share if units > 1 else 0
        for u, stream in enumerate(streams):
            m.submodules[f"prng_u{u}"] = stream
            m.d.comb += [stream.addr.eq(Mux(actives[u], slots[u], self.prng_addr % share)),
                         stream.value.eq(self.prng_value), stream.load.eq(self.prng_load & (host_unit == u)),
                         stream.advance.eq(actives[u] & self.draws)]
        read_addr = self.prng_read_addr if peek else self.prng_addr
        if peek:
            m.d.comb += [stream.peek_addr.eq(read_addr % share) for stream in streams]
        read_unit = read_addr // share if units > 1 else 0
        m.d.comb += self.prng_state.eq(Array(stream.peek if peek else stream.state for stream in streams)[read_unit])

        top = max(1, max(self.shifts))
        picked = Signal(data.StructLayout({"valid": 1, "slot": len(slot)}))
        m.d.sync += [picked.valid.eq(active), picked.slot.eq(slot)]
        v = [Signal(signed(len(self.sums[0]) + 1), name=f"v_u{u}", reset_less=True) for u in range(units)]
        w = [Signal.like(self.weights[0], name=f"wa_u{u}") for u in range(units)]
        draw = [Signal(top, name=f"draw_u{u}", reset_less=True) for u in range(units)]
        for u, stream in enumerate(streams):
            d = sums[u][0]
            m.d.sync += [v[u].eq(Mux(self.negate, -d, d)), w[u].eq(weights[u][0]),
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
        # a sweep's lanes are consecutive cycles, so as its last is added the new values of the
        # unit's earlier lanes are its last ``share − 1`` values, with no enable to fan out
        written = [delay_line(m, write_back.q[u], share - 1, f"new_u{u}_", reset_less=True) for u in range(units)]
        m.d.comb += [self.write.addr.eq(addr),
                     self.write.en.eq(added.valid & (added.slot == share - 1)),
                     *[self.write.data[l].eq(written[l // share][share - 1 - l % share]) for l in range(P)],
                     self.busy.eq(active | picked.valid | rounded.valid | added.valid)]
        with m.If(self.valid & ~self.busy):    # (a run's first word: the sweep is empty)
            m.d.sync += addr.eq(self.addr)
        with m.Elif(self.write.en):
            m.d.sync += addr.eq(addr + 1)
        return m

    def _queue(self, m: Module, word, u: int, name: str) -> list:
        """Unit ``u``'s lanes of ``word``, loaded as a word arrives and moved one lane a cycle
        after: item 0 is the lane the sweep is at."""
        share = self.share
        queue = [Signal.like(word[0], name=f"{name}_{c}", reset_less=True) for c in range(share)]
        with m.If(self.valid):
            m.d.sync += [q.eq(word[u * share + c]) for c, q in enumerate(queue)]
        with m.Else():
            m.d.sync += [q.eq(after) for q, after in zip(queue, queue[1:])]
        return queue
