"""The weight-update pipeline, twin of :mod:`epfpga.golden.fixed.weight_update` (§6–7).

Blocks ``W_1, b_1, W_2, b_2, …`` are streamed ``P`` columns a cycle, each word once per
mini-batch.  For every word the pipeline forms the exact batch sum of product differences
from the saved last-step states of the ``B`` samples, so no memory grows with the number of
weights: ``B`` cycles of two multiplies a lane, ``q_b,post·q_b,pre − q_a,post·q_a,pre``, for
``W_n`` (``n ≥ 2``); for ``W_1``, whose presynaptic input is the same in both phases, one
multiply per sample, ``(q_b,1 − q_a,1)·x``, and two samples a cycle (``B/2`` cycles a word);
biases need no multiply.  The differences ``q_b,1 − q_a,1`` of all samples are formed first,
in a pass of their own (the ``diff`` block, ``B · ceil(n_1/P)`` cycles), into a small memory
whose words each hold a pair of samples, read two samples a cycle through one port.  Then
``v = σ_u·D·lr_q``, one rounding (nearest, or stochastic with the
lane's xorshift32 draw), saturating write-back: a word comes out of the batch sum at most
once every ``B/2`` cycles, so these run on ``P / share`` units (``CoreParams.update_share``),
each serving ``share`` lanes one a cycle, and the lanes' streams live in the units.

Pipeline (cycles after a token is issued): 0 reads (the memories register the address); 1 the
memories read; 2 read data registered; 3 operands registered (``diff`` and biases: the
states, times one) and 4 products, in the lanes' multipliers; 5 batch sum
(:class:`~.batch_sum.BatchSum`; ``diff``: written); then lane ``c`` of each unit's share: 6 + c
picked, ``× σ_u`` (a negation) and its draw; 7 + c ``× lr_q`` and rounding, one shift; 8 + c
saturating add (:class:`~.write_back.WriteBack`); the word written in 8 + share
(:func:`write_stage`).
A block takes ``rows · G · samples`` issue cycles plus its drain (``DRAIN_DIFF``, :func:`drain`).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import CoreParams
from epfpga.golden.prng import PRNG_BITS, stream_seed

from . import block_ram
from . import memories as mem
from .block_ram import BlockRAM
from .batch_sum import BatchSum
from .multiplier import PER_LANE, request_signature
from .prng import Xorshift32
from .row_scan import RowScan
from .stochastic_round import StochasticRound
from .write_back import WriteBack

# The stages that write (cycles after issue): the diff block's differences, every other
# block's words (after the sweep of their lanes).  A block drains for its last write plus the
# cycle that sees the pipeline empty.
DIFF_WRITE_STAGE = block_ram.LATENCY + 2       # (operands, products)
DRAIN_DIFF = DIFF_WRITE_STAGE + 1


def write_stage(p: CoreParams) -> int:
    return DIFF_WRITE_STAGE + 3 + p.update_share   # (the sweep: pick, round, add; then the wait)


def drain(p: CoreParams) -> int:
    return write_stage(p) + 1


@dataclass(frozen=True)
class Block:
    """One pass of the update pipeline: ``rows × groups`` words, ``samples`` cycles each."""

    kind: str     # "diff", "W" or "b"
    layer: int
    rows: int
    groups: int
    samples: int


def blocks(p: CoreParams) -> list[Block]:
    """The passes of one update, in order."""
    half = max(1, p.batch // 2)
    out = [Block("diff", 1, p.batch, p.unit_words(1), 1)]   # first: block 0
    for n in range(1, p.layers + 1):
        out.append(Block("W", n, p.sizes[n], p.weight_groups(n), half if n == 1 else p.batch))
        out.append(Block("b", n, 1, p.unit_words(n), p.batch))
    return out


def word_read_sample(p: CoreParams, blk: Block) -> int | None:
    """The sample of a word's pass in which a ``W`` block reads the word: once a word, so that a
    weight memory with one port (the iCE40's SPRAM) has a cycle for each write.  A word's write
    request comes :func:`write_stage` cycles after its last sample's issue, and the words issue
    ``S = samples`` cycles apart: read in the last sample, the write meets a later word's read
    only where ``S`` divides the write stage, and then reading in the first sample is clear of
    it.  ``None`` for a word a cycle (``S = 1``), where no cycle is free."""
    if blk.samples < 2:
        return None
    return blk.samples - 1 if write_stage(p) % blk.samples else 0


def single_port_weights(p: CoreParams) -> bool:
    """Every ``W`` block reads its words once (:func:`word_read_sample`): the weight memories
    need one port, a read or a write a cycle."""
    return all(word_read_sample(p, blk) is not None for blk in blocks(p) if blk.kind == "W")


def base_shift(p: CoreParams, layer: int, bias: bool) -> int:
    """``S`` of §6 for ``c = 1``; the ``halve`` input adds one for ``c = 2``."""
    c_log2 = p.update_c_log2
    return p.spec.update_shift(layer, bias) - c_log2


def diff_memory(p: CoreParams) -> mem.MemorySpec:
    """``q_b,1 − q_a,1`` of every sample: state slots' layout, one slot per pair of samples,
    whose words hold the even sample's ``P`` lanes and then the odd one's, negated (the
    ``W_1`` block reads a pair a cycle: one read port, where a port for each sample would double
    the LUT RAM; and the odd product goes in as it is, subtracted by the batch sum).  A
    :class:`~.block_ram.BlockRAM`, so its reads take as long as the others'."""
    depth = p.batch // p.halves * p.slot_stride(1)
    return mem.MemorySpec("diff", signed(p.state_bits + 1), p.halves * p.lanes, depth, mem.shallow(depth))


class WeightUpdate(wiring.Component):
    """Weight-update engine.

    Parameters
    ----------
    params : CoreParams

    Attributes
    ----------
    start : In(1)
        Pulse: update every block from the saved slots ``a`` and ``b`` of all samples.
    negate : In(1)
        ``σ_u = −1`` (random-sign estimator with a negative draw).  Held while ``busy``.
    halve : In(1)
        ``c = 2``: one more bit is rounded off (symmetric estimator).  Held while ``busy``.
    bank : In(1)
        Input bank of the mini-batch.  Held while ``busy``.
    busy : Out(1)
    prng_addr, prng_state : In(range(P)), Out(32)
        The state of lane ``prng_addr``'s stream, combinational (the host reads them for
        checkpoints; only while idle).
    prng_load, prng_value : In(1), In(32)
        Set that state to ``prng_value`` (only while idle).
    x, x2, w1 (w1_2, …), b{n}, sa{n}, sb{n} : memory read requests, data registered by the memory
        (:class:`~.block_ram.BlockRAM`, 3 cycles) (``x2``: a second port of the inputs;
        ``sa``/``sb``: state ports A and B);
    w1_w (w1_2_w, …), b{n}_w : weight and bias write requests (the weight memories as
        :func:`~.memories.weight_memories` names them).
    written : Out(range(2N))
        The memory the block writes: ``2(n−1)`` for ``W_n``, ``2(n−1) + 1`` for ``b_n``.
    mul : Out(request_signature(2P, …))
        The lanes' multipliers (:mod:`.multiplier`): operands at stage 2, products at stage 4.
    """

    def __init__(self, params: CoreParams):
        p = self.params = params
        members = {"start": In(1), "negate": In(1), "halve": In(1), "bank": In(1), "busy": Out(1),
                   "prng_addr": In(range(p.lanes)), "prng_state": Out(PRNG_BITS), "prng_load": In(1),
                   "prng_value": In(PRNG_BITS),
                   "x": In(mem.inputs(p).read_signature()), "x2": In(mem.inputs(p).read_signature()),
                   "mul": Out(request_signature(PER_LANE * p.lanes, *p.multiplier_shapes)),
                   "written": Out(range(2 * p.layers))}
        for wm in mem.weight_memories(p):
            members[wm.spec.name.lower()] = In(wm.spec.read_signature())
            members[f"{wm.spec.name.lower()}_w"] = In(wm.spec.write_signature())
        for n in range(1, p.layers + 1):
            members[f"b{n}"] = In(mem.biases(p, n).read_signature())
            members[f"b{n}_w"] = In(mem.biases(p, n).write_signature())
            members[f"sa{n}"] = In(mem.states(p, n).read_signature())
            members[f"sb{n}"] = In(mem.states(p, n).read_signature())
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        p, spec = self.params, self.params.spec
        P, B = p.lanes, p.batch
        plan = blocks(p)
        stochastic = p.stochastic
        diffs = m.submodules.diff = BlockRAM(diff_memory(p))
        diff_wr, (diff_rd,) = diffs.write, diffs.read

        block = Signal(range(len(plan)))
        scan = m.submodules.scan = RowScan(P, max(k.rows for k in plan), max(k.groups for k in plan),
                                           max(max(wm.spec.depth for wm in mem.weight_memories(p)),
                                               max(p.unit_words(n) for n in range(1, p.layers + 1)),
                                               diff_memory(p).depth))

        def port(kind: str, n: int, write: bool = False):
            """The read (or write) request of block ``kind`` of layer ``n``'s memory."""
            name = mem.weight_memory(p, n).spec.name.lower() if kind == "W" else f"b{n}"
            return getattr(self, f"{name}_w" if write else name)

        def first_word(blk: Block) -> int:
            """Where the block's words start in their memory."""
            return mem.weight_memory(p, blk.layer).base(blk.layer) if blk.kind == "W" else 0
        i, i_word, i_lane, g, waddr = scan.row, scan.row_word, scan.row_lane, scan.group, scan.addr
        b = Signal(range(max(2, B)))
        issuing, last_g, last_row, last_b = Signal(), Signal(), Signal(), Signal()
        with m.Switch(block):
            for k, blk in enumerate(plan):
                with m.Case(k):
                    m.d.comb += [last_g.eq(g == blk.groups - 1), last_row.eq(i == blk.rows - 1),
                                 last_b.eq(b == blk.samples - 1)]

        token = data.StructLayout({"valid": 1, "first_b": 1, "last_b": 1, "addr": len(waddr),
                                   "i_lane": max(1, len(i_lane)), "odd": 1})
        tok0, tok1, tokr, tok1b, tok2 = (Signal(token) for _ in range(5))
        m.d.comb += [tok0.valid.eq(issuing), tok0.first_b.eq(b == 0), tok0.last_b.eq(last_b),
                     tok0.addr.eq(Mux(block == 0, mem.slot_address(p, 1, i >> (p.halves - 1), g), waddr)),
                     tok0.i_lane.eq(i_lane), tok0.odd.eq(i[0] & (p.halves > 1))]
        tokm = Signal(token)    # the cycle the memories read (their address registered)
        m.d.sync += [tokm.eq(tok0), tok1.eq(tokm), tokr.eq(tok1), tok1b.eq(tokr), tok2.eq(tok1b)]

        # -- stage 0: reads of the saved states of sample b, and of the word being updated ------
        def diff_address(sample):
            return mem.slot_address(p, 1, sample, i_word)

        for k, blk in enumerate(plan):
            n = blk.layer
            with m.If(block == k):
                if blk.kind == "diff":       # row i is the sample
                    sa, sb = getattr(self, "sa1"), getattr(self, "sb1")
                    m.d.comb += [sa.addr.eq(mem.slot_address(p, 1, mem.slot_index(p, mem.SlotCode.A, i), g)),
                                 sb.addr.eq(mem.slot_address(p, 1, mem.slot_index(p, mem.SlotCode.B, i), g))]
                    continue
                m.d.comb += port(blk.kind, n).addr.eq(waddr)
                read_at = word_read_sample(p, blk) if blk.kind == "W" else None
                if read_at is not None:     # (en low holds the word for the pass's other samples)
                    m.d.comb += port(blk.kind, n).en.eq(issuing & (b == read_at))
                if blk.kind == "W" and n == 1:   # two samples a cycle
                    pair = b << 1
                    m.d.comb += [self.x.addr.eq(mem.input_address(p, self.bank, pair, g)),
                                 self.x2.addr.eq(mem.input_address(p, self.bank, pair | 1, g)),
                                 diff_rd.addr.eq(diff_address(b))]
                    continue
                slot_a = mem.slot_index(p, mem.SlotCode.A, b)
                slot_b = mem.slot_index(p, mem.SlotCode.B, b)
                word = g if blk.kind == "b" else i_word
                sa, sb = getattr(self, f"sa{n}"), getattr(self, f"sb{n}")
                m.d.comb += [sa.addr.eq(mem.slot_address(p, n, slot_a, word)),
                             sb.addr.eq(mem.slot_address(p, n, slot_b, word))]
                if blk.kind == "W":
                    pa, pb = getattr(self, f"sa{n - 1}"), getattr(self, f"sb{n - 1}")
                    m.d.comb += [pa.addr.eq(mem.slot_address(p, n - 1, slot_a, g)),
                                 pb.addr.eq(mem.slot_address(p, n - 1, slot_b, g))]

        # -- stage 2: read data registered (the core's memories register theirs, hdl/block_ram.py)
        layers = range(1, p.layers + 1)
        sa_q = {n: getattr(self, f"sa{n}").data for n in layers}
        sb_q = {n: getattr(self, f"sb{n}").data for n in layers}
        word_q = {(kind, n): port(kind, n).data for kind in ("W", "b") for n in layers}
        x_q, x2_q = self.x.data, self.x2.data
        d_q = diff_rd.data   # the pair's: the even sample's lanes, then the odd one's

        # -- stages 3, 4: operands and products in the lanes' multipliers: m1 = a1·b1 on
        # multiplier 2l, m2 = a2·b2 on 2l + 1, the batch sum is m1 − m2.  The signed operands
        # a1, a2 are the same in every lane (a postsynaptic state, a difference, or 1), the
        # unsigned ones each lane's presynaptic state or input, or its own state for the
        # differences of the diff and bias blocks (times one): a lane picks only among the
        # memories' words, which the neuron update's operands share (hdl/core.py).
        lane1 = tokr.i_lane if P > 1 else 0
        w1 = [Signal(signed(p.weight_bits), name=f"w_l{l}") for l in range(P)]
        a1, a2 = Signal(self.mul.a[0].shape()), Signal(self.mul.a[0].shape())
        diff_block = Signal()
        with m.Switch(block):
            for k, blk in enumerate(plan):
                n = blk.layer
                with m.Case(k):
                    if blk.kind != "diff":
                        wd = word_q[blk.kind, n]
                        m.d.comb += [w1[l].eq(wd[l]) for l in range(P)]
                    m.d.comb += diff_block.eq(blk.kind == "diff")
                    if blk.kind == "diff":    # an odd sample's difference kept negated (below)
                        sign = Mux(tokr.odd, -1, 1)
                        ops = (sign, sb_q[n], sign, sa_q[n])
                    elif blk.kind == "b":
                        ops = (1, sb_q[n], 1, sa_q[n])
                    elif n == 1:
                        # (m1 − m2 = (q_b − q_a)·x of both samples: the odd one's difference
                        # is stored negated, so that no negation sits between memory and multiplier)
                        ops = (d_q[lane1], x_q, d_q[P + lane1] if B > 1 else 0, x2_q)
                    else:
                        ops = (sb_q[n][lane1], sb_q[n - 1], sa_q[n][lane1], sa_q[n - 1])
                    m.d.comb += [a1.eq(ops[0]), a2.eq(ops[2])]
                    m.d.comb += [self.mul.b[2 * l].eq(ops[1][l]) for l in range(P)]
                    m.d.comb += [self.mul.b[2 * l + 1].eq(ops[3][l]) for l in range(P)]
        m.d.comb += [self.mul.a[2 * l].eq(a1) for l in range(P)] + [self.mul.a[2 * l + 1].eq(a2) for l in range(P)]
        prod_bits = 2 * p.state_bits + 3
        m1 = [Signal(signed(prod_bits), name=f"m1_l{l}") for l in range(P)]
        m2 = [Signal(signed(prod_bits), name=f"m2_l{l}") for l in range(P)]
        m.d.comb += [m1[l].eq(self.mul.p[2 * l]) for l in range(P)] + [m2[l].eq(self.mul.p[2 * l + 1]) for l in range(P)]
        w1b = [Signal.like(w1[l], name=f"w1b_l{l}", reset_less=True) for l in range(P)]
        w2 = [Signal.like(w1b[l], name=f"w2_l{l}") for l in range(P)]
        m.d.sync += [w1b[l].eq(w1[l]) for l in range(P)] + [w2[l].eq(w1b[l]) for l in range(P)]
        diff1b, diff2 = Signal(), Signal()
        m.d.sync += [diff1b.eq(diff_block), diff2.eq(diff1b)]

        # -- stage 5: batch sum D; a word's sums and weights are held for its sweep -------------
        d_bits = max(p.diff_bits(n, bias) for n in range(1, p.layers + 1) for bias in (False, True))
        batch_sum = m.submodules.batch_sum = BatchSum(P, m1[0].shape(), signed(d_bits))
        m.d.comb += [batch_sum.first.eq(tok2.first_b), batch_sum.valid.eq(tok2.valid)]
        m.d.comb += [batch_sum.m1[l].eq(m1[l]) for l in range(P)] + [batch_sum.m2[l].eq(m2[l]) for l in range(P)]
        d_sum = batch_sum.d
        # (the diff block: a one-sample sum, q_b,1 − q_a,1, written at once)
        m.d.comb += [diff_wr.addr.eq(tok2.addr), *[diff_wr.data[l].eq(d_sum[l % P]) for l in range(p.halves * P)]]
        with m.If(tok2.valid & diff2):
            m.d.comb += diff_wr.en.eq(((1 << P) - 1) << (P * tok2.odd))
        word_done, valid3, addr3 = tok2.valid & tok2.last_b & ~diff2, Signal(), Signal.like(waddr, reset_less=True)
        d3 = [Signal(signed(d_bits), name=f"d3_l{l}", reset_less=True) for l in range(P)]
        w3 = [Signal.like(w1b[l], name=f"w3_l{l}") for l in range(P)]
        m.d.sync += valid3.eq(word_done)
        with m.If(word_done):
            m.d.sync += [addr3.eq(tok2.addr)] + [d3[l].eq(d_sum[l]) for l in range(P)] + [w3[l].eq(w2[l]) for l in range(P)]

        # -- stages 6 … 8 + share: the sweep.  The rest of the update runs on P / share units,
        # each serving ``share`` consecutive lanes, one a cycle: lane ``u·share + c`` of the word
        # in cycle 6 + c (p.update_share: the sweep ends before the next word's sums do).
        # 6 + c: the lane picked, ``× σ_u`` (a negation) and its stream's draw; 7 + c: ``× lr_q``
        # and rounding, one shift; 8 + c: saturating add (:class:`~.write_back.WriteBack`);
        # 9 + c: the new value waits for the sweep's last, and the word is written with it.
        share, units = p.update_share, P // p.update_share
        slot, sweeping = Signal(range(share)), Signal()
        active = valid3 | sweeping
        if share > 1:
            m.d.sync += sweeping.eq(active & (slot != share - 1))
            with m.If(active):
                m.d.sync += slot.eq(slot + 1)     # wraps to 0 as the sweep ends
        streams = [Xorshift32([stream_seed(p.seed, u * share + c) for c in range(share)]) for u in range(units)]
        host_unit = self.prng_addr // share if units > 1 else 0
        for u, stream in enumerate(streams):
            m.submodules[f"prng_u{u}"] = stream
            m.d.comb += [stream.addr.eq(Mux(active, slot, self.prng_addr % share)), stream.value.eq(self.prng_value),
                         stream.load.eq(self.prng_load & (host_unit == u))]
        m.d.comb += self.prng_state.eq(Array(stream.state for stream in streams)[host_unit])

        def lane(values, u):
            """The value of unit ``u``'s lane in the sweep's current cycle."""
            return Array(values[u * share:(u + 1) * share])[slot] if share > 1 else values[u]

        # ``lr_q = 2**L`` (§1) and the rounding divides by ``2**S`` (S by block, plus one when
        # ``halve``), so ``round(σ·D·2**L, S)`` is ``round(σ·D, S − L)`` with the top ``S − L``
        # bits of the same draw (the offset's low L bits never carry into the quotient): one
        # shift ``S − L`` a block, one rounding adder a unit.  The shift is a register
        # (timing): the block and ``halve`` hold for a block's whole pass, and a block's first
        # word reaches the rounding cycles after the block starts.
        def net_shift(blk, h: int) -> int:
            return base_shift(p, blk.layer, blk.kind == "b") + h - (spec.lr_q[blk.layer - 1].bit_length() - 1)

        live = [blk for blk in plan if blk.kind != "diff" and spec.lr_q[blk.layer - 1]]
        shifts = sorted({net_shift(blk, h) for blk in live for h in (0, 1)}) or [0]
        shift, frozen = Signal(range(min(shifts), max(shifts) + 1)), Signal()   # lr_q = 0: a frozen layer
        draws = Signal()       # the block's lanes take a draw a word
        with m.Switch(block):
            for k, blk in enumerate(plan):
                if blk.kind == "diff":
                    continue
                with m.Case(k):
                    base = base_shift(p, blk.layer, blk.kind == "b")
                    if blk in live:
                        m.d.sync += [shift.eq(net_shift(blk, 0) + self.halve), frozen.eq(0)]
                    else:
                        m.d.sync += frozen.eq(1)
                    if stochastic:   # a draw whenever bits are rounded off
                        m.d.comb += draws.eq(1 if base > 0 else self.halve)
        top = max(1, max(shifts))
        valid_a, slot_a, addr_a = Signal(), Signal.like(slot, reset_less=True), Signal.like(addr3)
        v_a = [Signal(signed(d_bits + 1), name=f"v_u{u}", reset_less=True) for u in range(units)]
        w_a = [Signal.like(w1b[0], name=f"wa_u{u}") for u in range(units)]
        draw_a = [Signal(top, name=f"draw_u{u}", reset_less=True) for u in range(units)]
        m.d.sync += [valid_a.eq(active), slot_a.eq(slot), addr_a.eq(addr3)]
        for u, stream in enumerate(streams):
            d = lane(d3, u)
            m.d.comb += stream.advance.eq(active & draws)
            m.d.sync += [v_a[u].eq(Mux(self.negate, -d, d)), w_a[u].eq(lane(w3, u)),
                         draw_a[u].eq(stream.draw[PRNG_BITS - top:])]
        rounding = m.submodules.rounding = StochasticRound(units, v_a[0].shape(), signed(p.grad_bits), shifts, stochastic)
        m.d.comb += [rounding.shift.eq(shift), rounding.zero.eq(frozen)]
        m.d.comb += [rounding.v[u].eq(v_a[u]) for u in range(units)]
        m.d.comb += [rounding.draw[u][PRNG_BITS - top:].eq(draw_a[u]) for u in range(units)]
        valid_b, slot_b, addr_b = Signal(), Signal.like(slot_a), Signal.like(addr3)
        w_b = [Signal.like(w_a[u], name=f"wb_u{u}") for u in range(units)]
        m.d.sync += [valid_b.eq(valid_a), slot_b.eq(slot_a), addr_b.eq(addr_a)] + [w_b[u].eq(w_a[u]) for u in range(units)]
        write_back = m.submodules.write_back = WriteBack(p, units)
        m.d.comb += [write_back.w[u].eq(w_b[u]) for u in range(units)]
        m.d.comb += [write_back.dw[u].eq(rounding.q[u]) for u in range(units)]
        valid_c, slot_c, addr_c = Signal(), Signal.like(slot_a), Signal.like(addr3)
        m.d.sync += [valid_c.eq(valid_b), slot_c.eq(slot_b), addr_c.eq(addr_b)]
        # the new values of the sweep's earlier lanes wait for its last
        held = {l: Signal.like(w1b[0], name=f"new_l{l}") for l in range(P) if l % share != share - 1}
        for l, value in held.items():
            with m.If(valid_c & (slot_c == l % share)):
                m.d.sync += value.eq(write_back.q[l // share])
        word = [write_back.q[l // share] if l % share == share - 1 else held[l] for l in range(P)]

        # -- stage 8 + share: write ---------------------------------------------------------------
        for k, blk in enumerate(plan):
            if blk.kind == "diff":
                continue
            wr = port(blk.kind, blk.layer, write=True)
            m.d.comb += [wr.addr.eq(addr_c), *[wr.data[l].eq(word[l]) for l in range(P)]]
            with m.If(valid_c & (slot_c == share - 1) & (block == k)):
                m.d.comb += wr.en.eq((1 << P) - 1)
            with m.If(block == k):
                m.d.comb += self.written.eq(2 * (blk.layer - 1) + (blk.kind == "b"))

        # -- control ------------------------------------------------------------------------------
        in_flight = Cat(tokm.valid, tok1.valid, tokr.valid, tok1b.valid, tok2.valid, active, valid_a, valid_b, valid_c).any()

        first = Array(Const(first_word(blk)) for blk in plan)
        m.d.comb += [scan.advance.eq(issuing & last_b), scan.last_group.eq(last_g), scan.base.eq(first[block])]
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [scan.restart.eq(1), scan.base.eq(first_word(plan[0]))]
                m.d.sync += b.eq(0)
                with m.If(self.start):
                    m.d.sync += block.eq(0)
                    m.next = "ISSUE"
            with m.State("ISSUE"):
                m.d.comb += [issuing.eq(1), self.busy.eq(1)]
                m.d.sync += b.eq(Mux(last_b, 0, b + 1))
                with m.If(last_b & last_g & last_row):
                    m.next = "DRAIN"
            with m.State("DRAIN"):
                m.d.comb += [self.busy.eq(1), scan.restart.eq(1),
                             scan.base.eq(first[Mux(block == len(plan) - 1, 0, block + 1)])]
                with m.If(~in_flight):
                    with m.If(block == len(plan) - 1):
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += block.eq(block + 1)
                        m.next = "ISSUE"
        return m
