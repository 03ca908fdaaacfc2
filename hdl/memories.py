"""Shapes, depths and port signatures of the core's memories (layout: ``docs/architecture.md``).

Every memory is ``P`` lanes wide (:class:`~amaranth.lib.data.ArrayLayout`), so one read gives
the ``P`` elements a pipeline consumes in a cycle; writes have per-lane enables.  State slots
are a power of two of words apart, so a slot's base is a concatenation, never a multiply.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from amaranth import Cat, Const, Mux, Value, signed, unsigned
from amaranth.lib import data, memory
from amaranth.utils import ceil_log2

from epfpga.contract.address_map import INPUT_BANKS
from epfpga.contract.params import SPRAM_WORDS, CoreParams, ceil_div, pow2_at_least

from .device import is_ecp5


@dataclass(frozen=True)
class MemorySpec:
    """One memory: ``depth`` words of ``lanes`` elements of ``elem``.  ``style`` is the
    synthesis tool's ``ram_style`` on the ECP5 (``"distributed"``: LUT RAM, ``"logic"``:
    flip-flops, for memories so shallow and wide that block RAM would waste its depth,
    :func:`shallow`); ``None``, and every other device (the iCE40 has no LUT RAM), leave the
    choice to the tool."""

    name: str
    elem: object
    lanes: int
    depth: int
    style: str | None = None
    used: int | None = None

    @property
    def shape(self) -> data.ArrayLayout:
        return data.ArrayLayout(self.elem, self.lanes)

    @property
    def used_lanes(self) -> int:
        """The lanes that hold data (``used``, else all): the others of a layer narrower than
        ``P`` are padding, which the engines write as zeros or not at all, so a memory keeps
        only these and reads the rest as 0."""
        return self.used or self.lanes

    @property
    def addr_bits(self) -> int:
        return ceil_log2(self.depth)

    def read_signature(self) -> memory.ReadPort.Signature:
        return memory.ReadPort.Signature(addr_width=self.addr_bits, shape=self.shape)

    def write_signature(self) -> memory.WritePort.Signature:
        return memory.WritePort.Signature(addr_width=self.addr_bits, shape=self.shape, granularity=1)

    def build(self, platform=None, init=()) -> memory.Memory:
        """The memory of the used lanes (:attr:`used_lanes`)."""
        attrs = {"ram_style": self.style} if self.style and is_ecp5(platform) else None
        return memory.Memory(shape=data.ArrayLayout(self.elem, self.used_lanes), depth=self.depth, init=init,
                             attrs=attrs)


def shallow(depth: int) -> str | None:
    """Flip-flops for one or two words, LUT RAM for a memory no deeper than three LUT-RAM cells
    (48 words), else the tool's choice.  At large ``P`` the accumulators, the biases
    and the last layers' weights and states are a few words of thousands of bits, and block RAM
    would use a sliver of each block's depth (784-128-10 at P = 64: ``W_2`` is 20 words of
    1,024 bits, 32 ``DP16KD`` in their 512-word mode, and ``state2`` 38 words, 32 more with its
    two read ports: the 208 blocks would not hold them beside ``W_1``'s 128).  A LUT-RAM cell
    holds 16 words, so a memory of one or two words there would use at most an eighth of each cell's
    depth (``b_1`` at P = 64: 256 cells for 2,048 bits); as flip-flops it is a flip-flop a bit
    and, for two words, a 2-to-1 multiplexer.
    (At ``digits``, P = 4, the 128-word accumulators in LUT RAM cost 48 % more LUTs and 3 MHz:
    measured.)"""
    if depth <= 2:
        return "logic"
    return "distributed" if depth <= 48 else None


def _spec(name: str, elem, lanes: int, depth: int, used: int | None = None) -> MemorySpec:
    return MemorySpec(name, elem, lanes, depth, shallow(depth), used if used is not None and used < lanes else None)


@dataclass(frozen=True)
class LayerMemory:
    """One memory of several layers' weights (or biases): ``layers`` one after the other,
    ``bases`` their first words."""

    spec: MemorySpec
    layers: tuple[int, ...]
    bases: tuple[int, ...]

    def base(self, layer: int) -> int:
        return self.bases[self.layers.index(layer)]


def _stack(p: CoreParams, name: str, elem, depths: dict[int, int], room, used=None) -> list[LayerMemory]:
    """Layers ``depths`` (words, by layer) in as few memories as ``room`` allows: a memory
    takes the next layer while its depth stays within ``room(depth of its first layer)``."""
    groups: list[list[int]] = []
    for n, depth in depths.items():
        if groups and sum(depths[k] for k in groups[-1]) + depth <= room(depths[groups[-1][0]]):
            groups[-1].append(n)
        else:
            groups.append([n])
    out = []
    for layers in groups:
        bases = [sum(depths[k] for k in layers[:j]) for j in range(len(layers))]
        lanes_used = max(used[n] for n in layers) if used else None
        spec = _spec(name + "_".join(str(n) for n in layers), elem, p.lanes, bases[-1] + depths[layers[-1]], lanes_used)
        out.append(LayerMemory(spec, tuple(layers), tuple(bases)))
    return out


def weight_memories(p: CoreParams) -> list[LayerMemory]:
    """The memories of ``W_1 … W_N``.  A memory holds the next layers' weights after its first
    layer's while its depth stays within the power of two that layer's rounds up to: its
    blocks (or LUT-RAM cells) hold that depth anyway.  784-128-10 at P = 64: ``W_2``'s 20 words
    go after ``W_1``'s 1,664 in ``W_1``'s 2,048-word blocks, where on their own they took 512
    LUT-RAM cells, and a weight operand then comes from one memory in either engine.  In SPRAM
    (:attr:`CoreParams.weights_in_spram`) the bound is the depth of the SPRAMs the first layer
    takes: digits' ``W_2`` at P = 4 goes after ``W_1``'s 4,096 words in the lanes' SPRAMs,
    where on its own it took four more of the four, and 784-64-10's at P = 2 after ``W_1``'s
    25,088 words in two SPRAMs a lane (four in all, not six).  On a board with LUT RAM (the
    ECP5, whose 85F has 208 ``DP16KD``) the bound is twice that power of two: a layer's words
    may double the blocks of the first, which costs blocks the board has to spare, not logic.
    ``digits`` at P = 4: ``W_2``'s 640 words go after ``W_1``'s 4,096 in 8,192-word blocks,
    12 ``DP16KD`` more, where on their own their memory's ports and the engines' and the host's
    multiplexers between the two memories were 201 LUT4 and 73 flip-flops."""
    def room(first: int) -> int:
        if p.weights_in_spram:
            return SPRAM_WORDS * ceil_div(first, SPRAM_WORDS)
        return pow2_at_least(first) * (2 if p.lut_ram else 1)
    return _stack(p, "W", signed(p.weight_bits), {n: p.weight_depth(n) for n in range(1, p.layers + 1)}, room)


#: The words a block RAM holds at its widest (the iCE40's 256 x 16; the ECP5's DP16KD holds
#: 512 x 36): a memory of biases this deep in block RAM takes no more blocks than its width does.
BLOCK_WORDS = 256


def bias_memories(p: CoreParams) -> list[LayerMemory]:
    """The memories of ``b_1 … b_N``.  Where the first layer's biases are in block RAM (every
    memory on a board without LUT RAM, :attr:`CoreParams.lut_ram`; one deeper than
    :func:`shallow`'s LUT RAM on the ECP5) the next layers' go after them, up to
    :data:`BLOCK_WORDS` (or the power of two the first's depth rounds up to): ``digits`` at
    P = 4 keeps ``b_2``'s 3 words after ``b_1``'s 64, where on their own they were 393
    flip-flops and 140 LUTs on the iCE40 with their read registers and multiplexers, and 278
    LUT4 and 148 flip-flops on the ECP5.  A first layer's biases in LUT RAM or flip-flops (a few
    words, at large ``P``) stay a memory of their own."""
    def room(first: int) -> int:
        in_block_ram = not p.lut_ram or shallow(first) is None
        return max(BLOCK_WORDS, pow2_at_least(first)) if in_block_ram else first
    return _stack(p, "b", signed(p.weight_bits), {n: p.unit_words(n) for n in range(1, p.layers + 1)}, room,
                  used={n: p.sizes[n] for n in range(1, p.layers + 1)})


def weights(p: CoreParams, layer: int) -> MemorySpec:
    """``W_layer`` as the host sees it (its region): the words of :func:`weight_memory` from
    the layer's base on."""
    return _spec(f"W{layer}", signed(p.weight_bits), p.lanes, p.weight_depth(layer))


