"""The ULX3S's SDRAM chip: its geometry and its datasheet timing.

One record, read by both sides of the SDRAM contract: the controller's generator
(:mod:`epfpga.hdl.litedram`) rounds these minimums up to its clock's cycles, and the simulated
board's chip model (``verification/sdram_chip.h``) checks every command against the same
nanoseconds, independently of the controller's rounding.  So a controller that waits a cycle
too few fails in simulation, naming the parameter.

The ULX3S-85F carries a 256 Mbit x16 SDR SDRAM (ISSI IS42S16160 on most boards; LiteDRAM names
its class ``MT48LC16M16``).  The figures are the Micron MT48LC16M16A2 ``-75`` speed grade's
(133 MHz at CAS latency 3, 100 MHz at 2), which LiteDRAM's own ULX3S target uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

TIMINGS = ("tRCD", "tRP", "tRAS", "tRC", "tRFC", "tRRD", "tWR", "tMRD")


@dataclass(frozen=True)
class SDRAMChip:
    """An SDR SDRAM's geometry and its timing minimums (ns unless named otherwise)."""

    name: str
    banks: int
    rows: int
    columns: int
    data_bits: int
    tRCD: float        # ACTIVE to READ/WRITE, same bank
    tRP: float         # PRECHARGE to ACTIVE/REFRESH, same bank
    tRAS: float        # ACTIVE to PRECHARGE, same bank
    tRC: float         # ACTIVE to ACTIVE, same bank
    tRFC: float        # AUTO REFRESH to any command
    tRRD: float        # ACTIVE to ACTIVE, different banks
    tWR: float         # last write data to PRECHARGE
    tMRD: int          # LOAD MODE REGISTER to any command, in clocks
    tREFI: float       # the longest average interval between two AUTO REFRESHes
    power_up: float    # CKE high with only NOPs before the first command
    cl2_min_period: float   # the shortest clock period at which CAS latency 2 is allowed
    min_period: float       # the chip's fastest clock (CAS latency 3)

    @property
    def words(self) -> int:
        return self.banks * self.rows * self.columns

    @property
    def bytes(self) -> int:
        return self.words * self.data_bits // 8

    @property
    def address_bits(self) -> int:
        """Of a word address on the controller's native port: bank, row and column."""
        return (self.words - 1).bit_length()

    def cas_latency(self, clock_hz: float) -> int:
        """The CAS latency the chip allows at ``clock_hz`` (the controller's choice too)."""
        period = 1e9 / clock_hz
        if period < self.min_period:
            raise ValueError(f"{self.name} runs at most {1e3 / self.min_period:.0f} MHz, "
                             f"not {clock_hz / 1e6:g}")
        return 2 if period >= self.cl2_min_period else 3

    def cycles(self, name: str, clock_hz: float) -> int:
        """The fewest clocks at ``clock_hz`` that cover timing ``name``."""
        if name == "tMRD":
            return self.tMRD
        # Round away float noise (66 ns at 100 MHz is 6.6 clocks, not 6.6000000001).
        return ceil(round(getattr(self, name) * clock_hz / 1e9, 6))


ULX3S_SDRAM = SDRAMChip(
    name="IS42S16160 (MT48LC16M16A2-75)", banks=4, rows=8192, columns=512, data_bits=16,
    tRCD=20, tRP=20, tRAS=44, tRC=66, tRFC=66, tRRD=15, tWR=15, tMRD=2,
    tREFI=64e6 / 8192, power_up=100e3, cl2_min_period=10, min_period=7.5)
