"""Values carried down a pipeline beside the data they describe."""

from __future__ import annotations

from amaranth import Module, Signal


def delay_line(m: Module, value, cycles: int, name: str, *, reset_less: bool = False) -> list:
    """``value`` and its copies through 1 … ``cycles`` registers: item ``k`` is ``value`` as it
    was ``k`` cycles before.  ``reset_less`` for data whose validity travels beside it."""
    line = [value]
    for k in range(cycles):
        later = Signal.like(value, name=f"{name}{k + 1}", reset_less=reset_less)
        m.d.sync += later.eq(line[-1])
        line.append(later)
    return line
