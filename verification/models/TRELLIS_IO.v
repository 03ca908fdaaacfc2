// TRELLIS_IO: the ECP5 I/O buffer, for Verilator benches of gateware that instantiates it
// (LiteDRAM's SDRAM data pins).  yosys' model tests T against 1'bz, which Verilator reads as a
// tristate input and refuses; a T that is never z behaves the same here.  T high: B undriven.
`timescale 1ns / 1ps
module TRELLIS_IO (inout B, input I, input T, output O);
    parameter DIR = "INPUT";
    generate
        if (DIR == "INPUT") begin
            assign B = 1'bz;
            assign O = B;
        end else if (DIR == "OUTPUT") begin
            assign B = T ? 1'bz : I;
            assign O = 1'bx;
        end else if (DIR == "BIDIR") begin
            assign B = T ? 1'bz : I;
            assign O = B;
        end else begin
            ERROR_UNKNOWN_IO_MODE error();
        end
    endgenerate
endmodule
