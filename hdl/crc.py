"""CRCs in gateware, each the twin of a host function: CRC-16/IBM-3740 of the link's frames
(:func:`epfpga.contract.protocol.crc16`) and zlib's CRC-32 of the SDRAM's contents
(:func:`zlib.crc32` over its words, low byte first)."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from functools import cache, reduce
from operator import xor

from amaranth import Cat, Value

from epfpga.contract.protocol import CRC_POLY, crc16

CRC32_MASK = 0xFFFFFFFF


@cache
def _taps(update: Callable[[int, int], int], state_bits: int, input_bits: int) -> tuple[tuple[int, ...], ...]:
    """For each bit of the next state, the bits of ``Cat(state, input)`` whose xor it is.

    A CRC's register update (no initial value, no final inversion) is linear over GF(2), so
    each input bit's image, found by running the host's function on a unit vector, gives one
    column of its matrix.
    """
    columns = [update(1 << k, 0) for k in range(state_bits)] + [update(0, 1 << k) for k in range(input_bits)]
    return tuple(tuple(k for k, col in enumerate(columns) if col >> bit & 1) for bit in range(state_bits))


def _apply(taps: tuple[tuple[int, ...], ...], inputs: Value) -> Value:
    """Each bit one xor of state and input bits: a flat, shared-nothing expression, not a chain
    of shift steps."""
    return Cat(*(reduce(xor, (inputs[k] for k in bits)) for bits in taps))


def _crc16_update(state: int, byte: int) -> int:
    return crc16(bytes([byte]), state)


def crc16_next(crc: Value, byte: Value) -> Value:
    """The frame CRC after one more byte."""
    assert CRC_POLY == 0x1021
    return _apply(_taps(_crc16_update, 16, 8), Cat(crc[:16], byte[:8]))


def _crc32_update(state: int, word: int) -> int:
    """zlib's CRC-32 register after a 16-bit word, low byte first, without its inversions."""
    return zlib.crc32(word.to_bytes(2, "little"), state ^ CRC32_MASK) ^ CRC32_MASK


def crc32_next(crc: Value, word: Value) -> Value:
    """The CRC-32 register after one more 16-bit word (start at ``CRC32_MASK``; the CRC is the
    register inverted, as :func:`zlib.crc32` gives it)."""
    return _apply(_taps(_crc32_update, 32, 16), Cat(crc[:32], word[:16]))
