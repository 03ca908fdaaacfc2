"""Prediction: the output unit with the largest state, ties to the lowest index (§9)."""

from __future__ import annotations

import torch
from torch import Tensor


def prediction(top: Tensor) -> Tensor:
    """``argmax`` over units of the output layer ``[batch, n_N]`` (first maximum wins)."""
    return torch.argmax(top, dim=1)
