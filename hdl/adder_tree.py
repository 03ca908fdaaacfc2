"""Sums of many values as balanced adder trees, registered every :data:`LEVELS_PER_STAGE`
levels where a pipeline asks for it.

Python's ``sum`` of Amaranth values builds a chain, ``((v0 + v1) + v2) + …``, that yosys keeps
as written: ``P`` carry chains in series for ``P`` lanes.  A balanced tree is ``ceil(log2 P)``
adds deep, each level one bit wider than the one below.  At 64 lanes even that is six carry
chains, so :func:`tree_latency` registers the tree every two levels, leaving the last stage
two levels and whatever the caller adds after it (the row accumulator): no stage of the
neuron update's forward sum is more than three adds deep at any ``P``.
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth import Module, Signal, Value
from amaranth.utils import ceil_log2

LEVELS_PER_STAGE = 2


def tree_latency(count: int) -> int:
    """Registers in the tree of ``count`` values: one after every :data:`LEVELS_PER_STAGE`
    levels but the last stage's."""
    return max(0, -(-ceil_log2(count) // LEVELS_PER_STAGE) - 1)


def tree_sum(values: Sequence[Value], m: Module | None = None, latency: int = 0) -> Value:
    """The exact sum of ``values`` (at least two, or one with no register), added pairwise
    level by level, with a register after every :data:`LEVELS_PER_STAGE` levels, ``latency``
    of them (in ``m``'s ``sync`` domain), and with one more than :func:`tree_latency` the sum
    itself registered: the sum is of the values ``latency`` cycles before."""
    level = [Value.cast(v) for v in values]
    if not level:
        raise ValueError("tree_sum of no values")
    most = tree_latency(len(level)) + (len(level) > 1)
    if latency > most:
        raise ValueError(f"a tree of {len(level)} values takes at most {most} registers")
    depth = placed = 0

    def register(values: list) -> list:
        registers = [Signal(v.shape(), name=f"tree{depth}_{k}", reset_less=True) for k, v in enumerate(values)]
        m.d.sync += [r.eq(v) for r, v in zip(registers, values)]
        return registers
    while len(level) > 1:
        level = [level[k] + level[k + 1] for k in range(0, len(level) - 1, 2)] + ([level[-1]] if len(level) % 2 else [])
        depth += 1
        if depth % LEVELS_PER_STAGE == 0 and placed < latency:
            level, placed = register(level), placed + 1
    if placed < latency:    # (the root: the caller's add after the tree then has a stage of its own)
        level = register(level)
    return level[0]
