"""The generated Verilog under cocotb, in Icarus and in Verilator, against the fixed-point model.

Every test runs the real simulators on the core's Verilog (``epfpga verilog``'s text): the
cocotb monitors check each beat of both pipelines as it happens and the cycles of every run,
and the recorded trace must equal the fixed-point model's.  A missing simulator fails here
with the line that says what to install; nothing is skipped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from epfpga import config as config_mod
from epfpga.contract import programs
from epfpga.hdl import schedule
from epfpga.hdl.activation import Activation
from epfpga.trace import compare
from epfpga.verification import simulators
from epfpga.verification.checker import Mismatch
from epfpga.verification.trainer import CheckedRtlTrainer, RtlTrainer

from tests.hdl.helpers import random_data, random_gateware_config, traces

SIMS = ("icarus", "verilator")
DEFAULT_SEEDS = (0, 1)
SLOW_SEEDS = tuple(range(2, 53))


@pytest.mark.parametrize("sim", SIMS)
def test_simulator_is_installed(sim):
    try:
        simulators.prepare(sim)
    except simulators.SimulatorError as exc:
        pytest.fail(str(exc))


def replay(sim: str, seed: int, slow: bool) -> str:
    name = "test_random_config_slow" if slow else "test_random_config"
    return f".venv/bin/python -m pytest 'tests/verification/test_cocotb.py::{name}[{sim}-{seed}]'" + (" -m slow" if slow else "")


def check_random_config(sim: str, seed: int, slow: bool = False) -> None:
    """A seeded random config: monitors on, trace equal to the fixed-point model's, every run on
    schedule.  Icarus records a waveform, so that a failure leaves one; Verilator does not: its
    FST tracing cost 26 s a config (a model of twice the C++, and the dump), and each config
    runs in both simulators (the wrong-gateware test covers Verilator's waveform)."""
    rng = np.random.default_rng(2000 + seed)
    cfg = random_gateware_config(rng)
    x, y = random_data(cfg, rng, batches=2)
    rtl = CheckedRtlTrainer(cfg, sim=sim, waves=sim == "icarus")
    try:
        fixed, got = traces(cfg, x, y, rtl)
    except Mismatch as exc:
        pytest.fail(f"{exc}\nreplay: {replay(sim, seed, slow)}")
    finally:
        rtl.close()
    result = compare(fixed, got)
    assert result.first is None, f"{result.first}; replay: {replay(sim, seed, slow)}"
    assert rtl.mismatches == 0
    model = schedule.program_cycles(rtl.hw, programs.training(cfg.estimator, cfg.t1, cfg.t2))
    for counters in rtl.cycles:   # (and the core waited between runs: WAIT_CYCLES, not scheduled)
        assert {k: counters[k] for k in model.counters()} == model.counters()


@pytest.mark.parametrize("seed", DEFAULT_SEEDS)
@pytest.mark.parametrize("sim", SIMS)
def test_random_config(sim, seed):
    check_random_config(sim, seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SLOW_SEEDS)
@pytest.mark.parametrize("sim", SIMS)
def test_random_config_slow(sim, seed):
    check_random_config(sim, seed, slow=True)


def _first_wrong_step(fixed, faulty, cfg) -> tuple[int, str, int, dict[int, list[int]]]:
    """The first neuron step (in the order the core runs them) whose states differ, and the
    differing units of each layer in it."""
    layers = len(cfg.sizes) - 1
    phases = [("free", cfg.t1), ("plus", cfg.t2)] + ([("minus", cfg.t2)] if "minus_L1" in fixed.arrays else [])
    for b in range(cfg.batch):
        for phase, steps in phases:
            for t in range(steps):
                wrong = {n: np.flatnonzero(fixed.arrays[f"{phase}_L{n}"][0, t, b] != faulty.arrays[f"{phase}_L{n}"][0, t, b]).tolist()
                         for n in range(1, layers + 1)}
                if any(wrong.values()):
                    return b, phase, t, wrong
    raise AssertionError("the faulty gateware computed the same states as the model")


def _truncate(v, m: int):
    """ρ_q's rounding with its constant ``2^(m-1)`` dropped (one bit flipped): a wrong core."""
    return v >> m if m > 0 else v << -m


@pytest.mark.parametrize("sim", SIMS)
def test_wrong_gateware_is_caught_at_the_first_wrong_beat(sim, monkeypatch):
    """A core whose activation truncates instead of rounding (the fault is injected here, into
    the gateware's one rounding of ρ_q): the monitor stops at the first wrong beat, names it,
    and the waveform file is written."""
    cfg = config_mod.from_dict(dict(sizes=[11, 9, 4], lanes=4, batch=2, t1=4, t2=2, lrs=[0.5, 0.5],
                                    activation="my_hard_sig", estimator="symmetric", seed=3))
    x, y = random_data(cfg, np.random.default_rng(3), batches=1)
    monkeypatch.setattr(Activation, "round", staticmethod(_truncate))

    # what the faulty core computes, recorded without checks: the reference for "first" (with
    # waves, as the checked run below: one model for both)
    recorder = RtlTrainer(cfg, sim=sim, waves=True)
    try:
        fixed, got = traces(cfg, x, y, recorder)
    finally:
        recorder.close()
    sample, phase, step, wrong = _first_wrong_step(fixed, got, cfg)

    checked = CheckedRtlTrainer(cfg, sim=sim, waves=True)
    with pytest.raises(Mismatch) as caught:
        checked.train_batch(x, y)
    checked.close()
    message = str(caught.value)
    found = re.search(r"sample (\d+) phase (\w+) step (\d+) layer (\d+) unit (\d+) at [\d.]+ ns: "
                      r"expected (\d+), got (\d+)", message)
    assert found, message
    layer, unit, expected, value = (int(found[i]) for i in (4, 5, 6, 7))
    assert (int(found[1]), found[2], int(found[3])) == (sample, phase, step), message
    assert unit == wrong[layer][0], message   # the first wrong unit of its layer
    arrays = f"{phase}_L{layer}"
    assert (expected, value) == (fixed.arrays[arrays][0, step, sample, unit], got.arrays[arrays][0, step, sample, unit])
    waves = re.search(r"waveform: (\S+);", message)
    assert waves and os.path.getsize(waves[1]) > 0, message


def test_missing_simulator_exits_2_with_one_line(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))   # no iverilog, no vvp
    proc = subprocess.run([sys.executable, "-m", "epfpga.cli", "trace", "--backend", "rtl", "--sim", "icarus",
                           "--samples", "16", "--out", str(tmp_path / "t.npz")], capture_output=True, text=True, env=env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "apt-get install iverilog" in lines[0], proc.stderr


def test_corrupt_cached_model_exits_2_with_one_line(tmp_path):
    cfg = config_mod.from_dict(dict(sizes=[64, 5, 10], lanes=4, batch=2, t1=2, t2=1, lrs=[0.5, 0.5]))
    path = tmp_path / "c.toml"
    path.write_text(config_mod.dumps(cfg))
    env = dict(os.environ, EPFPGA_CACHE=str(tmp_path / "cache"))
    args = [sys.executable, "-m", "epfpga.cli", "trace", "--backend", "rtl", "--sim", "icarus", "--config", str(path),
            "--samples", "2", "--out", str(tmp_path / "t.npz")]
    first = subprocess.run(args, capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    (model,) = [p for p in (tmp_path / "cache").iterdir() if p.is_dir()]   # (beside it: its build lock)
    binary = model / "build" / "sim.vvp"
    binary.write_bytes(binary.read_bytes()[:-10])
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "corrupt" in lines[0] and str(model) in lines[0], proc.stderr


def test_train_check_through_the_cli(tmp_path):
    """``train --check`` in Icarus: every beat checked, the epoch runs to the end, no mismatch
    (the evaluation on 16 test samples: Icarus runs the 360 of ``digits`` in 40 s)."""
    cfg = config_mod.from_dict(dict(sizes=[64, 12, 10], lanes=4, batch=4, t1=3, t2=2, lrs=[0.5, 0.25],
                                    estimator="random-sign", epochs=1))
    path = tmp_path / "c.toml"
    path.write_text(config_mod.dumps(cfg))
    proc = subprocess.run([sys.executable, "-m", "epfpga.cli", "train", "--backend", "rtl", "--sim", "icarus",
                           "--check", "--config", str(path), "--limit", "16", "--test-limit", "16",
                           "--out", str(tmp_path / "run")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "check: 0 values of the gateware differ" in proc.stdout
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["mismatches"] == 0


@pytest.mark.parametrize("beat", ("step_ends", "writes"))
@pytest.mark.parametrize("sim", SIMS)
def test_a_one_cycle_slip_is_caught_at_its_beat(sim, beat):
    """The monitors stamp every ``step_done`` and every weight word write with its cycle: a
    schedule one cycle off at a single beat in the middle of the run (the total unchanged)
    fails there, naming the beat, the model's cycle and the core's."""
    cfg = config_mod.from_dict(dict(sizes=[11, 9, 4], lanes=4, batch=2, t1=4, t2=2, lrs=[0.5, 0.5],
                                    estimator="symmetric", seed=3))
    x, y = random_data(cfg, np.random.default_rng(3), batches=1)
    checked = CheckedRtlTrainer(cfg, sim=sim)
    stamps = list(getattr(checked._schedule, beat))
    k = len(stamps) // 2
    stamps[k] += 1
    checked._schedule = dataclasses.replace(checked._schedule, **{beat: tuple(stamps)})
    with pytest.raises(Mismatch) as caught:
        checked.train_batch(x, y)
    checked.close()
    message = str(caught.value)
    what = r"sample [\d, ]+ phase \w+ step \d+: step_done" if beat == "step_ends" else r"phase update: the write of \w+ row \d+ word \d+"
    found = re.search(rf"batch 0: {what} in cycle (\d+), the schedule model's cycle (\d+) \(-1\)", message)
    assert found, message
    assert int(found[1]) == stamps[k] - 1 and int(found[2]) == stamps[k], message
