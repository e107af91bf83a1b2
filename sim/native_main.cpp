// The Verilated chip as a standalone process: a free-running clock, and the UART pins
// bridged to a TCP byte stream on 127.0.0.1 — what a board behind a network serial bridge
// looks like to the host driver (pyserial's socket://127.0.0.1:PORT).
//
// Built by glocal.sim.native (sim/native.py) with the Verilated top `chip` (class Vchip)
// and -DGLOCAL_DIVISOR=<clock cycles per UART bit the RTL was elaborated with>; with
// -DGLOCAL_LINK_BYTES for a chip built with rtl.chip.Link.BYTES, whose host link is byte
// streams (rx__valid/rx__payload/rx__ready, tx__valid/tx__payload/tx__ready) instead of
// UART pins: then a queued byte goes in every cycle, a response byte comes out every cycle,
// and the divisor does not apply (--divisor is refused).
//
//   glocal-chip [--port N] [--divisor N] [--once] [--quantum N] [--idle-ms N]
//
// Prints "listening on 127.0.0.1:PORT" on stdout once the socket is bound (PORT 0 asks the
// system for a free port). One client at a time; a second one is accepted and closed at
// once. When the client hangs up the chip keeps its state and waits for the next client,
// as a board would (--once: exit 0 instead). SIGINT/SIGTERM end it with exit code 0;
// SIGUSR1 prints "cycles N" on stdout (the benches read the chip's clock with it). On
// Linux it also ends when its parent process dies, so it never outlives its driver.
//
// No Python and no per-cycle system call: bytes from the client are shifted into `rx` at
// the divisor's bit timing, `tx` is sampled mid-bit and reassembled (the bytes link: each
// byte is one cycle of rx__valid, each cycle of tx__valid one byte out), and the sockets
// are serviced every `quantum` cycles. When the chip is idle (its `idle` output high, no
// character in flight either way, for a few bit times; the bytes link: for one cycle,
// nothing queued) nothing can change until a byte arrives, so the loop blocks in poll()
// instead of clocking: an idle simulator costs no CPU, and the chip's state is exactly
// what it would be after any number of idle cycles.

#include "Vchip.h"
#include "verilated.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifndef GLOCAL_DIVISOR
#error "build with -DGLOCAL_DIVISOR=<the RTL's UART divisor>"
#endif

static volatile sig_atomic_t g_stop = 0;
static volatile sig_atomic_t g_report = 0;

static void on_stop(int) { g_stop = 1; }
static void on_report(int) { g_report = 1; }

static void usage_error(const char* what, const char* value) {
    std::fprintf(stderr, "glocal-chip: %s, not '%s'\n", what, value ? value : "");
    std::fprintf(stderr, "usage: glocal-chip [--port N] [--divisor N] [--once] "
                         "[--quantum N] [--idle-ms N]\n");
    std::exit(2);
}

static long parse_int(const char* opt, const char* text, long lo, long hi) {
    if (!text) usage_error(opt, text);
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(text, &end, 10);
    if (errno || !end || *end || v < lo || v > hi) {
        std::string what = std::string(opt) + " must be an integer in [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "]";
        usage_error(what.c_str(), text);
    }
    return v;
}

int main(int argc, char** argv) {
    long port = 0, divisor = GLOCAL_DIVISOR, quantum = 1024, idle_ms = 200;
    bool once = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
        if (a == "--port") { port = parse_int("--port", next, 0, 65535); ++i; }
#ifdef GLOCAL_LINK_BYTES
        else if (a == "--divisor") {
            // Refused, not ignored: a caller that sets a divisor expects a UART's timing.
            std::fprintf(stderr, "glocal-chip: --divisor, but this chip was built with the "
                                 "bytes link (no UART: a byte a cycle each way); build it "
                                 "with the UART link for a divisor\n");
            return 2;
        }
#else
        else if (a == "--divisor") { divisor = parse_int("--divisor", next, 4, 1 << 20); ++i; }
#endif
        else if (a == "--quantum") { quantum = parse_int("--quantum", next, 1, 1 << 24); ++i; }
        else if (a == "--idle-ms") { idle_ms = parse_int("--idle-ms", next, 1, 60000); ++i; }
        else if (a == "--once") { once = true; }
        else usage_error("unknown option", argv[i]);
    }
    if (divisor != GLOCAL_DIVISOR) {
        // The RTL's UART divisor is an elaboration parameter (rtl/uart.py): the bridge
        // must shift bits at the rate the receiver was built for.
        std::fprintf(stderr, "glocal-chip: --divisor %ld, but this chip's UART was built with "
                             "divisor %d (an elaboration parameter: build another chip)\n",
                     divisor, GLOCAL_DIVISOR);
        return 2;
    }

