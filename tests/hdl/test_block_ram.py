# amaranth: UnusedElaboratable=no
"""The core's memories: every word read back LATENCY cycles after its address, lane enables
honoured, ``en`` low holding the data; on the ECP5 the same words from DP16KD instances (our
cell model in Icarus), in every block shape."""

from __future__ import annotations


import re

import numpy as np
import pytest
from amaranth import signed, unsigned
from amaranth.back import rtlil, verilog

from epfpga.hdl.block_ram import LATENCY, BlockRAM, dp16kd_blocks, dp16kd_shape, spram_blocks, uses_dp16kd
from epfpga.hdl.memories import MemorySpec
from epfpga.hdl.device import ECP5, ICE40
from epfpga.verification import netlist
from epfpga.verification.netlist import MODELS, ice40_cell_models

from .sim_helpers import icarus, simulate

# (elem, lanes, depth) -> the DP16KD shape each one takes: width, lanes a block, chunks a lane
SHAPES = [
    ((signed(16), 4, 72), (36, 2, 1)),       # two 16-bit lanes a 36-bit block
    ((unsigned(8), 3, 300), (36, 4, 1)),     # four 8-bit lanes a block, one lane short
    ((signed(16), 2, 640), (18, 1, 1)),
    ((unsigned(9), 3, 1024), (18, 2, 1)),    # 784-128-10's inputs at P = 32: two lanes a block
    ((signed(16), 2, 1568), (9, 1, 2)),      # 784-128-10's W1 at P = 64
    ((signed(16), 1, 4096), (4, 1, 4)),      # digits' W1 at P = 4
    ((signed(11), 1, 6272), (2, 1, 6)),      # the last chunk one bit wide
    ((signed(16), 5, 4096), (4, 1, 4)),      # 20 blocks: two copies of the request registers
]


def stimulus(spec: MemorySpec, cycles: int, seed: int, ports: int = 1, single_port: bool = False) -> list[dict]:
    """Random writes (random lane enables) and reads on each of ``ports``, never of a word
    written that cycle or the next two (``single_port``: never in a cycle with a write)."""
    rng = np.random.default_rng(seed)
    lo, hi = (-(1 << (spec.elem.width - 1)), 1 << (spec.elem.width - 1)) if spec.elem.signed else (0, 1 << spec.elem.width)
    waddrs = [int(rng.integers(spec.depth)) if t % 3 else t % spec.depth for t in range(cycles + 2)]  # first words and edges
    out = []
    for t in range(cycles):
        waddr = waddrs[t]
        raddr = [int(rng.integers(spec.depth)) if t > cycles // 3 else int(rng.integers(min(spec.depth, 8)))
                 for _ in range(ports)]
        for _ in range(3):
            raddr = [(a + 1) % spec.depth if a in waddrs[t:t + 3] else a for a in raddr]
        edge = [lo, hi - 1, 0, -1 if spec.elem.signed else 1]
        data = [int(edge[(t + l) % 4]) if t % 5 == 0 else int(rng.integers(lo, hi)) for l in range(spec.lanes)]
        out.append({"waddr": waddr, "wdata": data, "wen": int(rng.integers(1 << spec.lanes)) if t < cycles - 20 else 0,
                    "raddr": raddr, "ren": [int(rng.random() < 0.8) for _ in range(ports)]})
        if single_port and t % 2:        # (room for reads)
            out[-1]["wen"] = 0
        if single_port and out[-1]["wen"]:
            out[-1]["ren"] = [0] * ports
    return out


def reference(spec: MemorySpec, steps: list[dict], port: int = 0) -> list[list[int]]:
    """The data of read ``port`` after each edge: the word addressed LATENCY cycles before
    (the last enabled read's).  The address is registered, and the memory reads it in the next
    cycle, with the writes up to the request's applied."""
    assert LATENCY == 3
    words = [[0] * spec.lanes for _ in range(spec.depth)]
    latched, got, request = [0] * spec.lanes, [], (0, 0)
    for s in steps:
        got.append(latched)
        if request[0]:
            latched = list(words[request[1]])
        request = (s["ren"][port], s["raddr"][port])
        for l in range(spec.used_lanes):     # the unused lanes ignore writes and read 0
            if s["wen"] >> l & 1:
                words[s["waddr"]][l] = s["wdata"][l]
    return got


