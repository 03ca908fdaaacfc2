// The chip model (sdram_chip.h) driven by a script of commands, one clock each: its own tests
// (tests/verification/test_sdram_chip.py) show that every check fires, one clock short, and is
// silent at the minimum.
//
//   sdram_chip_check TIMING... < SCRIPT      (TIMING: sdram_chip.h's sdram_timing)
//
// SCRIPT lines: "CKE 0|1" (held from there on), "NOP N" (N clocks of NOP), or a command with
// its bank and address: "ACT BA ROW", "READ BA COL", "WRITE BA COL DQ DM", "PRE BA A", "REF",
// "MRS A" (add 1024 to a column for auto precharge, to PRE's A for all banks).  Prints
// "drive EDGE WORD" for each word the chip drives and "ok EDGES" at the end, or the violation
// and exits 1.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include "sdram_chip.h"

int main(int argc, char** argv) {
    if (argc != 1 + SDRAM_TIMING_ARGS) {
        std::fprintf(stderr, "usage: %s TCK tRCD tRP tRAS tRC tRFC tRRD tWR tREFI POWER_UP tMRD CL2_MIN_PERIOD\n", argv[0]);
        return 2;
    }
    SdramChip chip(sdram_timing(argv + 1), SDRAM_BANKS, SDRAM_ROWS, SDRAM_COLUMNS);
    bool cke = false;
    auto clock = [&](SdramPins p) {
        p.cke = cke;
        if (!chip.edge(p)) {
            std::printf("%s\n", chip.error().c_str());
            std::exit(1);
        }
        uint16_t word;
        if (chip.drives(word)) std::printf("drive %lld %u\n", chip.cycle(), unsigned(word));
    };
    const SdramPins nop{false, false, true, true, true, 0, 0, 0, 0, false};
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string op;
        unsigned x = 0, y = 0, dq = 0, dm = 0;
        if (!(in >> op)) continue;
        in >> x >> y >> dq >> dm;
        SdramPins p = nop;
        // (ras_n, cas_n, we_n) of each command
        auto command = [&](bool ras_n, bool cas_n, bool we_n, unsigned ba, unsigned a) {
            p.ras_n = ras_n; p.cas_n = cas_n; p.we_n = we_n; p.ba = ba; p.a = a;
        };
        if (op == "CKE") { cke = x; continue; }
        if (op == "NOP") { for (unsigned i = 0; i < x; ++i) clock(nop); continue; }
        if (op == "ACT") command(false, true, true, x, y);
        else if (op == "READ") command(true, false, true, x, y);
        else if (op == "WRITE") { command(true, false, false, x, y); p.dq = dq; p.dm = dm; p.dq_oe = true; }
        else if (op == "PRE") command(false, true, false, x, y);
        else if (op == "REF") command(false, false, true, 0, 0);
        else if (op == "MRS") command(false, false, false, 0, x);
        else { std::fprintf(stderr, "unknown script line: %s\n", line.c_str()); return 2; }
        clock(p);
    }
    std::printf("ok %lld\n", chip.cycle());
    return 0;
}