def weight_memory(p: CoreParams, layer: int) -> LayerMemory:
    """The memory that holds ``W_layer``."""
    return next(wm for wm in weight_memories(p) if layer in wm.layers)


def biases(p: CoreParams, layer: int) -> MemorySpec:
    """``b_layer`` as the host sees it (its region): the words of :func:`bias_memory` from the
    layer's base on."""
    return _spec(f"b{layer}", signed(p.weight_bits), p.lanes, p.unit_words(layer), p.sizes[layer])


def bias_memory(p: CoreParams, layer: int) -> LayerMemory:
    """The memory that holds ``b_layer``."""
    return next(bm for bm in bias_memories(p) if layer in bm.layers)


def bias_index(p: CoreParams, layer: int) -> int:
    """The place of ``b_layer``'s memory in :func:`bias_memories` (the engines' port arrays)."""
    return bias_memories(p).index(bias_memory(p, layer))


def weight_index(p: CoreParams, layer: int) -> int:
    """The place of ``W_layer``'s memory in :func:`weight_memories`: the engines' port arrays
    are in that order."""
    return weight_memories(p).index(weight_memory(p, layer))


@dataclass(frozen=True)
class PortKind:
    """The engines' ports of a kind of memory (the weights', the biases', the states'): one read
    and one write signature for all of them, with the widest address (a narrower memory takes
    its low bits), so that each engine has an array of them, one per memory."""

    specs: tuple[MemorySpec, ...]

    def __post_init__(self):
        assert len({spec.shape for spec in self.specs}) == 1, self.specs

    @property
    def addr_width(self) -> int:
        return max(spec.addr_bits for spec in self.specs)

    def read(self) -> memory.ReadPort.Signature:
        return memory.ReadPort.Signature(addr_width=self.addr_width, shape=self.specs[0].shape)

    def write(self) -> memory.WritePort.Signature:
        return memory.WritePort.Signature(addr_width=self.addr_width, shape=self.specs[0].shape, granularity=1)


