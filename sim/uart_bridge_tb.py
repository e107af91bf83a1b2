"""cocotb bridge: the simulated chip's UART pins ↔ a Unix-domain socket.

`glocal.sim.cocotb_link.SimTransport` listens on a socket (``GLOCAL_SOCKET``) and
starts this test; the real driver in the host process then talks to the Verilated RTL
in real UART bytes. The bridge bit-bangs ``rx`` with one timer per run of equal bits and
samples ``tx`` with one timer per bit (no Python per clock cycle). It stops simulated
time while there is nothing to do — the host sends nothing, the interface reports
``idle`` and ``tx`` is quiet — by blocking on the socket, so an idle link costs neither
CPU nor simulated cycles. Simulated time runs on while a frame is half received, so the
chip's inter-byte timeout is real.

Environment: ``GLOCAL_SOCKET`` (path), ``GLOCAL_DIVISOR`` (clock cycles per bit),
``GLOCAL_PERIOD_NS`` (clock period of the Verilog wrapper that generates the clock).
"""

from __future__ import annotations

import os
import select
import socket

import cocotb
from cocotb.triggers import FallingEdge, Timer

#: Simulated cycles between socket polls while the chip works on its own.
QUANTUM = 1024
#: Wall-clock seconds between liveness checks while blocked on an idle link.
POLL_S = 1.0


@cocotb.test()
async def uart_bridge(dut):
    divisor = int(os.environ["GLOCAL_DIVISOR"])
    period = int(os.environ["GLOCAL_PERIOD_NS"])
    bit_ns = divisor * period
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(os.environ["GLOCAL_SOCKET"])
    sock.setblocking(False)

    # The clock runs in the Verilog wrapper SimTransport puts around the design.
    dut.rx.value = 1
    dut.rst.value = 1
    await Timer(4 * period, unit="ns")
    dut.rst.value = 0
    await Timer(period, unit="ns")

    receiving = [False]   # the tx monitor is inside a character

    async def tx_monitor():
        while True:
            await FallingEdge(dut.tx)
            receiving[0] = True
            await Timer(bit_ns + bit_ns // 2, unit="ns")
            byte = 0
            for i in range(8):
                byte |= int(dut.tx.value) << i
                await Timer(bit_ns, unit="ns")
            stop = int(dut.tx.value)
            receiving[0] = False
            if not stop:
                dut._log.warning("tx: framing error in a byte sent by the chip")
                continue
            sock.setblocking(True)
            sock.sendall(bytes([byte]))
            sock.setblocking(False)

    cocotb.start_soon(tx_monitor())

    async def send(data):
        # One timer per run of equal bits, not per bit: half the callbacks on average.
        levels = [lv for byte in data
                  for lv in [0, *((byte >> i) & 1 for i in range(8)), 1]]
        start = 0
        for i in range(1, len(levels) + 1):
            if i == len(levels) or levels[i] != levels[start]:
                dut.rx.value = levels[start]
                await Timer((i - start) * bit_ns, unit="ns")
                start = i

    def quiet():
        return int(dut.idle.value) and not receiving[0] and int(dut.tx.value)

    sent = 0
    while True:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            data = None
        if data == b"":
            break   # the host closed the link: end of simulation
        if data:
            await send(data)
            sent += len(data)
            continue
        if quiet():
            # Make sure no response is about to start, then wait for the host.
            await Timer(2 * bit_ns, unit="ns")
            if quiet():
                select.select([sock], [], [], POLL_S)
                continue
        await Timer(QUANTUM * period, unit="ns")
    dut._log.info("link closed after %d bytes from the host", sent)
    sock.close()
