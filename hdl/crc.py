"""CRC-16/IBM-3740 in gateware: the twin of :func:`epfpga.firmware.protocol.crc16`."""

from __future__ import annotations

from amaranth import Const, Mux, Value

from epfpga.firmware.protocol import CRC_POLY


def crc16_next(crc: Value, byte: Value) -> Value:
    """The CRC after one more byte, MSB first: eight steps of the shift register, unrolled
    into one combinational expression."""
    crc = crc ^ (byte << 8)
    for _ in range(8):
        shifted = (crc << 1)[:16]
        crc = Mux(crc[15], shifted ^ Const(CRC_POLY, 16), shifted)
    return crc[:16]
