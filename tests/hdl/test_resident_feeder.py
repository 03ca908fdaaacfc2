# amaranth: UnusedElaboratable=no
"""The resident feeder against its golden twin, ``firmware.resident.feed``: the same writes of
the inputs (padding lanes included) and labels into either bank, in order, whatever the SDRAM's
delays and the bus's stalls; a damaged record stops it and names the sample."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga import config as config_mod
from epfpga.contract.params import CoreParams
from epfpga.contract.protocol import zero_runs
from epfpga.contract.sdram import ULX3S_SDRAM
from epfpga.firmware.resident import feed, pack, permutation_words
from epfpga.hdl.resident_feeder import ResidentFeeder

from .sim_helpers import pulse, sdram_model, simulate, while_busy

CONFIG = dict(sizes=[5, 6, 3], lanes=4, batch=4, lrs=[0.5, 0.5], t1=3, t2=2, hardware={"sdram": True})


def dataset(params, n: int, rng) -> tuple[np.ndarray, int]:
    """An image of ``n`` samples (zero runs of every length the inputs allow), and where a
    permutation of them starts, after it."""
    pixels = rng.integers(0, 256, (n, params.sizes[0]))
    pixels[rng.random(pixels.shape) < 0.5] = 0
    image = pack([zero_runs(bytes(row.tolist())) for row in pixels], rng.integers(0, params.classes, n),
                 params.sizes[0])
    perm_at = len(image) + 5
    return np.concatenate([image, np.zeros(5, np.uint16)]), perm_at


def run_feeder(params, words, entry, bank, table, rng, grant=0.7):
    """The feeder's bus writes for one mini-batch, its fault and sample, its label writes."""
    dut = ResidentFeeder(params, ULX3S_SDRAM)
    writes, labels, out = [], [], {}

    async def bus(ctx):
        async for _, _, we, addr, data, granted in ctx.tick().sample(dut.bus.we, dut.bus.addr, dut.bus.wdata,
                                                                      dut.bus.grant):
            if we and granted:
                writes.append((addr, data))
            ctx.set(dut.bus.grant, bool(rng.random() < grant))

    async def label_store(ctx):
        async for _, _, en, addr, data in ctx.tick().sample(dut.labels.en, dut.labels.addr, dut.labels.data):
            if en:
                labels.append((addr, data))

    async def bench(ctx):
        for byte, value in enumerate(table):
            ctx.set(dut.table.addr, byte)
            ctx.set(dut.table.data, int(value))
            ctx.set(dut.table.en, 1)
            await ctx.tick()
        ctx.set(dut.table.en, 0)
        ctx.set(dut.entry, entry)
        ctx.set(dut.bank, bank)
        await pulse(ctx, dut.start)
        cycles = await while_busy(ctx, dut.busy, 200_000)
        out["fault"], out["sample"], out["cycles"] = ctx.get(dut.fault), ctx.get(dut.sample), cycles

    simulate(dut, bench, sdram_model(dut.sdram, words, rng), bus, label_store)
    return writes, out, labels


@pytest.mark.parametrize(("bank", "seed", "grant"), [(0, 1, 1.0), (1, 2, 0.6), (1, 3, 0.2)])
def test_a_mini_batch_is_written_as_the_twin_writes_it(bank, seed, grant):
    params = CoreParams.from_config(config_mod.from_dict(CONFIG))
    rng = np.random.default_rng(seed)
    words, perm_at = dataset(params, 11, rng)
    order = rng.permutation(11)
    words = np.concatenate([words, permutation_words(order)])
    table = rng.integers(0, 1 << params.input_bits, 256)
    entry = perm_at + 2 * 4      # the epoch's second mini-batch
    want, fault = feed(words, entry, bank, params, table)
    assert fault is None and len(want) == params.batch * (8 + 1)
    got, out, labels = run_feeder(params, words, entry, bank, table, rng, grant)
    assert got == want
    assert not out["fault"] and out["sample"] == order[7]
    assert labels == [(bank * params.batch + b, value) for b, (_, value) in enumerate(want[8::9])]


@pytest.mark.parametrize("damage", ["short", "long", "open run", "label"])
def test_a_damaged_record_stops_the_feeder_and_names_its_sample(damage):
    params = CoreParams.from_config(config_mod.from_dict(CONFIG))
    rng = np.random.default_rng(4)
    codes = [zero_runs(bytes(rng.integers(1, 256, 5).tolist())) for _ in range(6)]
    labels = rng.integers(0, params.classes, 6)
    bad = 3
    if damage == "short":
        codes[bad] = codes[bad][:4]
    elif damage == "long":
        codes[bad] = codes[bad] + b"\x07"
    elif damage == "open run":
        codes[bad] = codes[bad][:4] + b"\x00"
    else:
        labels[bad] = params.classes
    image = pack(codes, labels, 5)
    words = np.concatenate([image, permutation_words(np.array([0, 5, bad, 1]))])
    table = np.arange(256) % (1 << params.input_bits)
    want, fault = feed(words, len(image), 0, params, table)
    assert fault == bad
    got, out, _ = run_feeder(params, words, len(image), 0, table, rng)
    assert out["fault"] and out["sample"] == bad
    assert got[:len(want)] == want       # the samples before it, whole
