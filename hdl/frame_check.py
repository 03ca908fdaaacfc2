"""The checks of a request that has ended (``docs/protocol.md`` §4), before anything executes.

From what the :class:`~.frame_receiver.FrameReceiver` holds, the frame's faults in the
document's order (overflow, framing, too short, CRC, version, length field, unknown command,
payload shape), the elements a ``WRITE``, ``READ``, ``INPUTS`` or status reply moves, and
whether its burst is in range, a retry of the last applied request, and allowed beside a
running program.  Its golden twin is :meth:`~epfpga.verification.engine_model.EngineModel.check`.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from epfpga.contract.address_map import REGION_SHIFT, Reg, Region
from epfpga.contract.params import CoreParams
from epfpga.contract.protocol import (CRC_BYTES, HEADER_BYTES, LINK_COUNTERS, PARAMS, STATE_CHANGING,
                                      STATUS_REGISTERS, VERSION, Coding, Command, Status, max_frame)
from epfpga.contract.resident import ResidentReg

from .frame_receiver import FRAME
from .timing import ahead

LEAD = PARAMS[Command.WRITE].size   # a WRITE's payload bytes before its elements
STATUS_ELEMENTS = STATUS_REGISTERS + len(LINK_COUNTERS)


def largest_region(p: CoreParams) -> int:
    """The size of the build's largest region, host's or link's."""
    return max(r.limit for r in p.host_regions() + p.link_regions())


def offset_bits(p: CoreParams) -> int:
    """The bits of the build's largest region's size, at most an offset's: an in-range burst's
    offsets are below it, so its higher offset bits are 0 (the check sums and compares these
    bits only, and the protocol engine counts them; after a burst's last element its count
    may wrap, with no bus cycle to follow)."""
    return min(REGION_SHIFT, largest_region(p).bit_length())


def log_width(width: Value) -> Value:
    """log2 of an element's ``width`` in bytes (1, 2 or 4; 0 for any other, which the checks refuse)."""
    return Mux(width == 4, 2, Mux(width == 2, 1, 0))
#: Cycles from :attr:`FrameCheck.sample` to :attr:`FrameCheck.status`: the faults registered,
#: then the first of them (timing).
LATENCY = 2


