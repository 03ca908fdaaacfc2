"""SLIP framing (RFC 1055) in gateware: the twins of the host's
:func:`~epfpga.contract.protocol.slip_encode` and :class:`~epfpga.contract.protocol.FrameDecoder`.

``END`` (0xC0) delimits frames; inside a frame ``END`` is sent as ``ESC ESC_END`` and ``ESC``
(0xDB) as ``ESC ESC_ESC``.  The decoder needs no buffer and the encoder no lookahead, so both
stream at one byte a cycle.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.protocol import END, ESC, ESC_END, ESC_ESC
from .crc import crc16_next

#: A decoded symbol: a frame byte, or the delimiter (``end``), or an ``error`` (a broken escape,
#: a UART framing error); ``lost``: symbols before this one were dropped (:mod:`.rx_queue`).
SYMBOL = data.StructLayout({"byte": 8, "end": 1, "error": 1, "lost": 1})
#: A frame byte to send, ``last`` on the final one (the encoder appends the CRC and ``END``).
FRAME_BYTE = data.StructLayout({"byte": 8, "last": 1})


class SlipDecoder(wiring.Component):
    """Wire bytes in, frame symbols out.

    Attributes
    ----------
    wire : In(stream.Signature(8, always_ready=True))
        Bytes as the UART received them.
    wire_error : In(1)
        The UART's framing error (a byte it dropped): an ``error`` symbol, in its place.
    symbols : Out(stream.Signature(SYMBOL, always_ready=True))
        One symbol per wire byte that is not the first half of an escape: ``end`` for
        ``END``, ``error`` for ``ESC`` followed by anything but ``ESC_END``/``ESC_ESC`` (the
        byte after it is dropped; an ``END`` after it is ``end`` and ``error`` both: the frame
        ends, broken), else the frame byte.

    Latency: one cycle from a wire byte (or a framing error) to its symbol; never applies
    back-pressure.
    """

    def __init__(self):
        super().__init__({"wire": In(stream.Signature(8, always_ready=True)), "wire_error": In(1),
                          "symbols": Out(stream.Signature(SYMBOL, always_ready=True))})

    def elaborate(self, platform) -> Module:
        m = Module()
        escaped = Signal()
        byte = self.wire.payload
        m.d.sync += self.symbols.valid.eq(0)
        with m.If(self.wire_error):     # (never beside a byte: the UART drops the byte it flags)
            m.d.sync += [escaped.eq(0), self.symbols.valid.eq(1), self.symbols.payload.end.eq(0),
                         self.symbols.payload.error.eq(1)]
        with m.Elif(self.wire.valid):
            with m.If(byte == END):
                m.d.sync += [escaped.eq(0), self.symbols.valid.eq(1), self.symbols.payload.end.eq(1),
                             self.symbols.payload.error.eq(escaped)]
            with m.Elif(escaped):
                m.d.sync += [escaped.eq(0), self.symbols.valid.eq(1), self.symbols.payload.end.eq(0),
                             self.symbols.payload.error.eq((byte != ESC_END) & (byte != ESC_ESC)),
                             self.symbols.payload.byte.eq(Mux(byte == ESC_END, END, ESC))]
            with m.Elif(byte == ESC):
                m.d.sync += escaped.eq(1)
            with m.Else():
                m.d.sync += [self.symbols.valid.eq(1), self.symbols.payload.end.eq(0),
                             self.symbols.payload.error.eq(0), self.symbols.payload.byte.eq(byte)]
        return m


class FrameEncoder(wiring.Component):
    """Frame bytes in, wire bytes out: ``END``, the escaped bytes and their CRC-16/IBM-3740
    (big-endian), ``END``.

    Attributes
    ----------
    frame : In(stream.Signature(FRAME_BYTE))
        Header and payload of one frame; ``last`` marks its final byte.
    wire : Out(stream.Signature(8))
        Bytes for the UART transmitter.
    busy : Out(1)
        A frame is being sent (until its closing ``END`` has been accepted).

    Latency: the leading ``END`` goes out as soon as a frame byte is offered; a frame byte is
    taken the cycle after the previous one's last wire byte was accepted, so the encoder runs
    at the transmitter's pace.
    """

    def __init__(self):
        super().__init__({"frame": In(stream.Signature(FRAME_BYTE)), "wire": Out(stream.Signature(8)),
                          "busy": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        crc = Signal(16, init=0xFFFF)
        current = Signal(8)               # the byte being sent
        part = Signal(range(3))           # of the frame: a frame byte, the CRC's high byte, its low byte
        last = Signal()
        second = Signal()                 # the second half of an escape is due

        special = (current == END) | (current == ESC)
        m.d.comb += self.wire.payload.eq(Mux(second, Mux(current == END, ESC_END, ESC_ESC),
                                             Mux(special, ESC, current)))
        with m.FSM() as fsm:
            with m.State("IDLE"):
                with m.If(self.frame.valid):
                    m.d.comb += [self.wire.valid.eq(1), self.wire.payload.eq(END)]
                    with m.If(self.wire.ready):
                        m.next = "TAKE"
            with m.State("TAKE"):
                m.d.comb += self.frame.ready.eq(1)
                with m.If(self.frame.valid):
                    m.d.sync += [current.eq(self.frame.payload.byte), last.eq(self.frame.payload.last),
                                 crc.eq(crc16_next(crc, self.frame.payload.byte)), part.eq(0)]
                    m.next = "SEND"
            with m.State("SEND"):
                m.d.comb += self.wire.valid.eq(1)
                with m.If(self.wire.ready):
                    m.d.sync += second.eq(special & ~second)
                    with m.If(~special | second):   # this byte is out
                        with m.If(part == 1):
                            m.d.sync += [current.eq(crc[:8]), part.eq(2)]
                        with m.Elif(part == 2):
                            m.next = "CLOSE"
                        with m.Elif(last):
                            m.d.sync += [current.eq(crc[8:]), part.eq(1)]
                        with m.Else():
                            m.next = "TAKE"
            with m.State("CLOSE"):
                m.d.comb += [self.wire.valid.eq(1), self.wire.payload.eq(END)]
                with m.If(self.wire.ready):
                    m.d.sync += crc.eq(0xFFFF)
                    m.next = "IDLE"
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE"))
        return m
