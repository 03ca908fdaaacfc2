"""The core's memories, read between registers: one place that knows the device's block RAM.

Every memory the engines and the host share is a :class:`BlockRAM`: one write port with
per-lane enables, registered (a write lands in the cycle after its request; the iCE40's
blocks take it as it is asked, their own write registers the only ones), and one or more
read ports whose address and data are *registered*, :data:`LATENCY` = 3 cycles from the
address to the data (the engines and the host read path use the data as it comes, with no
register of their own).  The request registers end the engines' and the host's address and
enable logic (counters, slots, the port's owner) in a register, so that the wire from it to
the blocks, across the die at large ``P``, is a path of its own.

On the ECP5, a memory that does not ask for LUT RAM (:func:`~.memories.shallow`) and is no
deeper than one ``DP16KD`` column is built from ``DP16KD`` instances with their output register
(``REGMODE OUTREG``) as that register: the block RAM's slow clock-to-out then ends inside the
block, and nothing is left for yosys to add.  Inferred, a memory's non-transparent read port
beside its write port asks for read-before-write across two ports, which the ``DP16KD`` does
not have, so yosys emulates it with a bypass in fabric: a write-address comparator and a
multiplexer between the block and the register (the digits build's critical path).  The
engines never read a word in the cycle it is written, so the instance's undefined collision
is never seen (the simulators' form checks it: :class:`BlockRAM`).  A memory with two read
ports gets one set of blocks for each, written alike (as yosys does).  On the iCE40 a
single-port memory (the weights) is ``SB_SPRAM256KA`` instances.  Elsewhere (Amaranth's
simulator, the simulators' Verilog, the iCE40's other memories) it is a
:class:`~amaranth.lib.memory.Memory` and a register after each read port.  For a device, that
memory's read port is asynchronous, into a register of its own that yosys merges into the
block as its synchronous read, with the memory's ``no_rw_check``: a synchronous read port, as
Amaranth writes it, asks for the old word in a collision, which the iCE40's ``SB_RAM40_4K``
does not give, and yosys emulated it with a second write register and a bypass on every read
port (``docs/toolchain.md``).  On the iCE40 the register after the read is the block's own:
the address is registered twice and the block reads it a cycle later, since a data register
after the block would be ``P`` elements of flip-flops that no LUT feeds, each a logic cell of
its own (``digits`` at P = 4: 306 flip-flops fewer in all).  That read register has no initial
value (:data:`~.device.UNDEFINED_INIT`): nothing reads a port before its first read.  Every
form holds and returns the same words from a port's first read on.

Block shapes on the ECP5, by depth (:func:`dp16kd_shape`): up to 512 words, the 36-bit
pseudo-dual-port mode, two 16-bit or four 9-bit lanes a block (each lane its own 9-bit byte
enables); up to 1,024, the 18-bit mode, two 9-bit lanes a block (byte enables again) or 18
bits of one lane; deeper, the narrow modes (9, 4, 2 or 1 bits) that
hold the whole depth in one block, so that no block's output goes through a depth
multiplexer: each block's bits go straight to their lane.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from amaranth import Array, ClockSignal, Const, Instance, Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.params import SPRAM_BITS, SPRAM_WORDS

from .device import UNDEFINED_INIT, is_ecp5, is_ice40, site
from .distribution import FANOUT, REPLICA, groups
from .memories import MemorySpec

LATENCY = 3           # address registered at the first edge, read at the second, data at the third
# data width -> the address bits below the word (byte enables or sub-row select)
_ADDRESS_SHIFT = {36: 5, 18: 4, 9: 3, 4: 2, 2: 1, 1: 0}
_BYTE = 9


def block_read(m: Module, store: memory.Memory, platform, name: str):
    """A synchronous read port of ``store`` (``addr``, ``en``, ``data`` the cycle after), for a
    memory whose reads never meet a write of their word, or whose data is not used when they
    do: the block's own read, an asynchronous port into a register with no initial value, and
    ``no_rw_check``, which yosys merges into the block RAM (or puts after a LUT-RAM read).  An
    Amaranth synchronous port asks for the old word in a collision, which neither device's
    blocks give across two ports: yosys kept a register of the written word, a bypass and
    the read's register in the fabric, a flip-flop a bit each (on the ECP5 in ``digits``, the
    accumulators', the frame buffer's and the receive queue's: 173 LUT4 and 200 flip-flops)."""
    store.attrs["no_rw_check"] = 1
    port = store.read_port(domain="comb")
    en = Signal(init=1, name=f"{name}_en")
    data = Signal(store.shape, name=f"{name}_data", reset_less=True, attrs={UNDEFINED_INIT: 1})
    with m.If(en):
        m.d.sync += data.eq(port.data)
    return SimpleNamespace(addr=port.addr, en=en, data=data)


