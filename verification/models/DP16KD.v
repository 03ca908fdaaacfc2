// DP16KD: a behavioural model of the ECP5 16 kbit dual-port block RAM, for simulating the netlist
// synth_ecp5 makes of the core (yosys' share/ecp5/cells_sim.v declares this cell's parameters but
// gives it no behaviour).
//
// The array is 1024 rows of 18 bits, as yosys' brams_map_16kd.v lays out INITVAL (row r is
// bits 20 (r mod 16) +: 18 of INITVAL_(r / 16)). A port of width 18 addresses rows with
// AD[13:4], AD[1:0] being its byte-write enables (bits 8:0 and 17:9); width 9 addresses
// half rows with AD[13:3]; widths 4, 2 and 1 address the low 16 bits of rows with AD[13:2],
// AD[13:1], AD[13:0]. Width 36 is the pseudo-dual-port mode (yosys' PDPW16KD): port A writes
// rows 2w and 2w + 1 from {DIB, DIA} with AD[13:5] = w and byte enables AD[3:0], port B reads
// them onto {DOB, DOA}. Reads and writes take CE and the chip select (CS = CSDECODE); RST clears
// the output synchronously; WRITEMODE NORMAL holds the output on a write, WRITETHROUGH shows
// the new data, READBEFOREWRITE the old; REGMODE OUTREG adds the output register (OCE).
// Clock inversion (CLKAMUX/CLKBMUX = "INV") stops the simulation, and so does an asserted reset
// in RESETMODE ASYNC (yosys picks it for read ports without a reset, whose RST is tied low).
`timescale 1ns / 1ps
module DP16KD (
    input DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0,
    input ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
    input CEA, OCEA, CLKA, WEA, CSA0, CSA1, CSA2, RSTA,
    input DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
    input ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
    input CEB, OCEB, CLKB, WEB, CSB0, CSB1, CSB2, RSTB,
    output DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0,
    output DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0
);
    parameter DATA_WIDTH_A = 18;
    parameter DATA_WIDTH_B = 18;
    parameter REGMODE_A = "NOREG";
    parameter REGMODE_B = "NOREG";
    parameter RESETMODE = "SYNC";
    parameter ASYNC_RESET_RELEASE = "SYNC";
    parameter CSDECODE_A = "0b000";
    parameter CSDECODE_B = "0b000";
    parameter WRITEMODE_A = "NORMAL";
    parameter WRITEMODE_B = "NORMAL";
    parameter CLKAMUX = "CLKA";
    parameter CLKBMUX = "CLKB";
    parameter GSR = "ENABLED";
    parameter INIT_DATA = "STATIC";
    parameter INITVAL_00 = 320'h0;
    parameter INITVAL_01 = 320'h0;
    parameter INITVAL_02 = 320'h0;
    parameter INITVAL_03 = 320'h0;
    parameter INITVAL_04 = 320'h0;
    parameter INITVAL_05 = 320'h0;
    parameter INITVAL_06 = 320'h0;
    parameter INITVAL_07 = 320'h0;
    parameter INITVAL_08 = 320'h0;
    parameter INITVAL_09 = 320'h0;
    parameter INITVAL_0A = 320'h0;
    parameter INITVAL_0B = 320'h0;
    parameter INITVAL_0C = 320'h0;
    parameter INITVAL_0D = 320'h0;
    parameter INITVAL_0E = 320'h0;
    parameter INITVAL_0F = 320'h0;
    parameter INITVAL_10 = 320'h0;
    parameter INITVAL_11 = 320'h0;
    parameter INITVAL_12 = 320'h0;
    parameter INITVAL_13 = 320'h0;
    parameter INITVAL_14 = 320'h0;
    parameter INITVAL_15 = 320'h0;
    parameter INITVAL_16 = 320'h0;
    parameter INITVAL_17 = 320'h0;
    parameter INITVAL_18 = 320'h0;
    parameter INITVAL_19 = 320'h0;
    parameter INITVAL_1A = 320'h0;
    parameter INITVAL_1B = 320'h0;
    parameter INITVAL_1C = 320'h0;
    parameter INITVAL_1D = 320'h0;
    parameter INITVAL_1E = 320'h0;
    parameter INITVAL_1F = 320'h0;
    parameter INITVAL_20 = 320'h0;
    parameter INITVAL_21 = 320'h0;
    parameter INITVAL_22 = 320'h0;
    parameter INITVAL_23 = 320'h0;
    parameter INITVAL_24 = 320'h0;
    parameter INITVAL_25 = 320'h0;
    parameter INITVAL_26 = 320'h0;
    parameter INITVAL_27 = 320'h0;
    parameter INITVAL_28 = 320'h0;
    parameter INITVAL_29 = 320'h0;
    parameter INITVAL_2A = 320'h0;
    parameter INITVAL_2B = 320'h0;
    parameter INITVAL_2C = 320'h0;
    parameter INITVAL_2D = 320'h0;
    parameter INITVAL_2E = 320'h0;
    parameter INITVAL_2F = 320'h0;
    parameter INITVAL_30 = 320'h0;
    parameter INITVAL_31 = 320'h0;
    parameter INITVAL_32 = 320'h0;
    parameter INITVAL_33 = 320'h0;
    parameter INITVAL_34 = 320'h0;
    parameter INITVAL_35 = 320'h0;
    parameter INITVAL_36 = 320'h0;
    parameter INITVAL_37 = 320'h0;
    parameter INITVAL_38 = 320'h0;
    parameter INITVAL_39 = 320'h0;
    parameter INITVAL_3A = 320'h0;
    parameter INITVAL_3B = 320'h0;
    parameter INITVAL_3C = 320'h0;
    parameter INITVAL_3D = 320'h0;
    parameter INITVAL_3E = 320'h0;
    parameter INITVAL_3F = 320'h0;

    reg [17:0] mem [0:1023];
    wire [20479:0] initval = {INITVAL_3F, INITVAL_3E, INITVAL_3D, INITVAL_3C, INITVAL_3B, INITVAL_3A, INITVAL_39, INITVAL_38, INITVAL_37, INITVAL_36, INITVAL_35, INITVAL_34, INITVAL_33, INITVAL_32, INITVAL_31, INITVAL_30, INITVAL_2F, INITVAL_2E, INITVAL_2D, INITVAL_2C, INITVAL_2B, INITVAL_2A, INITVAL_29, INITVAL_28, INITVAL_27, INITVAL_26, INITVAL_25, INITVAL_24, INITVAL_23, INITVAL_22, INITVAL_21, INITVAL_20, INITVAL_1F, INITVAL_1E, INITVAL_1D, INITVAL_1C, INITVAL_1B, INITVAL_1A, INITVAL_19, INITVAL_18, INITVAL_17, INITVAL_16, INITVAL_15, INITVAL_14, INITVAL_13, INITVAL_12, INITVAL_11, INITVAL_10, INITVAL_0F, INITVAL_0E, INITVAL_0D, INITVAL_0C, INITVAL_0B, INITVAL_0A, INITVAL_09, INITVAL_08, INITVAL_07, INITVAL_06, INITVAL_05, INITVAL_04, INITVAL_03, INITVAL_02, INITVAL_01, INITVAL_00};
    integer r;
    initial begin
        if (CLKAMUX != "CLKA" || CLKBMUX != "CLKB") begin
            $display("DP16KD %m: a configuration this model does not cover");
            $finish(1);
        end
        for (r = 0; r < 1024; r = r + 1) mem[r] = initval[20 * r +: 18];
    end

    function [2:0] cs_value(input [39:0] code);   // "0bXYZ"
        cs_value = {code[16], code[8], code[0]};
    endfunction

    function [17:0] read(input integer width, input [13:0] ad);
        reg [17:0] row;
        begin
            row = mem[ad[13:4]];
            case (width)
                18: read = row;
                9: read = ad[3] ? row[17:9] : row[8:0];
                4: read = row[4 * ad[3:2] +: 4];
                2: read = row[2 * ad[3:1] +: 2];
                default: read = row[ad[3:0]];
            endcase
        end
    endfunction

    // what a write-through port shows: the written bits over the row's old ones
    function [17:0] through(input integer width, input [13:0] ad, input [17:0] di);
        reg [17:0] old;
        begin
            old = read(width, ad);
            through = width == 18 ? {ad[1] ? di[17:9] : old[17:9], ad[0] ? di[8:0] : old[8:0]} : di;
        end
    endfunction

    // non-blocking: a read on either port at the same edge sees the row before the write
    task write(input integer width, input [13:0] ad, input [17:0] di);
        case (width)
            18: begin
                if (ad[0]) mem[ad[13:4]][8:0] <= di[8:0];
                if (ad[1]) mem[ad[13:4]][17:9] <= di[17:9];
            end
            9: if (ad[3]) mem[ad[13:4]][17:9] <= di[8:0]; else mem[ad[13:4]][8:0] <= di[8:0];
            4: mem[ad[13:4]][4 * ad[3:2] +: 4] <= di[3:0];
            2: mem[ad[13:4]][2 * ad[3:1] +: 2] <= di[1:0];
            default: mem[ad[13:4]][ad[3:0]] <= di[0];
        endcase
    endtask

    // Width 36 (pseudo-dual-port): port A only writes {DIB, DIA} at AD[13:5], rows 2w and 2w + 1,
    // AD[3:0] enabling its four 9-bit bytes; port B only reads, {DOB, DOA}.
    task write36(input [13:0] ad, input [35:0] di);
        integer k;
        for (k = 0; k < 4; k = k + 1)
            if (ad[k]) mem[{ad[13:5], k[1]}][9 * k[0] +: 9] <= di[9 * k +: 9];
    endtask

    // -- port A -----------------------------------------------------------------------------
    wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
    wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0};
    wire sela = {CSA2, CSA1, CSA0} == cs_value(CSDECODE_A);
    reg [17:0] doa_q = 0, doa_r = 0;
    always @(posedge CLKA) begin
        if (RESETMODE == "ASYNC" && RSTA) begin
            $display("DP16KD %m: an asynchronous reset, which this model does not cover");
            $finish(1);
        end
        if (DATA_WIDTH_A == 36) begin
            if (CEA && sela && WEA) write36(ada, {dib, dia});
        end
        else if (RSTA) doa_q <= 0;
        else if (CEA && sela) begin
            if (!WEA || WRITEMODE_A == "READBEFOREWRITE") doa_q <= read(DATA_WIDTH_A, ada);
            else if (WRITEMODE_A == "WRITETHROUGH") doa_q <= through(DATA_WIDTH_A, ada, dia);
            if (WEA) write(DATA_WIDTH_A, ada, dia);
        end
        if (RSTA) doa_r <= 0; else if (OCEA) doa_r <= doa_q;
    end
    // a width-36 read puts its low half on DOA, through port B's registers
    assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} =
        DATA_WIDTH_B == 36 ? (REGMODE_B == "OUTREG" ? low_r : low_q) : REGMODE_A == "OUTREG" ? doa_r : doa_q;

    // -- port B -----------------------------------------------------------------------------
    wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};
    wire [17:0] dib = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0};
    wire selb = {CSB2, CSB1, CSB0} == cs_value(CSDECODE_B);
    reg [17:0] dob_q = 0, dob_r = 0, low_q = 0, low_r = 0;
    always @(posedge CLKB) begin
        if (RESETMODE == "ASYNC" && RSTB) begin
            $display("DP16KD %m: an asynchronous reset, which this model does not cover");
            $finish(1);
        end
        if (RSTB) {dob_q, low_q} <= 0;
        else if (DATA_WIDTH_B == 36) begin
            if (CEB && selb) {dob_q, low_q} <= {mem[{adb[13:5], 1'b1}], mem[{adb[13:5], 1'b0}]};
        end
        else if (CEB && selb) begin
            if (!WEB || WRITEMODE_B == "READBEFOREWRITE") dob_q <= read(DATA_WIDTH_B, adb);
            else if (WRITEMODE_B == "WRITETHROUGH") dob_q <= through(DATA_WIDTH_B, adb, dib);
            if (WEB) write(DATA_WIDTH_B, adb, dib);
        end
        if (RSTB) {dob_r, low_r} <= 0; else if (OCEB) {dob_r, low_r} <= {dob_q, low_q};
    end
    assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0} = REGMODE_B == "OUTREG" ? dob_r : dob_q;
endmodule
