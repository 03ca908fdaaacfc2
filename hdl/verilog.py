"""``epfpga verilog``: the core's Verilog and a JSON map of its ports, memories and parameters."""

from __future__ import annotations

import json
from pathlib import Path

from amaranth import Value
from amaranth.back import verilog

from epfpga.config import Config, dumps
from epfpga.contract.address_map import INPUT_BANKS, READ_LATENCY, REGION_SHIFT, Reg, Region, layer_region
from epfpga.contract.params import CoreParams
from epfpga.contract.protocol import DEFAULT_BAUD
from epfpga.errors import UserError

from . import memories as mem
from . import schedule
from .core import Core
from .system import TOP as SYSTEM_TOP
from .system import System
from .update_plan import diff_memory

TOP = "epfpga_core"


def memory_map(p: CoreParams) -> list[dict]:
    """Every memory: its region on the host bus (``None``: internal), depth, lanes, width."""
    entries = [(mem.inputs(p), Region.X, "w"), (diff_memory(p), None, "-")]
    for n in range(1, p.layers + 1):
        entries += [(mem.weights(p, n), layer_region(n, "W"), "rw"), (mem.biases(p, n), layer_region(n, "b"), "rw"),
                    (mem.states(p, n), layer_region(n, "state"), "r")]
        if n < p.layers:
            entries.append((mem.accumulators(p, n), None, "-"))
    out = [{"name": spec.name, "region": None if region is None else int(region), "access": access,
            "depth": spec.depth, "lanes": spec.lanes, "width": spec.elem.width,
            "bits": spec.depth * spec.lanes * spec.elem.width} for spec, region, access in entries]
    for entry in out:   # where each weight matrix and bias vector lives: its memory and first word there
        if entry["name"][0] in "Wb":
            layer = int(entry["name"][1:])
            held = (mem.weight_memory if entry["name"][0] == "W" else mem.bias_memory)(p, layer)
            entry |= {"memory": held.spec.name, "base": held.base(layer)}
    out.append({"name": "y", "region": int(Region.Y), "access": "w", "depth": INPUT_BANKS * p.batch, "lanes": 1,
                "width": p.label_bits, "bits": INPUT_BANKS * p.batch * p.label_bits})
    out.append({"name": "pred", "region": int(Region.PRED), "access": "r", "depth": p.batch, "lanes": 1,
                "width": p.label_bits, "bits": p.batch * p.label_bits})
    return out


def port_map(core: Core) -> list[dict]:
    return [{"name": name, "direction": member.flow.value.lower(), "width": Value.cast(getattr(core, name)).shape().width}
            for name, member in core.signature.members.items()]


def describe(p: CoreParams, core: Core) -> dict:
    """The JSON map written beside the Verilog."""
    cfg = p.config
    words = core.program
    sched = schedule.program_cycles(p, words)
    return {
        "top": TOP,
        "config": cfg.to_dict(),
        "parameters": {"lanes": p.lanes, "layers": p.layers, "sizes": list(p.sizes), "batch": p.batch,
                       "state_bits": p.state_bits, "input_bits": p.input_bits, "weight_bits": p.weight_bits,
                       "acc_bits": p.acc_bits, "grad_bits": p.grad_bits, "lr_q": list(p.spec.lr_q),
                       "update_shift": {f"{'b' if bias else 'W'}{n}": p.spec.update_shift(n, bias)
                                        for n in range(1, p.layers + 1) for bias in (False, True)}},
        "host_bus": {"address": f"region << {REGION_SHIFT} | offset; memory offset = word << {p.lane_bits} | lane",
                     "data_bits": 32, "read_latency": READ_LATENCY,
                     "control_registers": {r.name: int(r) for r in Reg},
                     "regions": {r.name: int(r) for r in Region}},
        "ports": port_map(core),
        "memories": memory_map(p),
        "memory_bits": sum(m["bits"] for m in memory_map(p)),
        "program": words,
        "schedule": {"cycles_per_batch": sched.cycles, "cycles_per_sample": sched.cycles / p.batch,
                     "lower_bound_per_sample": schedule.lower_bound(p),
                     "read_bound_per_sample": schedule.read_bound(p)},
    }


def describe_system(p: CoreParams, system) -> dict:
    """The JSON map of the system top: its pins, link and descriptor, and the core's map."""
    d = system.descriptor
    return {"top": SYSTEM_TOP, "ports": port_map(system), "clock_hz": system.clock_hz, "baud": system.baud,
            "uart_divisor": system.divisor, "uart_ticks": system.ticks, "protocol": "docs/protocol.md",
            "descriptor": {k: (v.hex() if isinstance(v, bytes) else v) for k, v in d.__dict__.items()},
            "core": describe(p, Core(p))}


def generate(config: Config, out: Path, top: str = "core", clock_hz: int | None = None,
             baud: int | None = None) -> tuple[Path, Path]:
    """Write ``out/{top}.v`` and ``out/{top}.json`` (``top``: ``core`` or ``system``, the
    core behind its UART at ``clock_hz`` and ``baud``); returns their paths."""
    p = CoreParams.from_config(config)
    if top == "system":
        clock_hz = clock_hz or round(config.hardware.clock_mhz * 1e6)
        try:
            design = System(p, clock_hz, baud or DEFAULT_BAUD)
        except ValueError as exc:   # a clock and baud the UART cannot divide
            raise UserError(f"--baud: {exc}") from None
        name, info = SYSTEM_TOP, describe_system(p, design)
    else:
        design = Core(p)
        name, info = TOP, describe(p, design)
    text = verilog.convert(design, name=name, emit_src=False)
    out.mkdir(parents=True, exist_ok=True)
    v_path, j_path = out / f"{name}.v", out / f"{name}.json"
    v_path.write_text(text)
    j_path.write_text(json.dumps(info, indent=2) + "\n")
    (out / "config.toml").write_text(dumps(config))
    return v_path, j_path
