"""Byte transports between the driver and a chip.

A transport moves raw bytes; framing is the driver's business. `SerialTransport` reaches
a board's UART through pyserial, or anything behind a pyserial URL: the native simulated
chip listens on ``socket://127.0.0.1:PORT`` (:mod:`glocal.sim.native`). The cocotb
simulation's link, :class:`glocal.sim.cocotb_link.SimTransport`, satisfies the same
`Transport` protocol: the driver code is the same for the board and for the simulation.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Transport", "TransportError", "SerialTransport"]


class TransportError(RuntimeError):
    """The link itself failed (the port or the simulation is gone)."""


class Transport(Protocol):
    """What the driver needs from a link."""

    def write(self, data: bytes) -> None:
        """Send ``data`` (all of it)."""

    def read(self, n: int, timeout: float) -> bytes:
        """Up to ``n`` bytes; fewer only if ``timeout`` seconds pass first."""

    def close(self) -> None:
        """Release the link; idempotent."""


class SerialTransport:
    """A UART on a board, through pyserial.

    Parameters
    ----------
    port : str
        Device name (``/dev/ttyUSB1``, ``COM3``) or a pyserial URL (``loop://``,
        ``socket://host:port`` for a board behind a network bridge).
    baud : int
        Baud rate the bitstream was built for.
    """

    def __init__(self, port: str, *, baud: int):
        try:
            import serial
        except ImportError as e:
            raise TransportError("SerialTransport needs pyserial (pip install pyserial)") from e
        try:
            self._serial = serial.serial_for_url(port, baudrate=baud, timeout=1.0)
        except (serial.SerialException, ValueError) as e:
            raise TransportError(f"cannot open the serial port {port!r}: {e}") from e
        self._port = port
        self._errors = (serial.SerialException, OSError)
        self._serial.reset_input_buffer()

    def write(self, data: bytes) -> None:
        try:
            self._serial.write(data)
            self._serial.flush()
        except self._errors as e:
            raise TransportError(f"the link on {self._port!r} failed: {e}") from e

    def read(self, n: int, timeout: float) -> bytes:
        # A socket whose far end closed (a bridge or a simulator that died) raises here
        # rather than reading nothing until the timeout.
        try:
            self._serial.timeout = timeout
            return self._serial.read(n)
        except self._errors as e:
            raise TransportError(f"the link on {self._port!r} failed: {e}") from e

    def close(self) -> None:
        self._serial.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
