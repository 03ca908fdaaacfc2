"""EP gradient estimators: the local update from two phases' states (``ep-algorithms.md`` §2).

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
"""

from torch import Tensor

from .network import Dynamics, Params, State


def ep_update(dyn: Dynamics, p: Params, x: Tensor, target: Tensor,
              a: tuple[State, float], b: tuple[State, float]) -> Params:
    """Batch-mean update direction of every parameter from phases ``a`` and ``b``."""
    (s_a, beta_a), (s_b, beta_b) = a, b
    g_a = dyn.phi_grads(p, x, s_a, beta_a, target, first_weights=False)
    g_b = dyn.phi_grads(p, x, s_b, beta_b, target, first_weights=False)
    scale = 1.0 / (beta_b - beta_a)
    # W1's presynaptic input is x in both phases: one product of the state difference with x,
    # not two products subtracted (the largest matmul of the update)
    w1 = dyn.input_weight_grad(p, x, s_b[0] - s_a[0]) * scale
    return {"W1": w1, **{k: (g_b[k] - g_a[k]) * scale for k in g_a}}
