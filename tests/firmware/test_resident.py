"""Resident epochs on the simulated board (``docs/protocol.md`` §11): the training set in its
SDRAM, the device running the epoch by itself, bit-exact with the fixed-point model; while it
runs the link answers for the registers only; a damaged record stops it, named."""

from __future__ import annotations

import numpy as np
import pytest

from epfpga import config as config_mod
from epfpga.contract.address_map import Region, address, layer_region
from epfpga.contract.params import CoreParams
from epfpga.contract.protocol import Command, Status, encode_frame, read_payload, read_values, write_payload
from epfpga.contract.resident import ResidentReg, ResidentState, index_address
from epfpga.firmware.link import LinkError
from epfpga.firmware.resident import permutation_words
from epfpga.firmware.resident_trainer import ResidentTrainer
from epfpga.firmware.sdram_upload import upload
from epfpga.golden.fixed.trainer import FixedTrainer
from epfpga.train import batches

from .test_link import CONFIG, Raw

SDRAM_CONFIG = {**CONFIG, "hardware": {"sdram": True}}


@pytest.fixture(scope="module")
def board():
    from epfpga.verification.board_sim import SimulatedBoard
    sim = SimulatedBoard(CoreParams.from_config(config_mod.from_dict(SDRAM_CONFIG)))
    yield sim
    assert sim.close()["sdram_error"] == ""


def training_set(n: int = 40, seed: int = 1):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 5)).astype(np.float32) / 255
    x[rng.random(x.shape) < 0.4] = 0     # zero runs
    return x, rng.integers(0, 3, n)


def trainer(board, check_every=None, seed=1) -> ResidentTrainer:
    x, y = training_set(seed=seed)
    return ResidentTrainer(config_mod.from_dict(SDRAM_CONFIG), port=board.port, baud=12_000_000, input_levels=255,
                           train_x=x, train_y=y, check_every=check_every)


def test_resident_epochs_are_the_fixed_point_models(board):
    """Two epochs, compared every 3 mini-batches and at each end: weights, PRNG states and
    training errors; then the weights equal the fixed-point model's that trained alone."""
    cfg = config_mod.from_dict(SDRAM_CONFIG)
    device = trainer(board, check_every=3)
    x, y = device.train_x, device.train_y
    golden, rng, wrong = FixedTrainer(cfg), np.random.default_rng(cfg.seed), []
    for _ in range(2):
        order = batches(len(y), cfg.batch, rng)
        got = device.train_epoch(order)
        want = sum(int(np.sum(golden.train_batch(x[idx], y[idx]) != y[idx])) for idx in order)
        wrong.append((got, want))
    assert device.mismatches == 0
    assert all(got == want for got, want in wrong), wrong
    weights = device.driver.read_weights()
    assert all(np.array_equal(weights[k], v.numpy()) for k, v in golden.params.items())
    report = device.link_report()
    assert report["samples"] == 2 * 20 * cfg.batch and report["train_cycles"] > 0
    assert report["upload_bytes"] == 2 * len(device.image)
    device.close()


