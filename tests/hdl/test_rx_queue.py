# amaranth: UnusedElaboratable=no
"""The receive queue: symbols out in order whatever the engine's pace, a full queue drops and
counts, and the first symbol after a drop carries ``lost``."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga.hdl.rx_queue import LATENCY, RxQueue

from .sim_helpers import simulate


def run(queue: RxQueue, inputs: list[int | None], ready: list[bool]):
    """``inputs[t]``: the byte offered at cycle ``t`` (``None``: nothing); ``ready[t]``: the
    engine takes.  Returns the symbols taken ``(cycle, byte, lost)``, the cycles of ``lost``
    pulses, and ``empty`` by cycle."""
    taken, lost, empty = [], [], []

    async def bench(ctx):
        for t, (item, take) in enumerate(zip(inputs, ready)):
            ctx.set(queue.symbols.valid, item is not None)
            ctx.set(queue.symbols.payload.byte, item or 0)
            ctx.set(queue.queued.ready, take)
            if ctx.get(queue.queued.valid) and take:
                taken.append((t, ctx.get(queue.queued.payload.byte), ctx.get(queue.queued.payload.lost)))
            if ctx.get(queue.lost):
                lost.append(t)
            empty.append(ctx.get(queue.empty))
            await ctx.tick()

    simulate(queue, bench)
    return taken, lost, empty


def test_in_order_at_any_pace_with_its_latency():
    rng = np.random.default_rng(0)
    sent = [int(b) for b in rng.integers(0, 256, 300)]
    inputs = [None] * 3500          # (bursts and gaps; the engine takes a symbol in 3 cycles at best)
    for k, t in enumerate(sorted(rng.choice(3000, len(sent), replace=False))):
        inputs[int(t)] = sent[k]
    ready = [bool(r) for r in rng.random(3500) < 0.4]
    taken, lost, _ = run(RxQueue(16), inputs, ready)
    assert [b for _, b, _ in taken] == sent and not lost and not any(l for *_, l in taken)
    taken, _, empty = run(RxQueue(16), [None, 0x42] + [None] * 6, [True] * 8)
    assert taken == [(1 + LATENCY, 0x42, 0)]
    assert empty == [1] + [0] * (LATENCY + 1) + [1] * (6 - LATENCY)    # (until the engine has taken it)


@pytest.mark.parametrize("depth", [4, 8])
def test_a_full_queue_drops_counts_and_marks_the_next(depth):
    """``depth`` symbols in the block RAM and one at the front: the next ones are lost (a
    symbol leaves every :data:`LATENCY` cycles at best)."""
    held, extra = depth + 1, 3
    inputs = list(range(held + extra)) + [None] * 4 + [None] * (LATENCY * held) + [100, 101] + [None] * 12
    hold = held + extra + 4
    ready = [False] * hold + [True] * (len(inputs) - hold)
    taken, lost, _ = run(RxQueue(depth), inputs, ready)
    assert lost == list(range(held, held + extra))
    assert [(b, l) for _, b, l in taken] == [(b, 0) for b in range(held)] + [(100, 1), (101, 0)]


def test_refuses_a_queue_too_small_or_not_a_power_of_two():
    # (the first line's linter option: an object whose __init__ raised is never elaborated)
    for depth in (1, 6):
        with pytest.raises(ValueError, match="a power of two, at least 2"):
            RxQueue(depth)