def weight_ports(p: CoreParams) -> PortKind:
    return PortKind(tuple(wm.spec for wm in weight_memories(p)))


def bias_ports(p: CoreParams) -> PortKind:
    return PortKind(tuple(bm.spec for bm in bias_memories(p)))


def state_ports(p: CoreParams) -> PortKind:
    return PortKind(tuple(states(p, n) for n in range(1, p.layers + 1)))


def states(p: CoreParams, layer: int) -> MemorySpec:
    return _spec(f"state{layer}", unsigned(p.state_bits), p.lanes, p.state_depth(layer), p.sizes[layer])


@dataclass(frozen=True)
class Banks:
    """``spec`` held as two memories, ``banks``, where its two read ports never read the same
    one (:class:`~.banked_ram.BankedRAM`): bank 1 holds the words from address ``base`` on,
    at ``addr - base``, or, with ``bit``, those whose address has bit ``bit`` set, at the
    address without that bit."""

    spec: MemorySpec
    banks: tuple[MemorySpec, MemorySpec]
    base: int | None = None
    bit: int | None = None

    def bank(self, addr):
        """The bank of ``addr`` (a value, or an int)."""
        if self.bit is None:
            return addr >= self.base
        return addr[self.bit] if isinstance(addr, Value) else addr >> self.bit & 1

    def local(self, addr, k: int):
        """``addr`` in bank ``k`` (a value, or an int)."""
        if self.bit is None:
            addr = addr - self.base if k else addr
        elif isinstance(addr, Value):
            addr = Cat(addr[:self.bit], addr[self.bit + 1:])
        else:
            addr = addr >> (self.bit + 1) << self.bit | addr & ((1 << self.bit) - 1)
        return addr[:self.banks[k].addr_bits] if isinstance(addr, Value) else addr


