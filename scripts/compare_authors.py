"""Train the float golden model beside the authors' own code on the same weights and batches.

The reference code is not part of this repository: point ``--laborieux`` at a checkout of
Laborieux-Axel/Equilibrium-Propagation (the folder holding ``model_utils.py``) for the P-CNN
cases, and ``--continual`` at one of ernoult/continualEP (the folder holding
``netClasses.py``) for C-EP and C-VF.  Their top-level ``torchvision`` imports are satisfied
by an empty module, and continualEP's ``from main import rho`` by a module holding its
two-line ``sigm`` activation: the model classes use nothing else from them.  For each case the script builds the reference model, copies our initial weights
into it, runs the reference's own phases and ``compute_syn_grads`` with SGD exactly as its
``train`` loop does (the random sign taken from our documented sign stream), trains ours on
the same mini-batches, and prints the largest weight difference after the last update.

    python scripts/compare_authors.py --laborieux DIR --continual DIR
"""

from __future__ import annotations

import argparse
import importlib
import sys
import types
from pathlib import Path

import numpy as np
import torch

from epfpga.config import Config
from epfpga.data import load_digits
from epfpga.golden.network import init_params
from epfpga.golden.prng import SignStream
from epfpga.golden.trainer import FloatTrainer
from run_args import fail

BATCHES = 5
ACTIVATIONS = {"hard_sigmoid": "hard_sigmoid", "my_hard_sig": "my_hard_sig"}


def _reference(folder: Path, module: str):
    sys.modules.setdefault("torchvision", types.ModuleType("torchvision"))
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(folder))


def _continual_reference(folder: Path):
    main = types.ModuleType("main")
    main.rho = lambda x: 1 / (1 + torch.exp(-(4 * (x - 0.5))))
    main.rhop = lambda x: 4 * main.rho(x) * (1 - main.rho(x))
    sys.modules["main"] = main
    return _reference(folder, "netClasses")


def _in_both_dtypes(run, batches) -> list:
    """``run(dtype, batches)`` in float32 then float64, the batches cast and PyTorch's default
    dtype set to match (the references create their states with the default dtype)."""
    results = []
    for dtype in ("float32", "float64"):
        cast = [(x.astype(np.float32) if dtype == "float32" else x, y) for x, y in batches]
        torch.set_default_dtype(torch.float32 if dtype == "float32" else torch.float64)
        try:
            results.append(run(dtype, cast))
        finally:
            torch.set_default_dtype(torch.float32)
    return results


def _copy_into(synapses, params, names: list[str]) -> None:
    """Our ``W``/``b`` of each name in ``names`` into the reference's layers, in order."""
    with torch.no_grad():
        for syn, name in zip(synapses, names):
            syn.weight.copy_(params[name])
            syn.bias.copy_(params["b" + name[1:]])


def _weights_and_biases(synapses, names: list[str]) -> list:
    """``(reference tensor, our name)`` pairs of the weights and biases of ``synapses``."""
    return [pair for syn, name in zip(synapses, names) for pair in ((syn.weight, name), (syn.bias, "b" + name[1:]))]


def _max_diff(ours: FloatTrainer, pairs) -> float:
    """Largest |ours − reference| over ``(reference tensor, our parameter name)`` pairs."""
    return max(float((ours.params[key].double() - ref.detach().double()).abs().max()) for ref, key in pairs)


