"""Bias of the EP estimators against truncated BPTT, as a function of β (``docs/algorithms.md`` §5).

For one mini-batch and a converged free phase, each estimator's update ``ΔΘ`` approximates
``−∇L`` computed by BPTT through the last ``T2`` free steps.  The one-sided estimator is off
by O(β), the symmetric one by O(β²); random-sign draws either one-sided estimate (+β or −β).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from epfpga.config import Config

from . import bptt
from .estimators import ep_update
from .network import Dynamics, Params


def _flat(update: Params, names: list[str]) -> Tensor:
    return torch.cat([update[n].flatten() for n in names])


@dataclass(frozen=True)
class BiasPoint:
    """Relative errors ``‖ΔΘ − (−∇L)‖ / ‖∇L‖`` over all parameters at one β."""

    beta: float
    one_sided: float
    minus_one_sided: float
    """The one-sided estimate at −β: the other draw of random-sign."""
    symmetric: float
    ratio: float
    """Median over parameters of ``2|sym − g| / (|ep₊ − g| + |ep₋ − g|)``: ≪ 1 where the
    symmetric estimator removes the bias."""

    @property
    def random_sign(self) -> float:
        """Expected relative error of a random-sign draw (each sign with probability ½)."""
        return 0.5 * (self.one_sided + self.minus_one_sided)


def estimator_bias(config: Config, p: Params, x: Tensor, target: Tensor, betas: list[float]) -> list[BiasPoint]:
    dyn = Dynamics(config)
    grads, _ = bptt.gradients(dyn, p, x, target, config.t1, config.t2)
    names = list(grads)
    ref = -_flat(grads, names)
    drive, free = dyn.free_phase(p, x, config.t1)
    out = []
    for beta in betas:
        plus = dyn.relax(p, free, drive, config.t2, beta, target)
        minus = dyn.relax(p, free, drive, config.t2, -beta, target)
        est = [_flat(ep_update(dyn, p, x, target, a, b), names)
               for a, b in (((free, 0.0), (plus, beta)), ((free, 0.0), (minus, -beta)),
                            ((minus, -beta), (plus, beta)))]
        err = [float((e - ref).norm() / ref.norm()) for e in est]
        dev = [(e - ref).abs() for e in est]
        live = (dev[0] + dev[1]) > 0
        ratio = float((2 * dev[2][live] / (dev[0] + dev[1])[live]).median())
        out.append(BiasPoint(beta, err[0], err[1], err[2], ratio))
    return out
