"""The epoch runner: a resident epoch's mini-batches, back to back, with nothing from the host
but the registers of region ``RESIDENT`` (``docs/protocol.md`` §11).

Mini-batch ``i`` of the epoch goes into input bank ``i mod 2``.  While the core trains
mini-batch ``i``, the :class:`~.resident_feeder.ResidentFeeder` loads ``i + 1`` into the other
bank from the SDRAM; when the core is done, the runner reads its ``B`` predictions, counts those
that are not their labels, and starts it on ``i + 1`` at once.  It stops where ``DONE`` reaches
``UNTIL`` (the host reads the weights there and moves ``UNTIL`` on) or the epoch ends, and at a
damaged record (``STATE.FAULT``).  It counts the core's cycles, training and waiting, as the
host's link report does for streamed training.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from epfpga.contract.address_map import Reg, Region, address
from epfpga.contract.params import HOST_DATA_BITS, CoreParams
from epfpga.contract.resident import INDEX_WORDS, ResidentReg, ResidentState
from epfpga.contract.sdram import SDRAMChip

from .bus_arbiter import BusMaster
from .input_expander import TableWrite
from .resident_feeder import ResidentFeeder
from .sdram_port import SDRAMAccess


class RegisterBus(wiring.Signature):
    """Registers on the host bus, from the side that asks: ``we`` taken at the edge, ``re``
    answered by ``rvalid`` the cycle after."""

    def __init__(self, addr_bits: int):
        super().__init__({"addr": Out(addr_bits), "wdata": Out(HOST_DATA_BITS), "we": Out(1), "re": Out(1),
                          "rdata": In(HOST_DATA_BITS), "rvalid": In(1)})


class EpochRunner(wiring.Component):
    """Resident epochs.

    Parameters
    ----------
    params : CoreParams
        The core it runs (its batch and labels; the feeder's inputs).
    chip : SDRAMChip
        Where the training set lives.

    Attributes
    ----------
    regs : In(RegisterBus(...))
        The ``RESIDENT`` registers (:class:`~epfpga.contract.resident.ResidentReg`); writes of
        the read-only ones are ignored.
    core : Out(BusMaster())
        The core's host bus: the inputs and labels, ``START``, the predictions.
    core_busy : In(1)
    sdram : Out(SDRAMAccess(chip))
        Driven while :attr:`running`.
    table : In(TableWrite(params.input_bits))
    running : Out(1)
        The runner has a mini-batch to train or to load (``STATE.RUNNING``): the core, its host
        bus and the SDRAM are the runner's.  A cycle after the fact (a register).

    Latency: a mini-batch starts two cycles after the previous one's last prediction is in
    (``B`` reads of the core's bus, each compared a cycle after its answer), where the feeder
    has loaded it by then.
    """

    def __init__(self, params: CoreParams, chip: SDRAMChip):
        self.params, self.chip = params, chip
        super().__init__({
            "regs": In(RegisterBus(ceil_log2(len(ResidentReg)))), "core": Out(BusMaster()), "core_busy": In(1),
            "sdram": Out(SDRAMAccess(chip)), "table": In(TableWrite(params.input_bits)), "running": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p, B = self.params, self.params.batch
        feeder = m.submodules.feeder = ResidentFeeder(p, self.chip)
        wiring.connect(m, wiring.flipped(self.table), feeder.table)
        wiring.connect(m, feeder.sdram, wiring.flipped(self.sdram))

        perm, entry = Signal(self.chip.address_bits), Signal(self.chip.address_bits)
        batches, until, done, fed, errors = (Signal(32, name=n) for n in ("batches", "until", "done", "fed", "errors"))
        train_cycles, wait_cycles = Signal(32), Signal(32)
        fault = Signal()
        # the labels of both banks, as the feeder wrote them, for the count of errors
        labels = m.submodules.labels = memory.Memory(shape=p.label_bits, depth=2 * B, init=[])
        label_wr, label_rd = labels.write_port(), labels.read_port(domain="comb")
        m.d.comb += [label_wr.addr.eq(feeder.labels.addr), label_wr.data.eq(feeder.labels.data),
                     label_wr.en.eq(feeder.labels.en)]

        # -- loading: mini-batch `fed` into bank fed mod 2, once the core is done with the one
        # two before it ----------------------------------------------------------------------------
        feeding = Signal()
        m.d.comb += [feeder.entry.eq(entry), feeder.bank.eq(fed[0])]
        with m.If(feeding & ~feeder.busy):
            m.d.sync += feeding.eq(0)
            with m.If(feeder.fault):
                m.d.sync += fault.eq(1)
            with m.Else():
                m.d.sync += [fed.eq(fed + 1), entry.eq(entry + INDEX_WORDS * B)]
        can_feed = ~feeding & ~fault & (fed < batches) & (fed <= done + 1)
        with m.Elif(can_feed):
            m.d.comb += feeder.start.eq(1)
            m.d.sync += feeding.eq(1)

        # -- training: mini-batch `done` on bank done mod 2, then its predictions ----------------------
        wanted = (done < until) & (done < batches) & ~fault
        issued = Signal(range(B + 1))     # prediction reads taken
        answered = Signal(range(B + 1))
        own = Signal()                    # the bus is the runner's this cycle, not the feeder's
        core = self.core
        m.d.comb += label_rd.addr.eq(Mux(done[0], B, 0) + answered)
        # a prediction and its label, registered before they are compared and counted (timing:
        # the core's answer comes from its read multiplexer)
        answer = Signal(data.StructLayout({"valid": 1, "last": 1, "prediction": p.label_bits,
                                           "label": p.label_bits}))
        m.d.sync += [answer.valid.eq(core.rvalid), answer.last.eq(answered == B - 1),
                     answer.prediction.eq(core.rdata), answer.label.eq(label_rd.data)]
        with m.FSM() as training:
            with m.State("IDLE"):
                with m.If(wanted & (done < fed) & ~self.core_busy):
                    m.next = "START"
            with m.State("START"):
                m.d.comb += [own.eq(1), core.we.eq(1), core.addr.eq(address(Region.CONTROL, Reg.START)),
                             core.wdata.eq(1 | done[0] << 1)]
                with m.If(core.grant):
                    m.next = "STARTED"
            with m.State("STARTED"):     # (START reaches the core through the arbiter's register)
                with m.If(self.core_busy):
                    m.next = "TRAIN"
            with m.State("TRAIN"):
                with m.If(~self.core_busy):
                    m.d.sync += [issued.eq(0), answered.eq(0)]
                    m.next = "PREDICTIONS"
            with m.State("PREDICTIONS"):
                with m.If(issued != B):
                    m.d.comb += [own.eq(1), core.re.eq(1), core.addr.eq(address(Region.PRED, 0) + issued)]
                    with m.If(core.grant):
                        m.d.sync += issued.eq(issued + 1)
                with m.If(core.rvalid):
                    m.d.sync += answered.eq(answered + 1)
                with m.If(answer.valid):
                    m.d.sync += errors.eq(errors + (answer.prediction != answer.label))
                    with m.If(answer.last):
                        m.d.sync += done.eq(done + 1)
                        m.next = "IDLE"
        with m.If(~own):
            m.d.comb += [core.addr.eq(feeder.bus.addr), core.wdata.eq(feeder.bus.wdata), core.we.eq(feeder.bus.we),
                         feeder.bus.grant.eq(core.grant)]

        with m.If(wanted):
            with m.If(self.core_busy):
                m.d.sync += train_cycles.eq(train_cycles + 1)
            with m.Else():
                m.d.sync += wait_cycles.eq(wait_cycles + 1)
        # (a register: the engine's checks and the SDRAM's select hang on it, and its counts' compares
        # were the resident digits build's critical path)
        m.d.sync += self.running.eq(wanted | feeding | can_feed | ~training.ongoing("IDLE"))

        # -- the registers ----------------------------------------------------------------------------
        regs = self.regs
        with m.If(regs.we):
            with m.Switch(regs.addr):
                with m.Case(ResidentReg.PERM):
                    m.d.sync += perm.eq(regs.wdata)
                with m.Case(ResidentReg.BATCHES):
                    m.d.sync += [batches.eq(regs.wdata), entry.eq(perm), until.eq(0), done.eq(0), fed.eq(0),
                                 errors.eq(0), train_cycles.eq(0), wait_cycles.eq(0), fault.eq(0)]
                with m.Case(ResidentReg.UNTIL):
                    m.d.sync += until.eq(regs.wdata)
        m.d.sync += regs.rvalid.eq(regs.re)
        state = Signal(ResidentState)
        m.d.comb += state.eq(Mux(self.running, ResidentState.RUNNING, 0) | Mux(fault, ResidentState.FAULT, 0))
        with m.If(regs.re):
            with m.Switch(regs.addr):
                for reg, value in ((ResidentReg.PERM, perm), (ResidentReg.BATCHES, batches), (ResidentReg.UNTIL, until),
                                   (ResidentReg.DONE, done), (ResidentReg.ERRORS, errors), (ResidentReg.STATE, state),
                                   (ResidentReg.TRAIN_CYCLES, train_cycles), (ResidentReg.WAIT_CYCLES, wait_cycles),
                                   (ResidentReg.FAULT, feeder.sample)):
                    with m.Case(reg):
                        m.d.sync += regs.rdata.eq(value)
        return m
