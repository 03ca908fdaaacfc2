"""The ECP5-85F floorplan: the device's sites as nextpnr names them, and every multiplier and
block RAM of a wide core on one of them, near its lanes' multipliers."""

from __future__ import annotations

import json
import re

from amaranth.back import rtlil

from epfpga import config as config_mod
from epfpga.boards.floorplan import MIN_SHARE, SITES, _xy, block_rams, floorplan, measure_sites
from epfpga.contract.params import CoreParams
from epfpga.hdl.block_ram import block_lanes, block_name, dp16kd_blocks, uses_dp16kd
from epfpga.hdl.core import Core
from epfpga.hdl.device import ECP5
from epfpga.hdl.multiplier import PER_LANE


def test_the_committed_sites_are_the_installed_nextpnrs(tmp_path):
    assert measure_sites(tmp_path) == json.loads(SITES.read_text())


def test_every_hard_block_of_a_wide_core_gets_its_own_site_near_its_lanes():
    cfg = config_mod.from_dict(dict(sizes=[100, 64, 10], lanes=64, batch=4, lrs=[0.1, 0.1]))
    p = CoreParams.from_config(cfg)
    sites = floorplan(p)
    text = rtlil.convert(Core(p), platform=ECP5(sites), emit_src=False)
    # each DP16KD and MULT18X18D instance carries the BEL of its block, and no two share one
    placed = re.findall(r'attribute \\BEL "([^"]+)"\n\s*cell \\(DP16KD|MULT18X18D) ', text)
    counts = {kind: text.count(f"cell \\{kind} ") for kind in ("DP16KD", "MULT18X18D")}
    assert counts["MULT18X18D"] == PER_LANE * p.lanes and counts["DP16KD"] > 0
    assert len(placed) == sum(counts.values()) == len(sites)
    assert len({bel for bel, _ in placed}) == len(placed)
    device = json.loads(SITES.read_text())
    assert all(bel in device[kind] for bel, kind in placed)


def test_784_128_10_at_64_lanes_has_each_block_near_its_lanes_multipliers():
    """Within 40 tiles (a third of the die's width) of the mean of its lanes' multipliers (both
    coordinates, in tiles): the nearest-first assignment alone left a weight block 148 tiles
    from its lane's multipliers."""
    p = CoreParams.from_config(config_mod.load("mnist").replace(lanes=64))
    sites = floorplan(p)
    assert len(sites) == PER_LANE * 64 + 160   # (192 blocks before the states and inputs were banked)
    for spec, ports in block_rams(p):
        for port in range(ports):
            for k in range(dp16kd_blocks(spec) if uses_dp16kd(spec, ECP5()) else 0):
                lanes = [l % p.lanes for l in block_lanes(spec, k)]
                mults = [_xy(sites[f"mul{PER_LANE * l + j}"]) for l in lanes for j in range(PER_LANE)]
                cx, cy = (sum(v) / len(mults) for v in zip(*mults))
                x, y = _xy(sites[block_name(spec, port, k)])
                assert abs(x - cx) + abs(y - cy) <= 40, (block_name(spec, port, k), x, y, cx, cy)


def test_a_narrow_core_is_left_to_the_placer():
    p = CoreParams.from_config(config_mod.load("digits"))
    assert PER_LANE * p.lanes < MIN_SHARE * len(json.loads(SITES.read_text())["MULT18X18D"])
    assert floorplan(p) == {}


def test_784_128_10_is_floorplanned_from_32_lanes():
    """P = 32 (64 of the 156 multipliers) routes floorplanned and not without (docs/results.md);
    P = 16 (32) is left to the placer."""
    mnist = config_mod.load("mnist")
    wide = floorplan(CoreParams.from_config(mnist.replace(lanes=32)))
    assert sum(name.startswith("mul") for name in wide) == PER_LANE * 32
    assert floorplan(CoreParams.from_config(mnist.replace(lanes=16))) == {}
