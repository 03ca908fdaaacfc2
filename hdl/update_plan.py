"""The weight update's plan: its blocks in order, the stages that write, the drains, and where
a pass reads each weight (``hdl/weight_update.py``), which the schedule model
(``hdl/schedule.py``) counts."""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import signed

from epfpga.contract.params import CoreParams

from . import block_ram, multiplier
from . import memories as mem
from .distribution import operand_lead
from .update_sweep import sweep_latency

# The stages (cycles after issue).  The operand every lane shares (a postsynaptic state, a
# difference) is read at issue and goes through a gather and a broadcast tree
# (hdl/distribution.py); the lanes' own operands and the word are read ``lead`` cycles later,
# so that both reach the multipliers at ``operands``.  Then the stages that write: the diff
# block's differences, every other block's words (after the sweep of their lanes).  A block
# drains for its last write plus the cycle that sees the pipeline empty.


def operands(p: CoreParams) -> int:
    return operand_lead(p) + block_ram.LATENCY


def held_sums(p: CoreParams) -> bool:
    """The batch sum goes to the diff memory and the sweep from its accumulator, a cycle after it
    forms, where the board has no timing registers: the sum's adder then feeds its accumulator
    alone, on the iCE40 in one logic cell with it (as it forms, it fed the accumulator, the
    sweep's queue and the diff memory, and the accumulator took a cell of its own)."""
    return not p.timing_registers


def sum_stage(p: CoreParams) -> int:
    """The stage of a word's sample's product difference, into the batch sum."""
    return operands(p) + multiplier.update_latency(p)


def diff_write_stage(p: CoreParams) -> int:
    """The stage of the batch sum's write (the diff block's) or its sweep (the others)."""
    return sum_stage(p) + int(held_sums(p))


def drain_diff(p: CoreParams) -> int:
    return diff_write_stage(p) + 1


def write_stage(p: CoreParams) -> int:
    return diff_write_stage(p) + sweep_latency(p)


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
    out = [Block("diff", 1, p.batch, p.unit_words(1), 1)]   # first: block 0
    for n in range(1, p.layers + 1):   # (W_1 reads the pair's differences together)
        out.append(Block("W", n, p.sizes[n], p.weight_groups(n), p.batch // p.halves if n == 1 else p.batch))
        out.append(Block("b", n, 1, p.unit_words(n), p.batch))
    return out


def word_read_sample(p: CoreParams, blk: Block) -> int | None:
    """The sample of a word's pass in which a ``W`` block reads the word: once a word, so that a
    weight memory with one port (the iCE40's SPRAM) has a cycle for each write.  A word's read
    goes out :func:`~.distribution.operand_lead` cycles after its sample's issue and its write request
    :func:`write_stage` cycles after its last sample's, and the words issue ``S = samples``
    cycles apart: read in the last sample, the write meets a later word's read only where ``S``
    divides ``write_stage − lead``, and then reading in the first sample is clear of it.
    ``None`` for a word a cycle (``S = 1``), where no cycle is free."""
    if blk.samples < 2:
        return None
    return blk.samples - 1 if (write_stage(p) - operand_lead(p)) % blk.samples else 0


def held_words(p: CoreParams) -> bool:
    """The word being updated goes to the sweep straight from its memory's read, which holds it:
    where every ``W`` block reads its word in its pass's last sample (:func:`word_read_sample`),
    the ``b`` blocks read theirs there too, and a pass is longer than the cycles from a word's
    read to its sweep (the multipliers' latency, and the held sum's cycle), so that the next
    word's read comes after the sweep has taken it.  Elsewhere the word goes beside the
    products, through ``P`` registers a cycle of that way (``digits`` on the ECP5 holds its
    words: 255 flip-flops fewer), which on the iCE40 no LUT of theirs feeds."""
    late = diff_write_stage(p) - operands(p)    # (from a word's read to its sweep)
    return all(
        blk.samples > late and (blk.kind == "b" or word_read_sample(p, blk) == blk.samples - 1)
        for blk in blocks(p) if blk.kind != "diff")


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


