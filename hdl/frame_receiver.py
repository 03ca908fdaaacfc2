"""The frame receiver: a request's decoded symbols into the frame buffer, with its CRC, its
length and its first bytes (the fields the checks read) kept beside them.

Nothing here judges the frame: the protocol engine (:mod:`.protocol_engine`) checks it once
it has :attr:`FrameReceiver.ended`, from what this holds, and reads its payload back from the
buffer.  Its golden twin is the frame itself: the bytes between two ``END`` symbols, and
:func:`~epfpga.contract.protocol.crc16` over them.
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from epfpga.contract.protocol import MAX_FRAME, frame_layout

from .block_ram import block_read
from .crc import crc16_next
from .slip import SYMBOL

FRAME = frame_layout()    # the bytes of a request that the checks and the execution read
#: Cycles from a buffer address to its byte on :attr:`FrameReceiver.read`'s ``data``: the
#: block RAM's read, then a register (a block RAM's output is slow).
READ_LATENCY = 2


class BufferRead(wiring.Signature):
    """A read of a frame buffer of ``size`` bytes: ``data`` is byte ``addr``,
    :data:`READ_LATENCY` cycles later, and keeps its value while ``hold``."""

    def __init__(self, size: int = MAX_FRAME):
        super().__init__({"addr": Out(ceil_log2(size)), "hold": Out(1), "data": In(8)})


class FrameReceiver(wiring.Component):
    """Symbols in while :attr:`enable`, one frame at a time, into a buffer of ``size`` bytes
    (the build's largest frame, :func:`~epfpga.contract.protocol.max_frame`).

    Attributes
    ----------
    symbols : In(stream.Signature(SYMBOL))
        From the receive queue; taken only while :attr:`enable`.
    enable : In(1)
        The engine waits for a frame.  While it is low the next frame is prepared: the count,
        the CRC and the flags clear at each edge, so they hold the frame that ended only in the
        first cycle after :attr:`ended`.
    clear_head : In(1)
        Zero :attr:`head` (the next frame's first bytes arrive into zeros, so a frame too short
        to carry a ``seq`` is answered with 0).
    ended : Out(1)
        An ``END`` (or an error or lost symbol followed by one) closed a frame: a pulse, with
        the symbol taken.  Two ``END`` in a row are an empty frame, and do not end one.
    head : Out(FRAME)
        The frame's first bytes: its header and the commands' leading fields.
    count : Out(range(size + 1))
        Bytes in the buffer (at most ``size``).
    crc_ok : Out(1)
        The CRC over the bytes, their CRC included, is 0.
    framing, overflow : Out(1)
        An ``error`` symbol came; a ``lost`` one came, or the frame outgrew the buffer.
    error_taken : Out(1)
        An ``error`` symbol was taken this cycle (the link's ``rx_errors``).
    empty : Out(1)
        No byte and no flag of a frame yet.
    read : In(BufferRead())
        The engine's reads of the buffer.

    Latency: a symbol is in the buffer, the CRC and :attr:`head` the cycle after it is taken.
    """

    def __init__(self, size: int = MAX_FRAME):
        self.size = size
        super().__init__({
            "symbols": In(stream.Signature(SYMBOL)), "enable": In(1), "clear_head": In(1),
            "ended": Out(1), "head": Out(FRAME), "count": Out(range(size + 1)), "crc_ok": Out(1),
            "framing": Out(1), "overflow": Out(1), "error_taken": Out(1), "empty": Out(1),
            "read": In(BufferRead(size)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        buf = m.submodules.buffer = memory.Memory(shape=8, depth=self.size, init=[])
        # (the engine reads a frame only after its last byte is written)
        wr, rd = buf.write_port(), block_read(m, buf, platform, "buffer")
        m.d.comb += rd.addr.eq(self.read.addr)
        with m.If(~self.read.hold):
            m.d.sync += self.read.data.eq(rd.data)

        crc = Signal(16, init=0xFFFF)
        symbol = self.symbols.payload
        take = self.symbols.valid & self.enable
        m.d.comb += [self.symbols.ready.eq(self.enable), wr.addr.eq(self.count), wr.data.eq(symbol.byte),
                     self.crc_ok.eq(crc == 0), self.error_taken.eq(take & symbol.error),
                     self.empty.eq((self.count == 0) & ~self.framing & ~self.overflow),
                     self.ended.eq(take & symbol.end & (~self.empty | symbol.error | symbol.lost))]
        byte = take & ~symbol.error & ~symbol.end
        with m.If(take):
            with m.If(symbol.lost):
                m.d.sync += self.overflow.eq(1)
            with m.If(symbol.error):
                m.d.sync += self.framing.eq(1)
            with m.Elif(~symbol.end):
                with m.If(self.count == self.size):
                    m.d.sync += self.overflow.eq(1)
                with m.Else():
                    m.d.comb += wr.en.eq(1)
                    m.d.sync += [self.count.eq(self.count + 1), crc.eq(crc16_next(crc, symbol.byte))]
        # each head byte's enable decoded from the count alone (a byte of the head is never the
        # buffer's last): nested under the checks above, it was seven LUTs deep into the head's
        # 100 clock enables, the critical path of a ULX3S build
        with m.If(byte):
            with m.Switch(self.count):
                for b in range(FRAME.size // 8):
                    with m.Case(b):
                        m.d.sync += self.head.as_value()[8 * b:8 * b + 8].eq(symbol.byte)
        with m.If(~self.enable):    # a new frame starts clean
            m.d.sync += [self.count.eq(0), crc.eq(crc.init), self.framing.eq(0), self.overflow.eq(0)]
        with m.If(self.clear_head):
            m.d.sync += self.head.eq(0)
        return m
