"""The core's host-bus address map: one place for the gateware (``hdl/core.py``) and every
host-side user (the driver, the protocol engine, the Verilog map).

An address is ``region << 24 | offset``.  In a memory region the offset of element ``e`` of
word ``w`` is ``w << log2(P) | e`` (``docs/architecture.md``).  Reads answer
:data:`READ_LATENCY` cycles after the request.
"""

from __future__ import annotations

import enum

REGION_SHIFT = 24
READ_LATENCY = 4
INPUT_BANKS = 2   # the input and label memories: the host fills one bank while the core trains on the other


class Region(enum.IntEnum):
    CONTROL = 0
    PROGRAM = 1
    X = 2        # bank b of the inputs at word b·B·stride (docs/architecture.md)
    Y = 3        # bank b of the labels at offset b·B
    PRED = 4
    PRNG = 5     # lane stream l at offset l, the sign stream at offset P; writable only while idle
    TABLE = 6    # the input table of INPUTS (docs/protocol.md §7): the protocol engine's, not the core's
    SDRAM = 7    # the board's SDRAM, 16-bit words, where the build has it (hardware.sdram)
    SDRAM_CRC = 8   # the CRC-32 of a range of the SDRAM's words: FIRST, COUNT, CRC (hdl/sdram_crc.py)
    RESIDENT = 9    # the epoch runner's registers (contract/resident.py), where the build has the SDRAM


def layer_region(layer: int, kind: str) -> int:
    """Region of ``W{layer}``, ``b{layer}`` or ``state{layer}``."""
    return 16 + 4 * (layer - 1) + ("W", "b", "state").index(kind)


class Reg(enum.IntEnum):
    """Control registers (region 0)."""
    START = 0        # write bit 0 = 1: run the program on input bank bit 1
    STATUS = 1       # bit 0 busy, bit 1 done, bit 2 the bank of the last run
    CYCLES = 2       # cycles of the last run
    DRIVE_CYCLES = 3
    RELAX_CYCLES = 4
    UPDATE_CYCLES = 5
    NEGATIVE = 6     # the last random sign was σ = −1
    STEPS = 7        # neuron steps of the last run
    WAIT_CYCLES = 8  # cycles the core stood idle between the previous run's end and this run's start


def address(region: int, offset: int) -> int:
    return region << REGION_SHIFT | offset
