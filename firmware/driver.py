"""Host driver of the core: the address map, and training one mini-batch through the host port.

The driver speaks to a *transport* (:class:`Transport`): the Amaranth simulator
(``verification/sim.py``), the cocotb simulators (``verification/cocotb_transport.py``) or a
device's serial link (``firmware/link.py``).  It knows the memory layout
(``docs/architecture.md``): element ``e`` of word ``w`` of a memory is at offset
``w << log2(P) | e`` of the memory's region.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from epfpga.contract.address_map import REGION_SHIFT, Reg, Region, address, layer_region
from epfpga.contract.params import CoreParams
from epfpga.golden.prng import SIGN_STREAM, stream_seed



@dataclass(frozen=True)
class StateWrite:
    """One write into a state memory, as a monitor saw it."""

    layer: int
    addr: int
    lanes: int     # enable mask
    word: int      # the P packed elements


class Transport(Protocol):
    def write(self, pairs: list[tuple[int, int]]) -> None:
        """Bus writes, in order."""

    def read(self, addrs: list[int]) -> list[int]:
        """Bus reads, in order (values as the bus returns them, 32-bit)."""

    def run(self, monitor: bool, expect=None, bank: int = 0) -> list[list[StateWrite]]:
        """Start the program on input ``bank`` and wait for ``done``; with ``monitor``, every state write of every
        neuron step, one list per step.  Given an :class:`~epfpga.verification.checker.Expectation`,
        every beat of both pipelines is checked against it as it happens (a
        :class:`~epfpga.verification.checker.Mismatch` at the first wrong one)."""


class RequestTransport:
    """A :class:`Transport` whose simulator runs elsewhere (a thread, a child process): every
    operation is one request, ``_call(kind, *args)``, answered when the simulator has done it."""

    def _call(self, kind: str, *args):
        raise NotImplementedError

    def write(self, pairs: list[tuple[int, int]]) -> None:
        self._call("write", pairs)

    def read(self, addrs: list[int]) -> list[int]:
        return self._call("read", addrs)

    def run(self, monitor: bool, expect=None, bank: int = 0) -> list[list[StateWrite]]:
        return self._call("run", monitor, expect, bank)


def to_signed(value: int, bits: int = 32) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


class HostDriver:
    """Loads weights and mini-batches, runs programs and reads results over a transport."""

    def __init__(self, params: CoreParams, transport: Transport):
        self.params, self.transport = params, transport

    # -- layout -----------------------------------------------------------------------------
    def weight_addresses(self, layer: int, padded: bool = False) -> np.ndarray:
        """Bus address of every element of ``W_layer``, ``[n_n, n_(n-1)]``; ``padded``: with the
        unused lanes of each row's last word, ``[n_n, G·P]``."""
        p = self.params
        rows, cols = p.sizes[layer], p.weight_groups(layer) * p.lanes if padded else p.sizes[layer - 1]
        i, j = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        word = i * p.weight_groups(layer) + j // p.lanes
        return (layer_region(layer, "W") << REGION_SHIFT) | (word << p.lane_bits) | (j % p.lanes)

    def bias_addresses(self, layer: int) -> np.ndarray:
        p = self.params
        u = np.arange(p.sizes[layer])
        return (layer_region(layer, "b") << REGION_SHIFT) | ((u // p.lanes) << p.lane_bits) | (u % p.lanes)

    # -- operations ---------------------------------------------------------------------------
    def load_program(self, words: list[int]) -> None:
        self.transport.write([(address(Region.PROGRAM, a), w) for a, w in enumerate(words)])

    def load_weights(self, params: dict[str, np.ndarray]) -> None:
        """Every weight and bias; the unused lanes of each row's last weight word go as zeros:
        an SPRAM (the iCEBreaker's weights) holds no initial words, and those lanes meet the
        padding states in every product."""
        pairs: list[tuple[int, int]] = []
        for n in range(1, self.params.layers + 1):
            w, addrs = np.asarray(params[f"W{n}"]), self.weight_addresses(n, padded=True)
            padded = np.zeros(addrs.shape, dtype=np.int64)
            padded[:, :w.shape[1]] = w
            for addrs, values in ((addrs, padded),
                                  (self.bias_addresses(n), params[f"b{n}"])):
                pairs += zip(addrs.ravel().tolist(), (np.asarray(values).ravel() & 0xFFFFFFFF).tolist())
        self.transport.write(pairs)

    def read_weights(self) -> dict[str, np.ndarray]:
        out = {}
        for n in range(1, self.params.layers + 1):
            for name, addrs in ((f"W{n}", self.weight_addresses(n)), (f"b{n}", self.bias_addresses(n))):
                values = self.transport.read(addrs.ravel().tolist())
                out[name] = np.array([to_signed(v) for v in values], dtype=np.int64).reshape(addrs.shape)
        return out

    def input_addresses(self, bank: int = 0, padded: bool = False) -> np.ndarray:
        """Bus address of every input element of ``bank``, ``[B, n_0]``; ``padded``: with the
        unused lanes of each sample's last word, ``[B, G·P]``."""
        p = self.params
        width = p.groups(p.sizes[0]) * p.lanes if padded else p.sizes[0]
        b, j = np.meshgrid(np.arange(p.batch), np.arange(width), indexing="ij")
        word = (bank * p.batch + b) * p.input_stride + j // p.lanes
        return (Region.X << REGION_SHIFT) | (word << p.lane_bits) | (j % p.lanes)

    def load_batch(self, xq: np.ndarray, y: np.ndarray, bank: int = 0) -> None:
        """Inputs and labels of one mini-batch into ``bank`` (the bank a running program does
        not use may be loaded while it runs).  The unused lanes of each sample's last word go
        as zeros: the drive and the ``W_1`` update read whole words, and a padding element
        written earlier (by another host, say) would count."""
        addrs = self.input_addresses(bank, padded=True)
        values = np.zeros(addrs.shape, dtype=np.int64)
        values[:, :self.params.sizes[0]] = np.asarray(xq)
        pairs = list(zip(addrs.ravel().tolist(), values.ravel().tolist()))
        pairs += [(address(Region.Y, bank * self.params.batch + b), int(label)) for b, label in enumerate(y)]
        self.transport.write(pairs)

    def read_inputs(self, bank: int = 0) -> np.ndarray:
        addrs = self.input_addresses(bank)
        return np.array(self.transport.read(addrs.ravel().tolist()), dtype=np.int64).reshape(addrs.shape)

    def run(self, monitor: bool = False, expect=None, bank: int = 0) -> list[list[StateWrite]]:
        return self.transport.run(monitor, expect, bank)

    # -- PRNG streams (checkpoints) ---------------------------------------------------------------
    def prng_addresses(self) -> list[int]:
        """The lane streams' states, then the sign stream's."""
        return [address(Region.PRNG, k) for k in range(self.params.lanes + 1)]

    def read_prng(self) -> np.ndarray:
        return np.array(self.transport.read(self.prng_addresses()), dtype=np.uint64)

    def load_prng(self, states) -> None:
        """Set every stream (``lanes + 1`` non-zero 32-bit states, as :meth:`read_prng` gives)."""
        values = [int(v) for v in states]
        if len(values) != self.params.lanes + 1 or not all(0 < v < 1 << 32 for v in values):
            raise ValueError(f"PRNG states: {self.params.lanes + 1} non-zero 32-bit values expected, got {values}")
        self.transport.write(list(zip(self.prng_addresses(), values)))

    def seed_prng(self, seed: int) -> None:
        """The streams' initial states for ``seed`` (``docs/fixed-point.md`` §7)."""
        self.load_prng([*(stream_seed(seed, l) for l in range(self.params.lanes)), stream_seed(seed, SIGN_STREAM)])

    def predictions(self) -> np.ndarray:
        return np.array(self.transport.read([address(Region.PRED, b) for b in range(self.params.batch)]))

    @staticmethod
    def register_address(reg: Reg) -> int:
        return address(Region.CONTROL, reg)

    def register(self, reg: Reg) -> int:
        return self.transport.read([self.register_address(reg)])[0]

    def states(self, steps: list[list[StateWrite]]) -> list[list[list[np.ndarray]]]:
        """The state of every layer after each monitored step, for each sample of the pair the
        step runs: ``[step][half][layer]`` (every unit is written each step; a write's slot
        says whose it is)."""
        p = self.params
        current = [[np.zeros(n, dtype=np.int64) for n in p.sizes[1:]] for _ in range(p.halves)]
        mask = (1 << p.state_bits) - 1
        out = []
        for writes in steps:
            for w in writes:
                n = w.layer
                half, base = p.state_place(n, w.addr)
                for lane in range(p.lanes):
                    unit = base + lane
                    if w.lanes >> lane & 1 and unit < p.sizes[n]:
                        current[half][n - 1][unit] = w.word >> (lane * p.state_bits) & mask
            out.append([[c.copy() for c in layers] for layers in current])
        return out
