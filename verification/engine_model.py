"""A Python model of the device's protocol engine (``hdl/protocol_engine.py``): wire bytes in,
the replies' ``(seq, command, status)`` out, by the rules of ``docs/protocol.md`` §4–5.

It models an idle core and a receive queue that never fills (the fuzzer, ``scripts/fuzz_link.py``,
holds the gateware to it, frames sent back to back included); the memory itself is the
fuzzer's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from epfpga.contract.address_map import REGION_SHIFT, Region
from epfpga.contract.params import CoreParams
from epfpga.contract.protocol import (CRC_BYTES, END, ESC, ESC_END, ESC_ESC, HEADER, HEADER_BYTES,
                                      PARAMS, REPLY, STATE_CHANGING, VERSION, WIDTHS, Coding, Command,
                                      Status, crc16, expand, max_frame)


@dataclass(frozen=True)
class Reply:
    seq: int
    command: int
    status: Status
    applied: bool = False   # a WRITE or START that changed the device


class EngineModel:
    """The protocol engine of ``params``' system top, with the core idle (``INPUTS`` and the
    input table where its config's ``hardware.coded_inputs`` builds them)."""

    def __init__(self, params: CoreParams):
        self.coded = params.coded_inputs
        self.max_payload = params.max_payload
        self.regions = {r.region: r for r in params.host_regions() + params.link_regions()}
        self.applied_seq: int | None = None
        self._buf = bytearray()
        self._escaped = self._framing = self._overflow = False

    def feed(self, wire: bytes) -> list[Reply]:
        """The replies to the frames that end in ``wire``."""
        out = []
        for byte in wire:
            if byte == END:
                self._framing |= self._escaped      # (ESC END: the frame ends, broken)
                if self._buf or self._framing or self._overflow:
                    out.append(self.check(bytes(self._buf), self._framing, self._overflow))
                self._buf.clear()
                self._escaped = self._framing = self._overflow = False
            elif self._escaped:
                self._escaped = False
                if byte in (ESC_END, ESC_ESC):
                    self._store(END if byte == ESC_END else ESC)
                else:
                    self._framing = True
            elif byte == ESC:
                self._escaped = True
            else:
                self._store(byte)
        return out

    def _store(self, byte: int) -> None:
        if len(self._buf) == max_frame(self.max_payload):
            self._overflow = True
        else:
            self._buf.append(byte)

    def check(self, frame: bytes, framing: bool = False, overflow: bool = False) -> Reply:
        """The reply to one decoded frame (the checks in the order of §4)."""
        seq = frame[1] if len(frame) > 1 else 0
        command = frame[2] if len(frame) > 2 else 0

        def reply(status: Status, applied: bool = False) -> Reply:
            return Reply(seq, command | REPLY, status, applied)

        if overflow:
            return reply(Status.OVERFLOW)
        if framing:
            return reply(Status.FRAMING)
        if len(frame) < HEADER_BYTES + CRC_BYTES:
            return reply(Status.BAD_LENGTH)
        if crc16(frame) != 0:
            return reply(Status.BAD_CRC)
        if frame[0] != VERSION:
            return reply(Status.BAD_VERSION)
        length = HEADER.struct.unpack_from(frame)[3]
        payload = frame[HEADER_BYTES:-CRC_BYTES]
        if length != len(payload):
            return reply(Status.BAD_LENGTH)
        if command not in Command._value2member_map_ or (command == Command.INPUTS and not self.coded):
            return reply(Status.UNKNOWN_COMMAND)
        elements = self._elements(Command(command), payload)
        if elements is None:
            return reply(Status.BAD_LENGTH)
        if command in STATE_CHANGING and seq == self.applied_seq:
            return reply(Status.OK)                      # a retry: answered, not applied again
        if command in (Command.WRITE, Command.READ, Command.INPUTS):
            addr = PARAMS[Command.WRITE].struct.unpack_from(payload)[0]     # (they all lead with WRITE's)
            region = self.regions.get(addr >> REGION_SHIFT)
            last = (addr & ((1 << REGION_SHIFT) - 1)) + elements - 1
            allowed = region is not None and (region.readable if command == Command.READ else region.writable)
            if not allowed or last >= region.limit or (command == Command.INPUTS and region.region != Region.X):
                return reply(Status.ADDRESS)
        if command == Command.START and PARAMS[Command.START].struct.unpack(payload)[0] > 1:
            return reply(Status.ADDRESS)
        if command == Command.INPUTS:
            _, coding, count = PARAMS[Command.INPUTS].struct.unpack_from(payload)
            values = expand(Coding(coding), payload[PARAMS[Command.INPUTS].size:])
            if values is None or len(values) != count:
                return reply(Status.BAD_CODE)
        if command in STATE_CHANGING:
            self.applied_seq = seq
            return reply(Status.OK, applied=True)
        return reply(Status.OK)

    def _elements(self, command: Command, payload: bytes) -> int | None:
        """Elements a WRITE or READ moves (0 for the others); ``None``: a payload of the
        wrong shape."""
        n = len(payload)
        if command in (Command.INFO, Command.STATUS):
            return 0 if n == 0 else None
        if command in (Command.WAIT, Command.START):
            return 0 if n == PARAMS[command].size else None
        if command == Command.INPUTS:
            lead = PARAMS[Command.INPUTS]
            if n <= lead.size:
                return None
            _, coding, count = lead.struct.unpack_from(payload)
            return count if count and coding in Coding._value2member_map_ else None
        lead = PARAMS[Command.WRITE]     # (READ's first fields)
        width = lead.struct.unpack_from(payload)[1] if n >= lead.size else 0
        if width not in WIDTHS:
            return None
        if command == Command.WRITE:
            data = n - lead.size
            return data // width if data > 0 and data % width == 0 else None
        count = PARAMS[Command.READ].struct.unpack(payload)[2] if n == PARAMS[Command.READ].size else 0
        return count if count and count * width <= self.max_payload - 1 else None
