"""The neuron-update pipeline: one synchronous step of every layer, in integers.

``docs/fixed-point.md`` §3–5.  Accumulators hold ``weight_frac + state_frac`` fractional bits:

    u_n = W_n q_{n-1} + W_{n+1}ᵀ q_{n+1} + b_n·2**fs            (input term: x·2**(fs-fx))
    u_N += σ·(y_q − q_N)·2**(fw−k)                                nudge inside ρ
    q_n = ρ_q(u_n)
    q_N = clamp(ρ_q(u_N) + rshift_round(σ·(y_q − q_N), k), 0, 2**fs)   nudge outside ρ

where ``β = σ·2**-k`` (σ = ±1, 0 in the free phase) and ``y_q`` is ``2**fs`` for the target
class, 0 elsewhere.  Every step reads only the previous state (double buffering).
"""

from __future__ import annotations

from torch import Tensor

from .activation import activation
from .formats import FixedSpec, exact_mm, rshift_round

IntParams = dict[str, Tensor]
IntState = list[Tensor]


def weight_view(p: IntParams) -> IntParams:
    """The weight matrices as float64 (exact integers) for :func:`exact_mm`, biases as they
    are: constant over a batch's phases, so converted once."""
    return {k: v.double() if k.startswith("W") else v for k, v in p.items()}


def input_drive(spec: FixedSpec, p: IntParams, xq: Tensor) -> Tensor:
    """``W_1 x + b_1`` in accumulator units: constant while the input is clamped."""
    return exact_mm(xq, p["W1"].T) * (1 << (spec.fs - spec.fx)) + p["b1"] * spec.one


def preactivation(spec: FixedSpec, p: IntParams, q: IntState, drive: Tensor, layer: int) -> Tensor:
    """Accumulator ``u`` of neuron layer ``layer`` (0-based) before the nudge."""
    u = drive if layer == 0 else exact_mm(q[layer - 1], p[f"W{layer + 1}"].T) + p[f"b{layer + 1}"] * spec.one
    if layer + 1 < len(q):
        u = u + exact_mm(q[layer + 1], p[f"W{layer + 2}"])
    return u


def nudge_error(target: Tensor, top: Tensor, sign: int) -> Tensor:
    """``σ·(y_q − q_N)`` in state units."""
    return sign * (target - top)


def neuron_step(spec: FixedSpec, p: IntParams, q: IntState, drive: Tensor, sign: int,
                target: Tensor | None) -> IntState:
    """One step of every layer; ``sign`` is σ of ``β = σ·2**-k`` (0: free phase)."""
    new: IntState = []
    for n in range(len(q)):
        u = preactivation(spec, p, q, drive, n)
        if n + 1 < len(q) or sign == 0:
            new.append(activation(spec, u))
        elif spec.config.nudge == "inside":
            new.append(activation(spec, u + nudge_error(target, q[n], sign) * (1 << (spec.fw - spec.k))))
        else:
            g = rshift_round(nudge_error(target, q[n], sign), spec.k)
            new.append((activation(spec, u) + g).clamp(0, spec.one))
    return new


def relax(spec: FixedSpec, p: IntParams, q: IntState, drive: Tensor, steps: int, sign: int,
          target: Tensor | None, record: list[IntState] | None = None) -> IntState:
    """``steps`` steps; every intermediate state is appended to ``record`` when given."""
    for _ in range(steps):
        q = neuron_step(spec, p, q, drive, sign, target)
        if record is not None:
            record.append(q)
    return q
