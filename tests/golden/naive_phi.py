"""A deliberately naive P-MLP / P-CNN: dynamics and updates by autograd of the primitive function Φ.

This is how the 2021 reference code works (``s ← ρ(∂Φ/∂s)``, updates from the gradient of a
Φ-difference), written independently of ``epfpga.golden`` so that the explicit dynamics can
be checked against it.  It is slow on purpose: every step builds and differentiates a graph.

    Φ(x, s, β) = Σ_n s_n · F_n(s_{n-1}) − β L(s_N, y)

with ``F_n = Linear`` (on the flattened state) or ``F_n = max_pool2d(Conv2d(·), 2)``, so the
max-pool's gradient routing is PyTorch's own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from epfpga.golden.prng import SignStream


def _rho(name: str):
    return {
        "hard_sigmoid": lambda v: (1 + F.hardtanh(2 * v - 1)) * 0.5,
        "my_hard_sig": lambda v: (1 + F.hardtanh(v - 1)) * 0.5,
        "my_sigmoid": lambda v: 1 / (1 + torch.exp(-4 * (v - 0.5))),
        "sigmoid": lambda v: 1 / (1 + torch.exp(-v)),
        "ctrd_hard_sig": lambda v: F.hardtanh(2 * v) * 0.5,
        "tanh": torch.tanh,
    }[name]


class NaivePhiNet:
    """Network whose parameters are ``torch.nn.Conv2d`` and ``torch.nn.Linear`` layers (the
    readout last, for CE)."""

    def __init__(self, config, params: dict[str, torch.Tensor]):
        self.cfg = config
        self.rho = _rho(config.activation)
        self.layers = torch.nn.ModuleList()
        names = [n[1:] for n in params if n.startswith("W")]
        for i, suffix in enumerate(names):
            w = params[f"W{suffix}"]
            if w.dim() == 4:
                lin = torch.nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], padding=config.paddings[i],
                                      dtype=w.dtype)
            else:
                lin = torch.nn.Linear(w.shape[1], w.shape[0], dtype=w.dtype)
            with torch.no_grad():
                lin.weight.copy_(w)
                lin.bias.copy_(params[f"b{suffix}"])
            self.layers.append(lin)
        self.n_neuron = len(config.neuron_sizes)

    def loss(self, top, y):
        if self.cfg.loss == "mse":
            return 0.5 * ((top - y) ** 2).sum(dim=1)
        return -(torch.log_softmax(self.layers[-1](top.flatten(1)), dim=1) * y).sum(dim=1)

    def _term(self, n, below, above):
        layer = self.layers[n]
        if isinstance(layer, torch.nn.Conv2d):
            return (F.max_pool2d(layer(below), 2) * above).sum(dim=(1, 2, 3))
        return (layer(below.flatten(1)) * above).sum(dim=1)

    def phi(self, x, s, beta, y, with_loss=True):
        if self.cfg.channels:
            x = x.view(x.shape[0], *self.cfg.input_shape)
        chain = [x] + s
        phi = sum(self._term(n, chain[n], chain[n + 1]) for n in range(self.n_neuron))
        if with_loss and beta != 0.0:
            phi = phi - beta * self.loss(s[-1], y)
        return phi

    def step(self, x, s, beta, y):
        s = [t.detach().requires_grad_() for t in s]
        if self.cfg.nudge == "inside" or beta == 0.0:
            grads = torch.autograd.grad(self.phi(x, s, beta, y).sum(), s)
            return [self.rho(g).detach() for g in grads]
        grads = torch.autograd.grad(self.phi(x, s, 0.0, y).sum(), s)
        nudge = torch.autograd.grad((-beta * self.loss(s[-1], y)).sum(), s[-1])[0]
        new = [self.rho(g).detach() for g in grads]
        new[-1] = (new[-1] + nudge).detach()
        return new

    def relax(self, x, s, steps, beta, y):
        for _ in range(steps):
            s = self.step(x, s, beta, y)
        return s

    def zero_state(self, batch, dtype):
        return [torch.zeros(batch, *shape, dtype=dtype) for shape in self.cfg.neuron_shapes]

    def update_direction(self, x, y, a, b, scale=None):
        """(∂Φ/∂θ(s_b, β_b) − ∂Φ/∂θ(s_a, β_a)) · scale, batch mean, by autograd; the scale is
        1 / (β_b − β_a) unless given."""
        (s_a, beta_a), (s_b, beta_b) = a, b
        for p in self.layers.parameters():
            p.grad = None
        scale = 1.0 / (beta_b - beta_a) if scale is None else scale
        delta = (self.phi(x, s_b, beta_b, y).mean() - self.phi(x, s_a, beta_a, y).mean()) * scale
        delta.backward()
        out = {}
        for i, lin in enumerate(self.layers):
            suffix = "out" if (self.cfg.loss == "ce" and i == len(self.layers) - 1) else str(i + 1)
            out[f"W{suffix}"] = lin.weight.grad.detach().clone()
            out[f"b{suffix}"] = lin.bias.grad.detach().clone()
        return out

    def phases(self, x, y, estimator, beta):
        """Free phase and the (a, b) phase pair of the estimator, as the reference runs them."""
        free = self.relax(x, self.zero_state(x.shape[0], x.dtype), self.cfg.t1, 0.0, None)
        nudged = self.relax(x, free, self.cfg.t2, beta, y)
        if estimator == "symmetric":
            mirrored = self.relax(x, free, self.cfg.t2, -beta, y)
            return free, (mirrored, -beta), (nudged, beta)
        return free, (free, 0.0), (nudged, beta)

    def params(self) -> dict[str, torch.Tensor]:
        out = {}
        for i, lin in enumerate(self.layers):
            suffix = "out" if (self.cfg.loss == "ce" and i == len(self.layers) - 1) else str(i + 1)
            out[f"W{suffix}"] = lin.weight.detach()
            out[f"b{suffix}"] = lin.bias.detach()
        return out


class NaiveTrainer:
    """Trains :class:`NaivePhiNet` as the reference code does: SGD on ``p.grad = −ΔΘ``, the
    random sign drawn as the float backend documents it."""

    def __init__(self, config, params: dict[str, torch.Tensor]):
        self.cfg = config
        self.net = NaivePhiNet(config, params)
        groups = [{"params": list(lin.parameters()), "lr": lr} for lin, lr in zip(self.net.layers, config.lrs)]
        self.opt = torch.optim.SGD(groups, lr=config.lrs[0], momentum=config.momentum,
                                   weight_decay=config.weight_decay)
        self.signs = SignStream(config.seed)
        self.dtype = params["W1"].dtype

    def train_batch(self, x, y):
        cfg = self.cfg
        x = torch.from_numpy(x).to(self.dtype)
        target = F.one_hot(torch.from_numpy(y), cfg.classes).to(self.dtype)
        beta = cfg.beta
        if cfg.estimator == "random-sign":
            beta *= self.signs.next_sign()
        if cfg.algorithm == "cep":
            return self.continual(x, target, beta)
        free, a, b = self.net.phases(x, target, cfg.estimator, beta)
        top = self.net.layers[-1](free[-1].flatten(1)) if cfg.loss == "ce" else free[-1]
        self.net.update_direction(x, target, a, b)
        for p in self.net.layers.parameters():
            p.grad = -p.grad
        self.opt.step()
        return torch.argmax(top, dim=1).numpy()

    def continual(self, x, target, beta):
        """C-EP: an SGD step after every nudged step, from the Φ-difference of its two states
        over β (over ±2β in each leg of the symmetric variant, both legs from s*)."""
        net, cfg = self.net, self.cfg
        free = net.relax(x, net.zero_state(x.shape[0], x.dtype), cfg.t1, 0.0, None)
        legs = [(beta, 0.5 / beta), (-beta, -0.5 / beta)] if cfg.estimator == "symmetric" else [(beta, 1 / beta)]
        for leg, scale in legs:
            s = free
            for k in range(cfg.t2):
                new = net.step(x, s, leg, target)
                net.update_direction(x, target, (s, leg), (new, leg), scale)
                for group in self.opt.param_groups:   # the 2021 code's per-step scaling
                    for p in group["params"]:
                        p.grad = -p.grad / (1 - group["lr"] * group["weight_decay"]) ** (cfg.t2 - 1 - k)
                self.opt.step()
                s = new
        return torch.argmax(free[-1], dim=1).numpy()
