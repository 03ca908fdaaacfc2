"""Fuzzing the device's link: random, truncated, bit-flipped, oversized and interleaved frames
against a running device (the simulated board), every answer held to the protocol engine's
model (:class:`~epfpga.verification.engine_model.EngineModel`).

The bad frames aim at the weights, biases and PRNG states, and on a build with the SDRAM at its
first :data:`GUARDED` words and the epoch runner's registers: a bad frame that was applied shows
at the end, when every one of them must read back as it was (the SDRAM's by its checksum), or at
once (an epoch started answers ``BUSY``).  Good frames write, read and
checksum the SDRAM words after those, held to what was written.  ``scripts/fuzz_link.py``
runs it; a test runs a shorter seed.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import serial

from epfpga.contract.address_map import REGION_SHIFT, Region, address, layer_region
from epfpga.contract.params import CoreParams, HostRegion
from epfpga.contract.resident import ResidentReg
from epfpga.contract.protocol import (END, PARAMS, REPLY, TABLE_ENTRIES, VERSION, WIDTHS, Coding, Command,
                                      Frame, FrameDecoder, Status, crc16, expand, inputs_payloads, pack, read_payload,
                                      max_frame, slip_encode, write_payload, zero_runs)
from epfpga.firmware.driver import HostDriver
from epfpga.firmware.link import LinkTransport, SerialLink
from epfpga.firmware.sdram_upload import device_crc
from epfpga.verification.engine_model import EngineModel, Reply

SYNC_EVERY = 100
GUARDED = 1 << 16   # SDRAM words the bad frames aim at (then the good ones' words, as many)
BAD = ("bitflip", "wireflip", "truncated", "oversized", "garbage", "crafted", "interleaved", "bad_code")   # never applied
SYNC_SEQ = 0xA5
RUNNER_SET = (ResidentReg.PERM, ResidentReg.BATCHES, ResidentReg.UNTIL)   # the runner's writable registers


class FuzzFailure(AssertionError):
    """The device answered other than the model says (or not at all)."""


@dataclass
class Report:
    frames: int = 0
    kinds: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    syncs: int = 0
    seconds: float = 0.0


class Fuzzer:
    def __init__(self, params: CoreParams, port: str, baud: int, seed: int):
        self.params, self.port = params, port
        self.rng = np.random.default_rng(seed)
        self.model = EngineModel(params)
        self.serial = serial.Serial(port, baud, timeout=0.01)
        self.decoder = FrameDecoder()
        self.report = Report()
        # what the bad frames aim at, and what it holds
        self.targets = [r for r in params.host_regions() if r.signed or r.region == Region.PRNG]
        self.readable = [r for r in params.host_regions() if r.readable and r.region not in (Region.CONTROL,)]
        self.x = next(r for r in params.host_regions() if r.region == Region.X)
        # the input table, where the build has one (elsewhere a write of it must be refused)
        self.table = next((r for r in params.link_regions() if r.region == Region.TABLE),
                          HostRegion(Region.TABLE, "table", TABLE_ENTRIES, False, False))
        self.kinds = (*BAD, "read", "write_x", "inputs", "table", "duplicate", "info")
        if params.sdram:
            self.targets.append(HostRegion(Region.SDRAM, "sdram", GUARDED, True, True, element_bits=16))
            # the epoch runner's writable registers: a bad frame applied there would start an epoch
            self.targets.append(HostRegion(Region.RESIDENT, "resident", len(RUNNER_SET), True, True))
            self.kinds += ("sdram_write", "sdram_read", "sdram_crc")
            self.written: list[tuple[int, int]] = []   # spans of the SDRAM the good frames wrote

    # -- the wire ----------------------------------------------------------------------------------
    def _replies(self, count: int, timeout: float = 3.0) -> list[Frame]:
        out: list[Frame] = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            out += [f for f in self.decoder.feed(self.serial.read(max(1, self.serial.in_waiting)))
                    if isinstance(f, Frame)]
        return out

    def _expect(self, kind: str, wire: bytes, want: list[Reply], payload: bytes | None = None) -> None:
        self.serial.write(wire)
        got = self._replies(len(want))
        if len(got) < len(want):
            raise FuzzFailure(f"frame {self.report.frames} ({kind}): {len(got)} of {len(want)} answers "
                              f"within 3 s (a hang?); sent {wire[:40].hex()}…")
        for g, w in zip(got, want):
            if (g.seq, g.command, g.status) != (w.seq, w.command, w.status):
                raise FuzzFailure(f"frame {self.report.frames} ({kind}): answer seq {g.seq} command 0x{g.command:02X} "
                                  f"{g.status!r}, the model says seq {w.seq} command 0x{w.command:02X} "
                                  f"{w.status!r}; sent {wire[:40].hex()}…")
            self.report.statuses[w.status.name] += 1
        if payload is not None and got[0].payload[1:] != payload:
            raise FuzzFailure(f"frame {self.report.frames} ({kind}): READ answered {got[0].payload[1:21].hex()}…, "
                              f"the memory holds {payload[:20].hex()}…")

    def sync(self) -> None:
        """An ``INFO`` answers (after whatever answers are still under way)."""
        wire = slip_encode(pack(SYNC_SEQ, Command.INFO))
        for _ in range(20):
            self.serial.write(wire)
            if any((f.seq, f.command, f.status) == (SYNC_SEQ, Command.INFO | REPLY, Status.OK)
                   for f in self._replies(1, 0.3)):
                self.report.syncs += 1
                return
        raise FuzzFailure(f"after frame {self.report.frames}: INFO unanswered (a hang)")

    # -- frames ------------------------------------------------------------------------------------
    def _seq(self) -> int:
        return int(self.rng.integers(0, 256))

    def _span(self, region, most: int) -> tuple[int, int]:
        count = int(self.rng.integers(1, min(most, region.limit) + 1))
        start = int(self.rng.integers(0, region.limit - count + 1))
        return address(region.region, start), count

    def _harmful_write(self) -> bytes:
        """A well-formed WRITE of random values into the weights, biases or PRNG states."""
        region = self.targets[int(self.rng.integers(len(self.targets)))]
        width = 4 if region.region == Region.PRNG else 2
        addr, count = self._span(region, 200)
        values = [int(v) | 1 for v in self.rng.integers(0, 1 << (8 * width), count)]
        return pack(self._seq(), Command.WRITE, write_payload(addr, width, values))

    def run(self, frames: int, shadow: dict[int, int]) -> Report:
        start = time.monotonic()
        while self.report.frames < frames:
            kind = self.kinds[int(self.rng.integers(len(self.kinds)))]
            getattr(self, f"_{kind}")(shadow)
            self.report.kinds[kind] += 1
            self.report.frames += 1
            if self.report.frames % SYNC_EVERY == 0:
                self.sync()
        self.report.seconds = time.monotonic() - start
        return self.report

    def _send_modelled(self, kind: str, wire: bytes, payload: bytes | None = None, harmless: int = 0) -> bool:
        """Send ``wire`` and hold every answer to the model (a frame that arrives while the
        device answers the one before waits in its receive queue).  The frames of a bad kind
        must change nothing, but for the last ``harmless`` ones, well-formed frames that
        follow them.  Returns whether the last frame changed the device (a write that was not
        taken for a retry of the one before)."""
        want = self.model.feed(wire)
        if kind in BAD and any(w.applied for w in want[:len(want) - harmless]):
            raise FuzzFailure(f"fuzzer: a {kind} frame is well-formed ({wire[:40].hex()}…)")
        self._expect(kind, wire, want, payload)
        return bool(want) and want[-1].applied

    def _harmless(self) -> bytes:
        """A well-formed frame that changes no weight, bias or PRNG state: an input write
        (``WRITE`` or ``INPUTS``) or INFO."""
        if self.rng.integers(3) == 2:
            return slip_encode(pack(self._seq(), Command.INPUTS, self._inputs_payload()))
        if self.rng.integers(2):
            addr, count = self._span(self.x, 40)
            values = [int(v) for v in self.rng.integers(0, 1 << self.params.input_bits, count)]
            return slip_encode(pack(self._seq(), Command.WRITE, write_payload(addr, 2, values)))
        return slip_encode(pack(self._seq(), Command.INFO))

    def _bitflip(self, shadow) -> None:
        frame = bytearray(self._harmful_write())
        for bit in self.rng.choice(8 * len(frame), int(self.rng.integers(1, 4)), replace=False).tolist():
            frame[bit // 8] ^= 1 << bit % 8   # distinct bits: two flips of one bit would undo it
        self._send_modelled("bitflip", slip_encode(bytes(frame)))

    def _wireflip(self, shadow) -> None:
        wire = bytearray(slip_encode(self._harmful_write()))
        bit = int(self.rng.integers(8, 8 * (len(wire) - 1)))   # not the delimiters' own bits
        wire[bit // 8] ^= 1 << bit % 8
        wire = bytes(wire) + bytes([END])   # an END flipped away would leave the frame open
        self._send_modelled("wireflip", wire)

    def _truncated(self, shadow) -> None:
        frame = self._harmful_write()
        self._send_modelled("truncated", slip_encode(frame[:int(self.rng.integers(1, len(frame)))]))

    def _oversized(self, shadow) -> None:
        longest = max_frame(self.params.max_payload)
        body = bytes(int(v) for v in self.rng.integers(0, 256, int(self.rng.integers(longest + 1, longest + 300))))
        self._send_modelled("oversized", slip_encode(body))

    def _garbage(self, shadow) -> None:
        """Garbage, then (its END the request's leading one) a request right behind it."""
        body = bytes(int(v) for v in self.rng.integers(0, 256, int(self.rng.integers(1, 60))))
        self._send_modelled("garbage", bytes([END]) + body + self._harmless(), harmless=1)

    def _crafted(self, shadow) -> None:
        """A frame with a good CRC and one wrong field."""
        frame = bytearray(self._harmful_write())
        body = frame[:-2]
        choice = int(self.rng.integers(6))
        if choice == 0:
            body[0] = (VERSION + int(self.rng.integers(1, 256))) & 0xFF    # version: any other
        elif choice == 1:
            body[3:5] = struct.pack("<H", (len(body) - 5 + int(self.rng.integers(1, 9))) & 0xFFFF)   # length field
        elif choice == 2:
            body[2] = int(self.rng.choice([0, 7, 0x42, 0x81, 0xFF]))       # command
        elif choice == 3:
            body[9] = int(self.rng.choice([0, 3, 5, 8]))                   # width
        elif choice == 4:                                                 # past the region's end
            region = self.model.regions[body[8]]   # (the whole region: the SDRAM's target is its start)
            count = (len(body) - 10) // body[9]
            # (the start must fit the offset's bits, all of which the SDRAM's words fill)
            start = min(region.limit - count + int(self.rng.integers(1, count + 1)), (1 << REGION_SHIFT) - 1)
            if start + count > region.limit:
                body[5:9] = struct.pack("<I", address(region.region, start))
            else:   # one word at the SDRAM's last: an absent region instead
                body[8] = 200
        else:                                                             # a read-only or absent region
            body[8] = int(self.rng.choice([Region.PRED, layer_region(1, "state"), 15, 200]))
        self._send_modelled("crafted", slip_encode(bytes(body) + crc16(bytes(body)).to_bytes(2, "big")))

    def _interleaved(self, shadow) -> None:
        """A frame cut short by the next one, which arrives while the device answers the
        first: both are answered as the model says, the cut one changing nothing."""
        first = self._harmful_write()
        prefix = slip_encode(first)[:-1][:int(self.rng.integers(2, len(first)))]
        self._send_modelled("interleaved", prefix + self._harmless(), harmless=1)

    def _read(self, shadow) -> None:
        region = self.readable[int(self.rng.integers(len(self.readable)))]
        width = int(self.rng.choice(WIDTHS))
        addr, count = self._span(region, 1023 // width)
        wire = slip_encode(pack(self._seq(), Command.READ, read_payload(addr, width, count)))
        known = all(addr + k in shadow for k in range(count))
        payload = b"".join((shadow[addr + k] & ((1 << 8 * width) - 1)).to_bytes(width, "little")
                           for k in range(count)) if known else None
        self._send_modelled("read", wire, payload)

    def _write_x(self, shadow) -> None:
        addr, count = self._span(self.x, 300)
        values = [int(v) for v in self.rng.integers(0, 1 << self.params.input_bits, count)]
        self._send_modelled("write_x", slip_encode(pack(self._seq(), Command.WRITE, write_payload(addr, 2, values))))

    def _inputs_payload(self) -> bytes:
        """A well-formed ``INPUTS`` payload: random bytes, a random share of them 0, either coding."""
        addr, count = self._span(self.x, 600)
        data = (self.rng.integers(1, 256, count) * (self.rng.random(count) >= self.rng.random())).astype(np.uint8)
        return inputs_payloads(addr, data.tobytes(), Coding(int(self.rng.integers(len(Coding)))),
                               max_payload=self.params.max_payload)[0]

    def _inputs(self, shadow) -> None:
        self._send_modelled("inputs", slip_encode(pack(self._seq(), Command.INPUTS, self._inputs_payload())))

    def _bad_code(self, shadow) -> None:
        """An ``INPUTS`` frame with a good CRC whose codes or fields are wrong: a zero run
        without its length, a count the codes do not make, an unknown coding, no codes."""
        lead = PARAMS[Command.INPUTS]
        addr, coding, count = lead.struct.unpack_from(payload := self._inputs_payload())
        codes, choice = payload[lead.size:], int(self.rng.integers(4))
        if choice == 0:     # (zero-run codes never end inside a run: one more 0 does)
            coding, codes = Coding.ZERO_RUNS, zero_runs(expand(Coding(coding), codes)) + b"\x00"
        elif choice == 1:
            count = (count + int(self.rng.choice([-1, 1])) * int(self.rng.integers(1, 300))) & 0xFFFF
        elif choice == 2:
            coding = int(self.rng.integers(len(Coding), 256))
        else:
            codes = b""
        self._send_modelled("bad_code", slip_encode(pack(self._seq(), Command.INPUTS,
                                                         lead.struct.pack(addr, coding, count) + codes)))

    def _table(self, shadow) -> None:
        """A write of the input table (the check afterwards loads its own)."""
        addr, count = self._span(self.table, TABLE_ENTRIES)
        values = [int(v) for v in self.rng.integers(0, 1 << self.params.input_bits, count)]
        self._send_modelled("table", slip_encode(pack(self._seq(), Command.WRITE, write_payload(addr, 2, values))))

    def _duplicate(self, shadow) -> None:
        addr, count = self._span(self.x, 20)
        wire = slip_encode(pack(self._seq(), Command.WRITE, write_payload(addr, 2, [1] * count)))
        self._send_modelled("duplicate", wire)
        self._send_modelled("duplicate", wire)

    def _info(self, shadow) -> None:
        self._send_modelled("info", slip_encode(pack(self._seq(), Command.INFO)))

    # -- the SDRAM's words after the guarded ones: written, read back, checksummed ------------------
    def _sdram_span(self, most: int) -> tuple[int, int]:
        count = int(self.rng.integers(1, most + 1))
        return GUARDED + int(self.rng.integers(0, GUARDED - count + 1)), count

    def _sdram_write(self, shadow) -> None:
        offset, count = self._sdram_span(400)
        values = [int(v) for v in self.rng.integers(0, 1 << 16, count)]
        addr = address(Region.SDRAM, offset)
        wire = slip_encode(pack(self._seq(), Command.WRITE, write_payload(addr, 2, values)))
        if self._send_modelled("sdram_write", wire):   # (not when its seq made it a duplicate)
            shadow.update(zip(range(addr, addr + count), values))
            self.written.append((offset, count))

    def _sdram_read(self, shadow) -> None:
        offset, count = self.written[int(self.rng.integers(len(self.written)))] if self.written else (GUARDED, 1)
        addr = address(Region.SDRAM, offset)
        wire = slip_encode(pack(self._seq(), Command.READ, read_payload(addr, 2, count)))
        known = all(addr + k in shadow for k in range(count))
        self._send_modelled("sdram_read", wire, b"".join(shadow[addr + k].to_bytes(2, "little") for k in range(count))
                            if known else None)

    def _sdram_crc(self, shadow) -> None:
        """The checksum of a span the good frames wrote, against the words they wrote."""
        if not self.written:
            return self._sdram_write(shadow)
        offset, count = self.written[int(self.rng.integers(len(self.written)))]
        addr = address(Region.SDRAM, offset)
        registers = write_payload(address(Region.SDRAM_CRC, 0), 4, [offset, count])
        if not self._send_modelled("sdram_crc", slip_encode(pack(self._seq(), Command.WRITE, registers))):
            return   # (taken for a retry: the registers keep the last range)
        words = np.array([shadow[addr + k] for k in range(count)], dtype="<u2")
        self._send_modelled("sdram_crc", slip_encode(pack(self._seq(), Command.READ,
                                                          read_payload(address(Region.SDRAM_CRC, 2), 4, 1))),
                            zlib.crc32(words.tobytes()).to_bytes(4, "little"))


def fuzz(params: CoreParams, port: str, baud: int, frames: int, seed: int) -> Report:
    """``frames`` fuzz frames against the device on ``port``; raises :class:`FuzzFailure` at
    the first answer the model does not give, and unless every weight, bias and PRNG state
    reads back as it was, and the SDRAM's guarded words have the checksum they had."""
    link = SerialLink(port, baud)
    driver = HostDriver(params, LinkTransport(params, link))
    before = {**driver.read_weights(), "prng": driver.read_prng()}
    if params.sdram:
        before["sdram"] = device_crc(driver.transport, 0, GUARDED)
        before["resident"] = driver.transport.read([address(Region.RESIDENT, r) for r in ResidentReg])
    shadow: dict[int, int] = {}
    for n in range(1, params.layers + 1):
        for name, addrs in ((f"W{n}", driver.weight_addresses(n)), (f"b{n}", driver.bias_addresses(n))):
            shadow.update(zip(addrs.ravel().tolist(), before[name].ravel().tolist()))
    shadow.update(zip(driver.prng_addresses(), before["prng"].tolist()))
    link.close()
    fuzzer = Fuzzer(params, port, baud, seed)
    # the model starts where the device is: the link's opening write is the last one applied
    fuzzer.model.applied_seq = link.last_applied_seq
    report = fuzzer.run(frames, shadow)
    fuzzer.sync()
    fuzzer.serial.close()
    link = SerialLink(port, baud)
    driver = HostDriver(params, LinkTransport(params, link))
    after = {**driver.read_weights(), "prng": driver.read_prng()}
    if params.sdram:
        after["sdram"] = device_crc(driver.transport, 0, GUARDED)
        after["resident"] = driver.transport.read([address(Region.RESIDENT, r) for r in ResidentReg])
    link.close()
    if before.get("sdram") != after.get("sdram"):
        raise FuzzFailure(f"the SDRAM's first {GUARDED:,} words changed by the fuzz (checksum "
                          f"{before['sdram']:08x}, now {after['sdram']:08x})")
    for name, value in before.items():
        if name == "sdram":
            continue
        changed = np.flatnonzero(np.asarray(after[name]).ravel() != np.asarray(value).ravel())
        if len(changed):
            raise FuzzFailure(f"{name}: {len(changed)} values changed by the fuzz (first at flat index {changed[0]})")
    return report
