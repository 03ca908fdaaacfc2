"""The GDU check: EP's per-step updates against truncated BPTT's per-step gradients.

``docs/algorithms.md`` §5.  For the nudged trajectory ``s_0 = s*, s_1, …, s_K`` (``K = T2``):

    d_t = −(1/β) ( ∂Φ/∂θ(s_{t+1}) − ∂Φ/∂θ(s_t) )                     EP, t = 0 … K−1
    n_t = gradient through the (t+1)-th free step from the end         BPTT

and per component ``RMSE = sqrt( Σ_t (n_t − d_t)² / max(Σ_t n_t², Σ_t d_t²) )`` (0 when both
are 0).  A parameter's RMSE is the mean over its components; its sign error is the fraction
of components, among those where either total is non-zero, whose totals ``Σ_t n_t`` and
``Σ_t d_t`` differ in sign.  The readout of the cross-entropy loss is outside the dynamics
and is not compared.  Everything runs in float64.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from epfpga.config import Config
from epfpga.data import Dataset
from epfpga.errors import UserError

from . import bptt
from .network import Dynamics, Params, init_params

CONVERGED = 1e-6


@dataclass(frozen=True)
class GduResult:
    """Per-step series, ``[K, *shape]`` per parameter, and the summary figures."""

    beta: float
    ep: dict[str, Tensor]
    bptt: dict[str, Tensor]
    free_residual: float = 0.0
    """max |s_T1 − s_(T1−1)| of the free phase: the theorem needs a converged ``s*``."""

    def rmse(self, name: str) -> float:
        n, d = self.bptt[name], self.ep[name]
        num = ((n - d) ** 2).sum(dim=0)
        den = torch.maximum((n ** 2).sum(dim=0), (d ** 2).sum(dim=0))
        ratio = torch.where(den > 0, num / torch.where(den > 0, den, 1.0), 0.0)
        return float(ratio.sqrt().mean())

    def sign_error(self, name: str) -> float:
        n, d = self.bptt[name].sum(dim=0), self.ep[name].sum(dim=0)
        live = (n != 0) | (d != 0)
        if not bool(live.any()):
            return 0.0
        return float((torch.sign(n) != torch.sign(d))[live].double().mean())

    def summary(self) -> dict[str, dict[str, float]]:
        return {k: {"rmse": self.rmse(k), "sign_error": self.sign_error(k)} for k in self.ep}


def gdu_check(config: Config, p: Params, x: Tensor, target: Tensor, betas: list[float],
              lr: float = 0.0) -> list[GduResult]:
    """EP and BPTT per-step series for one batch (``config.t1`` free, ``config.t2`` nudged), one
    result per β.  The free phase and the BPTT gradients do not depend on β: computed once.

    With ``lr > 0`` the nudged phase is C-EP's: after each step every parameter moves by
    ``lr · ΔΘ_t = −lr · d_t`` and the next step runs with the moved parameters, while BPTT's
    series stays that of the initial parameters (``docs/algorithms.md`` §6)."""
    dyn = Dynamics(config)
    names = [k for k in p if not k.endswith("out")]
    drive, before = dyn.free_phase(p, x, config.t1 - 1)
    free = dyn.step(p, before, drive, 0.0, None)
    residual = max(float((a - b).abs().max()) for a, b in zip(free, before))
    _, per_step, _ = bptt.step_gradients(dyn, p, x, target, config.t1, config.t2)
    grads = {k: torch.stack([q[k] for q in per_step]) for k in names}
    results = []
    for beta in betas:
        q = {k: v.clone() for k, v in p.items()}
        s, series = free, []
        for _ in range(config.t2):
            new = dyn.step(q, s, dyn.drive(q, x), beta, target)
            old_g, new_g = dyn.phi_grads(q, x, s, beta, target), dyn.phi_grads(q, x, new, beta, target)
            d = {k: -(new_g[k] - old_g[k]) / beta for k in names}
            series.append(d)
            if lr:
                for k in names:
                    q[k] = q[k] - lr * d[k]
            s = new
        ep = {k: torch.stack([d[k] for d in series]) for k in names}
        results.append(GduResult(beta, ep, grads, residual))
    return results


def run_gdu(config: Config, data: Dataset, betas: list[float], samples: int, out: Path) -> dict:
    """``epfpga gdu``: sweep β on the first ``samples`` training samples, from the config's
    initial weights; write ``gdu.json`` and ``gdu.png`` to ``out``."""
    data.check_fits(config)
    if config.feedback != "tied":
        raise UserError("gdu compares EP's updates, gradients of Φ, with BPTT's: it needs "
                        f"feedback = 'tied' (config has '{config.feedback}')")
    if config.t2 > config.t1:
        raise UserError(f"gdu needs t2 <= t1 (BPTT runs through the last t2 free steps); "
                        f"config has t1 = {config.t1}, t2 = {config.t2}")
    cfg = config.replace(dtype="float64")
    p = init_params(cfg)
    x = torch.from_numpy(data.train_x[:samples].astype(np.float64))
    target = torch.nn.functional.one_hot(torch.from_numpy(data.train_y[:samples]), cfg.classes).double()
    results = gdu_check(cfg, p, x, target, sorted(betas, reverse=True))
    residual = results[0].free_residual
    if residual > CONVERGED:
        print(f"epfpga gdu: warning: the free phase has not converged (last step moved a state "
              f"by {residual:.2g} > {CONVERGED:g}); EP and BPTT can only agree from a fixed "
              "point: increase t1", file=sys.stderr)
    report = {"config": cfg.to_dict(), "data": data.name, "samples": len(x),
              "free_residual": residual,
              "betas": [{"beta": r.beta, "params": r.summary()} for r in results]}
    out.mkdir(parents=True, exist_ok=True)
    (out / "gdu.json").write_text(json.dumps(report, indent=2) + "\n")
    plot_gdu(results, out / "gdu.png")
    return report


def plot_gdu(results: list[GduResult], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results[0].ep)
    weights = [k for k in names if k.startswith("W")]
    fig, axes = plt.subplots(1, 1 + len(weights), figsize=(4 * (1 + len(weights)), 3.5))
    ax = axes[0]
    for k in names:
        ax.loglog([r.beta for r in results], [max(r.rmse(k), 1e-16) for r in results], marker="o", label=k)
    ax.set_xlabel("β")
    ax.set_ylabel("RMSE (EP vs BPTT)")
    ax.set_title("GDU: RMSE per parameter")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    best = results[-1]
    for ax, k in zip(axes[1:], weights):
        n, d = best.bptt[k].flatten(1), best.ep[k].flatten(1)
        comps = torch.argsort(n.abs().sum(dim=0), descending=True)[:4]
        steps = np.arange(1, n.shape[0] + 1)
        for i, c in enumerate(comps.tolist()):
            ax.plot(steps, n[:, c].numpy(), color=f"C{i}", label="BPTT" if i == 0 else None)
            ax.plot(steps, d[:, c].numpy(), color=f"C{i}", ls="--", label="EP" if i == 0 else None)
        ax.set_xlabel("step t of the nudged phase")
        ax.set_title(f"{k}, β = {best.beta:g}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
