"""Run a small component in Amaranth's simulator with one async testbench, and the models of
what surrounds it that several benches share."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from amaranth.sim import Simulator

from epfpga.hdl import block_ram
from epfpga.hdl import memories as mem


def simulate(dut, testbench, *processes) -> None:
    """``testbench`` to its end, with ``processes`` (the models around ``dut``) beside it."""
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for process in processes:
        sim.add_process(process)
    sim.add_testbench(testbench)
    sim.run()


def icarus(work: Path, bench: str, dut: str, models: str) -> None:
    """``bench`` (module ``bench``) around ``dut`` with the cell ``models``, compiled and run by
    Icarus in ``work`` (the bench reads and writes its files there)."""
    for name, text in (("bench.v", bench), ("dut.v", dut), ("models.v", models)):
        (work / name).write_text(text)
    subprocess.run(["iverilog", "-g2012", "-o", "sim", "bench.v", "dut.v", "models.v"], cwd=work, check=True,
                   capture_output=True)
    subprocess.run(["vvp", "-n", "sim"], cwd=work, check=True, capture_output=True)


def sdram_model(access, words, rng: np.random.Generator, longest: int = 8):
    """An SDRAM behind an :class:`~epfpga.hdl.sdram_port.SDRAMAccess` that only reads: each
    ``re`` answered with ``words[addr]`` after 1 to ``longest`` cycles, one read at a time."""
    async def process(ctx):
        due, addr = None, 0
        async for _, _, re, asked in ctx.tick().sample(access.re, access.addr):
            ctx.set(access.rvalid, due == 0)
            ctx.set(access.rdata, int(words[addr]) if due == 0 else 0xDEAD)
            due = None if due in (None, 0) else due - 1
            if re:
                assert due is None, "a read while one is in flight"
                due, addr = int(rng.integers(0, longest)), asked
    return process


async def pulse(ctx, signal) -> None:
    """``signal`` high for one cycle."""
    ctx.set(signal, 1)
    await ctx.tick()
    ctx.set(signal, 0)


async def while_busy(ctx, busy, limit: int, each=None) -> int:
    """Clock while ``busy`` is high (``each(ctx)`` before every edge), at most ``limit`` cycles;
    the cycles it took."""
    cycles = 0
    while ctx.get(busy):
        if each is not None:
            each(ctx)
        await ctx.tick()
        cycles += 1
        assert cycles < limit, f"still busy after {limit} cycles"
    return cycles


def read_model(port, store: dict[int, list[int]], lanes: int, write=None, single_port: bool = False):
    """A read port of a :class:`~epfpga.hdl.block_ram.BlockRAM`: ``store[addr]``
    :data:`~epfpga.hdl.block_ram.LATENCY` cycles after an ``addr`` with ``en`` (``en`` low
    holds the data).  Beside the memory's ``write`` port, a read that meets a write it may not
    meet (``single_port``: any write; else one of its word) returns its word inverted, as the
    BlockRAM does in the simulators."""
    async def process(ctx):
        asked = [None] * block_ram.LATENCY
        signals = (port.addr, port.en) + ((write.addr, write.en) if write is not None else ())
        async for _, _, addr, en, *written in ctx.tick().sample(*signals):
            clash = bool(written) and bool(written[1]) and (single_port or written[0] == addr)
            asked = asked[1:] + [(addr, clash) if en else None]
            if asked[0] is not None:
                word = store.get(asked[0][0], [0] * lanes)
                ctx.set(port.data, [~v for v in word] if asked[0][1] else word)
    return process


def write_model(port, store: dict[int, list[int]]):
    """A write port of a :class:`~epfpga.hdl.block_ram.BlockRAM`: its word lands in ``store``
    with its lanes' enables (readable by a request of the next cycle)."""
    async def process(ctx):
        async for _, _, addr, en, word in ctx.tick().sample(port.addr, port.en, port.data):
            if en:
                old = store.setdefault(addr, [0] * len(word))
                store[addr] = [int(word[l]) if en >> l & 1 else old[l] for l in range(len(word))]
    return process


def multiplier_model(port, count: int, latency: int):
    """An engine's ``count`` multipliers (:mod:`epfpga.hdl.multiplier`): the products
    ``latency`` cycles after their operands."""
    async def process(ctx):
        line = [None] * latency
        async for _, _, a, b in ctx.tick().sample(port.a, port.b):
            line = line[1:] + [[int(a[k]) * int(b[k]) for k in range(count)]]
            if line[0] is not None:
                ctx.set(port.p, line[0])
    return process


def lane_words(values, lanes: int) -> list[list[int]]:
    """A row of elements as ``P``-lane words, padded with zeros."""
    row = values.tolist() if hasattr(values, "tolist") else list(values)
    row += [0] * (-len(row) % lanes)
    return [row[k:k + lanes] for k in range(0, len(row), lanes)]


def weight_stores(p, weights) -> list[dict[int, list[int]]]:
    """The words of each weight memory, in ``memories.weight_memories``' order (the engines'
    port arrays), holding ``weights[n]``, ``W_n`` as rows."""
    stores = []
    for wm in mem.weight_memories(p):
        store = {}
        for n in wm.layers:
            for i in range(p.sizes[n]):
                for g, word in enumerate(lane_words(weights[n][i].tolist(), p.lanes)):
                    store[wm.base(n) + i * p.weight_groups(n) + g] = word
        stores.append(store)
    return stores


def bias_stores(p, biases) -> list[dict[int, list[int]]]:
    """The words of each bias memory, in ``memories.bias_memories``' order (the engines' port
    arrays), holding ``biases[n]``, ``b_n``."""
    stores = []
    for bm in mem.bias_memories(p):
        store = {}
        for n in bm.layers:
            store |= {bm.base(n) + g: word for g, word in enumerate(lane_words(biases[n], p.lanes))}
        stores.append(store)
    return stores


async def run_engine(ctx, dut, limit: int = 50_000) -> None:
    """Start an engine (``start`` for a cycle) and wait until it is done and its last writes
    have landed."""
    await pulse(ctx, dut.start)
    for _ in range(limit):
        if not ctx.get(dut.busy):
            break
        await ctx.tick()
    else:
        raise AssertionError(f"still busy after {limit} cycles")
    for _ in range(block_ram.LATENCY):
        await ctx.tick()
