# amaranth: UnusedElaboratable=no
"""The board top's serial line on the iCE40's I/O cells (``SB_IO``), in Icarus with yosys' model
of them: at two ticks a cycle (the iCEBreaker's 12 Mbaud at 30 MHz, 5 half-cycles a bit) the
line leaves and enters through their double-data-rate registers, the earlier tick first."""

from __future__ import annotations

import random

from amaranth import Module, Signal
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from epfpga.boards.top import serial_line
from epfpga.hdl.uart import UARTRx, UARTTx
from epfpga.verification.netlist import ice40_cell_models

from ..hdl.sim_helpers import icarus
from ..hdl.uart_pins import frame

D, TICKS = 5, 2


def sent_byte(k: int) -> int:
    """The ``k``-th byte :class:`Line` sends."""
    return (k * 0x95 + 0x3A) & 0xFF


class Line(wiring.Component):
    """A transmitter sending ``count`` bytes back to back, and a receiver, on the iCEBreaker's
    UART pins through :func:`serial_line`.  (Each byte is computed from its count, not looked
    up: Icarus evaluates no ``always @*`` block, such as a table's, before its inputs change.)"""

    def __init__(self, count: int):
        self.count = count
        super().__init__({"got": Out(8), "got_valid": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        tx, rx = m.submodules.tx, m.submodules.rx = UARTTx(D, TICKS), UARTRx(D, TICKS)
        line_rx, line_tx = serial_line(m, platform.request("uart", 0, dir="-"), TICKS)
        sent = Signal(8)
        m.d.comb += [rx.rx.eq(line_rx), line_tx.eq(tx.tx), rx.data.ready.eq(1),
                     self.got.eq(rx.data.payload), self.got_valid.eq(rx.data.valid),
                     tx.data.valid.eq(sent < self.count), tx.data.payload.eq(sent * 0x95 + 0x3A)]
        with m.If(tx.data.valid & tx.data.ready):
            m.d.sync += sent.eq(sent + 1)
        return m


BENCH = """`timescale 1ns / 1ps
module bench;
  reg clk = 0, rst = 1, level = 1;
  wire rx = level;
  wire tx, got_valid; wire [7:0] got;
  reg levels [0:{n}];
  integer i, out;
  dut dut(.clk(clk), .rst(rst), .uart_0__rx__io(rx), .uart_0__tx__io(tx), .got(got), .got_valid(got_valid));
  initial begin
    $readmemb("rx.txt", levels); out = $fopen("line.txt", "w");
    for (i = 0; i < {n}; i = i + 1) begin   // half-cycle i; a rising edge starts each odd one
      #1 level = levels[i];
      #1 $fdisplay(out, "%0d %b %b %h", i, tx, got_valid, got);
      if (i == 7) rst = 0;
      #3 clk = ~clk;
    end
    $fclose(out); $finish;
  end
endmodule
"""


def test_two_ticks_a_cycle_leave_and_enter_through_the_ice40_ddr_registers_in_order(tmp_path):
    from amaranth_boards.icebreaker import ICEBreakerPlatform

    rng = random.Random(5)
    sent = [sent_byte(k) for k in range(10)]
    received = [rng.randrange(256) for _ in range(8)]
    # the host's frames start in either half of a cycle: gaps of 2 to 7 half-cycles
    starts, line = [], [1] * 40
    for byte in received:
        line += [1] * rng.randrange(2, 8)
        starts.append(len(line))
        line += [level for level in frame(byte) for _ in range(D)]
    n = len(line) + 40
    (tmp_path / "rx.txt").write_text("\n".join(map(str, line + [1] * (n - len(line)))) + "\n")
    assert {s % 2 for s in starts} == {0, 1}
    text = verilog.convert(Line(len(sent)), name="dut", platform=ICEBreakerPlatform(), emit_src=False)
    assert text.count("SB_IO") >= 2
    icarus(tmp_path, BENCH.format(n=n), text, ice40_cell_models())
    rows = [row.split() for row in (tmp_path / "line.txt").read_text().splitlines()]
    tx = [int(r[1]) if r[1] in "01" else None for r in rows]
    assert None not in tx[1:]          # (unknown until the first edge)

    # sent: each bit exactly 5 half-cycles, the frames back to back, the bytes in order
    first = tx.index(0)
    want = [level for byte in sent for level in frame(byte) for _ in range(D)]
    assert tx[first:first + len(want)] == want
    assert set(tx[first + len(want):]) == {1}

    # received: in order, each exactly as many cycles after its start bit's first half-cycle as
    # the receiver's latency in ticks says, plus the same I/O registers' delay for both halves
    deliveries = [(int(r[0]), int(r[3], 16)) for r in rows if int(r[0]) % 2 and r[2] == "1"]
    firsts = [h for k, (h, _) in enumerate(deliveries) if k == 0 or deliveries[k - 1][0] != h - 2]
    assert [byte for h, byte in deliveries if h in firsts] == received
    # the rising edge that starts half-cycle 2c + 1 samples half-cycle 2c (tick 0 of cycle c),
    # the falling edge after it half-cycle 2c + 1 (tick 1)
    cycle = [(h - 1) // 2 for h in firsts]
    delays = {c - (t + 9 * D + D // 2) // TICKS for c, t in zip(cycle, starts)}
    assert len(delays) == 1, delays
