"""The one configuration object of a trainer: network, algorithm, fixed-point formats, hardware.

A :class:`Config` is frozen and validated on construction, so every object that holds one
may trust it.  Presets (:data:`PRESETS`) and TOML files are interchangeable: :func:`load`
takes either, :func:`dumps` writes TOML that :func:`load` reads back to an equal object.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError, UserError

ACTIVATIONS = ("hard_sigmoid", "my_hard_sig", "my_sigmoid", "sigmoid", "ctrd_hard_sig", "tanh")
ESTIMATORS = ("one-sided", "random-sign", "symmetric")
LOSSES = ("mse", "ce")
NUDGES = ("inside", "outside")
ALGORITHMS = ("ep", "cep", "bptt")
FEEDBACKS = ("tied", "separate")
SCHEDULES = ("constant", "cosine")
DTYPES = ("float32", "float64")
ROUNDINGS = ("nearest", "stochastic")
BOARDS = ("icebreaker", "ulx3s-85f")
SDRAM_BOARDS = ("ulx3s-85f",)   # the boards with an SDRAM the build can use (hardware.sdram)

MAX_LAYER = 1 << 16
MAX_STEPS = 100_000


def _int(key: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, value, "must be an integer")
    if not lo <= value <= hi:
        raise ConfigError(key, value, f"must be in [{lo}, {hi}]")


def _float(key: str, value: Any, lo: float, hi: float, *, lo_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(key, value, "must be a finite number")
    if value < lo or (lo_open and value == lo) or value > hi:
        bracket = "(" if lo_open else "["
        raise ConfigError(key, value, f"must be in {bracket}{lo}, {hi}]")


def _shown(value: Any) -> Any:
    """A value as the TOML user wrote it (lists arrive here as tuples)."""
    return list(value) if isinstance(value, tuple) else value


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(key, value, f"must be one of {', '.join(choices)}")


@dataclass(frozen=True)
class FixedFormat:
    """Fixed-point formats of the on-chip trainer (see ``docs/fixed-point.md``).

    Neuron states are unsigned with ``state_frac`` fractional bits (1.0 representable);
    weights and biases are signed ``weight_bits`` wide with ``weight_frac`` fractional bits;
    inputs are quantised to ``input_frac`` fractional bits (at most ``state_frac``); learning
    rates to ``lr_frac`` fractional bits.  ``acc_bits`` and ``grad_bits`` are the widths of the
    neuron-update and weight-update accumulators: the fixed-point backend proves from the layer
    sizes that they cannot overflow, or rejects the config.
    """

    state_frac: int = 8
    weight_bits: int = 16
    weight_frac: int = 12
    input_frac: int = 8
    lr_frac: int = 16
    acc_bits: int = 48
    grad_bits: int = 48
    rounding: str = "stochastic"

    def __post_init__(self) -> None:
        _int("fixed.state_frac", self.state_frac, 1, 16)
        _int("fixed.weight_bits", self.weight_bits, 2, 32)
        _int("fixed.weight_frac", self.weight_frac, 0, self.weight_bits - 1)
        _int("fixed.input_frac", self.input_frac, 1, self.state_frac)
        _int("fixed.lr_frac", self.lr_frac, 0, 24)
        # 53: the golden model multiplies integer matrices exactly in float64.
        _int("fixed.acc_bits", self.acc_bits, 8, 53)
        _int("fixed.grad_bits", self.grad_bits, 8, 53)
        _choice("fixed.rounding", self.rounding, ROUNDINGS)


@dataclass(frozen=True)
class Hardware:
    """Target board and clock of the on-chip trainer.  ``coded_inputs``: the link takes
    inputs as the data set's bytes (``INPUTS`` and its table, ``docs/protocol.md`` §3), about
    260 logic cells on the iCE40; without, every input goes as a 2-byte element.  ``sdram``:
    the build has the board's SDRAM controller and the SDRAM on the host bus (the ULX3S's
    32 MB; ``docs/architecture.md``), and the epoch runner that trains from it (it expands
    the data set's bytes through the input table, so it needs ``coded_inputs``).
    ``max_payload``: the largest payload a frame of the link carries, a power of two from 128
    to 1024; the device's receive queue and frame buffer are sized by it (256: 6 of the
    iCE40UP5K's 30 block RAMs fewer than 1024), and the host learns it from the descriptor.
    ``label_block_ram``: on a board without LUT RAM (the iCEBreaker), one sample at a time, the
    labels take a block RAM of their own (``digits-icebreaker``: about 40 logic cells fewer than
    in flip-flops); ``false`` keeps them in logic cells where the block RAMs are short (a
    784-input net)."""

    board: str = "ulx3s-85f"
    clock_mhz: float = 25.0
    coded_inputs: bool = True
    sdram: bool = False
    max_payload: int = 1024
    pairs: bool = True
    label_block_ram: bool = True

    def __post_init__(self) -> None:
        _choice("hardware.board", self.board, BOARDS)
        _float("hardware.clock_mhz", self.clock_mhz, 0.0, 1000.0, lo_open=True)
        if not isinstance(self.coded_inputs, bool):
            raise ConfigError("hardware.coded_inputs", self.coded_inputs, "must be true or false")
        if not isinstance(self.sdram, bool):
            raise ConfigError("hardware.sdram", self.sdram, "must be true or false")
        _int("hardware.max_payload", self.max_payload, 128, 1024)
        if not isinstance(self.pairs, bool):
            raise ConfigError("hardware.pairs", self.pairs, "must be true or false")
        if not isinstance(self.label_block_ram, bool):
            raise ConfigError("hardware.label_block_ram", self.label_block_ram, "must be true or false")
        if self.max_payload & (self.max_payload - 1):
            raise ConfigError("hardware.max_payload", self.max_payload, "must be a power of two (128, 256, 512 or 1024)")
        if self.sdram and self.board not in SDRAM_BOARDS:
            raise ConfigError("hardware.sdram", self.sdram,
                              f"the {self.board} has no SDRAM (boards with one: {', '.join(SDRAM_BOARDS)})")
        if self.sdram and not self.coded_inputs:
            raise ConfigError("hardware.sdram", self.sdram, "the data set in the SDRAM is bytes, expanded through the "
                              "input table: it needs hardware.coded_inputs = true")


@dataclass(frozen=True)
class Config:
    """A trainer: network, EP algorithm, optimiser, fixed-point formats and hardware.

    ``sizes`` lists the layer widths, input first.  With ``loss = "mse"`` every entry after
    the input is a neuron layer; with ``loss = "ce"`` the last entry is the width of the
    softmax readout, which sits outside the dynamics (``docs/algorithms.md`` §3).
    ``lrs`` holds one learning rate per weight layer, input side first (the readout last).
    ``lr_schedule = "cosine"`` anneals every rate after each epoch as PyTorch's
    ``CosineAnnealingLR(T_max = schedule_epochs, eta_min = lr_min)`` (the 2021 CIFAR-10 runs).
    ``algorithm = "cep"`` updates the weights at every nudged step (C-EP); ``feedback =
    "separate"`` gives every layer its own feedback weights ``B_n`` (VF; C-VF with ``cep``),
    which learn with ``W_n``'s learning rate.

    A convolutional network (P-CNN, ``docs/algorithms.md``) lists one entry per conv layer in
    ``channels`` (output channels), ``kernels`` (square kernel size) and ``paddings``; each conv
    layer is a stride-1 convolution followed by a 2×2 max-pool of stride 2.  The input is then
    an image of ``input_shape = [C, H, W]`` (``sizes[0]`` is its flattened size) and the entries
    of ``sizes`` after the input are the fully connected layers above the conv stack.  The conv
    layers' weights come first in ``lrs``.
    """

    name: str = "custom"
    sizes: tuple[int, ...] = (64, 128, 10)
    activation: str = "hard_sigmoid"
    estimator: str = "symmetric"
    loss: str = "mse"
    nudge: str = "inside"
    algorithm: str = "ep"
    feedback: str = "tied"
    beta: float = 0.5
    t1: int = 20
    t2: int = 8
    batch: int = 16
    lanes: int = 8
    seed: int = 0
    epochs: int = 1
    lrs: tuple[float, ...] = (0.1, 0.05)
    channels: tuple[int, ...] = ()
    kernels: tuple[int, ...] = ()
    paddings: tuple[int, ...] = ()
    input_shape: tuple[int, ...] = ()
    momentum: float = 0.0
    weight_decay: float = 0.0
    lr_schedule: str = "constant"
    lr_min: float = 1e-5
    schedule_epochs: int = 100
    dtype: str = "float32"
    fixed: FixedFormat = field(default_factory=FixedFormat)
    hardware: Hardware = field(default_factory=Hardware)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError("name", self.name, "must be a non-empty string")
        if not isinstance(self.sizes, tuple) or len(self.sizes) < 2:
            raise ConfigError("sizes", _shown(self.sizes), "must list at least 2 layer widths, input first")
        for i, n in enumerate(self.sizes):
            _int(f"sizes[{i}]", n, 1, MAX_LAYER)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("estimator", self.estimator, ESTIMATORS)
        _choice("loss", self.loss, LOSSES)
        if self.loss == "ce" and len(self.sizes) < 3 and not self.channels:
            raise ConfigError("sizes", _shown(self.sizes),
                              "with loss 'ce' needs input, at least one neuron layer and the readout "
                              "(or conv layers in channels)")
        _choice("nudge", self.nudge, NUDGES)
        _choice("algorithm", self.algorithm, ALGORITHMS)
        if self.algorithm == "cep" and self.loss != "mse":
            raise ConfigError("loss", self.loss, "C-EP (algorithm 'cep') is defined with the MSE loss")
        _choice("feedback", self.feedback, FEEDBACKS)
        if self.feedback == "separate" and self.algorithm == "bptt":
            raise ConfigError("feedback", self.feedback, "BPTT needs tied feedback (the gradient of one loss)")
        _float("beta", self.beta, 0.0, 100.0, lo_open=True)
        _int("t1", self.t1, 1, MAX_STEPS)
        _int("t2", self.t2, 1, MAX_STEPS)
        if self.algorithm == "bptt" and self.t2 > self.t1:
            raise ConfigError("t2", self.t2, f"must be <= t1 = {self.t1} with algorithm 'bptt'")
        _int("batch", self.batch, 1, 1 << 16)
        _int("lanes", self.lanes, 1, 1024)
        _int("seed", self.seed, 0, (1 << 32) - 1)
        _int("epochs", self.epochs, 1, 10_000)
        self._check_conv()
        if self.feedback == "separate" and self.channels:
            raise ConfigError("feedback", self.feedback, "separate feedback weights (VF) are implemented "
                              "for fully connected layers only: leave channels empty")
        weight_layers = len(self.channels) + len(self.sizes) - 1
        if not isinstance(self.lrs, tuple) or len(self.lrs) != weight_layers:
            raise ConfigError("lrs", _shown(self.lrs),
                              f"must list {weight_layers} learning rates, one per weight layer")
        for i, lr in enumerate(self.lrs):
            _float(f"lrs[{i}]", lr, 0.0, 100.0)
        _float("momentum", self.momentum, 0.0, 0.999)
        _float("weight_decay", self.weight_decay, 0.0, 1.0)
        _choice("lr_schedule", self.lr_schedule, SCHEDULES)
        _float("lr_min", self.lr_min, 0.0, 100.0)
        _int("schedule_epochs", self.schedule_epochs, 1, 10_000)
        _choice("dtype", self.dtype, DTYPES)
        if not isinstance(self.fixed, FixedFormat):
            raise ConfigError("fixed", self.fixed, "must be a table")
        if not isinstance(self.hardware, Hardware):
            raise ConfigError("hardware", self.hardware, "must be a table")

    def _check_conv(self) -> None:
        for key in ("channels", "kernels", "paddings", "input_shape"):
            if not isinstance(getattr(self, key), tuple):
                raise ConfigError(key, getattr(self, key), "must be a list of integers")
        n = len(self.channels)
        for key in ("kernels", "paddings"):
            if len(getattr(self, key)) != n:
                raise ConfigError(key, _shown(getattr(self, key)),
                                  f"must list one entry per conv layer ({n}, as channels)")
        if n == 0:
            if self.input_shape:
                raise ConfigError("input_shape", _shown(self.input_shape),
                                  "is used only by a conv net: leave it empty or set channels")
            return
        for i in range(n):
            _int(f"channels[{i}]", self.channels[i], 1, 4096)
            _int(f"kernels[{i}]", self.kernels[i], 1, 31)
            _int(f"paddings[{i}]", self.paddings[i], 0, 15)
        if len(self.input_shape) != 3:
            raise ConfigError("input_shape", _shown(self.input_shape),
                              "must be [channels, height, width] with channels set")
        for i, v in enumerate(self.input_shape):
            _int(f"input_shape[{i}]", v, 1, MAX_LAYER)
        if math.prod(self.input_shape) != self.sizes[0]:
            raise ConfigError("input_shape", _shown(self.input_shape),
                              f"must hold sizes[0] = {self.sizes[0]} values")
        for i, (h, w) in enumerate(self._conv_maps()):
            if min(h, w) < 2:
                raise ConfigError(f"kernels[{i}]", self.kernels[i], f"leaves a {max(h, 0)}x{max(w, 0)} map, "
                                  "too small for the 2x2 max-pool")

    def _conv_maps(self) -> list[tuple[int, int]]:
        """Height and width of each conv layer's output, before its pool (none for an MLP)."""
        if not self.channels:
            return []
        _, h, w = self.input_shape
        maps = []
        for k, pad in zip(self.kernels, self.paddings):
            h, w = h + 2 * pad - k + 1, w + 2 * pad - k + 1
            maps.append((h, w))
            h, w = h // 2, w // 2
        return maps

    @property
    def is_conv(self) -> bool:
        return bool(self.channels)

    @property
    def neuron_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Shape of each neuron layer ``s_1 … s_N`` (``[C, H, W]`` for conv layers, ``[n]``
        for fully connected ones; the readout excluded)."""
        conv = [(c, h // 2, w // 2) for c, (h, w) in zip(self.channels, self._conv_maps())]
        fc = self.sizes[1:-1] if self.loss == "ce" else self.sizes[1:]
        return (*conv, *((n,) for n in fc))

    @property
    def neuron_sizes(self) -> tuple[int, ...]:
        """Number of units of each neuron layer ``s_1 … s_N`` (the readout excluded)."""
        return tuple(math.prod(shape) for shape in self.neuron_shapes)

    @property
    def classes(self) -> int:
        return self.sizes[-1]

    def replace(self, **changes: Any) -> Config:
        """A validated copy with some top-level keys changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if dataclasses.is_dataclass(value):
                value = dataclasses.asdict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


_TABLES = {"fixed": FixedFormat, "hardware": Hardware}


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(dotted, value, f"unknown key (known: {', '.join(known)})")
        if key in _TABLES:
            if not isinstance(value, dict):
                raise ConfigError(dotted, value, "must be a table")
            value = _build(_TABLES[key], value, f"{key}.")
        elif isinstance(value, dict):
            raise ConfigError(dotted, "{...}", "must be a value, not a table")
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def from_dict(data: dict[str, Any], base: Config | None = None) -> Config:
    """Build a config from a TOML-shaped dict; keys that are absent keep ``base``'s values."""
    merged = (base or Config()).to_dict()
    for key, value in data.items():
        if key in _TABLES and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return _build(Config, merged, "")


PRESETS: dict[str, dict[str, Any]] = {
    # 64-256-10 on the bundled 8x8 digits: the README's first command trains this.
    "digits": dict(
        name="digits", sizes=[64, 256, 10], activation="hard_sigmoid", estimator="symmetric",
        beta=0.5, t1=20, t2=8, batch=16, epochs=30, lrs=[0.1, 0.05],
    ),
    # ``digits`` on the $25 iCEBreaker (iCE40UP5K): two lanes, mini-batches of 4, one sample at
    # a time, every input a 2-byte element, frames of up to 256 bytes (docs/architecture.md).
    "digits-icebreaker": dict(
        name="digits-icebreaker", sizes=[64, 256, 10], activation="hard_sigmoid", estimator="symmetric",
        beta=0.5, t1=20, t2=8, batch=4, lanes=2, epochs=30, lrs=[0.1, 0.05],
        hardware=dict(board="icebreaker", clock_mhz=30.0, coded_inputs=False, pairs=False, max_payload=256),
    ),
    # 784-128-10 MNIST, symmetric nudging with hard_sigmoid.
    "mnist": dict(
        name="mnist", sizes=[784, 128, 10], activation="hard_sigmoid", estimator="symmetric",
        beta=0.5, t1=20, t2=8, batch=16, epochs=3, lrs=[0.1, 0.05],
    ),
    # NeurIPS 2019 P-conv on MNIST: 1x28x28 -> conv5x5 32 -> pool -> conv5x5 64 -> pool -> fc 10,
    # hard_sigmoid, one-sided, nudge outside rho (that paper's discrete-time dynamics).
    "mnist-conv": dict(
        name="mnist-conv", sizes=[784, 10], input_shape=[1, 28, 28], channels=[32, 64],
        kernels=[5, 5], paddings=[0, 0], activation="hard_sigmoid", estimator="one-sided",
        nudge="outside", beta=0.4, t1=200, t2=10, batch=20, epochs=40, lrs=[0.15, 0.035, 0.015],
    ),
    # C-EP-1h of the continual-EP paper: 784-512-10, weights updated at every nudged step.
    "mnist-cep": dict(
        name="mnist-cep", sizes=[784, 512, 10], activation="my_sigmoid", estimator="one-sided",
        nudge="outside", algorithm="cep", beta=0.2, t1=40, t2=15, batch=20, epochs=100,
        lrs=[0.0056, 0.0028],
    ),
    # C-VF-1h of the same paper: separate feedback weights, random sign of beta.
    "mnist-vf": dict(
        name="mnist-vf", sizes=[784, 512, 10], activation="my_sigmoid", estimator="random-sign",
        nudge="outside", algorithm="cep", feedback="separate", beta=0.2, t1=40, t2=15, batch=20,
        epochs=100, lrs=[0.0076, 0.0038],
    ),
    # The 2021 paper's CIFAR-10 P-CNN: 3x32x32 -> 128-256-512-512 conv3 (paddings 1 1 1 0), each
    # with a max-pool, softmax readout 512 -> 10, symmetric nudging.  Needs --data cifar10:DIR.
    "cifar10-cnn": dict(
        name="cifar10-cnn", sizes=[3072, 10], input_shape=[3, 32, 32], channels=[128, 256, 512, 512],
        kernels=[3, 3, 3, 3], paddings=[1, 1, 1, 0], activation="my_hard_sig", loss="ce",
        estimator="symmetric", beta=1.0, t1=250, t2=25, batch=128, epochs=120,
        lrs=[0.25, 0.15, 0.1, 0.08, 0.05], momentum=0.9, weight_decay=3e-4,
        lr_schedule="cosine", lr_min=1e-5, schedule_epochs=100,
    ),
}


def load(name_or_path: str) -> Config:
    """A preset by name, or a TOML file by path.  Raises :class:`ConfigError` on bad input."""
    if name_or_path in PRESETS:
        return from_dict(PRESETS[name_or_path])
    path = Path(name_or_path)
    if not path.is_file():
        raise UserError(f"--config '{name_or_path}': neither a preset "
                        f"({', '.join(PRESETS)}) nor a readable file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"--config '{name_or_path}': not valid TOML ({exc})") from None
    preset = data.pop("preset", None)
    if preset is not None and preset not in PRESETS:
        raise ConfigError("preset", preset, f"must be one of {', '.join(PRESETS)}")
    base = from_dict(PRESETS[preset]) if preset else None
    return from_dict(data, base)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def dumps(config: Config) -> str:
    """The full configuration as TOML that :func:`load` reads back to an equal config."""
    data = config.to_dict()
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if k not in _TABLES]
    for table in _TABLES:
        lines += ["", f"[{table}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in data[table].items()]
    return "\n".join(lines) + "\n"
