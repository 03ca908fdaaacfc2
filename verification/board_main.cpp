// The simulated board: the system top's Verilog in Verilator, its UART pins bridged to a
// pseudo-terminal.  The host opens the pty's slave like a USB-serial port; every byte it sends
// is clocked onto the `rx` pin bit by bit at the gateware's divisor (8N1), and every byte the
// gateware sends on `tx` is sampled mid-bit and handed back.  So the host's code path is a
// real board's, and the link costs the cycles it costs on the chip.
//
//   Vboard DIVISOR STATS.json [LATENCY [TIMING...]]
//       prints the slave's path on stdout, runs until SIGTERM, then writes the run's counters
//       to STATS.json.  LATENCY (cycles, default 0) models an FTDI USB-serial bridge: the
//       device's bytes reach the host in USB packets of 62 data bytes (64 with the bridge's 2
//       status bytes), sent when full or when the bridge's latency timer expires; the timer
//       runs from the last packet sent.  0 hands each reply over as soon as it is out.
//
// A system with the board's SDRAM (built with EPFPGA_SDRAM) has the chip model of
// sdram_chip.h on its pins, clocked half a period after the system (the board's SDRAM clock
// is the system's inverted); TIMING is the chip's datasheet (sdram_chip.h's sdram_timing).  A
// timing violation stops the board: its line goes to stderr and to STATS.json ("sdram_error").
//
// While nothing is in flight (the device waits for a frame, the core is idle, no byte on
// either wire or in the bridge) the simulation waits for the host instead of spinning:
// simulated time then stands still, as if the host answered at once, so the cycles counted
// are the chip's.  Bytes held by the bridge are in flight: time runs while they wait.
#include <verilated.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include "Vepfpga_system.h"
#ifdef EPFPGA_SDRAM
#include <random>

#include "sdram_chip.h"
#endif

static volatile std::sig_atomic_t stopping = 0;
static void on_signal(int) { stopping = 1; }