class FrameCheck(wiring.Component):
    """A request's faults, elements and access.

    Parameters
    ----------
    params : CoreParams
        The core behind the bus: its regions, their sizes and banks; whether the build takes
        ``INPUTS`` and has the input table.

    Attributes
    ----------
    head : In(FRAME)
        The frame's first bytes; held from two cycles before :attr:`sample` (a frame's CRC
        bytes come after them) to the decision.
    count : In(range(max_frame(params.max_payload) + 1))
    crc_ok, framing, overflow : In(1)
        What the receiver holds, valid in the cycle of :attr:`sample`.
    sample : In(1)
        The frame has just ended: register its faults and access.
    core_busy, core_bank : In(1)
        The core runs a program, on this input bank.
    resident : In(1)
        The epoch runner runs (``docs/protocol.md`` §11): the core, its memories and the SDRAM
        are its; the control registers may be read and written (not ``START``), the runner's
        read, and its ``UNTIL`` written.
    applied, applied_seq : In(1), In(8)
        A ``WRITE``, ``INPUTS`` or ``START`` was applied, with this ``seq``.
    status : Out(Status)
        The first fault (``OK`` for none), :data:`LATENCY` cycles after :attr:`sample`.
    elements : Out(16)
        Elements the request moves, from :attr:`sample` on.
    in_range, duplicate : Out(1)
        The burst lies in a region that allows its access; the request repeats the last
        applied one (both registered at :attr:`sample`).
    may_run : Out(1)
        The request may run now, beside the core as it is (from the cycle after :attr:`sample`).
    """

    def __init__(self, params: CoreParams):
        self.params = params
        super().__init__({
            "head": In(FRAME), "count": In(range(max_frame(params.max_payload) + 1)), "crc_ok": In(1),
            "framing": In(1), "overflow": In(1), "sample": In(1), "core_busy": In(1), "core_bank": In(1), "resident": In(1),
            "applied": In(1),
            "applied_seq": In(8), "status": Out(Status), "elements": Out(16), "in_range": Out(1),
            "duplicate": Out(1), "may_run": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        head = self.head
        version, seq, command, length = head.header.version, head.header.seq, head.header.command, head.header.length
        access = head.params.read     # (a WRITE's fields are a READ's first two, INPUTS' have its shape)
        target, width, count = access.addr, access.width, access.count
        region, offset = target[REGION_SHIFT:], target[:REGION_SHIFT]

        # what the header alone decides is registered ahead of sample where the board has room,
        # in up to two stages (the header is held from two cycles before it), so that sample
        # registers it with no logic before (timing)
        def early(value, name: str) -> Value:
            return ahead(m, self.params, value, name)

        log_bytes = log_width(width)
        width_ok = (width == 1) | (width == 2) | (width == 4)
        data_bytes = Signal(16)
        m.d.comb += data_bytes.eq(length - LEAD)
        # each command's payload shape, then the command's (two stages ahead of sample)
        shapes = {Command.INFO: length == 0, Command.STATUS: length == 0,
                  Command.WAIT: length == PARAMS[Command.WAIT].size, Command.START: length == PARAMS[Command.START].size,
                  Command.WRITE: (length > LEAD) & width_ok & ((data_bytes & (width - 1)) == 0),
                  Command.READ: ((length == PARAMS[Command.READ].size) & width_ok & (count != 0) &
                                 ((count << log_bytes) <= self.params.max_payload - 1))}
        if self.params.coded_inputs:
            shapes[Command.INPUTS] = ((length > PARAMS[Command.INPUTS].size) & (count != 0) &
                                      (head.params.inputs.coding <= max(Coding)))
        elements_of = {Command.STATUS: STATUS_ELEMENTS, Command.WAIT: STATUS_ELEMENTS,
                       Command.WRITE: data_bytes >> log_bytes, Command.READ: count, Command.INPUTS: count}
        shape_ok, elements = Signal(), Signal(16)
        with m.Switch(command):
            for c, shape in shapes.items():
                with m.Case(c):
                    m.d.comb += shape_ok.eq(early(shape, f"shape_{c.name.lower()}"))
                    if c in elements_of:
                        m.d.comb += elements.eq(elements_of[c])
        known = Cat(command == c for c in shapes).any()

        # the faults, each registered at sample, then the first of them (timing); where the board
        # has room, the length field is compared with the bytes received as the frame's size,
        # registered from the header, not through a subtraction from the count (which the
        # iCEBreaker keeps: its adder is narrower)
        if self.params.timing_registers:
            wrong_length = early(length + HEADER_BYTES + CRC_BYTES, "frame_bytes") != self.count
        else:
            wrong_length = length != self.count - HEADER_BYTES - CRC_BYTES
        faults = [(self.overflow, Status.OVERFLOW), (self.framing, Status.FRAMING),
                  (self.count < HEADER_BYTES + CRC_BYTES, Status.BAD_LENGTH), (~self.crc_ok, Status.BAD_CRC),
                  (version != VERSION, Status.BAD_VERSION), (wrong_length, Status.BAD_LENGTH),
                  (~early(known, "known"), Status.UNKNOWN_COMMAND), (~early(shape_ok, "shape_ok_q"), Status.BAD_LENGTH)]
        fault_q = [Signal(name=f"fault{k}") for k in range(len(faults))]
        first = Signal(Status)
        for k, (_, code) in reversed(list(enumerate(faults))):   # the first fault wins
            with m.If(fault_q[k]):
                m.d.comb += first.eq(code)
        m.d.sync += self.status.eq(first)

        # the burst's last offset, two registers behind the header (timing: the CRC bytes come after
        # it), on every board: on the iCEBreaker too the element count's subtract, shift and
        # command select before the add were its critical path (34.8 ns); at the regions' width,
        # an offset with a higher bit set being out of every region's range
        p = self.params
        bits = offset_bits(p)
        last = Signal(max(bits, len(elements)) + 1)
        elements_q = Signal.like(elements, name="elements_q")
        m.d.sync += elements_q.eq(elements)
        m.d.sync += last.eq(offset[:bits] + elements_q - 1)
        beyond = early(offset[bits:].any(), "beyond")

        # the region's size and access, and whether the burst may run beside the core (each part
        # registered, the core's state as it is: one multiplexer before the decision, timing)
        limit = Signal(range(largest_region(p) + 1))
        readable, writable, banked = Signal(), Signal(), Signal()
        bank, same_bank = Signal(), Signal()     # a banked region's: the burst's bank, and whether it ends in it
        with m.Switch(region):
            for r in p.host_regions() + p.link_regions():
                with m.Case(r.region):
                    m.d.comb += [limit.eq(r.limit), readable.eq(r.readable), writable.eq(r.writable)]
                    if r.bank_bit is not None:
                        m.d.comb += [banked.eq(1), bank.eq(offset[r.bank_bit]),
                                     same_bank.eq(offset[r.bank_bit] == last[r.bank_bit])]
        is_write, is_inputs = command == Command.WRITE, command == Command.INPUTS
        writes = is_write | is_inputs
        allowed = Mux(writes, writable, readable) & (~is_inputs | (region == Region.X))
        in_range = (last < early(limit, "limit_q")) & early(allowed, "allowed") & ~beyond
        # (a write of START while a program runs is refused, as the START command is)
        control = early((region == Region.CONTROL) & ~(is_write & (offset == Reg.START)), "control")
        runner = early((region == Region.RESIDENT) & ~(writes & (offset != ResidentReg.UNTIL)), "runner")
        bank_write = early(writes & banked, "bank_write") & early(same_bank, "same_bank")
        bank_free = early(bank, "bank") != self.core_bank
        m.d.comb += self.may_run.eq(Mux(self.resident, control | runner,
                                        control | (bank_write & bank_free) | ~self.core_busy))
        duplicate = self.applied & (self.applied_seq == seq) & Cat(command == c for c in STATE_CHANGING).any()
        with m.If(self.sample):
            m.d.sync += [*[q.eq(flag) for q, (flag, _) in zip(fault_q, faults)],
                         self.in_range.eq(in_range), self.duplicate.eq(duplicate)]
        m.d.comb += self.elements.eq(elements_q)   # (the header holds to the reply's end)
        return m
