# amaranth: UnusedElaboratable=no
"""The frame checks against their golden twin, the protocol engine's model: random requests of
every command, good and broken, in range and not, retries, the flags of the receiver."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga import config as config_mod
from epfpga.contract.address_map import REGION_SHIFT, Region, address, layer_region
from epfpga.contract.params import CoreParams
from epfpga.contract.protocol import (STATE_CHANGING, Coding, Command, Status, crc16, inputs_payloads,
                                      pack, read_payload, start_payload, wait_payload, write_payload)
from epfpga.contract.resident import ResidentReg
from epfpga.hdl.frame_check import LATENCY, FrameCheck, offset_bits
from epfpga.hdl.frame_receiver import FRAME
from epfpga.verification.engine_model import EngineModel

from .sim_helpers import simulate

HEAD_BYTES = FRAME.size // 8


def random_frame(rng, params: CoreParams) -> bytes:
    regions = params.host_regions() + params.link_regions()
    region = regions[int(rng.integers(len(regions)))]
    offset = int(rng.integers(0, region.limit + 3))
    bits = offset_bits(params)
    if bits < REGION_SHIFT and rng.random() < 0.2:    # a bit above every region's range (the check sums below it)
        offset |= 1 << int(rng.integers(bits, REGION_SHIFT))
    addr = address(region.region, offset)
    seq = int(rng.integers(0, 4))                   # (few seqs: retries come often)
    kind = int(rng.integers(8))
    if kind == 0:
        frame = pack(seq, Command.WRITE, write_payload(addr, int(rng.choice([1, 2, 4])), [1] * int(rng.integers(1, 9))))
    elif kind == 1:
        width = int(rng.choice([1, 2, 3, 4]))
        most = (params.max_payload - 1) // width         # (the status byte and the elements fill a payload)
        frame = pack(seq, Command.READ, read_payload(addr, width, int(rng.choice([0, 1, 5, most, most + 1]))))
    elif kind == 2:
        x = address(Region.X, int(rng.integers(0, 40))) if rng.random() < 0.7 else addr
        frame = pack(seq, Command.INPUTS, inputs_payloads(x, bytes(int(rng.integers(1, 20))), Coding.ZERO_RUNS)[0])
    elif kind == 3:
        frame = pack(seq, Command.START, start_payload(int(rng.integers(0, 3))))
    elif kind == 4:
        frame = pack(seq, int(rng.choice([Command.INFO, Command.STATUS, 0x42])))
    elif kind == 5:
        frame = pack(seq, Command.WAIT, wait_payload(7))
    elif kind == 6:                                 # a length field, a version or a payload off
        frame = bytearray(pack(seq, Command.WRITE, write_payload(addr, 2, [1, 2])))
        frame[int(rng.choice([0, 3, 9]))] ^= 1
        frame = bytes(frame[:-2]) + crc16(bytes(frame[:-2])).to_bytes(2, "big")
    else:                                           # damaged or cut
        frame = bytearray(pack(seq, Command.READ, read_payload(addr, 2, 3)))
        frame[int(rng.integers(len(frame)))] ^= 0x10
        frame = bytes(frame[:int(rng.integers(1, len(frame) + 1))])
    return frame


BOARDS = pytest.mark.parametrize("board", ["ulx3s-85f", "icebreaker"])   # with the timing registers and without


@BOARDS
@pytest.mark.parametrize("coded, max_payload", [(True, 1024), (False, 1024), (True, 128)])
def test_the_checks_answer_as_the_engine_model(coded, max_payload, board):
    cfg = config_mod.from_dict(dict(sizes=[5, 6, 3], lanes=4, batch=2, lrs=[0.5, 0.5],
                                    hardware={"coded_inputs": coded, "board": board, "max_payload": max_payload}))
    params = CoreParams.from_config(cfg)
    model, dut = EngineModel(params), FrameCheck(params)
    rng = np.random.default_rng(int(coded))
    frames = [random_frame(rng, params) for _ in range(600)]
    flags = [(rng.random() < 0.05, rng.random() < 0.05) for _ in frames]
    seen: dict[Status, int] = {}

    async def bench(ctx):
        for frame, (framing, overflow) in zip(frames, flags):
            want = model.applied_seq
            ctx.set(dut.applied, want is not None)
            ctx.set(dut.applied_seq, want or 0)
            ctx.set(dut.head.as_value(), int.from_bytes(frame[:HEAD_BYTES].ljust(HEAD_BYTES, b"\0"), "little"))
            ctx.set(dut.count, len(frame))
            ctx.set(dut.crc_ok, crc16(frame) == 0)
            ctx.set(dut.framing, framing)
            ctx.set(dut.overflow, overflow)
            await ctx.tick().repeat(2)      # (the head comes two bytes or more before the END)
            ctx.set(dut.sample, 1)
            await ctx.tick()
            ctx.set(dut.sample, 0)
            await ctx.tick().repeat(LATENCY - 1)
            status = Status(ctx.get(dut.status))
            command = frame[2] if len(frame) > 2 else 0
            # as the engine decides, then executes (the model knows the codes too: BAD_CODE)
            if status == Status.OK and ctx.get(dut.duplicate):
                pass
            elif status == Status.OK and command in (Command.WRITE, Command.READ, Command.INPUTS) and \
                    not ctx.get(dut.in_range):
                status = Status.ADDRESS
            elif status == Status.OK and command == Command.START and frame[5] > 1:
                status = Status.ADDRESS
            got = model.check(frame, framing, overflow)
            assert status == (Status.OK if got.status == Status.BAD_CODE else got.status), frame.hex()
            assert ctx.get(dut.may_run)                         # the core is idle
            if status == Status.OK and command in STATE_CHANGING:
                assert ctx.get(dut.duplicate) == (not got.applied)
            seen[got.status] = seen.get(got.status, 0) + 1

    simulate(dut, bench)
    assert {Status.OK, Status.BAD_CRC, Status.BAD_LENGTH, Status.ADDRESS, Status.BAD_VERSION, Status.UNKNOWN_COMMAND,
            Status.FRAMING, Status.OVERFLOW} <= set(seen)


@BOARDS
def test_beside_a_running_program_only_the_idle_bank_and_the_registers_may_run(board):
    params = CoreParams.from_config(config_mod.from_dict(dict(sizes=[5, 6, 3], lanes=4, batch=2, lrs=[0.5, 0.5],
                                                              hardware={"board": board})))
    dut = FrameCheck(params)
    bank1 = address(Region.X, (params.batch * params.input_stride) << params.lane_bits)
    cases = [(pack(1, Command.WRITE, write_payload(address(Region.X, 0), 2, [1])), False),   # the running bank
             (pack(1, Command.WRITE, write_payload(bank1, 2, [1])), True),                   # the idle one
             (pack(1, Command.INPUTS, inputs_payloads(address(Region.X, 0), b"\x01", Coding.BYTES)[0]), False),
             (pack(1, Command.INPUTS, inputs_payloads(bank1, b"\x01\x00", Coding.BYTES)[0]), True),
             (pack(1, Command.READ, read_payload(address(Region.CONTROL, 2), 4, 1)), True),
             (pack(1, Command.WRITE, write_payload(address(Region.CONTROL, 0), 4, [1])), False),  # START
             (pack(1, Command.READ, read_payload(address(layer_region(1, "W"), 0), 2, 1)), False)]

    async def bench(ctx):
        ctx.set(dut.core_busy, 1)
        ctx.set(dut.core_bank, 0)
        for frame, may in cases:
            ctx.set(dut.head.as_value(), int.from_bytes(frame[:HEAD_BYTES], "little"))
            await ctx.tick().repeat(3)      # (the burst's last offset is two registers behind, its bank's test one)
            assert ctx.get(dut.may_run) == may, frame.hex()

    simulate(dut, bench)


def test_beside_a_resident_epoch_only_the_registers_and_until_may_run():
    params = CoreParams.from_config(config_mod.from_dict(dict(sizes=[5, 6, 3], lanes=4, batch=2, lrs=[0.5, 0.5],
                                                              hardware={"sdram": True})))
    dut = FrameCheck(params)
    bank1 = address(Region.X, (params.batch * params.input_stride) << params.lane_bits)
    resident = lambda reg: address(Region.RESIDENT, reg)  # noqa: E731
    cases = [(pack(1, Command.WRITE, write_payload(bank1, 2, [1])), False),      # the idle bank is the feeder's
             (pack(1, Command.INPUTS, inputs_payloads(bank1, b"\x01\x00", Coding.BYTES)[0]), False),
             (pack(1, Command.READ, read_payload(address(Region.CONTROL, 2), 4, 1)), True),
             (pack(1, Command.WRITE, write_payload(address(Region.CONTROL, 0), 4, [1])), False),  # START
             (pack(1, Command.READ, read_payload(address(Region.SDRAM, 0), 2, 1)), False),
             (pack(1, Command.WRITE, write_payload(address(Region.SDRAM_CRC, 0), 4, [1])), False),
             (pack(1, Command.READ, read_payload(resident(ResidentReg.PERM), 4, len(ResidentReg))), True),
             (pack(1, Command.WRITE, write_payload(resident(ResidentReg.UNTIL), 4, [9])), True),
             (pack(1, Command.WRITE, write_payload(resident(ResidentReg.BATCHES), 4, [9])), False),
             (pack(1, Command.WRITE, write_payload(resident(ResidentReg.PERM), 4, [9])), False)]

    async def bench(ctx):
        ctx.set(dut.resident, 1)
        ctx.set(dut.core_busy, 1)
        for frame, may in cases:
            ctx.set(dut.head.as_value(), int.from_bytes(frame[:HEAD_BYTES], "little"))
            await ctx.tick().repeat(3)
            assert ctx.get(dut.may_run) == may, frame.hex()
        ctx.set(dut.resident, 0)    # stopped: every region again
        ctx.set(dut.core_busy, 0)
        await ctx.tick().repeat(3)
        assert ctx.get(dut.may_run)

    simulate(dut, bench)
