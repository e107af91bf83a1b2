"""The Verilated chip as a native process behind a TCP socket, reached like a board.

:func:`build` turns :class:`glocal.rtl.chip.Chip` of a `CoreConfig` and a `Mesh` into a
standalone executable: Verilator's C++ model plus ``native_main.cpp`` (shipped beside this
file), whose loop clocks the chip freely and bridges its UART pins to a byte stream on
``127.0.0.1`` — no Python per cycle. :class:`NativeChip` builds one (cached), starts it and
gives its ``socket://127.0.0.1:PORT`` URL, which the host driver opens with the same
:class:`glocal.firmware.transport.SerialTransport` as a board's serial port
(``glocal run --sim``: :func:`glocal.flows.run.run_sim`).

The chip's UART divisor is an elaboration parameter of the RTL (``rtl/uart.py``: the
receiver and transmitter count a constant), so it is part of the build, not a run-time
choice: the native build uses `DIVISOR` = 4, the smallest the UART allows. The executable
takes ``--divisor`` only to refuse a mismatch.

The host link is part of the build too (``link``, :class:`glocal.rtl.chip.Link`): the
UART (the default, as on a board) or ``Link.BYTES``, the same frames and host interpreter
without the UART's serialisation, a byte a cycle each way. The executable is compiled
for one or the other (``-DGLOCAL_LINK_BYTES``); the socket and the driver are the same.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from glocal.firmware.transport import SerialTransport, TransportError
from glocal.golden.config import CoreConfig
from glocal.golden.noc import Mesh
from glocal.rtl.chip import Link

__all__ = ["DIVISOR", "Link", "Options", "SimulatorError", "build", "NativeChip"]

#: Clock cycles per UART bit of the native chip: the smallest the RTL's UART allows.
DIVISOR = 4
#: The C++ main compiled with the Verilated model.
MAIN = Path(__file__).with_name("native_main.cpp")
#: Name of the Verilated top module (the C++ class is ``V`` + this).
TOP = "chip"
EXE = "glocal-chip"


class SimulatorError(TransportError):
    """The native simulator could not be built or started, or it died; the message says
    which executable, how it ended (exit code or signal) and where its log is."""


@dataclass(frozen=True)
class Options:
    """Verilator options of a native build (each measured in ``docs/sim.md``).

    Members
    -------
    opt : str
        Verilator's own optimisation flag (``-O3``, ``-O0``…).
    x_assign_fast, x_initial_fast : bool
        ``--x-assign fast`` / ``--x-initial fast``: X values become whatever is fastest.
        The Amaranth netlist initialises every register and memory, so no X is ever read.
    threads : int
        ``--threads``: Verilator's model threads (1: single-threaded model).
    cxx_opt : str
        The C++ compiler's optimisation of the model's hot code (verilated.mk's
        ``OPT_FAST``; its default is ``-Os``).
    """

    opt: str = "-O3"
    x_assign_fast: bool = True
    x_initial_fast: bool = True
    threads: int = 1
    cxx_opt: str = "-O2"

    def __post_init__(self):
        if not isinstance(self.threads, int) or self.threads < 1:
            raise ValueError(f"threads must be a positive integer, not {self.threads!r}")

    def args(self) -> list[str]:
        out = [self.opt]
        if self.x_assign_fast:
            out += ["--x-assign", "fast"]
        if self.x_initial_fast:
            out += ["--x-initial", "fast"]
        if self.threads > 1:
            out += ["--threads", str(self.threads)]
        return out


def _verilog(cfg: CoreConfig, mesh: Mesh | None, divisor: int, link: Link = Link.UART) -> str:
    from amaranth.back import verilog

    from glocal.rtl.chip import Chip

    # A nominal clock: divisor = clk / baud; the inter-byte timeout is TIMEOUT_S of it
    # (the bytes link has no UART, but the same clock and so the same timeout in cycles).
    rtl = Chip(cfg=cfg, mesh=mesh, clk_freq=1e6 * divisor, baud=1e6, link=link)
    return verilog.convert(rtl, name=TOP, emit_src=False)


def build(cfg: CoreConfig, mesh: Mesh | None = None, *, divisor: int = DIVISOR,
          options: Options = Options(), root: Path | None = None,
          link: Link = Link.UART) -> Path:
    """The native simulator of ``Chip(cfg, mesh, link)``; returns the executable's path.

    Builds are cached under ``root/native/`` (``root`` defaults to
    :func:`glocal.sim.toolchain.build_root`), keyed on a hash of the generated Verilog, the
    options, the divisor, the link, the C++ main and the Verilator version: an unchanged
    design is reused after generating its Verilog (seconds). Concurrent callers of the
    same build wait for one another. The compiler runs at ``nice`` 10.

    With ``link=Link.BYTES`` the divisor only sets the nominal clock (and so the
    inter-byte timeout in cycles, the same as the UART build's): there is no UART.

    Raises
    ------
    SimulatorError
        If Verilator or the C++ compiler fails; the message names the log.
    """
    from glocal.sim.toolchain import build_root, verilator_env

    bin_dir = verilator_env()
    if shutil.which("make") is None or shutil.which(os.environ.get("CXX", "g++")) is None:
        raise SimulatorError("a native build needs GNU make and a C++ compiler "
                             "(apt-get install make g++)")
    text = _verilog(cfg, mesh, divisor, link)   # Chip checks the link
    link = Link(link)
    version = subprocess.run([bin_dir / "verilator", "--version"], capture_output=True,
                             text=True, check=True).stdout.strip()
    key = hashlib.sha256()
    for part in (text, json.dumps(asdict(options), sort_keys=True), str(divisor),
                 link.value, MAIN.read_text(), version):
        key.update(part.encode())
        key.update(b"\0")
    mesh_tag = f"{mesh.rows}x{mesh.cols}" if mesh is not None else "1x1"
    folder = (root or build_root()) / "native" / (
        f"a{cfg.axons}n{cfg.neurons}l{cfg.lanes}-{mesh_tag}-{link.value}-"
        f"{key.hexdigest()[:16]}")
    exe = folder / EXE
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if exe.exists():
            return exe
        (folder / f"{TOP}.v").write_text(text)
        shutil.copy(MAIN, folder / MAIN.name)
        log = folder / "build.log"
        # The C++ main is compiled for the link the chip was elaborated with.
        defines = ["-CFLAGS", f"-DGLOCAL_DIVISOR={divisor}"]
        if link is Link.BYTES:
            defines += ["-CFLAGS", "-DGLOCAL_LINK_BYTES"]
        cmd = [str(bin_dir / "verilator"), "--cc", "--exe", "--build", "-j", "2",
               "-Wno-fatal", *options.args(), "--prefix", f"V{TOP}", "--top-module", TOP,
               *defines, "-MAKEFLAGS", f"OPT_FAST={options.cxx_opt}", "-Mdir", "obj",
               "-o", str(exe), f"{TOP}.v", MAIN.name]
        with open(log, "w") as out:
            out.write(" ".join(map(str, cmd)) + "\n")
            out.flush()
            done = subprocess.run(cmd, cwd=folder, stdout=out, stderr=subprocess.STDOUT,
                                  preexec_fn=lambda: os.nice(10))
        if done.returncode != 0 or not exe.exists():
            raise SimulatorError(f"the native simulator build failed (exit {done.returncode}); "
                                 f"see {log}")
        shutil.rmtree(folder / "obj", ignore_errors=True)   # hundreds of MB of objects
    return exe


def _ended(code: int) -> str:
    """How a process ended, from its return code."""
    if code < 0:
        try:
            return f"killed by signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class NativeChip:
    """A native simulated chip: built (cached), started, and ended with the context.

    Parameters
    ----------
    cfg : CoreConfig
        Every core's geometry and widths.
    mesh : Mesh or None
        The cores (`glocal.rtl.chip.single_core` of ``cfg`` if None; `mesh` is the one
        built, for the driver's `Device`).
    port : int
        TCP port on 127.0.0.1; 0 lets the system choose a free one (see `port`).
    options : Options
        Verilator options of the build.
    root : Path or None
        Build root (default :func:`glocal.sim.toolchain.build_root`).
    start_timeout : float
        Seconds to wait for the executable to listen (after the build).
    link : Link
        The chip's host link (`glocal.rtl.chip.Link`): the UART (default) or
        ``Link.BYTES``, a byte a cycle each way. The driver talks to either the same way.

    Members
    -------
    exe : Path
        The executable.
    cfg, mesh : CoreConfig, Mesh
        What it simulates.
    link : Link
        Its host link.
    port : int
        The port it listens on; `url` is ``socket://127.0.0.1:<port>``.

    Raises
    ------
    SimulatorError
        If the build fails, the port is in use, or the simulator does not come up; and on
        leaving the context (or from `check`) if it died, with its exit code or signal.
    """

    def __init__(self, cfg: CoreConfig, mesh: Mesh | None = None, *, port: int = 0,
                 options: Options = Options(), root: Path | None = None,
                 start_timeout: float = 30.0, link: Link = Link.UART):
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer in 0…65535, not {port!r}")
        from glocal.rtl.chip import single_core

        self.cfg = cfg
        self.mesh = single_core(cfg) if mesh is None else mesh
        self.exe = build(cfg, mesh, options=options, root=root, link=link)
        self.link = Link(link)
        self.log = self.exe.with_name(f"run-{os.getpid()}-{id(self):x}.log")
        self._stderr = open(self.log, "w")   # noqa: SIM115 (the process's lifetime)
        self._proc = subprocess.Popen([str(self.exe), "--port", str(port)],
                                      stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                      bufsize=1)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read_stdout, daemon=True,
                                        name="glocal-native-stdout")
        self._reader.start()
        try:
            line = self._next_line(start_timeout, "to listen")
            m = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)", line)
            if not m:
                raise SimulatorError(f"{self.exe} said {line!r} instead of 'listening on …'")
            self.port = int(m.group(1))
        except BaseException:
            self.close()
            raise

    def _read_stdout(self) -> None:
        for line in self._proc.stdout:
            self._lines.put(line.strip())
        self._lines.put(None)

    def _next_line(self, timeout: float, what: str) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise SimulatorError(f"{self.exe} did not answer {what} within {timeout} s; "
                                 f"see {self.log}") from None
        if line is None:
            code = self._proc.wait()
            raise SimulatorError(f"the native simulator {self.exe} {_ended(code)}: "
                                 f"{self._log_tail()}")
        return line

    def _log_tail(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        text = self.log.read_text() if self.log.exists() else ""
        lines = [ln for ln in text.splitlines() if ln.strip()]
        return " / ".join(lines[-3:]) if lines else f"(nothing in {self.log})"

    @property
    def pid(self) -> int:
        """The simulator's process id."""
        return self._proc.pid

    @property
    def url(self) -> str:
        """The pyserial URL of the simulated chip's UART."""
        return f"socket://127.0.0.1:{self.port}"

    def transport(self) -> SerialTransport:
        """A `SerialTransport` connected to the chip (the baud rate is ignored on a socket)."""
        self.check()
        return SerialTransport(self.url, baud=115_200)

    def cycles(self, timeout: float = 10.0) -> int:
        """Clock cycles the chip has run so far (the executable answers SIGUSR1)."""
        self.check()
        self._proc.send_signal(signal.SIGUSR1)
        line = self._next_line(timeout, "SIGUSR1")
        if not line.startswith("cycles "):
            raise SimulatorError(f"{self.exe} said {line!r} instead of 'cycles N'")
        return int(line.split()[1])

    def running(self) -> bool:
        """Whether the simulator process is still alive."""
        return self._proc.poll() is None

    def check(self) -> None:
        """Raise `SimulatorError` if the simulator is no longer running."""
        code = self._proc.poll()
        if code is not None:
            raise SimulatorError(f"the native simulator {self.exe} {_ended(code)}; "
                                 f"its log: {self._log_tail()}")

    def close(self, timeout: float = 10.0) -> int | None:
        """Stop the simulator (SIGTERM, then SIGKILL); returns its exit code."""
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._reader.join(timeout)
        if not self._stderr.closed:
            self._stderr.close()
            if self._proc.returncode == 0:   # stopped by us, cleanly: nothing to keep
                self.log.unlink(missing_ok=True)
        return self._proc.returncode

    def __enter__(self) -> NativeChip:
        return self

    def __exit__(self, kind, exc, tb):
        died = self._proc.poll()
        self.close()
        # A simulator that died, or a link that broke because it ended: say so, with how
        # it ended. (Exit code 0 is a clean stop by a signal, such as the terminal's
        # Ctrl-C reaching it with its parent: not an error by itself.)
        if died is not None and (died != 0 or isinstance(exc, TransportError)) and (
                exc is None or isinstance(exc, Exception)):
            raise SimulatorError(f"the native simulator {self.exe} {_ended(died)}; "
                                 f"its log: {self._log_tail()}") from exc


def for_image(path, **kwargs) -> NativeChip:
    """A `NativeChip` of the configuration and mesh of the image file ``path``."""
    from glocal.firmware import image

    program = image.read(path).program
    return NativeChip(program.cfg, program.mesh, **kwargs)


def serve(*, image_path=None, cfg: CoreConfig | None = None, mesh: Mesh | None = None,
          port: int = 0, root: Path | None = None) -> int:
    """`glocal sim`: start a native chip (for ``image_path``'s configuration, loaded with
    it, or of ``cfg`` and ``mesh``), print where it listens, and serve until interrupted.

    Returns 0 when stopped by SIGINT (Ctrl-C) or SIGTERM, the simulator stopped first;
    raises `SimulatorError` if the simulator dies.
    """
    import time

    from glocal.firmware.chip import Chip as Driver
    from glocal.firmware.driver import Device

    if image_path is not None:
        chip = for_image(image_path, port=port, root=root)
    else:
        chip = NativeChip(cfg or CoreConfig(), mesh, port=port, root=root)
    # SIGTERM (a service manager, `kill`) ends the serving as Ctrl-C does: through the
    # context, which stops the simulator. (Only the main thread may set a handler.)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        with chip:
            what = (f"{chip.mesh.rows}x{chip.mesh.cols} mesh of {chip.cfg.axons}x"
                    f"{chip.cfg.neurons} cores, UART {DIVISOR} cycles/bit")
            if image_path is not None:
                with chip.transport() as link:
                    Driver(Device(link, cfg=chip.cfg, mesh=chip.mesh, timeout=120.0)).load(
                        image_path, skip_zeros=True)
                what += f", loaded with {image_path}"
            print(f"glocal sim: listening on {chip.url} ({what})", flush=True)
            print("  e.g. glocal run --image IMAGE --port " + chip.url, flush=True)
            while chip.running():
                time.sleep(0.2)
    except KeyboardInterrupt:
        return 0
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")
