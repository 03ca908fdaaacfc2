"""The host end of the link: requests over a serial port, and the host-bus transport on top.

:class:`SerialLink` sends one request at a time and waits for its reply, matched by sequence
number; a lost or damaged frame is sent again with the same number, which the device uses to
apply a state-changing command once only (``docs/protocol.md`` §5).  :class:`LinkTransport`
turns the host driver's bus writes and reads into bursts of ``WRITE`` and ``READ`` frames, so
the driver runs unchanged on a board, a simulated board, or the simulators' buses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from epfpga.contract.address_map import REGION_SHIFT, Reg, Region, address
from epfpga.contract.params import CoreParams
from epfpga.contract.protocol import (LINK_COUNTERS, MAX_COUNT, MAX_PAYLOAD, PARAMS, REPLY, STATE_CHANGING,
                                      STATUS_REGISTERS, VERSION, WIDTHS, BadFrame, Command, Descriptor, Frame,
                                      FrameDecoder, Status, WrongVersion, encode_frame, inputs_payloads, max_elements,
                                      read_payload, read_values, rx_queue, start_payload, wait_payload,
                                      write_payload)
from epfpga.errors import UserError

from .driver import HostDriver
from .input_code import InputCoder

RETRIED = (Status.BAD_CRC, Status.FRAMING, Status.OVERFLOW)   # damage on the way: send again
# A USB-serial bridge (FTDI) holds the device's bytes until a packet of this many fills or its
# latency timer (16 ms by default, 1 ms at best) expires: docs/protocol.md §5.
BRIDGE_PACKET = 62
# INFO requests whose replies (the descriptor of one layer at least), behind any partial packet,
# fill one: sent before the host waits.  INFO, because its answer never changes: whatever
# request of the same seq takes a flush's reply takes the right answer.
def _info_reply(layers: int) -> int:
    """Bytes of the ``INFO`` reply of ``layers`` weight layers, on the wire."""
    return len(encode_frame(0, Command.INFO | REPLY, bytes(1 + Descriptor.FIXED.size + 2 * (layers + 1))))


FLUSH = [encode_frame(0, Command.INFO)] * -(-(BRIDGE_PACKET - 1) // _info_reply(1))


class LinkError(UserError):
    """The port cannot be opened, the device does not answer, or it refuses a request."""


@dataclass
class LinkCounters:
    bytes_sent: int = 0
    bytes_received: int = 0
    requests: int = 0
    retries: int = 0
    turnarounds: int = 0     # the times the host stopped sending to wait for a reply


class SerialLink:
    """Requests and replies over a serial port.

    Parameters
    ----------
    port : str
        The serial device (``/dev/ttyUSB1``, or a simulated board's pty).
    baud : int
    timeout : float
        Seconds to wait for a reply before the request is sent again.
    retries : int
        How many times a request is sent again before :class:`LinkError`.
    flush : bool
        Before each wait for replies, send requests whose replies fill a USB-serial bridge's
        packet (:data:`FLUSH`), so the bridge passes the replies on at once, not when its
        latency timer expires (``docs/protocol.md`` §5).

    Attributes
    ----------
    max_payload : int
        The device's largest payload, which sizes its receive queue: the protocol's largest
        until :meth:`info` reads the device's descriptor (a smaller device answers an
        overflow of its queue ``OVERFLOW``, and the request goes again).
    """

    def __init__(self, port: str, baud: int, timeout: float = 2.0, retries: int = 2, flush: bool = True):
        import serial
        self.port, self.timeout, self.retries, self.flush = port, timeout, retries, flush
        try:
            self.serial = serial.Serial(port, baud, timeout=0.01, write_timeout=timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise LinkError(f"cannot open serial port {port}: {reason}") from None
        self.counters = LinkCounters()
        self.max_payload = MAX_PAYLOAD
        self._decoder = FrameDecoder()
        self._flushes = 0     # flush replies still to come (close waits for them)
        self._seq = 0
        self._last_applied: int | None = None
        # A write that changes nothing: whatever sequence number the device remembers from an
        # earlier session, from here on it is one of ours.
        self.request(Command.WRITE, write_payload(address(Region.CONTROL, Reg.STATUS), 4, [0]))

    def close(self) -> None:
        """Take the last flush's replies (so that whoever opens the port next does not get
        them: nothing else answers them), then close the port."""
        import serial
        deadline = time.monotonic() + 1.0
        try:
            while self._flushes and time.monotonic() < deadline:
                self._replies([], {}, deadline)
        except (serial.SerialException, OSError):
            pass   # the device is gone: nothing more will come
        self.serial.close()

    @property
    def last_applied_seq(self) -> int | None:
        """The ``seq`` of the last state-changing request: the one the device remembers."""
        return self._last_applied

    def _next_seq(self, command: Command) -> int:
        self._seq = (self._seq + 1) & 0xFF
        if command in STATE_CHANGING:
            if self._seq == self._last_applied:   # the device would take it for a retry
                self._seq = (self._seq + 1) & 0xFF
            self._last_applied = self._seq
        return self._seq

    def request(self, command: Command, payload: bytes = b"", accept: tuple[Status, ...] = (Status.OK,)) -> Frame:
        """Send ``command`` and return its reply, whose status is one of ``accept``."""
        return self.requests([(command, payload)], accept)[0]

    def requests(self, batch: list[tuple[Command, bytes]], accept: tuple[Status, ...] = (Status.OK,)) -> list[Frame]:
        """The replies to ``batch``, in its order, each with a status in ``accept``.

        The requests go out without waiting for each reply, as long as the bytes of those not
        yet answered fit the device's receive queue (:func:`rx_queue` of :attr:`max_payload`);
        the replies are matched by ``seq`` and command.  A reply that says the request was damaged on the way
        (``BAD_CRC``, ``FRAMING``, ``OVERFLOW``) sends it again; if no reply comes for
        :attr:`timeout` seconds, every request still unanswered goes again, in order.  So a
        batch's ``START`` would run twice: only writes to distinct addresses and reads may
        share a batch (``docs/protocol.md`` §5)."""
        if len(batch) > 1 and any(command == Command.START for command, _ in batch):
            raise ValueError("START may not share a batch: sent again, it would run twice")
        import serial
        try:
            return self._requests(batch, accept)
        except (serial.SerialException, OSError) as exc:   # the cable pulled, the device gone
            raise LinkError(f"{self.port}: the device is gone ({exc})") from None

    def _requests(self, batch: list[tuple[Command, bytes]], accept: tuple[Status, ...]) -> list[Frame]:
        frames = []
        for command, payload in batch:
            seq = self._next_seq(command)
            frames.append((seq, command, encode_frame(seq, command, payload)))
        self.counters.requests += len(batch)
        replies: list[Frame | None] = [None] * len(batch)
        unanswered: dict[int, int] = {}          # seq -> index of the requests sent, not answered
        tries = [0] * len(batch)
        following, last_progress = 0, time.monotonic()
        waiting = False      # since the last request went out

        def send(k: int) -> None:
            nonlocal waiting
            seq, _, wire = frames[k]
            if tries[k] > self.retries:
                raise LinkError(f"no answer from {self.port} to {frames[k][1].name} after "
                                f"{self.retries + 1} tries of {self.timeout:g} s")
            if tries[k]:
                self.counters.retries += 1
            tries[k] += 1
            self.serial.write(wire)
            self.counters.bytes_sent += len(wire)
            unanswered[seq] = k
            waiting = False

        queue = rx_queue(self.max_payload)
        window = queue - sum(map(len, FLUSH)) if self.flush else queue
        while following < len(batch) or unanswered:
            in_flight = sum(len(frames[k][2]) for k in unanswered.values())
            while following < len(batch) and frames[following][0] not in unanswered and \
                    (not unanswered or in_flight + len(frames[following][2]) <= window):
                send(following)
                in_flight += len(frames[following][2])
                following += 1
            if not waiting:
                self.counters.turnarounds += 1
                waiting = True
                if self.flush:
                    self.serial.write(b"".join(FLUSH))
                    self.counters.bytes_sent += sum(map(len, FLUSH))
                    self._flushes += len(FLUSH)
            got = self._replies(frames, unanswered, last_progress + self.timeout)
            if not got:                                   # silence: every unanswered request again
                for k in sorted(unanswered.values()):
                    send(k)
                last_progress = time.monotonic()
                continue
            last_progress = time.monotonic()
            for k, reply in got:
                if reply.status in RETRIED:
                    send(k)
                elif reply.status not in accept:
                    name = reply.status.name if reply.status is not None else "an empty payload"
                    raise LinkError(f"{self.port}: the device refused {frames[k][1].name} ({name})")
                else:
                    replies[k] = reply
        return replies

    def _replies(self, frames, unanswered: dict[int, int], deadline: float) -> list[tuple[int, Frame]]:
        """The replies to requests in ``unanswered`` (which loses them) that arrive before
        ``deadline``: all that have come once one has."""
        out: list[tuple[int, Frame]] = []
        while not out and time.monotonic() < deadline:
            data = self.serial.read(max(1, self.serial.in_waiting))
            self.counters.bytes_received += len(data)
            for frame in self._decoder.feed(data):
                if isinstance(frame, WrongVersion):
                    raise LinkError(f"{self.port}: the device speaks protocol version {frame.version}, this host "
                                    f"{VERSION}: build and program its bitstream again (epfpga build, epfpga program)")
                if isinstance(frame, BadFrame):
                    continue   # damaged on the way back: its request goes again after the timeout
                k = unanswered.get(frame.seq)
                if k is not None and frame.command == frames[k][1] | REPLY:
                    del unanswered[frame.seq]
                    out.append((k, frame))
                elif (frame.seq, frame.command) == (0, Command.INFO | REPLY):
                    self._flushes = max(0, self._flushes - 1)
        return out

    # -- commands -----------------------------------------------------------------------------------
    def info(self) -> Descriptor:
        """The device's descriptor; its largest payload sizes the requests from here on."""
        descriptor = Descriptor.unpack(self.request(Command.INFO).payload[1:])
        self.max_payload = descriptor.max_payload
        return descriptor

    def wait(self, max_cycles: int = 1 << 18) -> dict[str, int]:
        """The status registers once the core is idle (asking again while it runs)."""
        while True:
            reply = self.request(Command.WAIT, wait_payload(max_cycles), accept=(Status.OK, Status.BUSY))
            if reply.status == Status.OK:
                return _registers(reply.payload)

    def start(self, bank: int) -> None:
        self.request(Command.START, start_payload(bank))


