"""The host link's framed command protocol, sans I/O (``docs/protocol.md``).

One module for both ends: the gateware's protocol engine (``hdl/protocol_engine.py``) takes its
codes, sizes and CRC from here, and the host's transports encode requests and decode replies
with :func:`encode_frame` and :class:`FrameDecoder`, never touching a port themselves.

A frame on the wire is SLIP-encoded (RFC 1055) and delimited by ``END`` bytes; decoded it is
``version, seq, command, length (u16 LE), payload, CRC-16/IBM-3740 (big-endian)``.  The
header's fields and those that lead each request's payload are named once, in :data:`HEADER`
and :data:`PARAMS`: the host packs them with their :mod:`struct` and the gateware reads them
through their :class:`~amaranth.lib.data.StructLayout`.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from amaranth.lib import data

VERSION = 2         # 2: coded inputs (INPUTS, the input table, BAD_CODE)
CRC_BYTES = 2
# The largest payload a build takes (``hardware.max_payload``, in the descriptor): this one by
# default, and at most; at least 128 (the config's least), which every reply fits.
MAX_PAYLOAD = 1024
DEFAULT_BAUD = 3_000_000   # the ULX3S's FT231X
REPLY = 0x80        # a reply's command byte: the request's, with this bit set
WIDTHS = (1, 2, 4)  # bytes per element of WRITE and READ

END, ESC, ESC_END, ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD

CRC_POLY, CRC_INIT = 0x1021, 0xFFFF


class Command(enum.IntEnum):
    INFO = 0x01
    WRITE = 0x02
    READ = 0x03
    START = 0x04
    STATUS = 0x05
    WAIT = 0x06     # STATUS once the core is idle, or after a cycle limit (docs/protocol.md §3)
    INPUTS = 0x07   # coded input bytes, expanded through the input table (docs/protocol.md §3)


STATE_CHANGING = (Command.WRITE, Command.START, Command.INPUTS)   # never applied twice (docs/protocol.md §5)


class Coding(enum.IntEnum):
    """How an ``INPUTS`` payload codes its input bytes (``docs/protocol.md`` §3)."""
    BYTES = 0       # one byte an element
    ZERO_RUNS = 1   # a byte other than 0 is one element; 0 then r is r + 1 elements of byte 0


TABLE_ENTRIES = 256     # the input table: one input value for each byte
MAX_RUN = 256           # the longest run one zero-run code (0, r) stands for
MAX_COUNT = 0xFFFF      # the most values one INPUTS frame writes (its u16 count)


@dataclass(frozen=True)
class Fields:
    """Consecutive little-endian unsigned fields of 1, 2 or 4 bytes, ``(name, bytes)`` in wire
    order: one definition for the host's :attr:`struct` and the gateware's :attr:`layout`
    (byte ``k`` of the fields is bits ``8k … 8k + 7`` of the layout, as the bytes arrive)."""

    fields: tuple[tuple[str, int], ...]

    @property
    def size(self) -> int:
        return sum(n for _, n in self.fields)

    @cached_property
    def struct(self) -> struct.Struct:
        return struct.Struct("<" + "".join({1: "B", 2: "H", 4: "I"}[n] for _, n in self.fields))

    @cached_property
    def layout(self) -> data.StructLayout:
        return data.StructLayout({name: 8 * n for name, n in self.fields})


HEADER = Fields((("version", 1), ("seq", 1), ("command", 1), ("length", 2)))
HEADER_BYTES = HEADER.size
# The fields that lead each request's payload (a WRITE's elements follow its own; the rest
# have none after them).  WRITE's are READ's first two and INPUTS' have READ's shape, so the
# gateware reads them alike.
PARAMS = {Command.WRITE: Fields((("addr", 4), ("width", 1))),
          Command.READ: Fields((("addr", 4), ("width", 1), ("count", 2))),
          Command.START: Fields((("bank", 1),)),
          Command.INPUTS: Fields((("addr", 4), ("coding", 1), ("count", 2))),
          Command.WAIT: Fields((("max_cycles", 4),))}


def max_frame(max_payload: int = MAX_PAYLOAD) -> int:
    """The bytes of the largest decoded frame of a build that takes ``max_payload``."""
    return HEADER_BYTES + max_payload + CRC_BYTES


def rx_queue(max_payload: int = MAX_PAYLOAD) -> int:
    """Symbols the receive queue of a build that takes ``max_payload`` holds (``docs/protocol.md``
    §4): one largest frame and its delimiters, rounded up to a power of two.  A client keeps at
    most this many bytes of requests unanswered (§5), so none is ever dropped."""
    return 1 << (max_frame(max_payload) + 2 - 1).bit_length()


MAX_FRAME = max_frame()
RX_QUEUE = rx_queue()


def frame_layout() -> data.StructLayout:
    """A request's first bytes as the gateware holds them: the header, then the union of the
    commands' leading fields (``params.read.addr``, ``params.start.bank``, ...)."""
    return data.StructLayout({"header": HEADER.layout,
                              "params": data.UnionLayout({c.name.lower(): f.layout for c, f in PARAMS.items()})})


