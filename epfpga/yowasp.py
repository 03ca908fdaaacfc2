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


# The ECP5 synthesis every build and the post-synthesis netlist run: ``synth_ecp5`` with
# these options, then the LUT mapping by ABC instead of ABC9 and the rest of ``synth_ecp5``.
# Yosys 0.70's ABC9 fails an assertion (``ABC_OPS_REINTEGRATE``) on the core at 784-128-10,
# P = 64, and on the core as the top of any config; one recipe for both keeps the netlist
# the simulators check the one the board gets.  The iCE40's is the same split
# (``synth_ice40 -dsp``: ABC9 dies on the core as the top there too).
UNTIL_LUTS = "-run begin:map_luts"
ICE40_OPTIONS = "-dsp"    # the products on SB_MAC16, their registers packed


def ecp5_synthesis(top: str) -> tuple[str, str]:
    """The ECP5 synthesis of module ``top``: ``synth_ecp5`` up to the LUT mapping, and the
    script from it on."""
    synth = f"synth_ecp5 -top {top}"
    return (f"{synth} {UNTIL_LUTS}",
            f"techmap -map +/lattice/latches_map.v; abc -lut 4; clean; {synth} -run map_cells:")


def ice40_synthesis(top: str) -> tuple[str, str]:
    """The iCE40 synthesis of module ``top``: ``synth_ice40 -dsp`` up to the LUT mapping, and
    its ``map_luts`` step with ABC in place of ABC9, then the rest."""
    synth = f"synth_ice40 {ICE40_OPTIONS} -top {top}"
    return (f"{synth} {UNTIL_LUTS}",
            "techmap -map +/ice40/latches_map.v; abc -dress -lut 4; ice40_wrapcarry -unwrap; "
            f"techmap -map +/ice40/ff_map.v; clean; opt_lut -tech ice40; {synth} -run map_cells:")
