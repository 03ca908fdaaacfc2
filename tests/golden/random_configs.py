"""Seeded random configurations for the golden-model cross-checks."""

from __future__ import annotations

import numpy as np

from epfpga.config import ACTIVATIONS, ESTIMATORS, Config


def random_config(rng: np.random.Generator, **fixed) -> Config:
    loss = str(rng.choice(["mse", "ce"]))
    depth = int(rng.integers(1, 4))  # neuron layers
    sizes = [int(rng.integers(2, 13)) for _ in range(depth + 1)]
    sizes.append(int(rng.integers(2, 7)) if loss == "ce" else sizes.pop())
    cfg = dict(
        sizes=tuple(sizes), loss=loss,
        activation=str(rng.choice(ACTIVATIONS)), estimator=str(rng.choice(ESTIMATORS)),
        nudge=str(rng.choice(["inside", "outside"])),
        beta=float(rng.choice([0.01, 0.1, 0.5, 1.0])),
        t1=int(rng.integers(1, 12)), t2=int(rng.integers(1, 6)), batch=int(rng.integers(1, 6)),
        lrs=tuple(float(v) for v in rng.uniform(0.01, 0.2, len(sizes) - 1)),
        momentum=float(rng.choice([0.0, 0.9])), weight_decay=float(rng.choice([0.0, 1e-3])),
        seed=int(rng.integers(0, 1 << 31)), dtype="float64",
    )
    cfg.update(fixed)
    return Config(**cfg)


def random_batch(cfg: Config, rng: np.random.Generator, batch: int | None = None):
    n = batch or cfg.batch
    x = rng.uniform(0, 1, (n, cfg.sizes[0]))
    y = rng.integers(0, cfg.classes, n)
    return x, y


def random_conv_config(rng: np.random.Generator, **fixed) -> Config:
    """A small P-CNN: 1–2 conv layers (kernel 1–3, padding 0–1, maps of odd and even size),
    0–1 fully connected hidden layers, MSE or softmax-readout CE."""
    loss = str(rng.choice(["mse", "ce"]))
    convs = int(rng.integers(1, 3))
    kernels = [int(rng.integers(1, 4)) for _ in range(convs)]
    paddings = [int(rng.integers(0, 2)) for _ in range(convs)]
    side = 2   # smallest map on top, then grown downwards so every layer fits its pool
    for k, pad in zip(reversed(kernels), reversed(paddings)):
        side = 2 * side + int(rng.integers(0, 2)) + k - 1 - 2 * pad
    side = max(side, 2)
    shape = (int(rng.integers(1, 3)), side, side + int(rng.integers(0, 2)))
    fc = [int(rng.integers(2, 7)) for _ in range(int(rng.integers(0, 2)))]
    sizes = [int(np.prod(shape)), *fc, int(rng.integers(2, 6))]
    cfg = dict(
        sizes=tuple(sizes), loss=loss, input_shape=shape,
        channels=tuple(int(rng.integers(1, 4)) for _ in range(convs)),
        kernels=tuple(kernels), paddings=tuple(paddings),
        activation=str(rng.choice(ACTIVATIONS)), estimator=str(rng.choice(ESTIMATORS)),
        nudge=str(rng.choice(["inside", "outside"])),
        beta=float(rng.choice([0.01, 0.1, 0.5, 1.0])),
        t1=int(rng.integers(1, 10)), t2=int(rng.integers(1, 5)), batch=int(rng.integers(1, 4)),
        lrs=tuple(float(v) for v in rng.uniform(0.01, 0.2, convs + len(sizes) - 1)),
        momentum=float(rng.choice([0.0, 0.9])), weight_decay=float(rng.choice([0.0, 1e-3])),
        seed=int(rng.integers(0, 1 << 31)), dtype="float64",
    )
    cfg.update(fixed)
    return Config(**cfg)


def random_images(cfg: Config, rng: np.random.Generator, batch: int | None = None):
    """Inputs with a zero border, as MNIST has: the conv layers' max-pools see tied windows."""
    x, y = random_batch(cfg, rng, batch)
    img = x.reshape(len(x), *cfg.input_shape)
    _, h, w = cfg.input_shape
    img[:, :, : (h + 2) // 3, :] = 0.0
    img[:, :, :, : (w + 2) // 3] = 0.0
    return x, y
