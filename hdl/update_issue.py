"""The weight update's issue stage: the blocks of an update in order (:func:`~.update_plan.blocks`),
each word of a block once per sample of its pass, and a drain between blocks.

Its twin is the schedule model (``hdl/schedule.py``): a block issues ``rows · G · samples``
words, back to back, and drains until ``in_flight`` falls.
"""

from __future__ import annotations

from amaranth import Array, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import CoreParams

from . import memories as mem
from .row_scan import RowScan
from .update_plan import Block, blocks, diff_memory


def words(p: CoreParams) -> int:
    """Words the scan addresses: the weight memories, the biases, the differences."""
    return max(max(wm.spec.depth for wm in mem.weight_memories(p)),
               max(bm.spec.depth for bm in mem.bias_memories(p)), diff_memory(p).depth)


def position_layout(p: CoreParams) -> data.StructLayout:
    """Where the scan is: row ``i`` (also as ``P``-lane word and lane), word ``g`` within the
    row and the linear word ``addr`` in the block's memory."""
    plan = blocks(p)
    rows = max(k.rows for k in plan)
    return data.StructLayout({
        "i": range(rows + 1), "i_word": range(-(-rows // p.lanes) + 1), "i_lane": range(max(2, p.lanes)),
        "g": range(max(k.groups for k in plan) + 1), "addr": range(words(p) + 1),
    })


def token_layout(p: CoreParams) -> data.StructLayout:
    """What travels down the pipeline with each issued word: the first and last sample of the
    word's pass, the word's address (the diff block's: its pair's slot), the row's lane, and
    ``odd``, the row's parity (the diff block's odd sample)."""
    return data.StructLayout({"valid": 1, "first_b": 1, "last_b": 1, "addr": range(words(p) + 1),
                              "i_lane": range(max(2, p.lanes)), "odd": 1})


def first_word(p: CoreParams, blk: Block) -> int:
    """Where the block's words start in their memory."""
    if blk.kind == "diff":
        return 0
    return (mem.weight_memory if blk.kind == "W" else mem.bias_memory)(p, blk.layer).base(blk.layer)


class UpdateIssueSignature(wiring.Signature):
    """``start`` an update; ``in_flight`` while an issued word has a write to come.  Each cycle
    the ``block``, the scan's ``position``, the sample ``b`` of the word's pass and the ``token``
    issued (``token.valid``)."""

    def __init__(self, params: CoreParams):
        super().__init__({"start": In(1), "in_flight": In(1), "busy": Out(1),
                          "block": Out(range(len(blocks(params)))), "position": Out(position_layout(params)),
                          "b": Out(range(max(2, params.batch))),
                          "token": Out(token_layout(params))})


class UpdateIssue(wiring.Component):
    """Latency 0: the token is of the word whose reads go out in this cycle."""

    def __init__(self, params: CoreParams):
        self.params = params
        super().__init__(UpdateIssueSignature(params))

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.params
        plan = blocks(p)
        block, at, b, tok = self.block, self.position, self.b, self.token
        scan = m.submodules.scan = RowScan(p.lanes, max(k.rows for k in plan), max(k.groups for k in plan), words(p))
        m.d.comb += [at.i.eq(scan.row), at.i_word.eq(scan.row_word), at.i_lane.eq(scan.row_lane), at.g.eq(scan.group),
                     at.addr.eq(scan.addr)]
        # the block's limits and kind; where the board has the timing registers, in registers
        # set as the block is (from a decoder of the block into them), so that no decoder of
        # the block precedes the scan's compares (the digits build's critical path), and the
        # next block's first word likewise, for the scan's restart in the drain; else decoded
        # from the block (the iCEBreaker's logic cells)
        limits = data.StructLayout({"last_g": range(max(k.groups for k in plan)), "last_row": range(max(k.rows for k in plan)),
                                    "last_b": range(max(k.samples for k in plan)), "diff": 1, "last_block": 1})

        def limits_of(k: int):
            blk = plan[k]
            return limits.const({"last_g": blk.groups - 1, "last_row": blk.rows - 1, "last_b": blk.samples - 1,
                                 "diff": k == 0, "last_block": k == len(plan) - 1})

        registered = p.timing_registers
        cur, next_base = Signal(limits), Signal(range(words(p) + 1))
        issuing, last_g, last_row, last_b = Signal(), Signal(), Signal(), Signal()
        following = Array(Const(first_word(p, plan[(k + 1) % len(plan)]), len(next_base)) for k in range(len(plan)))
        upcoming = Array(limits_of((k + 1) % len(plan)) for k in range(len(plan)))
        if registered:
            m.d.comb += [last_g.eq(at.g == cur.last_g), last_row.eq(at.i == cur.last_row), last_b.eq(b == cur.last_b)]
            diff, last_block = cur.diff, cur.last_block
        else:      # (compares with constants, picked by the block)
            with m.Switch(block):
                for k, blk in enumerate(plan):
                    with m.Case(k):
                        m.d.comb += [last_g.eq(at.g == blk.groups - 1), last_row.eq(at.i == blk.rows - 1),
                                     last_b.eq(b == blk.samples - 1)]
            diff, last_block = block == 0, block == len(plan) - 1
            m.d.comb += next_base.eq(following[block])
        m.d.comb += [tok.valid.eq(issuing), tok.first_b.eq(b == 0), tok.last_b.eq(last_b),
                     tok.addr.eq(Mux(diff, mem.slot_address(p, 1, at.i >> (p.halves - 1), at.g), at.addr)),
                     tok.i_lane.eq(at.i_lane), tok.odd.eq(at.i[0] & (p.halves > 1))]

        def held(*statements) -> list:
            """The statements that set the registered limits (none where they are decoded)."""
            return list(statements) if registered else []
        m.d.comb += [scan.advance.eq(issuing & last_b), scan.last_group.eq(last_g)]
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [scan.restart.eq(1), scan.base.eq(first_word(p, plan[0]))]
                m.d.sync += b.eq(0)
                with m.If(self.start):
                    m.d.sync += [block.eq(0), *held(cur.eq(limits_of(0)))]
                    m.next = "ISSUE"
            with m.State("ISSUE"):
                m.d.comb += [issuing.eq(1), self.busy.eq(1)]
                m.d.sync += [b.eq(Mux(last_b, 0, b + 1)), *held(next_base.eq(following[block]))]
                with m.If(last_b & last_g & last_row):
                    m.next = "DRAIN"
            with m.State("DRAIN"):
                m.d.comb += [self.busy.eq(1), scan.restart.eq(1), scan.base.eq(next_base)]
                with m.If(~self.in_flight):
                    with m.If(last_block):
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += [block.eq(block + 1), *held(cur.eq(upcoming[block]))]
                        m.next = "ISSUE"
        return m
