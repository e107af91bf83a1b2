"""8N1 UART: a receiver and a transmitter with byte streams on the fabric side.

The bit time is a whole number of clock cycles, `divisor` (clock frequency / baud rate,
rounded). The receiver samples each bit in its middle, counted from the falling edge of
the start bit, and reports a framing error when the stop bit is low.
"""


from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["divisor", "Rx", "Tx"]

#: Largest baud-rate error the receiver tolerates over a frame of 10 bits is about 5 %;
#: we allow at most 2 % of our own so the other end may be off by 3 %.
MAX_ERROR = 0.02


def divisor(clk_freq: float, baud: float) -> int:
    """Clock cycles per bit for ``baud`` at ``clk_freq``.

    Raises
    ------
    ValueError
        If the rounded divisor is below 4 (no room for mid-bit sampling) or the resulting
        baud rate is more than 2 % off ``baud``.
    """
    if clk_freq <= 0 or baud <= 0:
        raise ValueError(f"clock frequency and baud rate must be positive, not "
                         f"{clk_freq!r} and {baud!r}")
    d = round(clk_freq / baud)
    if d < 4:
        raise ValueError(f"baud rate {baud} needs at least 4 cycles per bit at {clk_freq} Hz, "
                         f"which gives {clk_freq / baud:.2f}")
    err = abs(clk_freq / d - baud) / baud
    if err > MAX_ERROR:
        raise ValueError(f"baud rate {baud} at {clk_freq} Hz is {err:.1%} off with divisor "
                         f"{d}; at most {MAX_ERROR:.0%} is allowed")
    return d


def _check_divisor(d) -> None:
    if not isinstance(d, int) or d < 4:
        raise TypeError(f"divisor must be an integer of at least 4, not {d!r}")


class Rx(wiring.Component):
    """UART receiver.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (at least 4), see `divisor`.

    Members
    -------
    pin : In(1)
        The serial line (idle high); synchronised inside.
    o : Out(stream.Signature(8))
        Received bytes. A byte that completes while the previous one is still offered
        is dropped and ``overrun`` pulses.
    framing_error : Out(1)
        One-cycle pulse: a stop bit was low. The byte is dropped and the receiver waits
        for the line to go high (a break) before it looks for the next start bit.
    overrun : Out(1)
        One-cycle pulse: a byte was dropped because ``o`` was not taken in time.
    """

    pin: In(1, init=1)
    o: Out(stream.Signature(8))
    framing_error: Out(1)
    overrun: Out(1)

    def __init__(self, *, divisor: int):
        _check_divisor(divisor)
        self._divisor = divisor
        super().__init__()

    def elaborate(self, platform):
        d = self._divisor
        m = Module()
        line = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.pin, line, init=1)

        timer = Signal(range(d))
        bits = Signal(range(8))
        shreg = Signal(8)

        m.d.sync += [self.framing_error.eq(0), self.overrun.eq(0)]
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        with m.FSM():
            with m.State("IDLE"), m.If(~line):
                m.d.sync += timer.eq(d // 2 - 1)
                m.next = "START"
            with m.State("START"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    # Half way through the start bit the line must still be low.
                    m.d.sync += [timer.eq(d - 1), bits.eq(0)]
                    m.next = "DATA"
                    with m.If(line):
                        m.next = "IDLE"   # a glitch, not a start bit
            with m.State("DATA"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [shreg.eq(shreg >> 1 | line << 7), bits.eq(bits + 1),
                                 timer.eq(d - 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    with m.If(~line):
                        m.d.sync += self.framing_error.eq(1)
                        m.next = "BREAK"
                    with m.Else():
                        with m.If(self.o.valid & ~self.o.ready):
                            m.d.sync += self.overrun.eq(1)
                        with m.Else():
                            m.d.sync += [self.o.payload.eq(shreg), self.o.valid.eq(1)]
                        # Back to idle in mid stop bit: tolerates a slightly faster sender.
                        m.next = "IDLE"
            with m.State("BREAK"), m.If(line):
                m.next = "IDLE"
        return m


class Tx(wiring.Component):
    """UART transmitter.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (at least 4), see `divisor`.

    Members
    -------
    i : In(stream.Signature(8))
        Bytes to send; one is taken whenever the line is free.
    pin : Out(1)
        The serial line, idle high.
    """

    i: In(stream.Signature(8))
    pin: Out(1, init=1)

    def __init__(self, *, divisor: int):
        _check_divisor(divisor)
        self._divisor = divisor
        super().__init__()

    def elaborate(self, platform):
        d = self._divisor
        m = Module()
        timer = Signal(range(d))
        shreg = Signal(unsigned(10), init=0x3FF)   # stop, 8 data, start; LSB goes out first
        left = Signal(range(11))

        m.d.comb += self.pin.eq(shreg[0])
        m.d.comb += self.i.ready.eq(left == 0)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [shreg.eq(self.i.payload << 1 | 1 << 9), left.eq(10),
                         timer.eq(d - 1)]
        with m.Elif(left != 0):
            m.d.sync += timer.eq(timer - 1)
            with m.If(timer == 0):
                m.d.sync += [timer.eq(d - 1), left.eq(left - 1),
                             shreg.eq(shreg >> 1 | 1 << 9)]
        return m
