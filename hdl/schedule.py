"""The schedule model: the exact cycle count of every instruction, phase and mini-batch.

It follows the gateware's state machines (``hdl/sequencer.py``, ``hdl/neuron_update.py``,
``hdl/weight_update.py``) and is held to the simulated core's cycle counters by the tests.
Formulas (``docs/architecture.md`` §Schedule):

- every instruction: 2 cycles of fetch and decode, then its execution;
- ``predict``, ``sign``, ``next``, ``halt``: 1 cycle;
- the program runs on pairs of samples (``h = min(2, B)`` samples at a time; ``next`` steps
  by ``h``);
- ``drive``: ``n_1 · G_1 + drain_drive + 2`` (one pass drives both samples of the pair);
- one neuron step (of both samples): ``S = Σ_(m=2..N) (h · n_m · G_m + drain_m) + 2``,
  ``drain_m`` = ``drain_output`` for ``m = N``, else ``drain_hidden`` (``hdl/neuron_timing.py``: 10 + T and
  7 + max(T, 3) cycles, T the forward adder tree's registers); ``relax T``:
  ``(T − 1) · h · n_N · G_N + S`` where the steps chain (two layers, a pair, and a sample's pass
  no shorter than the drain: :func:`~.neuron_timing.chains`), else ``T · (S − 1) + 1`` (the
  sequencer starts each step after the first in the cycle it sees the last one end);
- ``update``: ``Σ_blocks (rows · groups · samples + drain) + 2`` (blocks: ``hdl/weight_update.py``);

with ``G_m = ceil(n_(m−1) / P)``.  The bound a machine of ``2P`` multipliers cannot beat is
:func:`lower_bound`; :func:`read_bound` is the weight-memory reads' (one a lane and cycle).
"""

from __future__ import annotations

from dataclasses import dataclass

from epfpga.contract.isa import INSTRUCTION, Op
from epfpga.contract.params import CoreParams
from epfpga.golden.phases import PHASES

from .neuron_timing import (chains, drain_drive, drain_hidden, drain_output, drive_issue_cycles, step_done_stage,
                            step_issue_cycles)
from .update_plan import blocks, drain, drain_diff, write_stage

FETCH = 2


def _field(word: int, name: str) -> int:
    f = INSTRUCTION[name]
    return word >> f.offset & ((1 << f.width) - 1)


def drive_cycles(p: CoreParams) -> int:
    return drive_issue_cycles(p) + drain_drive(p) + 2


def step_cycles(p: CoreParams) -> int:
    passes = sum(p.halves * p.sizes[m] * p.weight_groups(m) + (drain_output(p) if m == p.layers else drain_hidden(p))
                 for m in range(2, p.layers + 1))
    return passes + 2


def step_period(p: CoreParams) -> int:
    """Cycles from a step's first issue to the next one's in a relaxation: the steps' issues
    back to back where they chain (:func:`~.neuron_timing.chains`), else the whole step less
    the cycle in which the sequencer starts the next one as it sees the last end."""
    return p.halves * step_issue_cycles(p) if chains(p) else step_cycles(p) - 1


def relax_cycles(p: CoreParams, steps: int) -> int:
    return (steps - 1) * step_period(p) + step_cycles(p)


def update_cycles(p: CoreParams) -> int:
    return sum(b.rows * b.groups * b.samples + (drain_diff(p) if b.kind == "diff" else drain(p))
               for b in blocks(p)) + 2


@dataclass(frozen=True)
class Schedule:
    """Cycles of one program run, in total and by operation (execution only; ``fetch`` holds
    the fetch and decode cycles of every instruction), and the cycle of every beat the
    monitors stamp: ``step_ends`` (each neuron step's ``step_done``) and ``writes`` (each word
    the weight update writes, in write order).  Cycles count from the first fetch (cycle 0),
    so the program's ``done`` rises in cycle ``cycles``."""

    cycles: int
    drive: int
    relax: int
    update: int
    fetch: int
    steps: int
    step_ends: tuple[int, ...] = ()
    writes: tuple[int, ...] = ()

    def counters(self) -> dict[str, int]:
        """The core's counters of one run of the program, as ``HostTrainer.counters`` names them."""
        return {"cycles": self.cycles, "drive_cycles": self.drive, "relax_cycles": self.relax,
                "update_cycles": self.update, "steps": self.steps}


