#!/usr/bin/env python3
"""The deepest register-to-register paths of a synthesised ECP5 netlist, without place and route.

    .venv/bin/python scripts/logic_depth.py DIR/top.json --top 30

Every ``epfpga build --board ulx3s-85f`` writes ``DIR/top.json`` when synthesis ends (a minute
for 784-128-10 at P = 32), long before the router does: this ranks its paths in that minute.
Each path's delay is a model, not a timing analysis: the cells' own delays as nextpnr-ecp5
gives them for speed grade 6 (a LUT 0.24 ns, a carry step 0.07 ns), and a routing hop of
``--hop`` ns (0.9: the median hop of the routed builds in ``docs/results.md``) plus a charge for
the net's fanout (a net to hundreds of sinks spans the die, and it is what the routed critical
paths of wide cores were).  Placement decides the rest, so a path near the top of this list is
a candidate, and only a build's ``report.json`` says which path limits the clock.  One line per
endpoint register (its bits folded): the estimate, the cells on the path, the endpoint's pin and
where the path starts.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

CLOCK_TO_Q = {"TRELLIS_FF": 0.52, "DP16KD": 2.5, "MULT18X18D": 0.5}   # (a block RAM without its output register)
LUT = 0.24
# (input, output, ns) of the combinational cells; a carry input reaches the next cell with no hop
CARRY = ([(f"{p}0", o, d) for p in "ABCD" for o, d in (("S0", 0.24), ("S1", 0.45), ("COUT", 0.45))]
         + [(f"{p}1", o, d) for p in "ABCD" for o, d in (("S1", 0.24), ("COUT", 0.45))]
         + [("CIN", "S0", 0.4), ("CIN", "S1", 0.4), ("CIN", "COUT", 0.07)])
ARCS = {"LUT4": [(p, "Z", LUT) for p in "ABCD"], "CCU2C": CARRY,
        "TRELLIS_DPR16X4": [(f"RAD[{i}]", "DO", 0.5) for i in range(4)]}
ENDPOINTS = {"TRELLIS_FF": ("DI", "CE", "LSR", "M"), "DP16KD": None, "MULT18X18D": None, "TRELLIS_DPR16X4": None}


def fanout_charge(sinks: int) -> float:
    return 3.0 if sinks > 200 else 2.0 if sinks > 64 else 1.0 if sinks > 24 else 0.0


class Netlist:
    """The flattened top module of a yosys JSON netlist: each net bit's driver and sinks."""

    def __init__(self, netlist: dict, top: str = "top"):
        module = netlist["modules"][top]
        self.cells = module["cells"]
        self.names: dict[int, str] = {}
        for name, net in module["netnames"].items():
            for bit in net["bits"]:
                if isinstance(bit, int) and (bit not in self.names or len(name) < len(self.names[bit])):
                    self.names[bit] = name
        self.driver: dict[int, tuple[str, str]] = {}
        self.sinks: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for name, cell in self.cells.items():
            for port, bits in cell["connections"].items():
                output = cell["port_directions"][port] == "output"
                for i, bit in enumerate(bits):
                    if isinstance(bit, int):
                        pin = port if len(bits) == 1 else f"{port}[{i}]"
                        if output:
                            self.driver[bit] = (name, pin)
                        else:
                            self.sinks[bit].append((name, pin))

    def pin(self, cell: str, pin: str):
        port, _, index = pin.partition("[")
        bits = self.cells[cell]["connections"].get(port, [])
        i = int(index[:-1]) if index else 0
        return bits[i] if i < len(bits) and isinstance(bits[i], int) else None


def arrivals(net: Netlist, hop: float) -> tuple[dict[int, float], dict[int, int | None]]:
    """Each net bit's latest arrival (ns from the clock) and the input bit it comes through."""
    arrival: dict[int, float] = {}
    through: dict[int, int | None] = {}

    def visit(bit: int) -> float:
        # iterative depth-first: the deep netlists of wide cores exceed Python's recursion
        stack = [bit]
        while stack:
            b = stack[-1]
            if b in arrival:
                stack.pop()
                continue
            cell_name, pin = net.driver.get(b, (None, None))
            cell = net.cells.get(cell_name)
            if cell is None or cell["type"] not in ARCS:
                arrival[b] = CLOCK_TO_Q.get(cell["type"], 0.0) if cell else 0.0
                through[b] = None
                stack.pop()
                continue
            inputs = [(net.pin(cell_name, i), d, i) for i, o, d in ARCS[cell["type"]] if pin.split("[")[0] == o]
            pending = [i for i, _, _ in inputs if i is not None and i not in arrival]
            if pending:
                stack.extend(pending)
                continue
            best, via = 0.0, None
            for i, delay, name in inputs:
                if i is None:
                    continue
                step = 0.0 if name == "CIN" else hop + fanout_charge(len(net.sinks[i]))
                if arrival[i] + step + delay > best:
                    best, via = arrival[i] + step + delay, i
            arrival[b], through[b] = best, via
            stack.pop()
        return arrival[bit]

    for bit in net.driver:
        visit(bit)
    return arrival, through


def deepest(net: Netlist, hop: float = 0.9, top: int = 30) -> list[dict]:
    """The ``top`` deepest paths, one per endpoint register (its bits folded, by name and pin)."""
    arrival, through = arrivals(net, hop)
    ends = []
    for name, cell in net.cells.items():
        if cell["type"] not in ENDPOINTS:
            continue
        pins = ENDPOINTS[cell["type"]]
        for port, bits in cell["connections"].items():
            if cell["port_directions"][port] != "input" or (pins is not None and port not in pins):
                continue
            for bit in bits:
                if isinstance(bit, int) and bit in net.driver:
                    ends.append((arrival[bit] + hop + fanout_charge(len(net.sinks[bit])), name, port, bit))
    ends.sort(key=lambda e: -e[0])
    out, seen = [], set()
    for ns, name, port, bit in ends:
        key = (re.sub(r"(_TRELLIS.*|\.dsp|\.\d+\.\d+)$", "", name), re.sub(r"\d+$", "", port))
        if key in seen:
            continue
        seen.add(key)
        chain, b = [], bit
        while b is not None:
            chain.append(b)
            b = through.get(b)
        out.append({"ns": round(ns, 2), "cells": len(chain) - 1, "to": name, "pin": port,
                    "from": net.names.get(chain[-1], str(chain[-1])),
                    "nets": [net.names.get(b, str(b)) for b in reversed(chain)]})
        if len(out) == top:
            break
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("netlist", help="a yosys JSON netlist of ECP5 cells (a build folder's top.json)")
    parser.add_argument("--top", type=int, default=30, help="paths to list (default 30)")
    parser.add_argument("--hop", type=float, default=0.9, help="ns a routing hop (default 0.9)")
    parser.add_argument("--match", help="only endpoints whose name contains this")
    parser.add_argument("--nets", action="store_true", help="each path's nets, from its start")
    args = parser.parse_args()
    path = Path(args.netlist)
    try:
        net = Netlist(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError) as exc:
        print(f"logic_depth: error: {path}: not a yosys JSON netlist with a top module ({exc})", file=sys.stderr)
        return 2
    paths = deepest(net, args.hop, len(net.cells) if args.match else args.top)
    if args.match:
        paths = [p for p in paths if args.match in p["to"]][:args.top]
    print(f"{'ns (model)':>10} {'cells':>5}  endpoint <- start")
    for p in paths:
        print(f"{p['ns']:>10.2f} {p['cells']:>5}  {p['to']}.{p['pin']} <- {p['from']}")
        if args.nets:
            print("".join(f"{'':>18}{name}\n" for name in p["nets"]), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
