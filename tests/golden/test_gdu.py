"""GDU property: EP's per-step updates approach truncated BPTT's per-step gradients as β → 0."""

import json

import numpy as np
import pytest
import torch

from epfpga.cli import main
from epfpga.config import Config, load
from epfpga.golden.gdu import CONVERGED, GduResult, gdu_check
from epfpga.golden.network import init_params

BETAS = (0.5, 0.1, 0.01, 0.001)


@pytest.mark.parametrize("activation", ["my_sigmoid", "tanh"])
@pytest.mark.parametrize("seed", [0, 1])
def test_rmse_falls_with_beta_and_is_small_at_1e_3(activation, seed):
    cfg = Config(sizes=(10, 8, 6, 4), activation=activation, t1=300, t2=10, lrs=(0.1,) * 3,
                 dtype="float64", seed=seed)
    p = init_params(cfg)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.uniform(0, 1, (8, 10)))
    target = torch.nn.functional.one_hot(torch.from_numpy(rng.integers(0, 4, 8)), 4).double()
    results = gdu_check(cfg, p, x, target, list(BETAS))
    assert results[0].free_residual < CONVERGED
    summaries = [r.summary() for r in results]
    for name in summaries[0]:
        curve = [s[name]["rmse"] for s in summaries]
        assert all(a > b for a, b in zip(curve, curve[1:])), (name, curve)
        assert curve[-1] < 0.1, (name, curve)
        assert summaries[-1][name]["sign_error"] == 0.0


def test_rmse_and_sign_error_definitions():
    n = {"w": torch.tensor([[1.0, 0.0, 2.0], [1.0, 0.0, -1.0]])}
    d = {"w": torch.tensor([[1.0, 0.0, -2.0], [1.0, 0.0, -1.0]])}
    r = GduResult(0.1, ep=d, bptt=n)
    # components: identical → 0; both zero → 0; third: sqrt(16 / 5).
    assert r.rmse("w") == pytest.approx((0 + 0 + (16 / 5) ** 0.5) / 3)
    # totals 2 vs 2, 0 vs 0 (ignored), 1 vs -3: one of two live components disagrees.
    assert r.sign_error("w") == pytest.approx(0.5)


def test_gdu_command_writes_report_and_plot(tmp_path, capsys):
    toml = tmp_path / "small.toml"
    toml.write_text('sizes = [64, 12, 10]\nactivation = "my_sigmoid"\nt1 = 100\nt2 = 6\nlrs = [0.1, 0.1]\n')
    assert main(["gdu", "--config", str(toml), "--betas", "0.1,0.001", "--samples", "4",
                 "--out", str(tmp_path / "gdu")]) == 0
    report = json.loads((tmp_path / "gdu" / "gdu.json").read_text())
    assert [e["beta"] for e in report["betas"]] == [0.1, 0.001]
    big, small = (e["params"]["W1"]["rmse"] for e in report["betas"])
    assert small < big and small < 0.1
    assert (tmp_path / "gdu" / "gdu.png").stat().st_size > 10_000
    assert "beta 0.001" in capsys.readouterr().out


def test_cep_gdu_degrades_continuously_with_the_learning_rate():
    """C-EP's per-step updates leave BPTT's gradients in proportion to the learning rate:
    rate 0 is EP's GDU check, and the RMSE rises steadily through small rates."""
    cfg = Config(sizes=(10, 8, 6, 4), activation="my_sigmoid", t1=300, t2=10, lrs=(0.1,) * 3,
                 dtype="float64", seed=0)
    p = init_params(cfg)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.uniform(0, 1, (8, 10)))
    target = torch.nn.functional.one_hot(torch.from_numpy(rng.integers(0, 4, 8)), 4).double()
    plain = gdu_check(cfg, p, x, target, [0.01])[0].summary()
    curves = [gdu_check(cfg, p, x, target, [0.01], lr=lr)[0].summary() for lr in (0.0, 1e-5, 1e-3, 3e-3)]
    assert curves[0] == plain
    for name in plain:
        rmse = [c[name]["rmse"] for c in curves]
        assert abs(rmse[1] - rmse[0]) < 0.01, (name, rmse)   # a tiny rate changes little
        assert rmse[1] < rmse[2] < rmse[3] < 1 and rmse[2] > 3 * rmse[0], (name, rmse)


def test_conv_gdu_rmse_falls_with_beta():
    """The GDU property on the small conv net (max-pool routing included)."""
    cfg = load("configs/gdu-conv.toml").replace(dtype="float64", batch=4)
    rng = np.random.default_rng(5)
    x = torch.from_numpy(rng.uniform(0, 1, (4, 64)))
    target = torch.nn.functional.one_hot(torch.from_numpy(rng.integers(0, 10, 4)), 10).double()
    results = gdu_check(cfg, init_params(cfg), x, target, [0.1, 0.01, 0.001])
    assert results[0].free_residual < CONVERGED
    for name, first in results[0].summary().items():
        last = results[-1].summary()[name]
        assert last["rmse"] < 0.05 < first["rmse"] and last["sign_error"] < 0.01, name
