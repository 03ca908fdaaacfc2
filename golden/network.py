"""Float prototypical networks (P-MLP, P-CNN): parameters and explicit synchronous dynamics.

The dynamics are written out, not obtained by autograd of Φ: one step computes, from the
previous state only (double buffering),

    s_n ← ρ( F_n(s_{n-1}) + ∂Φ_{n+1}/∂s_n )                         n < N
    s_N ← ρ( F_N(s_{N-1}) + g )             nudge inside ρ (default)
    s_N ← ρ( F_N(s_{N-1}) ) + g             nudge outside ρ

where ``F_n`` is the fully connected ``W_n s_{n-1} + b_n`` or the conv layer's pooled
``P(conv(s_{n-1}, W_n) + b_n)`` and ``∂Φ_{n+1}/∂s_n`` the feedback from above (``W_{n+1}ᵀ
s_{n+1}``, or the transposed convolution of ``s_{n+1}`` unpooled at the current argmax):
:mod:`~epfpga.golden.layers`.  The nudge is ``g = -β ∂L/∂s_N``: ``β (y - s_N)`` for MSE,
``-β W_outᵀ (softmax(o) - y)`` for the softmax-readout cross-entropy (``o = W_out s_N +
b_out``).  States are ``[B, n]`` (fully connected) or ``[B, C, H, W]`` (conv) tensors.
``F_1(x)`` (the *drive*) is constant while the input is clamped and is computed once per
mini-batch.

Parameters live in a plain dict, named ``W1, b1, …, WN, bN``, with separate feedback (VF)
``B2, …, BN`` (``B_n`` is ``[n_{n-1}, n_n]``: it replaces ``W_nᵀ`` in the feedback), and,
with the cross-entropy loss, ``Wout, bout``.  The functions here are pure in those parameters, so the BPTT baseline
can unroll them with a separate copy of the parameters per step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from epfpga.config import Config
from epfpga.errors import DataError
from epfpga.npz import read_npz

from .activations import ACTIVATIONS
from .layers import ConvPool, Dense, Layer

Params = dict[str, Tensor]
State = list[Tensor]

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def weight_layers(config: Config) -> list[Layer]:
    """The neuron layers' weight layers, input side first (the readout excluded)."""
    return [*(ConvPool(pad) for pad in config.paddings),
            *(Dense() for _ in config.neuron_shapes[len(config.channels):])]


def param_shapes(config: Config) -> dict[str, tuple[int, ...]]:
    """Name and shape of every trainable tensor, in layer order (input side first)."""
    shapes: dict[str, tuple[int, ...]] = {}
    below = config.input_shape or (config.sizes[0],)
    for n, above in enumerate(config.neuron_shapes, start=1):
        if len(above) == 3:
            k = config.kernels[n - 1]
            shapes[f"W{n}"] = (above[0], below[0], k, k)
        else:
            shapes[f"W{n}"] = (above[0], math.prod(below))
        shapes[f"b{n}"] = (above[0],)
        below = above
    if config.feedback == "separate":   # B_n carries s_n back to s_{n-1} (VF)
        for n in range(2, len(config.neuron_sizes) + 1):
            shapes[f"B{n}"] = shapes[f"W{n}"][::-1]
    if config.loss == "ce":
        shapes["Wout"] = (config.classes, math.prod(below))
        shapes["bout"] = (config.classes,)
    return shapes


def layer_of(name: str) -> int:
    """0-based index of the weight layer a parameter belongs to (the readout last)."""
    return -1 if name.endswith("out") else int(name[1:]) - 1


