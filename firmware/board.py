"""The board backend: EP training on a device over its serial link (a board, or the simulated
board in Verilator behind a pty: the same code path).

On connect the driver reads ``INFO`` and refuses a device built from another config, then
loads the training program, the PRNG states of the config's seed and the initial weights.
Training is double-buffered: while the core trains on one input bank the host loads the next
mini-batch into the other (``train_batch``'s ``upcoming``).
"""

from __future__ import annotations

import numpy as np

from epfpga.config import Config
from epfpga.contract.params import CoreParams
from epfpga.contract.protocol import DEFAULT_BAUD, Descriptor, Feature
from epfpga.golden.network import Params

from .driver import HostDriver
from .host_trainer import COUNTERS, HostTrainer, count_mismatches
from .input_code import input_table
from .link import LinkError, LinkTransport, SerialLink

def connect(config: Config, port: str, baud: int, timeout: float) -> tuple[CoreParams, SerialLink, Descriptor]:
    """Open ``port`` and check that the device runs ``config``'s gateware."""
    hw = CoreParams.from_config(config)
    link = SerialLink(port, baud, timeout)
    try:
        info = link.info()
        if info.digest != hw.digest:
            raise LinkError(f"{port}: the device was built from config digest {info.digest.hex()}, "
                            f"this run's config '{config.name}' has {hw.digest.hex()}")
    except BaseException:
        link.close()
        raise
    return hw, link, info


def stop(board) -> None:
    """Stop the simulated board, if the run started one (``None``: a real board); a timing
    violation its SDRAM's chip model found fails the run (it stopped the board, so it is also
    why the link broke)."""
    if board is not None:
        error = board.close().get("sdram_error")
        if error:
            raise LinkError(f"the simulated board's SDRAM: {error}")


class BoardTrainer(HostTrainer):
    """EP training on a device.

    Parameters
    ----------
    config : Config
    params : dict, optional
        Float initial weights.
    port : str
        The device's serial port (a simulated board's pty).
    baud : int
        Of the port.
    timeout : float
        Seconds to wait for each reply.
    board : optional
        What serves ``port``, to close with the trainer (a
        :class:`~epfpga.verification.board_sim.SimulatedBoard`; see
        :func:`~epfpga.verification.board_sim.open_port`).
    input_levels : int, optional
        The data set's pixels are bytes over this (:attr:`~epfpga.data.Dataset.levels`): they
        cross the link as bytes (:func:`~.input_code.input_table`), where the device takes
        them (the descriptor's ``features``).
    """

    backend = "board"
    double_buffered = True   # train_batch takes the upcoming mini-batch

    def __init__(self, config: Config, params: Params | None = None, port: str = "", baud: int = DEFAULT_BAUD,
                 timeout: float = 2.0, board=None, input_levels: int | None = None):
        self.board = board
        try:
            hw, self.link, info = connect(config, port, baud, timeout)
            self.link_clock_hz, self.features = info.clock_hz, info.features
            coded = Feature.CODED_INPUTS in info.features   # (a build may leave them out)
            table = input_table(hw.spec, input_levels) if coded else None
            super().__init__(config, HostDriver(hw, LinkTransport(hw, self.link, table)), params)
            self.driver.load_program(self.training_program)
            self.driver.seed_prng(config.seed)
        except BaseException:
            self._stop_board()
            raise
        self._bank = 0
        self._loaded = False   # the next mini-batch is in self._bank already
        self.train_bytes = [0, 0]   # sent, received by train_batch
        self.train_turnarounds = 0
        self.train_samples = 0

    def train_batch(self, x: np.ndarray, y: np.ndarray, upcoming: tuple[np.ndarray, np.ndarray] | None = None):
        """One mini-batch; ``upcoming``, the next one, is loaded while the core trains."""
        quantise = self.spec.quantise_input
        counters = self.link.counters
        before = (counters.bytes_sent, counters.bytes_received, counters.turnarounds)
        if not self._loaded:
            self.driver.load_batch(quantise(x).numpy(), y, bank=self._bank)
        self.link.start(self._bank)
        self._loaded = upcoming is not None
        if upcoming is not None:
            self.driver.load_batch(quantise(upcoming[0]).numpy(), upcoming[1], bank=1 - self._bank)
        registers = self.link.wait()
        pred = self.driver.predictions()
        self.cycles.append({r.name.lower(): registers[r.name.lower()] for r in COUNTERS})
        if upcoming is not None:
            self._bank = 1 - self._bank
        self.train_bytes[0] += counters.bytes_sent - before[0]
        self.train_bytes[1] += counters.bytes_received - before[1]
        self.train_turnarounds += counters.turnarounds - before[2]
        self.train_samples += len(x)
        return pred

    def link_report(self) -> dict:
        """What crossed the link so far, and the device's time: cycles the core trained and
        cycles it waited for the host (``WAIT_CYCLES``: with double buffering, the link's share),
        over its clock (``device_seconds``), and the training samples a second of it."""
        c = self.link.counters
        samples = max(1, len(self.cycles) * self.config.batch)
        train = sum(r["cycles"] for r in self.cycles)
        wait = sum(r["wait_cycles"] for r in self.cycles[1:])   # (the first waits for the set-up)
        seconds = (train + wait) / self.link_clock_hz
        return {"inputs": "bytes" if self.driver.transport.coder else "wide",
                "bytes_sent": c.bytes_sent, "bytes_received": c.bytes_received, "requests": c.requests,
                "retries": c.retries, "baud": self.link.serial.baudrate,
                "train_bytes_sent_per_sample": self.train_bytes[0] / samples,
                "train_bytes_received_per_sample": self.train_bytes[1] / samples,
                "turnarounds": c.turnarounds,
                "train_turnarounds_per_batch": self.train_turnarounds / max(1, len(self.cycles)),
                "train_cycles": train, "wait_cycles": wait, "batches": len(self.cycles),
                "clock_hz": self.link_clock_hz, "samples": self.train_samples, "device_seconds": seconds,
                "samples_per_s": self.train_samples / seconds if seconds else 0.0}

    def _stop_board(self) -> None:
        stop(self.board)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._stop_board()


class CheckedBoardTrainer(BoardTrainer):
    """``train --backend board --check``: the fixed-point model beside the device, from the
    same weights; after every mini-batch the predictions, weights and PRNG states are
    compared and :attr:`mismatches` counts the values that differ."""

    def __init__(self, config: Config, params: Params | None = None, **link):
        super().__init__(config, params, **link)
        from epfpga.golden.fixed.trainer import FixedTrainer
        self.golden = FixedTrainer(config, params)
        self.mismatches = 0

    def restore(self, state: dict[str, np.ndarray]) -> None:
        super().restore(state)
        self.golden.restore(state)

    def train_batch(self, x, y, upcoming=None):
        pred = super().train_batch(x, y, upcoming)
        want = self.golden.train_batch(x, y)
        self.mismatches += count_mismatches(pred, want, self.driver.read_weights(), self.golden.params)
        self.mismatches += int(np.sum(self.driver.read_prng() != self.golden.state()["prng"]))
        return pred
