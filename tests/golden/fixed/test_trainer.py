"""The fixed-point backend trains as well as the float one from the same start."""

import numpy as np
import pytest

from epfpga import config, data
from epfpga.golden.fixed.formats import FixedSpec
from epfpga.golden.fixed.trainer import FixedTrainer
from epfpga.golden.network import init_params
from epfpga.golden.trainer import FloatTrainer
from epfpga.train import run


def _both(cfg, dataset, tmp_path):
    spec = FixedSpec.from_config(cfg)
    start = spec.representable(init_params(cfg.replace(dtype="float64")))
    fixed = FixedTrainer(cfg, start)
    assert all(np.array_equal(fixed.weights()[k], v.numpy()) for k, v in start.items())
    errors = {}
    float_trainer = FloatTrainer(cfg.replace(lrs=spec.learning_rates), start)   # the same rates
    for name, trainer in (("float", float_trainer), ("fixed", fixed)):
        errors[name] = run(cfg, dataset, trainer, tmp_path / name, progress=False)["test_error"]
    return errors


def test_digits_fixed_within_1_point_of_float(tmp_path):
    errors = _both(config.load("digits"), data.load("digits"), tmp_path)
    assert abs(errors["fixed"] - errors["float"]) <= 0.010, errors
    assert errors["fixed"] <= 0.03


@pytest.mark.slow      # (MNIST-sized, 90 s; the digits case above is the default suite's)
def test_mnist_fixed_within_half_a_point_of_float(tmp_path, mnist_dir):
    errors = _both(config.load("mnist"), data.load(f"mnist:{mnist_dir}"), tmp_path)
    assert abs(errors["fixed"] - errors["float"]) <= 0.005, errors


@pytest.mark.parametrize("estimator", ["one-sided", "random-sign", "symmetric"])
@pytest.mark.parametrize("activation", ["hard_sigmoid", "my_hard_sig", "my_sigmoid"])
def test_every_estimator_and_activation_tracks_float(estimator, activation, tmp_path):
    # my_hard_sig has half the slope: it needs larger learning rates to learn as fast.
    lrs = (0.4, 0.2) if activation == "my_hard_sig" else (0.1, 0.05)
    cfg = config.load("digits").replace(estimator=estimator, activation=activation, epochs=3, lrs=lrs,
                                        sizes=(64, 32, 10), beta=0.5 if estimator == "symmetric" else 0.25)
    errors = _both(cfg, data.load("digits"), tmp_path)
    assert errors["fixed"] < 0.2 and abs(errors["fixed"] - errors["float"]) < 0.03, errors


def test_lanes_only_change_the_stochastic_rounding(tmp_path):
    ds = data.load("digits").limited(64)
    base = config.load("digits").replace(epochs=1)
    weights = {}
    for lanes in (1, 8):
        for rounding in ("nearest", "stochastic"):
            cfg = base.replace(lanes=lanes, fixed=config.FixedFormat(rounding=rounding))
            trainer = FixedTrainer(cfg)
            run(cfg, ds, trainer, tmp_path / f"{lanes}{rounding}", progress=False)
            weights[lanes, rounding] = trainer.weights()["W1"]
    assert np.array_equal(weights[1, "nearest"], weights[8, "nearest"])
    assert not np.array_equal(weights[1, "stochastic"], weights[8, "stochastic"])
