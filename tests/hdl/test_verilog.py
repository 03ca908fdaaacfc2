"""``epfpga verilog``: Verilog that Icarus accepts, and a JSON map that matches the parameters."""

import json
import shutil
import subprocess
import sys

import pytest

from epfpga import config as config_mod
from epfpga.contract.params import CoreParams


def test_verilog_and_map(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('preset = "digits"\nsizes = [20, 13, 7, 10]\nlrs = [0.1, 0.1, 0.05]\nlanes = 4\n'
                    'activation = "my_sigmoid"\n')
    proc = subprocess.run([sys.executable, "-m", "epfpga.cli", "verilog", "--config", str(toml),
                           "--out", str(tmp_path / "v")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    verilog, mapping = tmp_path / "v" / "epfpga_core.v", tmp_path / "v" / "epfpga_core.json"
    assert "module epfpga_core" in verilog.read_text()
    if shutil.which("iverilog") is None:
        pytest.fail("iverilog is not installed: run 'bash scripts/setup.sh' (it installs Debian's iverilog)")
    check = subprocess.run(["iverilog", "-g2012", "-o", str(tmp_path / "a.out"), str(verilog)],
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stderr
    info = json.loads(mapping.read_text())
    params = CoreParams.from_config(config_mod.load(str(toml)))
    memories = {m["name"]: m for m in info["memories"]}
    for name, bits in params.memory_bits().items():
        assert memories[name]["bits"] == bits, name
    assert info["parameters"]["acc_bits"] == params.acc_bits
    ports = {p["name"]: p for p in info["ports"]}
    assert ports["addr"] == {"name": "addr", "direction": "in", "width": 32}
    assert ports["rdata"]["direction"] == "out"
    assert info["schedule"]["cycles_per_sample"] >= info["schedule"]["lower_bound_per_sample"]


def test_verilog_of_the_system_top_and_its_map(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "epfpga.cli", "verilog", "--config", "digits", "--top", "system",
                           "--clock-mhz", "48", "--baud", "12000000", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "epfpga_system.v").read_text()
    assert "module epfpga_system(" in text
    mapping = json.loads((tmp_path / "epfpga_system.json").read_text())
    assert mapping["uart_divisor"] == 4 and mapping["descriptor"]["baud"] == 12_000_000
    assert {p["name"] for p in mapping["ports"]} == {"rx", "tx", "busy", "done", "error", "idle"}
    assert mapping["core"]["top"] == "epfpga_core"


def test_verilog_of_a_system_whose_baud_the_clock_cannot_divide_exits_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "epfpga.cli", "verilog", "--config", "digits", "--top", "system",
                           "--clock-mhz", "25", "--baud", "3000000", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "4.17% off" in proc.stderr