def amaranth_reads(spec: MemorySpec, steps: list[dict], ports: int = 1, single_port: bool = False,
                   port_writes: bool = False) -> list[list[list[int]]]:
    """Each read port's data after each edge (``port_writes``: a step's ``pwen`` writes its
    ``wdata`` at port 0's address)."""
    dut = BlockRAM(spec, ports, single_port, port_writes)
    write = dut.write
    got = [[] for _ in range(ports)]

    async def tb(ctx):
        for s in steps:
            ctx.set(write.addr, s["waddr"])
            ctx.set(write.en, s["wen"])
            for l in range(spec.lanes):
                ctx.set(write.data[l], s["wdata"][l])
                if port_writes:
                    ctx.set(dut.port_write.data[l], s["wdata"][l])
            if port_writes:
                ctx.set(dut.port_write.en, s.get("pwen", 0))
            for port, addr, en in zip(dut.read, s["raddr"], s["ren"]):
                ctx.set(port.addr, addr)
                ctx.set(port.en, en)
            await ctx.tick()
            for k, port in enumerate(dut.read):
                got[k].append([ctx.get(port.data[l]) for l in range(spec.lanes)])

    simulate(dut, tb)
    return got


def icarus_reads(spec: MemorySpec, steps: list[dict], work, ports: int = 1, single_port: bool = False,
                 ice40: bool = False, port_writes: bool = False) -> list[list[list[int]]]:
    """The ECP5 form's Verilog (DP16KD instances) with our DP16KD model, a single-port
    memory's iCE40 form (SB_SPRAM256KA) with yosys' model, or (``ice40``) the iCE40 form
    synthesised as the board build does (SB_RAM40_4K) with yosys' models, in Icarus: each read
    port's data after each edge."""
    dut = BlockRAM(spec, ports, single_port, port_writes)
    bits, lanes = spec.elem.width, spec.lanes
    if ice40:
        text = netlist.ice40(dut, log=lambda _: None).replace(f"module {netlist.TOP}(", "module dut(")
        models = ""     # (in the netlist's text)
    else:
        text = verilog.convert(dut, name="dut", platform=ICE40() if single_port else ECP5(), emit_src=False)
        models = ice40_cell_models() if single_port else (MODELS / "DP16KD.v").read_text()
    mask = (1 << bits) - 1
    rows = []
    for s in steps:
        wdata = sum((v & mask) << (bits * l) for l, v in enumerate(s["wdata"]))
        reads = " ".join(f"{en:x} {addr:x}" for en, addr in zip(s["ren"], s["raddr"]))
        rows.append(f"{reads} {s['wen']:x} {s['waddr']:x} {wdata:x} {s.get('pwen', 0):x}")
    (work / "stim.txt").write_text("\n".join(rows) + "\n")
    width = bits * lanes
    declare = "".join(f"  reg ren{k}; reg [{spec.addr_bits - 1}:0] raddr{k}; wire [{width - 1}:0] rdata{k};\n"
                      for k in range(ports))
    connect = "".join(f".read{k}__addr(raddr{k}), .read{k}__en(ren{k}), .read{k}__data(rdata{k}), " for k in range(ports))
    scan = " ".join("%h %h" for _ in range(ports))
    scanned = ", ".join(f"ren{k}, raddr{k}" for k in range(ports))
    shown = ", ".join(f"rdata{k}" for k in range(ports))
    port_write = ", .port_write__en(pwen), .port_write__data(wdata)" if port_writes else ""
    bench = f"""`timescale 1ns / 1ps
module bench;
  reg clk = 0, rst = 0;
{declare}  reg [{lanes - 1}:0] wen, pwen;
  reg [{spec.addr_bits - 1}:0] waddr;
  reg [{width - 1}:0] wdata;
  integer fd, out, r;
  dut dut(.clk(clk), .rst(rst), {connect}.write__addr(waddr), .write__en(wen), .write__data(wdata){port_write});
  initial begin
    fd = $fopen("stim.txt", "r"); out = $fopen("reads.txt", "w");
    while (!$feof(fd)) begin
      r = $fscanf(fd, "{scan} %h %h %h %h\\n", {scanned}, wen, waddr, wdata, pwen);
      #1 clk = 1; #1 $fdisplay(out, "{" ".join("%h" for _ in range(ports))}", {shown}); clk = 0;
    end
    $fclose(out); $finish;
  end
endmodule
"""
    icarus(work, bench, text, models)

    def lanes_of(word: str) -> list[int | None]:
        """A lane with an unknown bit (an SPRAM word never written) is None."""
        bits_of = bin(int(word.replace("x", "0"), 16))[2:].zfill(len(word) * 4)[::-1]
        unknown = "".join(bin(int(c == "x" and "f" or "0", 16))[2:].zfill(4) for c in word)[::-1]
        values = []
        for l in range(lanes):
            if "1" in unknown[bits * l:bits * (l + 1)]:
                values.append(None)
                continue
            v = int(bits_of[bits * l:bits * (l + 1)][::-1], 2)
            values.append(v - (1 << bits) if spec.elem.signed and v >> (bits - 1) else v)
        return values

    got = [[] for _ in range(ports)]
    for line in (work / "reads.txt").read_text().splitlines():
        for k, word in enumerate(line.split()):
            got[k].append(lanes_of(word))
    return got


