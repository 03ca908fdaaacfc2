"""The receive queue: the device keeps receiving while it executes a frame and answers it.

The protocol engine takes a frame's symbols only while it waits for a frame; the link does not
wait for it.  So the decoded symbols go through a FIFO (:class:`~amaranth.lib.fifo.SyncFIFOBuffered`,
block RAM on a board) that holds what arrives meanwhile: the requests a host sends without
waiting for each reply, and the frame right behind garbage that the engine answers first.  A
symbol that finds the queue full is dropped, counted (:attr:`RxQueue.lost`) and marked on the
next symbol that gets in (``lost``), so the frame it belonged to is answered ``OVERFLOW``
(``docs/protocol.md`` §4).
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.protocol import RX_QUEUE

from .slip import SYMBOL

#: The default depth, in symbols: the protocol's (one largest frame and its delimiters, rounded
#: up to a power of two: two DP16KD on the ECP5).
DEPTH = RX_QUEUE
#: Cycles from a symbol in to the same symbol out of an empty queue.
LATENCY = 3


class RxQueue(wiring.Component):
    """Symbols in as they arrive, out as the engine takes them.

    Parameters
    ----------
    depth : int
        Symbols the queue holds.

    Attributes
    ----------
    symbols : In(stream.Signature(SYMBOL, always_ready=True))
        From the :class:`~.slip.SlipDecoder`.
    queued : Out(stream.Signature(SYMBOL))
        To the :class:`~.protocol_engine.ProtocolEngine`, in order; ``lost`` set on the first
        one after any that were dropped.
    lost : Out(1)
        One-cycle pulse: a symbol was dropped (the queue was full).
    empty : Out(1)
        No symbol is queued or coming in.

    Latency: :data:`LATENCY` cycles through an empty queue.
    """

    def __init__(self, depth: int = DEPTH):
        if depth < 2:
            raise ValueError(f"a receive queue of {depth} symbols: it needs at least 2")
        self.depth = depth
        super().__init__({"symbols": In(stream.Signature(SYMBOL, always_ready=True)),
                          "queued": Out(stream.Signature(SYMBOL)), "lost": Out(1), "empty": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        queue = m.submodules.fifo = fifo.SyncFIFOBuffered(width=SYMBOL.size, depth=self.depth - 1)   # (+ the head)
        dropped = Signal()    # symbols were dropped since the last one that got in
        entry = Signal(SYMBOL)
        m.d.comb += [entry.eq(self.symbols.payload), entry.lost.eq(dropped),
                     queue.w_data.eq(entry), queue.w_en.eq(self.symbols.valid)]
        # the output in a register of its own: the block RAM's data is slow (timing)
        head = Signal(SYMBOL, reset_less=True)
        m.d.comb += [self.queued.payload.eq(head),
                     queue.r_en.eq(~self.queued.valid | self.queued.ready),
                     self.empty.eq((queue.level == 0) & ~self.queued.valid & ~self.symbols.valid)]
        with m.If(queue.r_en):
            m.d.sync += [self.queued.valid.eq(queue.r_rdy), head.eq(queue.r_data)]
        with m.If(self.symbols.valid):
            m.d.sync += dropped.eq(~queue.w_rdy)
            m.d.comb += self.lost.eq(~queue.w_rdy)
        return m
