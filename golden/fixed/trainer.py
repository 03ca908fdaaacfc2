"""The fixed-point backend: the on-chip trainer's exact integer arithmetic, one mini-batch at a time.

The sequence per mini-batch is the phase sequencer's (``docs/fixed-point.md`` §9): quantise
the input, free phase (``T1`` steps from zero), predict, ``+β`` phase (``T2`` steps from
``s*``; random-sign: ``σβ`` with σ from the sign stream), ``−β`` phase for the symmetric
estimator (from ``s*`` again), then the weight update of layers 1…N, each ``W_n`` before
``b_n``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from epfpga.config import Config
from epfpga.trace import BatchRecord

from ..network import Params, init_params
from .formats import FixedSpec
from .prediction import prediction
from .neuron_update import IntParams, IntState, input_drive, relax, weight_view
from ..phases import PHASES
from ..prng import LaneStreams, SignStream, stream_seed
from .weight_update import bias_difference, product_difference, scale_round, write_back



def initial_weights(spec: FixedSpec, params: Params | None = None) -> IntParams:
    """Integer start of a run: ``params`` (by default the float initialisation of the config,
    drawn in float64) rounded to the weight format (§1)."""
    start = params if params is not None else init_params(spec.config.replace(dtype="float64"))
    return {k: spec.quantise_weight(v) for k, v in start.items()}


class FixedTrainer:
    """EP training in the fixed-point arithmetic of the hardware.

    Parameters
    ----------
    config : Config
        Must have a fixed-point form (:meth:`FixedSpec.from_config` says why not).
    params : dict, optional
        Float initial weights, rounded to the weight format; by default
        :func:`~epfpga.golden.network.init_params` of ``config``.
    on_batch : callable, optional
        Called after every mini-batch with everything a trace records (``docs/trace-format.md``).
    """

    backend = "fixed"

    def __init__(self, config: Config, params: Params | None = None,
                 on_batch: Callable[[BatchRecord], None] | None = None):
        self.spec = FixedSpec.from_config(config)
        self.config = config
        self.params: IntParams = initial_weights(self.spec, params)
        stochastic = config.fixed.rounding == "stochastic"
        self.streams = LaneStreams(config.seed, config.lanes) if stochastic else None
        self.signs = SignStream(config.seed)
        self.on_batch = on_batch

    def target(self, y: np.ndarray) -> Tensor:
        return torch.nn.functional.one_hot(torch.from_numpy(y), self.config.classes) * self.spec.one

    def zero_state(self, batch: int) -> IntState:
        return [torch.zeros(batch, n, dtype=torch.int64) for n in self.spec.sizes[1:]]

    def train_batch(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Phases and update of one mini-batch; returns the free-phase predictions."""
        spec, cfg = self.spec, self.config
        p = weight_view(self.params)
        recording = self.on_batch is not None
        xq, target = spec.quantise_input(x), self.target(y)
        drive = input_drive(spec, p, xq)
        free_steps: list[IntState] | None = [] if recording else None
        free = relax(spec, p, self.zero_state(len(xq)), drive, cfg.t1, 0, None, free_steps)
        pred = prediction(free[-1])
        phases = PHASES[cfg.estimator]
        sign = self.signs.next_sign() if phases.random_sign else 1
        plus_steps: list[IntState] | None = [] if recording else None
        plus = relax(spec, p, free, drive, cfg.t2, sign, target, plus_steps)
        minus_steps: list[IntState] | None = None
        if phases.minus:
            minus_steps = [] if recording else None
            minus = relax(spec, p, free, drive, cfg.t2, -1, target, minus_steps)
            self.update(xq, minus, plus, 1)
        else:
            self.update(xq, free, plus, sign)
        if recording:
            self.on_batch(BatchRecord(x=xq, y=torch.from_numpy(y), free=free_steps, plus=plus_steps,
                                      minus=minus_steps, pred=pred, sign=sign,
                                      params={k: v.clone() for k, v in self.params.items()}))
        return pred.numpy()

    def update(self, xq: Tensor, a: IntState, b: IntState, sign: int) -> None:
        """Weight update from phases ``a`` → ``b`` (§6), layer by layer, ``W_n`` then ``b_n``."""
        spec, p = self.spec, self.params
        below_a, below_b = [xq, *a[:-1]], [xq, *b[:-1]]
        for n in range(1, spec.layers + 1):
            lr_q = spec.lr_q[n - 1]
            d = product_difference(b[n - 1], below_b[n - 1], a[n - 1], below_a[n - 1], clamped_pre=n == 1)
            dw = scale_round(sign * lr_q * d, spec.update_shift(n, bias=False), self.streams)
            p[f"W{n}"] = write_back(spec, p[f"W{n}"], dw)
            db = scale_round(sign * lr_q * bias_difference(b[n - 1], a[n - 1]),
                             spec.update_shift(n, bias=True), self.streams)
            p[f"b{n}"] = write_back(spec, p[f"b{n}"], db)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Free-phase (``T1`` steps) predictions; ties go to the lowest index."""
        xq = self.spec.quantise_input(x)
        p = weight_view(self.params)
        q = relax(self.spec, p, self.zero_state(len(xq)), input_drive(self.spec, p, xq), self.config.t1, 0, None)
        return prediction(q[-1]).numpy()

    def state(self) -> dict[str, np.ndarray]:
        """Everything a checkpoint needs: the integer weights, and ``prng``: the lane streams'
        states (their seeds under nearest rounding, which draws nothing), then the sign
        stream's."""
        lanes = (self.streams.state if self.streams is not None else
                 np.array([stream_seed(self.config.seed, l) for l in range(self.config.lanes)], dtype=np.uint64))
        return {**{k: v.numpy().copy() for k, v in self.params.items()},
                "prng": np.array([*lanes.tolist(), self.signs.state], dtype=np.uint64)}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Continue from :meth:`state`."""
        self.params = {k: torch.from_numpy(np.array(state[k], dtype=np.int64)) for k in self.params}
        if self.streams is not None:
            self.streams.state[:] = state["prng"][:-1]
        self.signs.state = int(state["prng"][-1])

    def weights(self) -> dict[str, np.ndarray]:
        """Weights as floats (exactly the fixed-point values)."""
        return {k: self.spec.dequantise_weight(v).numpy() for k, v in self.params.items()}
