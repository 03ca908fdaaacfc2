"""Registers that only a board with room gets (:attr:`~epfpga.contract.params.CoreParams.timing_registers`).

On a large die a decision taken from a decoder in the same cycle crosses long wires; on the
iCEBreaker every logic cell counts and its short wires do not need the register.  A value
passed through :func:`ahead` must be one its user reads a cycle after it is formed at the
earliest (a decision on a header that is held), so both forms give the same answers in the
same cycles.
"""

from __future__ import annotations

from amaranth import Module, Signal, Value

from epfpga.contract.params import CoreParams


def ahead(m: Module, params: CoreParams, value, name: str) -> Value:
    """``value`` registered (named ``name``) where ``params`` has the timing registers, else
    ``value`` itself."""
    if not params.timing_registers:
        return Value.cast(value)
    registered = Signal.like(Value.cast(value), name=name)
    m.d.sync += registered.eq(value)
    return registered
