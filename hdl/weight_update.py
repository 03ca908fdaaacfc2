"""The weight-update pipeline, twin of :mod:`epfpga.golden.fixed.weight_update` (§6–7).

Blocks ``W_1, b_1, W_2, b_2, …`` are streamed ``P`` columns a cycle, each word once per
mini-batch.  For every word the pipeline forms the exact batch sum of product differences
from the saved last-step states of the ``B`` samples, so no memory grows with the number of
weights: ``B`` cycles of two multiplies a lane, ``q_b,post·q_b,pre − q_a,post·q_a,pre``, for
``W_n`` (``n ≥ 2``); for ``W_1``, whose presynaptic input is the same in both phases, one
multiply per sample, ``(q_b,1 − q_a,1)·x``, and a pair's two samples a cycle (``B/2`` cycles a
word; ``B`` without pairs);
biases need no multiply.  The differences ``q_b,1 − q_a,1`` of all samples are formed first,
in a pass of their own (the ``diff`` block, ``B · ceil(n_1/P)`` cycles), into a small memory
whose words each hold a pair's samples, read two samples a cycle through one port.  Then
``v = σ_u·D·lr_q``, one rounding (nearest, or stochastic with the
lane's xorshift32 draw), saturating write-back: a word comes out of the batch sum at most
once every ``B/2`` cycles (``B`` without pairs), so these run on ``P / share`` units (``CoreParams.update_share``),
each serving ``share`` lanes one a cycle, and the lanes' streams live in the units.

Pipeline (cycles after a token is issued; ``L`` = :func:`~.distribution.operand_lead`): 0 the operand
every lane shares is read (a postsynaptic state, a difference), picked from its lane and
carried to every lane through registered trees (:mod:`.distribution`), ``L`` cycles;
``L`` the lanes' own operands and the word are read; ``L + 2`` both at the multipliers
(:func:`~.update_plan.operands`; ``diff`` and biases: the states, times one),
``L + 3`` operands registered and ``L + 4`` products; ``L + 5`` batch sum
(:class:`~.batch_sum.BatchSum`; ``diff``: written); then the sweep
(:class:`~.update_sweep.UpdateSweep`), lane ``c`` of each unit's share: ``L + 6 + c`` picked,
``× σ_u`` (a negation) and its draw; ``L + 7 + c`` ``× lr_q`` and rounding, one shift;
``L + 8 + c`` saturating add; the word written in ``L + 8 + share`` (:func:`write_stage`).
Without the timing registers (the iCEBreaker) the batch sum goes on from its accumulator a
cycle later (:func:`~.update_plan.held_sums`: every stage from the diff write on one more).
Where the schedule allows (:func:`~.update_plan.held_words`) the word goes to the sweep from
its held read.
A block takes ``rows · G · samples`` issue cycles plus its drain (:func:`drain_diff`,
:func:`drain`).
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import CoreParams
from epfpga.golden.prng import PRNG_BITS

from . import block_ram
from . import memories as mem
from .batch_sum import BatchSum
from .block_ram import BlockRAM
from .delay import delay_line
from .multiplier import PER_LANE, request_signature, update_shapes
from .update_issue import UpdateIssue, words
from .distribution import Broadcast, Gather, operand_lead
from .update_plan import (base_shift, blocks, diff_memory, diff_write_stage, held_sums, held_words, operands,
                          sum_stage, word_read_sample)
from .update_sweep import UpdateSweep, host_read_port, sum_shape


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
    prng_read_addr : In(range(P))
        Where the sweep has :func:`~.update_sweep.host_read_port`: ``prng_state`` is lane
        ``prng_read_addr``'s.
    prng_load, prng_value : In(1), In(32)
        Set that state to ``prng_value`` (only while idle).
    x, x2 : read requests of the inputs, data registered by the memory
        (:class:`~.block_ram.BlockRAM`, 3 cycles) (``x2``: their second port).
    weights, weight_writes : arrays of read and write requests, one per weight memory in
        :func:`~.memories.weight_memories`' order (:func:`~.memories.weight_index`).
    biases, bias_writes : arrays of read and write requests, one per bias memory in
        :func:`~.memories.bias_memories`' order (:func:`~.memories.bias_index`).
    states_a, states_b : arrays of requests, one per layer (``[n − 1]``: layer ``n``; the
        states' ports A and B).
    written : Out(range(2N))
        The memory the block writes: ``2(n−1)`` for ``W_n``, ``2(n−1) + 1`` for ``b_n``.
    mul : Out(request_signature(2P, …))
        The lanes' multipliers (:mod:`.multiplier`): operands at :func:`~.update_plan.operands`,
        products :func:`~.multiplier.update_latency` cycles later.
    """

    def __init__(self, params: CoreParams):
        p = self.params = params
        members = {"start": In(1), "negate": In(1), "halve": In(1), "bank": In(1), "busy": Out(1),
                   "prng_addr": In(range(p.lanes)), "prng_state": Out(PRNG_BITS), "prng_load": In(1),
                   "prng_value": In(PRNG_BITS), **({"prng_read_addr": In(range(p.lanes))} if host_read_port(p) else {}),
                   "x": In(mem.inputs(p).read_signature()), "x2": In(mem.inputs(p).read_signature()),
                   "mul": Out(request_signature(PER_LANE * p.lanes, *update_shapes(p))),
                   "written": Out(range(2 * p.layers))}
        weights, biases, states = mem.weight_ports(p), mem.bias_ports(p), mem.state_ports(p)
        count, N = len(weights.specs), p.layers
        members |= {"weights": In(weights.read()).array(count), "weight_writes": In(weights.write()).array(count),
                    "biases": In(biases.read()).array(len(biases.specs)),
                    "bias_writes": In(biases.write()).array(len(biases.specs)),
                    "states_a": In(states.read()).array(N), "states_b": In(states.read()).array(N)}
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        p, P = self.params, self.params.lanes
        plan = blocks(p)
        diffs = m.submodules.diff = BlockRAM(diff_memory(p))
        diff_wr, (diff_rd,) = diffs.write, diffs.read
        issue = m.submodules.issue = UpdateIssue(p)
        m.d.comb += [issue.start.eq(self.start), self.busy.eq(issue.busy)]
        block = issue.block
        tokens = delay_line(m, issue.token, diff_write_stage(p), "tok")
        self._shared_reads(m, issue, diff_rd)
        lead = operand_lead(p)
        self._lane_reads(m, block, tokens[lead].valid, delay_line(m, issue.position, lead, "at")[-1],
                         delay_line(m, issue.b, lead, "b")[-1])
        # the block, one-hot in a register: it holds for a block's pass and drain, and its
        # decode stays off the paths that fan out to the lanes (the shared operands, the write
        # enables: the digits and P = 32 builds' critical paths)
        picked = Signal(len(plan))
        m.d.sync += picked.eq(Const(1) << block)
        a1, a2 = self._shared_operands(m, picked, tokens, diff_rd)
        # each lane's copy of the block, for the selects in the lanes (a block drains before the
        # next starts, and its first operands come cycles after its start)
        lane_blocks = m.submodules.block_broadcast = Broadcast(P, block.shape())
        m.d.comb += lane_blocks.value.eq(block)
        m1, m2, weights, diff_block = self._operands(m, block, list(lane_blocks.lanes), a1, a2)

        # -- batch sum D; the diff block's (a one-sample sum, q_b,1 − q_a,1) written at once ------
        # (as it forms, or held a cycle: update_plan.held_sums)
        held = held_sums(p)
        formed, word = tokens[sum_stage(p)], tokens[diff_write_stage(p)]
        batch_sum = m.submodules.batch_sum = BatchSum(P, m1[0].shape(), sum_shape(p), held=held)
        m.d.comb += [batch_sum.first.eq(formed.first_b), batch_sum.valid.eq(formed.valid)]
        m.d.comb += [batch_sum.m1[l].eq(m1[l]) for l in range(P)] + [batch_sum.m2[l].eq(m2[l]) for l in range(P)]
        sums = batch_sum.held if held else batch_sum.d
        m.d.comb += [diff_wr.addr.eq(word.addr), *[diff_wr.data[l].eq(sums[l % P]) for l in range(p.halves * P)]]
        with m.If(word.valid & diff_block):
            m.d.comb += diff_wr.en.eq(((1 << P) - 1) << (P * word.odd))

        # -- the sweep: scale, round and add, lane by lane; the word written -----------------------
        sweep = self._sweep(m, block, plan)
        m.d.comb += [sweep.valid.eq(word.valid & word.last_b & ~diff_block), sweep.addr.eq(word.addr),
                     sweep.sums.eq(sums), *[sweep.weights[l].eq(weights[l]) for l in range(P)]]
        for k, blk in enumerate(plan):
            if blk.kind == "diff":
                continue
            wr = self._port(blk.kind, blk.layer, write=True)
            m.d.comb += [wr.addr.eq(sweep.write.addr), *[wr.data[l].eq(sweep.write.data[l]) for l in range(P)]]
            with m.If(block == k):
                m.d.comb += self.written.eq(2 * (blk.layer - 1) + (blk.kind == "b"))
            with m.If(sweep.write.en & picked[k]):
                m.d.comb += wr.en.eq((1 << P) - 1)
        m.d.comb += issue.in_flight.eq(Cat(*(t.valid for t in tokens[1:]), sweep.busy).any())
        return m

    def _port(self, kind: str, n: int, write: bool = False):
        """The read (or write) request of block ``kind`` of layer ``n``'s memory."""
        if kind == "W":
            k = mem.weight_index(self.params, n)
            return self.weight_writes[k] if write else self.weights[k]
        k = mem.bias_index(self.params, n)
        return self.bias_writes[k] if write else self.biases[k]

    def _shared_reads(self, m, issue, diff_rd):
        """Stage 0: the reads of the operand every lane shares, of sample ``b``: ``W_1``'s
        differences, ``W_n``'s postsynaptic states (row ``i``'s word)."""
        p = self.params
        block, b, at = issue.block, issue.b, issue.position
        for k, blk in enumerate(blocks(p)):
            if blk.kind != "W":
                continue
            with m.If(block == k):
                if blk.layer == 1:
                    m.d.comb += diff_rd.addr.eq(mem.slot_address(p, 1, b, at.i_word))
                else:
                    self._state_reads(m, blk.layer, b, at.i_word)

    def _lane_reads(self, m, block, issuing, at, b):
        """Stage :func:`~.distribution.operand_lead`: the reads of the lanes' own operands and of the word
        being updated, of the token issued then (``at``, ``b``: its position and sample)."""
        p = self.params
        i, g = at.i, at.g
        held = held_words(p)
        for k, blk in enumerate(blocks(p)):
            n = blk.layer
            with m.If(block == k):
                if blk.kind == "diff":       # row i is the sample
                    sa, sb = self.states_a[0], self.states_b[0]
                    m.d.comb += [sa.addr.eq(mem.slot_address(p, 1, mem.slot_index(p, mem.SlotCode.A, i), g)),
                                 sb.addr.eq(mem.slot_address(p, 1, mem.slot_index(p, mem.SlotCode.B, i), g))]
                    continue
                m.d.comb += self._port(blk.kind, n).addr.eq(at.addr)
                read_at = word_read_sample(p, blk) if blk.kind == "W" else (blk.samples - 1 if held else None)
                if read_at is not None:     # (en low holds the word for the pass's other samples)
                    m.d.comb += self._port(blk.kind, n).en.eq(issuing & (b == read_at))
                if blk.kind == "W" and n == 1:   # a pair's samples a cycle (or the one sample)
                    first = b << (p.halves - 1)
                    m.d.comb += [self.x.addr.eq(mem.input_address(p, self.bank, first, g)),
                                 self.x2.addr.eq(mem.input_address(p, self.bank, first | 1, g))]
                else:
                    self._state_reads(m, n - (blk.kind == "W"), b, g)

    def _state_reads(self, m, n, b, word):
        """The reads of layer ``n``'s saved states of sample ``b`` in both slots, word ``word``."""
        p = self.params
        for ports, code in ((self.states_a, mem.SlotCode.A), (self.states_b, mem.SlotCode.B)):
            m.d.comb += ports[n - 1].addr.eq(mem.slot_address(p, n, mem.slot_index(p, code, b), word))

    def _shared_operands(self, m, picked, tokens, diff_rd) -> tuple[list, list]:
        """Each lane's copy of the signed operands ``a1``, ``a2`` at stage
        :func:`~.update_plan.operands`: from the shared reads, the row's lane picked
        (:class:`~.distribution.Gather`) and carried to every lane
        (:class:`~.distribution.Broadcast`); the diff and bias blocks' constants enter at the
        gather's root.  (The odd sample's difference is stored negated, so that no negation sits
        between memory and multiplier: ``m1 − m2 = (q_b − q_a)·x`` of both samples.)"""
        p, P = self.params, self.params.lanes
        plan = blocks(p)
        shape = self.mul.a[0].shape()
        tok = tokens[block_ram.LATENCY]
        out = []
        for h, (states, diff_lane) in enumerate(((self.states_b, 0), (self.states_a, P))):
            gather = m.submodules[f"gather{h + 1}"] = Gather(P, shape)
            broadcast = m.submodules[f"broadcast{h + 1}"] = Broadcast(P, shape, registered=p.timing_registers)
            m.d.comb += [gather.select.eq(tok.i_lane if P > 1 else 0), broadcast.value.eq(gather.value)]
            words, constant, constant_blocks = None, Const(0, shape), []
            for k, blk in enumerate(plan):
                if blk.kind == "W" and (blk.layer > 1 or h == 0 or p.halves > 1):
                    mine = ([states[blk.layer - 1].data[l] for l in range(P)] if blk.layer > 1
                            else [diff_rd.data[diff_lane + l] for l in range(P)])
                    words = mine if words is None else [Mux(picked[k], w, o) for w, o in zip(mine, words)]
                else:       # (W_1's second sample without pairs: none)
                    value = Mux(tok.odd, -1, 1) if blk.kind == "diff" else int(blk.kind == "b")
                    constant = Mux(picked[k], value, constant)
                    constant_blocks.append(picked[k])
            m.d.comb += [gather.words[l].eq(words[l]) for l in range(P)]
            m.d.comb += [gather.use_constant.eq(Cat(*constant_blocks).any()), gather.constant.eq(constant)]
            out.append(list(broadcast.lanes))
        return out[0], out[1]

    def _operands(self, m, block, lane_blocks, a1, a2):
        """Operands and products in the lanes' multipliers: m1 = a1·b1 on multiplier 2l,
        m2 = a2·b2 on 2l + 1, the batch sum is m1 − m2.  The unsigned operands are each lane's
        presynaptic state or input, or its own state for the differences of the diff and bias
        blocks (times one): a lane picks only among the memories' words, which the neuron
        update's operands share (hdl/core.py).  Returns the products, and the word's weights and
        whether the block is the diff block as its batch sum goes to the diff memory or the
        sweep (:func:`~.update_plan.diff_write_stage`)."""
        p, P = self.params, self.params.lanes
        sa_q = {n: self.states_a[n - 1].data for n in range(1, p.layers + 1)}
        sb_q = {n: self.states_b[n - 1].data for n in range(1, p.layers + 1)}
        w1 = [Signal(signed(p.weight_bits), name=f"w_l{l}") for l in range(P)]
        diff_block = Signal()
        with m.Switch(block):
            for k, blk in enumerate(blocks(p)):
                with m.Case(k):
                    m.d.comb += diff_block.eq(blk.kind == "diff")
        for l in range(P):
            with m.Switch(lane_blocks[l]):
                for k, blk in enumerate(blocks(p)):
                    n = blk.layer
                    with m.Case(k):
                        if blk.kind != "diff":
                            m.d.comb += w1[l].eq(self._port(blk.kind, n).data[l])
                        if blk.kind == "W":
                            ops = (sb_q[n - 1], sa_q[n - 1]) if n > 1 else (self.x.data, self.x2.data)
                        else:
                            ops = (sb_q[n], sa_q[n])
                        m.d.comb += [self.mul.b[2 * l + h].eq(ops[h][l]) for h in range(2)]
        m.d.comb += [self.mul.a[2 * l].eq(a1[l]) for l in range(P)] + [self.mul.a[2 * l + 1].eq(a2[l]) for l in range(P)]
        prod_bits = 2 * p.state_bits + 3
        m1 = [Signal(signed(prod_bits), name=f"m1_l{l}") for l in range(P)]
        m2 = [Signal(signed(prod_bits), name=f"m2_l{l}") for l in range(P)]
        m.d.comb += [m1[l].eq(self.mul.p[2 * l]) for l in range(P)] + [m2[l].eq(self.mul.p[2 * l + 1]) for l in range(P)]
        # the word and the block's kind, to the diff write and the sweep (beside the batch sum)
        to_sweep = diff_write_stage(p) - operands(p)
        weights = w1 if held_words(p) else [delay_line(m, w1[l], to_sweep, f"w_l{l}_", reset_less=True)[-1]
                                            for l in range(P)]
        return m1, m2, weights, delay_line(m, diff_block, to_sweep, "diff_block")[-1]

    def _sweep(self, m, block, plan) -> UpdateSweep:
        """The sweep, with each block's rounding.  ``lr_q = 2**L`` and the rounding divides by
        ``2**S``: one net shift ``S − L`` a block (plus one with ``halve``), a register
        (timing): the block and ``halve`` hold for a block's whole pass, and a block's first
        word reaches the rounding cycles after the block starts."""
        p, spec = self.params, self.params.spec

        def net_shift(blk, h: int) -> int:
            return base_shift(p, blk.layer, blk.kind == "b") + h - (spec.lr_q[blk.layer - 1].bit_length() - 1)

        live = [blk for blk in plan if blk.kind != "diff" and spec.lr_q[blk.layer - 1]]
        shifts = sorted({net_shift(blk, h) for blk in live for h in (0, 1)}) or [0]
        sweep = m.submodules.sweep = UpdateSweep(p, words(p) + 1, shifts)
        m.d.comb += [sweep.negate.eq(self.negate), sweep.prng_addr.eq(self.prng_addr),
                     sweep.prng_load.eq(self.prng_load), sweep.prng_value.eq(self.prng_value),
                     self.prng_state.eq(sweep.prng_state)]
        if host_read_port(p):
            m.d.comb += sweep.prng_read_addr.eq(self.prng_read_addr)
        with m.Switch(block):
            for k, blk in enumerate(plan):
                if blk.kind == "diff":
                    continue
                with m.Case(k):
                    if blk in live:
                        m.d.sync += [sweep.shift.eq(net_shift(blk, 0) + self.halve), sweep.frozen.eq(0)]
                    else:       # lr_q = 0: a frozen layer
                        m.d.sync += sweep.frozen.eq(1)
                    if p.stochastic:   # a draw whenever bits are rounded off
                        base = base_shift(p, blk.layer, blk.kind == "b")
                        m.d.comb += sweep.draws.eq(1 if base > 0 else self.halve)
        return sweep
