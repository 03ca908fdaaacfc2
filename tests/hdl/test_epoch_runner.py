# amaranth: UnusedElaboratable=no
"""The epoch runner against a model of the core and the SDRAM: every mini-batch of the
permutation trained once, in order, on the bank the feeder filled with what the golden twin
(``firmware.resident.feed``) writes; never a write of the bank the core trains on; the errors
counted as the predictions say; the pause at ``UNTIL``; the cycle counts; a damaged record."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga import config as config_mod
from epfpga.contract.address_map import READ_LATENCY, REGION_SHIFT, Reg, Region, address
from epfpga.contract.params import CoreParams
from epfpga.contract.resident import ResidentReg, ResidentState
from epfpga.contract.sdram import ULX3S_SDRAM
from epfpga.firmware.resident import feed, permutation_words
from epfpga.hdl.epoch_runner import EpochRunner

from .sim_helpers import sdram_model, simulate
from .test_resident_feeder import CONFIG, dataset


class CoreModel:
    """The core's host bus as the runner sees it through the arbiter: memories that take writes,
    ``START`` that runs for a while, predictions read back ``READ_LATENCY`` cycles after their
    read; each request reaches the core a cycle after its grant."""

    def __init__(self, dut, params, rng, grant, run_cycles):
        self.dut, self.params, self.rng, self.grant, self.run_cycles = dut, params, rng, grant, run_cycles
        self.memory: dict[int, int] = {}
        self.runs: list[tuple[int, dict[int, int], list[int]]] = []   # (bank, its words, predictions)
        self.busy_cycles = 0
        self.bad_writes = []

    async def process(self, ctx):
        core, p = self.dut.core, self.params
        busy_left, bank, answers = 0, 0, [None] * (READ_LATENCY - 1)
        predictions = [0] * p.batch
        request = (0, 0, 0, 0, 0)   # (the arbiter's register: a granted request reaches the core a cycle later)
        async for _, _, *sampled in ctx.tick().sample(core.we, core.re, core.addr, core.wdata, core.grant):
            (we, re, addr, data, granted), request = request, sampled
            answer = answers.pop(0)
            ctx.set(core.rvalid, answer is not None)
            ctx.set(core.rdata, 0 if answer is None else answer)
            answers.append(None)
            if busy_left:
                busy_left -= 1
                self.busy_cycles += 1
            if we and granted:
                if addr == address(Region.CONTROL, Reg.START):
                    assert not busy_left and data & 1
                    bank, busy_left = data >> 1 & 1, int(self.rng.integers(*self.run_cycles))
                    predictions = self.rng.integers(0, p.classes, p.batch).tolist()
                    self.runs.append((bank, self.bank_words(bank), predictions))
                else:
                    if busy_left and self.bank_of(addr) == bank:
                        self.bad_writes.append(addr)
                    self.memory[addr] = data
            if re and granted:
                assert addr >> REGION_SHIFT == Region.PRED and not busy_left
                answers[-1] = predictions[addr & 0xFF]
            ctx.set(self.dut.core_busy, busy_left != 0)
            ctx.set(core.grant, bool(self.rng.random() < self.grant))

    def bank_of(self, addr: int) -> int:
        region, offset = addr >> REGION_SHIFT, addr & ((1 << REGION_SHIFT) - 1)
        return offset >> self.params.input_bank_bit if region == Region.X else offset // self.params.batch

    def bank_words(self, bank: int) -> dict[int, int]:
        return {a: v for a, v in self.memory.items() if a >> REGION_SHIFT in (Region.X, Region.Y)
                and self.bank_of(a) == bank}


def run_epoch(params, words, perm_at, batches, pauses, rng, grant=0.8, run_cycles=(20, 300)):
    """Train ``batches`` mini-batches, pausing at each of ``pauses``; the registers at each
    pause and at the end, and the core model."""
    dut = EpochRunner(params, ULX3S_SDRAM)
    core = CoreModel(dut, params, rng, grant, run_cycles)
    seen = []

    async def bench(ctx):
        table = dut.table
        for byte in range(256):
            ctx.set(table.addr, byte)
            ctx.set(table.data, byte % (1 << params.input_bits))
            ctx.set(table.en, 1)
            await ctx.tick()
        ctx.set(table.en, 0)

        async def write(reg, value):
            ctx.set(dut.regs.addr, reg)
            ctx.set(dut.regs.wdata, value)
            ctx.set(dut.regs.we, 1)
            await ctx.tick()
            ctx.set(dut.regs.we, 0)

        async def read(reg):
            ctx.set(dut.regs.addr, reg)
            ctx.set(dut.regs.re, 1)
            await ctx.tick()
            ctx.set(dut.regs.re, 0)
            assert ctx.get(dut.regs.rvalid)
            return ctx.get(dut.regs.rdata)

        await write(ResidentReg.PERM, perm_at)
        await write(ResidentReg.BATCHES, batches)
        for until in [*pauses, batches]:
            await write(ResidentReg.UNTIL, until)
            await ctx.tick()     # (running is a register)
            cycles = 0
            while ctx.get(dut.running):
                await ctx.tick()
                cycles += 1
                assert cycles < 1_000_000
            seen.append({reg: await read(reg) for reg in ResidentReg})

    simulate(dut, bench, sdram_model(dut.sdram, words, rng), core.process)
    return seen, core


def expected_errors(params, words, perm_at, table, runs):
    wrong = 0
    for k, (_, _, predictions) in enumerate(runs):
        writes, _ = feed(words, perm_at + 2 * params.batch * k, k % 2, params, table)
        wrong += sum(p != label for p, (_, label) in zip(predictions, writes[8::9]))
    return wrong


@pytest.mark.parametrize(("seed", "grant", "run_cycles"), [(1, 1.0, (1000, 2000)), (2, 0.5, (20, 300))])
def test_an_epoch_trains_every_mini_batch_once_in_order(seed, grant, run_cycles):
    params = CoreParams.from_config(config_mod.from_dict(CONFIG))
    rng = np.random.default_rng(seed)
    words, perm_at = dataset(params, 23, rng)
    batches = 23 // params.batch
    words = np.concatenate([words, permutation_words(rng.permutation(23))])
    seen, core = run_epoch(params, words, perm_at, batches, [2], rng, grant, run_cycles)
    table = np.arange(256) % (1 << params.input_bits)
    assert [bank for bank, _, _ in core.runs] == [k % 2 for k in range(batches)]
    for k, (bank, held, _) in enumerate(core.runs):
        writes, fault = feed(words, perm_at + 2 * params.batch * k, bank, params, table)
        assert fault is None and held == dict(writes), f"mini-batch {k}"
    assert core.bad_writes == []
    pause, end = seen
    assert pause[ResidentReg.DONE] == 2 and pause[ResidentReg.STATE] == 0
    assert end[ResidentReg.DONE] == batches and end[ResidentReg.STATE] == 0
    assert end[ResidentReg.ERRORS] == expected_errors(params, words, perm_at, table, core.runs)
    assert end[ResidentReg.TRAIN_CYCLES] == core.busy_cycles
    # waiting: the first load, the loads the core outruns, and between runs the reads of the
    # predictions and the start; with runs longer than a load, little of it
    wait = end[ResidentReg.WAIT_CYCLES]
    assert wait > 0 and (run_cycles[0] < 1000 or wait < 0.05 * core.busy_cycles), (wait, core.busy_cycles)


def test_a_damaged_record_stops_the_epoch_before_its_mini_batch():
    params = CoreParams.from_config(config_mod.from_dict(CONFIG))
    rng = np.random.default_rng(7)
    words, perm_at = dataset(params, 12, rng)
    order = rng.permutation(12)
    bad = int(order[9])                                  # in the third mini-batch
    at = int(words[8 + 2 * bad]) | int(words[9 + 2 * bad]) << 16
    words[at + 1] += 1                                   # its code count: a byte more than it has
    words = np.concatenate([words, permutation_words(order)])
    seen, core = run_epoch(params, words, perm_at, 3, [], rng)
    (end,) = seen
    assert len(core.runs) == 2 and end[ResidentReg.DONE] == 2
    assert end[ResidentReg.STATE] == ResidentState.FAULT and end[ResidentReg.FAULT] == bad