def _bank(spec: MemorySpec, name: str, depth: int) -> MemorySpec:
    return replace(spec, name=name, depth=depth, style=shallow(depth))


def state_banks(p: CoreParams, layer: int) -> Banks:
    """The state memory of ``layer`` in two banks: the slots the neuron update reads and writes
    (ping, pong, ``s*`` and phase ``a``'s), then phase ``b``'s, which only the update reads,
    beside phase ``a``'s (:func:`slot_index`)."""
    spec = states(p, layer)
    stride = p.slot_stride(layer)
    base = (3 * p.halves + p.batch) * stride
    return Banks(spec, (_bank(spec, spec.name, base), _bank(spec, f"{spec.name}_b", p.batch * stride)), base=base)


def input_banks(p: CoreParams) -> Banks | None:
    """The input memory in two banks, the even samples' and the odd ones' (the pair's inputs
    are read together: the drive's, and the ``W_1`` update's); none without pairs (one memory
    and one read port then)."""
    if p.halves == 1:
        return None
    spec = inputs(p)
    half = spec.depth // 2
    return Banks(spec, (_bank(spec, "x_even", half), _bank(spec, "x_odd", half)), bit=ceil_log2(p.input_stride))


def accumulators(p: CoreParams, layer: int) -> MemorySpec:
    """The sums of layer ``layer`` for each sample of the pair, a slot stride apart; layer 1's
    also hold the drive ``D_1`` of both samples above them (:func:`acc_address`), which its
    sums start from: a neuron step's first row reads the drive's word where the others read
    the sums', so no multiplexer a lane picks between them, and the drive's words cost no
    LUT-RAM cell of their own where the sums leave a cell's depth unused."""
    depth = (2 if layer == 1 else 1) * p.halves * p.slot_stride(layer)
    return _spec(f"acc{layer}", signed(p.acc_bits), p.lanes, depth)


def acc_address(p: CoreParams, layer: int, half, word, drive=0):
    """Address of ``word`` of sample ``half`` of the pair in the accumulators of ``layer``
    (``drive``: of its drive, layer 1 only)."""
    stride_bits = ceil_log2(p.slot_stride(layer))
    return ((drive << (stride_bits + ceil_log2(p.halves))) | (half << stride_bits) | word)[:accumulators(p, layer).addr_bits]


def inputs(p: CoreParams) -> MemorySpec:
    return _spec("x", unsigned(p.input_bits), p.lanes, INPUT_BANKS * p.batch * p.input_stride)


class SlotCode(enum.IntEnum):
    """State slots as the engines name them (the first four are :class:`firmware.isa.Slot`)."""
    ZERO = 0
    STAR = 1
    A = 2
    B = 3
    PING = 4
    PONG = 5


def slot_index(p: CoreParams, code, sample):
    """Slot number of ``code`` for ``sample``: ping, pong and ``s*`` of the even sample of a
    pair (0, 1, 2) and of the odd one (3, 4, 5; none when ``B = 1``), then the ``B`` slots of
    phase ``a`` and the ``B`` of phase ``b`` (``ZERO`` reads no memory).
    :meth:`CoreParams.state_place` is the inverse the host uses."""
    b = sample if p.batch > 1 else Const(0, 1)
    scratch = 3 * b[0] if p.halves > 1 else 0
    saved = 3 * p.halves
    return Mux(code == SlotCode.A, saved + b,
               Mux(code == SlotCode.B, saved + p.batch + b,
                   scratch + Mux(code == SlotCode.PONG, 1, Mux(code == SlotCode.PING, 0, 2))))


def input_address(p: CoreParams, bank, sample, word):
    """Address of ``word`` of ``sample`` of ``bank`` in the input memory (samples and banks a
    power of two apart: ``B`` is one in fixed point)."""
    return Cat(word[:ceil_log2(p.input_stride)], sample[:ceil_log2(p.batch)], bank)


def slot_address(p: CoreParams, layer: int, slot, word):
    """Address of ``word`` of ``slot`` in the state memory of ``layer``."""
    return ((slot << ceil_log2(p.slot_stride(layer))) | word)[:states(p, layer).addr_bits]