#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) return 0;   // the parent died before prctl
#endif
    struct sigaction sa {};
    sa.sa_handler = on_stop;   // no SA_RESTART: poll() returns EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sa.sa_handler = on_report;
    sigaction(SIGUSR1, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) { std::perror("glocal-chip: socket"); return 1; }
    sockaddr_in addr {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    // No SO_REUSEADDR: a port held by another listener must fail here, clearly.
    if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        int e = errno;
        if (e == EADDRINUSE)
            std::fprintf(stderr, "glocal-chip: port %ld on 127.0.0.1 is already in use\n", port);
        else
            std::fprintf(stderr, "glocal-chip: cannot bind 127.0.0.1:%ld: %s\n", port,
                         std::strerror(e));
        return 3;
    }
    if (listen(listener, 1) < 0) { std::perror("glocal-chip: listen"); return 1; }
    socklen_t len = sizeof addr;
    getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);

    VerilatedContext ctx;
    Vchip top {&ctx};
#ifdef GLOCAL_LINK_BYTES
    // The streams' ports: Verilator escapes the "__" of Amaranth's member names
    // (rx__valid) as "___05F".
    auto& rx_valid = top.rx___05Fvalid;
    auto& rx_payload = top.rx___05Fpayload;
    auto& rx_ready = top.rx___05Fready;
    auto& tx_valid = top.tx___05Fvalid;
    auto& tx_payload = top.tx___05Fpayload;
    rx_valid = 0;
    top.tx___05Fready = 1;   // the socket takes every byte (txq grows until the next service)
#else
    top.rx = 1;
#endif
    top.rst = 1;
    for (int i = 0; i < 4; ++i) {
        top.clk = 0; top.eval();
        top.clk = 1; top.eval();
    }
    top.rst = 0;

    std::printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    std::fflush(stdout);

    const int div = static_cast<int>(divisor);
#ifdef GLOCAL_LINK_BYTES
    // Nothing sits between the host interpreter and the socket: once `idle` is high after
    // an edge, the response's last byte has been taken.
    const uint64_t quiet_needed = 1;
    (void)div;
#else
    const uint64_t quiet_needed = 4u * div;   // a buffered response byte starts within 2 bits
#endif
    uint64_t cycles = 0, quiet_for = 0;
    int client = -1;
    std::vector<uint8_t> rxq, txq;   // bytes to shift into rx; bytes reassembled from tx
    size_t rx_head = 0;
#ifndef GLOCAL_LINK_BYTES
    int rx_bit = -1, rx_left = 0;    // bit of the character on rx (-1: none), cycles left in it
    uint16_t rx_frame = 0;
    int tx_bit = -1, tx_left = 0;    // next bit to sample on tx (-1: waiting for a start bit)
    uint8_t tx_byte = 0;
