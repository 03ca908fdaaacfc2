"""Beat-by-beat checks of the core's monitor outputs against the fixed-point golden model.

The core shows every write of its two pipelines as it happens: state writes of the neuron
update (``mon{n}_*``, one list a neuron step, closed by ``step_done``) and weight writes of
the weight update (``wmon_*``).  :class:`BeatChecker` takes those beats in order, as a
testbench sees them, and raises :class:`Mismatch` at the first one that differs from the
golden model's mini-batch (:class:`Expectation`), naming sample, phase, step, layer, unit,
expected, got and the simulation time.  It also checks the order: each layer's units once a
step in increasing order, and the update's words memory by memory (``W_1, b_1, W_2, …``), row
by row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from epfpga.contract.params import CoreParams
from epfpga.errors import GatewareMismatch
from epfpga.firmware.driver import StateWrite, to_signed
from epfpga.golden.phases import RELAXATIONS
from epfpga.hdl.schedule import Schedule
from epfpga.trace import BatchRecord


PERIOD_NS = 10   # the simulated clock in every simulator; mismatch reports give times in ns


class Mismatch(GatewareMismatch):
    """A beat of the gateware differs from the golden model."""


@dataclass(frozen=True)
class Expectation:
    """The golden model's beats of one mini-batch.

    Attributes
    ----------
    batch : int
        Index of the mini-batch in the run (for messages).
    steps : list
        ``(sample, phase, t, states)`` for every neuron step in the order the program runs
        them, ``states[n - 1]`` the ``int64`` states of layer ``n``.
    weights : dict
        The integer weights after the update, ``W{n}`` ``[n_n, n_(n-1)]`` and ``b{n}``.
    schedule : Schedule
        The schedule model's run of the program (``hdl/schedule.py``): its cycles, from the
        cycle after the one that writes ``START`` (cycle 0) to the first with ``done`` high,
        and the cycle of every ``step_done`` and every weight word write.
    """

    batch: int
    steps: list[tuple[int, str, int, list[np.ndarray]]]
    weights: dict[str, np.ndarray]
    schedule: Schedule

    @classmethod
    def from_record(cls, batch: int, record: BatchRecord, schedule: Schedule) -> Expectation:
        phases = [(r.name, getattr(record, r.name)) for r in RELAXATIONS if getattr(record, r.name) is not None]
        samples = len(record.y)
        steps = [(b, name, t, [np.asarray(s[b]) for s in state])
                 for b in range(samples) for name, states in phases for t, state in enumerate(states)]
        return cls(batch, steps, {k: np.asarray(v) for k, v in record.params.items()}, schedule)


class BeatChecker:
    """Checks one mini-batch's beats, in order, against an :class:`Expectation`."""

    def __init__(self, params: CoreParams, expect: Expectation):
        self.p, self.expect = params, expect
        self.per_sample = len(expect.steps) // params.batch
        self.core_steps = len(expect.steps) // params.halves   # each runs both samples of a pair
        self.step = 0
        self.next_unit = self._no_units()
        # the update's words in write order: (block, word address) → (name, row, first column)
        self.words: list[tuple[int, int, str, int, int]] = []
        for n in range(1, params.layers + 1):
            for kind, rows, groups in (("W", params.sizes[n], params.weight_groups(n)),
                                       ("b", 1, params.unit_words(n))):
                block = 2 * (n - 1) + (kind == "b")
                self.words += [(block, r * groups + g, f"{kind}{n}", r, g * params.lanes)
                               for r in range(rows) for g in range(groups)]
        self.word = 0

    def _no_units(self) -> list[list[int]]:
        return [[0] * self.p.layers for _ in range(self.p.halves)]

    def _expected(self, half: int) -> tuple[int, str, int, list[np.ndarray]]:
        """The model's step that the current step of the core runs for sample ``half`` of its pair."""
        pair, step = divmod(self.step, self.per_sample)
        return self.expect.steps[(pair * self.p.halves + half) * self.per_sample + step]

    def _where(self, half: int, layer: int, unit: int, time_ns: float) -> str:
        sample, phase, t, _ = self._expected(half)
        return (f"batch {self.expect.batch} sample {sample} phase {phase} step {t} layer {layer} unit {unit} "
                f"at {time_ns:g} ns")

    def state_write(self, write: StateWrite, time_ns: float) -> None:
        p = self.p
        if self.step >= self.core_steps:
            raise Mismatch(f"batch {self.expect.batch}: a state write after the last of "
                           f"{self.core_steps} neuron steps, layer {write.layer} at {time_ns:g} ns")
        half, base = p.state_place(write.layer, write.addr)
        want = self._expected(half)[3][write.layer - 1]
        mask = (1 << p.state_bits) - 1
        for lane in range(p.lanes):
            unit = base + lane
            if not write.lanes >> lane & 1 or unit >= p.sizes[write.layer]:
                continue
            expected_unit = self.next_unit[half][write.layer - 1]
            if unit != expected_unit:
                raise Mismatch(f"{self._where(half, write.layer, unit, time_ns)}: written out of order "
                               f"(expected unit {expected_unit} next)")
            got = write.word >> (lane * p.state_bits) & mask
            if got != want[unit]:
                raise Mismatch(f"{self._where(half, write.layer, unit, time_ns)}: expected {int(want[unit])}, "
                               f"got {got}")
            self.next_unit[half][write.layer - 1] += 1

    def _on_time(self, beat: str, stamps: tuple[int, ...], index: int, cycle: int, time_ns: float) -> None:
        want = stamps[index]
        if cycle != want:
            raise Mismatch(f"batch {self.expect.batch}: {beat} in cycle {cycle}, the schedule model's cycle {want} "
                           f"({cycle - want:+d}), at {time_ns:g} ns")

    def step_done(self, cycle: int, time_ns: float) -> None:
        if self.step >= self.core_steps:
            raise Mismatch(f"batch {self.expect.batch}: a step_done after the last of {self.core_steps} "
                           f"neuron steps, at {time_ns:g} ns")
        _, phase, t, _ = self._expected(0)
        samples = ", ".join(str(self._expected(h)[0]) for h in range(self.p.halves))
        self._on_time(f"sample {samples} phase {phase} step {t}: step_done", self.expect.schedule.step_ends,
                      self.step, cycle, time_ns)
        for half, units in enumerate(self.next_unit):
            for n, written in enumerate(units, 1):
                if written != self.p.sizes[n]:
                    raise Mismatch(f"{self._where(half, n, written, time_ns)}: the step ended with {written} of "
                                   f"{self.p.sizes[n]} units written")
        self.step += 1
        self.next_unit = self._no_units()

    def weight_write(self, block: int, addr: int, lanes: int, word: int, cycle: int, time_ns: float) -> None:
        p = self.p
        where = f"batch {self.expect.batch} phase update"
        if self.word >= len(self.words):
            raise Mismatch(f"{where}: a weight write after the last word, at {time_ns:g} ns")
        want_block, want_addr, name, row, col0 = self.words[self.word]
        if (block, addr) != (want_block, want_addr):
            raise Mismatch(f"{where}: write to memory {block} word {addr} at {time_ns:g} ns, "
                           f"expected {name} word {want_addr} next")
        self._on_time(f"phase update: the write of {name} row {row} word {want_addr}", self.expect.schedule.writes,
                      self.word, cycle, time_ns)
        want = self.expect.weights[name].reshape(-1, self.expect.weights[name].shape[-1])[row]
        for lane in range(p.lanes):
            col = col0 + lane
            if col >= len(want):
                continue
            unit = f"{col}" if name[0] == "b" else f"({row}, {col})"
            layer = int(name[1:])
            if not lanes >> lane & 1:
                raise Mismatch(f"{where} layer {layer} {name[0]} unit {unit} at {time_ns:g} ns: lane {lane} not written")
            got = to_signed(word >> (lane * p.weight_bits), p.weight_bits)
            if got != want[col]:
                raise Mismatch(f"{where} layer {layer} {name[0]} unit {unit} at {time_ns:g} ns: "
                               f"expected {int(want[col])}, got {got}")
        self.word += 1

    def finish(self, time_ns: float, cycles: int) -> None:
        """The run ended after ``cycles``: every step and every weight word must have been seen."""
        if cycles != self.expect.schedule.cycles:
            raise Mismatch(f"batch {self.expect.batch}: the program took {cycles} cycles, the schedule model "
                           f"{self.expect.schedule.cycles}, at {time_ns:g} ns")
        if self.step != self.core_steps:
            raise Mismatch(f"batch {self.expect.batch}: the program ended after {self.step} of "
                           f"{self.core_steps} neuron steps, at {time_ns:g} ns")
        if self.word != len(self.words):
            raise Mismatch(f"batch {self.expect.batch} phase update: the program ended after {self.word} of "
                           f"{len(self.words)} weight words, at {time_ns:g} ns")


class Beats:
    """One run's beats as a testbench samples them: the state writes, one list a neuron step
    (for the trace), each beat also handed to the :class:`BeatChecker` when there is one."""

    def __init__(self, checker: BeatChecker | None):
        self.checker = checker
        self.steps: list[list[StateWrite]] = []
        self._writes: list[StateWrite] = []

    def state_write(self, write: StateWrite, time_ns: float) -> None:
        self._writes.append(write)
        if self.checker:
            self.checker.state_write(write, time_ns)

    def weight_write(self, block: int, addr: int, lanes: int, word: int, cycle: int, time_ns: float) -> None:
        if self.checker:
            self.checker.weight_write(block, addr, lanes, word, cycle, time_ns)

    def step_done(self, cycle: int, time_ns: float) -> None:
        self.steps.append(self._writes)
        self._writes = []
        if self.checker:
            self.checker.step_done(cycle, time_ns)

    def finish(self, time_ns: float, cycles: int) -> list[list[StateWrite]]:
        """The run ended after ``cycles``; returns the steps' writes."""
        if self.checker:
            self.checker.finish(time_ns, cycles)
        return self.steps
