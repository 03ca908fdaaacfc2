"""EP gradient estimators: the local update from two phases' states (``docs/algorithms.md`` §2).

Every estimator is the same Φ-difference between two (state, β) pairs,

    ΔΘ = ( ∂Φ/∂θ(s_b, β_b) − ∂Φ/∂θ(s_a, β_a) ) / (β_b − β_a),

an ascent direction on Φ (a descent direction on the loss):

=============  ===================  ==================
estimator      a                    b
=============  ===================  ==================
one-sided      (s*, 0)              (s⁺, +β)
random-sign    (s*, 0)              (s^±, ±β)
symmetric      (s⁻, −β)             (s⁺, +β)
=============  ===================  ==================

With separate feedback weights (VF) the update is not a Φ-difference: every synapse moves by
the change of its postsynaptic unit times its presynaptic unit at a reference state
(:func:`vf_update`).  C-EP and C-VF apply the same rules to two consecutive steps of the
nudged phase, with the phase's ``scale`` (:class:`~epfpga.golden.trainer.FloatTrainer`).
"""

from torch import Tensor

from .network import Dynamics, Params, State


def ep_update(dyn: Dynamics, p: Params, x: Tensor, target: Tensor,
              a: tuple[State, float], b: tuple[State, float], scale: float | None = None) -> Params:
    """Batch-mean update direction of every parameter from phases ``a`` and ``b``, times
    ``scale`` (by default ``1 / (β_b − β_a)``)."""
    (s_a, beta_a), (s_b, beta_b) = a, b
    g_a = dyn.phi_grads(p, x, s_a, beta_a, target, first_weights=False)
    g_b = dyn.phi_grads(p, x, s_b, beta_b, target, first_weights=False)
    if scale is None:
        scale = 1.0 / (beta_b - beta_a)
    # W1's presynaptic input is x in both phases: one product of the state difference with x,
    # not two products subtracted (the largest matmul of the update)
    w1 = dyn.input_weight_grad(p, x, s_b[0] - s_a[0]).mul_(scale / x.shape[0])
    return {"W1": w1, **{k: (g_b[k] - g_a[k]) * scale for k in g_a}}


def vf_update(dyn: Dynamics, p: Params, x: Tensor, target: Tensor, ref: State,
              a: tuple[State, float], b: tuple[State, float], scale: float | None = None) -> Params:
    """VF's update: with ``Δ_n = (s_b,n − s_a,n) · scale`` (batch of postsynaptic changes),
    ``W_n ← Δ_nᵀ ref_{n-1}``, ``b_n ← Δ_n``, ``B_{n+1} ← Δ_nᵀ ref_{n+1}`` (batch means);
    ``ref`` is the presynaptic state (``s*`` for VF, the step's old state for C-VF).  The
    readout of the cross-entropy loss sits outside the dynamics and keeps EP's rule."""
    (s_a, beta_a), (s_b, beta_b) = a, b
    if scale is None:
        scale = 1.0 / (beta_b - beta_a)
    out: Params = {}
    if dyn.config.loss == "ce":
        g_a, g_b = (dyn.readout_grads(p, s[-1], beta, target) for s, beta in (a, b))
        out = {k: (g_b[k] - g_a[k]) * scale for k in g_a}
    deltas = [(post_b - post_a) * (scale / x.shape[0]) for post_a, post_b in zip(s_a, s_b)]
    below = [x, *ref[:-1]]
    for n, delta in enumerate(deltas, start=1):
        out[f"W{n}"] = delta.T @ below[n - 1]
        out[f"b{n}"] = delta.sum(dim=0)
        if n > 1:   # B_n carries s_n down to s_{n-1}: postsynaptic s_{n-1}
            out[f"B{n}"] = deltas[n - 2].T @ ref[n - 1]
    return out
