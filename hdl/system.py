"""The device: the core behind a UART, speaking the host link's protocol (``docs/protocol.md``).

``rx``/``tx`` go to the board's USB-serial bridge; ``busy``, ``done`` and ``error`` to LEDs.
Where the build has the board's SDRAM (``hardware.sdram``), its controller sits beside the core
and regions ``SDRAM`` and ``SDRAM_CRC`` of the host bus reach it (:class:`~.sdram_host.SDRAMHost`),
and the epoch runner (:class:`~.epoch_runner.EpochRunner`, region ``RESIDENT``) trains from it.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.hdl import IOPort
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.address_map import REGION_SHIFT, Region
from epfpga.contract.params import CoreParams
from epfpga.contract.protocol import VERSION, Descriptor, Feature, rx_queue
from epfpga.contract.sdram import ULX3S_SDRAM

from .bus_arbiter import BusArbiter
from .core import Core
from .epoch_runner import EpochRunner
from .protocol_engine import ProtocolEngine
from .litedram import check_clock
from .rx_queue import RxQueue
from .sdram import SDRAMPins
from .sdram_host import SDRAMHost
from .slip import FrameEncoder, SlipDecoder
from .uart import UARTRx, UARTTx, divisor, rate

TOP = "epfpga_system"



def descriptor(params: CoreParams, clock_hz: int, baud: int) -> Descriptor:
    """What ``INFO`` answers for this gateware."""
    features = (Feature.CODED_INPUTS if params.coded_inputs else Feature(0)) | \
        (Feature.SDRAM if params.sdram else Feature(0))
    return Descriptor(version=VERSION, layers=params.layers, lanes=params.lanes, state_bits=params.state_bits,
                      input_bits=params.input_bits, weight_bits=params.weight_bits, label_bits=params.label_bits,
                      features=features, batch=params.batch, max_payload=params.max_payload, clock_hz=clock_hz, baud=baud,
                      digest=params.digest, sizes=params.sizes)


class System(wiring.Component):
    """Core, UART and protocol engine.

    Parameters
    ----------
    params : CoreParams
    clock_hz, baud : int
        The clock of the ``sync`` domain and the link's baud (the UART divisor is their
        ratio, rounded: :func:`~.uart.divisor` refuses one off by more than 2 %; a clock under
        four cycles a bit puts the line on double-data-rate registers, :func:`~.uart.rate`).

    Attributes
    ----------
    rx : In(ticks)
        Serial input (idle high), asynchronous to the clock: its sample in each tick of a cycle
        (``ticks``: 1, or 2 on a double-data-rate line), the earliest in bit 0.
    tx : Out(ticks)
        Serial output, in each tick of the next cycle.
    busy, done, error : Out(1)
        The core runs a program; it finished one; the last reply was an error.
    idle : Out(1)
        Nothing is in progress: no frame received, queued or sent, no program, the SDRAM
        initialised and no access of it in flight, no resident epoch running (the simulated
        board then waits for the host instead of clocking).
    sdram : Out(SDRAMPins(ULX3S_SDRAM))
        The SDRAM's pins but its clock (the system clock, inverted) and its data, which are
        ``sdram_dq`` (only where the build has the SDRAM).
    """

    def __init__(self, params: CoreParams, clock_hz: int, baud: int, sdram_dq=None):
        self.params, self.clock_hz, self.baud = params, int(clock_hz), int(baud)
        self.ticks = rate(clock_hz, baud)
        self.divisor = divisor(clock_hz, baud, self.ticks)
        self.descriptor = descriptor(params, self.clock_hz, self.baud)
        idle_line = (1 << self.ticks) - 1
        members = {"rx": In(self.ticks, init=idle_line), "tx": Out(self.ticks, init=idle_line),
                   "busy": Out(1), "done": Out(1), "error": Out(1), "idle": Out(1)}
        if params.sdram:
            check_clock(ULX3S_SDRAM, self.clock_hz)
            # (a top-level port of the design in simulation, the board's pins in a build)
            self.sdram_dq = IOPort(ULX3S_SDRAM.data_bits, name="sdram_dq") if sdram_dq is None else sdram_dq
            members["sdram"] = Out(SDRAMPins(ULX3S_SDRAM))
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        core = m.submodules.core = Core(self.params)
        rx = m.submodules.uart_rx = UARTRx(self.divisor, self.ticks)
        tx = m.submodules.uart_tx = UARTTx(self.divisor, self.ticks)
        decoder = m.submodules.slip_decoder = SlipDecoder()
        queue = m.submodules.rx_queue = RxQueue(rx_queue(self.params.max_payload))   # (the hosts' window)
        encoder = m.submodules.frame_encoder = FrameEncoder()
        engine = m.submodules.engine = ProtocolEngine(self.params, self.descriptor)
        m.d.comb += [
            rx.rx.eq(self.rx), self.tx.eq(tx.tx),
            decoder.wire.valid.eq(rx.data.valid), decoder.wire.payload.eq(rx.data.payload), rx.data.ready.eq(1),
            decoder.wire_error.eq(rx.error), engine.rx_lost.eq(queue.lost),
            engine.core_bank.eq(core.bank),
            self.busy.eq(core.busy), self.done.eq(core.done), self.error.eq(engine.error),
        ]
        idle = engine.idle & queue.empty & ~encoder.busy & ~tx.busy & ~core.busy
        core_busy = core.busy
        if self.params.timing_registers:
            # (a cycle late to the engine, from a register beside it: the sequencer decodes busy
            # from its state, and the engine's decisions hang on it across the die, the ULX3S
            # `digits` builds' critical path; frames are far more than a cycle apart)
            core_busy = Signal()
            m.d.sync += core_busy.eq(core.busy)
        if self.params.sdram:
            self._resident(m, core, engine, idle, core_busy)
        else:
            request = [core.addr.eq(engine.addr), core.wdata.eq(engine.wdata), core.we.eq(engine.we),
                       core.re.eq(engine.re)]
            if self.params.timing_registers:
                # the engine's request registered on its way to the core (with the SDRAM, the
                # bus arbiter registers it): the engine decodes it from its state and the core
                # again into every memory's and register's write, which on a large die do not
                # fit one cycle (the ULX3S's P = 32 build's critical path); in order, so a read
                # still follows the writes before it
                m.d.sync += request
                idle &= ~core.we & ~core.re
            else:
                m.d.comb += request
            m.d.comb += [engine.wready.eq(1), engine.rdata.eq(core.rdata), engine.rvalid.eq(core.rvalid),
                         engine.core_busy.eq(core_busy), self.idle.eq(idle)]
        wiring.connect(m, decoder.symbols, queue.symbols)
        wiring.connect(m, queue.queued, engine.rx)
        wiring.connect(m, engine.tx, encoder.frame)
        wiring.connect(m, encoder.wire, tx.data)
        return m

    def _resident(self, m: Module, core: Core, engine: ProtocolEngine, idle, core_busy) -> None:
        """The SDRAM and the epoch runner beside the core: the engine's requests of regions
        ``SDRAM``, ``SDRAM_CRC`` and ``RESIDENT`` go to them, the rest to the core's bus, which
        the runner shares (:class:`~.bus_arbiter.BusArbiter`)."""
        sdram = m.submodules.sdram = SDRAMHost(ULX3S_SDRAM, self.clock_hz, self.sdram_dq)
        runner = m.submodules.epoch_runner = EpochRunner(self.params, ULX3S_SDRAM)
        arbiter = m.submodules.bus_arbiter = BusArbiter()
        wiring.connect(m, sdram.pins, wiring.flipped(self.sdram))
        wiring.connect(m, runner.sdram, sdram.feeder)
        wiring.connect(m, engine.table, runner.table)
        wiring.connect(m, runner.core, arbiter.runner)
        region = engine.addr[REGION_SHIFT:]
        to_sdram = (region == Region.SDRAM) | (region == Region.SDRAM_CRC)
        to_runner = region == Region.RESIDENT
        to_core = ~to_sdram & ~to_runner
        regs, bus = runner.regs, arbiter.core
        m.d.comb += [
            arbiter.engine.addr.eq(engine.addr), arbiter.engine.wdata.eq(engine.wdata),
            arbiter.engine.we.eq(engine.we & to_core), arbiter.engine.re.eq(engine.re & to_core),
            core.addr.eq(bus.addr), core.wdata.eq(bus.wdata), core.we.eq(bus.we), core.re.eq(bus.re),
            bus.rdata.eq(core.rdata), bus.rvalid.eq(core.rvalid),
            sdram.addr.eq(engine.addr), sdram.wdata.eq(engine.wdata),
            sdram.we.eq(engine.we & to_sdram), sdram.re.eq(engine.re & to_sdram),
            regs.addr.eq(engine.addr), regs.wdata.eq(engine.wdata),
            regs.we.eq(engine.we & to_runner), regs.re.eq(engine.re & to_runner),
            engine.wready.eq(~to_sdram | sdram.wready),
            engine.rvalid.eq(arbiter.engine.rvalid | sdram.rvalid | regs.rvalid),
            engine.rdata.eq(Mux(sdram.rvalid, sdram.rdata, Mux(regs.rvalid, regs.rdata, arbiter.engine.rdata))),
            runner.core_busy.eq(core.busy), sdram.resident.eq(runner.running),
            engine.core_busy.eq(core_busy | runner.running), engine.resident.eq(runner.running),
            self.idle.eq(idle & ~sdram.busy & ~runner.running),
        ]
