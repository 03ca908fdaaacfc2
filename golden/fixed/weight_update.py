"""The weight-update pipeline: exact product difference, one rounding, saturating write-back.

``docs/fixed-point.md`` §6.  For weight layer ``n`` with phases ``a`` and ``b`` of the estimator,

    D   = Σ_batch ( q_b,n q_b,n-1ᵀ − q_a,n q_a,n-1ᵀ )      exact; layer 1: (q_b,1 − q_a,1) xᵀ
    D_b = Σ_batch ( q_b,n − q_a,n )                         biases
    ΔW  = round( σ · D · lr_q / 2**S )                      nearest or stochastic, §6–7
    W   ← clamp( W + ΔW, −2**(wbits−1), 2**(wbits−1) − 1 )
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..prng import PRNG_BITS, LaneStreams
from .formats import FixedSpec, exact_mm, rshift_round


def product_difference(post_b: Tensor, pre_b: Tensor, post_a: Tensor, pre_a: Tensor,
                       clamped_pre: bool) -> Tensor:
    """``D`` of a weight layer, summed over the mini-batch.  ``clamped_pre``: the presynaptic
    layer is the clamped input (equal in both phases), so one product suffices."""
    if clamped_pre:
        return exact_mm((post_b - post_a).T, pre_b)
    return exact_mm(post_b.T, pre_b) - exact_mm(post_a.T, pre_a)


def bias_difference(post_b: Tensor, post_a: Tensor) -> Tensor:
    return (post_b - post_a).sum(dim=0)


def stochastic_round(v: Tensor, shift: int, r: Tensor) -> Tensor:
    """``floor((v + r) / 2**shift)``: stochastic rounding with ``r`` uniform on ``[0, 2**shift)``."""
    return (v + r) >> shift


def scale_round(v: Tensor, shift: int, streams: LaneStreams | None) -> Tensor:
    """``v / 2**shift`` rounded: to nearest (ties up) without ``streams``, else stochastically
    with ``r`` the top ``shift`` bits of each element's draw (:func:`stochastic_round`).

    ``v`` is a block (a matrix, or a bias vector as one row).  Its rows are padded to a whole
    number of lanes, element ``(i, j)`` takes the next draw of lane ``j mod lanes``, and the
    padding draws too (§7): exactly what the lanes of the update pipeline do."""
    if shift <= 0 or streams is None:
        return rshift_round(v, shift)
    rows, cols = (1, v.shape[0]) if v.dim() == 1 else v.shape
    padded = -(-cols // streams.lanes) * streams.lanes
    draws = streams.draw(rows * padded).reshape(rows, padded)[:, :cols] >> np.uint64(PRNG_BITS - shift)
    return stochastic_round(v, shift, torch.from_numpy(draws.astype(np.int64)).reshape(v.shape))


def write_back(spec: FixedSpec, w: Tensor, dw: Tensor) -> Tensor:
    return (w + dw).clamp(spec.w_min, spec.w_max)