def _sgd(synapses, cfg: Config) -> torch.optim.SGD:
    """The references' optimiser: one SGD group per layer at its rate."""
    return torch.optim.SGD([{"params": syn.parameters(), "lr": lr} for syn, lr in zip(synapses, cfg.lrs)],
                           momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def continual_config(sizes: tuple[int, ...], feedback: str, lrs: tuple[float, ...], beta: float,
                     t1: int, t2: int, dtype: str) -> Config:
    """continualEP's discrete-time settings (my_sigmoid, nudge outside ρ, one-sided)."""
    return Config(name="cep-check", sizes=sizes, activation="my_sigmoid", estimator="one-sided",
                  nudge="outside", algorithm="cep", feedback=feedback, beta=beta, t1=t1, t2=t2,
                  batch=8, lrs=lrs, dtype=dtype, seed=5)


def run_continual(nc, cfg: Config, batches) -> float:
    """continualEP's ``EPdisc`` / ``VFdisc`` with ``--cep``, driven as its ``train`` does."""
    dtype = torch.float32 if cfg.dtype == "float32" else torch.float64
    vf = cfg.feedback == "separate"
    args = types.SimpleNamespace(T=cfg.t1, Kmax=cfg.t2, size_tab=list(cfg.sizes[::-1]),
                                 lr_tab=list(cfg.lrs[::-1]), cep=True, device_label=-1, beta=cfg.beta,
                                 debug_cep=False, randbeta=0, angle=0)
    net = (nc.VFdisc if vf else nc.EPdisc)(args).to(dtype)
    params = init_params(cfg)
    n = len(cfg.neuron_sizes)
    # theirs, output side first: w[2i] = W_{N-i}, w[2i+1] = B_{N-i} (VF only)
    forward, names = [net.w[2 * i] for i in range(n)], [f"W{n - i}" for i in range(n)]
    feedback = [(net.w[2 * i + 1].weight, f"B{n - i}") for i in range(n - 1)] if vf else []
    _copy_into(forward, params, names)
    with torch.no_grad():
        for ref, key in feedback:
            ref.copy_(params[key])
    ours = FloatTrainer(cfg, params)
    for x, y in batches:
        data = torch.from_numpy(x).to(dtype)
        target = torch.nn.functional.one_hot(torch.from_numpy(y), cfg.classes).to(dtype)
        with torch.no_grad():
            s = net.forward(data, [t.to(dtype) for t in net.initHidden(len(x))])
            net.forward(data, s, target=target, beta=cfg.beta, method="nograd")
        ours.train_batch(x, y)
    return _max_diff(ours, _weights_and_biases(forward, names) + feedback)


def conv_config(activation: str, estimator: str, loss: str, dtype: str) -> Config:
    """A small P-CNN on the 8x8 digits: conv3x3 4 (pad 1) -> pool -> conv3x3 8 (pad 1) -> pool."""
    return Config(name="pcnn-check", sizes=(64, 10), input_shape=(1, 8, 8), channels=(4, 8),
                  kernels=(3, 3), paddings=(1, 1), activation=activation, estimator=estimator,
                  loss=loss, beta=0.5, t1=20, t2=8, batch=8, lrs=(0.05, 0.04, 0.03),
                  momentum=0.9, weight_decay=1e-3, dtype=dtype, seed=3)


def run_pcnn(mu, cfg: Config, batches) -> tuple[float, bool]:
    dtype = torch.float32 if cfg.dtype == "float32" else torch.float64
    pools = mu.make_pools("mm")
    model = mu.P_CNN(8, [1, *cfg.channels], list(cfg.kernels), [1, 1], [cfg.classes], pools,
                     list(cfg.paddings), activation=getattr(mu, ACTIVATIONS[cfg.activation]),
                     softmax=cfg.loss == "ce").to(dtype)
    params = init_params(cfg)
    names = [n for n in params if n.startswith("W")]
    _copy_into(model.synapses, params, names)
    opt = _sgd(model.synapses, cfg)
    criterion = (torch.nn.MSELoss(reduction="none") if cfg.loss == "mse"
                 else torch.nn.CrossEntropyLoss(reduction="none"))
    signs = SignStream(cfg.seed)
    ours = FloatTrainer(cfg, params)
    same_pred = True
    for x, y in batches:
        xt = torch.from_numpy(x).to(dtype).view(len(x), 1, 8, 8)
        yt = torch.from_numpy(y)
        beta = cfg.beta * (signs.next_sign() if cfg.estimator == "random-sign" else 1)
        neurons = model(xt, yt, model.init_neurons(len(x), "cpu"), cfg.t1, beta=0.0, criterion=criterion)
        free = mu.copy(neurons)
        top = model.synapses[-1](free[-1].view(len(x), -1)) if cfg.loss == "ce" else free[-1]
        plus = mu.copy(model(xt, yt, neurons, cfg.t2, beta=beta, criterion=criterion))
        if cfg.estimator == "symmetric":
            minus = mu.copy(model(xt, yt, mu.copy(free), cfg.t2, beta=-beta, criterion=criterion))
            model.compute_syn_grads(xt, yt, plus, minus, (beta, -beta), criterion)
        else:
            model.compute_syn_grads(xt, yt, free, plus, (0.0, beta), criterion)
        opt.step()
        same_pred &= bool(np.array_equal(torch.argmax(top, dim=1).numpy(), ours.train_batch(x, y)))
    return _max_diff(ours, _weights_and_biases(model.synapses, names)), same_pred


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laborieux", type=Path, metavar="DIR")
    parser.add_argument("--continual", type=Path, metavar="DIR")
    args = parser.parse_args()
    if not (args.laborieux or args.continual):
        fail("nothing to compare: give --laborieux DIR and/or --continual DIR")
    torch.set_num_threads(1)
    data = load_digits()
    rng = np.random.default_rng(0)
    batches = [(data.train_x[i].astype(np.float64), data.train_y[i])
               for i in (rng.permutation(len(data.train_y))[k * 8:(k + 1) * 8] for k in range(BATCHES))]
    if args.laborieux:
        if not (args.laborieux / "model_utils.py").is_file():
            fail(f"--laborieux {args.laborieux}: no model_utils.py there")
        mu = _reference(args.laborieux, "model_utils")
        compare_pcnn(mu, batches)
        compare_laborieux_cep(mu, batches)
    if args.continual:
        if not (args.continual / "netClasses.py").is_file():
            fail(f"--continual {args.continual}: no netClasses.py there")
        compare_continual(_continual_reference(args.continual), batches)
    return 0


def run_laborieux_cep(mu, cfg: Config, batches) -> float:
    """Laborieux's ``P_MLP`` trained by the ``CEP`` branch of its ``train`` loop: one
    ``compute_syn_grads`` and SGD step per nudged step, each update divided by
    ``(1 − lr·wd)^(T2−1−k)``."""
    dtype = torch.float32 if cfg.dtype == "float32" else torch.float64
    model = mu.P_MLP(list(cfg.sizes), activation=mu.my_sigmoid).to(dtype)
    params = init_params(cfg)
    names = [f"W{n}" for n in range(1, len(model.synapses) + 1)]
    _copy_into(model.synapses, params, names)
    opt = _sgd(model.synapses, cfg)
    crit = torch.nn.MSELoss(reduction="none")
    ours = FloatTrainer(cfg, params)
    for x, y in batches:
        xt, yt = torch.from_numpy(x).to(dtype), torch.from_numpy(y)
        neurons = model(xt, yt, model.init_neurons(len(x), "cpu"), cfg.t1, beta=0.0, criterion=crit)
        before = mu.copy(neurons)
        for k in range(cfg.t2):
            neurons = model(xt, yt, neurons, 1, beta=cfg.beta, criterion=crit)
            after = mu.copy(neurons)
            model.compute_syn_grads(xt, yt, before, after, (0.0, cfg.beta), crit)
            for name, param in model.named_parameters():
                group = opt.param_groups[int(name[9])]
                param.grad.data.div_((1 - group["lr"] * group["weight_decay"]) ** (cfg.t2 - 1 - k))
            opt.step()
            before = mu.copy(neurons)
        ours.train_batch(x, y)
    return _max_diff(ours, _weights_and_biases(model.synapses, names))


def compare_laborieux_cep(mu, batches) -> None:
    print(f"\nLaborieux P_MLP, CEP branch: 64-32-10, my_sigmoid, nudge inside, beta 0.2, T1 40, T2 15, "
          f"batch 8, lrs 0.02 0.01, weight decay 1e-3, {BATCHES} mini-batches")
    res = _in_both_dtypes(lambda dtype, cast: run_laborieux_cep(mu, Config(
        name="cep-2021", sizes=(64, 32, 10), activation="my_sigmoid", estimator="one-sided", algorithm="cep",
        beta=0.2, t1=40, t2=15, batch=8, lrs=(0.02, 0.01), weight_decay=1e-3, dtype=dtype, seed=5), cast), batches)
    print(f"max |θ_ours - θ_ref| f32 / f64: {res[0]:.1e} / {res[1]:.1e}")


def compare_continual(nc, batches) -> None:
    print(f"\ncontinualEP, discrete time, my_sigmoid, the README's rates, beta, T1 and T2 per case, "
          f"batch 8, {BATCHES} mini-batches on digits (C-VF: the input layer's rate is 0: see docs/results.md)")
    print("| case | lrs (input first) | beta, T1, T2 | max |θ_ours - θ_ref| f32 / f64 |")
    print("|---|---|---|---|")
    cases = [("C-EP 64-32-10", (64, 32, 10), "tied", (0.0056, 0.0028), 0.2, 40, 15),
             ("C-EP 64-32-16-10", (64, 32, 16, 10), "tied", (0.01, 0.0018, 0.00018), 0.5, 100, 20),
             ("C-VF 64-32-16-10", (64, 32, 16, 10), "separate", (0.0, 0.0016, 0.00016), 0.35, 100, 20),
             ("C-VF 64-32-10", (64, 32, 10), "separate", (0.0, 0.0038), 0.2, 40, 15)]
    for name, sizes, feedback, lrs, beta, t1, t2 in cases:
        res = _in_both_dtypes(lambda dtype, cast: run_continual(
            nc, continual_config(sizes, feedback, lrs, beta, t1, t2, dtype), cast), batches)
        print(f"| {name} | {', '.join(map(str, lrs))} | {beta}, {t1}, {t2} | {res[0]:.1e} / {res[1]:.1e} |")


def compare_pcnn(mu, batches) -> None:
    print(f"P-CNN 1x8x8 -> conv3 4 -> pool -> conv3 8 -> pool -> 10, beta 0.5, T1 20, T2 8, batch 8, "
          f"SGD momentum 0.9, weight decay 1e-3, {BATCHES} updates on digits")
    print("| activation | loss | estimator | max |W_ours - W_ref| f32 / f64 | same predictions |")
    print("|---|---|---|---|---|")
    for activation in ACTIVATIONS:
        for loss in ("mse", "ce"):
            for estimator in ("one-sided", "symmetric", "random-sign"):
                res = _in_both_dtypes(lambda dtype, cast: run_pcnn(
                    mu, conv_config(activation, estimator, loss, dtype), cast), batches)
                print(f"| {activation} | {loss} | {estimator} | {res[0][0]:.1e} / {res[1][0]:.1e} "
                      f"| {res[0][1] and res[1][1]} |")


if __name__ == "__main__":
    sys.exit(main())
