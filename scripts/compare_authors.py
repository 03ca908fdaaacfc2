"""Train the float golden model beside the authors' own code on the same weights and batches.

The reference code is not part of this repository: point ``--laborieux`` at a checkout of
Laborieux-Axel/Equilibrium-Propagation (the folder holding ``model_utils.py``).  Its
top-level ``torchvision`` import is satisfied by an empty module: the model classes do not
use it.  For each case the script builds the reference model, copies our initial weights
into it, runs the reference's own phases and ``compute_syn_grads`` with SGD exactly as its
``train`` loop does (the random sign taken from our documented sign stream), trains ours on
the same mini-batches, and prints the largest weight difference after the last update.

    python scripts/compare_authors.py --laborieux /path/to/Equilibrium-Propagation
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

BATCHES = 5
ACTIVATIONS = {"hard_sigmoid": "hard_sigmoid", "my_hard_sig": "my_hard_sig"}


def _reference(folder: Path):
    sys.modules.setdefault("torchvision", types.ModuleType("torchvision"))
    sys.path.insert(0, str(folder))
    return importlib.import_module("model_utils")


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
    with torch.no_grad():
        for syn, name in zip(model.synapses, names):
            syn.weight.copy_(params[name])
            syn.bias.copy_(params["b" + name[1:]])
    groups = [{"params": syn.parameters(), "lr": lr} for syn, lr in zip(model.synapses, cfg.lrs)]
    opt = torch.optim.SGD(groups, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
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
    diff = 0.0
    for syn, name in zip(model.synapses, names):
        for ref, key in ((syn.weight, name), (syn.bias, "b" + name[1:])):
            diff = max(diff, float((ours.params[key].double() - ref.detach().double()).abs().max()))
    return diff, same_pred


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laborieux", type=Path, required=True, metavar="DIR")
    args = parser.parse_args()
    if not (args.laborieux / "model_utils.py").is_file():
        parser.error(f"--laborieux {args.laborieux}: no model_utils.py there")
    torch.set_num_threads(1)
    mu = _reference(args.laborieux)
    data = load_digits()
    rng = np.random.default_rng(0)
    batches = [(data.train_x[i].astype(np.float64), data.train_y[i])
               for i in (rng.permutation(len(data.train_y))[k * 8:(k + 1) * 8] for k in range(BATCHES))]
    print(f"P-CNN 1x8x8 -> conv3 4 -> pool -> conv3 8 -> pool -> 10, beta 0.5, T1 20, T2 8, batch 8, "
          f"SGD momentum 0.9, weight decay 1e-3, {BATCHES} updates on digits")
    print("| activation | loss | estimator | max |W_ours - W_ref| f32 / f64 | same predictions |")
    print("|---|---|---|---|---|")
    for activation in ACTIVATIONS:
        for loss in ("mse", "ce"):
            for estimator in ("one-sided", "symmetric", "random-sign"):
                res = []
                for dtype in ("float32", "float64"):
                    cfg = conv_config(activation, estimator, loss, dtype)
                    cast = [(x.astype(np.float32) if dtype == "float32" else x, y) for x, y in batches]
                    torch.set_default_dtype(torch.float32 if dtype == "float32" else torch.float64)
                    res.append(run_pcnn(mu, cfg, cast))   # the reference's states take the default dtype
                    torch.set_default_dtype(torch.float32)
                print(f"| {activation} | {loss} | {estimator} | {res[0][0]:.1e} / {res[1][0]:.1e} "
                      f"| {res[0][1] and res[1][1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
