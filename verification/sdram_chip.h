// A cycle-accurate model of an SDR SDRAM chip (the ULX3S's IS42S16160 class), as the simulated
// board sees it: the pins sampled at each rising edge of the chip's clock, and the word it drives
// from one edge to the next.
//
// It stores the data (banks x rows x columns of 16 bits, byte masks on writes) and launches a
// READ's word CL - 1 edges later, held to the next edge: a controller that samples it at the
// wrong edge reads garbage.  Auto precharge (A10 on a READ or WRITE) starts where the datasheet
// says: as if a PRECHARGE were issued at the earliest time that violates neither tRAS nor tWR.  Every command is checked against the datasheet's minimums in nanoseconds
// (epfpga.contract.sdram, passed in by the harness), not against any controller's cycle counts;
// the first violation stops the model with one line naming the parameter, the bank, the
// command and the two times.  Checked: tRCD, tRP, tRAS, tRC, tRFC, tRRD, tWR, tMRD, the refresh
// interval (more than one tREFI behind the refreshes due since the first one), the power-up
// wait, the CAS latency the clock allows, and the protocol (a READ or WRITE to a closed bank,
// an ACTIVE to an open one, a refresh or mode load with a bank open, the data bus driven from
// both ends).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

struct SdramTiming {
    double tck;                 // ns, the clock period
    double tRCD, tRP, tRAS, tRC, tRFC, tRRD, tWR, tREFI, power_up;   // ns
    int tMRD;                   // clocks
    double cl2_min_period;      // ns: CAS latency 2 needs a period at least this long
};

// The timing from the command line: TCK tRCD tRP tRAS tRC tRFC tRRD tWR tREFI POWER_UP tMRD
// CL2_MIN_PERIOD (ns, tMRD in clocks), as epfpga.verification.sdram_sim.timing_args gives them.
constexpr int SDRAM_TIMING_ARGS = 12;
inline SdramTiming sdram_timing(char** argv) {
    SdramTiming t{};
    double* ns[] = {&t.tck, &t.tRCD, &t.tRP, &t.tRAS, &t.tRC, &t.tRFC, &t.tRRD, &t.tWR, &t.tREFI, &t.power_up};
    for (int i = 0; i < 10; ++i) *ns[i] = std::atof(argv[i]);
    t.tMRD = std::atoi(argv[10]);
    t.cl2_min_period = std::atof(argv[11]);
    return t;
}

struct SdramPins {
    bool cke, cs_n, ras_n, cas_n, we_n;
    unsigned ba, a, dm;
    uint16_t dq;                // what the controller drives, when dq_oe
    bool dq_oe;
};

class SdramChip {
public:
    enum Command { NOP, ACTIVE, READ, WRITE, PRECHARGE, REFRESH, LOAD_MODE, BURST_STOP, COMMANDS };
    static constexpr const char* NAMES[COMMANDS] = {"NOP", "ACTIVE", "READ", "WRITE", "PRECHARGE",
                                                    "AUTO REFRESH", "LOAD MODE", "BURST TERMINATE"};

    enum Timing { tRCD, tRP, tRAS, tRC, tRFC, tRRD, tWR, TIMINGS };
    static constexpr const char* TIMING_NAMES[TIMINGS] = {"tRCD", "tRP", "tRAS", "tRC", "tRFC", "tRRD", "tWR"};
    static constexpr double SdramTiming::*MINIMUM[TIMINGS] = {&SdramTiming::tRCD, &SdramTiming::tRP, &SdramTiming::tRAS,
                                                              &SdramTiming::tRC, &SdramTiming::tRFC, &SdramTiming::tRRD,
                                                              &SdramTiming::tWR};

    SdramChip(const SdramTiming& t, unsigned banks, unsigned rows, unsigned columns)
        : t_(t), banks_(banks), rows_(rows), columns_(columns),
          data_(size_t(banks) * rows * columns, 0), bank_(banks) {}

