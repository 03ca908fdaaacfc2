"""The YoWASP tools (yosys, nextpnr, the packers) as this interpreter's environment has them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .errors import UserError


def tool(name: str) -> str:
    """A YoWASP tool: a console script beside this interpreter, found without ``PATH`` (the venv
    need not be activated)."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        raise UserError(f"{name} is not installed beside {sys.executable}: run 'bash scripts/setup.sh'")
    return str(path)


def run(cmd: list[str], cwd: Path, log: str) -> int:
    """``cmd`` with its working directory at ``cwd`` and every path in it relative to there
    (YoWASP's sandbox sees the working directory, not an absolute folder elsewhere); its output
    goes to ``cwd / log``.  Returns the exit status."""
    with (cwd / log).open("w") as f:
        return subprocess.run([tool(cmd[0]), *cmd[1:]], stdout=f, stderr=subprocess.STDOUT, cwd=cwd).returncode


# The synthesis every build and the post-synthesis netlist run, by family: ``synth_<family>``
# up to the LUT mapping, then that step with ABC in place of ABC9, then the rest.  Yosys 0.70's
# ABC9 fails an assertion (``ABC_OPS_REINTEGRATE``) on the ECP5 core at 784-128-10, P = 64,
# and dies on the core as the top of any config on both families; one recipe for the board and
# the netlist keeps the netlist the simulators check the one the board gets.
# No ``-dsp`` on the iCE40: the products are ``SB_MAC16`` instances with their own registers
# (hdl/multiplier.py), and its ``ice40_dsp`` pass would reset the registers of every
# ``SB_MAC16`` to those it packs itself (none there).
_OPTIONS = {"ecp5": "", "ice40": ""}
_LUTS = {"ecp5": "techmap -map +/lattice/latches_map.v; abc -lut 4; clean",
         "ice40": "techmap -map +/ice40/latches_map.v; abc -dress -lut 4; ice40_wrapcarry -unwrap; "
                  "techmap -map +/ice40/ff_map.v; clean; opt_lut -tech ice40"}
_UNTIL_GATES = "-run begin:map_gates"
#: On the ECP5, the adds and compares no wider than this many bits go to LUTs, not to a carry
#: chain: nextpnr gives every chain a cell to start its carry and one to end it (78 chains,
#: 324 of the ``digits`` core's 6,618 ``TRELLIS_COMB`` at P = 4), and a chain's cells come in
#: pairs, so a short add took more cells than the LUTs that ABC makes of it.
CARRY_MIN_BITS = 16
_GATES = {"ecp5": f"techmap -map +/techmap.v t:$alu r:Y_WIDTH<{CARRY_MIN_BITS} %i", "ice40": ""}

# The copies of a distribution tree (hdl/distribution.py: signals with the ``replica``
# attribute) hold one value; without ``keep`` on their flip-flops, opt_merge makes them one.
KEEP_REPLICAS = "setattr -set keep 1 a:replica %ci1:+[Q] t:*dff* %i"
# On the iCE40 the registers with the ``undefined_init`` attribute (hdl/device.py: a block
# RAM's read data) lose their initial value: the SB_RAM40_4K's read has none, and yosys would
# give the value with an AND gate on every bit.
_PREPARE = {"ecp5": KEEP_REPLICAS, "ice40": f"{KEEP_REPLICAS}; setattr -unset init a:undefined_init"}


def after_read(family: str) -> str:
    """What the synthesis of ``family`` does to the design as read, before ``synth_<family>``."""
    return _PREPARE[family]


def synthesis_options(family: str) -> str:
    """The options of the first ``synth_<family>`` (what amaranth's build script puts after
    the command): the family's own, and the stop before the gate mapping."""
    return " ".join(filter(None, (_OPTIONS[family], _UNTIL_GATES)))


def synthesis(family: str, top: str) -> tuple[str, str]:
    """The synthesis of module ``top`` for ``family`` (``ecp5``, ``ice40``): the copies kept
    (:data:`KEEP_REPLICAS`, and on the iCE40 the undefined initial values dropped) and
    ``synth_<family>`` up to the gate mapping, and the script from it on: the short adds to
    gates on the ECP5 (:data:`CARRY_MIN_BITS`), the gates and the LUTs, the cells.  (The first
    part ends with the ``synth_<family>`` command, for options after it.)"""
    synth = " ".join(filter(None, (f"synth_{family}", _OPTIONS[family], f"-top {top}")))
    after = "; ".join(filter(None, (_GATES[family], f"{synth} -run map_gates:map_luts", _LUTS[family],
                                    f"{synth} -run map_cells:")))
    return f"{after_read(family)}; {synth} {_UNTIL_GATES}", after
