"""Integer activations ρ_q: accumulator (``weight_frac + state_frac`` fractional bits) → state.

``docs/fixed-point.md`` §4.  ``hard_sigmoid`` and ``my_hard_sig`` are a rounding shift and a
clamp; ``my_sigmoid`` is a lookup table over the pre-activation rounded to state precision.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from .formats import FixedSpec, rshift_round


@lru_cache(maxsize=None)
def sigmoid_table(fs: int) -> tuple[int, np.ndarray]:
    """``(z_lo, table)``: ``table[z - z_lo] = floor(2**fs / (1 + exp(-4(z/2**fs - 1/2))) + 1/2)``
    for ``z_lo <= z <= z_hi``, where ``z_lo`` is the largest ``z`` mapped to 0 and ``z_hi``
    the smallest mapped to ``2**fs``.  The function is monotone, so clamping ``z`` to the
    table's range gives its value everywhere."""
    one = 1 << fs
    z = np.arange(-16 * one, 17 * one, dtype=np.int64)
    values = np.floor(one / (1.0 + np.exp(-4.0 * (z / one - 0.5))) + 0.5).astype(np.int64)
    lo = int(np.flatnonzero(values == 0)[-1])
    hi = int(np.flatnonzero(values == one)[0])
    return int(z[lo]), values[lo:hi + 1]


def activation(spec: FixedSpec, u: Tensor) -> Tensor:
    """State of every neuron from its accumulator ``u``."""
    name = spec.config.activation
    if name == "hard_sigmoid":
        return rshift_round(u, spec.fw).clamp(0, spec.one)
    if name == "my_hard_sig":
        return rshift_round(u, spec.fw + 1).clamp(0, spec.one)
    z_lo, table = sigmoid_table(spec.fs)
    z = rshift_round(u, spec.fw).clamp(z_lo, z_lo + len(table) - 1)
    return torch.from_numpy(table)[z - z_lo]
