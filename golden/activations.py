"""Neuron activations ρ of the prototypical model (``docs/algorithms.md`` §1)."""

from collections.abc import Callable

import torch
from torch import Tensor


def hard_sigmoid(x: Tensor) -> Tensor:
    """clamp(x, 0, 1): the hardware default."""
    return x.clamp(0.0, 1.0)


def my_hard_sig(x: Tensor) -> Tensor:
    """clamp(x/2, 0, 1): the 2021 paper's CIFAR-10 activation."""
    return (0.5 * x).clamp(0.0, 1.0)


# 0-dim tensors rather than Python floats: PyTorch wraps a float operand in a new tensor at
# every call, which costs a quarter of this activation on small batches.  Both constants are
# exact in every dtype, so the results are those of the float operands.
_HALF, _FOUR = torch.tensor(0.5), torch.tensor(4.0)


def my_sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-4(x - 0.5))): the P-MLP MNIST activation of both Ernoult repositories."""
    return x.sub(_HALF).mul_(_FOUR).sigmoid_()   # one temporary: small batches are bound by allocations


def ctrd_hard_sig(x: Tensor) -> Tensor:
    """clamp(x, -1/2, 1/2): the 2021 code's centred hard sigmoid (states may be negative)."""
    return x.clamp(-0.5, 0.5)


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "hard_sigmoid": hard_sigmoid,
    "my_hard_sig": my_hard_sig,
    "my_sigmoid": my_sigmoid,
    "sigmoid": torch.sigmoid,   # the plain logistic, 1 / (1 + exp(-x))
    "ctrd_hard_sig": ctrd_hard_sig,
    "tanh": torch.tanh,
}