def _registers(payload: bytes) -> dict[str, int]:
    """The STATUS and WAIT replies: the core's registers STATUS … WAIT_CYCLES, then the link's."""
    names = [Reg(r).name.lower() for r in range(Reg.STATUS, Reg.STATUS + STATUS_REGISTERS)] + list(LINK_COUNTERS)
    return dict(zip(names, read_values(payload, 4)))


class LinkTransport:
    """The host driver's :class:`~epfpga.firmware.driver.Transport` over a :class:`SerialLink`.

    Consecutive addresses of one region go in one burst; each element takes the bytes its
    memory's width needs.  Weights and biases come back sign-extended, as the bus gives them.
    Given an input ``table`` (:func:`~.input_code.input_table`), the transport loads it into
    the device and sends each burst of inputs as the bytes of their table entries
    (``INPUTS``), zero runs coded where that is shorter; a burst holding a value the table
    lacks goes as ``WRITE``.
    """

    def __init__(self, params: CoreParams, link: SerialLink, table=None):
        self.params, self.link = params, link
        self.cycles = 0
        self._width = {r.region: (next(w for w in WIDTHS if 8 * w >= r.element_bits), r.signed)
                       for r in params.host_regions() + params.link_regions()}
        self.coder: InputCoder | None = None
        if table is not None:
            self.write([(address(Region.TABLE, k), int(v)) for k, v in enumerate(table)])
            self.coder = InputCoder(table)

    def _bursts(self, addrs: list[int], command: Command):
        """``(first index, first address, count, width, signed)`` of each run of addresses (a
        run of inputs to code has no limit but ``INPUTS``' count)."""
        k = 0
        while k < len(addrs):
            region = addrs[k] >> REGION_SHIFT
            width, signed = self._width.get(region, (4, False))
            limit = MAX_COUNT if self.coder and region == Region.X else \
                max_elements(width, command, self.link.max_payload)
            end = k + 1
            while end < len(addrs) and end - k < limit and addrs[end] == addrs[end - 1] + 1 \
                    and addrs[end] >> REGION_SHIFT == region:
                end += 1
            yield k, addrs[k], end - k, width, signed
            k = end

    def write(self, pairs: list[tuple[int, int]]) -> None:
        """One batch of bursts (the driver's writes of one call go to distinct addresses)."""
        addrs = [a for a, _ in pairs]
        batch: list[tuple[Command, bytes]] = []
        for k, first, count, width, _ in self._bursts(addrs, Command.WRITE):
            values = [v for _, v in pairs[k:k + count]]
            codes = self.coder.code(values) if self.coder and first >> REGION_SHIFT == Region.X else None
            if codes is None:
                step = max_elements(width, Command.WRITE, self.link.max_payload)
                batch += [(Command.WRITE, write_payload(first + j, width, values[j:j + step]))
                          for j in range(0, count, step)]
            else:
                batch += [(Command.INPUTS, payload)
                          for payload in inputs_payloads(first, codes, max_payload=self.link.max_payload)]
        self.link.requests(batch)

    def read(self, addrs: list[int]) -> list[int]:
        out: list[int] = []
        bursts = list(self._bursts(addrs, Command.READ))
        replies = self.link.requests([(Command.READ, read_payload(first, width, count))
                                      for _, first, count, width, _ in bursts])
        for (_, _, _, width, signed), reply in zip(bursts, replies):
            values = read_values(reply.payload, width)
            if signed:
                top = 1 << (8 * width - 1)
                values = [(v - 2 * top) & 0xFFFFFFFF if v & top else v for v in values]
            out += values
        return out

    def run(self, monitor: bool, expect=None, bank: int = 0) -> list:
        if monitor or expect is not None:
            raise UserError("a board has no state monitors: traces and beat checks need --backend rtl")
        self.link.start(bank)
        self.cycles += self.link.wait()["cycles"]
        return []

    def close(self) -> None:
        self.link.close()