class Status(enum.IntEnum):
    OK = 0
    BAD_CRC = 1
    BAD_LENGTH = 2
    UNKNOWN_COMMAND = 3
    ADDRESS = 4
    BUSY = 5
    OVERFLOW = 6
    BAD_VERSION = 7
    FRAMING = 8
    BAD_CODE = 9


# STATUS reply: the core's control registers STATUS … WAIT_CYCLES (address_map.Reg 1-8), then
# the link's counters, each a u32 LE after the status byte.
STATUS_REGISTERS = 8
LINK_COUNTERS = ("bad_frames", "rx_errors")


def crc16(data: bytes, crc: int = CRC_INIT) -> int:
    """CRC-16/IBM-3740 (also called CRC-16/CCITT-FALSE): poly 0x1021, init 0xFFFF, no
    reflection, no final xor; ``crc16(b"123456789") == 0x29B1``."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLY if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


def slip_encode(frame: bytes) -> bytes:
    """``END``, the escaped frame, ``END`` (the leading ``END`` ends any garbage before it)."""
    body = frame.replace(bytes([ESC]), bytes([ESC, ESC_ESC])).replace(bytes([END]), bytes([ESC, ESC_END]))
    return bytes([END]) + body + bytes([END])


def pack(seq: int, command: int, payload: bytes = b"", version: int = VERSION) -> bytes:
    """A decoded frame: header, payload and CRC."""
    body = HEADER.struct.pack(version, seq & 0xFF, command, len(payload)) + payload
    return body + struct.pack(">H", crc16(body))


def encode_frame(seq: int, command: int, payload: bytes = b"") -> bytes:
    """A request (or reply) ready for the wire."""
    return slip_encode(pack(seq, command, payload))


@dataclass(frozen=True)
class Frame:
    """A decoded frame whose CRC, version and length field are good."""

    seq: int
    command: int
    payload: bytes

    @property
    def status(self) -> Status | None:
        """A reply's status byte (``None`` when the payload is empty)."""
        return Status(self.payload[0]) if self.payload and self.payload[0] in Status._value2member_map_ else None


class BadFrame(ValueError):
    """A frame that cannot be trusted: its text says why."""


class WrongVersion(BadFrame):
    """A frame whose CRC is good but whose protocol version is not :data:`VERSION`."""

    def __init__(self, version: int):
        super().__init__(f"protocol version {version}, expected {VERSION}")
        self.version = version


def parse(frame: bytes) -> Frame:
    """Check and split one decoded (unescaped) frame."""
    if len(frame) < HEADER_BYTES + CRC_BYTES:
        raise BadFrame(f"{len(frame)} bytes, shorter than a header and CRC ({HEADER_BYTES + CRC_BYTES})")
    if crc16(frame) != 0:   # the CRC over the frame with its big-endian CRC appended is 0
        raise BadFrame(f"bad CRC (frame {frame[:HEADER_BYTES].hex()}…)")
    version, seq, command, length = HEADER.struct.unpack_from(frame)
    if version != VERSION:
        raise WrongVersion(version)
    if length != len(frame) - HEADER_BYTES - CRC_BYTES:
        raise BadFrame(f"length field {length}, but {len(frame) - HEADER_BYTES - CRC_BYTES} payload bytes")
    return Frame(seq, command, frame[HEADER_BYTES:-CRC_BYTES])


