"""The lanes' multipliers: exact products after exactly their latency, and the device's
instance where one applies."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from amaranth import signed, unsigned
from amaranth.back import rtlil, verilog

from epfpga.hdl.multiplier import (LATENCY, Multiplier, MultiplierBank, fabric_registers, latency, own_banks, product_shape,
                                   update_latency)
from epfpga.hdl.device import ECP5, ICE40
from epfpga.verification.netlist import ice40_cell_models

from .neuron_params import params
from .sim_helpers import icarus, simulate


def _operands(a_shape, b_shape, count: int, rng) -> list[tuple[int, int]]:
    def rails(shape):
        lo, hi = (-(1 << (shape.width - 1)), (1 << (shape.width - 1)) - 1) if shape.signed else (0, (1 << shape.width) - 1)
        return [lo, hi, 0, 1, -1 if shape.signed else hi - 1], lo, hi
    a_rails, a_lo, a_hi = rails(a_shape)
    b_rails, b_lo, b_hi = rails(b_shape)
    edges = list(itertools.product(a_rails, b_rails))
    return edges + [(int(rng.integers(a_lo, a_hi + 1)), int(rng.integers(b_lo, b_hi + 1))) for _ in range(count)]


@pytest.mark.parametrize("a_shape, b_shape", [(signed(16), unsigned(9)), (signed(11), unsigned(9)),
                                              (signed(18), unsigned(17)), (signed(24), unsigned(12))])
def test_products_are_exact_and_arrive_latency_cycles_later(a_shape, b_shape):
    dut = Multiplier(a_shape, b_shape)
    operands = _operands(a_shape, b_shape, 200, np.random.default_rng(a_shape.width))
    got = []

    async def tb(ctx):
        for t in range(len(operands) + LATENCY):
            if t < len(operands):
                ctx.set(dut.a, operands[t][0])
                ctx.set(dut.b, operands[t][1])
            await ctx.tick()
            got.append(ctx.get(dut.p))

    simulate(dut, tb)
    # after the edge that ends cycle t, p holds the product of the operands of cycle t + 1 - LATENCY
    assert got[LATENCY - 1:LATENCY - 1 + len(operands)] == [a * b for a, b in operands]


def test_the_product_shape_holds_the_extreme_products():
    shape = product_shape(signed(16), unsigned(9))
    assert shape.signed
    lo, hi = -(1 << (shape.width - 1)), (1 << (shape.width - 1)) - 1
    assert lo <= -(1 << 15) * 511 and ((1 << 15) - 1) * 511 <= hi


def test_the_ecp5_gets_a_registered_mult18x18d():
    text = rtlil.convert(Multiplier(signed(16), unsigned(9)), platform=ECP5())
    assert "MULT18X18D" in text
    for register in ("REG_INPUTA_CLK", "REG_INPUTB_CLK", "REG_OUTPUT_CLK"):
        assert f'parameter \\{register} "CLK0"' in text
    assert "REG_PIPELINE_CLK" not in text      # latency 2: no pipeline register


@pytest.mark.parametrize("a_shape, b_shape", [(signed(19), unsigned(9)), (signed(16), unsigned(18))])
def test_operands_wider_than_the_dsp_fall_back_to_a_multiply(a_shape, b_shape):
    assert "MULT18X18D" not in rtlil.convert(Multiplier(a_shape, b_shape), platform=ECP5())


def icarus_products(dut: Multiplier, operands: list[tuple[int, int]], work) -> list[int]:
    """``dut`` elaborated for the iCE40 (its ``SB_MAC16``) with yosys' model, in Icarus: the
    product after each edge (``None`` while unknown), operands presented one a cycle."""
    a_bits, b_bits, p_bits = dut.a_shape.width, dut.b_shape.width, len(dut.p)
    (work / "stim.txt").write_text("".join(f"{a & ((1 << a_bits) - 1):x} {b & ((1 << b_bits) - 1):x}\n"
                                           for a, b in operands + [(0, 0)] * LATENCY))
    bench = f"""`timescale 1ns / 1ps
module bench;
  reg clk = 0, rst = 0;
  reg [{a_bits - 1}:0] a; reg [{b_bits - 1}:0] b; wire [{p_bits - 1}:0] p;
  integer fd, out, r;
  dut dut(.clk(clk), .rst(rst), .a(a), .b(b), .p(p));
  initial begin
    fd = $fopen("stim.txt", "r"); out = $fopen("products.txt", "w");
    while (!$feof(fd)) begin
      r = $fscanf(fd, "%h %h\\n", a, b);
      #1 clk = 1; #1 $fdisplay(out, "%h", p); clk = 0;
    end
    $fclose(out); $finish;
  end
endmodule
"""
    icarus(work, bench, verilog.convert(dut, name="dut", platform=ICE40(), emit_src=False), ice40_cell_models())
    words = [None if "x" in w else int(w, 16) for w in (work / "products.txt").read_text().split()]
    signed_p = dut.p.shape().signed     # (None: the registers before the first operands came)
    return [w - (1 << p_bits) if w is not None and signed_p and w >> (p_bits - 1) else w for w in words]


@pytest.mark.parametrize("a_shape, b_shape", [(signed(16), unsigned(9)), (signed(11), unsigned(16)),
                                              (signed(16), signed(16)), (unsigned(16), unsigned(16))])
def test_the_ice40_sb_mac16_gives_exact_products_latency_cycles_later(a_shape, b_shape, tmp_path):
    dut = Multiplier(a_shape, b_shape)
    assert "SB_MAC16" in rtlil.convert(dut, platform=ICE40())
    operands = _operands(a_shape, b_shape, 200, np.random.default_rng(b_shape.width))
    got = icarus_products(dut, operands, tmp_path)
    assert got[LATENCY - 1:LATENCY - 1 + len(operands)] == [a * b for a, b in operands]


def test_operands_wider_than_the_sb_mac16_fall_back_to_a_multiply():
    assert "SB_MAC16" not in rtlil.convert(Multiplier(signed(17), unsigned(9)), platform=ICE40())


def test_other_platforms_get_a_multiply():
    text = rtlil.convert(Multiplier(signed(16), unsigned(9)))
    assert "MULT18X18D" not in text and "SB_MAC16" not in text


def test_a_bank_multiplies_each_pair_on_its_own_multiplier():
    dut = MultiplierBank(4, signed(8), unsigned(5))
    pairs = [(-128, 31), (127, 31), (-1, 1), (5, 0)]
    got = []

    async def tb(ctx):
        for k, (a, b) in enumerate(pairs):
            ctx.set(dut.port.a[k], a)
            ctx.set(dut.port.b[k], b)
        await ctx.tick().repeat(LATENCY)
        got.extend(ctx.get(dut.port.p[k]) for k in range(4))

    simulate(dut, tb)
    assert got == [a * b for a, b in pairs]
    assert "MULT18X18D" in rtlil.convert(dut, platform=ECP5())


@pytest.mark.parametrize("registered", [False, True])
def test_a_bank_gives_each_product_exactly_its_latency_after_the_operands(registered):
    dut = MultiplierBank(2, signed(8), unsigned(5), registered=registered)
    assert dut.latency == LATENCY + registered
    operands = [(-128, 31), (127, 31), (-1, 1), (5, 0), (-77, 19), (0, 31), (127, 0), (-128, 1)]
    got = []

    async def tb(ctx):
        for t in range(len(operands) + dut.latency):
            a, b = operands[t] if t < len(operands) else (0, 0)
            ctx.set(dut.port.a[0], a)
            ctx.set(dut.port.b[0], b)
            await ctx.tick()
            got.append(ctx.get(dut.port.p[0]))

    simulate(dut, tb)
    # the product of the operands presented at edge t is out after edge t + latency - 1
    assert got[dut.latency - 1:dut.latency - 1 + len(operands)] == [a * b for a, b in operands]


@pytest.mark.parametrize("board, lanes, extra", [("ulx3s-85f", 4, 1), ("ulx3s-85f", 16, 1), ("ulx3s-85f", 32, 0),
                                                 ("icebreaker", 4, 0)])
def test_the_lanes_multipliers_take_a_cycle_more_with_fabric_registers(board, lanes, extra):
    """Where the board has the timing registers and up to 16 lanes (the floorplan's from 32),
    the neuron update's; there the weight update has a bank of its own, with no register."""
    p = params(lanes=lanes, board=board)
    assert fabric_registers(p) == own_banks(p) == bool(extra)
    assert latency(p) == LATENCY + extra
    assert update_latency(p) == LATENCY
