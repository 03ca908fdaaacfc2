"""The backends a run can use, by name: one registry for ``train`` and ``trace``.

Every backend builds a trainer with ``train_batch``, ``predict``, ``weights``, ``params``
(the integer or float weights the trace starts from) and an ``on_batch`` hook that receives
one :class:`~epfpga.trace.BatchRecord` per mini-batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .config import Config
from .errors import UserError

SIMULATORS = ("amaranth", "icarus", "verilator")


@dataclass(frozen=True)
class Backend:
    name: str
    simulated: bool        # runs the gateware: takes --sim
    traceable: bool        # records the integer trace
    factory: Callable[..., object]


def _float(config: Config, params, sim):
    from epfpga.golden.trainer import FloatTrainer
    return FloatTrainer(config, params)


def _fixed(config: Config, params, sim):
    from epfpga.golden.fixed.trainer import FixedTrainer
    return FixedTrainer(config, params)


def _rtl(config: Config, params, sim):
    from epfpga.hdl.trainer import RtlTrainer
    return RtlTrainer(config, params, sim=sim)


def _rtl_checked(config: Config, params, sim):
    from epfpga.hdl.trainer import CheckedRtlTrainer
    return CheckedRtlTrainer(config, params, sim=sim)


BACKENDS: dict[str, Backend] = {
    "float": Backend("float", False, False, _float),
    "fixed": Backend("fixed", False, True, _fixed),
    "rtl": Backend("rtl", True, True, _rtl),
}


def make(name: str, config: Config, params=None, sim: str | None = None, check: bool = False):
    """A trainer of backend ``name``; ``sim`` (only for simulated backends) picks the simulator;
    ``check`` runs the fixed-point model beside the RTL and counts mismatches."""
    backend = BACKENDS[name]
    if check and not backend.simulated:
        raise UserError(f"--check compares the RTL with the fixed-point model after every update: "
                        f"it needs --backend rtl (this run uses '{name}')")
    if sim is not None and not backend.simulated:
        raise UserError(f"--sim {sim}: only --backend rtl runs a simulator (this run uses '{name}')")
    if backend.simulated:
        sim = sim or "amaranth"
        if sim not in SIMULATORS:
            raise UserError(f"--sim {sim}: unknown simulator (choose from {', '.join(SIMULATORS)})")
        if sim != "amaranth":   # before anything is elaborated: a missing simulator fails at once
            from epfpga.hdl.simulators import prepare
            prepare(sim)
    return (_rtl_checked if check else backend.factory)(config, params, sim)


@contextmanager
def session(name: str, config: Config, params=None, sim: str | None = None, check: bool = False) -> Iterator:
    """:func:`make`, and on leaving the block close the trainer if it holds a simulator."""
    trainer = make(name, config, params, sim, check)
    try:
        yield trainer
    finally:
        close = getattr(trainer, "close", None)
        if close is not None:
            close()
