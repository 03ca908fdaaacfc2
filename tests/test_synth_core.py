"""``scripts/synth_core.py --hierarchy``: the core synthesised as the board build does it, the
cells told module by module, with the device's instances where the gateware puts them."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from epfpga import config as config_mod

ROOT = Path(__file__).resolve().parents[1]

_spec = importlib.util.spec_from_file_location("synth_core", ROOT / "scripts" / "synth_core.py")
synth_core = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synth_core)


def test_the_hierarchy_puts_the_instances_in_their_modules(tmp_path):
    (tmp_path / "small.toml").write_text('sizes = [48, 6, 3]\nlanes = 4\nbatch = 2\nlrs = [0.1, 0.1]\n')
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "synth_core.py"), "--config", str(tmp_path / "small.toml"),
                           "--out", str(tmp_path / "out"), "--hierarchy"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads((tmp_path / "out" / "hierarchy.json").read_text())
    # two MULT18X18D a lane, in the lanes' multipliers (summed under one name)
    assert rows["top.core.multipliers.mul*"]["MULT18X18D"] == 2 * 4
    # W1 (72 words) and W2 (6) in one memory of 78: DP16KD in the 36-bit mode, two 16-bit
    # lanes a block
    assert rows["top.core.W1_2"]["DP16KD"] == 2
    # B = 2: a rounding unit a lane, its one 32-bit stream a register
    assert rows["top.core.weight_update.sweep.prng_u*"]["TRELLIS_FF"] == 4 * 32
    assert "module" in proc.stdout and "top.core.neuron_update" in proc.stdout


def test_a_hierarchy_table_sums_the_lanes(tmp_path):
    log = """Printing statistics.
=== top.core.weight_update.prng_l0 ===
       32   TRELLIS_FF
       85   LUT4
=== top.core.weight_update.prng_l1 ===
       32   TRELLIS_FF
       80   LUT4
=== top.core.W1 ===

        +----------Local Count, excluding submodules.
        |
        2   DP16KD
        3   submodules
        1   top.core.x
        7   LUT4
"""
    rows = dict(synth_core.hierarchy_table(log, "ecp5"))
    assert rows["top.core.weight_update.prng_l*"]["LUT4"] == 165
    assert rows["top.core.weight_update.prng_l*"]["TRELLIS_FF"] == 64
    assert rows["top.core.W1"]["DP16KD"] == 2 and rows["top.core.W1"]["LUT4"] == 0


def test_the_flow_finds_its_tools_without_the_venv_and_writes_any_folder(tmp_path):
    """Run as the README says, without the venv on ``PATH``, from one folder with ``--out`` an
    absolute folder elsewhere (YoWASP's sandbox sees only the working directory): it places a
    tiny core on the iCE40 and writes its report."""
    cfg = config_mod.from_dict(dict(sizes=[5, 6, 3], lanes=1, batch=2, lrs=[0.5, 0.5], t1=3, t2=2))
    (tmp_path / "c.toml").write_text(config_mod.dumps(cfg))
    (tmp_path / "here").mkdir()
    out = tmp_path / "elsewhere" / "tiny"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "synth_core.py"), "--config", str(tmp_path / "c.toml"),
                           "--device", "ice40up5k", "--out", str(out)], cwd=tmp_path / "here",
                          env={"PATH": "/usr/bin:/bin", "HOME": os.environ["HOME"]}, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["fits"] and report["lut"] > 0 and report["fmax_mhz"] > 0
