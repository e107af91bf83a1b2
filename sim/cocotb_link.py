"""The Verilated chip under cocotb, reached through its real UART pins: `SimTransport`.

`SimTransport` runs the Verilated design under cocotb in a child process whose bridge
(:mod:`glocal.sim.uart_bridge_tb`) turns bytes into UART bit levels on the design's ``rx``
pin and back from ``tx``. It is a :class:`glocal.firmware.transport.Transport`, so the
driver speaks to it as to a board. Slower than the native chip (:mod:`glocal.sim.native`,
about 11× in ``docs/sim.md``) but any top level with ``rx``/``tx``/``idle`` pins fits, the
benches' own (:class:`glocal.sim.busram.Bench`) included, and waveforms are one
environment variable away.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

from glocal.firmware.transport import TransportError

__all__ = ["PERIOD_NS", "SimTransport"]

#: Clock period of the simulated chip, in ns (the bridge times UART bits from it).
PERIOD_NS = 10

# The clock is generated in Verilog (Verilator --timing) rather than by cocotb: a clock
# driven through VPI costs a callback per edge, which made the simulation 3× slower.
_WRAPPER = """`timescale 1ns/1ps
module {top}(input wire rst, input wire rx, output wire tx, output wire idle);
  reg clk = 1'b0;
  always #{half} clk = ~clk;
  {name} chip(.clk(clk), .rst(rst), .rx(rx), .tx(tx), .idle(idle));
endmodule
"""


def _build_and_run(component, *, name: str, build_dir: Path, test_dir: Path,
                   extra_env: dict[str, str], waves: bool) -> None:
    """Verilate ``component`` (reusing an up-to-date build) and run the bridge on it."""
    from cocotb_tools.runner import get_runner

    from glocal.sim.toolchain import verilator_env, write_verilog

    verilator_env()
    build_dir.mkdir(parents=True, exist_ok=True)
    runner = get_runner("verilator")
    # Several pytest workers may start the same design: one builds, the others wait.
    with open(build_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        source = build_dir / f"{name}.v"
        fresh = test_dir / f"{name}.v"
        write_verilog(component, name, fresh)
        if not source.exists() or source.read_text() != fresh.read_text():
            source.write_text(fresh.read_text())   # a changed design: rebuild
        wrapper = build_dir / f"{name}_clk.v"
        wrapper.write_text(_WRAPPER.format(top=f"{name}_clk", name=name, half=PERIOD_NS // 2))
        # Verilator skips identical inputs and make is incremental: a rebuild of an
        # unchanged design costs a second or two.
        runner.build(sources=[source, wrapper], hdl_toplevel=f"{name}_clk",
                     build_dir=build_dir, build_args=["-Wno-fatal", "-O3", "--timing"],
                     timescale=("1ns", "1ps"), waves=waves, log_file=build_dir / "build.log")
    runner.test(test_module="glocal.sim.uart_bridge_tb", hdl_toplevel=f"{name}_clk",
                build_dir=build_dir, test_dir=test_dir, extra_env=extra_env, waves=waves,
                log_file=test_dir / "sim.log")


class SimTransport:
    """The Verilated chip, spoken to through its real UART pins.

    Parameters
    ----------
    component : wiring.Component
        Top level with ``rx``/``tx`` serial pins and an ``idle`` output (for example
        :class:`glocal.sim.busram.Bench`), whose UART runs at ``divisor`` cycles per bit.
        Its clock is generated in a Verilog wrapper, period `PERIOD_NS`.
    divisor : int
        Clock cycles per bit of the design's UART.
    build_dir : Path
        Verilator build directory; reused while the generated Verilog is unchanged.
    start_timeout : float
        Seconds to wait for the build and the simulator to come up.

    With ``GLOCAL_WAVES=1`` the design is built with tracing in ``<build_dir>_waves`` and
    the simulation's ``dump.vcd`` is copied there when the link closes (one per link).

    Raises
    ------
    TransportError
        If the simulation does not connect in time or dies; the message names its log.
    """

    def __init__(self, component, *, divisor: int, build_dir: Path, name: str = "top",
                 start_timeout: float = 600.0):
        # Waveforms are opt-in (GLOCAL_WAVES=1): a separate build with tracing, and the
        # dump is copied next to it when the link closes.
        self._waves = os.environ.get("GLOCAL_WAVES", "") not in ("", "0")
        if self._waves:
            build_dir = Path(build_dir).with_name(Path(build_dir).name + "_waves")
        self._build_dir = Path(build_dir)
        self._tmp = tempfile.TemporaryDirectory(prefix="glocal-sim-")
        tmp = Path(self._tmp.name)
        self.log = tmp / "sim.log"
        path = str(tmp / "uart.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)
        listener.settimeout(0.5)
        self._error: BaseException | None = None

        def run():
            try:
                _build_and_run(component, name=name, build_dir=Path(build_dir), test_dir=tmp,
                               extra_env={"GLOCAL_SOCKET": path, "GLOCAL_DIVISOR": str(divisor),
                                          "GLOCAL_PERIOD_NS": str(PERIOD_NS)},
                               waves=self._waves)
            except BaseException as e:   # reported to the caller of read/write
                self._error = e

        self._thread = threading.Thread(target=run, name="glocal-sim", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + start_timeout
        self._sock = None
        try:
            while self._sock is None:
                try:
                    self._sock, _ = listener.accept()
                except TimeoutError:
                    if not self._thread.is_alive():
                        raise TransportError(
                            f"the simulation ended before it connected ({self._error!r}); "
                            f"see {build_dir}/build.log and {self.log}") from self._error
                    if time.monotonic() > deadline:
                        raise TransportError(
                            f"the simulation did not connect within {start_timeout} s") from None
        finally:
            listener.close()
        self._buf = bytearray()

    def write(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as e:
            raise TransportError(f"the simulation is gone ({e}); see {self.log}") from e

    def read(self, n: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self._buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                raise TransportError(f"the simulation closed the link; see {self.log}")
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def close(self, timeout: float = 30.0) -> None:
        """Close the link; the bridge then ends the simulation, which is waited for."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TransportError(f"the simulation did not stop within {timeout} s")
            for dump in Path(self._tmp.name).glob("dump.*"):
                shutil.copy(dump, self._build_dir / dump.name)
            self._tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