@pytest.mark.parametrize("geometry, shape", SHAPES)
def test_the_ecp5_shapes(geometry, shape):
    spec = MemorySpec("m", *geometry)
    got = dp16kd_shape(spec)
    assert (got.width, got.lanes_per_block, got.chunks) == shape
    assert uses_dp16kd(spec, ECP5()) and not uses_dp16kd(spec, None)
    assert dp16kd_blocks(spec, 2) == 2 * dp16kd_blocks(spec) == 2 * got.blocks(spec.lanes)


@pytest.mark.parametrize("geometry", [g for g, _ in SHAPES[:4]] + [(signed(16), 2, 16)])
def test_reads_arrive_latency_cycles_later_with_the_lanes_written(geometry):
    spec = MemorySpec("m", *geometry)
    steps = stimulus(spec, 400, seed=spec.depth, ports=2)
    got = amaranth_reads(spec, steps, ports=2)
    assert got == [reference(spec, steps, 0), reference(spec, steps, 1)]


@pytest.mark.parametrize("geometry", [g for g, _ in SHAPES])
@pytest.mark.parametrize("ports", [1, 2])
def test_the_dp16kd_instances_hold_and_return_the_same_words(geometry, ports, tmp_path):
    spec = MemorySpec("m", *geometry)
    steps = stimulus(spec, 600, seed=spec.depth + 1, ports=ports)
    got = icarus_reads(spec, steps, tmp_path, ports)
    assert [len(reads) for reads in got] == [len(steps)] * ports
    assert got == [reference(spec, steps, k) for k in range(ports)]


def port_write_steps(spec: MemorySpec, cycles: int, seed: int) -> tuple[list[dict], set[int]]:
    """:func:`stimulus` with every seventh step's write a port write, at the read's address,
    its data and lanes, and the edges after which port 0's data is undefined (from the port
    write's step until a read requested after it has come): no read is requested in the two
    steps before a port write (the simulators' form poisons a read beside a write of its word)
    and port 0 reads in the four after it."""
    steps, undefined = stimulus(spec, cycles, seed), set()
    for t in range(3, cycles - 25, 7):
        s = steps[t]
        s["pwen"], s["wen"] = s["wen"] or 1, 0
        for u in (t - 2, t - 1):
            steps[u]["ren"] = [0]
        for u in range(t + 1, t + 5):
            steps[u]["ren"] = [1]
        undefined |= set(range(t, t + 1 + LATENCY))
    return steps, undefined


def port_write_reference(spec: MemorySpec, steps: list[dict]) -> list[list[int]]:
    """:func:`reference`, each port write applied as a write at port 0's read address."""
    as_writes = [s | {"waddr": s["raddr"][0], "wen": s["pwen"]} if s.get("pwen") else s for s in steps]
    return reference(spec, as_writes)