int main(int argc, char** argv) {
#ifdef EPFPGA_SDRAM
    if (argc != 4 + SDRAM_TIMING_ARGS) {
        std::fprintf(stderr, "usage: %s DIVISOR STATS.json LATENCY TCK tRCD tRP tRAS tRC tRFC tRRD tWR tREFI "
                     "POWER_UP tMRD CL2_MIN_PERIOD\n", argv[0]);
        return 2;
    }
    SdramChip chip(sdram_timing(argv + 4), SDRAM_BANKS, SDRAM_ROWS, SDRAM_COLUMNS);
    std::mt19937 noise(1);
#else
    if (argc != 3 && argc != 4) {
        std::fprintf(stderr, "usage: %s DIVISOR STATS.json [LATENCY]\n", argv[0]);
        return 2;
    }
#endif
    const long divisor = std::strtol(argv[1], nullptr, 10);
    const long long latency = argc >= 4 ? std::strtoll(argv[3], nullptr, 10) : 0;
    const size_t packet = 62;      // data bytes in a full-speed FTDI packet
    if (latency < 0) {
        std::fprintf(stderr, "latency %lld: must be >= 0\n", latency);
        return 2;
    }
    if (divisor < 4) {
        std::fprintf(stderr, "divisor %ld: must be >= 4\n", divisor);
        return 2;
    }
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master)) {
        std::perror("posix_openpt");
        return 1;
    }
    const char* name = ptsname(master);
    // Held open for the whole run, so that the master never sees a hang-up between two
    // sessions of the host; raw, so the line discipline passes every byte unchanged.
    int slave = open(name, O_RDWR | O_NOCTTY);
    termios raw{};
    tcgetattr(slave, &raw);
    cfmakeraw(&raw);
    tcsetattr(slave, TCSANOW, &raw);
    fcntl(master, F_SETFL, O_NONBLOCK);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    const pid_t parent = getppid();

    VerilatedContext context;
    Vepfpga_system top(&context);
    auto tick = [&]() {
        top.clk = 0;
        top.eval();
        top.clk = 1;
        top.eval();
#ifdef EPFPGA_SDRAM
        if (!sdram_clock(chip, top, noise) && !stopping) {
            std::fprintf(stderr, "sdram: %s\n", chip.error().c_str());
            stopping = 1;
        }
#endif
    };
    top.rx = 1;
    top.rst = 1;
    for (int i = 0; i < 4; i++) tick();
    top.rst = 0;
    std::printf("%s\n", name);
    std::fflush(stdout);

    std::deque<unsigned char> to_device;
    unsigned long long cycles = 0, bytes_in = 0, bytes_out = 0, busy_cycles = 0;
    // host -> device: the frame being clocked out (start, 8 data, stop), bit by bit
    unsigned frame = 0;
    int bit = -1;          // -1: the line idles high
    long bit_left = 0;
    // device -> host: the receiver of the `tx` pin
    int rx_bit = -1;       // -1: waiting for a start bit
    long rx_wait = 0;
    unsigned rx_byte = 0;
    long line_idle = 0;    // cycles without a byte on `tx`
    long long timer = latency;   // the bridge: cycles until its latency timer expires
    unsigned char out[4096];
    size_t out_len = 0;
    auto start = std::chrono::steady_clock::now();

    auto flush = [&]() {
        size_t done = 0;
        while (done < out_len) {
            ssize_t n = write(master, out + done, out_len - done);
            if (n > 0) {
                done += n;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                break;       // nobody reads: the bytes are lost, as on a board's unplugged cable
            } else {
                pollfd p{master, POLLOUT, 0};
                poll(&p, 1, 10);
            }
        }
        out_len = 0;
    };

    while (!stopping) {
        if (bit < 0 && to_device.empty()) {
            bool quiet = top.idle && rx_bit < 0 && out_len == 0;
            if (quiet || (cycles & 255) == 0) {
                pollfd p{master, POLLIN, 0};
                if (poll(&p, 1, quiet ? 20 : 0) > 0 && (p.revents & POLLIN)) {
                    unsigned char buf[4096];
                    ssize_t n = read(master, buf, sizeof buf);
                    for (ssize_t i = 0; i < n; i++) to_device.push_back(buf[i]);
                }
                if (quiet && getppid() != parent) break;   // the host process is gone
                if (quiet && to_device.empty()) continue;
            }
        }
        if (bit < 0 && !to_device.empty()) {
            frame = (1u << 9) | (unsigned(to_device.front()) << 1);   // stop, data LSB first, start
            to_device.pop_front();
            bytes_in++;
            bit = 0;
            bit_left = divisor;
        }
        top.rx = bit < 0 ? 1 : (frame >> bit) & 1;
        tick();
        cycles++;
        busy_cycles += top.busy;
        if (bit >= 0 && --bit_left == 0) {
            bit_left = divisor;
            if (++bit == 10) bit = -1;
        }
        // sample the device's `tx` in the middle of each bit
        if (rx_bit < 0) {
            if (!top.tx) {
                rx_bit = 0;
                rx_wait = divisor / 2;
                rx_byte = 0;
            }
        } else if (--rx_wait == 0) {
            rx_wait = divisor;
            if (rx_bit == 0 && top.tx) {
                rx_bit = -1;                       // a glitch, not a start bit
            } else if (rx_bit >= 1 && rx_bit <= 8) {
                rx_byte |= unsigned(top.tx) << (rx_bit - 1);
            } else if (rx_bit == 9 && top.tx) {    // a good stop bit
                out[out_len++] = (unsigned char)rx_byte;
                bytes_out++;
            }
            rx_bit = rx_bit < 0 || rx_bit == 9 ? -1 : rx_bit + 1;
        }
        if (latency) {   // the bridge: a full packet at once, the rest when the timer expires
            if (out_len == packet || --timer == 0) {
                flush();
                timer = latency;
            }
        } else {         // between frames (no byte on `tx` for a byte time) the bytes go to the host
            line_idle = rx_bit < 0 ? line_idle + 1 : 0;
            if (out_len == sizeof out || (out_len && (top.idle || line_idle > 10 * divisor))) flush();
        }
    }
    flush();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string extra;
#ifdef EPFPGA_SDRAM
    extra = ", \"sdram_error\": \"" + chip.error() + "\", \"sdram_refreshes\": " + std::to_string(chip.refreshes());
#endif
    if (FILE* f = std::fopen(argv[2], "w")) {
        std::fprintf(f,
                     "{\"cycles\": %llu, \"busy_cycles\": %llu, \"bytes_to_device\": %llu, "
                     "\"bytes_from_device\": %llu, \"seconds\": %.3f, \"divisor\": %ld%s}\n",
                     cycles, busy_cycles, bytes_in, bytes_out, seconds, divisor, extra.c_str());
        std::fclose(f);
    }
    top.final();
    close(slave);
    close(master);
    return 0;
}
