"""SerialLink's retries against a scripted port: a lost answer or a damaged frame sends the
same request again, with the same sequence number; silence ends in one clear error."""

from __future__ import annotations

import pytest
import serial

from epfpga.contract.address_map import Reg, Region, address
from epfpga.contract.protocol import (REPLY, VERSION, Command, Descriptor, FrameDecoder, Status, encode_frame, pack,
                                      read_payload, slip_encode, write_payload)
from epfpga.firmware.link import BRIDGE_PACKET, FLUSH, LinkError, SerialLink


class ScriptedPort:
    """Answers each request as ``script`` says: ``ok``, ``lost`` (no answer), ``damaged``
    (a reply whose CRC fails), ``old`` (``BAD_VERSION`` from a device of version 1), or a
    :class:`Status` to answer with."""

    def __init__(self, script: list):
        self.script, self.requests = list(script), []
        self._decoder, self._out = FrameDecoder(), b""
        self.baudrate = 12_000_000

    def write(self, data: bytes) -> int:
        for frame in self._decoder.feed(data):
            self.requests.append(frame)
            action = self.script.pop(0) if self.script else "ok"
            if action == "lost":
                continue
            if action == "old":
                self._out += slip_encode(pack(frame.seq, frame.command | REPLY, bytes([Status.BAD_VERSION]), version=1))
                continue
            status = Status.OK if action in ("ok", "damaged") else action
            wire = encode_frame(frame.seq, frame.command | REPLY, bytes([status]))
            self._out += wire[:-3] + bytes([wire[-3] ^ 1]) + wire[-2:] if action == "damaged" else wire
        return len(data)

    @property
    def in_waiting(self) -> int:
        return len(self._out)

    def read(self, n: int) -> bytes:
        data, self._out = self._out[:n], self._out[n:]
        return data

    def close(self) -> None:
        pass


def link_with(monkeypatch, script, flush: bool = False) -> tuple[SerialLink, ScriptedPort]:
    """(Without the bridge's flush unless asked: its requests would take the script's answers.)"""
    port = ScriptedPort(["ok", *script])          # the opening write of every session
    monkeypatch.setattr(serial, "Serial", lambda *a, **k: port)
    return SerialLink("/dev/scripted", 12_000_000, timeout=0.05, retries=2, flush=flush), port


@pytest.mark.parametrize("trouble", ["lost", "damaged", Status.BAD_CRC, Status.OVERFLOW])
def test_a_lost_or_damaged_exchange_sends_the_same_frame_again(monkeypatch, trouble):
    link, port = link_with(monkeypatch, [trouble])
    reply = link.request(Command.WRITE, b"\x00\x00\x00\x00\x04\x01\x00\x00\x00")
    assert reply.status == Status.OK
    first, again = port.requests[-2:]
    assert (first.seq, first.payload) == (again.seq, again.payload)   # the same request, the same seq
    assert link.counters.retries == 1


def test_a_refusal_is_not_retried_and_names_the_status(monkeypatch):
    link, port = link_with(monkeypatch, [Status.BUSY])
    with pytest.raises(LinkError, match=r"refused START \(BUSY\)"):
        link.start(0)
    assert len(port.requests) == 2 and link.counters.retries == 0


def test_silence_ends_in_no_answer_after_every_try(monkeypatch):
    link, port = link_with(monkeypatch, ["lost"] * 3)
    with pytest.raises(LinkError, match=r"no answer from /dev/scripted to INFO after 3 tries of 0.05 s"):
        link.info()
    assert len(port.requests) == 4


@pytest.mark.parametrize("reads", [0, 1, 255, 256, 511])
def test_successive_writes_never_share_a_sequence_number(monkeypatch, reads):
    """255 reads between two writes bring the 8-bit counter back to the first write's number:
    the device would take the second write for a retry, so the link skips one."""
    link, port = link_with(monkeypatch, [])
    for _ in range(3):
        link.request(Command.WRITE, b"\x00\x00\x00\x00\x04\x01\x00\x00\x00")
        for _ in range(reads):
            link.request(Command.STATUS)
    writes = [f.seq for f in port.requests if f.command == Command.WRITE]
    assert len(writes) == 4 and all(a != b for a, b in zip(writes, writes[1:])), writes


def test_a_device_of_an_older_protocol_is_named_at_once(monkeypatch):
    port = ScriptedPort(["old"])
    monkeypatch.setattr(serial, "Serial", lambda *a, **k: port)
    with pytest.raises(LinkError, match=f"speaks protocol version 1, this host {VERSION}: build and program"):
        SerialLink("/dev/scripted", 12_000_000, timeout=5.0, flush=False)
    assert len(port.requests) == 1          # no retries, no timeout


def test_before_each_wait_the_link_sends_what_fills_a_bridge_packet(monkeypatch):
    link, port = link_with(monkeypatch, [], flush=True)
    reads = [(Command.READ, read_payload(address(Region.CONTROL, Reg.CYCLES), 4, 1))] * 3
    assert len(link.requests(reads)) == 3
    commands = [(f.seq, f.command) for f in port.requests]
    flush = [(0, Command.INFO)] * len(FLUSH)
    assert commands == [(1, Command.WRITE), *flush, (2, Command.READ), (3, Command.READ), (4, Command.READ), *flush]
    assert sum(len(encode_frame(0, Command.INFO | REPLY, bytes(1 + Descriptor.FIXED.size + 4))) for _ in FLUSH) \
        >= BRIDGE_PACKET - 1       # behind up to 61 bytes of a packet, the flush's replies complete it
    assert link.counters.bytes_sent == sum(len(encode_frame(0, c, p)) for c, p in [
        (Command.WRITE, write_payload(address(Region.CONTROL, Reg.STATUS), 4, [0])), *reads]) + 2 * len(b"".join(FLUSH))