class FrameDecoder:
    """Bytes in, frames out: :meth:`feed` returns the frames that ended in ``data`` (a
    :class:`Frame`, or a :class:`BadFrame` naming what was wrong).  Empty frames (two
    ``END`` in a row) are skipped; an unknown escape (``END`` after ``ESC`` included: it still
    ends the frame) or an oversized frame is a bad frame."""

    def __init__(self, max_frame: int = MAX_FRAME):
        self.max_frame = max_frame
        self._buf = bytearray()
        self._escaped = False
        self._error: str | None = None

    def feed(self, data: bytes) -> list[Frame | BadFrame]:
        return list(self._feed(data))

    def _feed(self, data: bytes) -> Iterator[Frame | BadFrame]:
        for byte in data:
            if byte == END:
                if self._escaped:
                    self._error = self._error or f"escape byte 0x{ESC:02X} followed by END"
                if self._error:
                    yield BadFrame(self._error)
                elif self._buf:
                    try:
                        yield parse(bytes(self._buf))
                    except BadFrame as exc:
                        yield exc
                self._buf.clear()
                self._escaped, self._error = False, None
                continue
            if self._escaped:
                self._escaped = False
                if byte not in (ESC_END, ESC_ESC):
                    self._error = self._error or f"escape byte 0x{ESC:02X} followed by 0x{byte:02X}"
                    continue
                byte = END if byte == ESC_END else ESC
            elif byte == ESC:
                self._escaped = True
                continue
            if len(self._buf) >= self.max_frame:
                self._error = self._error or f"frame longer than {self.max_frame} bytes"
            else:
                self._buf.append(byte)


# -- payloads ---------------------------------------------------------------------------------------
def write_payload(addr: int, width: int, values: list[int]) -> bytes:
    """``WRITE``: ``values`` into consecutive element addresses from ``addr``, ``width``
    bytes each (two's complement, truncated to the element)."""
    mask = (1 << 8 * width) - 1
    elements = b"".join((v & mask).to_bytes(width, "little") for v in values)
    return PARAMS[Command.WRITE].struct.pack(addr, width) + elements


def read_payload(addr: int, width: int, count: int) -> bytes:
    return PARAMS[Command.READ].struct.pack(addr, width, count)


def start_payload(bank: int) -> bytes:
    return PARAMS[Command.START].struct.pack(bank)


def wait_payload(max_cycles: int) -> bytes:
    return PARAMS[Command.WAIT].struct.pack(max_cycles)


def zero_runs(data: bytes) -> bytes:
    """``data``, input bytes, coded as :attr:`Coding.ZERO_RUNS`."""
    return b"".join(code for _, code in _runs(data))


def expand(coding: Coding, codes: bytes) -> bytes | None:
    """The input bytes that an ``INPUTS`` payload's ``codes`` stand for, as the device decodes
    them; ``None`` where a zero run lacks its length (the last code is a 0)."""
    if coding == Coding.BYTES:
        return bytes(codes)
    out, k = bytearray(), 0
    while k < len(codes):
        if codes[k]:
            out.append(codes[k])
            k += 1
        elif k + 1 == len(codes):
            return None
        else:
            out += bytes(codes[k + 1] + 1)
            k += 2
    return bytes(out)


def _runs(data: bytes) -> Iterator[tuple[int, bytes]]:
    """``(elements, codes)`` of :attr:`Coding.ZERO_RUNS`, a stretch of literals or one run at a time."""
    k = 0
    while k < len(data):
        end = k
        if data[k]:
            while end < len(data) and data[end]:
                end += 1
            yield end - k, bytes(data[k:end])
        else:
            while end < len(data) and not data[end] and end - k < MAX_RUN:
                end += 1
            yield end - k, bytes([0, end - k - 1])
        k = end


