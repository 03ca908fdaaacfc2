// The SDRAM controller's bench: the controller's Verilog (LiteDRAM behind epfpga's wrapper) in
// Verilator, its pins on the chip model of sdram_chip.h, its native port driven from here.
//
//   Vsdram CYCLES SEED TIMING...
//       (TIMING: the chip's datasheet figures, epfpga.contract.sdram, as sdram_chip.h's
//       sdram_timing takes them)
//
// The chip is clocked half a period after the controller, as on the board.  After the
// controller reports ready, CYCLES clocks of traffic: bursts of reads and writes at
// random words of a few rows in every bank (row hits, row misses, bank interleaving), with
// random byte enables and idle gaps so that refreshes land both between and inside bursts.
// Every read's word is checked against a shadow copy of what was written.  Prints one JSON
// line (cycles, commands, refreshes, reads, writes, mismatches, the tightest gap the controller
// left for each timing, error) and exits 1 on the
// chip model's first violation or on a wrong word.
#include <verilated.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <random>
#include <unordered_map>

#include "Vepfpga_sdram.h"
#include "sdram_chip.h"

int main(int argc, char** argv) {
    if (argc != 3 + SDRAM_TIMING_ARGS) {
        std::fprintf(stderr, "usage: %s CYCLES SEED TCK tRCD tRP tRAS tRC tRFC tRRD tWR tREFI POWER_UP tMRD CL2_MIN_PERIOD\n",
                     argv[0]);
        return 2;
    }
    const long long cycles = std::atoll(argv[1]);
    std::mt19937_64 rng(std::strtoull(argv[2], nullptr, 10));
    constexpr unsigned BANKS = SDRAM_BANKS, ROWS = SDRAM_ROWS, COLUMNS = SDRAM_COLUMNS;
    SdramChip chip(sdram_timing(argv + 3), BANKS, ROWS, COLUMNS);

    Verilated::commandArgs(argc, argv);
    Vepfpga_sdram top;
    top.rst = 1;
    for (int i = 0; i < 4; ++i) {
        top.clk = 0; top.eval();
        top.clk = 1; top.eval();
    }
    top.rst = 0;

    // A few rows per bank, so that accesses both hit open rows and force precharges.
    unsigned rows[BANKS][3];
    for (auto& bank : rows)
        for (auto& row : bank) row = rng() % ROWS;
    std::unordered_map<unsigned, uint16_t> shadow;
    std::deque<uint32_t> writes;     // data (low 16) and byte enables (bits 16-17) still to send
    std::deque<uint16_t> expected;   // the words the reads taken so far must return, in order
    long long reads = 0, written = 0, mismatches = 0, ready_at = -1, burst = 0;
    bool cmd_valid = false, cmd_we = false;
    unsigned cmd_addr = 0;
    std::string failure;

    auto next_command = [&] {
        if (burst == 0) {   // an idle gap, then a burst
            burst = (rng() % 4 == 0) ? -(long long)(rng() % 300) : (long long)(1 + rng() % 64);
        }
        if (burst < 0) {
            ++burst;
            cmd_valid = false;
            return;
        }
        --burst;
        unsigned bank = rng() % BANKS, row = rows[bank][rng() % 3], column = rng() % COLUMNS;
        cmd_addr = (row * BANKS + bank) * COLUMNS + column;   // LiteDRAM's ROW_BANK_COL order
        cmd_we = rng() % 2;
        cmd_valid = true;
    };

    long long cycle = 0;
    for (; ready_at < 0 || cycle < ready_at + cycles; ++cycle) {
        top.cmd_valid = cmd_valid;
        top.cmd_payload = cmd_addr | (uint32_t(cmd_we) << __builtin_ctz(BANKS * ROWS * COLUMNS));
        top.wdata_valid = !writes.empty();
        top.wdata_payload = writes.empty() ? 0 : writes.front();
        top.rdata_ready = 1;
        top.clk = 0; top.eval();
        bool cmd_fire = cmd_valid && top.cmd_ready, w_fire = !writes.empty() && top.wdata_ready;
        bool r_fire = top.rdata_valid;
        uint16_t rdata = top.rdata_payload;
        top.clk = 1; top.eval();
        if (!sdram_clock(chip, top, rng)) break;
        if (ready_at < 0 && top.ready) ready_at = cycle;
        if (r_fire) {
            if (expected.empty()) {
                failure = "a read word with no read pending";
                break;
            }
            if (rdata != expected.front() && ++mismatches == 1)
                std::fprintf(stderr, "cycle %lld: read %04x, expected %04x\n", cycle, rdata, expected.front());
            expected.pop_front();
            ++reads;
        }
        if (w_fire) writes.pop_front();
        if (cmd_fire) {
            uint16_t& word = shadow[cmd_addr];
            if (cmd_we) {
                uint16_t data = rng();
                unsigned enables = 1 + rng() % 3;
                uint16_t keep = (enables & 1 ? 0 : 0x00ff) | (enables & 2 ? 0 : 0xff00);
                word = (word & keep) | (data & ~keep);
                writes.push_back(data | (enables << 16));
                ++written;
            } else {
                expected.push_back(word);
            }
        }
        if (ready_at >= 0 && (cmd_fire || !cmd_valid)) next_command();
    }
    if (failure.empty()) failure = chip.error();
    if (failure.empty() && ready_at < 0) failure = "the controller never became ready";
    std::string tightest;
    for (int k = 0; k < SdramChip::TIMINGS; ++k) {
        double gap = chip.tightest(SdramChip::Timing(k));
        char item[64];
        std::snprintf(item, sizeof item, "%s\"%s\": %.2f", k ? ", " : "", SdramChip::TIMING_NAMES[k], gap > 1e299 ? -1.0 : gap);
        tightest += item;
    }
    std::printf("{\"cycles\": %lld, \"ready_at\": %lld, \"reads\": %lld, \"writes\": %lld, \"mismatches\": %lld, "
                "\"refreshes\": %lld, \"max_refresh_gap_ns\": %.2f, \"activates\": %lld, \"precharges\": %lld, "
                "\"tightest_ns\": {%s}, \"error\": \"%s\"}\n",
                cycle, ready_at, reads, written, mismatches, chip.refreshes(), chip.max_refresh_gap(),
                chip.count(SdramChip::ACTIVE), chip.count(SdramChip::PRECHARGE), tightest.c_str(), failure.c_str());
    return failure.empty() && mismatches == 0 ? 0 : 1;
}
