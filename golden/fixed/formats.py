"""Fixed-point formats, accumulator widths and quantisers (``docs/fixed-point.md`` §1–2, §8).

:class:`FixedSpec` derives every constant of the integer trainer from one :class:`Config`
and proves that no accumulator can overflow, or raises a :class:`ConfigError` naming the key.
All integer tensors are ``torch.int64``.  Matrix products of integers go through
:func:`exact_mm`, which multiplies in float64: exact because every partial sum is bounded
by the accumulator widths, which are at most 53 bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from epfpga.config import Config
from epfpga.errors import ConfigError

from ..phases import PHASES
from ..prng import PRNG_BITS



def exact_mm(a: Tensor, b: Tensor) -> Tensor:
    """Integer matrix product, exact while every partial sum stays below 2**53.  Either
    operand may already be float64 holding integers (weights are converted once per batch)."""
    return (a.double() @ b.double()).long()


def rshift_round(v: Tensor, m: int) -> Tensor:
    """``v / 2**m`` rounded to nearest, ties up: ``floor((v + 2**(m-1)) / 2**m)``; ``v·2**-m``
    exactly when ``m <= 0``."""
    if m <= 0:
        return v * (1 << -m)
    return (v + (1 << (m - 1))) >> m


def _power_of_two_exponent(value: float) -> int | None:
    mantissa, exp = math.frexp(value)
    return exp - 1 if mantissa == 0.5 else None


def _learning_rate(i: int, lr: float, lr_frac: int) -> int:
    """``lr_q``: ``lr · 2**lr_frac`` rounded to the nearest power of two in ratio (below
    ``√2 · 2**e`` it is ``2**e``), so that the update multiplies by a shift; 0 stays 0 (a frozen
    layer).  A positive rate nearer 0 than ``2**-lr_frac`` is rejected."""
    if lr == 0:
        return 0
    mantissa, exp = math.frexp(lr * (1 << lr_frac))    # value = mantissa · 2**exp, mantissa in [1/2, 1)
    e = exp - 1 if mantissa < math.sqrt(0.5) else exp
    if e < 0:
        raise ConfigError(f"lrs[{i}]", lr, f"rounds to 0 with fixed.lr_frac = {lr_frac}")
    return 1 << e


FIXED_ACTIVATIONS = ("hard_sigmoid", "my_hard_sig", "my_sigmoid")


@dataclass(frozen=True)
class FixedSpec:
    """The integer trainer of one config.  Build it with :meth:`from_config`.

    Attributes
    ----------
    sizes : tuple of int
        Layer widths, input first (MSE only: every entry after the input is a neuron layer).
    fs, fx, fw, wbits, fl : int
        ``state_frac``, ``input_frac``, ``weight_frac``, ``weight_bits``, ``lr_frac``.
    k : int
        ``beta = 2**-k``.
    batch_log2 : int
        ``batch = 2**batch_log2``.
    lr_q : tuple of int
        Learning rate of each weight layer, ``lr · 2**fl`` rounded to a power of two (or 0):
        the gateware multiplies by it with a shift (:func:`_learning_rate`).
    """

    config: Config
    sizes: tuple[int, ...]
    fs: int
    fx: int
    fw: int
    wbits: int
    fl: int
    k: int
    batch_log2: int
    lanes: int
    lr_q: tuple[int, ...]

    @classmethod
    def from_config(cls, config: Config) -> FixedSpec:
        """Check that ``config`` has a fixed-point form and that its accumulators suffice."""
        fx = config.fixed
        if config.is_conv:
            raise ConfigError("channels", list(config.channels),
                              "the fixed-point trainer and the gateware run fully connected nets only")
        if config.loss != "mse":
            raise ConfigError("loss", config.loss, "the fixed-point trainer supports 'mse' only")
        if config.activation not in FIXED_ACTIVATIONS:
            raise ConfigError("activation", config.activation,
                              f"fixed point has unsigned states and one sigmoid table: use {', '.join(FIXED_ACTIVATIONS)}")
        if config.algorithm != "ep":
            raise ConfigError("algorithm", config.algorithm, "the fixed-point trainer runs 'ep' only")
        if config.feedback != "tied":
            raise ConfigError("feedback", config.feedback, "the fixed-point trainer reads W transposed (tied)")
        if config.momentum != 0.0:
            raise ConfigError("momentum", config.momentum, "must be 0 in fixed point (plain SGD on chip)")
        if config.lr_schedule != "constant":
            raise ConfigError("lr_schedule", config.lr_schedule, "must be 'constant' in fixed point")
        if config.weight_decay != 0.0:
            raise ConfigError("weight_decay", config.weight_decay, "must be 0 in fixed point (plain SGD on chip)")
        k = _power_of_two_exponent(config.beta)
        k = None if k is None else -k
        if k is None or not 0 <= k <= fx.weight_frac:
            raise ConfigError("beta", config.beta,
                              f"must be 2**-k with 0 <= k <= fixed.weight_frac = {fx.weight_frac} "
                              "(the nudge is a shift)")
        batch_log2 = _power_of_two_exponent(config.batch)
        if batch_log2 is None:
            raise ConfigError("batch", config.batch, "must be a power of two in fixed point")
        lr_q = tuple(_learning_rate(i, lr, fx.lr_frac) for i, lr in enumerate(config.lrs))
        spec = cls(config, config.sizes, fx.state_frac, fx.input_frac, fx.weight_frac,
                   fx.weight_bits, fx.lr_frac, k, batch_log2, config.lanes, lr_q)
        spec._check_widths()
        return spec

    # -- derived constants ------------------------------------------------------------------
    @property
    def one(self) -> int:
        """The state 1.0: ``2**state_frac``."""
        return 1 << self.fs

    @property
    def w_min(self) -> int:
        return -(1 << (self.wbits - 1))

    @property
    def w_max(self) -> int:
        return (1 << (self.wbits - 1)) - 1

    @property
    def layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def learning_rates(self) -> tuple[float, ...]:
        """The rates the integer trainer applies, ``lr_q / 2**fl``: give them to the float
        model to compare the two at the same rates."""
        return tuple(q / (1 << self.fl) for q in self.lr_q)

    def pre_frac(self, layer: int) -> int:
        """Fractional bits of the presynaptic values of weight layer ``layer`` (1-based)."""
        return self.fx if layer == 1 else self.fs

    def update_shift(self, layer: int, bias: bool) -> int:
        """``S`` of §6: ``ΔW = round(σ · D · lr_q / 2**S)``."""
        frac_d = self.fs + (0 if bias else self.pre_frac(layer))
        c_log2 = PHASES[self.config.estimator].c.bit_length() - 1
        return self.fl + c_log2 + self.batch_log2 - self.k + frac_d - self.fw

    def acc_needed(self, layer: int) -> int:
        """Bits the neuron accumulator of neuron layer ``layer`` needs (§8)."""
        n_below = self.sizes[layer - 1]
        n_above = self.sizes[layer + 1] if layer < self.layers else 0
        inside = self.config.nudge == "inside"  # outside ρ the nudge never enters the sum
        nudge = (1 << (self.fw - self.k)) if layer == self.layers and inside else 0
        bound = ((n_below + n_above + 1) * (1 << (self.wbits - 1)) + nudge) << self.fs
        return 1 + bound.bit_length()

    def grad_needed(self, layer: int, bias: bool) -> int:
        """Bits the weight-update accumulator of weight layer ``layer`` needs (§8)."""
        frac_d = self.fs + (0 if bias else self.pre_frac(layer))
        s = self.update_shift(layer, bias)
        bound = (self.config.batch << frac_d) * self.lr_q[layer - 1]
        bound = bound << -s if s <= 0 else bound + (1 << s)
        return 1 + bound.bit_length()

    def _check_widths(self) -> None:
        fx = self.config.fixed
        for n in range(1, self.layers + 1):
            need = self.acc_needed(n)
            if need > fx.acc_bits:
                raise ConfigError("fixed.acc_bits", fx.acc_bits,
                                  f"layer {n} ({self.sizes[n - 1]} in, "
                                  f"{self.sizes[n + 1] if n < self.layers else 0} feedback) needs {need} bits")
            for bias in (False, True):
                need = self.grad_needed(n, bias)
                if need > fx.grad_bits:
                    raise ConfigError("fixed.grad_bits", fx.grad_bits,
                                      f"the update of {'b' if bias else 'W'}{n} needs {need} bits")
                s = self.update_shift(n, bias)
                if fx.rounding == "stochastic" and s > PRNG_BITS:
                    raise ConfigError("fixed.rounding", fx.rounding,
                                      f"the update of {'b' if bias else 'W'}{n} drops {s} bits, "
                                      f"more than the {PRNG_BITS} bits of one PRNG draw")

    # -- quantisers -------------------------------------------------------------------------
    def quantise_input(self, x: np.ndarray) -> Tensor:
        """``clamp(floor(x · 2**fx + 1/2), 0, 2**fx)`` in float64, from pixels in [0, 1]."""
        q = np.floor(np.asarray(x, dtype=np.float64) * (1 << self.fx) + 0.5)
        return torch.from_numpy(np.clip(q, 0, 1 << self.fx).astype(np.int64))

    def quantise_weight(self, w: Tensor) -> Tensor:
        """Round a float weight to nearest (ties up) and saturate to the weight rails."""
        q = torch.floor(w.double() * (1 << self.fw) + 0.5)
        return q.clamp(self.w_min, self.w_max).long()

    def dequantise_weight(self, q: Tensor) -> Tensor:
        return q.double() / (1 << self.fw)

    def representable(self, params: dict[str, Tensor]) -> dict[str, Tensor]:
        """Float weights rounded to the weight format: a start both backends share exactly."""
        return {k: self.dequantise_weight(self.quantise_weight(v)) for k, v in params.items()}
