"""The link protocol, sans I/O: CRC, SLIP, frames, payloads, descriptor, and the fields' one layout."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga.contract.protocol import (CRC_BYTES, END, ESC, HEADER, HEADER_BYTES, MAX_FRAME, MAX_PAYLOAD, MAX_RUN,
                                      PARAMS, VERSION, BadFrame, Coding, Command, Descriptor, Feature, Frame, FrameDecoder,
                                      crc16, encode_frame, expand, frame_layout, inputs_payloads, pack, parse,
                                      max_elements, max_frame, read_payload, read_values, rx_queue, RX_QUEUE,
                                      slip_encode, start_payload, wait_payload, write_payload, zero_runs)


def test_crc16_is_ibm_3740():
    assert crc16(b"123456789") == 0x29B1      # the catalogue's check value
    assert crc16(b"") == 0xFFFF
    body = pack(7, Command.INFO)
    assert crc16(body) == 0                   # a frame with its big-endian CRC leaves no residue


def test_slip_escapes_every_delimiter_and_escape():
    frame = bytes([END, ESC, 1, END, END, ESC, 0])
    wire = slip_encode(frame)
    assert wire[0] == END and wire[-1] == END and END not in wire[1:-1]
    (unescaped,) = FrameDecoder().feed(wire)        # the same 7 bytes come back (a bad CRC)
    assert isinstance(unescaped, BadFrame) and "bad CRC" in str(unescaped)
    decoder = FrameDecoder()
    raw = pack(3, Command.WRITE, bytes(range(256)))
    (got,) = decoder.feed(slip_encode(raw))
    assert got == Frame(3, Command.WRITE, bytes(range(256)))


def test_decoder_resynchronises_after_garbage_and_skips_empty_frames():
    rng = np.random.default_rng(1)
    good = encode_frame(5, Command.STATUS)
    garbage = bytes(rng.integers(0, 256, 40, dtype=np.uint8).tolist()).replace(bytes([END]), b"")
    out = FrameDecoder().feed(garbage + good + bytes([END, END]) + good)
    assert isinstance(out[0], BadFrame)
    assert out[1:] == [Frame(5, Command.STATUS, b"")] * 2


@pytest.mark.parametrize("mutate, reason", [
    (lambda f: f[:-1], "bad CRC"),
    (lambda f: f[:4], "shorter than a header"),
    (lambda f: bytes([VERSION + 1]) + f[1:], "bad CRC"),
])
def test_parse_names_what_is_wrong(mutate, reason):
    with pytest.raises(BadFrame, match=reason):
        parse(mutate(pack(1, Command.READ, b"\x00" * 7)))


def test_parse_checks_version_and_length_field_behind_a_good_crc():
    body = bytes([VERSION + 1, 1, Command.INFO, 0, 0])
    with pytest.raises(BadFrame, match=f"version {VERSION + 1}"):
        parse(body + crc16(body).to_bytes(2, "big"))
    body = bytes([VERSION, 1, Command.INFO, 3, 0])
    with pytest.raises(BadFrame, match="length field 3"):
        parse(body + crc16(body).to_bytes(2, "big"))


def test_oversized_and_bad_escape_frames_are_bad():
    decoder = FrameDecoder()
    (big,) = decoder.feed(bytes([END]) + b"\x01" * (MAX_FRAME + 1) + bytes([END]))
    assert "longer than" in str(big)
    (esc,) = decoder.feed(bytes([END, 1, ESC, 7, 2, END]))
    assert "escape" in str(esc)


def test_esc_then_end_ends_the_frame_and_breaks_it():
    """``ESC END`` is a broken escape (docs/protocol.md §4), not a frame's good end; the frame
    after it is decoded as usual."""
    good = pack(5, Command.INFO)
    escaped_end, after = FrameDecoder().feed(bytes([END]) + good + bytes([ESC, END]) + encode_frame(6, Command.INFO))
    assert isinstance(escaped_end, BadFrame) and "followed by END" in str(escaped_end)
    assert isinstance(after, Frame) and after.seq == 6


def test_write_payload_truncates_twos_complement_and_read_values_inverts():
    payload = write_payload(0x1000002, 2, [-1, 5, -32768])
    assert payload[:5] == bytes([2, 0, 0, 1, 2]) and payload[5:] == bytes([0xFF, 0xFF, 5, 0, 0, 0x80])
    assert read_values(b"\x00" + payload[5:], 2) == [0xFFFF, 5, 0x8000]


def test_descriptor_round_trip_and_bad_lengths():
    d = Descriptor(1, 2, 4, 9, 9, 16, 4, Feature.CODED_INPUTS, 16, 1024, 48_000_000, 12_000_000, bytes(range(16)),
                   (64, 256, 10))
    assert Descriptor.unpack(d.pack()) == d
    with pytest.raises(BadFrame):
        Descriptor.unpack(d.pack()[:-1])
    with pytest.raises(BadFrame):
        Descriptor.unpack(d.pack()[:10])


@pytest.mark.parametrize("fields", [HEADER, *PARAMS.values()], ids=["header", *(c.name for c in PARAMS)])
def test_the_gateware_layout_reads_what_the_host_struct_packs(fields):
    rng = np.random.default_rng(fields.size)
    for values in ([(1 << 8 * n) - 1 for _, n in fields.fields], [0] * len(fields.fields),
                   *([int(rng.integers(1 << 8 * n)) for _, n in fields.fields] for _ in range(20))):
        raw = fields.struct.pack(*values)
        assert len(raw) == fields.size == fields.layout.size // 8
        view = fields.layout.from_bits(int.from_bytes(raw, "little"))
        assert [view[name] for name, _ in fields.fields] == values


def test_the_frame_layout_holds_a_request_as_it_arrives():
    """The header, then each command's fields from the payload's first byte; a WRITE's fields
    are a READ's first two, so the gateware reads the two alike."""
    assert [f for f in PARAMS[Command.WRITE].fields] == list(PARAMS[Command.READ].fields[:2])
    frames = {Command.READ: pack(7, Command.READ, read_payload(0x12345678, 4, 300)),
              Command.WRITE: pack(8, Command.WRITE, write_payload(0x2000001, 2, [5, 6])),
              Command.START: pack(9, Command.START, start_payload(1)),
              Command.WAIT: pack(10, Command.WAIT, wait_payload(123_456))}
    layout = frame_layout()
    for command, frame in frames.items():
        view = layout.from_bits(int.from_bytes(frame[:layout.size // 8], "little"))
        assert (view.header.version, view.header.seq, view.header.command) == (VERSION, frame[1], command)
        assert view.header.length == len(frame) - HEADER_BYTES - CRC_BYTES
    read, write = (layout.from_bits(int.from_bytes(frames[c][:layout.size // 8], "little")) for c in
                   (Command.READ, Command.WRITE))
    assert (read.params.read.addr, read.params.read.width, read.params.read.count) == (0x12345678, 4, 300)
    assert (write.params.read.addr, write.params.read.width) == (0x2000001, 2)
    start, wait = (layout.from_bits(int.from_bytes(frames[c].ljust(layout.size // 8, b"\0")[:layout.size // 8],
                                                   "little")) for c in (Command.START, Command.WAIT))
    assert start.params.start.bank == 1 and wait.params.wait.max_cycles == 123_456


def _bytes_with_runs(rng, n: int, zeros: float) -> bytes:
    return (rng.integers(1, 256, n) * (rng.random(n) >= zeros)).astype(np.uint8).tobytes()


@pytest.mark.parametrize("coding", list(Coding))
@pytest.mark.parametrize("max_payload", [MAX_PAYLOAD, 128])
def test_inputs_payloads_cover_the_bytes_in_order_within_the_frame_and_count_limits(coding, max_payload):
    rng = np.random.default_rng(int(coding))
    lead = PARAMS[Command.INPUTS]
    for n, zeros in ((0, 0.5), (1, 1.0), (700, 0.0), (5000, 0.8), (70_000, 0.999), (200_000, 1.0)):
        data = _bytes_with_runs(rng, n, zeros)
        payloads = inputs_payloads(0x0200_0010, data, coding, max_payload=max_payload)
        at, got = 0x0200_0010, b""
        for p in payloads:
            addr, c, count = lead.struct.unpack_from(p)
            values = expand(c, p[lead.size:])
            assert len(p) <= max_payload and c == coding and addr == at and 1 <= count <= 0xFFFF
            assert values is not None and len(values) == count      # no run split across payloads
            at, got = at + count, got + values
        assert got == data
    assert len(inputs_payloads(0, bytes(200_000), Coding.ZERO_RUNS)) == 4     # 65,535 values a frame at most


def test_a_builds_largest_payload_sizes_its_frames_and_its_receive_queue():
    """One largest frame and its two delimiters, rounded up to a power of two: 2,048 symbols at
    1,024 bytes (two DP16KD, six iCE40 blocks at 10 bits), 512 at 256, 256 at 128; a WRITE or
    READ frame carries what its payload holds after the leading fields or the status byte."""
    assert (max_frame(), RX_QUEUE, MAX_FRAME) == (1031, 2048, 1031)
    assert [rx_queue(p) for p in (128, 256, 512, 1024)] == [256, 512, 1024, 2048]
    assert rx_queue(247) == 256 and rx_queue(248) == 512     # (a frame of 254 bytes and its ENDs fill 256)
    assert max_elements(2, Command.WRITE, 256) == (256 - PARAMS[Command.WRITE].size) // 2 == 125
    assert max_elements(4, Command.READ, 128) == 31 and max_elements(4, Command.READ) == 255


def test_zero_runs_code_a_run_of_up_to_256_zeros_in_two_bytes():
    assert zero_runs(bytes([7, 0, 0, 0, 9])) == bytes([7, 0, 2, 9])
    assert zero_runs(bytes(MAX_RUN + 1)) == bytes([0, 255, 0, 0])
    assert zero_runs(b"") == b""
    assert expand(Coding.ZERO_RUNS, bytes([7, 0, 2, 9])) == bytes([7, 0, 0, 0, 9])
    assert expand(Coding.ZERO_RUNS, bytes([7, 0])) is None                    # a run without its length
    assert expand(Coding.BYTES, bytes([7, 0])) == bytes([7, 0])


def test_the_documents_inputs_example():
    """docs/protocol.md §3: ``C8 00 02 FF`` under zero runs, through MNIST's table."""
    codes = bytes.fromhex("C80002FF")
    assert [b + (b >> 7) for b in expand(Coding.ZERO_RUNS, codes)] == [201, 0, 0, 0, 256]


def test_without_a_coding_the_shorter_one_is_taken():
    lead = PARAMS[Command.INPUTS].struct
    assert [lead.unpack_from(p)[1] for p in inputs_payloads(0, bytes(100))] == [Coding.ZERO_RUNS]
    assert [lead.unpack_from(p)[1] for p in inputs_payloads(0, bytes([1, 0, 2]))] == [Coding.BYTES]
