"""The neuron update's timing: the stages of its pipeline and how many cycles a pass issues and
drains (``hdl/neuron_update.py``), which the schedule model (``hdl/schedule.py``) counts."""

from __future__ import annotations

from epfpga.contract.params import CoreParams

from . import activation, block_ram, multiplier
from .adder_tree import tree_latency
from .distribution import broadcast_latency, operand_lead

def state_latency(p: CoreParams) -> int:
    """Cycles from a unit's sum to its state: the activation's (:func:`~.activation.latency`)."""
    return activation.latency(p)


# Stages (cycles after a word issues).  The row's postsynaptic state, which every lane's
# feedback product shares, is read at issue and goes through a gather and a broadcast tree
# (hdl/distribution.py, the broadcast registered where the board has the timing registers);
# the lanes' own operands are read ``lead`` cycles later, so that both
# reach the multipliers at ``operands``; the products come ``multiplier.latency`` later.
def operands(p: CoreParams) -> int:
    return operand_lead(p) + block_ram.LATENCY


def products(p: CoreParams) -> int:
    return operands(p) + multiplier.latency(p)


def tree_registers(p: CoreParams) -> int:
    """Registers in the forward sum's adder tree (:func:`~.adder_tree.tree_latency` of ``P``
    products), and where that is none, one at its root on a board with the timing registers
    (P = 2 or 4 on the ECP5: the products' add and the row accumulator's in one stage were the
    path of routed digits builds, 9.2-9.9 ns): the forward path's row end comes that many
    cycles after :func:`row_end_stage`."""
    return max(tree_latency(p.lanes), int(p.timing_registers and p.lanes > 1))


def row_end_writes(p: CoreParams) -> int:
    """Cycles from a row end to its accumulator write: the value's broadcast to the lanes'
    write ports (:class:`~.distribution.Broadcast`; 0 up to 16 lanes, 1 where the board has
    the timing registers: the row end's adds, then a net to every lane's block RAM)."""
    return broadcast_latency(p.lanes, p.timing_registers)


def row_end_stage(p: CoreParams) -> int:
    """The stage of the feedback read-modify-write and of the row end without tree registers:
    the products, then the accumulator's word (feedback) or the adder tree's last stage."""
    return products(p) + 1


# Cycles a pass spends draining after its last issue: until its last write has landed, plus
# the cycle that sees the pipeline empty.  With T tree registers, R = row_end_stage and
# W = row_end_writes, the drive's last write is at stage R + T + W; a hidden layer's pass
# writes its row ends at R + T + W and the states below it at R + LATENCY; the output layer's
# states land at R + T + LATENCY (LATENCY: :func:`state_latency`).
def drain_drive(p: CoreParams) -> int:
    return row_end_stage(p) + tree_registers(p) + row_end_writes(p) + (2 if p.halves == 2 else 1)   # (the odd sample's write a cycle later)


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
    return row_end_stage(p) + max(tree_registers(p) + row_end_writes(p), state_latency(p)) + 1


def drain_output(p: CoreParams) -> int:
    return row_end_stage(p) + tree_registers(p) + state_latency(p) + 1


def step_issue_cycles(p: CoreParams) -> int:
    """Issue cycles of one sample's pass over ``W_N``."""
    return p.sizes[p.layers] * p.weight_groups(p.layers)


def chains(p: CoreParams) -> bool:
    """The steps of a relaxation follow one another without a drain: a step is one pass (two
    layers) run on a pair, and a sample's pass issues no sooner than its previous step's
    last state has been written, because the other sample's rows come between them."""
    return p.layers == 2 and p.halves == 2 and step_issue_cycles(p) >= drain_output(p) - 1


def fresh_accumulator_reads(p: CoreParams) -> bool:
    """Every row of ``W_m`` (``m ≥ 2``) is three words or more: an accumulator word is then read,
    the cycle before its products, after the previous row's write of it (a cycle after the
    products) has landed, so the read needs to see no write.  For a read transparent to the
    write yosys adds a register of the written word and a multiplexer on every bit (140 logic
    cells in ``digits`` at P = 2 on the iCE40; 141 LUT4 and 136 flip-flops at P = 4 on the
    ECP5); elsewhere (a row of one or two words) the read is transparent."""
    return all(p.weight_groups(m) >= 3 for m in range(2, p.layers + 1))


def direct_accumulators(p: CoreParams) -> bool:
    """The feedback path reads an accumulator word into its add and registers the sum, not the
    word and the products: on a board without LUT RAM (the iCE40, whose block RAM's read is its
    own register) where the reads are fresh (:func:`fresh_accumulator_reads`), since registers
    of the word and the products would be flip-flops that no LUT feeds (78 logic cells in
    ``digits`` at P = 2).  Elsewhere the word and the products are registered beside each other
    (the ECP5's block RAM's output is slow)."""
    return not p.lut_ram and fresh_accumulator_reads(p)


def step_done_stage(p: CoreParams) -> int:
    """``step_done`` pulses this many cycles after a step's last issue: in the cycle of its last
    state write (the next step's first comes later)."""
    return drain_output(p) - 1
