"""The schedule model on the presets: cycles per training sample against the lower bound."""

import pytest

from epfpga import config as config_mod
from epfpga.contract import programs
from epfpga.contract.params import CoreParams
from epfpga.hdl import neuron_timing, schedule


@pytest.mark.parametrize("preset", ["digits", "mnist"])
@pytest.mark.parametrize("lanes", [1, 4, 16])
def test_cycles_per_sample_within_ten_percent_of_the_lower_bound(preset, lanes):
    cfg = config_mod.load(preset).replace(lanes=lanes)
    p = CoreParams.from_config(cfg)
    run = schedule.program_cycles(p, programs.training(cfg.estimator, cfg.t1, cfg.t2))
    per_sample = run.cycles / cfg.batch
    assert schedule.lower_bound(p) <= per_sample <= 1.1 * schedule.lower_bound(p)
    # the bound counts the multiplies the weight-memory read bound leaves out
    assert schedule.lower_bound(p) >= schedule.read_bound(p)


def test_program_walk_counts_every_instruction():
    cfg = config_mod.from_dict(dict(sizes=[5, 7, 3], lanes=2, batch=2, t1=3, t2=2, lrs=[0.1, 0.05]))
    p = CoreParams.from_config(cfg)
    run = schedule.program_cycles(p, programs.training("symmetric", 3, 2))
    # a step issues both samples' rows (3 rows of 4 words each) and drains once
    assert schedule.step_cycles(p) == 2 * 3 * 4 + schedule.drain_output(p) + 2
    # a sample's pass (12 cycles) outlasts the drain: in each relax the steps' issues follow
    # one another, and only the last step drains
    assert neuron_timing.chains(p)
    assert schedule.relax_cycles(p, 3) == 2 * (2 * 3 * 4) + schedule.step_cycles(p)
    # one pair of samples: drive, 3 + 2 + 2 steps, predict, next; then update, halt (2 fetch
    # cycles each)
    per_pair = (schedule.drive_cycles(p) + 4 * (2 * 3 * 4) + 3 * schedule.step_cycles(p) + 1 + 1
                + 6 * schedule.FETCH)
    assert run.cycles == per_pair + schedule.update_cycles(p) + 1 + 2 * schedule.FETCH
    assert run.steps == 7 and run.drive == schedule.drive_cycles(p)
    # step_done in the cycle of a step's last state write
    first = 2 * schedule.FETCH + schedule.drive_cycles(p)   # the relax executes from here
    assert run.step_ends[:3] == tuple(first + t * 24 + schedule.step_cycles(p) - 3 for t in range(3))


@pytest.mark.parametrize("change", [dict(lanes=4), dict(batch=1), dict(sizes=[5, 7, 4, 3], lrs=[0.1, 0.05, 0.05])])
def test_steps_that_do_not_chain_start_as_the_last_one_ends(change):
    """A sample's pass of 3 rows of 2 words is shorter than the drain; a single sample has no
    other sample's rows to cover it; three layers take a pass each."""
    cfg = config_mod.from_dict(dict(dict(sizes=[5, 7, 3], lanes=2, batch=2, t1=3, t2=2, lrs=[0.1, 0.05]), **change))
    p = CoreParams.from_config(cfg)
    assert not neuron_timing.chains(p)
    assert schedule.relax_cycles(p, 3) == 3 * schedule.step_cycles(p) - 2


@pytest.mark.parametrize("lanes", [32, 64])
def test_mnist_at_32_and_64_lanes_within_1_15_of_the_multiplier_bound(lanes):
    """The ULX3S target (issue 21): pairs of samples in the drive and in every step keep
    784-128-10 within 1.15 x the multiplies a sample over 2P."""
    cfg = config_mod.load("mnist").replace(lanes=lanes)
    p = CoreParams.from_config(cfg)
    run = schedule.program_cycles(p, programs.training(cfg.estimator, cfg.t1, cfg.t2))
    assert run.cycles / cfg.batch <= 1.15 * schedule.lower_bound(p)
    multiplies = (cfg.t1 + 2 * cfg.t2 + 1) * 2 * 128 * 10 + 2 * 784 * 128   # the formula
    assert schedule.lower_bound(p) == multiplies / (2 * lanes)