class _Recorder:
    """A link that answers every request at once with a payload of the right size, counting
    the bytes each way (for :func:`train_bytes_per_sample`); each batch ends in the
    :data:`FLUSH` of a turn-around, whose ``INFO`` replies are ``info_reply`` bytes."""

    def __init__(self, info_reply: int, max_payload: int):
        self.sent = self.received = 0
        self.info_reply, self.max_payload = info_reply, max_payload

    def request(self, command: Command, payload: bytes = b"", accept=(Status.OK,)) -> Frame:
        return self.requests([(command, payload)])[0]

    def requests(self, batch, accept=(Status.OK,)) -> list[Frame]:
        out = []
        for command, payload in batch:
            if command == Command.READ:
                _, width, count = PARAMS[Command.READ].struct.unpack(payload)
                answer = bytes(1 + width * count)
            elif command in (Command.WAIT, Command.STATUS):
                answer = bytes(1 + 4 * (STATUS_REGISTERS + len(LINK_COUNTERS)))
            else:
                answer = bytes(1)
            self.sent += len(encode_frame(0, command, payload))
            self.received += len(encode_frame(0, command | REPLY, answer))
            out.append(Frame(0, command | REPLY, answer))
        self.sent += len(b"".join(FLUSH))
        self.received += len(FLUSH) * self.info_reply
        return out