@dataclass(frozen=True)
class _Write:
    """The registered write request."""

    addr: Signal
    en: Signal
    data: object


@dataclass(frozen=True)
class Dp16kdShape:
    """How a memory maps to ``DP16KD`` blocks: data ``width`` a block (36: pseudo-dual-port),
    ``lanes_per_block`` lanes side by side in a 36- or 18-bit block (else 1), ``chunks``
    blocks side by side for one lane's element (narrow modes)."""

    width: int
    lanes_per_block: int
    chunks: int

    def blocks(self, lanes: int) -> int:
        return -(-lanes // self.lanes_per_block) * self.chunks


def dp16kd_shape(spec: MemorySpec) -> Dp16kdShape | None:
    """The ``DP16KD`` mapping of ``spec``, or ``None`` where one is not made (deeper than a
    block, or elements wider than 36 bits)."""
    bits = spec.shape.elem_shape.width
    if spec.depth <= 512 and bits <= 4 * _BYTE:
        return Dp16kdShape(36, 4 // -(-bits // _BYTE), 1)
    if spec.depth <= 1024 and bits <= _BYTE:
        return Dp16kdShape(18, 2, 1)
    for width, words in ((18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384)):
        if spec.depth <= words:
            return Dp16kdShape(width, 1, -(-bits // width))
    return None


def ecp5_blocks(spec: MemorySpec) -> Dp16kdShape | None:
    """The ``DP16KD`` mapping the ECP5 gives ``spec``: ``None`` for LUT RAM (a style) or where
    no block shape holds it."""
    return dp16kd_shape(spec) if spec.style is None else None


def uses_dp16kd(spec: MemorySpec, platform) -> bool:
    return is_ecp5(platform) and ecp5_blocks(spec) is not None


def spram_blocks(spec: MemorySpec) -> int:
    """``SB_SPRAM256KA`` a lane of a single-port memory on the iCE40, one after the other in
    depth (its elements at most 16 bits)."""
    if spec.shape.elem_shape.width > SPRAM_BITS:
        raise ValueError(f"memory {spec.name}: {spec.shape.elem_shape.width}-bit elements do not fit a "
                         f"{SPRAM_BITS}-bit SPRAM")
    return -(-spec.depth // SPRAM_WORDS)


def port_writable(shape: Dp16kdShape) -> bool:
    """Whether the blocks' read side can write as well (:class:`BlockRAM`'s ``port_writes``):
    a lane's element a block, both ports as wide (the 36-bit mode is pseudo-dual-port)."""
    return shape.lanes_per_block == 1 and shape.width < 36


def writes_in_blocks(spec: MemorySpec, ecp5: bool) -> bool:
    """Whether ``spec``'s read side writes in its own blocks on a board (on the ECP5, in a
    :func:`port_writable` mode of ``DP16KD`` blocks): where it does not, a port write would
    be the write port's multiplexer all the same, one address multiplexer deeper."""
    shape = ecp5_blocks(spec)
    return ecp5 and shape is not None and port_writable(shape)


def port_write_signature(spec: MemorySpec) -> wiring.Signature:
    """A write at a read port's address: per-lane enables and the word (the port's side, as
    ``spec.write_signature()`` is)."""
    return wiring.Signature({"en": In(spec.lanes), "data": In(spec.shape)})


def block_lanes(spec: MemorySpec, k: int) -> range:
    """The lanes whose bits block ``k`` of a set of ``DP16KD`` blocks of ``spec`` holds."""
    shape = dp16kd_shape(spec)
    if shape.lanes_per_block > 1 or shape.width == 36:     # lanes side by side, in bytes
        return range(k * shape.lanes_per_block, min(spec.used_lanes, (k + 1) * shape.lanes_per_block))
    return range(k // shape.chunks, k // shape.chunks + 1)


def block_name(spec: MemorySpec, port: int, k: int) -> str:
    """The name of block ``k`` of read port ``port``'s set (a floorplan's key, :func:`.device.site`)."""
    return f"{spec.name}.r{port}_bram{k}"


def dp16kd_blocks(spec: MemorySpec, read_ports: int = 1) -> int:
    """The ``DP16KD`` blocks of ``spec`` on the ECP5 (0 for LUT RAM and yosys' memories):
    one set of blocks a read port, all written alike."""
    shape = ecp5_blocks(spec)
    return read_ports * shape.blocks(spec.used_lanes) if shape else 0


class BlockRAM(wiring.Component):
    """``spec.depth`` words of ``spec.lanes`` elements, read through a register.

    Parameters
    ----------
    spec : MemorySpec
    read_ports : int
        Number of read ports.
    single_port : bool
        The memory has one port, shared by the read and the write (the weight memories:
        :func:`~.update_plan.single_port_weights`).  On the iCE40 such a memory is
        ``SB_SPRAM256KA`` instances, where the write takes the port.
    port_writes : bool
        Read port 0 writes too (:attr:`port_write`: the host's writes, at the address it reads).
        In a ``DP16KD`` mode with a lane a block and both ports as wide (:func:`port_writable`)
        the blocks' read side writes, so that no multiplexer picks between the two writes'
        words, addresses and enables (the ULX3S ``digits``' ``W1_2``: 64 bits); elsewhere the
        write port takes them.

    A read must not meet a write of its word requested in the same cycle (the ``DP16KD`` reads
    then), in the next (the iCE40's blocks read a cycle later) or in the one after (the iCE40's
    blocks take a write as it is asked, with no register of it: its address and word, from the
    engines' registers, would be flip-flops that no LUT of theirs feeds), nor, with one port,
    any write requested in its cycle: the blocks and the SPRAM leave such a read undefined.  Built for the
    simulators (no platform: Amaranth's simulator, the simulators' Verilog) such a read returns
    its word with every bit inverted, held until the next read, so that every bit-exact test
    shows a schedule that breaks the rule on either device.

    Attributes
    ----------
    read : list of ``Out(spec.read_signature())``
        ``data`` is the word at the ``addr`` given :data:`LATENCY` cycles before with ``en``
        high (``en`` low holds the data).
    write : Out(spec.write_signature())
        Per-lane enables (``en`` bit ``l`` writes lane ``l``); the word is written at the
        edge after the next (the request is registered; on the iCE40's blocks at the next),
        so a read requested in the cycle after the write's request returns it.
    port_write : Out(port_write_signature(spec)), with ``port_writes``
        A write at ``read[0].addr``, as :attr:`write` writes, never in a cycle where
        :attr:`write` writes; port 0's read in its cycle returns an undefined word.

    Only ``spec.used_lanes`` are stored; the others read 0 and ignore writes.
    """

    def __init__(self, spec: MemorySpec, read_ports: int = 1, single_port: bool = False, port_writes: bool = False):
        if (single_port or port_writes) and read_ports != 1:
            raise ValueError(f"memory {spec.name}: a single-port memory or one whose read port writes has one "
                             f"read port, not {read_ports}")
        self.spec, self.single_port, self.port_writes = spec, single_port, port_writes
        members = {f"read{k}": Out(spec.read_signature()) for k in range(read_ports)}
        if port_writes:
            members["port_write"] = Out(port_write_signature(spec))
        super().__init__({**members, "write": Out(spec.write_signature())})
        self.read = [getattr(self, f"read{k}") for k in range(read_ports)]

    def elaborate(self, platform) -> Module:
        m = Module()
        # (only the enables need a reset: an address or word is used only where one is high)
        write = _Write(Signal.like(self.write.addr, name="w_addr", reset_less=True), Signal.like(self.write.en, name="w_en"),
                       Signal(self.spec.shape, name="w_data", reset_less=True))
        shape = ecp5_blocks(self.spec) if is_ecp5(platform) else None
        asked = _Write(self.write.addr, self.write.en, self.write.data)
        if self.port_writes and not (shape and port_writable(shape)):    # (the write port takes them)
            port_writing = self.port_write.en.any()
            asked = _Write(Mux(port_writing, self.read[0].addr, asked.addr), asked.en | self.port_write.en,
                           Mux(port_writing, self.port_write.data, asked.data))
        m.d["comb" if is_ice40(platform) and not self.single_port else "sync"] += [
            write.addr.eq(asked.addr), write.en.eq(asked.en), write.data.eq(asked.data)]
        requests = []
        for k, port in enumerate(self.read):
            addr, en = Signal.like(port.addr, name=f"r{k}_addr", reset_less=True), Signal(name=f"r{k}_en")
            m.d.sync += [addr.eq(port.addr), en.eq(port.en)]
            requests.append((addr, en, port.data))
        if shape:
            for k, request in enumerate(requests):
                self._dp16kd(m, shape, write, request, k, platform)
            return m
        if self.single_port and is_ice40(platform):
            self._spram(m, write, requests[0])
            return m
        used = self.spec.used_lanes
        store = m.submodules.memory = self.spec.build(platform)
        if platform is not None:    # (a read beside a write of its word is undefined, as in the blocks)
            store.attrs["no_rw_check"] = 1
        port = store.write_port(granularity=1)
        m.d.comb += [port.addr.eq(write.addr), port.en.eq(write.en[:used]),
                     *[port.data[l].eq(write.data[l]) for l in range(used)]]
        for k, (addr, en, data) in enumerate(requests):    # (the unused lanes' data stays 0)
            if is_ice40(platform):
                # the block reads the address a cycle later, straight into its data: a second
                # address register, where a data register would hold P elements in flip-flops
                # that no LUT feeds, a logic cell each
                late_addr, late_en = self._request(m, addr, en, f"r{k}_late_")
                read = block_read(m, store, platform, f"r{k}")
                m.d.comb += [read.addr.eq(late_addr), read.en.eq(late_en), *[data[l].eq(read.data[l]) for l in range(used)]]
                continue
            registered = Signal(store.shape, name=f"r{k}_data", reset_less=True)
            if platform is None:
                word, late = self._checked_read(m, store, write, addr, en, k)
                m.d.sync += registered.eq(word)
                if late is not None:
                    poisoned = self._late_poison(m, write, *late, k)
                    m.d.comb += [data[l].eq(registered[l] ^ poisoned.replicate(len(registered[l]))) for l in range(used)]
                    continue
            m.d.comb += [data[l].eq(registered[l]) for l in range(used)]
            if platform is None:
                continue
            inferred = store.read_port(domain="comb")
            word = Signal(store.shape, name=f"r{k}_word", reset_less=True)
            m.d.comb += inferred.addr.eq(addr)
            with m.If(en):    # (merged into the block with no_rw_check: see above)
                m.d.sync += word.eq(inferred.data)
            m.d.sync += registered.eq(word)
        return m

    @staticmethod
    def _request(m: Module, addr, en, prefix: str):
        """The read request, registered."""
        addr_q, en_q = Signal.like(addr, name=f"{prefix}addr", reset_less=True), Signal(name=f"{prefix}en")
        m.d.sync += [addr_q.eq(addr), en_q.eq(en)]
        return addr_q, en_q

    def _checked_read(self, m: Module, store, write: _Write, addr, en, k: int):
        """The simulators' read of the registered request, and where the memory has two ports the
        request registered again (for :meth:`_late_poison`): the word, inverted where the read
        meets a write it may not meet, and held so until the next read.  With one port, any
        write requested in the read's cycle; with two, a write of its word requested in the
        read's cycle (the ECP5's blocks read then), in the next (the iCE40's read a cycle later)
        or in the one after (the iCE40's take their writes unregistered), so that a schedule the
        simulators pass holds on both.  (The last is seen after the word is in its register:
        :meth:`_late_poison` inverts the register's output.)"""
        inferred = store.read_port()
        m.d.comb += [inferred.addr.eq(addr), inferred.en.eq(en)]
        word = inferred.data.as_value()
        late = None
        if self.single_port:
            clashes = [(en, write.en.any())]
        else:
            late_addr, late_en = late = self._request(m, addr, en, f"r{k}_late_")
            clashes = [(en, write.en.any() & (write.addr == addr)), (late_en, write.en.any() & (write.addr == late_addr))]
        for j, (reading, clash) in enumerate(clashes):
            held = Signal(name=f"r{k}_poisoned{j}")
            with m.If(reading):
                m.d.sync += held.eq(clash)
            # (the first is held from the read's request, the second decided in the read's cycle)
            poisoned = held if j == 0 else Mux(reading, clash, held)
            word = word ^ poisoned.replicate(len(word))
        return word, late

    def _late_poison(self, m: Module, write: _Write, late_addr, late_en, k: int):
        """Whether the read of port ``k`` (its request, :meth:`_checked_read`'s second register
        of it) met a write of its word requested two cycles after it (the simulators' form, the
        writes registered): decided as the word comes, and held with it until the next read."""
        last_addr, last_en = self._request(m, late_addr, late_en, f"r{k}_last_")
        clash, held = write.en.any() & (write.addr == last_addr), Signal(name=f"r{k}_poisoned2")
        with m.If(last_en):
            m.d.sync += held.eq(clash)
        return Mux(last_en, clash, held)

    def _spram(self, m: Module, write: _Write, request) -> None:
        """:func:`spram_blocks` ``SB_SPRAM256KA`` a lane, one after the other in depth: the
        registered write takes the port, else the registered read; the read data is registered
        after the block in the cycle after a read (a write changes the SPRAM's ``DATAOUT``)."""
        read_addr, read_en, read_data = request
        bits, depth_blocks = self.spec.shape.elem_shape.width, spram_blocks(self.spec)
        writing = write.en.any()
        addr = Signal(max(14, len(write.addr)), name="sp_addr")
        m.d.comb += addr.eq(Mux(writing, write.addr, read_addr))
        select, read_select = addr[14:], Signal(max(1, len(addr) - 14), name="sp_read_select")
        reading, read_done = read_en & ~writing, Signal(name="sp_read_done")
        m.d.sync += read_done.eq(reading)
        with m.If(reading):
            m.d.sync += read_select.eq(select)
        for lane in range(self.spec.used_lanes):
            outs = []
            for d in range(depth_blocks):
                din, dout = Signal(SPRAM_BITS, name=f"sp_di{lane}_{d}"), Signal(SPRAM_BITS, name=f"sp_do{lane}_{d}")
                m.d.comb += din.eq(write.data.as_value()[lane * bits:(lane + 1) * bits])
                here = (select == d) if depth_blocks > 1 else Const(1)
                m.submodules[f"spram{lane}_{d}"] = Instance(
                    "SB_SPRAM256KA",
                    i_ADDRESS=addr[:14], i_DATAIN=din,
                    i_MASKWREN=0b1111, i_WREN=write.en[lane] & here,
                    i_CHIPSELECT=(write.en[lane] | reading) & here,
                    i_CLOCK=ClockSignal("sync"), i_STANDBY=0, i_SLEEP=0, i_POWEROFF=1, o_DATAOUT=dout)
                outs.append(dout[:bits])
            registered = Signal(bits, name=f"sp_data{lane}", reset_less=True)
            with m.If(read_done):
                m.d.sync += registered.eq(Array(outs)[read_select] if depth_blocks > 1 else outs[0])
            m.d.comb += read_data.as_value()[lane * bits:(lane + 1) * bits].eq(registered)

    def _dp16kd(self, m: Module, shape: Dp16kdShape, write: _Write, request, port: int, platform) -> None:
        """One set of blocks: port A of each takes every ``write`` (registered), port B serves
        ``request`` (the registered address and enable, and the read port's data) and, for
        port 0 with ``port_writes`` where the mode allows, the port writes at its address.  The
        addresses and the read enable are registered once per :data:`~.distribution.FANOUT`
        blocks, each copy beside its blocks: a wide memory's blocks span the die, and one
        register would drive them all."""
        _, _, read_data = request
        prefix = f"r{port}_"
        bits = self.spec.shape.elem_shape.width
        lanes = self.spec.used_lanes     # (the unused lanes' data stays 0)
        shift = _ADDRESS_SHIFT[shape.width]
        count = groups(shape.blocks(lanes))

        def copies(value, name: str, reset_less: bool = True) -> list:
            out = [Signal.like(value, name=f"{prefix}{name}{j}", reset_less=reset_less, attrs={REPLICA: 1})
                   for j in range(count)]
            m.d.sync += [copy.eq(value) for copy in out]
            return out

        write_addrs, read_addrs = copies(self.write.addr, "w_addr"), copies(self.read[port].addr, "addr")
        read_ens = copies(self.read[port].en, "en", reset_less=False)
        port_writes = self.port_writes and port == 0 and port_writable(shape)
        if port_writes:     # (registered as the write port's request is)
            pw_en = Signal.like(self.port_write.en, name=f"{prefix}pw_en")
            pw_data = Signal(self.spec.shape, name=f"{prefix}pw_data", reset_less=True)
            m.d.sync += [pw_en.eq(self.port_write.en), pw_data.eq(self.port_write.data)]
        for k in range(shape.blocks(lanes)):
            write_addr, read_addr, read_en = write_addrs[k // FANOUT], read_addrs[k // FANOUT], read_ens[k // FANOUT]
            read_write = Const(0)
            din, dout = Signal(36, name=f"{prefix}di{k}"), Signal(36, name=f"{prefix}do{k}")
            if shape.lanes_per_block > 1 or shape.width == 36:     # lanes side by side, in bytes
                byte_count = shape.width // _BYTE
                bytes_per_lane = byte_count // shape.lanes_per_block
                # the 36-bit mode reads {DOB, DOA}; the 18-bit mode writes DIA and reads DOB
                data_in, data_out = (din, dout) if shape.width == 36 else (din[:18], dout[18:])
                group = block_lanes(self.spec, k)
                enables = Signal(byte_count, name=f"{prefix}be{k}")
                for slot, lane in enumerate(group):
                    base = slot * bytes_per_lane * _BYTE
                    m.d.comb += [data_in[base:base + bits].eq(write.data.as_value()[lane * bits:(lane + 1) * bits]),
                                 read_data.as_value()[lane * bits:(lane + 1) * bits].eq(data_out[base:base + bits])]
                    for b in range(bytes_per_lane):
                        m.d.comb += enables[slot * bytes_per_lane + b].eq(write.en[lane])
                # the byte enables are AD[3:0] (36 bits: WE high, CE the write) or AD[1:0] (18 bits)
                write_low = enables
                write_enable, chip_enable = (Const(1), enables.any()) if shape.width == 36 else (enables.any(), Const(1))
            else:
                lane, chunk = divmod(k, shape.chunks)
                low = chunk * shape.width
                width = min(shape.width, bits - low)
                # port A writes (DIA), port B reads (DOB)
                first = lane * bits + low
                m.d.comb += [din[:width].eq(write.data.as_value()[first:first + width]),
                             read_data.as_value()[first:first + width].eq(dout[18:18 + width])]
                # width 18: AD[1:0] are the byte enables (both bytes); narrower: address bits
                write_low, write_enable, chip_enable = Const(3 if shape.width == 18 else 0, 2), write.en[lane], Const(1)
                if port_writes:     # port B writes DIB too
                    m.d.comb += din[18:18 + width].eq(pw_data.as_value()[first:first + width])
                    read_write = pw_en[lane]
            ada = Signal(14, name=f"{prefix}ada{k}")
            adb = Signal(14, name=f"{prefix}adb{k}")
            m.d.comb += [ada[shift:].eq(write_addr), adb[shift:].eq(read_addr)]
            if shift:
                m.d.comb += ada[:min(shift, len(write_low))].eq(write_low)
                if port_writes:
                    m.d.comb += adb[:min(shift, len(write_low))].eq(write_low)
            ports = {f"i_DIA{b}": din[b] for b in range(18)} | {f"i_DIB{b}": din[18 + b] for b in range(18)}
            ports |= {f"o_DOA{b}": dout[b] for b in range(18)} | {f"o_DOB{b}": dout[18 + b] for b in range(18)}
            ports |= {f"i_ADA{b}": ada[b] for b in range(14)} | {f"i_ADB{b}": adb[b] for b in range(14)}
            for side in "AB":
                ports |= {f"i_CS{side}{b}": 0 for b in range(3)}
                ports |= {f"i_CLK{side}": ClockSignal("sync"), f"i_RST{side}": 0, f"i_OCE{side}": 1}
            m.submodules[f"{prefix}bram{k}"] = Instance(
                "DP16KD",
                p_DATA_WIDTH_A=shape.width, p_DATA_WIDTH_B=shape.width,
                p_REGMODE_A="OUTREG", p_REGMODE_B="OUTREG", p_RESETMODE="SYNC", p_ASYNC_RESET_RELEASE="SYNC",
                p_CSDECODE_A="0b000", p_CSDECODE_B="0b000", p_WRITEMODE_A="NORMAL", p_WRITEMODE_B="NORMAL",
                p_GSR="DISABLED",
                i_WEA=write_enable, i_CEA=chip_enable, i_WEB=read_write, i_CEB=read_en | read_write,
                **ports, **site(platform, block_name(self.spec, port, k)))
