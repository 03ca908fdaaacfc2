"""CRC-16/IBM-3740 in gateware: the twin of :func:`epfpga.contract.protocol.crc16`."""

from __future__ import annotations

from functools import cache, reduce
from operator import xor

from amaranth import Cat, Value

from epfpga.contract.protocol import CRC_POLY, crc16


@cache
def _taps() -> tuple[tuple[int, ...], ...]:
    """For each bit of the next CRC, the bits of ``Cat(crc, byte)`` whose xor it is.

    The update is linear over GF(2) (``crc16`` with a zero start and no constant term), so
    each input bit's image, found by running the host's :func:`crc16` on a unit vector,
    gives one column of its matrix.
    """
    assert CRC_POLY == 0x1021
    columns = [crc16(b"\x00", 1 << k) for k in range(16)]          # the state's bits
    columns += [crc16(bytes([1 << k]), 0) for k in range(8)]       # the byte's bits
    return tuple(tuple(k for k, col in enumerate(columns) if col >> bit & 1) for bit in range(16))


def crc16_next(crc: Value, byte: Value) -> Value:
    """The CRC after one more byte: each bit one xor of state and byte bits (a flat,
    shared-nothing expression, not eight chained shift steps)."""
    inputs = Cat(crc[:16], byte[:8])
    return Cat(*(reduce(xor, (inputs[k] for k in taps)) for taps in _taps()))
