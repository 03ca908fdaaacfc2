"""The RTL backend: EP training on the simulated gateware, through the host port.

:class:`RtlTrainer` has the interface of the fixed-point trainer, so the training loop and
the trace writer drive either; every number it reports comes out of the simulated core
(predictions, weights, the random sign, every step's states from the state-write monitors).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from epfpga.config import Config
from epfpga.contract.address_map import Reg
from epfpga.contract.params import CoreParams
from epfpga.firmware.driver import HostDriver
from epfpga.firmware.host_trainer import HostTrainer, count_mismatches
from epfpga.golden.network import Params
from epfpga.golden.phases import PHASES
from epfpga.hdl import schedule
from epfpga.hdl.core import Core
from epfpga.trace import BatchRecord

from .checker import Expectation
from .simulators import SimulatorError


def transport(core: Core, sim: str, waves: bool = False, netlist: str | None = None):
    """The bus transport to ``core`` in simulator ``sim`` (``epfpga.backends`` checks the name),
    of its RTL or of its ``netlist`` for a device (Icarus and Verilator only)."""
    if sim == "amaranth":
        if netlist is not None:
            raise SimulatorError("a synthesised netlist runs in icarus or verilator, not in amaranth's simulator")
        from .sim import AmaranthTransport
        return AmaranthTransport(core)
    from .cocotb_transport import CocotbTransport
    return CocotbTransport(core, sim, waves=waves, netlist=netlist)


class RtlTrainer(HostTrainer):
    """EP training on the gateware of ``config``.

    Parameters
    ----------
    config : Config
        Must be one the gateware runs (:meth:`CoreParams.from_config` says why not).
    params : dict, optional
        Float initial weights, rounded as the fixed-point trainer rounds them.
    on_batch : callable, optional
        Called after every mini-batch with the trace record (``docs/trace-format.md``).
    sim : str
        ``amaranth``, ``icarus`` or ``verilator``.
    waves : bool
        Icarus and Verilator: record a waveform of the session (its path is in failure messages).
    netlist : str, optional
        Icarus and Verilator: simulate the core's netlist as the board build for this device
        synthesises it (``ecp5``), not its RTL.
    """

    backend = "rtl"

    def __init__(self, config: Config, params: Params | None = None,
                 on_batch: Callable[[BatchRecord], None] | None = None, sim: str = "amaranth",
                 waves: bool = False, netlist: str | None = None):
        hw = CoreParams.from_config(config)
        self.core = Core(hw)   # with the config's training program
        super().__init__(config, HostDriver(hw, transport(self.core, sim, waves, netlist)), params)
        self.on_batch = on_batch

    def train_batch(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """One mini-batch on the core; returns the free-phase predictions."""
        cfg = self.config
        xq = self.spec.quantise_input(x)
        recording = self.on_batch is not None
        expect = self.expectation(x, y)
        self.driver.load_batch(xq.numpy(), y)
        steps = self.driver.run(monitor=recording, expect=expect)
        pred = self.driver.predictions()
        self.cycles.append(self.counters())
        phases = PHASES[cfg.estimator]
        sign = -1 if phases.random_sign and self.driver.register(Reg.NEGATIVE) else 1
        if recording:
            self.params = {k: torch.from_numpy(v) for k, v in self.driver.read_weights().items()}
            self.on_batch(self._record(xq, y, steps, pred, sign))
        return pred

    def expectation(self, x: np.ndarray, y: np.ndarray) -> Expectation | None:
        """The beats the monitors check this mini-batch against (none: not checked)."""
        return None

    def _record(self, xq, y, steps, pred, sign) -> BatchRecord:
        cfg, B = self.config, self.config.batch
        states = self.driver.states(steps)
        phases = PHASES[cfg.estimator]
        per_sample, halves = phases.steps(cfg.t1, cfg.t2), self.hw.halves
        if len(states) != B // halves * per_sample:
            raise RuntimeError(f"the core ran {len(states)} neuron steps, the program needs {B // halves * per_sample}")

        def after(b: int, step: int) -> list[np.ndarray]:   # sample b's states after its step
            return states[b // halves * per_sample + step][b % halves]

        relaxed, first = {}, 0   # each sample's steps, relaxation after relaxation
        for r in phases.relaxations:
            count = r.steps(cfg.t1, cfg.t2)
            relaxed[r.name] = [[torch.from_numpy(np.stack([after(b, first + t)[n] for b in range(B)]))
                                for n in range(self.hw.layers)] for t in range(count)]
            first += count
        return BatchRecord(x=xq, y=torch.from_numpy(np.asarray(y)), free=relaxed["free"], plus=relaxed["plus"],
                           minus=relaxed.get("minus"), pred=torch.from_numpy(pred.astype(np.int64)), sign=sign,
                           params={k: v.clone() for k, v in self.params.items()})


class CheckedRtlTrainer(RtlTrainer):
    """``train --check``: the RTL beside the fixed-point model, from the same weights.  The
    model runs each mini-batch first; the testbench's monitors then check every beat of the
    core's two pipelines against it as it happens and stop at the first wrong one
    (:class:`~epfpga.verification.checker.Mismatch`), and the cycles of the run against the schedule
    model.  After every update the weights and predictions are compared too:
    :attr:`mismatches` counts the values that differ (``metrics.json``: ``mismatches``)."""

    def __init__(self, config: Config, params: Params | None = None, sim: str = "amaranth", waves: bool = False,
                 netlist: str | None = None):
        super().__init__(config, params, sim=sim, waves=waves, netlist=netlist)
        from epfpga.golden.fixed.trainer import FixedTrainer
        self.golden = FixedTrainer(config, params, on_batch=self._golden_batch)
        self.mismatches = 0
        self._records: list[BatchRecord] = []
        self._schedule = schedule.program_cycles(self.hw, self.training_program)

    def restore(self, state) -> None:
        super().restore(state)
        self.golden.restore(state)

    def _golden_batch(self, record: BatchRecord) -> None:
        self._records.append(record)

    def expectation(self, x: np.ndarray, y: np.ndarray) -> Expectation:
        self._want = self.golden.train_batch(x, y)
        return Expectation.from_record(len(self._records) - 1, self._records[-1], self._schedule)

    def train_batch(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        pred = super().train_batch(x, y)
        self.mismatches += count_mismatches(pred, self._want, self.driver.read_weights(), self.golden.params)
        return pred
