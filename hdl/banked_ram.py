"""A memory with two read ports held as two banks of one read port each.

Where two engines' reads of a memory never fall in the same part of it, the memory needs no
second copy for its second read port: the states of phase ``b`` (read only by the update,
beside phase ``a``'s) and the odd samples' inputs (read beside the even ones') go to a bank
of their own (:class:`~.memories.Banks`).  Each bank is a :class:`~.block_ram.BlockRAM`
with one read port, so a state or input memory takes its bits once where it took them once a
read port (on the iCE40 the difference between fitting the 30 EBR and not; on the ECP5 the
second set of ``DP16KD`` blocks).
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from .block_ram import LATENCY, BlockRAM
from .memories import Banks


class BankedRAM(wiring.Component):
    """``banks.spec`` as two banks: read port ``k`` reads bank ``k``, the write goes to the
    bank its address is in.

    Parameters
    ----------
    banks : Banks
        The memory and where its second bank's words are.

    Attributes
    ----------
    read : list of two ``Out(banks.spec.read_signature())``
        As :class:`~.block_ram.BlockRAM`'s read ports (:data:`~.block_ram.LATENCY` cycles from
        the address to the data), in the whole memory's addresses; port ``k`` must address
        bank ``k``.  Built for the simulators (no platform), a read of the other bank returns
        its word inverted, so that every bit-exact test shows a schedule that breaks the rule.
        (The host's reads set both ports' addresses, and its read path picks the bank's.)
    write : Out(banks.spec.write_signature())
        As :class:`~.block_ram.BlockRAM`'s, in the whole memory's addresses.

    Latency: :data:`~.block_ram.LATENCY`, the bank's; the address is mapped to the bank's
    before its request register.
    """

    def __init__(self, banks: Banks):
        self.banks = banks
        spec = banks.spec
        super().__init__({"read0": Out(spec.read_signature()), "read1": Out(spec.read_signature()),
                          "write": Out(spec.write_signature())})
        self.read = [self.read0, self.read1]

    def elaborate(self, platform) -> Module:
        m = Module()
        b = self.banks
        target = b.bank(self.write.addr)
        for k, (spec, port) in enumerate(zip(b.banks, self.read)):
            ram = m.submodules[spec.name] = BlockRAM(spec)
            (read,), write = ram.read, ram.write
            m.d.comb += [write.addr.eq(b.local(self.write.addr, k)), write.data.eq(self.write.data),
                         write.en.eq(Mux(target == k, self.write.en, 0)),
                         read.addr.eq(b.local(port.addr, k)), read.en.eq(port.en)]
            if platform is not None:
                m.d.comb += port.data.eq(read.data)
                continue
            # (the simulators) a read of the other bank, poisoned as BlockRAM poisons a collision
            wrong = b.bank(port.addr) != k
            for t in range(LATENCY):
                later = Signal(name=f"r{k}_wrong{t}")
                with m.If(port.en if t == 0 else 1):
                    m.d.sync += later.eq(wrong)
                wrong = later
            m.d.comb += port.data.eq(read.data.as_value() ^ wrong.replicate(len(port.data.as_value())))
        return m
