"""The core's memories: every word read back LATENCY cycles after its address, lane enables
honoured, ``en`` low holding the data; on the ECP5 the same words from DP16KD instances (our
cell model in Icarus), in every block shape."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from amaranth import signed, unsigned
from amaranth.back import rtlil, verilog

from epfpga.hdl.block_ram import LATENCY, BlockRAM, dp16kd_shape, uses_dp16kd
from epfpga.hdl.memories import MemorySpec
from epfpga.verification.netlist import ECP5, MODELS

from .sim_helpers import simulate

# (elem, lanes, depth) -> the DP16KD shape each one takes: width, lanes a block, chunks a lane
SHAPES = [
    ((signed(16), 4, 72), (36, 2, 1)),       # two 16-bit lanes a 36-bit block
    ((unsigned(8), 3, 300), (36, 4, 1)),     # four 8-bit lanes a block, one lane short
    ((signed(16), 2, 640), (18, 1, 1)),
    ((signed(16), 2, 1568), (9, 1, 2)),      # 784-128-10's W1 at P = 64
    ((signed(16), 1, 4096), (4, 1, 4)),      # digits' W1 at P = 4
    ((signed(11), 1, 6272), (2, 1, 6)),      # the last chunk one bit wide
]


def stimulus(spec: MemorySpec, cycles: int, seed: int) -> list[dict]:
    """Random writes (random lane enables) and reads, never of the word written that cycle."""
    rng = np.random.default_rng(seed)
    lo, hi = (-(1 << (spec.elem.width - 1)), 1 << (spec.elem.width - 1)) if spec.elem.signed else (0, 1 << spec.elem.width)
    out = []
    for t in range(cycles):
        waddr = int(rng.integers(spec.depth)) if t % 3 else t % spec.depth   # first words and edges
        raddr = int(rng.integers(spec.depth)) if t > cycles // 3 else int(rng.integers(min(spec.depth, 8)))
        if raddr == waddr:
            raddr = (raddr + 1) % spec.depth
        edge = [lo, hi - 1, 0, -1 if spec.elem.signed else 1]
        data = [int(edge[(t + l) % 4]) if t % 5 == 0 else int(rng.integers(lo, hi)) for l in range(spec.lanes)]
        out.append({"waddr": waddr, "wdata": data, "wen": int(rng.integers(1 << spec.lanes)) if t < cycles - 20 else 0,
                    "raddr": raddr, "ren": int(rng.random() < 0.8)})
    return out


def reference(spec: MemorySpec, steps: list[dict]) -> list[list[int]]:
    """The read data after each edge: the word addressed LATENCY cycles before (the last
    enabled read's), with the writes before that edge applied."""
    words = [[0] * spec.lanes for _ in range(spec.depth)]
    latched, out_reg, got = [0] * spec.lanes, [0] * spec.lanes, []
    for s in steps:
        out_reg = latched
        if s["ren"]:
            latched = list(words[s["raddr"]])
        for l in range(spec.lanes):
            if s["wen"] >> l & 1:
                words[s["waddr"]][l] = s["wdata"][l]
        got.append(out_reg)
    return got


def amaranth_reads(spec: MemorySpec, steps: list[dict]) -> list[list[int]]:
    dut = BlockRAM(spec)
    port, write = dut.read[0], dut.write
    got = []

    async def tb(ctx):
        for s in steps:
            ctx.set(write.addr, s["waddr"])
            ctx.set(write.en, s["wen"])
            for l in range(spec.lanes):
                ctx.set(write.data[l], s["wdata"][l])
            ctx.set(port.addr, s["raddr"])
            ctx.set(port.en, s["ren"])
            await ctx.tick()
            got.append([ctx.get(port.data[l]) for l in range(spec.lanes)])

    simulate(dut, tb)
    return got


def icarus_reads(spec: MemorySpec, steps: list[dict], work) -> list[list[int]]:
    """The ECP5 form's Verilog (DP16KD instances) with our DP16KD model, in Icarus."""
    dut = BlockRAM(spec)
    bits, lanes = spec.elem.width, spec.lanes
    text = verilog.convert(dut, name="dut", platform=ECP5(), emit_src=False)
    mask = (1 << bits) - 1
    rows = []
    for s in steps:
        wdata = sum((v & mask) << (bits * l) for l, v in enumerate(s["wdata"]))
        rows.append(f"{s['ren']:x} {s['raddr']:x} {s['wen']:x} {s['waddr']:x} {wdata:x}")
    (work / "stim.txt").write_text("\n".join(rows) + "\n")
    bench = f"""`timescale 1ns / 1ps
module bench;
  reg clk = 0, rst = 0, ren;
  reg [{lanes - 1}:0] wen;
  reg [{spec.addr_bits - 1}:0] raddr, waddr;
  reg [{bits * lanes - 1}:0] wdata;
  wire [{bits * lanes - 1}:0] rdata;
  integer fd, out, r;
  dut dut(.clk(clk), .rst(rst), .read0__addr(raddr), .read0__en(ren), .read0__data(rdata),
          .write__addr(waddr), .write__en(wen), .write__data(wdata));
  initial begin
    fd = $fopen("stim.txt", "r"); out = $fopen("reads.txt", "w");
    while (!$feof(fd)) begin
      r = $fscanf(fd, "%h %h %h %h %h\\n", ren, raddr, wen, waddr, wdata);
      #1 clk = 1; #1 $fdisplay(out, "%h", rdata); clk = 0;
    end
    $fclose(out); $finish;
  end
endmodule
"""
    (work / "bench.v").write_text(bench)
    (work / "dut.v").write_text(text)
    subprocess.run(["iverilog", "-g2005", "-o", "sim", "bench.v", "dut.v", str(MODELS / "DP16KD.v")],
                   cwd=work, check=True, capture_output=True)
    subprocess.run(["vvp", "-n", "sim"], cwd=work, check=True, capture_output=True)
    got = []
    for line in (work / "reads.txt").read_text().split():
        word = int(line, 16)
        lane_values = [(word >> (bits * l)) & mask for l in range(lanes)]
        got.append([v - (1 << bits) if spec.elem.signed and v >> (bits - 1) else v for v in lane_values])
    return got


@pytest.mark.parametrize("geometry, shape", SHAPES)
def test_the_ecp5_shapes(geometry, shape):
    spec = MemorySpec("m", *geometry)
    got = dp16kd_shape(spec)
    assert (got.width, got.lanes_per_block, got.chunks) == shape
    assert uses_dp16kd(spec, ECP5(), 1) and not uses_dp16kd(spec, ECP5(), 2) and not uses_dp16kd(spec, None, 1)


@pytest.mark.parametrize("geometry", [g for g, _ in SHAPES[:4]] + [(signed(16), 2, 16)])
def test_reads_arrive_latency_cycles_later_with_the_lanes_written(geometry):
    spec = MemorySpec("m", *geometry)
    steps = stimulus(spec, 400, seed=spec.depth)
    assert amaranth_reads(spec, steps) == reference(spec, steps)
    assert LATENCY == 2


@pytest.mark.parametrize("geometry", [g for g, _ in SHAPES])
def test_the_dp16kd_instances_hold_and_return_the_same_words(geometry, tmp_path):
    spec = MemorySpec("m", *geometry)
    steps = stimulus(spec, 600, seed=spec.depth + 1)
    got = icarus_reads(spec, steps, tmp_path)
    assert len(got) == len(steps)
    assert got == reference(spec, steps)


def test_the_ecp5_gets_output_registered_dp16kd_and_other_memories_do_not():
    spec = MemorySpec("m", signed(16), 4, 4096)
    text = rtlil.convert(BlockRAM(spec), platform=ECP5())
    assert text.count("cell \\DP16KD") == 4 * 4 and 'parameter \\REGMODE_B "OUTREG"' in text
    assert "DP16KD" not in rtlil.convert(BlockRAM(spec))
    assert "DP16KD" not in rtlil.convert(BlockRAM(spec, read_ports=2), platform=ECP5())
    shallow = MemorySpec("m", signed(16), 4, 16, "distributed")
    assert "DP16KD" not in rtlil.convert(BlockRAM(shallow), platform=ECP5())
