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

Pipeline (cycles after a token is issued): 0 issue reads (the memories register the address);
1 the memories read; 2 read data registered; 3 operands registered and 4 products, in the
lanes' multipliers; 5 adder tree, feedback read data registered; 6 (:data:`ROW_END`) feedback
read-modify-write and row end (bias, shift, nudge); 6 + LATENCY both activations written.  A
pass takes ``halves · rows · G_m`` issue cycles plus a fixed drain (``drain_*``), which the
steps of a relaxation skip where they chain (:func:`chains`); the schedule model
(``hdl/schedule.py``) counts them.
"""

from __future__ import annotations

from amaranth import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import CoreParams

from . import block_ram
from . import memories as mem
from .activation import LATENCY, Activation, clamp, rshift_round
from .adder_tree import tree_latency, tree_sum
from .multiplier import PER_LANE, request_signature
from .nudge_error import NudgeError
from .row_scan import RowScan


def tree_registers(p: CoreParams) -> int:
    """Registers in the forward sum's adder tree (:func:`~.adder_tree.tree_latency` of ``P``
    products): the forward path's row end comes that many cycles after stage :data:`ROW_END`."""
    return tree_latency(p.lanes)


# The stage of the feedback read-modify-write and of the row end without tree registers:
# the memories' read latency, then operands, products and the adder tree.
ROW_END = block_ram.LATENCY + 3


# Cycles a pass spends draining after its last issue: until its last write has landed, plus
# the cycle that sees the pipeline empty.  With T tree registers, the drive's last write is
# at stage ROW_END + T; a hidden layer's pass writes its row ends at ROW_END + T and the
# states below it at ROW_END + LATENCY; the output layer's states land at ROW_END + T + LATENCY.
def drain_drive(p: CoreParams) -> int:
    return ROW_END + tree_registers(p) + (2 if p.halves == 2 else 1)   # (the odd sample's write a cycle later)


def drive_gaps(p: CoreParams) -> bool:
    """The drive pass waits a cycle after each row: its rows are one group and it runs a pair,
    whose odd sample's row end is written the cycle after the even one's."""
    return p.halves == 2 and p.weight_groups(1) == 1


def drive_issue_cycles(p: CoreParams) -> int:
    """Issue cycles of the drive pass: a row each ``G_1`` cycles, or every other cycle
    (:func:`drive_gaps`)."""
    rows = p.sizes[1]
    return 2 * rows - 1 if drive_gaps(p) else rows * p.weight_groups(1)


def drain_hidden(p: CoreParams) -> int:
    return ROW_END + max(tree_registers(p), LATENCY) + 1


def drain_output(p: CoreParams) -> int:
    return ROW_END + tree_registers(p) + LATENCY + 1


def step_issue_cycles(p: CoreParams) -> int:
    """Issue cycles of one sample's pass over ``W_N``."""
    return p.sizes[p.layers] * p.weight_groups(p.layers)


def chains(p: CoreParams) -> bool:
    """The steps of a relaxation follow one another without a drain: a step is one pass (two
    layers) run on a pair, and a sample's pass issues no sooner than its previous step's
    last state has been written, because the other sample's rows come between them."""
    return p.layers == 2 and p.halves == 2 and step_issue_cycles(p) >= drain_output(p) - 1


