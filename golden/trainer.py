"""The float backend: trains a P-MLP or P-CNN with EP, C-EP or truncated BPTT, one
mini-batch at a time.

Phases for one mini-batch (``docs/algorithms.md`` §1–2): the state starts at zero, ``T1`` free
steps give ``s*`` (the prediction is read there); ``T2`` steps at ``+β`` from ``s*`` give
``s⁺``; the symmetric estimator restarts from ``s*`` for ``T2`` steps at ``−β`` (``s⁻``);
random-sign draws the sign of β per mini-batch from the sequencer's sign stream
(:class:`~epfpga.golden.prng.SignStream`, ``docs/fixed-point.md`` §7), as the fixed-point
backend and the hardware do.  The update direction ``ΔΘ`` (EP's, or VF's with separate
feedback, §6) is handed to ``torch.optim.SGD`` as the gradient ``−ΔΘ`` (per-layer learning
rates, momentum, weight decay, optionally a cosine schedule); C-EP takes one such step after
every nudged step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from epfpga.config import Config

from . import bptt
from .estimators import ep_update, vf_update
from .graphs import GraphedPhases
from .phases import PHASES
from .network import DTYPES, Dynamics, Params, State, init_params, layer_of
from .prng import SignStream


class FloatTrainer:
    """EP / C-EP / BPTT training of the float golden model.

    Parameters
    ----------
    config : Config
        Network, algorithm and optimiser; ``config.dtype`` picks float32 or float64.
    params : dict, optional
        Initial parameters (see :func:`~epfpga.golden.network.load_params`); by default drawn
        with :func:`~epfpga.golden.network.init_params` from ``config.seed``.
    device : str
        ``"cpu"`` or ``"cuda"``: where the parameters live and the dynamics run.  The
        initial parameters are drawn on the CPU, so both devices start from the same values.
    """

    backend = "float"

    def __init__(self, config: Config, params: Params | None = None, device: str = "cpu"):
        self.config = config
        self.device = device
        self.dtype = DTYPES[config.dtype]
        self.dyn = Dynamics(config)
        self.params = {k: v.to(device=device, dtype=self.dtype, copy=True) for k, v in
                       (params if params is not None else init_params(config)).items()}
        groups: dict[int, list[Tensor]] = {}
        for name, tensor in self.params.items():
            groups.setdefault(layer_of(name), []).append(tensor)
        self.optimizer = torch.optim.SGD(
            [{"params": ts, "lr": config.lrs[layer]} for layer, ts in groups.items()],
            lr=config.lrs[0], momentum=config.momentum, weight_decay=config.weight_decay)
        self.scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(
            self.optimizer, config.schedule_epochs, eta_min=config.lr_min)
            if config.lr_schedule == "cosine" else None)
        self.signs = SignStream(config.seed)
        self.graphs: GraphedPhases | None = None   # on CUDA, captured at the first mini-batch

    def _tensors(self, x: np.ndarray, y: np.ndarray | None = None) -> tuple[Tensor, Tensor | None]:
        xt = torch.from_numpy(np.ascontiguousarray(x)).to(device=self.device, dtype=self.dtype)
        if y is None:
            return xt, None
        target = torch.nn.functional.one_hot(torch.from_numpy(y), self.config.classes)
        return xt, target.to(device=self.device, dtype=self.dtype)

    def _phases(self, x: Tensor, target: Tensor) -> tuple[State, Callable[[float], State]]:
        """``s*``, and a function giving the nudged phase's last state at a β."""
        cfg, dyn, p = self.config, self.dyn, self.params
        if self.device == "cuda":
            if self.graphs is None or self.graphs.x.shape != x.shape:
                self.graphs = GraphedPhases(dyn, p, cfg.t1, cfg.t2, x, target)
            free = self.graphs.free(x)
            return free, lambda beta: self.graphs.nudged(beta, target)
        drive, free = dyn.free_phase(p, x, cfg.t1)
        return free, lambda beta: dyn.relax(p, free, drive, cfg.t2, beta, target)

    def _gradient(self, x: Tensor, target: Tensor, ref: State, a: tuple[State, float],
                  b: tuple[State, float], scale: float) -> Params:
        """``−ΔΘ``, the gradient SGD descends: EP's Φ-difference, or with separate feedback
        VF's rule (presynaptic ``ref``), times ``−scale`` (the sign folded into the scale
        rather than a pass over every weight)."""
        if self.config.feedback == "separate":
            return vf_update(self.dyn, self.params, x, target, ref, a, b, -scale)
        return ep_update(self.dyn, self.params, x, target, a, b, -scale)

    def _beta(self) -> float:
        """β of this mini-batch's nudged phase (its sign drawn for random-sign)."""
        if PHASES[self.config.estimator].random_sign:
            return self.config.beta * self.signs.next_sign()
        return self.config.beta

    def _ep_gradient(self, x: Tensor, target: Tensor) -> tuple[Params, Tensor]:
        """``−ΔΘ`` of EP for one mini-batch, and the free-phase predictions."""
        free, nudge = self._phases(x, target)
        pred = self.dyn.predict(self.params, free)
        beta = self._beta()
        nudged = nudge(beta)
        if PHASES[self.config.estimator].minus:
            return self._gradient(x, target, free, (nudge(-beta), -beta), (nudged, beta), 0.5 / beta), pred
        return self._gradient(x, target, free, (free, 0.0), (nudged, beta), 1.0 / beta), pred

    def _continual(self, x: Tensor, target: Tensor) -> Tensor:
        """C-EP / C-VF: an optimiser step after every nudged step, from the update between
        that step's two states (scaled by ``1/β``, or ``±1/2β`` in each leg of the symmetric
        variant, which restarts from ``s*`` for the ``−β`` leg); the next step runs with the
        new weights.  Returns the free-phase predictions."""
        cfg, dyn, p = self.config, self.dyn, self.params
        _, free = dyn.free_phase(p, x, cfg.t1)
        pred = dyn.predict(p, free)
        phases = PHASES[cfg.estimator]
        beta = self._beta()
        for leg in ((beta, -beta) if phases.minus else (beta,)):
            s = free
            for k in range(cfg.t2):
                new = dyn.step(p, s, dyn.drive(p, x), leg, target)
                self._apply(self._gradient(x, target, s, (s, leg), (new, leg), 1.0 / (phases.c * leg)),
                            later=cfg.t2 - 1 - k)
                s = new
        return pred

    def _apply(self, grads: Params, later: int = 0) -> None:
        """One optimiser step down ``grads``.  ``later`` optimiser steps still to come in a
        C-EP phase: with weight decay each gradient is divided by ``(1 − lr·wd)^later``, the
        shrinking that the decay of those steps will apply to it (the 2021 code's per-step
        scaling)."""
        for name, tensor in self.params.items():
            tensor.grad = grads[name]
        if later and self.config.weight_decay:
            for group in self.optimizer.param_groups:
                factor = (1.0 - group["lr"] * group["weight_decay"]) ** later
                for tensor in group["params"]:
                    tensor.grad = tensor.grad / factor
        self.optimizer.step()

    def train_batch(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """One mini-batch (one optimiser step, or ``T2`` of them for C-EP); returns the
        free-phase predictions."""
        xt, target = self._tensors(x, y)
        cfg = self.config
        if cfg.algorithm == "bptt":
            grads, free = bptt.gradients(self.dyn, self.params, xt, target, cfg.t1, cfg.t2)
            self._apply(grads)
            return self.dyn.predict(self.params, free).cpu().numpy()
        with torch.no_grad():
            if cfg.algorithm == "cep":
                return self._continual(xt, target).cpu().numpy()
            grads, pred = self._ep_gradient(xt, target)
        self._apply(grads)
        return pred.cpu().numpy()

    @torch.no_grad()
    def predict(self, x: np.ndarray) -> np.ndarray:
        """Free-phase (``T1`` steps) predictions."""
        xt, _ = self._tensors(x)
        _, s = self.dyn.free_phase(self.params, xt, self.config.t1)
        return self.dyn.predict(self.params, s).cpu().numpy()

    def end_epoch(self) -> None:
        """Advance the learning-rate schedule (once per epoch, as the 2021 code does)."""
        if self.scheduler is not None:
            self.scheduler.step()

    def angles(self) -> dict[str, float]:
        """Angle in degrees between ``W_n`` and ``B_nᵀ`` for each layer with separate feedback
        (VF); empty with tied feedback."""
        out = {}
        for name, b in self.params.items():
            if name.startswith("B"):
                w = self.params["W" + name[1:]].double().flatten()
                cos = float(w @ b.double().T.flatten() / (w.norm() * b.double().norm()))
                out[name] = float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
        return out

    def weights(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().copy() for k, v in self.params.items()}
