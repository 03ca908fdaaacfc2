"""Training on the simulated board through the CLI: the same outputs as the fixed-point
backend, and checkpoints that resume to the uninterrupted run."""

from __future__ import annotations

import json

import numpy as np

from epfpga import config as config_mod
from epfpga import data as data_mod
from epfpga.cli import main
from epfpga.contract.params import CoreParams
from epfpga.firmware.input_code import input_table
from epfpga.firmware.link import train_bytes_per_sample
from epfpga.npz import read_npz

from tests.test_checkpoint import small_config, without_timing


def test_board_training_checks_resumes_and_equals_the_fixed_backend(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text(config_mod.dumps(small_config()))
    common = ["train", "--config", str(toml), "--limit", "80", "--test-limit", "40"]
    board = common + ["--backend", "board", "--sim", "verilator", "--usb-latency-ms"]
    assert main(common + ["--backend", "fixed", "--epochs", "2", "--out", str(tmp_path / "fixed")]) == 0
    assert main(board + ["1", "--check", "--epochs", "2", "--out", str(tmp_path / "a")]) == 0
    assert main(board + ["0", "--epochs", "1", "--checkpoint-every", "4", "--out", str(tmp_path / "b")]) == 0
    assert main(board + ["0", "--epochs", "2", "--resume", str(tmp_path / "b")]) == 0
    fixed, a, b = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("fixed", "a", "b"))
    assert a["mismatches"] == 0
    assert [e["test_error"] for e in a["epochs"]] == [e["test_error"] for e in fixed["epochs"]]
    assert [e["train_error"] for e in a["epochs"]] == [e["train_error"] for e in fixed["epochs"]]
    drop = ("backend", "mismatches", "link")
    assert {k: v for k, v in without_timing(a).items() if k not in drop} == \
        {k: v for k, v in without_timing(b).items() if k not in drop}
    weights = [(tmp_path / d / "weights.npz").read_bytes() for d in ("fixed", "a", "b")]
    assert weights[0] == weights[1] == weights[2]
    state = read_npz(tmp_path / "b" / "checkpoint.npz", "checkpoint")
    assert state["prng"].dtype == np.uint64 and len(state["prng"]) == 5
    assert a["link"]["retries"] == 0 and a["link"]["bytes_sent"] > 0 and a["link"]["inputs"] == "bytes"
    # the device's own time: its cycles, training and waiting, over its clock; behind a USB
    # bridge (1 ms) the core waits at least a latency timer between two runs
    link = a["link"]
    assert link["samples"] == 2 * 80 and link["clock_hz"] == 48_000_000
    assert link["device_seconds"] == (link["train_cycles"] + link["wait_cycles"]) / link["clock_hz"] > 0
    assert link["samples_per_s"] == link["samples"] / link["device_seconds"]
    assert link["wait_cycles"] >= (link["batches"] - 1) * 0.001 * link["clock_hz"]
    # the projection of train_bytes_per_sample against what crossed the pty: the digits' bytes
    # through the input table, the same samples each epoch (in other mini-batches: a zero run
    # may span two samples in one and not in another)
    hw = CoreParams.from_config(small_config())
    data = data_mod.load_digits().limited(80)
    xq = hw.spec.quantise_input(data.train_x).numpy()
    B, table = hw.batch, input_table(hw.spec, data.levels)
    sent, received = np.mean([train_bytes_per_sample(hw, table, xq[k:k + B]) for k in range(0, 80, B)], axis=0)
    assert 0.97 * sent <= a["link"]["train_bytes_sent_per_sample"] <= 1.03 * sent
    assert 0.97 * received <= b["link"]["train_bytes_received_per_sample"] <= 1.03 * received
    assert sent < train_bytes_per_sample(hw)[0] / 1.5       # against 2 bytes an input


def test_resident_training_checks_resumes_and_equals_the_fixed_backend(tmp_path):
    """``--resident`` through the CLI: checked every 3 mini-batches, equal to the fixed
    backend's run, and a checkpoint taken where the device paused resumes to the same end."""
    toml = tmp_path / "c.toml"
    toml.write_text(config_mod.dumps(small_config(hardware={"sdram": True})))
    common = ["train", "--config", str(toml), "--limit", "80", "--test-limit", "40"]
    board = common + ["--backend", "board", "--resident", "--sim", "verilator", "--usb-latency-ms", "0"]
    assert main(common + ["--backend", "fixed", "--epochs", "2", "--out", str(tmp_path / "fixed")]) == 0
    assert main(board + ["--check", "--check-every", "3", "--epochs", "2", "--out", str(tmp_path / "a")]) == 0
    assert main(board + ["--epochs", "1", "--checkpoint-every", "4", "--out", str(tmp_path / "b")]) == 0
    assert main(board + ["--epochs", "2", "--resume", str(tmp_path / "b")]) == 0
    fixed, a, b = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("fixed", "a", "b"))
    assert a["mismatches"] == 0
    for key in ("train_error", "test_error"):
        assert [e[key] for e in a["epochs"]] == [e[key] for e in fixed["epochs"]] == [e[key] for e in b["epochs"]]
    weights = [(tmp_path / d / "weights.npz").read_bytes() for d in ("fixed", "a", "b")]
    assert weights[0] == weights[1] == weights[2]
    link = a["link"]
    assert link["inputs"] == "resident" and link["samples"] == 2 * 80
    assert link["device_seconds"] == (link["train_cycles"] + link["wait_cycles"]) / link["clock_hz"] > 0
