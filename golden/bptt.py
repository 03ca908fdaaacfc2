"""Truncated BPTT on the same network (``docs/algorithms.md`` §5).

The loss at the final free state ``s_T`` is back-propagated through the last ``k`` steps
only; the earlier steps are detached.  Each of those ``k`` steps runs with its own copy of
the layer parameters, so one backward pass yields the gradient *per step*: the contribution
of the j-th step from the end is the difference between the gradients truncated to j and to
j − 1 steps, the quantity the GDU check compares with EP's per-step updates.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .network import Dynamics, Params, State


def step_gradients(dyn: Dynamics, p: Params, x: Tensor, target: Tensor,
                   steps: int, k: int) -> tuple[State, list[Params], Params]:
    """Gradients of the loss after ``steps`` free steps from zero, truncated to the last ``k``.

    Returns
    -------
    final : list of Tensor
        The final free state (detached): the predictions are read there.
    per_step : list of dict
        ``per_step[j]``: gradient of every layer parameter through the (j+1)-th step from
        the end (j = 0 is the last step).
    direct : dict
        Gradient of the readout parameters (cross-entropy only; they act outside the
        dynamics, at the final state).
    """
    layer_names = [n for n in p if not n.endswith("out")]
    readout = {n: p[n].detach().clone().requires_grad_() for n in p if n.endswith("out")}
    with torch.no_grad():
        _, s = dyn.free_phase(p, x, steps - k)
    copies = [{n: p[n].detach().clone().requires_grad_() for n in layer_names} for _ in range(k)]
    for q in copies:
        s = dyn.step(q, s, dyn.drive(q, x), 0.0, None)
    loss = dyn.loss(readout, s[-1], target)
    leaves = [q[n] for q in copies for n in layer_names] + list(readout.values())
    grads = iter(torch.autograd.grad(loss, leaves, allow_unused=True))
    from_first = [{n: next(grads) for n in layer_names} for _ in copies]
    direct = {n: next(grads) for n in readout}
    per_step = [{n: (g if g is not None else torch.zeros_like(p[n])) for n, g in q.items()}
                for q in reversed(from_first)]
    return [t.detach() for t in s], per_step, direct


def gradients(dyn: Dynamics, p: Params, x: Tensor, target: Tensor,
              steps: int, k: int) -> tuple[Params, State]:
    """Truncated-BPTT gradient of every parameter (the sum of the per-step terms), and the
    final free state."""
    final, per_step, direct = step_gradients(dyn, p, x, target, steps, k)
    total = {n: sum(q[n] for q in per_step) for n in per_step[0]}
    return {n: total[n] if n in total else direct[n] for n in p}, final