def update_writes(p: CoreParams, start: int) -> list[int]:
    """The cycles of the update's weight and bias word writes, for an update whose execution
    starts in cycle ``start``: each block issues its words' samples back to back, and a word
    is written :func:`~.update_plan.write_stage` cycles after its last sample issues."""
    out, issue, stage = [], start + 1, write_stage(p)
    for b in blocks(p):
        if b.kind != "diff":
            out += [issue + (w + 1) * b.samples - 1 + stage for w in range(b.rows * b.groups)]
        issue += b.rows * b.groups * b.samples + (drain_diff(p) if b.kind == "diff" else drain(p))
    return out


def program_cycles(p: CoreParams, words: list[int]) -> Schedule:
    """Walk a program as the sequencer does and count its cycles."""
    totals = {"drive": 0, "relax": 0, "update": 0, "fetch": 0, "other": 0, "steps": 0}
    step_ends: list[int] = []
    writes: list[int] = []
    pc, sample, now = 0, 0, 0
    while True:
        word = words[pc]
        op, imm = Op(_field(word, "op")), _field(word, "imm")
        totals["fetch"] += FETCH
        now += FETCH
        pc += 1
        if op == Op.DRIVE:
            spent = drive_cycles(p)
            totals["drive"] += spent
        elif op == Op.RELAX:
            spent = relax_cycles(p, imm)
            # step_done: step_done_stage after the step's last issue, which comes drain_output
            # + 2 cycles before a lone step's end
            last_issue = step_cycles(p) - 2 - drain_output(p)
            step_ends += [now + t * step_period(p) + last_issue + step_done_stage(p) for t in range(imm)]
            totals["relax"] += spent
            totals["steps"] += imm
        elif op == Op.UPDATE:
            spent = update_cycles(p)
            writes += update_writes(p, now)
            totals["update"] += spent
        else:
            spent = 1
            totals["other"] += spent
            if op == Op.NEXT and sample != p.batch - p.halves:
                sample, pc = sample + p.halves, imm
            elif op == Op.NEXT:
                sample = 0
        now += spent
        if op == Op.HALT:
            break
    return Schedule(now, totals["drive"], totals["relax"], totals["update"], totals["fetch"], totals["steps"],
                    tuple(step_ends), tuple(writes))


def lower_bound(p: CoreParams) -> float:
    """Cycles per training sample that no machine of ``2P`` multipliers beats: its multiplies
    a sample over ``2P``.  A neuron step multiplies every weight of ``W_2 … W_N`` twice
    (forward and feedback sums), the update each of them twice (a product difference); the
    drive and the update multiply each ``W_1`` entry once.  With ``H = Σ_(m≥2) n_(m−1)·n_m``
    and ``S`` steps a sample: ``[(S + 1)·2H + 2·n_0·n_1] / (2P)``.  The biases need no
    multiply."""
    s = p.sizes
    hidden = sum(s[m - 1] * s[m] for m in range(2, p.layers + 1))
    steps = PHASES[p.config.estimator].steps(p.config.t1, p.config.t2)
    return ((steps + 1) * 2 * hidden + 2 * s[0] * s[1]) / (2 * p.lanes)


def read_bound(p: CoreParams) -> float:
    """Weight-memory reads per sample / P (every weight once per step, ``W_1`` once per pair
    of samples for the drive, every weight and bias once per mini-batch for the update)."""
    s = p.sizes
    hidden = sum(s[m - 1] * s[m] for m in range(2, p.layers + 1))
    steps = PHASES[p.config.estimator].steps(p.config.t1, p.config.t2)
    weights = sum(s[m - 1] * s[m] + s[m] for m in range(1, p.layers + 1))
    return (steps * hidden + s[0] * s[1] / p.halves + weights / p.batch) / p.lanes
