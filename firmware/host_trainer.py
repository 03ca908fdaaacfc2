"""EP training through the host driver: what every backend that runs the gateware shares
(the RTL in a simulator, a board, a simulated board).

The gateware does the training; the host loads weights and mini-batches, starts programs and
reads results.  Every number a :class:`HostTrainer` reports comes out of the device.
"""

from __future__ import annotations

import numpy as np
import torch

from epfpga.config import Config
from epfpga.contract import programs
from epfpga.contract.address_map import Reg
from epfpga.golden.fixed.trainer import initial_weights
from epfpga.golden.network import Params

from .driver import HostDriver

COUNTERS = (Reg.CYCLES, Reg.DRIVE_CYCLES, Reg.RELAX_CYCLES, Reg.UPDATE_CYCLES, Reg.STEPS, Reg.WAIT_CYCLES)


class HostTrainer:
    """The parts of a trainer that only talk to the device through ``driver``.

    Parameters
    ----------
    config : Config
    driver : HostDriver
    params : dict, optional
        Float initial weights, rounded as the fixed-point trainer rounds them.
    """

    def __init__(self, config: Config, driver: HostDriver, params: Params | None = None):
        self.config, self.driver = config, driver
        self.hw = driver.params
        self.spec = self.hw.spec
        self.params = initial_weights(self.spec, params)
        self.training_program = programs.training(config.estimator, config.t1, config.t2)
        self.driver.load_weights({k: v.numpy() for k, v in self.params.items()})
        self.cycles: list[dict[str, int]] = []

    def counters(self) -> dict[str, int]:
        """The core's cycle counters of the last run."""
        return {r.name.lower(): v for r, v in zip(COUNTERS, self.driver.transport.read(
            [self.driver.register_address(r) for r in COUNTERS]))}

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Free-phase predictions, ``batch`` samples a program run (the last run padded)."""
        B = self.config.batch
        self.driver.load_program(programs.inference(self.config.t1))
        out = []
        for i in range(0, len(x), B):
            chunk = x[i:i + B]
            padded = np.concatenate([chunk, np.repeat(chunk[-1:], B - len(chunk), axis=0)])
            self.driver.load_batch(self.spec.quantise_input(padded).numpy(), np.zeros(B, dtype=np.int64))
            self.driver.run(monitor=False)
            out.append(self.driver.predictions()[:len(chunk)])
        self.driver.load_program(self.training_program)
        return np.concatenate(out)

    def weights(self) -> dict[str, np.ndarray]:
        self.params = {k: torch.from_numpy(v) for k, v in self.driver.read_weights().items()}
        return {k: self.spec.dequantise_weight(v).numpy() for k, v in self.params.items()}

    def state(self) -> dict[str, np.ndarray]:
        """Everything a checkpoint needs, read from the device: the integer weights and the PRNG
        states (lanes, then the sign stream), as :meth:`FixedTrainer.state` has them."""
        return {**self.driver.read_weights(), "prng": self.driver.read_prng()}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Continue from :meth:`state`: weights and PRNG states into the device."""
        weights = {k: np.asarray(state[k], dtype=np.int64) for k in self.params}
        self.driver.load_weights(weights)
        self.driver.load_prng(state["prng"])
        self.params = {k: torch.from_numpy(v) for k, v in weights.items()}

    def close(self) -> None:
        """Stop the simulator or close the port."""
        self.driver.transport.close()


def weight_mismatches(got: dict[str, np.ndarray], golden: dict) -> int:
    """Weights of the device that differ from the fixed-point model's."""
    return sum(int(np.sum(got[name] != value.numpy())) for name, value in golden.items())


def count_mismatches(pred: np.ndarray, want: np.ndarray, got: dict[str, np.ndarray], golden: dict) -> int:
    """Values of the device that differ from the fixed-point model: predictions and weights."""
    return int(np.sum(pred != want)) + weight_mismatches(got, golden)