def inputs_payloads(addr: int, data: bytes, coding: Coding | None = None,
                    max_payload: int = MAX_PAYLOAD) -> list[bytes]:
    """``INPUTS`` payloads that write the table values of ``data``'s bytes to consecutive
    element addresses from ``addr``, each within ``max_payload`` bytes and :data:`MAX_COUNT`
    elements (a zero run is never split, a stretch of literals may be); ``coding`` ``None``:
    whichever codes ``data`` shorter."""
    lead = PARAMS[Command.INPUTS]
    room = max_payload - lead.size
    runs = list(_runs(data)) if coding != Coding.BYTES else []
    if coding is None:
        coding = Coding.ZERO_RUNS if sum(len(code) for _, code in runs) < len(data) else Coding.BYTES
    pieces = runs if coding == Coding.ZERO_RUNS else [(len(data), bytes(data))]
    out: list[bytes] = []
    codes, count = bytearray(), 0
    for elements, code in pieces:
        literal = coding == Coding.BYTES or code[0] != 0
        while code:
            take = min(room - len(codes), MAX_COUNT - count, len(code)) if literal else \
                len(code) if len(codes) + len(code) <= room and count + elements <= MAX_COUNT else 0
            if take == 0:   # this payload is full
                out.append(lead.struct.pack(addr, coding, count) + bytes(codes))
                addr, codes, count = addr + count, bytearray(), 0
                continue
            codes += code[:take]
            count += take if literal else elements
            code = code[take:]
    if codes:
        out.append(lead.struct.pack(addr, coding, count) + bytes(codes))
    return out


def read_values(payload: bytes, width: int) -> list[int]:
    """The elements of a ``READ`` reply (after its status byte), unsigned."""
    return [int.from_bytes(payload[k:k + width], "little") for k in range(1, len(payload), width)]


def max_elements(width: int, command: Command, max_payload: int = MAX_PAYLOAD) -> int:
    """The most elements one ``WRITE`` or ``READ`` frame of a build that takes ``max_payload``
    carries at ``width``."""
    room = max_payload - (PARAMS[Command.WRITE].size if command == Command.WRITE else 1)
    return room // width


class Feature(enum.IntFlag):
    """What a build's link offers beyond the base protocol (the descriptor's ``features``)."""
    CODED_INPUTS = 1    # INPUTS and the input table
    SDRAM = 2           # region SDRAM: the board's SDRAM on the host bus


@dataclass(frozen=True)
class Descriptor:
    """The ``INFO`` reply: what the gateware was built from (``docs/protocol.md`` §6)."""

    version: int
    layers: int
    lanes: int
    state_bits: int
    input_bits: int
    weight_bits: int
    label_bits: int
    features: Feature
    batch: int
    max_payload: int
    clock_hz: int
    baud: int
    digest: bytes
    sizes: tuple[int, ...]

    FIXED = struct.Struct("<BBBBBBBBHHII16s")

    def pack(self) -> bytes:
        return self.FIXED.pack(self.version, self.layers, self.lanes, self.state_bits, self.input_bits,
                               self.weight_bits, self.label_bits, self.features, self.batch, self.max_payload,
                               self.clock_hz, self.baud, self.digest) + struct.pack(f"<{len(self.sizes)}H", *self.sizes)

    @classmethod
    def unpack(cls, data: bytes) -> Descriptor:
        if len(data) < cls.FIXED.size:
            raise BadFrame(f"INFO descriptor of {len(data)} bytes, shorter than {cls.FIXED.size}")
        fields = cls.FIXED.unpack_from(data)
        layers = fields[1]
        if len(data) != cls.FIXED.size + 2 * (layers + 1):
            raise BadFrame(f"INFO descriptor of {len(data)} bytes for {layers} layers")
        sizes = struct.unpack_from(f"<{layers + 1}H", data, cls.FIXED.size)
        return cls(*fields[:7], Feature(fields[7]), *fields[8:], sizes=tuple(sizes))
