"""The one parameter object the gateware is elaborated from.

:class:`CoreParams` takes a validated :class:`~epfpga.config.Config`, derives the fixed-point
contract from it (:class:`~epfpga.golden.fixed.formats.FixedSpec`, which proves the
accumulator widths), adds the gateware's own limits and the memory layout, and raises a
:class:`~epfpga.errors.ConfigError` naming the key for anything the gateware cannot run.
Every module of ``hdl/``, ``firmware/`` and the schedule model reads its constants here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

from amaranth import Shape, signed, unsigned

from epfpga.config import Config
from epfpga.errors import ConfigError
from epfpga.golden.fixed.formats import FixedSpec
from epfpga.golden.phases import PHASES
from epfpga.golden.prng import PRNG_BITS

from .address_map import INPUT_BANKS, Reg, Region, layer_region
from .assembler import PROGRAM_DEPTH
from .protocol import TABLE_ENTRIES
from .resident import ResidentReg
from .sdram import ULX3S_SDRAM

MAX_LANES = 64
HOST_DATA_BITS = 32
SPRAM_WORDS, SPRAM_BITS = 16384, 16     # the iCE40UP5K's SB_SPRAM256KA
# The config keys the elaborated datapath depends on (the digest a device reports).  The host
# loads the rest at connect: the program (t1, t2) and the PRNG states (seed).
GATEWARE_KEYS = ("sizes", "activation", "estimator", "nudge", "beta", "batch", "lanes", "lrs", "fixed")
# The version of the arithmetic contract (docs/fixed-point.md), in the digest beside the keys:
# a change that makes the same keys compute differently bumps it.  2: lr_q a power of two.
CONTRACT = 2


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def pow2_at_least(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


@dataclass(frozen=True)
class HostRegion:
    """A region of the host bus: offsets ``[0, limit)`` exist; ``bank_bit``: the offset bit
    that selects the input bank (writable while the core runs on the other one)."""

    region: int
    name: str
    limit: int
    readable: bool
    writable: bool
    bank_bit: int | None = None
    element_bits: int = 32      # of one element, as the memory keeps it
    signed: bool = False        # reads sign-extend it


@dataclass(frozen=True)
class CoreParams:
    """Everything the gateware is elaborated from (build with :meth:`from_config`).

    Attributes
    ----------
    spec : FixedSpec
        The integer contract (formats, shifts, learning rates).
    lanes : int
        ``P``: weights read per cycle; a power of two.

    The components read every constant here (the properties below), never the raw config.
    """

    config: Config
    spec: FixedSpec

    @classmethod
    def from_config(cls, config: Config) -> CoreParams:
        spec = FixedSpec.from_config(config)
        p = config.lanes
        if p & (p - 1) or p > MAX_LANES:
            raise ConfigError("lanes", p, f"the gateware needs a power of two <= {MAX_LANES}")
        if len(config.sizes) < 3:
            raise ConfigError("sizes", list(config.sizes), "the gateware needs at least one hidden layer")
        if config.fixed.rounding == "stochastic":
            # one gateware runs every estimator's program: c = 2 rounds one more bit off
            c_log2 = PHASES[config.estimator].c.bit_length() - 1
            for n in range(1, len(config.sizes)):
                for bias in (False, True):
                    s = spec.update_shift(n, bias) - c_log2 + 1
                    if s > PRNG_BITS:
                        raise ConfigError("fixed.rounding", "stochastic",
                                          f"the symmetric program would drop {s} bits of the update of "
                                          f"{'b' if bias else 'W'}{n}, more than one {PRNG_BITS}-bit draw")
        if spec.wbits > HOST_DATA_BITS:
            raise ConfigError("fixed.weight_bits", spec.wbits,
                              f"the host port is {HOST_DATA_BITS} bits wide")
        return cls(config, spec)

    @cached_property
    def digest(self) -> bytes:
        """16 bytes naming the gateware: SHA-256 of the :data:`GATEWARE_KEYS` of the config and
        the :data:`CONTRACT` as sorted JSON (``docs/protocol.md`` §6), and ``"pairs": false``
        where the build runs one sample at a time (its memories' layout differs; a key only
        then, so the digests of the builds before the option stand)."""
        keys = {k: v for k, v in self.config.to_dict().items() if k in GATEWARE_KEYS} | {"contract": CONTRACT}
        if not self.config.hardware.pairs:
            keys["pairs"] = False
        return hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).digest()[:16]

    @property
    def weights_in_spram(self) -> bool:
        """The board keeps the weights in single-port SPRAM (the iCEBreaker's iCE40UP5K,
        16 K words a block): a weight memory then holds the next layers' weights up to a
        block's depth (:func:`~.memories.weight_memories`)."""
        return self.config.hardware.board == "icebreaker"

    @property
    def lut_ram(self) -> bool:
        """The board's FPGA has LUT RAM (the ECP5's): where it has none (the iCEBreaker's
        iCE40UP5K), a memory is block RAM or, when very shallow, flip-flops."""
        return self.config.hardware.board != "icebreaker"

    @property
    def timing_registers(self) -> bool:
        """The gateware adds the registers that a large die's long wires need and a small
        one's logic cells cannot hold (the iCEBreaker's small system builds only without
        them): most cost a cycle of the host's bus or of the link; the shared operands'
        broadcast costs a cycle a pass and an update block up to 16 lanes, which the schedule
        model follows (:func:`~epfpga.hdl.distribution.operand_lead`)."""
        return self.config.hardware.board != "icebreaker"

    # -- what the datapath computes -------------------------------------------------------------
    @property
    def activation(self) -> str:
        return self.config.activation

    @property
    def nudge_inside(self) -> bool:
        """The MSE nudge is added inside ρ (``nudge = "inside"``), else outside."""
        return self.config.nudge == "inside"

    @property
    def stochastic(self) -> bool:
        """Updates round stochastically (lane PRNG draws), else to nearest."""
        return self.config.fixed.rounding == "stochastic"

    @property
    def update_c_log2(self) -> int:
        """``log2 c`` of the config's estimator: the update shifts are built for it, and the
        ``halve`` input adds one bit for ``c = 2``."""
        return PHASES[self.config.estimator].c.bit_length() - 1

    @property
    def seed(self) -> int:
        """The PRNG streams' reset states are those of this seed (the host may load others)."""
        return self.config.seed

    # -- network ---------------------------------------------------------------------------
    @property
    def sizes(self) -> tuple[int, ...]:
        return self.spec.sizes

    @property
    def layers(self) -> int:
        """``N``: neuron layers (= weight layers)."""
        return len(self.sizes) - 1

    @property
    def lanes(self) -> int:
        return self.config.lanes

    @property
    def lane_bits(self) -> int:
        return (self.lanes - 1).bit_length()

    @property
    def batch(self) -> int:
        return self.config.batch

    @property
    def classes(self) -> int:
        return self.sizes[-1]

    # -- widths ----------------------------------------------------------------------------
    @property
    def state_bits(self) -> int:
        """Unsigned state ``[0, 2**fs]``."""
        return self.spec.fs + 1

    @property
    def input_bits(self) -> int:
        return self.spec.fx + 1

    @property
    def weight_bits(self) -> int:
        return self.spec.wbits

    @property
    def multiplier_shapes(self) -> tuple[Shape, Shape]:
        """Operands of the lanes' multipliers, shared by both engines: a signed weight (neuron
        update) or state difference (weight update, ``state_bits + 2`` with its negation)
        times an unsigned state or input."""
        return (signed(max(self.weight_bits, self.state_bits + 2)),
                unsigned(max(self.state_bits, self.input_bits)))

    @cached_property
    def acc_bits(self) -> int:
        """Neuron accumulator: the widest any layer needs (§8), not the config's upper limit."""
        return max(self.spec.acc_needed(n) for n in range(1, self.layers + 1))

    @cached_property
    def grad_bits(self) -> int:
        """Update accumulator ``v = σ·D·lr_q`` (§8), widest over blocks, plus one bit for the
        rounding offset of the other divisor ``c`` (every estimator's program runs)."""
        return 1 + max(self.spec.grad_needed(n, bias) for n in range(1, self.layers + 1) for bias in (False, True))

    def diff_bits(self, layer: int, bias: bool) -> int:
        """Batch sum ``D`` of a block: ``|D| <= B·2**F`` (§8)."""
        frac = self.spec.fs + (0 if bias else self.spec.pre_frac(layer))
        return 1 + (self.batch << frac).bit_length()

    @property
    def update_share(self) -> int:
        """Lanes that share one rounding and write-back unit of the weight update, one lane a
        cycle: the largest power of two that divides ``P`` and fits in the fewest cycles a
        word's batch sum takes (``W_1``: ``B/halves``), so that a word's lanes are done before the
        next word's sums are."""
        fewest = self.batch // self.halves
        return min(self.lanes, 1 << (fewest.bit_length() - 1))

    # -- memory layout (docs/architecture.md) -----------------------------------------------
    def groups(self, width: int) -> int:
        """Words of ``P`` lanes that hold ``width`` elements (a row padded to whole lanes)."""
        return ceil_div(width, self.lanes)

    def weight_groups(self, layer: int) -> int:
        """``G_n``: words per row of ``W_n`` (its ``n_(n-1)`` columns padded)."""
        return self.groups(self.sizes[layer - 1])

    def weight_depth(self, layer: int) -> int:
        return self.sizes[layer] * self.weight_groups(layer)

    def unit_words(self, layer: int) -> int:
        """Words holding the ``n_n`` units of neuron layer ``layer`` (also its biases)."""
        return self.groups(self.sizes[layer])

    def slot_stride(self, layer: int) -> int:
        """Words per state slot: a power of two, so a slot base is a concatenation."""
        return pow2_at_least(self.unit_words(layer))

    @property
    def halves(self) -> int:
        """Samples a neuron step runs: the pair ``2k, 2k + 1``; one where ``B = 1`` or the
        build runs one sample at a time (``hardware.pairs = false``)."""
        return min(2 if self.config.hardware.pairs else 1, self.batch)

    @property
    def state_slots(self) -> int:
        """Ping, pong and ``s*`` of each sample of the pair, then ``B`` saved states of phase
        ``a`` and ``B`` of phase ``b`` (``memories.slot_index``)."""
        return 3 * self.halves + 2 * self.batch

    def state_place(self, layer: int, addr: int) -> tuple[int, int]:
        """Where a word of the state memory of ``layer`` at ``addr`` belongs: the sample of the
        pair (0 or 1) whose slot it is in, and the unit of its lane 0."""
        slot, word = divmod(addr, self.slot_stride(layer))
        half = slot // 3 if slot < 3 * self.halves else (slot - 3 * self.halves) % self.batch % self.halves
        return half, word * self.lanes

    def state_depth(self, layer: int) -> int:
        return self.state_slots * self.slot_stride(layer)

    @property
    def input_stride(self) -> int:
        return pow2_at_least(self.groups(self.sizes[0]))

    @property
    def label_bits(self) -> int:
        return max(1, (self.classes - 1).bit_length())

    @property
    def input_bank_bit(self) -> int:
        """Offset bit of the input region that selects the bank (banks are a power of two apart)."""
        return (self.batch * self.input_stride - 1).bit_length() + self.lane_bits

    @property
    def label_bank_bit(self) -> int:
        return (self.batch - 1).bit_length()

    def host_regions(self) -> list[HostRegion]:
        """Every region of the host bus, its size and access (``docs/protocol.md`` §4)."""
        lb = self.lane_bits
        out = [HostRegion(Region.CONTROL, "control", len(Reg), True, True),
               HostRegion(Region.PROGRAM, "program", PROGRAM_DEPTH, False, True),
               HostRegion(Region.X, "x", (INPUT_BANKS * self.batch * self.input_stride) << lb, True, True,
                          self.input_bank_bit, self.input_bits),
               HostRegion(Region.Y, "y", INPUT_BANKS * self.batch, False, True, self.label_bank_bit,
                          self.label_bits),
               HostRegion(Region.PRED, "pred", self.batch, True, False, element_bits=self.label_bits),
               HostRegion(Region.PRNG, "prng", self.lanes + 1, True, True)]
        w = {"element_bits": self.weight_bits, "signed": True}
        for n in range(1, self.layers + 1):
            out += [HostRegion(layer_region(n, "W"), f"W{n}", self.weight_depth(n) << lb, True, True, **w),
                    HostRegion(layer_region(n, "b"), f"b{n}", self.unit_words(n) << lb, True, True, **w),
                    HostRegion(layer_region(n, "state"), f"state{n}", self.state_depth(n) << lb, True, False,
                               element_bits=self.state_bits)]
        return out

    @property
    def coded_inputs(self) -> bool:
        """The link takes ``INPUTS`` and has the input table (``hardware.coded_inputs``)."""
        return self.config.hardware.coded_inputs

    @property
    def max_payload(self) -> int:
        """The largest payload a frame of the link carries (``hardware.max_payload``): the
        receive queue and the frame buffer are sized by it."""
        return self.config.hardware.max_payload

    @property
    def sdram(self) -> bool:
        """The build has the board's SDRAM on the host bus (``hardware.sdram``)."""
        return self.config.hardware.sdram

    def link_regions(self) -> list[HostRegion]:
        """The regions served beside the core's: the protocol engine's input table, the
        board's SDRAM (``docs/protocol.md`` §7)."""
        out = []
        if self.coded_inputs:
            out.append(HostRegion(Region.TABLE, "table", TABLE_ENTRIES, False, True, element_bits=self.input_bits))
        if self.sdram:
            out += [HostRegion(Region.SDRAM, "sdram", ULX3S_SDRAM.words, True, True,
                               element_bits=ULX3S_SDRAM.data_bits),
                    HostRegion(Region.SDRAM_CRC, "sdram_crc", 3, True, True),
                    HostRegion(Region.RESIDENT, "resident", len(ResidentReg), True, True)]
        return out

    def memory_bits(self) -> dict[str, int]:
        """Bits of every memory, by name (the formula is in docs/architecture.md)."""
        p = self.lanes
        out: dict[str, int] = {}
        for n in range(1, self.layers + 1):
            out[f"W{n}"] = self.weight_depth(n) * p * self.weight_bits
            out[f"b{n}"] = self.unit_words(n) * p * self.weight_bits
            out[f"state{n}"] = self.state_depth(n) * p * self.state_bits
            if n < self.layers:  # the output layer's sums complete within a row; layer 1's hold the drive too
                out[f"acc{n}"] = (2 if n == 1 else 1) * self.halves * self.slot_stride(n) * p * self.acc_bits
        out["diff"] = self.batch * self.slot_stride(1) * p * (self.state_bits + 1)
        out["x"] = INPUT_BANKS * self.batch * self.input_stride * p * self.input_bits
        out["y"] = INPUT_BANKS * self.batch * self.label_bits
        out["pred"] = self.batch * self.label_bits
        return out