#endif
    uint64_t bytes_in = 0, bytes_out = 0, framing_errors = 0;
    auto t0 = std::chrono::steady_clock::now();

    auto drop_client = [&](const char* why) {
        if (client < 0) return;
        close(client);
        client = -1;
        rxq.clear();
        rx_head = 0;
        txq.clear();
        std::fprintf(stderr, "glocal-chip: client %s (%llu bytes in, %llu out)\n", why,
                     (unsigned long long)bytes_in, (unsigned long long)bytes_out);
    };

    while (!g_stop) {
        // ---- the cycle loop: no system call in here --------------------------------------
        // Still quiet since the last pass (a signal or a refused client woke us): nothing
        // to clock.
        bool quiet = quiet_for >= quiet_needed && rx_head == rxq.size();
        for (long i = 0; !quiet && i < quantum; ++i) {
#ifdef GLOCAL_LINK_BYTES
            // A byte a cycle each way. Both streams transfer at the rising edge, so they
            // are presented and sampled after the falling half has settled the outputs.
            const bool offered = rx_head < rxq.size();
            rx_valid = offered;
            if (offered) rx_payload = rxq[rx_head];
            top.clk = 0; top.eval();
            const bool taken = offered && rx_ready;
            if (tx_valid) txq.push_back(static_cast<uint8_t>(tx_payload));
            top.clk = 1; top.eval();
            ++cycles;
            if (taken) ++rx_head;
            if (top.idle && !tx_valid && rx_head == rxq.size()) {
                if (++quiet_for >= quiet_needed) { quiet = true; break; }
            } else {
                quiet_for = 0;
            }
#else
            if (rx_bit < 0 && rx_head < rxq.size()) {
                rx_frame = static_cast<uint16_t>(0x200 | (rxq[rx_head++] << 1));   // 8N1
                rx_bit = 0;
                rx_left = div;
                top.rx = 0;
            }
            top.clk = 0; top.eval();
            top.clk = 1; top.eval();
            ++cycles;
            if (rx_bit >= 0 && --rx_left == 0) {
                if (++rx_bit == 10) { rx_bit = -1; top.rx = 1; }
                else { top.rx = (rx_frame >> rx_bit) & 1; rx_left = div; }
            }
            const int tx = top.tx;
            if (tx_bit < 0) {
                if (!tx) { tx_bit = 0; tx_left = div + div / 2; tx_byte = 0; }   // mid bit 0
            } else if (--tx_left == 0) {
                if (tx_bit < 8) {
                    tx_byte |= static_cast<uint8_t>(tx << tx_bit);
                    ++tx_bit;
                    tx_left = div;
                } else {
                    if (tx) txq.push_back(tx_byte);
                    else ++framing_errors;
                    tx_bit = -1;
                }
            }
            if (top.idle && tx && tx_bit < 0 && rx_bit < 0 && rx_head == rxq.size()) {
                if (++quiet_for >= quiet_needed) { quiet = true; break; }
            } else {
                quiet_for = 0;
            }
#endif
        }
        if (g_report) {
            g_report = 0;
            std::printf("cycles %llu\n", (unsigned long long)cycles);
            std::fflush(stdout);
        }
        // ---- the sockets --------------------------------------------------------------------
        if (client >= 0 && !txq.empty()) {
            size_t off = 0;
            while (off < txq.size()) {
                ssize_t n = send(client, txq.data() + off, txq.size() - off, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) { drop_client("write failed"); break; }
                off += static_cast<size_t>(n);
            }
            bytes_out += off;
            txq.clear();
        } else if (client < 0) {
            txq.clear();   // nobody listens: the bytes fall off the wire
        }
        pollfd fds[2] = {{listener, POLLIN, 0}, {client, POLLIN, 0}};
        int nfds = client >= 0 ? 2 : 1;
        int r = poll(fds, nfds, quiet ? static_cast<int>(idle_ms) : 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            std::perror("glocal-chip: poll");
            return 1;
        }
        if (fds[0].revents & POLLIN) {
            int c = accept(listener, nullptr, nullptr);
            if (c >= 0 && client >= 0) {
                close(c);   // one host at a time, as on a UART
                std::fprintf(stderr, "glocal-chip: refused a second client\n");
            } else if (c >= 0) {
                int one = 1;
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                client = c;
                bytes_in = bytes_out = 0;
                std::fprintf(stderr, "glocal-chip: client connected\n");
            }
        }
        // Bounded: a client that floods the link waits in its socket, not in our memory.
        if (client >= 0 && rxq.size() - rx_head < (1u << 20) &&
            (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (rx_head == rxq.size()) { rxq.clear(); rx_head = 0; }
            uint8_t buf[65536];
            ssize_t n = recv(client, buf, sizeof buf, 0);
            if (n > 0) {
                rxq.insert(rxq.end(), buf, buf + n);
                bytes_in += static_cast<uint64_t>(n);
                quiet_for = 0;
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                drop_client("hung up");
                if (once) break;
            }
        }
    }
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "glocal-chip: %llu cycles in %.2f s%s; %llu tx framing errors\n",
                 (unsigned long long)cycles, wall, g_stop ? " (stopped by a signal)" : "",
                 (unsigned long long)framing_errors);
    if (client >= 0) close(client);
    close(listener);
    top.final();
    return 0;
}
