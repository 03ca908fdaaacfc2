"""The core's host bus shared by the protocol engine and the epoch runner.

The engine is the host's, so it never waits: its request is registered, and in the next cycle it
goes to the core, the runner's request of that cycle waiting (``grant`` low).  What goes to the
core is registered too.  Both registers keep the core's address, write data and enables off the
masters' state logic: without them the resident `digits` build's critical paths ran from the
engine's and the feeder's state registers into the core's write decode (61.8 and 62.2 MHz).
The core answers every read :data:`~epfpga.contract.address_map.READ_LATENCY` cycles after it
sees it, in order, so a read's owner travels beside it that many registers more and picks whose
``rvalid`` the answer is.
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.address_map import READ_LATENCY
from epfpga.contract.params import HOST_DATA_BITS

#: Cycles the arbiter adds to the engine's requests and to the runner's (from ``grant``); none
#: to the answers.
ENGINE_LATENCY, RUNNER_LATENCY = 2, 1


class HostBus(wiring.Signature):
    """The core's host bus from the side that asks (``hdl/core.py``): ``we`` a write taken at the
    edge, ``re`` a read answered by ``rvalid`` :data:`READ_LATENCY` cycles later."""

    def __init__(self):
        super().__init__({"addr": Out(32), "wdata": Out(HOST_DATA_BITS), "we": Out(1), "re": Out(1),
                          "rdata": In(HOST_DATA_BITS), "rvalid": In(1)})


class BusMaster(wiring.Signature):
    """A second master of the core's host bus: :class:`HostBus` with ``grant``, in whose cycle a
    held request (``we`` or ``re``) is taken."""

    def __init__(self):
        super().__init__({**HostBus().members, "grant": In(1)})


class BusArbiter(wiring.Component):
    """The engine's requests first, the runner's in the cycles the engine leaves.

    Attributes
    ----------
    engine : In(HostBus())
    runner : In(BusMaster())
    core : Out(HostBus())

    Latency: :data:`ENGINE_LATENCY` and :data:`RUNNER_LATENCY`.
    """

    def __init__(self):
        super().__init__({"engine": In(HostBus()), "runner": In(BusMaster()), "core": Out(HostBus())})

    def elaborate(self, platform) -> Module:
        m = Module()
        runner, core = self.runner, self.core
        engine = Signal(data.StructLayout({"addr": 32, "wdata": HOST_DATA_BITS, "we": 1, "re": 1}))
        m.d.sync += [engine.addr.eq(self.engine.addr), engine.wdata.eq(self.engine.wdata),
                     engine.we.eq(self.engine.we), engine.re.eq(self.engine.re)]
        asks = engine.we | engine.re
        owner = runner.re & ~asks       # the runner's read, taken this cycle
        for _ in range(RUNNER_LATENCY + READ_LATENCY):
            later = Signal()
            m.d.sync += later.eq(owner)
            owner = later
        m.d.comb += [runner.grant.eq(~asks), self.engine.rdata.eq(core.rdata), runner.rdata.eq(core.rdata),
                     self.engine.rvalid.eq(core.rvalid & ~owner), runner.rvalid.eq(core.rvalid & owner)]
        with m.If(asks):
            m.d.sync += [core.addr.eq(engine.addr), core.wdata.eq(engine.wdata), core.we.eq(engine.we),
                         core.re.eq(engine.re)]
        with m.Else():
            m.d.sync += [core.addr.eq(runner.addr), core.wdata.eq(runner.wdata), core.we.eq(runner.we),
                         core.re.eq(runner.re)]
        return m
