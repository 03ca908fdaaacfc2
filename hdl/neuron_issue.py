"""The neuron update's issue stage: which word of which matrix enters the pipeline each cycle,
for which sample of the pair, and when a pass ends, drains and hands over to the next.

Its twin is the schedule model (``hdl/schedule.py``): a drive pass issues
:func:`~.neuron_timing.drive_issue_cycles` tokens, a step ``halves · rows · G_m`` per pass, and a
pass's drain lasts until ``in_flight`` falls.
"""

from __future__ import annotations

from amaranth import Array, Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import CoreParams

from . import memories as mem
from .neuron_timing import chains, drive_gaps
from .row_scan import RowScan


def token_layout(p: CoreParams) -> data.StructLayout:
    """What travels down the pipeline with each issued word: the row ``i`` as its ``P``-lane
    word and lane (:func:`token_row`), the word ``g`` within the row, the sample ``h`` of the
    pair, where the word sits in its row (``first_g``: decided at the issue, not where the row
    sum needs it: timing), and ``zero`` (the step reads the all-zero source slot)."""
    rows = max(p.sizes[1:])
    return data.StructLayout({
        "valid": 1, "g": range(max(p.weight_groups(n) for n in range(1, p.layers + 1)) + 1),
        "i_word": range(-(-rows // p.lanes) + 1), "i_lane": range(max(2, p.lanes)),
        "first_row": 1, "last_row": 1, "first_g": 1, "last_g": 1, "h": 1, "zero": 1,
    })


def token_row(p: CoreParams, tok) -> Value:
    """A token's row ``i``, from its word and lane (``P`` is a power of two): a field of its
    own would be a flip-flop a bit and a stage, and on the iCE40 a logic cell each."""
    return Cat(tok.i_lane[:p.lane_bits], tok.i_word)


class IssueSignature(wiring.Signature):
    """``start`` a pass (``drive``: over ``W_1``, else a step over ``W_2 … W_N``), ``more`` steps
    to follow; ``in_flight`` while any issued word has a write to come.  Each cycle the token
    issued (``token.valid``) with its weight memory word ``addr``, the matrix ``layer``;
    ``step_end`` in a step's last issue, ``next_step`` when the next step's first follows at
    once."""

    def __init__(self, params: CoreParams):
        super().__init__({
            "start": In(1), "drive": In(1), "more": In(1), "zero": In(1), "in_flight": In(1),
            "busy": Out(1), "next_step": Out(1), "step_end": Out(1),
            "layer": Out(range(params.layers + 1)), "token": Out(token_layout(params)),
            "addr": Out(range(max(wm.spec.depth for wm in mem.weight_memories(params)) + 1)),
        })


class NeuronIssue(wiring.Component):
    """Latency 0: the token is of the word whose reads go out in this cycle."""

    def __init__(self, params: CoreParams):
        self.params = params
        super().__init__(IssueSignature(params))

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.params
        N, P = p.layers, p.lanes
        rows = {n: p.sizes[n] for n in range(1, N + 1)}
        groups = {n: p.weight_groups(n) for n in rows}
        layer, tok = self.layer, self.token
        scan = m.submodules.scan = RowScan(P, max(rows.values()), max(groups.values()),
                                           max(wm.spec.depth for wm in mem.weight_memories(p)))
        issuing, gap, half = Signal(), Signal(), Signal()
        pairs, chain = Const(p.halves > 1), Const(chains(p))
        # the pass's layer and what its scan and ends compare with, set together: registers, so
        # that no decoder of the layer sits before the compares (timing)
        last_group, last_row_index = Signal.like(scan.group), Signal.like(scan.row)
        top, driving = Signal(), Signal()       # the pass is over W_N, over W_1
        # the word is its row's last, the row its pass's: where the board has the timing
        # registers, registered from the scan's next position and the next pass's ends, so that
        # the counters' compares do not precede the pass's end and the scan's restart (the path
        # of several routed ECP5 builds; on the iCEBreaker, 94 logic cells more)
        next_last_group, next_last_row_index = Signal.like(last_group), Signal.like(last_row_index)
        m.d.comb += [next_last_group.eq(last_group), next_last_row_index.eq(last_row_index)]

        def enter(n):
            table = lambda values: Array(Const(values.get(k, 1) - 1) for k in range(N + 2))[n]  # noqa: E731
            m.d.comb += [next_last_group.eq(table(groups)), next_last_row_index.eq(table(rows))]
            m.d.sync += [layer.eq(n), last_group.eq(next_last_group), last_row_index.eq(next_last_row_index),
                         top.eq(n == N), driving.eq(n == 1)]

        last_g, last_row = Signal(), Signal()
        if p.timing_registers:
            m.d.sync += [last_g.eq(scan.next_group == next_last_group),
                         last_row.eq(scan.next_row == next_last_row_index)]
        else:
            m.d.comb += [last_g.eq(scan.group == last_group), last_row.eq(scan.row == last_row_index)]
        m.d.comb += [tok.valid.eq(issuing), tok.h.eq(half), tok.g.eq(scan.group),
                     tok.i_word.eq(scan.row_word), tok.i_lane.eq(scan.row_lane), tok.first_row.eq(scan.row == 0),
                     tok.first_g.eq(scan.group == 0),
                     tok.last_row.eq(last_row), tok.last_g.eq(last_g), tok.zero.eq(self.zero),
                     self.addr.eq(scan.addr),
                     self.step_end.eq(issuing & last_g & last_row & top & (half | ~pairs))]

        def base(n):
            """The first word of ``W_n`` in its memory (a pass's scan restarts there)."""
            return Array(Const(mem.weight_memory(p, k).base(k)) if k in rows else Const(0)
                         for k in range(N + 2))[n]

        m.d.comb += [scan.advance.eq(issuing), scan.last_group.eq(last_g), scan.base.eq(base(layer))]
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [scan.restart.eq(1), scan.base.eq(base(Mux(self.drive, 1, 2)))]
                with m.If(self.start):
                    enter(Mux(self.drive, 1, 2))   # (half is 0: every pass ends so)
                    m.next = "ISSUE"
            with m.State("ISSUE"):
                m.d.comb += [issuing.eq(~gap), self.busy.eq(1)]
                if drive_gaps(p):
                    m.d.sync += gap.eq(driving & ~gap & ~(last_g & last_row))
                with m.If(issuing & last_g & last_row):
                    # the pass's rows again for the pair's odd sample (the drive did both at once)
                    with m.If(~driving & ~half & pairs):
                        m.d.sync += half.eq(1)
                        m.d.comb += scan.restart.eq(1)
                    with m.Elif(self.step_end & self.more & chain):   # the next step, at once
                        m.d.sync += half.eq(0)
                        m.d.comb += [scan.restart.eq(1), self.next_step.eq(1)]
                    with m.Else():
                        m.d.sync += half.eq(0)
                        m.next = "DRAIN"
            with m.State("DRAIN"):
                m.d.comb += [self.busy.eq(1), scan.restart.eq(1), scan.base.eq(base(layer + 1))]
                with m.If(~self.in_flight):
                    with m.If(driving | top):
                        m.next = "IDLE"
                    with m.Else():
                        enter(layer + 1)
                        m.next = "ISSUE"
        return m
