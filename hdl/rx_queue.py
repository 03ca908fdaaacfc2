"""The receive queue: the device keeps receiving while it executes a frame and answers it.

The protocol engine takes a frame's symbols only while it waits for a frame; the link does not
wait for it.  So the decoded symbols go through a FIFO in block RAM that holds what arrives
meanwhile: the requests a host sends without
waiting for each reply, and the frame right behind garbage that the engine answers first.  A
symbol that finds the queue full is dropped, counted (:attr:`RxQueue.lost`) and marked on the
next symbol that gets in (``lost``), so the frame it belonged to is answered ``OVERFLOW``
(``docs/protocol.md`` §4).
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from epfpga.contract.protocol import RX_QUEUE

from .block_ram import block_read
from .slip import SYMBOL

#: Cycles from a symbol in to the same symbol out of an empty queue.
LATENCY = 4


class RxQueue(wiring.Component):
    """Symbols in as they arrive, out as the engine takes them.

    A block RAM of ``depth`` symbols with a write and a read pointer (one bit wider than its
    address, so that full and empty differ), and the symbol at the front in a register of its
    own (the block RAM's data is slow).  Not :class:`~amaranth.lib.fifo.SyncFIFOBuffered`: its
    level counter and its general depth cost 90 LUTs on the iCE40, where the iCEBreaker's
    system has none to spare; the queue gives a symbol every fourth cycle at best, the engine
    takes one every third at most, and the wire brings one every 40 or more.

    Parameters
    ----------
    depth : int
        Symbols the block RAM holds, a power of two; with the front, ``depth + 1`` wait.  The
        system gives :func:`~epfpga.contract.protocol.rx_queue` of its largest payload, the
        window hosts rely on (one largest frame and its delimiters, rounded up to a power of
        two; at 1,024 bytes: two DP16KD on the ECP5, six SB_RAM40_4K on the iCE40).

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

    def __init__(self, depth: int = RX_QUEUE):
        if depth < 2 or depth & (depth - 1):
            raise ValueError(f"a receive queue of {depth} symbols: it needs a power of two, at least 2")
        self.depth = depth
        super().__init__({"symbols": In(stream.Signature(SYMBOL, always_ready=True)),
                          "queued": Out(stream.Signature(SYMBOL)), "lost": Out(1), "empty": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        bits = ceil_log2(self.depth)
        store = m.submodules.store = memory.Memory(shape=SYMBOL.size, depth=self.depth, init=[])
        # (a read meets a write of its word only where the queue is empty, and is not used then)
        write, read = store.write_port(), block_read(m, store, platform, "store")
        head, tail = Signal(bits + 1), Signal(bits + 1)       # the next to read, the next to write
        empty = head == tail
        full = (head[bits] != tail[bits]) & (head[:bits] == tail[:bits])

        dropped = Signal()    # symbols were dropped since the last one that got in
        entry = Signal(SYMBOL)
        take = self.symbols.valid & ~full
        m.d.comb += [entry.eq(self.symbols.payload), entry.lost.eq(dropped),
                     write.addr.eq(tail[:bits]), write.data.eq(entry), write.en.eq(take),
                     self.lost.eq(self.symbols.valid & full)]
        with m.If(self.symbols.valid):
            m.d.sync += dropped.eq(full)
        with m.If(take):
            m.d.sync += tail.eq(tail + 1)

        # the front: a read when it is free, its data registered as it comes (the block RAM's
        # output is slow, and the register can sit beside it: the routed P = 32 build's critical
        # path ran from the block RAM across the die), then into the front a cycle later
        reading, arriving = Signal(), Signal()
        data = Signal(SYMBOL, reset_less=True)
        front = Signal(SYMBOL, reset_less=True)
        fetch = ~self.queued.valid & ~reading & ~arriving & ~empty
        m.d.comb += [read.addr.eq(head[:bits]), self.queued.payload.eq(front),
                     self.empty.eq(empty & ~reading & ~arriving & ~self.queued.valid & ~self.symbols.valid)]
        m.d.sync += [reading.eq(fetch), arriving.eq(reading), data.eq(read.data)]
        with m.If(fetch):
            m.d.sync += head.eq(head + 1)
        with m.If(arriving):
            m.d.sync += [front.eq(data), self.queued.valid.eq(1)]
        with m.Elif(self.queued.ready):
            m.d.sync += self.queued.valid.eq(0)
        return m