    // One rising edge: the pins as sampled there.  Returns false once a violation is found
    // (error() says which); the model then ignores the pins.
    bool edge(const SdramPins& p) {
        if (!error_.empty()) return false;
        ++cycle_;
        if (!reads_.empty() && reads_.front().first == cycle_ - 1) {   // driven since the last edge
            if (p.dq_oe) return fail("dq driven by the controller while the chip returns a READ's data");
            reads_.pop_front();
        }
        if (p.cke && cke_high_ == NEVER) cke_high_ = now();
        check_refresh_interval();
        if (!error_.empty()) return false;
        if (p.cs_n) return true;
        Command c = decode(p);
        if (c == NOP) return true;
        ++counts_[c];
        if (!p.cke) return fail(std::string(NAMES[c]) + " with CKE low (power-down is not modelled)");
        if (since(cke_high_) < t_.power_up)
            return fail(what("power-up", c, p.ba) + " " + ns(since(cke_high_)) + " after CKE rose (needs " +
                        ns(t_.power_up) + ")");
        if (mrd_ >= 0 && cycle_ - mrd_ < t_.tMRD)
            return fail(what("tMRD", c, p.ba) + " " + std::to_string(cycle_ - mrd_) + " clocks after LOAD MODE (needs " +
                        std::to_string(t_.tMRD) + ")");
        if (!meets(tRFC, c, p.ba, refresh_, "AUTO REFRESH")) return false;
        switch (c) {
        case ACTIVE: return active(p);
        case READ: case WRITE: return access(c, p);
        case PRECHARGE: return precharge(p);
        case REFRESH: return refresh(p);
        case LOAD_MODE: return load_mode(p);
        default: return fail(std::string(NAMES[c]) + " is not modelled");
        }
    }

    // The word the chip drives on dq from this edge to the next, if any (a READ's data).
    bool drives(uint16_t& value) const {
        if (reads_.empty() || reads_.front().first != cycle_) return false;
        value = reads_.front().second;
        return true;
    }

    const std::string& error() const { return error_; }
    // The shortest gap the controller left for timing `k`, in ns (infinite if never tested).
    double tightest(Timing k) const { return tightest_[k]; }
    long long cycle() const { return cycle_; }
    long long count(Command c) const { return counts_[c]; }
    long long refreshes() const { return refreshes_; }
    double max_refresh_gap() const { return max_gap_; }

private:
    static constexpr double NEVER = -1e300;
    struct Bank {
        bool open = false;
        unsigned row = 0;
        double activated = NEVER, precharged = NEVER, written = NEVER;   // ns
    };

    SdramTiming t_;
    unsigned banks_, rows_, columns_;
    std::vector<uint16_t> data_;
    std::vector<Bank> bank_;
    std::deque<std::pair<long long, uint16_t>> reads_;   // (edge it is launched at, word)
    std::string error_;
    long long cycle_ = 0, mrd_ = -1, refreshes_ = 0;
    double cke_high_ = NEVER, refresh_ = NEVER, activated_ = NEVER, first_refresh_ = NEVER, max_gap_ = 0;
    long long counts_[COMMANDS] = {};
    double tightest_[TIMINGS] = {1e300, 1e300, 1e300, 1e300, 1e300, 1e300, 1e300};
    int cl_ = 0;

    static Command decode(const SdramPins& p) {
        static const Command table[8] = {LOAD_MODE, REFRESH, PRECHARGE, ACTIVE, WRITE, READ, BURST_STOP, NOP};
        return table[(p.ras_n << 2) | (p.cas_n << 1) | p.we_n];
    }
    double now() const { return double(cycle_) * t_.tck; }
    double since(double at) const { return now() - at; }
    static std::string ns(double v) {
        char s[32];
        std::snprintf(s, sizeof s, "%.2f ns", v);
        return s;
    }
    std::string what(const char* param, Command c, unsigned ba) const {
        return std::string(param) + " violated: " + NAMES[c] + " to bank " + std::to_string(ba);
    }
    // Whether the time since `at` (the `prior` command's) covers timing `k`; the tightest gap
    // seen is kept for each timing (the controller's margin).
    bool meets(Timing k, Command c, unsigned ba, double at, const char* prior) {
        if (at == NEVER) return true;
        double gap = since(at), need = t_.*MINIMUM[k];
        tightest_[k] = std::min(tightest_[k], gap);
        if (gap >= need) return true;
        return fail(what(TIMING_NAMES[k], c, ba) + " " + ns(gap) + " after " + prior + " (needs " + ns(need) + ")");
    }
    bool fail(const std::string& message) {
        error_ = "cycle " + std::to_string(cycle_) + ": " + message;
        return false;
    }
    bool need_idle(Command c) {
        for (unsigned b = 0; b < banks_; ++b) {
            if (bank_[b].open) return fail(std::string(NAMES[c]) + " with bank " + std::to_string(b) + " open");
            if (!meets(tRP, c, b, bank_[b].precharged, "PRECHARGE")) return false;
        }
        return true;
    }
    void check_refresh_interval() {
        if (first_refresh_ == NEVER) return;
        long long due = (long long)std::floor(since(first_refresh_) / t_.tREFI);
        if (refreshes_ - 1 < due - 1)
            fail("tREFI violated: " + std::to_string(refreshes_ - 1) + " AUTO REFRESHes in " +
                 ns(since(first_refresh_)) + " since the first (needs " + std::to_string(due - 1) +
                 ": at most one tREFI of " + ns(t_.tREFI) + " behind)");
    }

