"""The backends a run can use, by name: one registry for ``train`` and ``trace``.

Every backend builds a trainer with ``train_batch``, ``predict``, ``weights``, ``params``
(the integer or float weights the trace starts from) and an ``on_batch`` hook that receives
one :class:`~epfpga.trace.BatchRecord` per mini-batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .config import SDRAM_BOARDS, Config
from .errors import UserError

SIMULATORS = ("amaranth", "icarus", "verilator")


@dataclass(frozen=True)
class Backend:
    name: str
    simulated: bool        # runs the gateware: takes --sim
    traceable: bool        # records the integer trace
    factory: Callable[..., object]


def _float(config: Config, params, sim, device):
    import torch

    from epfpga.golden.trainer import FloatTrainer
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: PyTorch sees no CUDA device here (use --device cpu)")
    return FloatTrainer(config, params, device=device)


def _fixed(config: Config, params, sim, device):
    from epfpga.golden.fixed.trainer import FixedTrainer
    return FixedTrainer(config, params)


def _rtl(config: Config, params, sim, device):
    from epfpga.verification.trainer import RtlTrainer
    return RtlTrainer(config, params, sim=sim)


def _rtl_checked(config: Config, params, sim, device):
    from epfpga.verification.trainer import CheckedRtlTrainer
    return CheckedRtlTrainer(config, params, sim=sim)


def _board(config: Config, params, sim, device, check=False, port=None, baud=None, usb_latency_ms=None,
           resident=None, check_every=None, **link):
    from epfpga.firmware.board import BoardTrainer, CheckedBoardTrainer
    from epfpga.verification.board_sim import open_port
    board, port, baud = open_port(config, port, baud, sim, usb_latency_ms)
    if resident is not None:
        from tqdm import tqdm

        from epfpga.firmware.resident_trainer import ResidentTrainer
        x, y = resident
        with tqdm(desc="upload", unit="word", unit_scale=True, leave=False) as bar:
            return ResidentTrainer(config, params, train_x=x, train_y=y, check_every=check_every if check else None,
                                   progress=bar.update, port=port, baud=baud, board=board, **link)
    return (CheckedBoardTrainer if check else BoardTrainer)(config, params, port=port, baud=baud, board=board, **link)


def check_resident(config: Config, name: str, check: bool, check_every: int | None, resident: bool) -> None:
    """``--resident`` and ``--check-every``: refused, naming why, where they cannot apply."""
    if resident and name != "board":
        raise UserError(f"--resident trains from a board's SDRAM: it needs --backend board (this run uses '{name}')")
    if resident and not config.hardware.sdram:
        why = (f"the {config.hardware.board} has no SDRAM: train it streamed, without --resident"
               if config.hardware.board not in SDRAM_BOARDS else
               "its build has no SDRAM (set [hardware] sdram = true)")
        raise UserError(f"--resident: config '{config.name}': {why}")
    if check_every is not None and not (resident and check):
        raise UserError(f"--check-every {check_every}: it sets how often --check compares a --resident run "
                        f"(streamed, --check compares every mini-batch)")


BACKENDS: dict[str, Backend] = {
    "float": Backend("float", False, False, _float),
    "fixed": Backend("fixed", False, True, _fixed),
    "rtl": Backend("rtl", True, True, _rtl),
    "board": Backend("board", False, False, _board),
}


def make(name: str, config: Config, params=None, sim: str | None = None, check: bool = False,
         device: str | None = None, port: str | None = None, baud: int | None = None,
         timeout: float | None = None, usb_latency_ms: float | None = None, input_levels: int | None = None,
         resident: tuple | None = None, check_every: int | None = None):
    """A trainer of backend ``name``; ``sim`` (only for simulated backends) picks the simulator;
    ``check`` runs the fixed-point model beside the RTL and counts mismatches; ``device``
    (``cpu`` or ``cuda``, only for the float backend; default ``cuda`` when present);
    ``port`` and ``baud``: the board's serial port (``--backend board``; ``sim =
    "verilator"`` trains the simulated board instead, behind a USB bridge of
    ``usb_latency_ms``); ``input_levels``: the data set's
    :attr:`~epfpga.data.Dataset.levels`, with which a board takes its inputs as bytes;
    ``resident``: the training set ``(x, y)``, which the board trains from its SDRAM
    (``--resident``), compared every ``check_every`` mini-batches under ``check``."""
    check_resident(config, name, check, check_every, resident is not None)
    backend = BACKENDS[name]
    if device is not None and name != "float":
        raise UserError(f"--device {device}: only --backend float runs on a device (this run uses '{name}')")
    for option, value in (("port", port), ("baud", baud), ("timeout", timeout), ("usb-latency-ms", usb_latency_ms)):
        if name != "board" and value is not None:
            raise UserError(f"--{option} {value}: only --backend board has a serial port (this run uses '{name}')")
    if name == "board":   # verification.board_sim.open_port checks --port and --sim
        link = {"port": port, "usb_latency_ms": usb_latency_ms, "input_levels": input_levels, "resident": resident,
                "check_every": check_every} | {k: v for k, v in (("baud", baud), ("timeout", timeout)) if v is not None}
        return _board(config, params, sim, device, check=check, **link)
    if check and not backend.simulated:
        raise UserError(f"--check compares the gateware with the fixed-point model after every update: "
                        f"it needs --backend rtl or board (this run uses '{name}')")
    if sim is not None and not backend.simulated:
        raise UserError(f"--sim {sim}: only --backend rtl runs a simulator (this run uses '{name}')")
    if backend.simulated:
        sim = sim or "amaranth"
        if sim not in SIMULATORS:
            raise UserError(f"--sim {sim}: unknown simulator (choose from {', '.join(SIMULATORS)})")
        if sim != "amaranth":   # before anything is elaborated: a missing simulator fails at once
            from epfpga.verification.simulators import prepare
            prepare(sim)
    return (_rtl_checked if check else backend.factory)(config, params, sim, device)


@contextmanager
def session(name: str, config: Config, params=None, sim: str | None = None, check: bool = False,
            device: str | None = None, port: str | None = None, baud: int | None = None,
            timeout: float | None = None, usb_latency_ms: float | None = None,
            input_levels: int | None = None, resident: tuple | None = None,
            check_every: int | None = None) -> Iterator:
    """:func:`make`, and on leaving the block close the trainer if it holds a simulator or a port."""
    trainer = make(name, config, params, sim, check, device, port, baud, timeout, usb_latency_ms, input_levels,
                   resident, check_every)
    try:
        yield trainer
    finally:
        close = getattr(trainer, "close", None)
        if close is not None:
            close()
