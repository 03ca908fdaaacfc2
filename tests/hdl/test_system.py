"""The system top at its pins, in Amaranth's simulator: real UART bit timing, 12 Mbaud at 48 MHz
(divisor 4) and at the iCEBreaker's 30 MHz (the double-data-rate line, 5 half-cycles a bit)."""

from __future__ import annotations

import pytest

from epfpga import config as config_mod
from epfpga.contract.address_map import address, layer_region
from epfpga.contract.protocol import END, Command, Descriptor, Frame, Status, encode_frame, pack, read_payload, \
    read_values, slip_encode, write_payload
from epfpga.contract.params import CoreParams
from epfpga.hdl.system import System

from .sim_helpers import simulate
from .uart_pins import PinHost

BAUD = 12_000_000
CLOCK = {"ulx3s-85f": 48_000_000, "icebreaker": 30_000_000}


def small_system(board: str = "ulx3s-85f") -> System:
    cfg = config_mod.from_dict(dict(sizes=[5, 6, 3], lanes=4, batch=2, lrs=[0.1, 0.1], t1=3, t2=2,
                                    hardware=dict(board=board)))
    return System(CoreParams.from_config(cfg), CLOCK[board], BAUD)


@pytest.mark.parametrize("board, ticks, divisor", [("ulx3s-85f", 1, 4), ("icebreaker", 2, 5)])  # with the timing registers and without
def test_info_write_read_and_a_corrupted_frame_through_the_pins(board, ticks, divisor):
    system = small_system(board)
    assert system.params.timing_registers == (board != "icebreaker")
    assert (system.ticks, system.divisor) == (ticks, divisor)
    host = PinHost(system, system.divisor, system.ticks)
    w1 = address(layer_region(1, "W"), 0)
    values = [-3, 7, 1000, -2048, 5]
    corrupt = bytearray(pack(9, Command.WRITE, write_payload(w1, 2, [1, 2, 3])))
    corrupt[-3] ^= 0x10   # a data bit flipped: the CRC no longer matches
    replies = []

    async def bench(ctx):
        for frame in (encode_frame(1, Command.INFO),
                      encode_frame(2, Command.WRITE, write_payload(w1, 2, values)),
                      slip_encode(bytes(corrupt)),
                      encode_frame(3, Command.READ, read_payload(w1, 2, len(values)))):
            await host.send(ctx, frame)
            replies.extend(await host.receive(ctx))
        # a byte with its stop bit low: the frame is answered FRAMING and rx_errors counts it
        await host.send(ctx, bytes([END]))
        await host.send(ctx, b"A", stop=0)
        await host.send(ctx, bytes([END]))
        replies.extend(await host.receive(ctx))
        await host.send(ctx, encode_frame(4, Command.STATUS))
        replies.extend(await host.receive(ctx))

    simulate(system, bench)
    info, written, bad, read, framing, status = replies
    assert all(isinstance(r, Frame) for r in replies), replies
    assert (info.seq, info.command, info.status) == (1, Command.INFO | 0x80, Status.OK)
    assert Descriptor.unpack(info.payload[1:]) == system.descriptor
    assert (written.seq, written.status) == (2, Status.OK)
    assert (bad.seq, bad.status) == (9, Status.BAD_CRC)
    assert read.status == Status.OK
    got = [v - (1 << 16) if v >> 15 else v for v in read_values(read.payload, 2)]
    assert got == values     # the corrupted frame wrote nothing
    assert framing.status == Status.FRAMING
    assert status.status == Status.OK and read_values(status.payload, 4)[9] == 1     # rx_errors
