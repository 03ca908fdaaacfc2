# amaranth: UnusedElaboratable=no
"""The SDRAM's host-bus port against its golden twin, a dict of words: writes taken only once
the controller has their data, reads answered with the word last written, whatever the
controller's delays (a stand-in here: random ready and read latency)."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga.contract.sdram import ULX3S_SDRAM
from epfpga.hdl.sdram_port import SDRAMPort

from .sim_helpers import simulate


def run(accesses, seed=0, most=20_000):
    """``accesses``: ``("w", addr, data)`` or ``("r", addr)``, issued as the protocol engine does
    (``we`` held until ``wready``, ``re`` a pulse then wait for ``rvalid``).  Returns the words
    read and the controller's view: the commands and write words it took, in order."""
    rng = np.random.default_rng(seed)
    dut = SDRAMPort(ULX3S_SDRAM)
    memory, reads, taken = {}, [], []

    async def bench(ctx):
        pending = []            # read words the controller owes, with their due cycle
        wait_data = None        # the address of a write command whose data is owed
        cycle = 0

        async def tick():
            nonlocal cycle, wait_data
            # the controller: takes a command when ready, a write's data later, answers reads late
            cmd_ready = rng.random() < 0.5 and wait_data is None
            ctx.set(dut.cmd.ready, cmd_ready)
            wr_ready = wait_data is not None and rng.random() < 0.5
            ctx.set(dut.wr.ready, wr_ready)
            due = pending and pending[0][0] <= cycle
            ctx.set(dut.rd.valid, bool(due))
            ctx.set(dut.rd.payload, pending[0][1] if due else 0)
            cmd = ctx.get(dut.cmd.valid) and cmd_ready
            cmd_we, cmd_addr = ctx.get(dut.cmd.payload.we), ctx.get(dut.cmd.payload.addr)
            wr = ctx.get(dut.wr.valid) and wr_ready
            wr_data, wr_we = ctx.get(dut.wr.payload.data), ctx.get(dut.wr.payload.we)
            rd = due and ctx.get(dut.rd.ready)
            port = ctx.get(dut.bus.wready), ctx.get(dut.bus.rvalid), ctx.get(dut.bus.rdata)   # as the engine sees them
            await ctx.tick()
            cycle += 1
            assert cycle < most, "the port stopped answering"
            if rd:
                pending.pop(0)
            if wr:
                assert wr_we == 0b11
                memory[wait_data] = wr_data
                taken.append(("data", wr_data))
                wait_data = None
            if cmd:
                taken.append(("cmd", cmd_we, cmd_addr))
                if cmd_we:
                    wait_data = cmd_addr
                else:
                    pending.append((cycle + int(rng.integers(1, 12)), memory.get(cmd_addr, 0)))
            return port

        for access in accesses:
            ctx.set(dut.bus.addr, access[1])
            if access[0] == "w":
                ctx.set(dut.bus.wdata, access[2])
                ctx.set(dut.bus.we, 1)
                while not (await tick())[0]:
                    pass
                ctx.set(dut.bus.we, 0)
            else:
                ctx.set(dut.bus.re, 1)
                await tick()
                ctx.set(dut.bus.re, 0)
                while True:
                    _, valid, word = await tick()
                    if valid:
                        reads.append(word)
                        break
        assert not ctx.get(dut.busy)

    simulate(dut, bench)
    return reads, taken


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reads_return_what_was_written(seed):
    rng = np.random.default_rng(seed + 10)
    addrs = [0, 1, (1 << 24) - 1, 12345, 777]
    golden, accesses, expected = {}, [], []
    for _ in range(60):
        addr = int(rng.choice(addrs))
        if rng.random() < 0.5:
            data = int(rng.integers(0, 1 << 16))
            accesses.append(("w", addr, data))
            golden[addr] = data
        else:
            accesses.append(("r", addr))
            expected.append(golden.get(addr, 0))
    reads, taken = run(accesses, seed)
    assert reads == expected
    # one command per access, each write's data right after its command
    assert [t for t in taken if t[0] == "cmd"] == [("cmd", int(a[0] == "w"), a[1]) for a in accesses]
    for k, t in enumerate(taken):
        if t[0] == "cmd" and t[1]:
            assert taken[k + 1][0] == "data"