def init_params(config: Config, seed: int | None = None) -> Params:
    """``torch.nn.Linear``'s and ``Conv2d``'s default initialisation, ``W, b ~ U(±1/√fan_in)``.

    Drawn in float64 from a generator seeded with ``seed`` (the config's by default), in the
    order of :func:`param_shapes`, then cast: float32 and float64 runs start from the same
    values.
    """
    gen = torch.Generator().manual_seed(config.seed if seed is None else seed)
    params: Params = {}
    for name, shape in param_shapes(config).items():
        # biases and feedback weights B_n take W_n's fan-in: B_n is distributed as W_nᵀ
        weight = shape if name[0] == "W" else params[f"W{name[1:]}"].shape
        fan_in = math.prod(weight[1:])
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
    """The explicit dynamics of one configuration (layers, activation, nudge placement, loss)."""

    config: Config

    @cached_property
    def layers(self) -> list[Layer]:
        return weight_layers(self.config)

    def rho(self, x: Tensor) -> Tensor:
        return ACTIVATIONS[self.config.activation](x)

    def image(self, x: Tensor) -> Tensor:
        """The input as the first layer reads it: ``[B, C, H, W]`` for a conv net."""
        return x.view(x.shape[0], *self.config.input_shape) if self.config.is_conv else x

    def drive(self, p: Params, x: Tensor) -> Tensor:
        """``F_1(x)``: the input's constant contribution to the first layer."""
        return self.layers[0].forward(p["W1"], p["b1"], self.image(x))[0]

    def zero_state(self, batch: int, like: Tensor) -> State:
        return [like.new_zeros(batch, *shape) for shape in self.config.neuron_shapes]

    def readout(self, p: Params, top: Tensor) -> Tensor:
        return torch.addmm(p["bout"], top.flatten(1), p["Wout"].T)

    def loss_grad(self, p: Params, top: Tensor, target: Tensor) -> Tensor:
        """∂L/∂s_N per sample (``target`` is one-hot)."""
        if self.config.loss == "mse":
            return top - target
        return ((torch.softmax(self.readout(p, top), dim=1) - target) @ p["Wout"]).view(top.shape)

    def loss(self, p: Params, top: Tensor, target: Tensor) -> Tensor:
        """Batch-mean loss at the output state (½‖s_N - y‖², or CE of the readout)."""
        if self.config.loss == "mse":
            return 0.5 * ((top - target) ** 2).sum(dim=1).mean()
        logp = torch.log_softmax(self.readout(p, top), dim=1)
        return -(logp * target).sum(dim=1).mean()

    def step(self, p: Params, s: State, drive: Tensor, beta: float, target: Tensor | None) -> State:
        """One synchronous step of every layer from the previous state ``s``."""
        n_layers = len(s)
        pre = [drive]
        for n in range(1, n_layers):
            layer, w = self.layers[n], p[f"W{n + 1}"]
            forward, ctx = layer.forward(w, p[f"b{n + 1}"], s[n - 1])
            back = p[f"B{n + 1}"].T if self.config.feedback == "separate" else w
            pre[n - 1] = layer.add_feedback(pre[n - 1], back, s[n], ctx)
            pre.append(forward)
        new = [self.rho(v) for v in pre[:-1]]
        if beta == 0.0:
            new.append(self.rho(pre[-1]))
        else:
            g = -beta * self.loss_grad(p, s[-1], target)
            new.append(self.rho(pre[-1] + g) if self.config.nudge == "inside" else self.rho(pre[-1]) + g)
        return new

    def relax(self, p: Params, s: State, drive: Tensor, steps: int, beta: float,
              target: Tensor | None) -> State:
        for _ in range(steps):
            s = self.step(p, s, drive, beta, target)
        return s

    def free_phase(self, p: Params, x: Tensor, steps: int) -> tuple[Tensor, State]:
        """The drive ``F_1(x)`` and the state after ``steps`` free steps from zero."""
        drive = self.drive(p, x)
        return drive, self.relax(p, self.zero_state(x.shape[0], x), drive, steps, 0.0, None)

    def predict(self, p: Params, s: State) -> Tensor:
        """Class of each sample: argmax of ``s_N`` (or of the readout); ties → lowest index."""
        out = self.readout(p, s[-1]) if self.config.loss == "ce" else s[-1]
        return torch.argmax(out, dim=1)

    def input_weight_grad(self, p: Params, x: Tensor, above: Tensor) -> Tensor:
        """Batch-sum ``∂Φ/∂W_1`` with ``above`` in place of ``s_1``: linear in ``above``,
        since the input (and the first pool's argmax) is the same in every phase."""
        return self.layers[0].weight_grad(p["W1"], p["b1"], self.image(x), above)

    def phi_grads(self, p: Params, x: Tensor, s: State, beta: float, target: Tensor,
                  first_weights: bool = True) -> Params:
        """Batch-mean ∂Φ/∂θ at state ``s``: ``∂Φ_n/∂W_n`` and ``∂Φ_n/∂b_n`` per layer and, for
        the readout, ``-β ∂L/∂θ``; without ``W1`` unless ``first_weights``."""
        batch = x.shape[0]
        below = [self.image(x), *s[:-1]]
        grads: Params = {}
        for n, (layer, post, pre) in enumerate(zip(self.layers, s, below), start=1):
            if n > 1 or first_weights:
                grads[f"W{n}"] = layer.weight_grad(p[f"W{n}"], p[f"b{n}"], pre, post) / batch
            grads[f"b{n}"] = layer.bias_grad(post) / batch
        if self.config.loss == "ce":
            grads.update(self.readout_grads(p, s[-1], beta, target))
        return grads

    def readout_grads(self, p: Params, top: Tensor, beta: float, target: Tensor) -> Params:
        """Batch-mean ∂Φ/∂θ of the softmax readout, ``-β ∂L/∂θ``, at output state ``top``."""
        err = torch.softmax(self.readout(p, top), dim=1) - target
        return {"Wout": -beta * (err.T @ top.flatten(1)) / top.shape[0], "bout": -beta * err.mean(dim=0)}
