"""``epfpga verilog``: the core's Verilog and a JSON map of its ports, memories and parameters."""

from __future__ import annotations

import json
from pathlib import Path

from amaranth import Value
from amaranth.back import verilog

from epfpga.config import Config, dumps

from . import memories as mem
from . import schedule
from epfpga.firmware.address_map import INPUT_BANKS, READ_LATENCY, REGION_SHIFT, Reg, Region, layer_region

from .core import Core
from .params import CoreParams
from .weight_update import diff_memory

TOP = "epfpga_core"


def memory_map(p: CoreParams) -> list[dict]:
    """Every memory: its region on the host bus (``None``: internal), depth, lanes, width."""
    entries = [(mem.inputs(p), Region.X, "w"), (diff_memory(p), None, "-"), (mem.drive(p), None, "-")]
    for n in range(1, p.layers + 1):
        entries += [(mem.weights(p, n), layer_region(n, "W"), "rw"), (mem.biases(p, n), layer_region(n, "b"), "rw"),
                    (mem.states(p, n), layer_region(n, "state"), "r")]
        if n < p.layers:
            entries.append((mem.accumulators(p, n), None, "-"))
    out = [{"name": spec.name, "region": None if region is None else int(region), "access": access,
            "depth": spec.depth, "lanes": spec.lanes, "width": spec.elem.width,
            "bits": spec.depth * spec.lanes * spec.elem.width} for spec, region, access in entries]
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


def generate(config: Config, out: Path) -> tuple[Path, Path]:
    """Write ``out/epfpga_core.v`` and ``out/epfpga_core.json``; returns their paths."""
    p = CoreParams.from_config(config)
    core = Core(p)
    text = verilog.convert(core, name=TOP, emit_src=False)
    out.mkdir(parents=True, exist_ok=True)
    v_path, j_path = out / f"{TOP}.v", out / f"{TOP}.json"
    v_path.write_text(text)
    j_path.write_text(json.dumps(describe(p, core), indent=2) + "\n")
    (out / "config.toml").write_text(dumps(config))
    return v_path, j_path
