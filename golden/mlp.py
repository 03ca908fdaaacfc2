"""Float prototypical MLP (P-MLP): parameters and explicit synchronous dynamics.

The dynamics are written out, not obtained by autograd of Φ: one step computes, from the
previous state only (double buffering),

    s_n ← ρ( W_n s_{n-1} + b_n + W_{n+1}ᵀ s_{n+1} )                 n < N
    s_N ← ρ( W_N s_{N-1} + b_N + g )        nudge inside ρ (default)
    s_N ← ρ( W_N s_{N-1} + b_N ) + g        nudge outside ρ

with the nudge ``g = -β ∂L/∂s_N``: ``β (y - s_N)`` for MSE, ``-β W_outᵀ (softmax(o) - y)``
for the softmax-readout cross-entropy (``o = W_out s_N + b_out``).  States are ``[B, n]``
row-major tensors; ``W_n`` is ``[n_out, n_in]`` as in ``torch.nn.Linear``.  ``W_1 x + b_1``
(the *drive*) is constant while the input is clamped and is computed once per mini-batch.

Parameters live in a plain dict, named ``W1, b1, …, WN, bN`` and, with the cross-entropy
loss, ``Wout, bout``.  The functions here are pure in those parameters, so the BPTT baseline
can unroll them with a separate copy of the parameters per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from epfpga.config import Config
from epfpga.errors import DataError
from epfpga.npz import read_npz

from .activations import ACTIVATIONS

Params = dict[str, Tensor]
State = list[Tensor]

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def param_shapes(config: Config) -> dict[str, tuple[int, ...]]:
    """Name and shape of every trainable tensor, in layer order (input side first)."""
    shapes: dict[str, tuple[int, ...]] = {}
    widths = (config.sizes[0], *config.neuron_sizes)
    for n in range(1, len(widths)):
        shapes[f"W{n}"] = (widths[n], widths[n - 1])
        shapes[f"b{n}"] = (widths[n],)
    if config.loss == "ce":
        shapes["Wout"] = (config.classes, widths[-1])
        shapes["bout"] = (config.classes,)
    return shapes


def layer_of(name: str) -> int:
    """0-based index of the weight layer a parameter belongs to (the readout last)."""
    return -1 if name.endswith("out") else int(name[1:]) - 1


def init_params(config: Config, seed: int | None = None) -> Params:
    """``torch.nn.Linear``'s default initialisation, ``W, b ~ U(±1/√fan_in)``.

    Drawn in float64 from a generator seeded with ``seed`` (the config's by default), in the
    order of :func:`param_shapes`, then cast: float32 and float64 runs start from the same
    values.
    """
    gen = torch.Generator().manual_seed(config.seed if seed is None else seed)
    params: Params = {}
    for name, shape in param_shapes(config).items():
        fan_in = shape[1] if len(shape) == 2 else params[f"W{name[1:]}"].shape[1]
        bound = fan_in ** -0.5
        u = torch.rand(shape, generator=gen, dtype=torch.float64)
        params[name] = ((2.0 * u - 1.0) * bound).to(DTYPES[config.dtype])
    return params


def load_params(config: Config, path: str | Path) -> Params:
    """Weights from an ``.npz`` file, checked against the shapes ``config`` needs."""
    shapes = param_shapes(config)
    arrays = read_npz(path, "weights file")
    missing = [k for k in shapes if k not in arrays]
    if missing:
        raise DataError(f"weights file {path}: missing {', '.join(missing)} "
                        f"(config needs {', '.join(shapes)})")
    extra = [k for k in arrays if k not in shapes]
    if extra:
        raise DataError(f"weights file {path}: unexpected arrays {', '.join(extra)}")
    params: Params = {}
    for name, shape in shapes.items():
        a = arrays[name]
        if a.shape != shape:
            raise DataError(f"weights file {path}: {name} has shape {a.shape}, config needs {shape}")
        if not np.issubdtype(a.dtype, np.floating) or not np.isfinite(a).all():
            raise DataError(f"weights file {path}: {name} must hold finite floats")
        params[name] = torch.from_numpy(a.astype(np.float64)).to(DTYPES[config.dtype])
    return params


@dataclass(frozen=True)
class Dynamics:
    """The explicit dynamics of one configuration (activation, nudge placement, loss)."""

    config: Config

    @property
    def layers(self) -> int:
        return len(self.config.neuron_sizes)

    def rho(self, x: Tensor) -> Tensor:
        return ACTIVATIONS[self.config.activation](x)

    def drive(self, p: Params, x: Tensor) -> Tensor:
        """``W_1 x + b_1``: the input's constant contribution to the first layer."""
        return torch.addmm(p["b1"], x, p["W1"].T)

    def zero_state(self, batch: int, like: Tensor) -> State:
        return [like.new_zeros(batch, n) for n in self.config.neuron_sizes]

    def readout(self, p: Params, top: Tensor) -> Tensor:
        return torch.addmm(p["bout"], top, p["Wout"].T)

    def loss_grad(self, p: Params, top: Tensor, target: Tensor) -> Tensor:
        """∂L/∂s_N per sample (``target`` is one-hot)."""
        if self.config.loss == "mse":
            return top - target
        return (torch.softmax(self.readout(p, top), dim=1) - target) @ p["Wout"]

    def loss(self, p: Params, top: Tensor, target: Tensor) -> Tensor:
        """Batch-mean loss at the output state (½‖s_N - y‖², or CE of the readout)."""
        if self.config.loss == "mse":
            return 0.5 * ((top - target) ** 2).sum(dim=1).mean()
        logp = torch.log_softmax(self.readout(p, top), dim=1)
        return -(logp * target).sum(dim=1).mean()

    def step(self, p: Params, s: State, drive: Tensor, beta: float, target: Tensor | None) -> State:
        """One synchronous step of every layer from the previous state ``s``."""
        n_layers = len(s)
        new: State = []
        for n in range(n_layers):
            pre = drive if n == 0 else torch.addmm(p[f"b{n + 1}"], s[n - 1], p[f"W{n + 1}"].T)
            if n + 1 < n_layers:
                pre = pre + s[n + 1] @ p[f"W{n + 2}"]
            if n + 1 == n_layers and beta != 0.0:
                g = -beta * self.loss_grad(p, s[n], target)
                new.append(self.rho(pre + g) if self.config.nudge == "inside" else self.rho(pre) + g)
            else:
                new.append(self.rho(pre))
        return new

    def relax(self, p: Params, s: State, drive: Tensor, steps: int, beta: float,
              target: Tensor | None) -> State:
        for _ in range(steps):
            s = self.step(p, s, drive, beta, target)
        return s

    def predict(self, p: Params, s: State) -> Tensor:
        """Class of each sample: argmax of ``s_N`` (or of the readout); ties → lowest index."""
        out = self.readout(p, s[-1]) if self.config.loss == "ce" else s[-1]
        return torch.argmax(out, dim=1)

    def phi_grads(self, p: Params, x: Tensor, s: State, beta: float, target: Tensor,
                  first_weights: bool = True) -> Params:
        """Batch-mean ∂Φ/∂θ at state ``s``: ``s_n s_{n-1}ᵀ`` and ``s_n`` per layer and, for
        the readout, ``-β ∂L/∂θ``; without ``W1`` unless ``first_weights``."""
        batch = x.shape[0]
        below = [x, *s[:-1]]
        grads: Params = {}
        for n, (post, pre) in enumerate(zip(s, below), start=1):
            if n > 1 or first_weights:
                grads[f"W{n}"] = post.T @ pre / batch
            grads[f"b{n}"] = post.mean(dim=0)
        if self.config.loss == "ce":
            err = torch.softmax(self.readout(p, s[-1]), dim=1) - target
            grads["Wout"] = -beta * (err.T @ s[-1]) / batch
            grads["bout"] = -beta * err.mean(dim=0)
        return grads