@pytest.mark.parametrize("geometry", [g for g, shape in SHAPES if shape[1] == 1 and shape[0] < 36])
def test_a_port_write_lands_as_a_write_in_both_forms(geometry, tmp_path):
    """The host's writes at the read port's address (``port_writes``): on the DP16KD's read
    side where the mode has both ports as wide, in the simulators' form through the write
    port; either way each later read returns the word, and the other words are kept."""
    spec = MemorySpec("m", *geometry)
    steps, undefined = port_write_steps(spec, 600, seed=spec.depth + 3)
    want = port_write_reference(spec, steps)
    for got in (icarus_reads(spec, steps, tmp_path, port_writes=True)[0], amaranth_reads(spec, steps, port_writes=True)[0]):
        assert len(got) == len(steps)
        assert [w for t, w in enumerate(got) if t not in undefined] == [w for t, w in enumerate(want) if t not in undefined]
    assert sum(bool(s.get("pwen")) for s in steps) > 50


def test_a_memory_whose_read_port_writes_has_one_read_port():
    with pytest.raises(ValueError, match="one read port, not 2"):
        BlockRAM(MemorySpec("m", signed(16), 1, 64), 2, port_writes=True)


def test_the_ecp5_gets_output_registered_dp16kd_and_other_memories_do_not():
    spec = MemorySpec("m", signed(16), 4, 4096)
    text = rtlil.convert(BlockRAM(spec), platform=ECP5())
    assert text.count("cell \\DP16KD") == 4 * 4 and 'parameter \\REGMODE_B "OUTREG"' in text
    assert "DP16KD" not in rtlil.convert(BlockRAM(spec))
    assert rtlil.convert(BlockRAM(spec, read_ports=2), platform=ECP5()).count("cell \\DP16KD") == 2 * 4 * 4
    shallow = MemorySpec("m", signed(16), 4, 16, "distributed")
    assert "DP16KD" not in rtlil.convert(BlockRAM(shallow), platform=ECP5())


@pytest.mark.parametrize("geometry", [(unsigned(9), 8, 76), (signed(16), 8, 4)])
def test_only_the_used_lanes_are_kept(geometry, tmp_path):
    """A layer of 3 units at P = 8: lanes 3-7 are padding, read 0 whatever is written, in both
    forms (the ECP5's in its 36-bit mode: one block, not two)."""
    spec = MemorySpec("m", *geometry, used=3)
    steps = stimulus(spec, 300, seed=7, ports=2)
    want = [reference(spec, steps, k) for k in range(2)]
    assert any(v for reads in want for word in reads for v in word[:3])
    assert all(v == 0 for reads in want for word in reads for v in word[3:])
    assert amaranth_reads(spec, steps, ports=2) == want
    if geometry[2] > 16:
        assert icarus_reads(spec, steps, tmp_path, 2) == want
        assert dp16kd_blocks(spec, 2) == 2


# (elem, lanes, depth) of single-port memories -> SPRAMs a lane on the iCE40
SPRAM_SHAPES = [
    ((signed(16), 4, 4736), 1),    # digits' W1_2 at P = 4
    ((signed(12), 2, 300), 1),
    ((signed(16), 1, 20000), 2),   # two SPRAMs in depth
]


@pytest.mark.parametrize("geometry, blocks", SPRAM_SHAPES)
def test_a_single_port_memory_returns_the_same_words_in_both_forms(geometry, blocks, tmp_path):
    """Reads and writes in different cycles: the generic form and the iCE40's SPRAM instances
    (yosys' model, in Icarus) return the words a dual-port memory would."""
    spec = MemorySpec("m", *geometry)
    assert spram_blocks(spec) == blocks
    steps = stimulus(spec, 600, seed=spec.depth, single_port=True)
    rng, written = np.random.default_rng(1), []
    for s in steps:   # reads mostly of words written whole (a deep memory's are mostly not)
        if s["wen"] == (1 << spec.lanes) - 1:
            written.append(s["waddr"])
        elif written and rng.random() < 0.8:
            s["raddr"] = [written[int(rng.integers(len(written)))]]
    want = reference(spec, steps)
    assert amaranth_reads(spec, steps, single_port=True) == [want]
    (got,) = icarus_reads(spec, steps, tmp_path, single_port=True)
    # an SPRAM holds no initial words: a lane is unknown until its word is first written
    # (the generic form reads 0 there), and nowhere else
    known = [(g, w) for word_g, word_w in zip(got, want) for g, w in zip(word_g, word_w) if g is not None]
    assert len(known) > 0.5 * spec.lanes * len(steps) and all(g == w for g, w in known)
    assert all(w == 0 for word_g, word_w in zip(got, want) for g, w in zip(word_g, word_w) if g is None)
    assert rtlil.convert(BlockRAM(spec, single_port=True), platform=ICE40()).count("cell \\SB_SPRAM256KA") == geometry[1] * blocks


