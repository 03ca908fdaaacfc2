"""The device end of the host link's protocol (``docs/protocol.md``): frames in, bus cycles
and replies out.

A frame's bytes go into a frame buffer as they arrive, with the CRC running beside them
(:mod:`.frame_receiver`).  Only at its ``END`` is the frame checked (length, CRC, version,
command, payload, addresses, busy), and only a frame that passes every check touches the
core's bus, so no write ever comes from a bad frame.  Then the reply goes out and the engine
takes the next frame, which waited in the receive queue meanwhile (:mod:`.rx_queue`).  Every
state waits on nothing but the transmitter, which always drains, so the engine cannot hang.
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth import Array, Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from epfpga.contract.address_map import REGION_SHIFT, Reg, Region, address
from epfpga.contract.params import HOST_DATA_BITS, CoreParams
from epfpga.contract.protocol import (HEADER_BYTES, LINK_COUNTERS, PARAMS, REPLY, STATUS_REGISTERS,
                                      VERSION, Command, Descriptor, Status, max_frame)

from .frame_check import LEAD, STATUS_ELEMENTS, FrameCheck, log_width, offset_bits
from .frame_receiver import FrameReceiver
from .input_expander import InputExpander, TableWrite
from .slip import FRAME_BYTE, SYMBOL
from .timing import ahead

CODES = HEADER_BYTES + PARAMS[Command.INPUTS].size   # an INPUTS frame's first code byte


class ProtocolEngine(wiring.Component):
    """Executes the frames of the host link on the core's host bus.

    Parameters
    ----------
    params : CoreParams
        The core behind the bus (its regions, their sizes and which bank bits they have).
    descriptor : Descriptor
        The ``INFO`` reply's descriptor.  Where ``params`` leave the coded inputs out, the
        engine answers ``INPUTS`` with ``UNKNOWN_COMMAND`` and has no input table.

    Attributes
    ----------
    rx : In(stream.Signature(SYMBOL))
        Decoded symbols of the received bytes, from the receive queue (:class:`~.rx_queue.RxQueue`),
        taken only while the engine waits for a frame.  A frame with an ``error`` symbol is
        answered ``FRAMING``, one with a ``lost`` symbol ``OVERFLOW``.
    rx_lost : In(1)
        The queue dropped a symbol (a pulse): counted in ``rx_errors``.
    tx : Out(stream.Signature(FRAME_BYTE))
        Reply frames, header and payload (:class:`~.slip.FrameEncoder` adds CRC and framing).
    addr, wdata, we, re : Out; rdata, rvalid, wready : In
        The host bus (the core's, ``hdl/core.py``, and the SDRAM's, :class:`~.sdram_port.SDRAMPort`):
        ``we`` is held until ``wready`` takes the write (the core takes one a cycle), ``re`` is a
        pulse that ``rvalid`` answers.
    core_busy, core_bank : In(1)
        The core runs a program, on this input bank.
    resident : In(1)
        The epoch runner runs (:class:`~.frame_check.FrameCheck`'s rule); ``core_busy`` is then 1.
    table : Out(TableWrite(params.input_bits))
        The input table's writes, for the epoch runner's copy (where ``params`` take ``INPUTS``).
    error : Out(1)
        The last reply was an error (an LED).
    idle : Out(1)
        No frame is in progress: the engine waits for the first byte of the next one.

    Latency: the checks take three cycles after the frame's ``END``; a ``WRITE`` then takes three
    cycles per data byte (a buffer read each, registered after the block RAM) and one per
    element (its bus write) before its reply; an ``INPUTS`` frame reads its codes twice, three
    cycles a byte, first to check that they decode to ``count`` values (``BAD_CODE``), then to
    write the values, one a cycle while a zero run lasts (:class:`~.input_expander.InputExpander`);
    a ``READ`` takes ``READ_LATENCY + 1`` cycles per element for its bus read, then sends its
    bytes at the transmitter's pace; the next frame is taken a cycle after the reply's last
    byte.
    """

    def __init__(self, params: CoreParams, descriptor: Descriptor):
        self.params, self.descriptor = params, descriptor.pack()
        self.coded = params.coded_inputs
        super().__init__({
            "rx": In(stream.Signature(SYMBOL)), "rx_lost": In(1),
            "tx": Out(stream.Signature(FRAME_BYTE)),
            "addr": Out(32), "wdata": Out(HOST_DATA_BITS), "we": Out(1), "re": Out(1),
            "rdata": In(HOST_DATA_BITS), "rvalid": In(1), "wready": In(1), "core_busy": In(1), "core_bank": In(1),
            "resident": In(1), "error": Out(1), "idle": Out(1),
            **({"table": Out(TableWrite(params.input_bits))} if self.coded else {}),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        f = self._frame(m)
        with m.FSM():
            self._decide(m, f)
            self._wait(m, f)
            self._write(m, f)
            if self.coded:
                self._inputs(m, f)
            self._reply(m, f)
        return m

    def _frame(self, m) -> SimpleNamespace:
        """The frame buffer, its checks, the execution's registers and the actions the states
        share (a reply, the next frame, the status registers, an INPUTS frame's values)."""
        p = self.params
        frame = m.submodules.frame = FrameReceiver(max_frame(p.max_payload))
        wiring.connect(m, wiring.flipped(self.rx), frame.symbols)
        # in RECEIVE, as a register of its own: the state's decode into the symbols' take and
        # the head's hundred enables was a routed build's path
        receiving = Signal(init=1)
        m.d.comb += frame.enable.eq(receiving)
        byte_q = frame.read.data
        rom = m.submodules.descriptor = memory.Memory(shape=8, depth=len(self.descriptor), init=self.descriptor)
        rom_rd = rom.read_port(domain="comb")
        expander = InputExpander(p.input_bits) if self.coded else None   # (INPUTS: UNKNOWN_COMMAND without)
        if expander is not None:
            m.submodules.expander = expander

        # -- the frame as it arrived ----------------------------------------------------------------
        head = frame.head
        seq, command, length = head.header.seq, head.header.command, head.header.length
        access = head.params.read     # (a WRITE's fields are a READ's first two, INPUTS' have its shape)
        target, width, read_count = access.addr, access.width, access.count

        # -- counters of the link (STATUS) ----------------------------------------------------------
        bad_frames, rx_errors = Signal(32), Signal(32)
        # (the pulses summed into a register first: the receive queue's full compare into the
        # counter's carry chain was the critical path on both boards, 33.0 ns on the iCEBreaker
        # and 9.3-9.6 ns on the ULX3S)
        errors = Signal(2)
        m.d.sync += [errors.eq(frame.error_taken + self.rx_lost), rx_errors.eq(rx_errors + errors)]

        # -- checks, in two registered stages (frame_check.LATENCY) -------------------------------------
        check = m.submodules.check = FrameCheck(p)
        applied_seq, applied = Signal(8), Signal()
        m.d.comb += [check.head.eq(head), check.count.eq(frame.count), check.crc_ok.eq(frame.crc_ok),
                     check.framing.eq(frame.framing), check.overflow.eq(frame.overflow),
                     check.core_busy.eq(self.core_busy), check.core_bank.eq(self.core_bank),
                     check.resident.eq(self.resident),
                     check.applied.eq(applied), check.applied_seq.eq(applied_seq)]
        n = check.elements                               # elements of a WRITE, READ or STATUS
        # the command decoded into registers where the board has room: the header is held from two
        # cycles before CHECK to the reply's end, and no decoder sits before the decisions (timing)
        is_ = {c: ahead(m, p, command == c, f"is_{c.name.lower()}") for c in Command}
        bad_bank = ahead(m, p, head.params.start.bank > 1, "bad_bank")     # a START's
        codes_end = ahead(m, p, HEADER_BYTES + length, "codes_end")   # INPUTS: the buffer's offset after the last code
        is_write, is_read, is_inputs = is_[Command.WRITE], is_[Command.READ], is_[Command.INPUTS]
        writes = is_write | is_inputs

        status = Signal(Status)
        reply_length = Signal(16)
        bare = Signal()               # reply_length == 1: the reply is its header (registered: timing)
        n_last = Signal.like(n)       # n − 1, the last element's k (registered: timing)
        # k == n_last, a cycle late: where it is read (a WRITE's bus write, a reply's bytes), k
        # has held for a cycle or more (the compare into the reply's end and the head's clear was
        # a routed build's path)
        at_last = Signal()
        asked_length = Signal(16)     # 1 + the payload's length, and whether it is 0 (registered: timing)
        asked_bare = Signal()
        reports = is_[Command.STATUS] | is_[Command.WAIT]   # the status registers
        # (the element width's log from the header, a register ahead; the reply is bare unless
        # it has a payload, which a READ has unless it reads none: no shift before the test)
        payload_length = Mux(is_[Command.INFO], len(self.descriptor),
                             Mux(reports, 4 * STATUS_ELEMENTS,
                                 Mux(is_read, n << ahead(m, p, log_width(width), "log_width"), 0)))
        payload_none = ~(is_[Command.INFO] | reports | (is_read & n.any()))

        # -- execution --------------------------------------------------------------------------------
        k = Signal(16)                  # element
        m.d.sync += at_last.eq(k == n_last)
        j = Signal(2)                   # byte of the element
        word = Signal(32)
        # the bus address of element k: its offset's low bits (the build's, offset_bits: an
        # in-range burst's others are 0) and its region; a burst counts the low bits only
        bits = offset_bits(p)
        cursor = Signal(bits + 32 - REGION_SHIFT)

        def at(addr) -> Value:
            addr = Const(addr, 32) if isinstance(addr, int) else addr
            return Cat(addr[:bits], addr[REGION_SHIFT:])
        step = cursor[:bits].eq(cursor[:bits] + 1)
        rptr = Signal(range(max_frame(p.max_payload)))
        hb = Signal(range(HEADER_BYTES + 1))
        wait_left = Signal(32)          # WAIT: cycles left before the reply says BUSY
        writing = Signal()              # INPUTS: the second pass over the codes, which writes
        excess = Signal()               # INPUTS: a value came after the count's (k counts them)
        header = Array([Const(VERSION, 8), seq, command | REPLY, reply_length[:8], reply_length[8:], status])
        link = Array([bad_frames, rx_errors])
        # the counter element k would be, a register ahead (timing); only the index's low bits
        # (k is one of the counters' where it is used), so no range test resets it
        link_word = Signal(32, reset_less=True)
        m.d.sync += link_word.eq(link[(k - STATUS_REGISTERS)[:max(1, ceil_log2(len(LINK_COUNTERS)))]])
        word_bytes = Array(word[8 * b:8 * b + 8] for b in range(4))
        last_byte = j == (width - 1)[:2]

        m.d.comb += [self.addr.eq(Cat(cursor[:bits], Const(0, REGION_SHIFT - bits), cursor[bits:])),
                     frame.read.addr.eq(rptr), rom_rd.addr.eq(k), self.wdata.eq(word)]
        to_table = Signal()     # a WRITE of the input table: the engine's own memory, not the core's
        at_count = k == read_count
        if self.coded:
            # a value is written the cycle after the table gives it, from a register (the block
            # RAM's output is slow); it is 0 but then, and word is 0 while INPUTS runs (CHECK)
            value = Signal(p.input_bits)
            value_write = Signal()
            written = writing & expander.values.valid
            m.d.sync += [value_write.eq(written), value.eq(Mux(written, expander.values.payload, 0))]
            m.d.comb += [self.wdata.eq(word | value),
                         expander.coding.eq(head.params.inputs.coding), expander.codes.payload.eq(byte_q),
                         expander.values.ready.eq(1),
                         expander.table.addr.eq(cursor), expander.table.data.eq(word),
                         to_table.eq(cursor[bits:] == Region.TABLE)]
            m.d.comb += [self.table.addr.eq(expander.table.addr), self.table.data.eq(expander.table.data),
                         self.table.en.eq(expander.table.en)]

        def values():
            """An INPUTS frame's values: counted in the first pass, written in the second (in the
            states that pass over the codes, so the counters' other sources share their adders)."""
            if self.coded:
                with m.If(value_write):
                    m.d.comb += self.we.eq(1)
                    m.d.sync += step
                with m.If(expander.values.valid & ~writing):
                    with m.If(at_count):
                        m.d.sync += excess.eq(1)
                    with m.Else():
                        m.d.sync += k.eq(k + 1)

        def reply(code):
            m.d.sync += [status.eq(code), hb.eq(0)]
            m.next = "HEADER"

        def finish():
            """The reply is out: take the next frame, its header cleared first (FINISH)."""
            m.next = "FINISH"

        def report(code):
            """Reply with the status registers (STATUS, WAIT)."""
            m.d.sync += [status.eq(code), hb.eq(0), reply_length.eq(1 + 4 * STATUS_ELEMENTS), bare.eq(0),
                         cursor.eq(at(address(Region.CONTROL, Reg.STATUS)))]
            m.next = "HEADER"
        return SimpleNamespace(**{name: value for name, value in locals().items() if name not in ("self", "m")})  # (all of the above)

    def _decide(self, m, f):
        """The frame in, its checks, and what it asks for."""
        bad_bank, bare, check, cursor, excess, is_ = f.bad_bank, f.bare, f.check, f.cursor, f.excess, f.is_
        expander, frame, hb, head, is_inputs = f.expander, f.frame, f.hb, f.head, f.is_inputs
        is_read, is_write, j, k, n, n_last = f.is_read, f.is_write, f.j, f.k, f.n, f.n_last
        asked_bare, asked_length, payload_length = f.asked_bare, f.asked_length, f.payload_length
        payload_none = f.payload_none
        reply, reply_length, report = f.reply, f.reply_length, f.report
        rptr, status, target, wait_left, word = f.rptr, f.status, f.target, f.wait_left, f.word
        at, writes = f.at, f.writes
        with m.State("RECEIVE"):
            m.d.comb += self.idle.eq(frame.empty)
            with m.If(frame.ended):
                m.d.sync += f.receiving.eq(0)
                m.next = "CHECK"
        with m.State("CHECK"):
            m.d.comb += check.sample.eq(1)
            m.d.sync += [cursor.eq(at(target)), k.eq(0), j.eq(0), word.eq(0), rptr.eq(HEADER_BYTES + LEAD)]
            m.next = "CLASSIFY"
        with m.State("CLASSIFY"):
            m.d.sync += [n_last.eq(n - 1), asked_length.eq(1 + payload_length), asked_bare.eq(payload_none)]
            m.next = "DECIDE"
        with m.State("DECIDE"):
            m.d.sync += [reply_length.eq(1), bare.eq(1)]
            with m.If(check.status != Status.OK):
                reply(check.status)
            with m.Elif(check.duplicate):
                reply(Status.OK)     # applied once already: answer again, change nothing
            with m.Elif((writes | is_read) & ~check.in_range):
                reply(Status.ADDRESS)
            with m.Elif(is_[Command.START]):
                with m.If(bad_bank):
                    reply(Status.ADDRESS)
                with m.Elif(self.core_busy):
                    reply(Status.BUSY)
                with m.Else():
                    m.d.sync += [cursor.eq(at(address(Region.CONTROL, Reg.START))),
                                 word.eq(1 | head.params.start.bank << 1)]
                    m.next = "BUS_WRITE"
            with m.Elif((writes | is_read) & ~check.may_run):
                reply(Status.BUSY)
            with m.Elif(is_write):
                m.next = "FETCH"
            if self.coded:
                with m.Elif(is_inputs):
                    m.d.comb += expander.clear.eq(1)
                    m.d.sync += [rptr.eq(CODES), excess.eq(0)]
                    m.next = "FETCH"
            with m.Elif(is_[Command.STATUS]):
                report(Status.OK)
            with m.Elif(is_[Command.WAIT]):
                m.d.sync += wait_left.eq(head.params.wait.max_cycles)
                m.next = "WAIT"
            with m.Else():
                m.d.sync += [status.eq(Status.OK), hb.eq(0), reply_length.eq(asked_length), bare.eq(asked_bare)]
                m.next = "HEADER"

    def _wait(self, m, f):
        """WAIT: until the core is idle, or the frame's cycles are up."""
        report, wait_left = f.report, f.wait_left
        with m.State("WAIT"):
            m.d.sync += wait_left.eq(wait_left - 1)
            with m.If(~self.core_busy):
                report(Status.OK)
            with m.Elif(wait_left == 0):
                report(Status.BUSY)

    def _write(self, m, f):
        """WRITE (and START): the data bytes of element k from the buffer, then its bus write."""
        applied, applied_seq, byte_q, is_ = f.applied, f.applied_seq, f.byte_q, f.is_
        expander, is_inputs, j, k = f.expander, f.is_inputs, f.j, f.k
        at_last, last_byte, reply, rptr, seq = f.at_last, f.last_byte, f.reply, f.rptr, f.seq
        step, to_table, values, word = f.step, f.to_table, f.values, f.word
        with m.State("FETCH"):
            m.d.sync += rptr.eq(rptr + 1)
            m.next = "LOAD"
            values()
        with m.State("LOAD"):   # the byte into byte_q
            m.next = "TAKE"
            values()
            if self.coded:
                with m.If(is_inputs):
                    m.next = "CODE"
        with m.State("TAKE"):
            with m.Switch(j):
                for b in range(4):
                    with m.Case(b):
                        m.d.sync += word[8 * b:8 * b + 8].eq(byte_q)
            m.d.sync += j.eq(j + 1)
            m.next = "FETCH"
            with m.If(last_byte):
                m.d.sync += j.eq(0)
                m.next = "BUS_WRITE"
        with m.State("BUS_WRITE"):    # (a write of the input table goes to the expander's)
            m.d.comb += self.we.eq(~to_table)
            if self.coded:
                m.d.comb += expander.table.en.eq(to_table)
            with m.If(self.wready | to_table):
                m.d.sync += [step, k.eq(k + 1), word.eq(0)]
                with m.If(is_[Command.START] | at_last):
                    m.d.sync += [applied.eq(1), applied_seq.eq(seq)]
                    reply(Status.OK)
                with m.Else():
                    m.next = "FETCH"

    def _inputs(self, m, f):
        """INPUTS: the codes through the expander, counted in a first pass, written in a second."""
        applied, applied_seq, at_count, cursor = f.applied, f.applied_seq, f.at_count, f.cursor
        codes_end, excess, expander, frame, reply = f.codes_end, f.excess, f.expander, f.frame, f.reply
        at, rptr, seq, target, values, writing = f.at, f.rptr, f.seq, f.target, f.values, f.writing
        with m.State("CODE"):   # (byte_q holds while a run keeps the expander from taking it)
            m.d.comb += [expander.codes.valid.eq(1), frame.read.hold.eq(1)]
            values()
            with m.If(expander.codes.ready):
                m.next = "FETCH"
                with m.If(rptr == codes_end):
                    m.next = "DRAIN"
        with m.State("DRAIN"):
            values()
            with m.If(~expander.busy):
                with m.If(writing):
                    m.d.sync += [applied.eq(1), applied_seq.eq(seq), writing.eq(0)]
                    reply(Status.OK)
                with m.Elif(expander.pending | excess | ~at_count):
                    reply(Status.BAD_CODE)
                with m.Else():
                    m.d.comb += expander.clear.eq(1)
                    m.d.sync += [rptr.eq(CODES), writing.eq(1), cursor.eq(at(target))]
                    m.next = "FETCH"

    def _reply(self, m, f):
        """The reply: its header, then the descriptor, or the elements read from the bus (or the
        link's counters)."""
        bad_frames, bare, finish, is_ = f.bad_frames, f.bare, f.finish, f.is_
        at_last, frame, hb, header, j, k, link_word = f.at_last, f.frame, f.hb, f.header, f.j, f.k, f.link_word
        reports, rom_rd, status, width, word = f.reports, f.rom_rd, f.status, f.width, f.word
        step, word_bytes = f.step, f.word_bytes
        with m.State("HEADER"):
            m.d.comb += [self.tx.valid.eq(1), self.tx.payload.byte.eq(header[hb]),
                         self.tx.payload.last.eq((hb == HEADER_BYTES) & bare)]
            with m.If(self.tx.ready):
                m.d.sync += hb.eq(hb + 1)
                with m.If(hb == HEADER_BYTES):
                    refused = (status != Status.OK) & ~(reports & (status == Status.BUSY))
                    with m.If(refused):
                        m.d.sync += bad_frames.eq(bad_frames + 1)
                    m.d.sync += self.error.eq(refused)
                    with m.If(bare):
                        finish()
                    with m.Elif(is_[Command.INFO]):
                        m.next = "DESCRIBE"
                    with m.Else():
                        m.next = "ELEMENT"

        with m.State("DESCRIBE"):
            m.d.comb += [self.tx.valid.eq(1), self.tx.payload.byte.eq(rom_rd.data),
                         self.tx.payload.last.eq(k == len(self.descriptor) - 1)]
            with m.If(self.tx.ready):
                m.d.sync += k.eq(k + 1)
                with m.If(self.tx.payload.last):
                    finish()

        # READ and STATUS: element k from the bus (or the link's counters), then its bytes
        with m.State("ELEMENT"):
            with m.If(reports & (k >= STATUS_REGISTERS)):
                m.next = "COUNTER"
            with m.Else():
                m.d.comb += self.re.eq(1)
                m.next = "AWAIT"
        with m.State("COUNTER"):    # (the link's counter, picked in a register of its own: timing)
            m.d.sync += word.eq(link_word)
            m.next = "SEND"
        with m.State("AWAIT"):
            with m.If(self.rvalid):
                m.d.sync += word.eq(self.rdata)
                m.next = "SEND"
        with m.State("SEND"):
            element_width = Mux(reports, 4, width)
            final = j == (element_width - 1)[:2]
            m.d.comb += [self.tx.valid.eq(1), self.tx.payload.byte.eq(word_bytes[j]),
                         self.tx.payload.last.eq(final & at_last)]
            with m.If(self.tx.ready):
                m.d.sync += j.eq(j + 1)
                with m.If(final):
                    m.d.sync += [j.eq(0), k.eq(k + 1), step]
                    m.next = "ELEMENT"
                    with m.If(at_last):
                        finish()
        # the next frame's header starts from zeros (the reply to one too short to carry a
        # ``seq`` says 0), cleared in a state of its own: a clear decided with the reply's end
        # fanned out to the head's hundred flip-flops (a routed build's path)
        with m.State("FINISH"):
            m.d.comb += frame.clear_head.eq(1)
            m.d.sync += f.receiving.eq(1)
            m.next = "RECEIVE"
