"""The neuron-update pipeline: input drive and synchronous neuron steps, twin of
:mod:`epfpga.golden.fixed.neuron_update` (``docs/fixed-point.md`` §3–5).

One *pass* streams a weight matrix ``W_m`` row by row, ``P`` columns a cycle, and each weight
read serves two multiplies: ``W_m[i,j]·q_(m−1)[j]`` into the forward sum of row ``i`` (an
adder tree, then a row accumulator) and ``W_m[i,j]·q_m[i]`` into the feedback sum of unit
``j`` of layer ``m−1`` (a read-modify-write of that layer's accumulator memory, ``P`` lanes a
cycle, read transparently so that back-to-back rows need no stall).

- ``drive``: one pass over ``W_1`` gives ``D_1`` (input_drive) of both samples of the pair
  (``sample``, ``sample + 1``): each weight read serves the even sample's input on the
  forward multiplier and the odd one's on the feedback multiplier, which the drive has no
  other use for.  The row ends go into layer 1's accumulator memory, in words of their own
  (:func:`~.memories.acc_address`), the odd sample's the cycle after the even one's.
- ``step``: passes over ``W_2 … W_N``.  A layer's accumulator starts from its forward sum plus
  bias (layer 1: ``D_1``, which the first row reads in place of the sums); the last row of
  ``W_(m+1)`` completes the feedback sums of layer
  ``m``, which go straight through the activation into the next-state slot, as do the rows
  of ``W_N`` for the output layer (with the nudge).  Reads come from slot ``src`` and writes
  go to slot ``dst``, so the step is synchronous (double buffering).  A step runs both
  samples of the pair: each pass issues the even sample's rows, then at once the odd one's
  (their own slots and accumulators), and drains once, so one drain serves two samples.

Stages (cycles after a word issues, ``hdl/neuron_timing.py``), each a component of its own:

- 0 :class:`~.neuron_issue.NeuronIssue` issues the word; the row's postsynaptic state goes
  out at once (the memories register the address), is picked from its lane and carried to
  every lane (:mod:`.distribution`: :func:`~.distribution.operand_lead` cycles); the lanes' own reads
  go out ``lead`` cycles later, and both come to the lanes' multipliers at
  :func:`~.neuron_timing.operands`; the products at :func:`~.neuron_timing.products`;
- feedback: :class:`~.feedback_sum.FeedbackSum`, the read-modify-write of the accumulator word
  at :func:`~.neuron_timing.row_end_stage`, its states :func:`~.neuron_timing.state_latency` cycles later;
- forward: :class:`~.row_sum.RowSum`, its adder tree registered ``T`` times
  (:func:`~.neuron_timing.tree_registers`), then :class:`~.row_end.RowEnd` (bias, scale,
  nudge) ``T`` cycles after the read-modify-write, and for the output layer :class:`~.output_state.OutputState`.

A pass takes ``halves · rows · G_m`` issue cycles plus a fixed drain (``drain_*``), which the
steps of a relaxation skip where they chain (:func:`~.neuron_timing.chains`); the schedule
model (``hdl/schedule.py``) counts them.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import CoreParams

from . import block_ram
from . import memories as mem
from .delay import delay_line
from .distribution import Broadcast, Gather, operand_lead
from .feedback_sum import FeedbackSum
from .multiplier import PER_LANE, request_signature
from .neuron_issue import NeuronIssue, token_row
from .neuron_timing import (direct_accumulators, fresh_accumulator_reads, operands, products, row_end_stage,
                            step_done_stage, tree_registers)
from .output_state import OutputState
from .row_end import RowEnd
from .row_sum import RowSum


def _layer_case(m: Module, n: int, last: int):
    """A lane's case of layer ``n``, the last layer's the default: a lane's layer is one of the
    cases whenever its operands are used, and a default of zeros was an AND gate on every
    operand bit (200 LUT4 in ``digits`` at P = 4 on the ECP5)."""
    return m.Default() if n == last else m.Case(n)


class NeuronUpdate(wiring.Component):
    """Drive and neuron-step engine.

    Parameters
    ----------
    params : CoreParams

    Attributes
    ----------
    start : In(1)
        Pulse: run one drive pass (``drive`` = 1) or one step (passes over ``W_2 … W_N``).
    more : In(1)
        Another step follows this one (held while ``busy``).  Where the steps chain
        (:func:`~.neuron_timing.chains`), the next one's first row issues the cycle after this one's last, and
        ``next_step`` pulses in that last cycle; elsewhere the engine drains and waits for
        ``start``.
    next_step : Out(1)
        The engine took the next step; the sources and destinations are then the next step's.
    step_done : Out(1)
        Pulse in the cycle of each step's last state write (:func:`~.neuron_timing.step_done_stage` after its
        last issue).
    drive, src, bank, sample, nudge, label, label_odd : In
        Operation, source slot (:class:`~.memories.SlotCode`), input bank, the pair's even
        sample, β of the step (:class:`~epfpga.contract.isa.Nudge`: free, plus or minus) and
        the two samples' labels.  Held while ``busy``.
    src_slots, dst_slots : In(ArrayLayout(range(state_slots), 2))
        The slot numbers the step reads and writes, for each sample of the pair
        (:func:`~.memories.slot_index`, registers in the sequencer: the state addresses start
        at a register).  Held while ``busy``.
    busy : Out(1)
        High from the cycle after ``start`` until the last write has landed.
    out_valid, out_half, out_unit, out_q : Out
        Each output-layer state as it is written, and the sample of the pair it is of (feeds
        the predictions).
    x, x2 : memory read requests of the inputs, data registered by the memory
        (:class:`~.block_ram.BlockRAM`, 3 cycles) (``x2``: the inputs' second port, the odd
        sample of the drive's pair).
    weights, biases : arrays of read requests, one per memory in
        :func:`~.memories.weight_memories`' (:func:`~.memories.bias_memories`') order
        (:func:`~.memories.weight_index`, :func:`~.memories.bias_index`).
    states, state_writes : arrays of requests, one per layer (``[n − 1]``: layer ``n``); all of
        a kind have one signature (:class:`~.memories.PortKind`).
    mul : Out(request_signature(2P, …))
        The lanes' multipliers (:mod:`.multiplier`): operands at :func:`~.neuron_timing.operands`,
        products at :func:`~.neuron_timing.products`.
    """

    def __init__(self, params: CoreParams):
        p = self.params = params
        members = {
            "start": In(1), "drive": In(1), "busy": Out(1),
            "more": In(1), "next_step": Out(1), "step_done": Out(1),
            "src": In(3), "bank": In(1), "sample": In(range(max(2, p.batch))),
            "src_slots": In(data.ArrayLayout(range(p.state_slots), 2)),
            "dst_slots": In(data.ArrayLayout(range(p.state_slots), 2)),
            "nudge": In(2), "label": In(unsigned(p.label_bits)), "label_odd": In(unsigned(p.label_bits)),
            "out_valid": Out(1), "out_half": Out(1), "out_unit": Out(unsigned(p.label_bits)),
            "out_q": Out(unsigned(p.state_bits)),
            "x": In(mem.inputs(p).read_signature()), "x2": In(mem.inputs(p).read_signature()),
            "mul": Out(request_signature(PER_LANE * p.lanes, *p.multiplier_shapes)),
        }
        weights, biases, states = mem.weight_ports(p), mem.bias_ports(p), mem.state_ports(p)
        members |= {"weights": In(weights.read()).array(len(weights.specs)), "biases": In(biases.read()).array(len(biases.specs)),
                    "states": In(states.read()).array(p.layers), "state_writes": In(states.write()).array(p.layers)}
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.params
        N, P = p.layers, p.lanes
        tree, at_products, at_row_end = tree_registers(p), products(p), row_end_stage(p)
        issue = m.submodules.issue = NeuronIssue(p)
        m.d.comb += [issue.start.eq(self.start), issue.drive.eq(self.drive), issue.more.eq(self.more),
                     issue.zero.eq(self.src == mem.SlotCode.ZERO), self.busy.eq(issue.busy),
                     self.next_step.eq(issue.next_step)]
        layer = issue.layer
        # each lane's copy of the pass's layer, for the selects in the lanes (a pass drains
        # before the next starts, and its first operands come cycles after its start)
        layers = m.submodules.layer_broadcast = Broadcast(P, layer.shape())
        m.d.comb += layers.value.eq(layer)
        # tokens[k]: the word issued k cycles before; the forward path's row sums come ``tree``
        # cycles after the feedback path's read-modify-write (stage at_row_end)
        tokens = delay_line(m, issue.token, max(at_row_end, at_products + tree), "tok")
        acc_rd, acc_wr = self._accumulators(m, platform, layer, tokens)
        row_operands = self._reads(m, layer, list(layers.lanes), tokens, issue.addr)

        # -- the feedback path: the products on the even multipliers, into the accumulators of
        # the layer below the pass (layer 1's sums start from the drive: the first row reads it)
        fb = m.submodules.feedback = FeedbackSum(p, forwarding=any(p.weight_groups(n) == 1 for n in range(2, N + 1)),
                                                 direct=direct_accumulators(p))
        rmw, word = tokens[at_row_end], tokens[at_products]    # the word added in, the one after it
        writes = rmw.valid & ~rmw.last_row & (layer >= 2)
        m.d.comb += [*[fb.products[l].eq(self.mul.p[2 * l]) for l in range(P)],
                     fb.repeat.eq(writes & (rmw.g == word.g) & (rmw.h == word.h) & ~word.first_row)]
        m.d.comb += fb.acc.eq(acc_rd[1].data)     # (ungated: where it is the only one, no AND a bit)
        for n in range(1, N):
            # (the feedback's word and address unless the row end writes: its pass's layer's
            # enable picks, with no third choice of zeros)
            m.d.comb += [acc_wr[n].addr.eq(mem.acc_address(p, n, rmw.h, rmw.g)),
                         *[acc_wr[n].data[l].eq(fb.sums[l]) for l in range(P)]]
            with m.If(layer == n + 1):
                if n > 1:
                    m.d.comb += fb.acc.eq(acc_rd[n].data)
                with m.If(writes):
                    m.d.comb += acc_wr[n].en.eq((1 << P) - 1)
        fb_layout = data.StructLayout({"done": 1, "g": len(rmw.g), "h": 1})
        fb_done = Signal(fb_layout)
        m.d.comb += [fb_done.done.eq(rmw.valid & rmw.last_row & (layer >= 2)), fb_done.g.eq(rmw.g),
                     fb_done.h.eq(rmw.h)]
        fb_line = delay_line(m, fb_done, fb.q_latency - fb.LATENCY, "fb_done")

        # -- the forward path: the drive's sums of both samples; a step's is the odd one's
        end = RowEnd(p)
        rows = m.submodules.row_sum = RowSum(p, held=end.registered_sums)
        m.d.comb += [rows.valid.eq(word.valid), rows.first.eq(word.first_g),
                     *[rows.products[h][l].eq(self.mul.p[2 * l + h]) for h in range(2) for l in range(P)]]
        tokf = tokens[at_products + tree]
        m.submodules.row_end = end
        toke, ope = tokens[at_products + tree - end.early], row_operands[at_products - operands(p) + tree - end.early]
        m.d.comb += [end.sums.eq(rows.held if end.registered_sums else rows.sums), end.drive.eq(layer == 1),
                     end.bias.eq(ope.bias), end.q.eq(ope.post), end.unit.eq(token_row(p, toke)), end.half.eq(toke.h),
                     end.labels[0].eq(self.label), end.labels[1].eq(self.label_odd), end.nudge.eq(self.nudge),
                     end.output.eq(layer == N)]
        row = Signal.like(tokf, reset_less=True)     # the row at its end, beside RowEnd's result
        ended = Signal()
        m.d.sync += [row.eq(tokf), ended.eq(tokf.valid & tokf.last_g)]
        writing = self._row_ends(m, layer, end, row, ended, acc_wr)

        # -- the output layer: its states, and the unit each is of
        out = m.submodules.output_state = OutputState(p)
        m.d.comb += [out.u.eq(end.u), out.err.eq(end.err)]
        out_layout = data.StructLayout({"valid": 1, "i_word": len(row.i_word), "i_lane": len(row.i_lane), "h": 1})
        out_unit = Signal(out_layout)      # (its unit is its row: token_row)
        m.d.comb += [out_unit.valid.eq(ended & (layer == N)), out_unit.i_word.eq(row.i_word),
                     out_unit.i_lane.eq(row.i_lane), out_unit.h.eq(row.h)]
        out_line = delay_line(m, out_unit, out.latency, "out")
        m.d.comb += [self.out_valid.eq(out_line[-1].valid), self.out_half.eq(out_line[-1].h),
                     self.out_unit.eq(token_row(p, out_line[-1])), self.out_q.eq(out.q)]
        self._state_writes(m, layer, issue.token, fb_line[-1], fb.q, out_line[-1], out.q)

        # -- control: the pass drains until its last write has landed
        m.d.comb += issue.in_flight.eq(Cat(*(t.valid for t in tokens[1:])).any() | ended | writing
                                       | Cat(*(f.done for f in fb_line[1:])).any()
                                       | Cat(*(o.valid for o in out_line[1:])).any())
        ends = delay_line(m, issue.step_end, step_done_stage(p), "step_end")
        m.d.comb += self.step_done.eq(ends[-1])
        return m

    def _accumulators(self, m, platform, layer, tokens):
        """One per layer below the output and sample of the pair (layer 1's with the input
        drive), private to this engine; read the cycle before the products come, with no
        bypass where the reads are fresh (:func:`~.neuron_timing.fresh_accumulator_reads`), else
        transparent to the write.  Where the board has the timing registers, the address is
        formed a cycle earlier and registered, so that the layer's select does not precede the
        memory's address (and the compare of a transparent read)."""
        p = self.params
        early = int(p.timing_registers)
        ask = tokens[products(p) - early - 1]
        acc_rd, acc_wr = {}, {}
        for n in range(1, p.layers):
            acc = m.submodules[f"acc{n}"] = mem.accumulators(p, n).build(platform)
            acc_wr[n] = acc.write_port(granularity=1)
            if fresh_accumulator_reads(p):    # (no read meets a write of its word: none to bypass)
                acc_rd[n] = block_ram.block_read(m, acc, platform, f"acc{n}")
            else:
                acc_rd[n] = acc.read_port(transparent_for=(acc_wr[n],))
            addr = Signal.like(acc_rd[n].addr, name=f"acc{n}_ask")
            with m.If(layer == n + 1):
                m.d.comb += addr.eq(mem.acc_address(p, n, ask.h, ask.g, ask.first_row if n == 1 else 0))
            m.d.comb += acc_rd[n].addr.eq(delay_line(m, addr, early, f"acc{n}_addr")[-1])
        return acc_rd, acc_wr

    def _reads(self, m, layer, lane_layers, tokens, addr):
        """The issued word's reads and, when they come (:func:`~.neuron_timing.operands`), the
        multipliers' operands: the drive, the even sample's forward product on multiplier 2l
        and the odd one's on 2l + 1; a step, the feedback product on 2l and the forward one on
        2l + 1, so that each unsigned operand picks between the same memories' words in both
        engines (the weight update's presynaptic states are on 2l + 1 too).  The row's
        postsynaptic state, the feedback products' shared operand, is read at issue and
        distributed (:meth:`_post`); the lanes' own operands :func:`~.distribution.operand_lead` cycles
        later, of the token as it was issued (its slot: the sources change when the steps
        chain).  Returns the row's operands for the row end (its bias and, for the nudge, the
        output unit's state), item ``k`` at stage ``operands + k``: from the bias's pick on
        (its :class:`~.distribution.Gather`'s latency; the items before are ``None``)."""
        p, P = self.params, self.params.lanes
        tok, got = tokens[0], tokens[operands(p)]
        weights = {n: self.weights[mem.weight_index(p, n)] for n in range(1, p.layers + 1)}
        biases = {n: self.biases[mem.bias_index(p, n)] for n in weights}
        states = {n: self.states[n - 1] for n in weights}
        src_slot = Mux(tok.h, self.src_slots[1], self.src_slots[0])
        asked = Signal(data.StructLayout({"addr": len(addr), "slot": range(p.state_slots), "g": len(tok.g),
                                          "i_word": len(tok.i_word)}))
        m.d.comb += [asked.addr.eq(addr), asked.slot.eq(src_slot), asked.g.eq(tok.g), asked.i_word.eq(tok.i_word)]
        late = delay_line(m, asked, operand_lead(p), "lane_reads")[-1]
        m.d.comb += [self.x.addr.eq(mem.input_address(p, self.bank, self.sample, late.g)),
                     self.x2.addr.eq(mem.input_address(p, self.bank, self.sample | 1, late.g))]
        for n in weights:
            base = mem.bias_memory(p, n).base(n)
            bias_word = late.i_word + base if base else late.i_word
            with m.If(layer == n):
                m.d.comb += [weights[n].addr.eq(late.addr), biases[n].addr.eq(bias_word),
                             states[n].addr.eq(mem.slot_address(p, n, src_slot, tok.i_word))]    # (postsynaptic)
            with m.If(layer == n + 1):     # presynaptic layer of the pass
                m.d.comb += states[n].addr.eq(mem.slot_address(p, n, late.slot, late.g))
        post = self._post(m, lane_layers, tokens, states)

        # the row's bias, its lane's picked (a Gather: its tree's cycles are the row end's to spare)
        bias = m.submodules.bias_gather = Gather(P, signed(p.weight_bits))
        m.d.comb += bias.select.eq(got.i_lane if P > 1 else 0)
        row = Signal(data.StructLayout({"post": unsigned(p.state_bits), "bias": signed(p.weight_bits)}))
        m.d.comb += [row.post.eq(delay_line(m, post[0], bias.LATENCY, "row_post")[-1]), row.bias.eq(bias.value)]
        # the token's zero source (its own: the step's source changes when the steps chain), to
        # each lane through a tree
        zeros = m.submodules.zero_broadcast = Broadcast(P, 1)
        m.d.comb += zeros.value.eq(tokens[operands(p) - zeros.LATENCY].zero)
        for l in range(P):
            with m.Switch(lane_layers[l]):
                for n in weights:
                    with _layer_case(m, n, p.layers):
                        m.d.comb += [bias.words[l].eq(biases[n].data[l]),
                                     *[self.mul.a[2 * l + h].eq(weights[n].data[l]) for h in range(2)]]
                        if n == 1:
                            m.d.comb += [self.mul.b[2 * l].eq(self.x.data[l]), self.mul.b[2 * l + 1].eq(self.x2.data[l])]
                        else:
                            m.d.comb += [self.mul.b[2 * l].eq(post[l]),
                                         self.mul.b[2 * l + 1].eq(Mux(zeros.lanes[l], 0, states[n - 1].data[l]))]
        return [None] * bias.LATENCY + delay_line(m, row, products(p) - operands(p) + tree_registers(p) - bias.LATENCY,
                                                  "row_operands", reset_less=True)

    def _post(self, m, lane_layers, tokens, states) -> list:
        """Each lane's copy of the row's postsynaptic state (0 from the zero slot) at stage
        :func:`~.neuron_timing.operands`: its lane's word picked
        (:class:`~.distribution.Gather`) and carried to every lane
        (:class:`~.distribution.Broadcast`)."""
        p, P = self.params, self.params.lanes
        tok = tokens[block_ram.LATENCY]
        gather = m.submodules.post_gather = Gather(P, unsigned(p.state_bits))
        broadcast = m.submodules.post_broadcast = Broadcast(P, unsigned(p.state_bits), registered=p.timing_registers)
        m.d.comb += [gather.select.eq(tok.i_lane if P > 1 else 0), gather.use_constant.eq(tok.zero),
                     broadcast.value.eq(gather.value)]
        for l in range(P):
            with m.Switch(lane_layers[l]):
                for n in range(2, p.layers + 1):
                    with _layer_case(m, n, p.layers):
                        m.d.comb += gather.words[l].eq(states[n].data[l])
        return list(broadcast.lanes)

    def _row_ends(self, m, layer, end, row, ended, acc_wr):
        """The row ends into the accumulators: the drive's even sample's at the row end, the
        odd one's the cycle after (a row takes two cycles or more,
        :func:`~.neuron_timing.drive_gaps`), a hidden layer's each in its sample's word.  The
        value goes to every lane's write port through a :class:`~.distribution.Broadcast`, its
        address and lane beside it (:func:`~.neuron_timing.row_end_writes` cycles).  Returns
        the writes still to come."""
        p, P = self.params, self.params.lanes
        odd = Signal(data.StructLayout({"end": 1, "u": signed(p.acc_bits), "word": len(row.i_word),
                                        "lane": len(row.i_lane)}))
        m.d.sync += [odd.end.eq(ended & (layer == 1) & (p.halves > 1)), odd.u.eq(end.u_odd),
                     odd.word.eq(row.i_word), odd.lane.eq(row.i_lane)]
        depth = max(mem.accumulators(p, n).depth for n in range(1, p.layers))
        write = Signal(data.StructLayout({"valid": 1, "addr": range(depth), "lane": len(row.i_lane)}))
        tree = m.submodules.row_end_broadcast = Broadcast(P, signed(p.acc_bits), registered=p.timing_registers)
        m.d.comb += [write.lane.eq(row.i_lane), tree.value.eq(end.u)]
        with m.If(layer == 1):
            with m.If(odd.end):
                m.d.comb += [write.valid.eq(1), write.addr.eq(mem.acc_address(p, 1, 1, odd.word, drive=1)),
                             write.lane.eq(odd.lane), tree.value.eq(odd.u)]
            with m.Else():
                m.d.comb += [write.valid.eq(ended), write.addr.eq(mem.acc_address(p, 1, 0, row.i_word, drive=1))]
        for n in range(2, p.layers):
            with m.If(layer == n):
                m.d.comb += [write.valid.eq(ended), write.addr.eq(mem.acc_address(p, n, row.h, row.i_word))]
        line = delay_line(m, write, tree.LATENCY, "row_end_write")
        late = line[-1]
        for n in range(1, p.layers):
            with m.If(layer == n):
                m.d.comb += [acc_wr[n].addr.eq(late.addr), *[acc_wr[n].data[l].eq(tree.lanes[l]) for l in range(P)]]
                with m.If(late.valid):
                    m.d.comb += acc_wr[n].en.eq((1 << late.lane) if P > 1 else 1)
        return odd.end | Cat(*(w.valid for w in line[1:])).any()

    def _state_writes(self, m, layer, issued, fb, fb_q, out, out_q):
        """The feedback and output states, into the slots each sample's pass took at its first
        issue (the sequencer's are the next step's once the steps chain)."""
        p, P, N = self.params, self.params.lanes, self.params.layers
        dst = Signal(data.ArrayLayout(range(p.state_slots), 2))
        with m.If(issued.valid & issued.first_row & (issued.g == 0)):
            m.d.sync += dst[issued.h].eq(self.dst_slots[issued.h])
        for n in range(1, N + 1):
            port = self.state_writes[n - 1]
            if n == N:
                m.d.comb += [port.addr.eq(mem.slot_address(p, n, Mux(out.h, dst[1], dst[0]), out.i_word)),
                             *[port.data[l].eq(out_q) for l in range(P)]]
                with m.If(out.valid):
                    m.d.comb += port.en.eq((1 << out.i_lane) if P > 1 else 1)
            else:
                # (a lane past the layer's last unit, in its last word only, writes 0: where the
                # units fill their words, no lane is, and no AND gate a bit)
                partial = p.sizes[n] % P
                m.d.comb += [port.addr.eq(mem.slot_address(p, n, Mux(fb.h, dst[1], dst[0]), fb.g)),
                             *[port.data[l].eq(fb_q[l] if not partial or l < partial else
                                               Mux(fb.g * P + l < p.sizes[n], fb_q[l], 0)) for l in range(P)]]
                with m.If(fb.done & (layer == n + 1)):
                    m.d.comb += port.en.eq((1 << P) - 1)
