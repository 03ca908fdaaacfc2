"""The host link against the simulated board: the system top's Verilog in Verilator, its UART
pins driven bit by bit (divisor 4) from a pty that pyserial opens like a board's port."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
import serial

from epfpga import backends
from epfpga import config as config_mod
from epfpga.contract import programs
from epfpga.contract.address_map import Reg, Region, address, layer_region
from epfpga.contract.assembler import assemble
from epfpga.contract.params import CoreParams
from epfpga.contract.protocol import (END, ESC, MAX_FRAME, PARAMS, VERSION, Coding, Command, Frame, FrameDecoder,
                                      Status, crc16, encode_frame, inputs_payloads, pack, read_payload, read_values,
                                      slip_encode, wait_payload, write_payload)
from epfpga.firmware.board import connect
from epfpga.firmware.driver import HostDriver
from epfpga.firmware.link import LinkError, LinkTransport, SerialLink

CONFIG = dict(sizes=[5, 6, 3], lanes=4, batch=2, lrs=[0.5, 0.5], t1=3, t2=2, estimator="random-sign", seed=3)


@pytest.fixture(scope="module")
def board():
    from epfpga.verification.board_sim import SimulatedBoard
    sim = SimulatedBoard(CoreParams.from_config(config_mod.from_dict(CONFIG)))
    yield sim
    sim.close()


class Raw:
    """Frames as bytes on the port, replies as decoded frames (no retries, no checks)."""

    def __init__(self, port: str):
        self.serial = serial.Serial(port, 12_000_000, timeout=0.02)
        self.decoder = FrameDecoder()

    def send(self, wire: bytes, replies: int = 1, timeout: float = 3.0) -> list:
        self.serial.write(wire)
        out: list = []
        deadline = time.monotonic() + timeout
        while len(out) < replies and time.monotonic() < deadline:
            out += self.decoder.feed(self.serial.read(max(1, self.serial.in_waiting)))
        assert len(out) == replies, f"{len(out)} replies, expected {replies}: {out}"
        return out

    def status_of(self, wire: bytes) -> Status:
        (reply,) = self.send(wire)
        assert isinstance(reply, Frame), reply
        return reply.status

    def close(self):
        self.serial.close()


def test_info_answers_the_descriptor_the_gateware_was_built_with(board):
    link = SerialLink(board.port, 12_000_000)
    assert link.info() == board.system.descriptor
    link.close()


def test_a_device_of_another_config_is_refused_naming_both_digests(board, tmp_path):
    other = config_mod.from_dict({**CONFIG, "lrs": [0.25, 0.5]})
    with pytest.raises(LinkError) as info:
        connect(other, board.port, 12_000_000, 2.0)
    ours, theirs = CoreParams.from_config(other).digest.hex(), board.system.params.digest.hex()
    assert ours in str(info.value) and theirs in str(info.value)
    (tmp_path / "other.toml").write_text(config_mod.dumps(other))
    proc = subprocess.run([sys.executable, "-m", "epfpga.cli", "train", "--backend", "board", "--port", board.port,
                           "--config", str(tmp_path / "other.toml")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert ours in proc.stderr and theirs in proc.stderr


def test_the_driver_reads_back_every_memory_it_writes_over_the_link(board):
    hw = board.system.params
    link = SerialLink(board.port, 12_000_000)
    driver = HostDriver(hw, LinkTransport(hw, link))
    rng = np.random.default_rng(5)
    weights = {f"W{n}": rng.integers(-2 ** 15, 2 ** 15, (hw.sizes[n], hw.sizes[n - 1])) for n in (1, 2)}
    weights |= {f"b{n}": rng.integers(-2 ** 15, 2 ** 15, hw.sizes[n]) for n in (1, 2)}
    driver.load_weights(weights)
    got = driver.read_weights()
    assert all(np.array_equal(got[k], v) for k, v in weights.items())
    states = rng.integers(1, 1 << 32, hw.lanes + 1, dtype=np.uint64)
    driver.load_prng(states)
    assert np.array_equal(driver.read_prng(), states)
    for bank in (0, 1):
        xq = rng.integers(0, 257, (hw.batch, hw.sizes[0]))
        driver.load_batch(xq, np.array([1, 2]), bank=bank)
        assert np.array_equal(driver.read_inputs(bank), xq)
    link.close()


def test_every_bad_frame_gets_its_documented_status_and_changes_nothing(board):
    hw = board.system.params
    raw = Raw(board.port)
    w1 = address(layer_region(1, "W"), 0)
    before = raw.send(encode_frame(1, Command.READ, read_payload(w1, 2, 20)))[0].payload
    good = pack(2, Command.WRITE, write_payload(w1, 2, list(range(20))))
    flipped = bytearray(good)
    flipped[9] ^= 0x04
    cases = {
        "bad CRC": (slip_encode(bytes(flipped)), Status.BAD_CRC),
        "truncated": (slip_encode(good[:-5]), Status.BAD_CRC),
        "too short": (slip_encode(good[:4]), Status.BAD_LENGTH),
        "length field": (slip_encode(_with_crc(good[:3] + bytes([3, 0]) + good[5:-2])), Status.BAD_LENGTH),
        "version": (slip_encode(_with_crc(bytes([VERSION + 1]) + good[1:-2])), Status.BAD_VERSION),
        "unknown command": (encode_frame(3, 0x42), Status.UNKNOWN_COMMAND),
        "odd write": (encode_frame(4, Command.WRITE, write_payload(w1, 2, [1])[:-1]), Status.BAD_LENGTH),
        "width 3": (encode_frame(5, Command.READ, read_payload(w1, 3, 1)), Status.BAD_LENGTH),
        "read too long": (encode_frame(6, Command.READ, read_payload(w1, 4, 300)), Status.BAD_LENGTH),
        "beyond W1": (encode_frame(7, Command.WRITE, write_payload(w1 + (hw.weight_depth(1) << hw.lane_bits) - 1, 2,
                                                                    [1, 2])), Status.ADDRESS),
        "no such region": (encode_frame(8, Command.READ, read_payload(address(99, 0), 4, 1)), Status.ADDRESS),
        "write read-only": (encode_frame(9, Command.WRITE, write_payload(address(Region.PRED, 0), 1, [1])),
                            Status.ADDRESS),
        "read write-only": (encode_frame(10, Command.READ, read_payload(address(Region.Y, 0), 1, 1)), Status.ADDRESS),
        "bank 2": (encode_frame(11, Command.START, bytes([2])), Status.ADDRESS),
        "oversized": (slip_encode(b"\x01" * (MAX_FRAME + 10)), Status.OVERFLOW),
        "bad escape": (bytes([END]) + good[:6] + bytes([ESC, 0x11]) + good[6:] + bytes([END]), Status.FRAMING),
        # a whole good frame closed by ESC END: broken, not executed (docs/protocol.md §4)
        "escape then END": (bytes([END]) + good + bytes([ESC, END]), Status.FRAMING),
    }
    for name, (wire, want) in cases.items():
        assert raw.status_of(wire) == want, name
    assert raw.send(encode_frame(12, Command.READ, read_payload(w1, 2, 20)))[0].payload == before
    raw.send(bytes([END, END]), replies=0, timeout=0.2)      # an empty frame: no answer
    assert raw.status_of(encode_frame(13, Command.INFO)) == Status.OK
    (status,) = raw.send(encode_frame(14, Command.STATUS))
    registers = read_values(status.payload, 4)
    assert registers[8] == len(cases)                      # bad_frames: one per error reply
    raw.close()


@pytest.mark.parametrize("before", [b"\x01\x02garbage", b"\x05" * 40, b"garbage\xc0\xc0", b"\xdb\xdb\x00",
                                    b"\x05" * 1100, None])
def test_a_request_right_behind_garbage_is_answered(board, before):
    """Garbage, its ``END`` (the request's leading one), the request: the garbage gets its
    error reply, and the request, which arrived while the device answered it, its own.
    ``None``: the garbage, a 0.3 s pause, then the request."""
    raw = Raw(board.port)
    request = encode_frame(60, Command.INFO)
    if before is None:
        raw.serial.write(b"garbage")
        time.sleep(0.3)
        replies = raw.send(request, replies=2)
    else:
        replies = raw.send(before + request, replies=2)
    assert all(isinstance(r, Frame) for r in replies), replies
    garbage, answer = replies
    assert garbage.status in (Status.BAD_LENGTH, Status.BAD_CRC, Status.FRAMING, Status.OVERFLOW)
    assert (answer.seq, answer.command, answer.status) == (60, Command.INFO | 0x80, Status.OK)
    raw.close()


def test_requests_sent_back_to_back_are_all_answered_in_order(board):
    hw = board.system.params
    raw = Raw(board.port)
    b1 = address(layer_region(1, "b"), 0)
    wire = b"".join([encode_frame(70, Command.WRITE, write_payload(b1, 2, [70])),
                     *(encode_frame(71 + k, Command.READ, read_payload(b1, 2, hw.sizes[1])) for k in range(5)),
                     encode_frame(76, Command.WRITE, write_payload(b1 + 1, 2, [76])),
                     encode_frame(77, Command.READ, read_payload(b1, 2, 2))])
    replies = raw.send(wire, replies=8)
    assert [(r.seq, r.status) for r in replies] == [(s, Status.OK) for s in range(70, 78)]
    assert read_values(replies[-1].payload, 2) == [70, 76]
    raw.close()


def test_bytes_lost_to_a_full_queue_are_counted_and_their_frames_answered_overflow(board):
    """READs of a layer's states (320 bytes) sent back to back: each answer takes 20 requests'
    time, so the receive queue fills and drops symbols; every frame is answered ``OK`` or,
    where it lost bytes, ``OVERFLOW``, and ``rx_errors`` counts what was lost.  (A frame whose
    ``END`` was lost stays open until the next ``END``: the next request's leading one.)"""
    hw = board.system.params
    raw = Raw(board.port)
    states = address(layer_region(1, "state"), 0)
    request = [encode_frame(k, Command.READ, read_payload(states, 4, hw.state_depth(1) * hw.lanes)) for k in range(400)]
    (before,) = raw.send(encode_frame(1, Command.STATUS))
    raw.serial.write(b"".join(request))
    got, last = [], time.monotonic()
    while time.monotonic() - last < 1.0:     # until a second without an answer, then STATUS
        frames = raw.decoder.feed(raw.serial.read(max(1, raw.serial.in_waiting)))
        got, last = (got + frames, time.monotonic()) if frames else (got, last)
    raw.serial.write(encode_frame(2, Command.STATUS))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (got and got[-1].command == Command.STATUS | 0x80):
        got += raw.decoder.feed(raw.serial.read(max(1, raw.serial.in_waiting)))
    assert all(isinstance(f, Frame) for f in got), got
    *answers, after = got
    assert after.command == Command.STATUS | 0x80 and after.status == Status.OK
    statuses = [f.status for f in answers]
    assert Status.OVERFLOW in statuses and set(statuses) <= {Status.OK, Status.OVERFLOW}
    assert statuses.count(Status.OK) >= 2048 // len(request[0])      # (at least a full queue's worth)
    lost = read_values(after.payload, 4)[9] - read_values(before.payload, 4)[9]     # rx_errors
    assert lost > 0
    raw.close()


def test_what_the_document_says_of_registers_widths_and_short_frames(board):
    """``docs/protocol.md`` §3, §4, §6 and §7, each as the device does it."""
    hw = board.system.params
    raw = Raw(board.port)
    control, prng, w1 = address(Region.CONTROL, 0), address(Region.PRNG, 0), address(layer_region(1, "W"), 0)
    # a write of START while idle starts a run; START reads as 0, whatever was read before it
    assert raw.status_of(encode_frame(78, Command.WRITE, write_payload(control, 4, [1]))) == Status.OK
    (done,) = raw.send(encode_frame(79, Command.WAIT, wait_payload(1 << 24)), timeout=60)
    (status,) = raw.send(encode_frame(80, Command.READ, read_payload(control + 1, 4, 1)))
    (start,) = raw.send(encode_frame(81, Command.READ, read_payload(control, 4, 1)))
    assert done.status == Status.OK and read_values(status.payload, 4) == [0b010]   # idle, done
    assert read_values(start.payload, 4) == [0]
    # a narrow element is zero-extended: -1 as width 1 is 255, as width 2 on a 32-bit state 0xFFFF
    (saved,) = raw.send(encode_frame(83, Command.READ, read_payload(prng, 4, hw.lanes + 1)))
    assert raw.status_of(encode_frame(84, Command.WRITE, write_payload(w1, 1, [-1]))) == Status.OK
    assert raw.status_of(encode_frame(85, Command.WRITE, write_payload(prng, 2, [-1]))) == Status.OK
    assert raw.status_of(encode_frame(86, Command.WRITE, write_payload(prng + 1, 4, [0]))) == Status.OK   # taken
    (w,) = raw.send(encode_frame(87, Command.READ, read_payload(w1, 2, 1)))
    (p,) = raw.send(encode_frame(88, Command.READ, read_payload(prng, 4, 2)))
    assert read_values(w.payload, 2) == [255] and read_values(p.payload, 4) == [0xFFFF, 0]
    assert raw.status_of(encode_frame(89, Command.WRITE, write_payload(prng, 4, read_values(saved.payload, 4)))) \
        == Status.OK
    # frames too short to carry a seq or a command: 0 in their place
    (one,) = raw.send(slip_encode(bytes([1])))
    (two,) = raw.send(slip_encode(bytes([1, 77])))
    assert (one.seq, one.command, one.status) == (0, 0x80, Status.BAD_LENGTH)
    assert (two.seq, two.command, two.status) == (77, 0x80, Status.BAD_LENGTH)
    raw.close()
    link = SerialLink(board.port, 12_000_000)
    info = link.info()
    assert (info.state_bits, info.input_bits) == (hw.spec.fs + 1, hw.spec.fx + 1)
    with pytest.raises(ValueError, match="non-zero"):     # the reference client never writes a stuck stream
        HostDriver(hw, LinkTransport(hw, link)).load_prng([0] * (hw.lanes + 1))
    link.close()


def test_a_batch_of_requests_is_answered_in_order_with_few_turnarounds(board):
    link = SerialLink(board.port, 12_000_000)
    b1 = address(layer_region(1, "b"), 0)
    values = list(range(100, 106))
    link.request(Command.WRITE, write_payload(b1, 2, values))
    before = link.counters.turnarounds
    replies = link.requests([(Command.READ, read_payload(b1 + k % 6, 2, 1)) for k in range(60)])
    assert [read_values(r.payload, 2)[0] for r in replies] == [values[k % 6] for k in range(60)]
    assert link.counters.turnarounds - before < 60 // 4 and link.counters.retries == 0
    with pytest.raises(ValueError, match="START"):
        link.requests([(Command.START, bytes([0])), (Command.READ, read_payload(b1, 2, 1))])
    link.close()


@pytest.mark.parametrize("fault", ["damaged", "lost"])
def test_a_damaged_or_lost_request_in_a_batch_is_sent_again(board, fault):
    """The third request's first copy has a flipped byte (the device answers ``BAD_CRC``) or
    never reaches the device (no answer: after the timeout every unanswered one goes again);
    the batch's writes all land, each once or twice, and its reads come back in order."""
    link = SerialLink(board.port, 12_000_000, timeout=0.5)
    w1 = address(layer_region(1, "W"), 0)
    rng = np.random.default_rng(len(fault))
    values = [int(v) for v in rng.integers(-2 ** 15, 2 ** 15, 12)]
    batch = [(Command.WRITE, write_payload(w1 + k, 2, [v])) for k, v in enumerate(values)]
    write, sent = link.serial.write, []

    def faulty(wire: bytes):
        sent.append(wire)
        if len(sent) == 3:
            return write(wire[:6] + bytes([wire[6] ^ 0x01]) + wire[7:] if fault == "damaged" else b"")
        return write(wire)

    link.serial.write = faulty
    replies = link.requests(batch)
    link.serial.write = write
    assert all(r.status == Status.OK for r in replies) and link.counters.retries >= 1
    assert sent.count(sent[2]) == 2
    (read,) = link.requests([(Command.READ, read_payload(w1, 2, len(values)))])
    assert [v - (1 << 16) if v >> 15 else v for v in read_values(read.payload, 2)] == values
    link.close()


def test_the_usb_bridge_holds_a_reply_for_its_latency_timer_unless_the_link_flushes_it():
    """Behind a bridge of 16 ms, each ``INFO`` (a full packet and 9 bytes more) waits a timer
    for its last bytes, and simulated time runs meanwhile; without a bridge it does not, and
    neither does it where the link sends what fills the packet (a flush's tail waits, but the
    next request's replies push it on)."""
    from epfpga.verification.board_sim import SimulatedBoard
    params = CoreParams.from_config(config_mod.from_dict(CONFIG))
    cycles = {}
    for ms, flush in ((0, False), (16, False), (16, True)):
        board = SimulatedBoard(params, usb_latency_ms=ms)
        link = SerialLink(board.port, 12_000_000, flush=flush)
        for _ in range(10):
            assert link.info() == board.system.descriptor
        link.close()
        cycles[ms, flush] = board.close()["cycles"]
    timer = 16 * 48_000
    assert cycles[16, False] >= 10 * timer > 40 * cycles[0, False]
    assert cycles[16, True] < timer, cycles


def _with_crc(body: bytes) -> bytes:
    return body + crc16(body).to_bytes(2, "big")


def test_a_retried_write_is_applied_once_and_a_busy_core_refuses_memory(board):
    hw = board.system.params
    raw = Raw(board.port)
    b1 = address(layer_region(1, "b"), 0)
    assert raw.status_of(encode_frame(40, Command.WRITE, write_payload(b1, 2, [11]))) == Status.OK
    # the same sequence number again: a retry whose reply was lost; answered, not applied
    assert raw.status_of(encode_frame(40, Command.WRITE, write_payload(b1, 2, [22]))) == Status.OK
    (reply,) = raw.send(encode_frame(41, Command.READ, read_payload(b1, 2, 1)))
    assert read_values(reply.payload, 2) == [11]
    assert raw.status_of(encode_frame(42, Command.WRITE, write_payload(b1, 2, [33]))) == Status.OK
    (reply,) = raw.send(encode_frame(43, Command.READ, read_payload(b1, 2, 1)))
    assert read_values(reply.payload, 2) == [33]
    # while a program runs (a long one: 100,000 neuron steps a sample): weights are refused, the other
    # input bank is not
    long = assemble("loop: drive\nrelax 100000 free zero -> star\nnext loop\nhalt")
    program = address(Region.PROGRAM, 0)
    assert raw.status_of(encode_frame(50, Command.WRITE, write_payload(program, 4, long))) == Status.OK
    (status,) = raw.send(encode_frame(55, Command.STATUS))
    before_run = read_values(status.payload, 4)
    assert raw.status_of(encode_frame(44, Command.START, bytes([0]))) == Status.OK
    assert raw.status_of(encode_frame(45, Command.WRITE, write_payload(b1, 2, [44]))) == Status.BUSY
    assert raw.status_of(encode_frame(46, Command.START, bytes([1]))) == Status.BUSY
    start = address(Region.CONTROL, Reg.START)      # the register, as the command: BUSY
    assert raw.status_of(encode_frame(53, Command.WRITE, write_payload(start, 4, [0b11]))) == Status.BUSY
    assert raw.status_of(encode_frame(54, Command.WRITE, write_payload(start + 1, 4, [0]))) == Status.OK
    x1 = address(Region.X, (hw.batch * hw.input_stride) << hw.lane_bits)
    assert raw.status_of(encode_frame(47, Command.WRITE, write_payload(x1, 2, [1, 2, 3]))) == Status.OK
    assert raw.status_of(encode_frame(48, Command.WRITE, write_payload(address(Region.X, 0), 2, [1]))) == Status.BUSY
    (still,) = raw.send(encode_frame(49, Command.WAIT, (100).to_bytes(4, "little")))
    assert still.status == Status.BUSY and read_values(still.payload, 4)[0] & 1   # busy after 100 cycles
    (done,) = raw.send(encode_frame(51, Command.WAIT, (1 << 24).to_bytes(4, "little")), timeout=120)
    assert done.status == Status.OK and read_values(done.payload, 4)[0] & 0b111 == 0b010   # idle, done, bank 0
    # bad_frames counted the four refusals (BUSY), not WAIT's BUSY, which is no error
    assert read_values(done.payload, 4)[8] - read_values(still.payload, 4)[8] == 0
    assert read_values(still.payload, 4)[8] - before_run[8] == 4
    assert read_values(done.payload, 4)[6] == 100_000 * hw.batch // hw.halves   # STEPS (a step runs a pair)
    program_words = programs.training(CONFIG["estimator"], CONFIG["t1"], CONFIG["t2"])
    assert raw.status_of(encode_frame(52, Command.WRITE, write_payload(program, 4, program_words))) == Status.OK
    raw.close()


@pytest.mark.parametrize("inputs", ["bytes", "wide"])
def test_training_on_the_simulated_board_matches_the_fixed_point_model(inputs):
    cfg = config_mod.from_dict(CONFIG)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 8)
    if inputs == "bytes":    # pixels k / 255, a third of them 0, as the input table takes them
        x = (rng.integers(0, 256, (8, 5)) * (rng.random((8, 5)) < 0.7)).astype(np.float32) / 255
    else:
        x = rng.uniform(0, 1, (8, 5)).astype(np.float32)
    trainer = backends.make("board", cfg, sim="verilator", check=True, input_levels=255 if inputs == "bytes" else None)
    assert (trainer.driver.transport.coder is not None) == (inputs == "bytes")
    try:
        for k in range(4):
            upcoming = (x[2 * k + 2:2 * k + 4], y[2 * k + 2:2 * k + 4]) if k < 3 else None
            trainer.train_batch(x[2 * k:2 * k + 2], y[2 * k:2 * k + 2], upcoming)
        assert trainer.mismatches == 0
        assert np.array_equal(trainer.predict(x), trainer.golden.predict(x))
        assert [c["steps"] for c in trainer.cycles] == [3 + 2] * 4   # each step runs both samples
        # a mini-batch's turn-arounds: START, the next mini-batch (one batch of frames), WAIT,
        # the predictions; the first also loads its own, the last has no next
        assert trainer.train_turnarounds == 5 + 4 + 4 + 3
    finally:
        trainer.close()
    # every byte the host counted reached the board (the link's close takes the last flush's replies)
    assert trainer.board.stats["bytes_to_device"] == trainer.link.counters.bytes_sent


def test_inputs_as_bytes_through_the_table_read_back_as_the_values_they_stand_for(board):
    hw = board.system.params
    link = SerialLink(board.port, 12_000_000)
    rng = np.random.default_rng(8)
    table = rng.integers(0, 1 << hw.input_bits, 256)
    table[0] = 0    # (as every data set's: the padding lanes of a sample's last word are 0)
    transport = LinkTransport(hw, link, table)
    driver = HostDriver(hw, transport)
    sent, send = [], link.requests
    link.requests = lambda batch, accept=(Status.OK,): sent.extend(c for c, _ in batch) or send(batch, accept)
    for bank in (0, 1):
        codes = rng.integers(0, 256, (hw.batch, hw.sizes[0])) * (rng.random((hw.batch, hw.sizes[0])) < 0.5)
        sent.clear()
        driver.load_batch(table[codes], np.array([1, 2]), bank=bank)
        # one INPUTS for both samples (their words are contiguous: G = stride = 2), one WRITE of the labels
        assert sent == [Command.INPUTS, Command.WRITE]
        assert np.array_equal(driver.read_inputs(bank), table[codes])
    # a value the table lacks: that burst goes as WRITE, exactly
    missing = next(v for v in range(1 << hw.input_bits) if v not in set(table.tolist()))
    xq = table[rng.integers(0, 256, (hw.batch, hw.sizes[0]))]
    xq[1, 2] = missing
    sent.clear()
    driver.load_batch(xq, np.array([0, 0]))
    assert sent == [Command.WRITE, Command.WRITE]
    assert np.array_equal(driver.read_inputs(0), xq)
    link.close()


def test_every_malformed_inputs_frame_gets_its_documented_status_and_changes_nothing(board):
    hw = board.system.params
    raw = Raw(board.port)
    x0, n = address(Region.X, 0), hw.sizes[0]
    lead = PARAMS[Command.INPUTS].struct
    read_x = lambda seq: raw.send(encode_frame(seq, Command.READ, read_payload(x0, 2, n)))[0].payload  # noqa: E731
    assert raw.status_of(encode_frame(1, Command.WRITE, write_payload(address(Region.TABLE, 0), 2,
                                                                      list(range(100, 356))))) == Status.OK
    (good,) = inputs_payloads(x0, bytes([3, 0, 0, 9, 1]), Coding.ZERO_RUNS)
    assert raw.status_of(encode_frame(2, Command.INPUTS, good)) == Status.OK
    assert read_values(read_x(3), 2) == [103, 100, 100, 109, 101]
    before = read_x(4)
    beyond = address(Region.X, (2 * hw.batch * hw.input_stride) << hw.lane_bits)
    cases = {
        "no codes": (lead.pack(x0, Coding.BYTES, 1), Status.BAD_LENGTH),
        "count 0": (lead.pack(x0, Coding.BYTES, 0) + b"\x05", Status.BAD_LENGTH),
        "coding 2": (lead.pack(x0, 2, 1) + b"\x05", Status.BAD_LENGTH),
        "into W1": (lead.pack(address(layer_region(1, "W"), 0), Coding.BYTES, 1) + b"\x05", Status.ADDRESS),
        "into the table": (lead.pack(address(Region.TABLE, 0), Coding.BYTES, 1) + b"\x05", Status.ADDRESS),
        "past the inputs": (lead.pack(beyond - 2, Coding.BYTES, 3) + b"\x05\x06\x07", Status.ADDRESS),
        "fewer than count": (lead.pack(x0, Coding.ZERO_RUNS, 5) + b"\x05\x00\x02", Status.BAD_CODE),
        "more than count": (lead.pack(x0, Coding.ZERO_RUNS, 3) + b"\x05\x00\x02", Status.BAD_CODE),
        "bytes: more than count": (lead.pack(x0, Coding.BYTES, 2) + b"\x05\x00\x02", Status.BAD_CODE),
        "a run without its length": (lead.pack(x0, Coding.ZERO_RUNS, 2) + b"\x05\x00", Status.BAD_CODE),
        "a run past count": (lead.pack(x0, Coding.ZERO_RUNS, 5) + b"\x00\xff", Status.BAD_CODE),
    }
    for k, (name, (payload, want)) in enumerate(cases.items()):
        assert raw.status_of(encode_frame(10 + k, Command.INPUTS, payload)) == want, name
    assert read_x(40) == before
    assert raw.status_of(encode_frame(41, Command.READ, read_payload(address(Region.TABLE, 0), 2, 1))) == \
        Status.ADDRESS                                        # the table is write-only
    raw.close()


def test_a_build_without_coded_inputs_says_so_and_the_host_sends_inputs_wide():
    from epfpga.firmware.board import CheckedBoardTrainer
    from epfpga.verification.board_sim import SimulatedBoard
    cfg = config_mod.from_dict({**CONFIG, "hardware": {"coded_inputs": False}})
    board = SimulatedBoard(CoreParams.from_config(cfg))
    try:
        raw = Raw(board.port)
        (inputs,) = inputs_payloads(address(Region.X, 0), b"\x01", Coding.BYTES)
        assert raw.status_of(encode_frame(1, Command.INPUTS, inputs)) == Status.UNKNOWN_COMMAND
        table = write_payload(address(Region.TABLE, 0), 2, [1])
        assert raw.status_of(encode_frame(2, Command.WRITE, table)) == Status.ADDRESS
        raw.close()
        trainer = CheckedBoardTrainer(cfg, port=board.port, baud=12_000_000, input_levels=255)
        assert trainer.driver.transport.coder is None and trainer.link.info().features == 0
        rng = np.random.default_rng(2)
        for _ in range(2):
            trainer.train_batch(rng.integers(0, 256, (2, 5)).astype(np.float32) / 255, rng.integers(0, 3, 2))
        trainer.link.close()
        assert trainer.mismatches == 0
    finally:
        board.close()


def test_board_info_prints_the_descriptor(board):
    proc = subprocess.run([sys.executable, "-m", "epfpga.cli", "board", "info", "--port", board.port,
                           "--baud", "12000000"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    fields = dict(line.split(": ", 1) for line in proc.stdout.strip().splitlines())
    assert fields["digest"] == board.system.params.digest.hex() and fields["features"] == "coded_inputs"
    assert fields["sizes"] == "(5, 6, 3)" and fields["lanes"] == "4" and fields["baud"] == "12000000"


# -- the board's SDRAM on the host bus ----------------------------------------------------------------
SDRAM_CONFIG = {**CONFIG, "hardware": {"sdram": True}}


@pytest.fixture(scope="module")
def sdram_board():
    from epfpga.verification.board_sim import SimulatedBoard
    sim = SimulatedBoard(CoreParams.from_config(config_mod.from_dict(SDRAM_CONFIG)))
    yield sim
    sim.close()


def test_the_sdram_holds_what_the_host_writes(sdram_board):
    from epfpga.contract.protocol import Feature
    from epfpga.contract.sdram import ULX3S_SDRAM
    params = sdram_board.system.params
    link = SerialLink(sdram_board.port, 12_000_000)
    assert link.info().features == Feature.CODED_INPUTS | Feature.SDRAM
    transport = LinkTransport(params, link)
    rng = np.random.default_rng(5)
    words = ULX3S_SDRAM.words
    # a long run, the last words, and words scattered over every bank and many rows
    offsets = sorted({*range(600), *range(words - 300, words), *rng.integers(0, words, 400).tolist()})
    values = rng.integers(0, 1 << 16, len(offsets)).tolist()
    transport.write([(address(Region.SDRAM, o), v) for o, v in zip(offsets, values)])
    assert transport.read([address(Region.SDRAM, o) for o in offsets]) == values
    link.close()


def test_an_sdram_burst_past_its_end_is_refused(sdram_board):
    from epfpga.contract.sdram import ULX3S_SDRAM
    raw = Raw(sdram_board.port)
    last = address(Region.SDRAM, ULX3S_SDRAM.words - 1)
    assert raw.status_of(encode_frame(1, Command.WRITE, write_payload(last, 2, [1, 2]))) == Status.ADDRESS
    assert raw.status_of(encode_frame(2, Command.READ, read_payload(last, 2, 2))) == Status.ADDRESS
    assert raw.status_of(encode_frame(3, Command.WRITE, write_payload(last, 2, [7]))) == Status.OK
    (reply,) = raw.send(encode_frame(4, Command.READ, read_payload(last, 2, 1)))
    assert read_values(reply.payload, 2) == [7]
    raw.close()


def test_an_upload_is_checked_skips_what_the_sdram_holds_and_resumes(sdram_board):
    from epfpga.firmware.sdram_upload import device_crc, upload, words_crc
    transport = LinkTransport(sdram_board.system.params, SerialLink(sdram_board.port, 12_000_000))
    words = np.random.default_rng(8).integers(0, 1 << 16, 5000).astype(np.uint16)
    first = 1 << 22
    # cut off: only the first 2,500 words made it
    assert upload(transport, words[:2500], first, chunk_words=1024).sent == 3
    report = upload(transport, words, first, chunk_words=1024)
    assert (report.chunks, report.skipped, report.sent) == (5, 2, 3)   # the chunk cut in two goes again
    assert device_crc(transport, first, len(words)) == words_crc(words)
    # a word changed since: only its chunk goes again; the same set again sends nothing
    transport.write([(address(Region.SDRAM, first + 3000), int(words[3000]) ^ 1)])
    assert upload(transport, words, first, chunk_words=1024).sent == 1
    assert upload(transport, words, first, chunk_words=1024).sent == 0
    assert transport.read([address(Region.SDRAM, first + k) for k in range(0, 5000, 499)]) == words[::499].tolist()
    transport.close()


def test_an_upload_that_does_not_fit_names_both_sizes(sdram_board):
    from epfpga.contract.sdram import ULX3S_SDRAM
    from epfpga.firmware.sdram_upload import upload
    transport = LinkTransport(sdram_board.system.params, SerialLink(sdram_board.port, 12_000_000))
    with pytest.raises(LinkError, match="20 bytes from word 16,777,210 do not fit the SDRAM's 33,554,432 bytes"):
        upload(transport, np.zeros(10, np.uint16), ULX3S_SDRAM.words - 6)
    transport.close()


def test_the_sdram_met_its_datasheet_throughout():
    """A board of its own, closed here: the chip model saw every command of the accesses and
    of the refreshes in between, and found no violation."""
    from epfpga.contract.sdram import ULX3S_SDRAM
    from epfpga.verification.board_sim import SimulatedBoard
    sim = SimulatedBoard(CoreParams.from_config(config_mod.from_dict(SDRAM_CONFIG)))
    transport = LinkTransport(sim.system.params, SerialLink(sim.port, 12_000_000))
    offsets = range(0, 1 << 20, 997)
    transport.write([(address(Region.SDRAM, o), o & 0xFFFF) for o in offsets])
    assert transport.read([address(Region.SDRAM, o) for o in offsets]) == [o & 0xFFFF for o in offsets]
    from epfpga.firmware.sdram_upload import device_crc, words_crc
    held = np.zeros(1 << 14, np.uint16)   # (the chip model starts at 0)
    held[::997] = [o & 0xFFFF for o in range(0, 1 << 14, 997)]
    assert device_crc(transport, 0, 1 << 14) == words_crc(held)   # 16 K words read with the model watching
    transport.close()
    stats = sim.close()
    assert stats["sdram_error"] == ""
    # one refresh every tREFI from the end of the power-up wait (simulated time stands still while idle)
    seconds = stats["cycles"] / sim.system.clock_hz - ULX3S_SDRAM.power_up * 1e-9
    assert stats["sdram_refreshes"] >= seconds / (ULX3S_SDRAM.tREFI * 1e-9) - 2


@pytest.mark.slow
def test_an_sdram_timing_violation_stops_the_board_and_is_named(monkeypatch):
    """A controller a clock short of tRP (so 0 at 48 MHz) on the simulated board: the chip
    model stops the board, the host gets a LinkError, not a traceback, and the board's
    statistics name the violation (the board trainer raises it, ``firmware/board.py``)."""
    from epfpga.hdl import litedram
    from epfpga.verification.board_sim import SimulatedBoard
    datasheet = litedram.controller_timings
    monkeypatch.setattr(litedram, "controller_timings",
                        lambda chip, clock_hz: datasheet(chip, clock_hz) | {"tRP": chip.cycles("tRP", clock_hz) - 1})
    litedram.generate.cache_clear()
    try:
        sim = SimulatedBoard(CoreParams.from_config(config_mod.from_dict(SDRAM_CONFIG)))
    finally:
        litedram.generate.cache_clear()
    link = SerialLink(sim.port, 12_000_000, timeout=0.5, retries=1)
    with pytest.raises(LinkError, match="the device is gone|no answer"):
        LinkTransport(sim.system.params, link).write([(address(Region.SDRAM, o), 1) for o in range(0, 1 << 20, 997)])
    link.close()
    error = sim.close()["sdram_error"]
    assert error.startswith("cycle ") and ("tRP violated" in error or "with bank 0 open" in error), error


@pytest.mark.slow
def test_board_upload_puts_the_training_set_in_the_sdram(tmp_path):
    """``epfpga board upload`` on a simulated board: the image of the first 64 digits, its
    CRC the host's."""
    from epfpga.data import load
    from epfpga.firmware.resident import dataset_image
    from epfpga.firmware.sdram_upload import words_crc
    cfg = config_mod.from_dict({"hardware": {"sdram": True}}, base=config_mod.load("digits"))
    (tmp_path / "c.toml").write_text(config_mod.dumps(cfg))
    proc = subprocess.run([sys.executable, "-m", "epfpga.cli", "board", "upload", "--config", str(tmp_path / "c.toml"),
                           "--sim", "verilator", "--limit", "64"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = load("digits").limited(64)
    image = dataset_image(CoreParams.from_config(cfg).spec, data.levels, data.train_x, data.train_y)
    line = proc.stdout.strip()
    assert line.startswith(f"64 training samples of 'digits', {2 * len(image):,} bytes: 1 of 1 chunks sent, "
                           f"0 on the board already (") and line.endswith(f"; CRC-32 {words_crc(image):08x}"), line


def test_a_board_of_a_small_payload_tells_the_host_which_sizes_its_frames():
    """An iCEBreaker build that takes 128-byte payloads (a 135-byte frame buffer, a 256-symbol
    receive queue): its descriptor says so, the host's link sizes its requests and its window
    by it and loads and reads back every weight with no request sent twice, and a frame too
    long for its buffer is answered OVERFLOW."""
    from epfpga.verification.board_sim import SimulatedBoard
    config = config_mod.from_dict({**CONFIG, "sizes": [40, 6, 3], "hardware": {"board": "icebreaker", "max_payload": 128}})
    hw = CoreParams.from_config(config)
    sim = SimulatedBoard(hw)
    try:
        link = SerialLink(sim.port, 12_000_000)
        assert link.max_payload == 1024 and link.info().max_payload == 128 and link.max_payload == 128
        driver = HostDriver(hw, LinkTransport(hw, link))
        rng = np.random.default_rng(6)
        weights = {f"W{n}": rng.integers(-2 ** 15, 2 ** 15, (hw.sizes[n], hw.sizes[n - 1])) for n in (1, 2)}
        weights |= {f"b{n}": rng.integers(-2 ** 15, 2 ** 15, hw.sizes[n]) for n in (1, 2)}
        sent = link.counters.requests
        driver.load_weights(weights)
        assert link.counters.requests - sent >= 2 * hw.sizes[1] * hw.sizes[0] // 128    # (40 x 6 weights in frames of 128)
        assert all(np.array_equal(v, driver.read_weights()[k]) for k, v in weights.items())
        # three long replies, then three long requests: sent at once, the requests would arrive
        # while the device sends the replies, 405 bytes into its queue of 256
        x, w1 = address(Region.X, 0), address(layer_region(1, "W"), 0)
        batch = [(Command.READ, read_payload(x, 1, 127))] * 3 + \
            [(Command.WRITE, write_payload(w1 + 61 * k, 2, [k] * 61)) for k in range(3)]
        assert [len(r.payload) for r in link.requests(batch)] == [128] * 3 + [1] * 3
        assert link.counters.retries == 0
        link.close()
        raw = Raw(sim.port)
        fits = pack(1, Command.WRITE, write_payload(address(Region.X, 0), 1, [0] * (128 - 5)))
        assert raw.status_of(slip_encode(fits)) == Status.OK
        too_long = pack(2, Command.WRITE, write_payload(address(Region.X, 0), 1, [0] * (128 - 4)))
        assert raw.status_of(slip_encode(too_long)) == Status.OVERFLOW
        raw.close()
    finally:
        sim.close()