def test_a_read_in_the_cycle_of_a_write_returns_no_stored_word():
    """The generic form shows a schedule that collides: the read's word is inverted (and held
    so until the next read), where the SPRAM's write would take the port."""
    spec = MemorySpec("m", signed(16), 2, 64)
    steps = stimulus(spec, 200, seed=3, single_port=True)
    clash = next(t for t, s in enumerate(steps) if t > 50 and s["wen"] == 0 and steps[t + 1]["wen"] == 0)
    steps[clash] = dict(steps[clash], wen=1, ren=[1])
    steps[clash + 1] = dict(steps[clash + 1], ren=[0])
    got, want = amaranth_reads(spec, steps, single_port=True)[0], reference(spec, steps)
    bad = [t for t in range(len(steps)) if got[t] != want[t]]
    assert bad and bad[0] == clash + LATENCY - 1
    assert got[bad[0]] == [~v for v in want[bad[0]][:1]] + [~v for v in want[bad[0]][1:]]


@pytest.mark.parametrize("write_after", [0, 1, 2])
def test_a_read_beside_a_write_of_its_word_returns_no_stored_word(write_after):
    """Two ports: a write of the read's word requested in its cycle (the ECP5's blocks read
    then), in the next (the iCE40's read a cycle later) or in the one after (the iCE40's take
    their writes unregistered) inverts the read's word in the simulators' form, held until the
    next read; a write of another word does not."""
    spec = MemorySpec("m", signed(16), 2, 64)
    steps = stimulus(spec, 200, seed=3)
    clash = next(t for t, s in enumerate(steps) if t > 50 and s["ren"] == [1])
    steps[clash + write_after] = dict(steps[clash + write_after], wen=3, waddr=steps[clash]["raddr"][0])
    steps[clash + 1] = dict(steps[clash + 1], ren=[0])
    got, want = amaranth_reads(spec, steps)[0], reference(spec, steps)
    bad = [t for t in range(len(steps)) if got[t] != want[t]]
    assert bad and bad[0] == clash + LATENCY - 1 and bad == list(range(bad[0], bad[0] + len(bad)))
    steps[clash + write_after]["waddr"] ^= 1
    apart = amaranth_reads(spec, steps)[0]
    assert apart == reference(spec, steps)
    assert got[bad[0]] == [~v for v in apart[bad[0]]]     # (the word before the write, inverted)


# (elem, lanes, depth) of the iCE40's two-port memories: digits' state1 (bank a), b1_2 and diff at P = 4
ICE40_SHAPES = [(unsigned(9), 4, 640), (signed(16), 4, 67), (signed(10), 8, 128)]


@pytest.mark.parametrize("geometry", ICE40_SHAPES)
def test_the_ice40_blocks_read_a_cycle_later_with_no_data_register(geometry, tmp_path):
    """The iCE40 form synthesised as the board build does (SB_RAM40_4K, yosys' models, in
    Icarus) returns the reference's words from a port's first read on (before it, the block's
    read register holds no defined word, and nothing reads it): the address registered twice,
    and the block's read the data register, and the write as it is asked, so the flip-flops
    are the read requests' (and the depth multiplexer's selects where the blocks are stacked),
    not one data register of a port more, nor a register of the write."""
    spec = MemorySpec("m", *geometry)
    steps = stimulus(spec, 500, seed=spec.depth + 2, ports=2)
    got = icarus_reads(spec, steps, tmp_path, 2, ice40=True)
    for k in range(2):
        first = next(t for t, s in enumerate(steps) if s["ren"][k]) + LATENCY - 1
        assert got[k][first:] == reference(spec, steps, k)[first:]
        assert all(v is None for word in got[k][:first] for v in word)
    text = netlist.ice40(BlockRAM(spec, 2), log=lambda _: None)
    design = text[:text.index("module SB_")] if "module SB_" in text else text
    flip_flops = len(re.findall(r"^\s*SB_DFF\w* ", design, re.M))
    requests = 2 * 2 * (spec.addr_bits + 1)
    assert "SB_RAM40_4K" in design and requests <= flip_flops < requests + spec.lanes * spec.elem.width, \
        (flip_flops, requests)
