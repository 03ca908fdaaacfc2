"""Resident epochs on a board (``train --backend board --resident``): the training set in the
board's SDRAM, the device running each epoch's mini-batches by itself (``docs/protocol.md`` §11).

The set goes up once, checked by the device's CRC (:func:`~.sdram_upload.upload`, which skips
what the SDRAM holds already).  Each epoch the host uploads the permutation the other backends
use, starts the runner, and waits on ``WAIT`` (answered when the runner stops, or after
:data:`POLL_CYCLES`, when the host reads ``DONE`` and ``ERRORS`` for the progress bar).  The runner stops where the host asks: every ``check_every`` mini-batches, when
the weights are read back and compared with the fixed-point model's, and where a checkpoint is
due.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from epfpga.config import Config
from epfpga.contract.address_map import Region, address
from epfpga.contract.protocol import Command, Feature, Status, wait_payload
from epfpga.contract.resident import ResidentReg, ResidentState
from epfpga.golden.network import Params

from .board import BoardTrainer
from .host_trainer import weight_mismatches
from .link import LinkError
from .resident import dataset_image, permutation_words
from .sdram_upload import CHUNK_WORDS, upload

REGISTERS = [address(Region.RESIDENT, r) for r in ResidentReg]
# Cycles a WAIT waits before it answers BUSY and the host reads the progress: 5 ms at 48 MHz,
# and well inside the link's timeout on the simulated board, whose cycles take longer.
POLL_CYCLES = 1 << 18


class ResidentTrainer(BoardTrainer):
    """EP training from the board's SDRAM.

    Parameters
    ----------
    config, params, link
        As :class:`~.board.BoardTrainer`'s.
    train_x, train_y : np.ndarray
        The training set (floats, one row a sample; labels), uploaded once.
    check_every : int, optional
        Compare the device with the fixed-point model every this many mini-batches and at each
        epoch's end (``--check``): weights, PRNG states and training errors; :attr:`mismatches`
        counts the values that differ.
    progress : callable, optional
        Called with the words of each chunk of the upload done.
    """

    resident = True

    def __init__(self, config: Config, params: Params | None = None, *, train_x: np.ndarray, train_y: np.ndarray,
                 check_every: int | None = None, progress: Callable[[int], None] | None = None, **link):
        super().__init__(config, params, **link)
        try:
            if Feature.SDRAM not in self.features:
                raise LinkError(f"{self.link.port}: the device has no SDRAM, so no resident epochs (build it from a "
                                f"config with [hardware] sdram = true, on the ULX3S)")
            if self.driver.transport.coder is None:
                raise LinkError("the data set's inputs are not bytes: it cannot live in the SDRAM (train it streamed)")
            self.image = dataset_image(self.spec, link.get("input_levels"), train_x, train_y)
            self.upload = upload(self.driver.transport, self.image, progress=progress)
        except BaseException:
            self.close()
            raise
        self.perm_at = -(-len(self.image) // CHUNK_WORDS) * CHUNK_WORDS   # (the set's chunks stay whole)
        self.train_x, self.train_y = train_x, train_y
        self.check_every = check_every
        if check_every is not None:
            from epfpga.golden.fixed.trainer import FixedTrainer
            self.golden = FixedTrainer(config, params)
            self.mismatches = 0
        self.resident_cycles = [0, 0]   # trained, waited

    def restore(self, state: dict[str, np.ndarray]) -> None:
        super().restore(state)
        if self.check_every is not None:
            self.golden.restore(state)

    def _registers(self) -> dict[ResidentReg, int]:
        return dict(zip(ResidentReg, self.driver.transport.read(REGISTERS)))

    def train_epoch(self, batches: list[np.ndarray], bar=None, pause_every: int | None = None,
                    on_pause: Callable[[int, int], None] | None = None) -> int:
        """Train ``batches`` (each the sample numbers of a mini-batch) on the device; return the
        training errors.  ``bar`` (a progress bar) is moved as mini-batches finish; the device
        pauses every ``pause_every`` mini-batches for ``on_pause`` (called with the mini-batches
        done and their training errors)."""
        transport, n = self.driver.transport, len(batches)
        if n == 0:
            return 0
        upload(transport, permutation_words(np.concatenate(batches)), self.perm_at)
        transport.write([(address(Region.RESIDENT, ResidentReg.PERM), self.perm_at),
                         (address(Region.RESIDENT, ResidentReg.BATCHES), n)])
        stops = sorted({n, *range(self.check_every or n, n, self.check_every or n),
                        *range(pause_every or n, n, pause_every or n)})
        done, errors, previous = 0, 0, 0
        for stop in stops:
            transport.write([(address(Region.RESIDENT, ResidentReg.UNTIL), stop)])
            while True:
                running = self.link.request(Command.WAIT, wait_payload(POLL_CYCLES),
                                            accept=(Status.OK, Status.BUSY)).status == Status.BUSY
                regs = self._registers()
                if bar is not None:
                    bar.update(regs[ResidentReg.DONE] - done)
                    bar.set_postfix(train_error=f"{regs[ResidentReg.ERRORS] / max(1, regs[ResidentReg.DONE] * self.config.batch):.3f}",
                                    refresh=False)
                done = regs[ResidentReg.DONE]
                if not running and not regs[ResidentReg.STATE] & ResidentState.RUNNING:
                    break
            if regs[ResidentReg.STATE] & ResidentState.FAULT:
                raise LinkError(f"sample {regs[ResidentReg.FAULT]}'s record in the SDRAM is damaged (it does not "
                                f"expand to {self.hw.sizes[0]} inputs and a class): upload the training set again")
            if done != stop:
                raise LinkError(f"the device stopped after {done} mini-batches of {stop}")
            if self.check_every is not None:
                self._check(batches[previous:stop], regs[ResidentReg.ERRORS] - errors)
            errors, previous = regs[ResidentReg.ERRORS], stop
            if on_pause is not None and pause_every and stop % pause_every == 0 and stop < n:
                on_pause(stop, errors)
        self.resident_cycles[0] += regs[ResidentReg.TRAIN_CYCLES]
        self.resident_cycles[1] += regs[ResidentReg.WAIT_CYCLES]
        self.train_samples += n * self.config.batch
        return errors

    def _check(self, batches: list[np.ndarray], errors: int) -> None:
        """The fixed-point model trains ``batches``: its weights, PRNG states and training
        errors must be the device's."""
        wrong = sum(int(np.sum(self.golden.train_batch(self.train_x[idx], self.train_y[idx]) != self.train_y[idx]))
                    for idx in batches)
        self.mismatches += abs(wrong - errors)
        self.mismatches += weight_mismatches(self.driver.read_weights(), self.golden.params)
        self.mismatches += int(np.sum(self.driver.read_prng() != self.golden.state()["prng"]))

    def link_report(self) -> dict:
        """As :meth:`BoardTrainer.link_report`, the device's time the runner's: the cycles the
        core trained and the cycles it waited for the feeder, over the clock."""
        c = self.link.counters
        train, wait = self.resident_cycles
        seconds = (train + wait) / self.link_clock_hz
        return {"inputs": "resident", "bytes_sent": c.bytes_sent, "bytes_received": c.bytes_received,
                "requests": c.requests, "retries": c.retries, "baud": self.link.serial.baudrate,
                "turnarounds": c.turnarounds, "upload_bytes": 2 * len(self.image),
                "upload_chunks_sent": self.upload.sent, "train_cycles": train, "wait_cycles": wait,
                "wait_fraction": wait / max(1, train + wait), "clock_hz": self.link_clock_hz,
                "samples": self.train_samples, "device_seconds": seconds,
                "samples_per_s": self.train_samples / seconds if seconds else 0.0}
