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


def forward_sum(q_pre: Tensor, w: Tensor) -> Tensor:
    """``W q_pre``: each row's sum over the layer below (the neuron update's adder tree and row
    accumulator, ``hdl/row_sum.py``)."""
    return exact_mm(q_pre, w.T)


def feedback_sum(q_post: Tensor, w: Tensor) -> Tensor:
    """``Wᵀ q_post``: what the layer above sends down (the read-modify-write of the
    accumulators, ``hdl/feedback_sum.py``)."""
    return exact_mm(q_post, w)


def row_end(spec: FixedSpec, forward: Tensor, bias: Tensor, *, drive: bool = False,
            err: Tensor | None = None) -> Tensor:
    """A row's accumulator from its forward sum (``hdl/row_end.py``): the input's scale for the
    input drive (``drive``), plus the bias, plus the nudge inside ρ (``err``, output layer)."""
    u = forward * (1 << (spec.fs - spec.fx)) if drive else forward
    u = u + bias * spec.one
    return u if err is None else u + nudge_term(spec, err)


def input_drive(spec: FixedSpec, p: IntParams, xq: Tensor) -> Tensor:
    """``W_1 x + b_1`` in accumulator units: constant while the input is clamped."""
    return row_end(spec, forward_sum(xq, p["W1"]), p["b1"], drive=True)


def preactivation(spec: FixedSpec, p: IntParams, q: IntState, drive: Tensor, layer: int) -> Tensor:
    """Accumulator ``u`` of neuron layer ``layer`` (0-based) before the nudge."""
    u = drive if layer == 0 else row_end(spec, forward_sum(q[layer - 1], p[f"W{layer + 1}"]), p[f"b{layer + 1}"])
    if layer + 1 < len(q):
        u = u + feedback_sum(q[layer + 1], p[f"W{layer + 2}"])
    return u


def nudge_error(target: Tensor, top: Tensor, sign: int) -> Tensor:
    """``σ·(y_q − q_N)`` in state units."""
    return sign * (target - top)


def nudge_term(spec: FixedSpec, err: Tensor) -> Tensor:
    """The nudge inside ρ, in accumulator units."""
    return err * (1 << (spec.fw - spec.k))


def output_state(spec: FixedSpec, u: Tensor, err: Tensor) -> Tensor:
    """The output layer's state (``hdl/output_state.py``): ``ρ_q(u)`` where the nudge is inside
    ρ (already in ``u``), else ``ρ_q(u)`` plus the rounded nudge, clamped to the rails."""
    if spec.config.nudge == "inside":
        return activation(spec, u)
    return (activation(spec, u) + rshift_round(err, spec.k)).clamp(0, spec.one)


def neuron_step(spec: FixedSpec, p: IntParams, q: IntState, drive: Tensor, sign: int,
                target: Tensor | None) -> IntState:
    """One step of every layer; ``sign`` is σ of ``β = σ·2**-k`` (0: free phase)."""
    new: IntState = []
    for n in range(len(q)):
        u = preactivation(spec, p, q, drive, n)
        if n + 1 < len(q) or sign == 0:
            new.append(activation(spec, u))
        else:
            err = nudge_error(target, q[n], sign)
            if spec.config.nudge == "inside":
                u = u + nudge_term(spec, err)
            new.append(output_state(spec, u, err))
    return new


def relax(spec: FixedSpec, p: IntParams, q: IntState, drive: Tensor, steps: int, sign: int,
          target: Tensor | None, record: list[IntState] | None = None) -> IntState:
    """``steps`` steps; every intermediate state is appended to ``record`` when given."""
    for _ in range(steps):
        q = neuron_step(spec, p, q, drive, sign, target)
        if record is not None:
            record.append(q)
    return q
