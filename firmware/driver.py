"""Host driver of the core: the address map, and training one mini-batch through the host port.

The driver speaks to a *transport* (:class:`Transport`): the Amaranth simulator today
(``hdl/sim.py``), the cocotb simulators and the UART link later.  It knows the memory
layout (``docs/architecture.md``): element ``e`` of word ``w`` of a memory is at offset
``w << log2(P) | e`` of the memory's region.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from epfpga.hdl.core import REGION_SHIFT, Reg, Region, layer_region
from epfpga.hdl.params import CoreParams


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

    def run(self, monitor: bool, expect=None) -> list[list[StateWrite]]:
        """Start the program and wait for ``done``; with ``monitor``, every state write of every
        neuron step, one list per step.  Given an :class:`~epfpga.hdl.checker.Expectation`,
        every beat of both pipelines is checked against it as it happens (a
        :class:`~epfpga.hdl.checker.Mismatch` at the first wrong one)."""


class RequestTransport:
    """A :class:`Transport` whose simulator runs elsewhere (a thread, a child process): every
    operation is one request, ``_call(kind, *args)``, answered when the simulator has done it."""

    def _call(self, kind: str, *args):
        raise NotImplementedError

    def write(self, pairs: list[tuple[int, int]]) -> None:
        self._call("write", pairs)

    def read(self, addrs: list[int]) -> list[int]:
        return self._call("read", addrs)

    def run(self, monitor: bool, expect=None) -> list[list[StateWrite]]:
        return self._call("run", monitor, expect)


def address(region: int, offset: int) -> int:
    return region << REGION_SHIFT | offset


def to_signed(value: int, bits: int = 32) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


class HostDriver:
    """Loads weights and mini-batches, runs programs and reads results over a transport."""

    def __init__(self, params: CoreParams, transport: Transport):
        self.params, self.transport = params, transport

    # -- layout -----------------------------------------------------------------------------
    def weight_addresses(self, layer: int) -> np.ndarray:
        """Bus address of every element of ``W_layer``, ``[n_n, n_(n-1)]``."""
        p = self.params
        rows, cols = p.sizes[layer], p.sizes[layer - 1]
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
        pairs: list[tuple[int, int]] = []
        for n in range(1, self.params.layers + 1):
            for addrs, values in ((self.weight_addresses(n), params[f"W{n}"]),
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

    def input_addresses(self) -> np.ndarray:
        """Bus address of every input element, ``[B, n_0]``."""
        p = self.params
        b, j = np.meshgrid(np.arange(p.batch), np.arange(p.sizes[0]), indexing="ij")
        word = b * p.input_stride + j // p.lanes
        return (Region.X << REGION_SHIFT) | (word << p.lane_bits) | (j % p.lanes)

    def load_batch(self, xq: np.ndarray, y: np.ndarray) -> None:
        pairs = list(zip(self.input_addresses().ravel().tolist(), np.asarray(xq).ravel().tolist()))
        pairs += [(address(Region.Y, b), int(label)) for b, label in enumerate(y)]
        self.transport.write(pairs)

    def read_inputs(self) -> np.ndarray:
        addrs = self.input_addresses()
        return np.array(self.transport.read(addrs.ravel().tolist()), dtype=np.int64).reshape(addrs.shape)

    def run(self, monitor: bool = False, expect=None) -> list[list[StateWrite]]:
        return self.transport.run(monitor, expect)

    def predictions(self) -> np.ndarray:
        return np.array(self.transport.read([address(Region.PRED, b) for b in range(self.params.batch)]))

    def register(self, reg: Reg) -> int:
        return self.transport.read([address(Region.CONTROL, reg)])[0]

    def states(self, steps: list[list[StateWrite]]) -> list[list[np.ndarray]]:
        """The state of every layer after each monitored step (every unit is written each step)."""
        p = self.params
        current = [np.zeros(n, dtype=np.int64) for n in p.sizes[1:]]
        mask = (1 << p.state_bits) - 1
        out = []
        for writes in steps:
            for w in writes:
                n = w.layer
                base = (w.addr % p.slot_stride(n)) * p.lanes
                for lane in range(p.lanes):
                    unit = base + lane
                    if w.lanes >> lane & 1 and unit < p.sizes[n]:
                        current[n - 1][unit] = w.word >> (lane * p.state_bits) & mask
            out.append([c.copy() for c in current])
        return out
