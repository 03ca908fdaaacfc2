"""EP's phases replayed from CUDA graphs.

On a GPU a small mini-batch is bound by kernel launches, not arithmetic: the P-conv MNIST
step is about twenty small kernels, and eager PyTorch spends about 0.4 ms launching them.  A
CUDA graph records the ``T1`` free steps (and the ``T2`` nudged steps at each β) once and
replays them with one launch.  The parameters are read where they live, so optimiser steps
between replays are seen; the input and target are copied into the graph's own tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from .network import Dynamics, Params, State


def _capture(fn: Callable[[], Any]) -> tuple[torch.cuda.CUDAGraph, Any]:
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):   # warm-up: lazily created kernels and library handles
        fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn()
    return graph, out


class GraphedPhases:
    """The free phase and the nudged phases of one mini-batch shape.

    Parameters
    ----------
    dyn, p : Dynamics, dict
        The network and its parameters (on the GPU).
    t1, t2 : int
        Free and nudged steps.
    x, target : Tensor
        A mini-batch of the shape every later call uses (its values are not kept).
    """

    def __init__(self, dyn: Dynamics, p: Params, t1: int, t2: int, x: Tensor, target: Tensor):
        self.dyn, self.p, self.t2 = dyn, p, t2
        self.x, self.target = x.clone(), target.clone()

        self.free_graph, (self.drive, self.free_state) = _capture(lambda: dyn.free_phase(p, self.x, t1))
        self.nudged_graphs: dict[float, tuple[torch.cuda.CUDAGraph, State]] = {}

    def free(self, x: Tensor) -> State:
        """``s*`` for input ``x``; valid until the next call."""
        self.x.copy_(x)
        self.free_graph.replay()
        return self.free_state

    def nudged(self, beta: float, target: Tensor) -> State:
        """``T2`` steps at ``beta`` from the last :meth:`free` state."""
        if beta not in self.nudged_graphs:
            self.nudged_graphs[beta] = _capture(lambda: self.dyn.relax(
                self.p, self.free_state, self.drive, self.t2, beta, self.target))
        graph, state = self.nudged_graphs[beta]
        self.target.copy_(target)
        graph.replay()
        return state
