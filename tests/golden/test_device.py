"""The float model on CUDA computes what it computes on the CPU (float64, same weights and
batches).  Runs only where PyTorch sees a CUDA device; the rest of the suite covers the CPU."""

import numpy as np
import pytest
import torch

from epfpga.golden.trainer import FloatTrainer

from .random_configs import random_batch, random_config, random_conv_config, random_images

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


@pytest.mark.parametrize("conv", [False, True], ids=["mlp", "cnn"])
@pytest.mark.parametrize("seed", range(5))
def test_cuda_training_matches_cpu(seed, conv):
    rng = np.random.default_rng(3000 + seed)
    cfg = random_conv_config(rng) if conv else random_config(rng)
    batches = [(random_images if conv else random_batch)(cfg, rng) for _ in range(3)]
    cpu, gpu = FloatTrainer(cfg), FloatTrainer(cfg, device="cuda")
    for x, y in batches:
        assert np.array_equal(cpu.train_batch(x, y), gpu.train_batch(x, y))
    for name, value in cpu.params.items():
        assert float((gpu.params[name].cpu() - value).abs().max()) <= 1e-12, name
