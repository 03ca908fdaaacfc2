"""The two kinds of weight layer of a prototypical network: fully connected and conv + pool.

A weight layer ``n`` connects ``s_{n-1}`` (below) to ``s_n`` (above) and contributes

    Φ_n = Σ  s_n ⊙ F_n(s_{n-1})

to the primitive function, with ``F_n(v) = W_n v + b_n`` (:class:`Dense`) or
``F_n(v) = P(conv(v, W_n) + b_n)`` (:class:`ConvPool`: stride-1 convolution, then a 2×2
max-pool of stride 2).  The dynamics need ``∂Φ_n/∂s_n = F_n(s_{n-1})`` (:meth:`forward`) and
``∂Φ_n/∂s_{n-1}`` (added by :meth:`add_feedback`), the learning rule ``∂Φ_n/∂W_n`` and ``∂Φ_n/∂b_n``.
For the conv layer the pool is differentiated where PyTorch's max-pool routes gradients: each
pooled value back to the position of its window's maximum in the *current* state (ties →
the first in row-major order), then through the transposed convolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class Dense:
    """``W`` is ``[n_out, n_in]`` as in ``torch.nn.Linear``; a conv state below is flattened
    in ``[C, H, W]`` order."""

    def forward(self, w: Tensor, b: Tensor, below: Tensor) -> tuple[Tensor, Any]:
        return torch.addmm(b, below.flatten(1), w.T), None

    def add_feedback(self, pre: Tensor, w: Tensor, above: Tensor, ctx: Any) -> Tensor:
        """``pre + ∂Φ_n/∂s_{n-1}`` (``ctx`` from :meth:`forward` at the same state)."""
        return torch.addmm(pre.flatten(1), above, w).view(pre.shape)

    def weight_grad(self, w: Tensor, b: Tensor, below: Tensor, above: Tensor) -> Tensor:
        """``Σ_batch ∂Φ_n/∂W_n``; linear in ``above``."""
        return above.T @ below.flatten(1)

    def bias_grad(self, above: Tensor) -> Tensor:
        return above.sum(dim=0)


@dataclass(frozen=True)
class ConvPool:
    """``W`` is ``[C_out, C_in, k, k]`` as in ``torch.nn.Conv2d``; zero ``padding`` on each side."""

    padding: int

    def forward(self, w: Tensor, b: Tensor, below: Tensor) -> tuple[Tensor, Any]:
        conv = F.conv2d(below, w, b, padding=self.padding)
        pooled, where = F.max_pool2d(conv, 2, return_indices=True)
        return pooled, (where, conv.shape[-2:])

    def _unpool(self, above: Tensor, ctx: Any) -> Tensor:
        # a scatter to the pool's flat indices (what max_unpool2d does), which a CUDA graph can capture
        where, size = ctx
        out = above.new_zeros(*above.shape[:2], size[0] * size[1])
        return out.scatter_(2, where.flatten(2), above.flatten(2)).view(*above.shape[:2], *size)

    def add_feedback(self, pre: Tensor, w: Tensor, above: Tensor, ctx: Any) -> Tensor:
        return pre + F.conv_transpose2d(self._unpool(above, ctx), w, padding=self.padding)

    def weight_grad(self, w: Tensor, b: Tensor, below: Tensor, above: Tensor) -> Tensor:
        """Correlation of ``below`` with ``above`` unpooled at the argmax of this state's conv."""
        _, ctx = self.forward(w, b, below)
        return torch.nn.grad.conv2d_weight(below, w.shape, self._unpool(above, ctx),
                                           padding=self.padding)

    def bias_grad(self, above: Tensor) -> Tensor:
        return above.sum(dim=(0, 2, 3))


Layer = Dense | ConvPool
