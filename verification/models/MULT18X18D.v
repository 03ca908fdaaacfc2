// MULT18X18D: a behavioural model of the ECP5 18 x 18 multiplier, for simulating the netlist
// synth_ecp5 makes of the core (yosys ships only a black box of this cell).
//
// It models what epfpga instantiates (hdl/multiplier.py) and refuses anything else at time 0:
// the A, B, pipeline and output registers each either absent ("NONE") or clocked by CLK0 with
// CE0 and a synchronous RST0; SIGNEDA and SIGNEDB; SOURCEA = SOURCEB = 0 (no cascade); the C
// input unused. P = A * B, 36 bits, two's complement when either operand is signed.
`timescale 1ns / 1ps
module MULT18X18D (
    input A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0,
    input B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0,
    input C17, C16, C15, C14, C13, C12, C11, C10, C9, C8, C7, C6, C5, C4, C3, C2, C1, C0,
    input SIGNEDA, SIGNEDB, SOURCEA, SOURCEB,
    input CLK0, CLK1, CLK2, CLK3, CE0, CE1, CE2, CE3, RST0, RST1, RST2, RST3,
    output P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18, P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0
);
    parameter REG_INPUTA_CLK = "NONE";
    parameter REG_INPUTA_CE = "CE0";
    parameter REG_INPUTA_RST = "RST0";
    parameter REG_INPUTB_CLK = "NONE";
    parameter REG_INPUTB_CE = "CE0";
    parameter REG_INPUTB_RST = "RST0";
    parameter REG_INPUTC_CLK = "NONE";
    parameter REG_INPUTC_CE = "CE0";
    parameter REG_INPUTC_RST = "RST0";
    parameter REG_PIPELINE_CLK = "NONE";
    parameter REG_PIPELINE_CE = "CE0";
    parameter REG_PIPELINE_RST = "RST0";
    parameter REG_OUTPUT_CLK = "NONE";
    parameter REG_OUTPUT_CE = "CE0";
    parameter REG_OUTPUT_RST = "RST0";
    parameter CLK0_DIV = "ENABLED";
    parameter CLK1_DIV = "ENABLED";
    parameter CLK2_DIV = "ENABLED";
    parameter CLK3_DIV = "ENABLED";
    parameter HIGHSPEED_CLK = "NONE";
    parameter GSR = "ENABLED";
    parameter CAS_MATCH_REG = "FALSE";
    parameter SOURCEB_MODE = "B_SHIFT";
    parameter MULT_BYPASS = "DISABLED";
    parameter RESETMODE = "SYNC";

    wire [17:0] a = {A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0};
    wire [17:0] b = {B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0};

    initial begin
        if ((REG_INPUTA_CLK != "NONE" && REG_INPUTA_CLK != "CLK0") || (REG_INPUTB_CLK != "NONE" && REG_INPUTB_CLK != "CLK0")
            || (REG_PIPELINE_CLK != "NONE" && REG_PIPELINE_CLK != "CLK0") || (REG_OUTPUT_CLK != "NONE" && REG_OUTPUT_CLK != "CLK0")
            || REG_INPUTA_CE != "CE0" || REG_INPUTB_CE != "CE0" || REG_PIPELINE_CE != "CE0" || REG_OUTPUT_CE != "CE0"
            || REG_INPUTA_RST != "RST0" || REG_INPUTB_RST != "RST0" || REG_PIPELINE_RST != "RST0" || REG_OUTPUT_RST != "RST0"
            || RESETMODE != "SYNC" || MULT_BYPASS != "DISABLED") begin
            $display("MULT18X18D %m: a configuration this model does not cover");
            $finish(1);
        end
    end

    reg [17:0] a_q = 0, b_q = 0;
    reg sa_q = 0, sb_q = 0;
    always @(posedge CLK0) if (RST0) begin a_q <= 0; sa_q <= 0; end else if (CE0) begin a_q <= a; sa_q <= SIGNEDA; end
    always @(posedge CLK0) if (RST0) begin b_q <= 0; sb_q <= 0; end else if (CE0) begin b_q <= b; sb_q <= SIGNEDB; end
    wire [17:0] a_in = REG_INPUTA_CLK == "CLK0" ? a_q : a;
    wire [17:0] b_in = REG_INPUTB_CLK == "CLK0" ? b_q : b;
    wire sa = REG_INPUTA_CLK == "CLK0" ? sa_q : SIGNEDA;
    wire sb = REG_INPUTB_CLK == "CLK0" ? sb_q : SIGNEDB;
    wire [35:0] a_ext = {{18{sa & a_in[17]}}, a_in};
    wire [35:0] b_ext = {{18{sb & b_in[17]}}, b_in};
    wire [35:0] product = a_ext * b_ext;

    reg [35:0] pipe_q = 0, out_q = 0;
    wire [35:0] piped = REG_PIPELINE_CLK == "CLK0" ? pipe_q : product;
    always @(posedge CLK0) if (RST0) pipe_q <= 0; else if (CE0) pipe_q <= product;
    always @(posedge CLK0) if (RST0) out_q <= 0; else if (CE0) out_q <= piped;
    assign {P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18, P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0} = REG_OUTPUT_CLK == "CLK0" ? out_q : piped;
endmodule