def train_bytes_per_sample(params: CoreParams, table=None, xq: np.ndarray | None = None) -> tuple[float, float]:
    """Bytes sent and received per training sample by a double-buffered mini-batch (its inputs
    and labels, ``START``, one ``WAIT``, the predictions, a bridge's flush at each of their four
    turn-arounds), frames included, escapes not (about 1 % more on random bytes): the figure a
    link-bound projection divides the link by.

    ``xq``: the mini-batch's quantised inputs (by default, with an input ``table``, each its
    entry 1: a byte data set without a 0, whose inputs no zero run shortens; without, zeros:
    2 bytes an input whatever they are)."""
    recorder = _Recorder(_info_reply(params.layers), params.max_payload)
    link = LinkTransport(params, recorder, table)
    recorder.sent = recorder.received = 0      # (the table goes once, not with each mini-batch)
    driver = HostDriver(params, link)
    B = params.batch
    if xq is None:
        xq = np.full((B, params.sizes[0]), 0 if table is None else table[1], dtype=np.int64)
    driver.load_batch(xq, np.zeros(B, dtype=np.int64), bank=1)
    recorder.request(Command.START, start_payload(1))
    recorder.request(Command.WAIT, wait_payload(0))
    driver.predictions()
    return recorder.sent / B, recorder.received / B