def test_while_an_epoch_runs_the_link_answers_for_the_registers_only(board):
    device = trainer(board)
    transport = device.driver.transport
    long = np.tile(np.arange(40), 500)              # 10,000 mini-batches of the 40 samples
    upload(transport, permutation_words(long), device.perm_at)
    reg = lambda r: address(Region.RESIDENT, r)  # noqa: E731
    transport.write([(reg(ResidentReg.PERM), device.perm_at), (reg(ResidentReg.BATCHES), len(long) // 2),
                     (reg(ResidentReg.UNTIL), len(long) // 2)])
    device.link.close()
    raw = Raw(board.port)
    w1 = address(layer_region(1, "W"), 0)
    statuses = {
        "weights": raw.status_of(encode_frame(11, Command.READ, read_payload(w1, 2, 1))),
        "inputs": raw.status_of(encode_frame(12, Command.WRITE, write_payload(address(Region.X, 0), 2, [1]))),
        "sdram": raw.status_of(encode_frame(13, Command.READ, read_payload(address(Region.SDRAM, 0), 2, 1))),
        "start": raw.status_of(encode_frame(14, Command.START, bytes([0]))),
        "batches": raw.status_of(encode_frame(15, Command.WRITE, write_payload(reg(ResidentReg.BATCHES), 4, [1]))),
        "status": raw.status_of(encode_frame(16, Command.STATUS)),
    }
    (reply,) = raw.send(encode_frame(17, Command.READ, read_payload(reg(ResidentReg.PERM), 4, len(ResidentReg))))
    running = dict(zip(ResidentReg, read_values(reply.payload, 4)))
    assert statuses == {"weights": Status.BUSY, "inputs": Status.BUSY, "sdram": Status.BUSY, "start": Status.BUSY,
                        "batches": Status.BUSY, "status": Status.OK}
    assert running[ResidentReg.STATE] == ResidentState.RUNNING and 0 < running[ResidentReg.DONE] < len(long) // 2
    # UNTIL 0 stops it at the end of the mini-batch it trains
    assert raw.status_of(encode_frame(18, Command.WRITE, write_payload(reg(ResidentReg.UNTIL), 4, [0]))) == Status.OK
    (reply,) = raw.send(encode_frame(19, Command.WAIT, (1 << 20).to_bytes(4, "little")))
    assert reply.status == Status.OK
    (reply,) = raw.send(encode_frame(20, Command.READ, read_payload(reg(ResidentReg.DONE), 4, 3)))
    done, errors, state = read_values(reply.payload, 4)
    assert state == 0 and running[ResidentReg.DONE] <= done < len(long) // 2
    assert raw.status_of(encode_frame(21, Command.READ, read_payload(w1, 2, 1))) == Status.OK
    raw.close()


def test_a_damaged_record_stops_the_epoch_and_is_named(board):
    device = trainer(board, seed=2)
    transport = device.driver.transport
    order = batches(40, 2, np.random.default_rng(0))
    bad = int(order[3][1])
    at = transport.read([address(Region.SDRAM, index_address(bad))])[0]
    count = transport.read([address(Region.SDRAM, at + 1)])[0]
    transport.write([(address(Region.SDRAM, at + 1), count + 1)])     # a code byte more than it has
    with pytest.raises(LinkError, match=f"sample {bad}'s record in the SDRAM is damaged"):
        device.train_epoch(order)
    assert device._registers()[ResidentReg.DONE] == 3
    device.close()


@pytest.mark.slow
def test_train_resident_on_digits_is_the_fixed_backend(tmp_path):
    """``epfpga train --backend board --resident --check`` on the simulated board: 0
    mismatches, the core waiting under 2 % of its cycles, and the weights of ``--backend fixed``."""
    import json
    import subprocess
    import sys
    cfg = config_mod.from_dict({"hardware": {"sdram": True}}, base=config_mod.load("digits"))
    (tmp_path / "c.toml").write_text(config_mod.dumps(cfg))
    common = [sys.executable, "-m", "epfpga.cli", "train", "--config", str(tmp_path / "c.toml"), "--limit", "128",
              "--test-limit", "32", "--epochs", "1"]
    board = subprocess.run([*common, "--backend", "board", "--resident", "--sim", "verilator", "--check",
                            "--check-every", "3", "--out", str(tmp_path / "board")],
                           capture_output=True, text=True, timeout=1200)
    assert board.returncode == 0, board.stderr
    assert "check: 0 values of the gateware differ" in board.stdout
    fixed = subprocess.run([*common, "--backend", "fixed", "--out", str(tmp_path / "fixed")],
                           capture_output=True, text=True, timeout=600)
    assert fixed.returncode == 0, fixed.stderr
    got, want = np.load(tmp_path / "board" / "weights.npz"), np.load(tmp_path / "fixed" / "weights.npz")
    assert all(np.array_equal(got[k], want[k]) for k in want.files)
    metrics = json.loads((tmp_path / "board" / "metrics.json").read_text())
    assert metrics["mismatches"] == 0 and metrics["link"]["inputs"] == "resident"
    assert metrics["link"]["wait_fraction"] < 0.02 and metrics["link"]["samples"] == 128


def test_a_device_built_without_the_sdram_is_refused_naming_why():
    """The same network built without the SDRAM has the same digest (the hardware is not in
    it): the trainer asks the descriptor and refuses, before anything is sent."""
    from epfpga.verification.board_sim import SimulatedBoard
    sim = SimulatedBoard(CoreParams.from_config(config_mod.from_dict(CONFIG)))
    try:
        with pytest.raises(LinkError, match="the device has no SDRAM, so no resident epochs"):
            trainer(sim)
    finally:
        sim.close()