def step_done_stage(p: CoreParams) -> int:
    """``step_done`` pulses this many cycles after a step's last issue: in the cycle of its last
    state write (the next step's first comes later)."""
    return drain_output(p) - 1


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
        (:func:`chains`), the next one's first row issues the cycle after this one's last, and
        ``next_step`` pulses in that last cycle; elsewhere the engine drains and waits for
        ``start``.
    next_step : Out(1)
        The engine took the next step; the sources and destinations are then the next step's.
    step_done : Out(1)
        Pulse in the cycle of each step's last state write (:func:`step_done_stage` after its
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
    x, x2, b{n}, s{n} : memory read requests, data registered by the memory
        (:class:`~.block_ram.BlockRAM`, 3 cycles) (``x2``: the inputs' second port, the odd
        sample of the drive's pair); ``s{n}_w`` : state write request.
    w1, w1_2, … : read requests of the weight memories, named as
        :func:`~.memories.weight_memories` names them (``w1_2``: ``W_1`` and ``W_2`` in one).
    mul : Out(request_signature(2P, …))
        The lanes' multipliers (:mod:`.multiplier`): operands at stage 2, products at stage 4.
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
        for wm in mem.weight_memories(p):
            members[wm.spec.name.lower()] = In(wm.spec.read_signature())
        for n in range(1, p.layers + 1):
            members[f"b{n}"] = In(mem.biases(p, n).read_signature())
            members[f"s{n}"] = In(mem.states(p, n).read_signature())
            members[f"s{n}_w"] = In(mem.states(p, n).write_signature())
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        p, spec = self.params, self.params.spec
        N, P = p.layers, p.lanes
        rows = {n: p.sizes[n] for n in range(1, N + 1)}
        groups = {n: p.weight_groups(n) for n in range(1, N + 1)}

        # -- accumulators (one per layer and sample of the pair; layer 1's with the input
        # drive), private to this engine -----------------------------------------------------
        acc_rd, acc_wr = {}, {}
        for n in range(1, N):
            acc = mem.accumulators(p, n).build(platform)
            m.submodules[f"acc{n}"] = acc
            acc_wr[n] = acc.write_port(granularity=1)
            acc_rd[n] = acc.read_port(transparent_for=(acc_wr[n],))

        # -- issue counters -----------------------------------------------------------------
        layer = Signal(range(N + 1))          # the pass: W_layer
        weight_ports = {n: getattr(self, mem.weight_memory(p, n).spec.name.lower()) for n in rows}
        scan = m.submodules.scan = RowScan(P, max(rows.values()), max(groups.values()),
                                           max(wm.spec.depth for wm in mem.weight_memories(p)))
        i, i_word, i_lane, g, waddr = scan.row, scan.row_word, scan.row_lane, scan.group, scan.addr
        issuing, gap = Signal(), Signal()
        half = Signal()                       # the sample of the pair being issued
        pairs, chain = Const(p.halves > 1), Const(chains(p))
        last_g, last_row = Signal(), Signal()
        with m.Switch(layer):
            for n in rows:
                with m.Case(n):
                    m.d.comb += [last_g.eq(g == groups[n] - 1), last_row.eq(i == rows[n] - 1)]

        token = data.StructLayout({
            "valid": 1, "g": len(g), "i": len(i), "i_word": len(i_word), "i_lane": max(1, len(i_lane)),
            "first_row": 1, "last_row": 1, "last_g": 1, "h": 1, "zero": 1,
        })
        tok0 = Signal(token)
        m.d.comb += [tok0.valid.eq(issuing), tok0.h.eq(half), tok0.g.eq(g), tok0.i.eq(i), tok0.i_word.eq(i_word),
                     tok0.i_lane.eq(i_lane), tok0.first_row.eq(i == 0), tok0.last_row.eq(last_row),
                     tok0.last_g.eq(last_g), tok0.zero.eq(self.src == mem.SlotCode.ZERO)]
        # tokm: the cycle the memories read (their address registered, hdl/block_ram.py)
        tokm, tok1, tokr, tok1b, tok2 = (Signal(token) for _ in range(5))
        m.d.sync += [tokm.eq(tok0), tok1.eq(tokm), tokr.eq(tok1), tok1b.eq(tokr), tok2.eq(tok1b)]

        # -- stage 0: reads -----------------------------------------------------------------
        src_slot = Mux(half, self.src_slots[1], self.src_slots[0])
        m.d.comb += [self.x.addr.eq(mem.input_address(p, self.bank, self.sample, g)),
                     self.x2.addr.eq(mem.input_address(p, self.bank, self.sample | 1, g))]
        for n in rows:
            with m.If(layer == n):
                m.d.comb += [weight_ports[n].addr.eq(waddr), getattr(self, f"b{n}").addr.eq(i_word)]
            port = getattr(self, f"s{n}")
            with m.If(layer == n + 1):     # presynaptic layer of the pass
                m.d.comb += port.addr.eq(mem.slot_address(p, n, src_slot, g))
            with m.Elif(layer == n):       # postsynaptic layer
                m.d.comb += port.addr.eq(mem.slot_address(p, n, src_slot, i_word))

        # -- stage 2: the read data, registered by the core's memories (hdl/block_ram.py) ---------
        w_q = {n: weight_ports[n].data for n in rows}
        b_q = {n: getattr(self, f"b{n}").data for n in rows}
        s_q = {n: getattr(self, f"s{n}").data for n in rows}
        x_q, x2_q = self.x.data, self.x2.data

        # -- stage 3: operands; stage 4: products ---------------------------------------------
        zero = tokr.zero     # (a token's own: the step's source changes when the steps chain)
        w1 = [Signal(signed(p.weight_bits), name=f"w_l{l}") for l in range(P)]
        even1 = [Signal(unsigned(p.state_bits), name=f"even_l{l}") for l in range(P)]
        odd1 = [Signal.like(even1[l], name=f"odd_l{l}") for l in range(P)]
        post1 = Signal(unsigned(p.state_bits))
        bias1 = Signal(signed(p.weight_bits))
        lane1 = tokr.i_lane if P > 1 else 0
        with m.Switch(layer):
            for n in rows:
                with m.Case(n):
                    w_data, b_data = w_q[n], b_q[n]
                    m.d.comb += [bias1.eq(b_data[lane1])]
                    m.d.comb += [w1[l].eq(w_data[l]) for l in range(P)]
                    if n == 1:
                        m.d.comb += [even1[l].eq(x_q[l]) for l in range(P)]
                        m.d.comb += [odd1[l].eq(x2_q[l]) for l in range(P)]
                    else:
                        m.d.comb += post1.eq(Mux(zero, 0, s_q[n][lane1]))
                        m.d.comb += [even1[l].eq(post1) for l in range(P)]
                        m.d.comb += [odd1[l].eq(Mux(zero, 0, s_q[n - 1][l])) for l in range(P)]
        # the lanes' multipliers (hdl/multiplier.py) register the operands and the products.
        # The drive: the even sample's forward product on multiplier 2l, the odd one's on
        # 2l + 1.  A step: the feedback product on 2l and the forward one on 2l + 1, so that
        # each unsigned operand picks between the same memories' words in both engines (the
        # weight update's presynaptic states are on 2l + 1 too, hdl/weight_update.py)
        for l in range(P):
            m.d.comb += [self.mul.a[2 * l].eq(w1[l]), self.mul.b[2 * l].eq(even1[l]),
                         self.mul.a[2 * l + 1].eq(w1[l]), self.mul.b[2 * l + 1].eq(odd1[l])]
        prod_bits = p.weight_bits + p.state_bits + 1
        even2 = [Signal(signed(prod_bits), name=f"pe_l{l}") for l in range(P)]
        odd2 = [Signal(signed(prod_bits), name=f"po_l{l}") for l in range(P)]
        m.d.comb += [even2[l].eq(self.mul.p[2 * l]) for l in range(P)]
        m.d.comb += [odd2[l].eq(self.mul.p[2 * l + 1]) for l in range(P)]
        fb2 = even2
        post_r, bias_r = Signal.like(post1, reset_less=True), Signal.like(bias1, reset_less=True)
        post2, bias2 = Signal.like(post_r), Signal.like(bias_r)
        m.d.sync += [post_r.eq(post1), bias_r.eq(bias1), post2.eq(post_r), bias2.eq(bias_r)]
        for n in range(1, N):    # (layer 1's sums start from the drive: the first row reads it)
            with m.If(layer == n + 1):
                m.d.comb += acc_rd[n].addr.eq(mem.acc_address(p, n, tok1b.h, tok1b.g, tok1b.first_row if n == 1 else 0))

        # -- stage 5: adder tree; feedback read data registered ------------------------------------
        # -- stage 6: feedback read-modify-write.  The memory's output is registered (timing), so
        # a word written in the previous cycle is forwarded; one written two cycles before comes
        # through the transparent read.
        acts = [Activation(p) for _ in range(P)]
        for l, a in enumerate(acts):
            m.submodules[f"act_l{l}"] = a
        tok3 = Signal(token)
        fb3 = [Signal.like(fb2[l], name=f"fb3_l{l}", reset_less=True) for l in range(P)]
        acc_q = [Signal(signed(p.acc_bits), name=f"acc_q{l}", reset_less=True) for l in range(P)]
        m.d.sync += [tok3.eq(tok2)] + [fb3[l].eq(fb2[l]) for l in range(P)]
        for n in range(1, N):
            with m.If(layer == n + 1):
                m.d.sync += [acc_q[l].eq(acc_rd[n].data[l]) for l in range(P)]
        writes = tok3.valid & ~tok3.last_row & (layer >= 2)
        u_fb = [Signal(signed(p.acc_bits), name=f"ufb_l{l}") for l in range(P)]
        sums = acc_q
        # A token reads the word the one before it wrote only where a row of W_m (m ≥ 2) is
        # one word; no other config gets the forwarding (34 flip-flops and a multiplexer a lane).
        if any(p.weight_groups(n) == 1 for n in range(2, N + 1)):
            # the select is a register, decided a cycle ahead (timing): the word written now is
            # the one the next token reads (never a first row's: it reads the row ends or the drive)
            forward = Signal()
            m.d.sync += forward.eq(writes & (tok3.g == tok2.g) & (tok3.h == tok2.h) & ~tok2.first_row)
            prev_u = [Signal(signed(p.acc_bits), name=f"prev_u{l}", reset_less=True) for l in range(P)]
            m.d.sync += [prev_u[l].eq(u_fb[l]) for l in range(P)]
            sums = [Mux(forward, prev_u[l], acc_q[l]) for l in range(P)]
        for l in range(P):
            m.d.comb += [u_fb[l].eq(sums[l] + fb3[l]), acts[l].u.eq(u_fb[l])]
        for n in range(1, N):
            with m.If(layer == n + 1):
                m.d.comb += [acc_wr[n].addr.eq(mem.acc_address(p, n, tok3.h, tok3.g)),
                             *[acc_wr[n].data[l].eq(u_fb[l]) for l in range(P)]]
                with m.If(writes):
                    m.d.comb += acc_wr[n].en.eq((1 << P) - 1)
        fb_done = [Signal(name=f"fb_done{t}") for t in range(LATENCY + 1)]
        fb_g = [Signal.like(g, name=f"fb_g{t}", reset_less=True) for t in range(LATENCY + 1)]
        fb_h = [Signal(name=f"fb_h{t}", reset_less=True) for t in range(LATENCY + 1)]
        m.d.comb += [fb_done[0].eq(tok3.valid & tok3.last_row & (layer >= 2)), fb_g[0].eq(tok3.g), fb_h[0].eq(tok3.h)]
        for t in range(LATENCY):
            m.d.sync += [fb_done[t + 1].eq(fb_done[t]), fb_g[t + 1].eq(fb_g[t]), fb_h[t + 1].eq(fb_h[t])]
        # the forward path from here on runs T cycles behind the feedback path: the products'
        # adder tree is registered T times (timing at large P), and the token, the output
        # unit's state and the bias follow it
        tree = tree_registers(p)
        tokf, postf, biasf = tok2, post2, bias2
        forward_valid = []    # every token on the way, for in_flight
        for t in range(tree):
            later = Signal(token, name=f"tokf{t}"), Signal.like(post2, name=f"postf{t}"), Signal.like(bias2, name=f"biasf{t}")
            m.d.sync += [later[0].eq(tokf), later[1].eq(postf), later[2].eq(biasf)]
            tokf, postf, biasf = later
            forward_valid.append(tokf.valid)

        def row_sum(products, name):
            """The row's forward sum so far: a balanced adder tree (``log2 P`` adds deep, not
            the ``P`` of a chain), registered ``tree`` times, then the row accumulator."""
            acc, total = Signal(signed(p.acc_bits), name=f"{name}_acc", reset_less=True), Signal(signed(p.acc_bits), name=name)
            m.d.comb += total.eq(Mux(tokf.g == 0, 0, acc) + tree_sum(products, m, tree))
            with m.If(tokf.valid):
                m.d.sync += acc.eq(total)
            return total

        # the drive's sums of both samples; a step's forward sum is the odd one's
        row_even, row_odd = row_sum(even2, "row_even"), row_sum(odd2, "row_odd")

        # -- stage 6: row end -------------------------------------------------------------------
        row3, row3_odd = Signal(signed(p.acc_bits), reset_less=True), Signal(signed(p.acc_bits), reset_less=True)
        end3 = Signal()
        i3, i_word3 = Signal.like(i, reset_less=True), Signal.like(i_word, reset_less=True)
        i_lane3, h3 = Signal(tokf.i_lane.shape(), reset_less=True), Signal(reset_less=True)
        m.d.sync += [end3.eq(tokf.valid & tokf.last_g), row3.eq(row_even), row3_odd.eq(row_odd), i3.eq(tokf.i),
                     i_word3.eq(tokf.i_word), i_lane3.eq(tokf.i_lane), h3.eq(tokf.h)]
        # the output layer's nudge σ·(y_q − q_N) is formed a stage early, from registered labels
        # (the sample does not change while a step runs), and added to the bias there when it
        # goes inside ρ: the row end is then one add (timing)
        labels = [Signal.like(self.label, name="label_q"), Signal.like(self.label_odd, name="label_odd_q")]
        m.d.sync += [labels[0].eq(self.label), labels[1].eq(self.label_odd)]
        nudge = m.submodules.nudge_error = NudgeError(p)
        m.d.comb += [nudge.unit.eq(tokf.i), nudge.label.eq(Mux(tokf.h, labels[1], labels[0])), nudge.q.eq(postf),
                     nudge.nudge.eq(self.nudge)]
        err3 = Signal.like(nudge.err, reset_less=True)
        offset3 = Signal(signed(p.acc_bits), reset_less=True)   # bias, and the nudge inside ρ
        nudge_in = Mux(layer == N, nudge.err << (spec.fw - spec.k), 0) if p.nudge_inside else 0
        m.d.sync += [err3.eq(nudge.err), offset3.eq((biasf << spec.fs) + nudge_in)]
        u3, d3_odd = Signal(signed(p.acc_bits)), Signal(signed(p.acc_bits))
        m.d.comb += [u3.eq(Mux(layer == 1, row3 << (spec.fs - spec.fx), row3_odd) + offset3),
                     d3_odd.eq((row3_odd << (spec.fs - spec.fx)) + offset3)]
        lane_en3 = (1 << i_lane3) if P > 1 else 1
        # the drive: the even sample's at the row end, the odd one's the cycle after (a row
        # takes two cycles or more, :func:`drive_gaps`), into layer 1's accumulators
        odd_end, odd_u = Signal(), Signal(signed(p.acc_bits), reset_less=True)
        odd_word, odd_lane = Signal.like(i_word3), Signal.like(i_lane3)
        m.d.sync += [odd_end.eq(end3 & (layer == 1) & pairs), odd_u.eq(d3_odd), odd_word.eq(i_word3), odd_lane.eq(i_lane3)]
        with m.If(layer == 1):
            with m.If(odd_end):
                m.d.comb += [acc_wr[1].addr.eq(mem.acc_address(p, 1, 1, odd_word, drive=1)),
                             *[acc_wr[1].data[l].eq(odd_u) for l in range(P)],
                             acc_wr[1].en.eq((1 << odd_lane) if P > 1 else 1)]
            with m.Else():
                m.d.comb += [acc_wr[1].addr.eq(mem.acc_address(p, 1, 0, i_word3, drive=1)),
                             *[acc_wr[1].data[l].eq(u3) for l in range(P)]]
                with m.If(end3):
                    m.d.comb += acc_wr[1].en.eq(lane_en3)
        for n in range(2, N):
            with m.If(layer == n):
                m.d.comb += [acc_wr[n].addr.eq(mem.acc_address(p, n, h3, i_word3)),
                             *[acc_wr[n].data[l].eq(u3) for l in range(P)]]
                with m.If(end3):
                    m.d.comb += acc_wr[n].en.eq(lane_en3)
        # output layer: the nudge inside ρ is in u3; outside, it is added after ρ
        out_act = m.submodules.act_out = Activation(p)
        m.d.comb += out_act.u.eq(u3)
        out_valid = [Signal(name=f"out_v{t}") for t in range(LATENCY + 1)]
        out_i = [Signal.like(i3, name=f"out_i{t}") for t in range(LATENCY + 1)]
        out_word = [Signal.like(i_word3, name=f"out_word{t}") for t in range(LATENCY + 1)]
        out_lane = [Signal.like(i_lane3, name=f"out_lane{t}") for t in range(LATENCY + 1)]
        out_err = [Signal.like(err3, name=f"out_err{t}") for t in range(LATENCY + 1)]
        out_h = [Signal(name=f"out_h{t}", reset_less=True) for t in range(LATENCY + 1)]
        m.d.comb += [out_valid[0].eq(end3 & (layer == N)), out_i[0].eq(i3), out_word[0].eq(i_word3),
                     out_lane[0].eq(i_lane3), out_err[0].eq(err3), out_h[0].eq(h3)]
        for t in range(LATENCY):
            m.d.sync += [out_valid[t + 1].eq(out_valid[t]), out_i[t + 1].eq(out_i[t]),
                         out_word[t + 1].eq(out_word[t]), out_lane[t + 1].eq(out_lane[t]),
                         out_err[t + 1].eq(out_err[t]), out_h[t + 1].eq(out_h[t])]

        # -- stage 6 + LATENCY: feedback and output states, to the slots each sample's pass took
        # at its first issue (the sequencer's are the next step's once the steps chain) ------
        dst = Signal(data.ArrayLayout(range(p.state_slots), 2))
        with m.If(issuing & (i == 0) & (g == 0)):
            m.d.sync += dst[half].eq(self.dst_slots[half])
        q_out = Signal(unsigned(p.state_bits))
        if p.nudge_inside:
            m.d.comb += q_out.eq(out_act.q)
        else:
            m.d.comb += q_out.eq(clamp(out_act.q + rshift_round(out_err[-1], spec.k), 0, spec.one))
        m.d.comb += [self.out_valid.eq(out_valid[-1]), self.out_half.eq(out_h[-1]), self.out_unit.eq(out_i[-1]),
                     self.out_q.eq(q_out)]
        for n in rows:
            port = getattr(self, f"s{n}_w")
            if n == N:
                lane_en = (1 << out_lane[-1]) if P > 1 else 1
                dst_slot = Mux(out_h[-1], dst[1], dst[0])
                m.d.comb += [port.addr.eq(mem.slot_address(p, n, dst_slot, out_word[-1])),
                             *[port.data[l].eq(q_out) for l in range(P)]]
                with m.If(out_valid[-1]):
                    m.d.comb += port.en.eq(lane_en)
            else:
                width = p.sizes[n]
                valid_lane = [fb_g[-1] * P + l < width for l in range(P)]
                dst_slot = Mux(fb_h[-1], dst[1], dst[0])
                m.d.comb += [port.addr.eq(mem.slot_address(p, n, dst_slot, fb_g[-1])),
                             *[port.data[l].eq(Mux(valid_lane[l], acts[l].q, 0)) for l in range(P)]]
                with m.If(fb_done[-1] & (layer == n + 1)):
                    m.d.comb += port.en.eq((1 << P) - 1)

        # -- control --------------------------------------------------------------------------------
        in_flight = Signal()
        m.d.comb += in_flight.eq(tokm.valid | tok1.valid | tokr.valid | tok1b.valid | tok2.valid | tok3.valid | end3 | odd_end
                                 | Cat(*forward_valid).any()
                                 | Cat(*fb_done[1:]).any()
                                 | Cat(*out_valid[1:]).any())

        # a step's last issue, and step_done when its last state is written
        step_end = Signal()
        m.d.comb += step_end.eq(issuing & last_g & last_row & (layer == N) & (half | ~pairs))
        ends = [step_end]
        for t in range(step_done_stage(p)):
            ends.append(Signal(name=f"step_end{t + 1}"))
            m.d.sync += ends[-1].eq(ends[-2])
        m.d.comb += self.step_done.eq(ends[-1])

        def base(n):
            """The first word of ``W_n`` in its memory (a pass's scan restarts there)."""
            return Array(Const(mem.weight_memory(p, k).base(k)) if k in rows else Const(0)
                         for k in range(N + 2))[n]

        m.d.comb += [scan.advance.eq(issuing), scan.last_group.eq(last_g), scan.base.eq(base(layer))]
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [scan.restart.eq(1), scan.base.eq(base(Mux(self.drive, 1, 2)))]
                with m.If(self.start):
                    m.d.sync += layer.eq(Mux(self.drive, 1, 2))   # (half is 0: every pass ends so)
                    m.next = "ISSUE"
            with m.State("ISSUE"):
                m.d.comb += [issuing.eq(~gap), self.busy.eq(1)]
                if drive_gaps(p):
                    m.d.sync += gap.eq((layer == 1) & ~gap & ~(last_g & last_row))
                with m.If(issuing & last_g & last_row):
                    # the pass's rows again for the pair's odd sample (the drive did both at once)
                    with m.If((layer != 1) & ~half & pairs):
                        m.d.sync += half.eq(1)
                        m.d.comb += scan.restart.eq(1)
                    with m.Elif(step_end & self.more & chain):   # the next step, at once
                        m.d.sync += half.eq(0)
                        m.d.comb += [scan.restart.eq(1), self.next_step.eq(1)]
                    with m.Else():
                        m.d.sync += half.eq(0)
                        m.next = "DRAIN"
            with m.State("DRAIN"):
                m.d.comb += [self.busy.eq(1), scan.restart.eq(1), scan.base.eq(base(layer + 1))]
                with m.If(~in_flight):
                    with m.If((layer == 1) | (layer == N)):
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += layer.eq(layer + 1)
                        m.next = "ISSUE"
        return m
