# amaranth: UnusedElaboratable=no
"""The bus arbiter: the engine's requests reach the core two cycles later, the runner's wait for
the cycles the engine leaves and reach it a cycle after, and every read's answer reaches the one
that asked it, whatever the interleaving."""

from __future__ import annotations

import numpy as np

from epfpga.contract.address_map import READ_LATENCY
from epfpga.hdl.bus_arbiter import ENGINE_LATENCY, RUNNER_LATENCY, BusArbiter

from .sim_helpers import simulate


def test_each_answer_reaches_its_reader_and_the_engine_never_waits():
    assert (ENGINE_LATENCY, RUNNER_LATENCY) == (2, 1)
    rng = np.random.default_rng(1)
    dut = BusArbiter()
    asked = {"engine": [], "runner": [], "engine writes": []}
    answered = {"engine": [], "runner": []}
    writes = []

    async def core(ctx):   # answers every read with its address, READ_LATENCY cycles later
        pipeline = [None] * (READ_LATENCY - 1)   # (an answer is set after the edge that pops it)
        async for _, _, we, re, addr, data in ctx.tick().sample(dut.core.we, dut.core.re, dut.core.addr,
                                                                 dut.core.wdata):
            answer = pipeline.pop(0)
            pipeline.append(addr if re else None)
            ctx.set(dut.core.rvalid, answer is not None)
            ctx.set(dut.core.rdata, answer or 0)
            if we:
                writes.append((addr, data))

    async def bench(ctx):
        runner_request, previous = None, "none"
        for cycle in range(3000):
            engine = rng.choice(["none", "read", "write"], p=[0.6, 0.2, 0.2])
            ctx.set(dut.engine.re, engine == "read")
            ctx.set(dut.engine.we, engine == "write")
            ctx.set(dut.engine.addr, 1_000_000 + cycle)
            ctx.set(dut.engine.wdata, cycle)
            if runner_request is None and rng.random() < 0.7:
                runner_request = (str(rng.choice(["read", "write"])), 2_000_000 + cycle)
            kind, addr = runner_request or ("none", 0)
            ctx.set(dut.runner.re, kind == "read")
            ctx.set(dut.runner.we, kind == "write")
            ctx.set(dut.runner.addr, addr)
            ctx.set(dut.runner.wdata, addr)
            assert ctx.get(dut.runner.grant) == (previous == "none")   # (the engine's request of the cycle before)
            if engine == "read":
                asked["engine"].append(1_000_000 + cycle)
            if engine == "write":
                asked["engine writes"].append((1_000_000 + cycle, cycle))
            if runner_request is not None and previous == "none":
                if kind == "read":
                    asked["runner"].append(addr)
                runner_request = None
            for who in ("engine", "runner"):
                port = getattr(dut, who)
                if ctx.get(port.rvalid):
                    answered[who].append(ctx.get(port.rdata))
            previous = engine
            await ctx.tick()
        ctx.set(dut.engine.re, 0)
        ctx.set(dut.engine.we, 0)
        ctx.set(dut.runner.re, 0)
        ctx.set(dut.runner.we, 0)
        for _ in range(READ_LATENCY + 3):
            for who in ("engine", "runner"):
                port = getattr(dut, who)
                if ctx.get(port.rvalid):
                    answered[who].append(ctx.get(port.rdata))
            await ctx.tick()

    simulate(dut, bench, core)
    engine_writes = asked.pop("engine writes")
    assert answered == asked and len(asked["runner"]) > 300 and len(asked["engine"]) > 300
    assert [w for w in writes if w[0] < 2_000_000] == engine_writes and len(engine_writes) > 300
    assert all(a == d for a, d in writes if a >= 2_000_000)
