"""A memory in two banks: each read port reads its bank's words as the one memory would hold
them, a write lands in its address's bank only, and a read of the other bank is poisoned."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga import config as config_mod
from epfpga.contract.params import CoreParams
from epfpga.hdl.banked_ram import BankedRAM
from epfpga.hdl.memories import Banks, input_banks, state_banks

from .sim_helpers import simulate
from .test_block_ram import reference


def params(sizes, batch: int, lanes: int) -> CoreParams:
    return CoreParams.from_config(config_mod.from_dict({"sizes": sizes, "batch": batch, "lanes": lanes}))


BANKS = {
    "state1 of 5-6-3, P = 4, B = 4": state_banks(params([5, 6, 3], 4, 4), 1),
    "state2 of digits, P = 4, B = 4": state_banks(params([64, 256, 10], 4, 4), 2),
    "state1, B = 1": state_banks(params([5, 6, 3], 1, 2), 1),
    "x of 48-6-3, P = 4, B = 8": input_banks(params([48, 6, 3], 8, 4)),
}


@pytest.mark.parametrize("name", BANKS)
def test_the_banks_share_out_every_address_once(name):
    b: Banks = BANKS[name]
    places = {(b.bank(a), b.local(a, b.bank(a))) for a in range(b.spec.depth)}
    assert len(places) == b.spec.depth
    for k, spec in enumerate(b.banks):
        assert {w for bank, w in places if bank == k} == set(range(spec.depth))


def stimulus(b: Banks, cycles: int, seed: int, wrong: int | None = None) -> list[dict]:
    """Random writes anywhere (random lane enables, rails among the values) and reads of each
    port's own bank, never of a word written that cycle or the next two; with ``wrong``, port
    ``wrong`` reads the other bank every seventh cycle."""
    rng = np.random.default_rng(seed)
    spec = b.spec
    hi = 1 << spec.elem.width
    own = [[a for a in range(spec.depth) if b.bank(a) == k] for k in range(2)]
    waddrs = [int(rng.integers(spec.depth)) for _ in range(cycles + 2)]
    out = []
    for t in range(cycles):
        waddr = waddrs[t]
        raddr = []
        for k in range(2):
            pool = own[1 - k] if wrong == k and t % 7 == 3 else own[k]
            a = int(rng.choice(pool))
            # (a read of the other bank reads the word with the bank bit flipped: that one too)
            near = {w ^ flip for w in waddrs[t:t + 3] for flip in (0, 0 if b.bit is None else 1 << b.bit)}
            for _ in range(6):
                a = pool[(pool.index(a) + 1) % len(pool)] if a in near else a
            raddr.append(a)
        data = [int(rng.choice([0, hi - 1])) if t % 5 == 0 else int(rng.integers(hi)) for _ in range(spec.lanes)]
        out.append({"waddr": waddr, "wdata": data, "wen": int(rng.integers(1 << spec.lanes)) if t < cycles - 20 else 0,
                    "raddr": raddr, "ren": [int(rng.random() < 0.8) for _ in range(2)]})
    return out


def reads(b: Banks, steps: list[dict]) -> list[list[list[int]]]:
    dut = BankedRAM(b)
    got = [[], []]

    async def tb(ctx):
        for s in steps:
            ctx.set(dut.write.addr, s["waddr"])
            ctx.set(dut.write.en, s["wen"])
            for lane in range(b.spec.lanes):
                ctx.set(dut.write.data[lane], s["wdata"][lane])
            for port, addr, en in zip(dut.read, s["raddr"], s["ren"]):
                ctx.set(port.addr, addr)
                ctx.set(port.en, en)
            await ctx.tick()
            for k, port in enumerate(dut.read):
                got[k].append([ctx.get(port.data[lane]) for lane in range(b.spec.lanes)])

    simulate(dut, tb)
    return got


@pytest.mark.parametrize("name", BANKS)
def test_each_port_reads_its_bank_as_the_one_memory_holds_it(name):
    b = BANKS[name]
    steps = stimulus(b, 300, seed=len(name))
    got = reads(b, steps)
    for k in range(2):
        assert got[k] == reference(b.spec, steps, k), f"read port {k}"


def shown(steps: list[dict], port: int) -> list[int | None]:
    """The step of the read whose data port ``port`` shows after each edge (as
    :func:`~.test_block_ram.reference` follows it), ``None`` before the first."""
    out, latched, request = [], None, None
    for t, s in enumerate(steps):
        out.append(latched)
        if request is not None:
            latched = request
        request = t if s["ren"][port] else None
    return out


@pytest.mark.parametrize("port", [0, 1])
def test_a_read_of_the_other_bank_is_poisoned(port):
    """Banks by an address bit: a read of the other bank reads its own bank's word at the
    address with that bit flipped, and returns it inverted."""
    b = BANKS["x of 48-6-3, P = 4, B = 8"]
    steps = stimulus(b, 200, seed=port, wrong=port)
    flipped = [{**s, "raddr": [a ^ (1 << b.bit) if k == port and b.bank(a) != port else a
                               for k, a in enumerate(s["raddr"])]} for s in steps]
    got, want = reads(b, steps)[port], reference(b.spec, flipped, port)
    wrong = [r is not None and b.bank(steps[r]["raddr"][port]) != port for r in shown(steps, port)]
    assert sum(wrong) > 5
    mask = (1 << b.spec.elem.width) - 1
    for t, (g, w) in enumerate(zip(got, want)):
        assert g == ([v ^ mask for v in w] if wrong[t] else w), f"edge {t}"