    bool active(const SdramPins& p) {
        Bank& b = bank_[p.ba];
        if (cl_ == 0) return fail("ACTIVE before the mode register is loaded");
        if (b.open) return fail("ACTIVE to bank " + std::to_string(p.ba) + ", which is open (row " + std::to_string(b.row) + ")");
        if (p.a >= rows_) return fail("ACTIVE to row " + std::to_string(p.a) + " of " + std::to_string(rows_));
        if (!meets(tRP, ACTIVE, p.ba, b.precharged, "PRECHARGE") ||
            !meets(tRC, ACTIVE, p.ba, b.activated, "its last ACTIVE") ||
            !meets(tRRD, ACTIVE, p.ba, activated_, "an ACTIVE to another bank"))
            return false;
        b.open = true;
        b.row = p.a;
        b.activated = activated_ = now();
        return true;
    }

    bool access(Command c, const SdramPins& p) {
        Bank& b = bank_[p.ba];
        if (!b.open) return fail(std::string(NAMES[c]) + " to bank " + std::to_string(p.ba) + ", which is closed");
        if (!meets(tRCD, c, p.ba, b.activated, "ACTIVE")) return false;
        unsigned column = p.a & (columns_ - 1);
        uint16_t& word = data_[(size_t(p.ba) * rows_ + b.row) * columns_ + column];
        if (c == READ) {
            reads_.emplace_back(cycle_ + cl_ - 1, word);
        } else {
            if (!p.dq_oe) return fail("WRITE with dq not driven by the controller");
            uint16_t keep = (p.dm & 1 ? 0x00ff : 0) | (p.dm & 2 ? 0xff00 : 0);
            word = (word & keep) | (p.dq & ~keep);
            b.written = now();
        }
        if (p.a & (1u << 10)) {   // auto precharge: the burst (one word) ends at the next edge
            double end = c == READ ? now() + t_.tck : now() + t_.tWR;
            b.open = false;
            b.precharged = std::max(end, b.activated + t_.tRAS);
        }
        return true;
    }

    bool precharge(const SdramPins& p) {
        bool all = p.a & (1u << 10);
        for (unsigned n = 0; n < banks_; ++n) {
            if (!all && n != p.ba) continue;
            Bank& b = bank_[n];
            if (!b.open) continue;   // precharging an idle bank is a NOP
            if (!meets(tRAS, PRECHARGE, n, b.activated, "ACTIVE") || !meets(tWR, PRECHARGE, n, b.written, "the last WRITE"))
                return false;
            b.open = false;
            b.precharged = now();
        }
        return true;
    }

    bool refresh(const SdramPins&) {
        if (!need_idle(REFRESH)) return false;
        if (first_refresh_ == NEVER) first_refresh_ = now();
        else if (since(refresh_) > max_gap_ && cl_ != 0) max_gap_ = since(refresh_);
        refresh_ = now();
        ++refreshes_;
        return true;
    }

    bool load_mode(const SdramPins& p) {
        if (!need_idle(LOAD_MODE)) return false;
        unsigned burst = p.a & 7, latency = (p.a >> 4) & 7;
        if (burst != 0) return fail("LOAD MODE with burst length code " + std::to_string(burst) + " (only 1 is modelled)");
        if (latency != 2 && latency != 3) return fail("LOAD MODE with CAS latency " + std::to_string(latency));
        if (latency == 2 && t_.tck < t_.cl2_min_period)
            return fail("CAS latency violated: 2 at a " + ns(t_.tck) + " clock (needs " + ns(t_.cl2_min_period) + ")");
        cl_ = latency;
        mrd_ = cycle_;
        return true;
    }
};

// The chip on a Verilated top's SDRAM pins, half a period after the controller's rising edge
// (the board drives the SDRAM clock inverted, as LiteDRAM's GENSDRPHY expects): one edge of the
// chip on what the controller's I/O registers launched, then the word the chip drives to the
// next edge, or `noise` where the bus is undriven.  The pins are Amaranth's `sdram` interface,
// which Verilator spells sdram___05Fa and so on, and `sdram_dq` (built with
// --pins-inout-enables).  False on a violation (chip.error() says which).
template <class Top, class Noise>
bool sdram_clock(SdramChip& chip, Top& top, Noise& noise) {
    SdramPins pins{bool(top.sdram___05Fcke), bool(top.sdram___05Fcs_n), bool(top.sdram___05Fras_n),
                   bool(top.sdram___05Fcas_n), bool(top.sdram___05Fwe_n), top.sdram___05Fba, top.sdram___05Fa,
                   top.sdram___05Fdm, uint16_t(top.sdram_dq__out), top.sdram_dq__en != 0};
    bool ok = chip.edge(pins);
    uint16_t word;
    top.sdram_dq = chip.drives(word) ? word : uint16_t(noise());   // an undriven bus reads garbage
    return ok;
}
