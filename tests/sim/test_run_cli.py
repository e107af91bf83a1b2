"""`glocal run` itself, both ways: ``--sim`` (the native Verilated chip) and ``--port``
(the board path: pyserial, here reaching the native simulated chip on its
``socket://127.0.0.1:PORT``, as a board behind a network bridge would be reached), and
`glocal sim`, which starts one and prints that URL.

The command feeds the embedded digits' test split to a random 64-input model and
returns 0 only if every output and every spike equals the chip-level reference.
"""

import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from glocal.cli import main
from glocal.golden.config import CoreConfig
from glocal.golden.export import save_model
from glocal.golden.noc import Mesh
from glocal.sim.native import NativeChip
from glocal.sim.networks import random_model
from glocal.sim.toolchain import build_root

CFG = CoreConfig(axons=64, neurons=16, lanes=4, acc_bits=16)
MESH = Mesh(rows=1, cols=2)   # what `glocal compile --mesh 1x2` targets


@pytest.fixture(scope="module")
def image_path(tmp_path_factory):
    # 64 digit pixels → 16 plastic spiking neurons (core 0) → a 10-class readout (core 1).
    model = random_model(CFG, (64, 16, 10), np.random.default_rng(3), steps=4)
    folder = tmp_path_factory.mktemp("run")
    path = save_model(model, folder / "digits.npz")
    out = folder / "digits.glimg"
    assert main(["compile", "--model", str(path), "--out", str(out), "--mesh", "1x2"]) == 0
    return out


def test_run_sim_runs_digits_on_the_verilated_chip_bit_exact(image_path, capsys):
    code = main(["run", "--image", str(image_path), "--sim", "--samples", "2",
                 "--build-dir", str(build_root() / "run_cli")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "bit-exact samples" in out and "2 / 2" in out and "100.00 % of" in out


def test_run_port_drives_a_chip_through_pyserial(image_path, capsys):
    with NativeChip(CFG, MESH, root=build_root() / "run_cli") as sim:
        code = main(["run", "--image", str(image_path), "--port", sim.url, "--samples", "2",
                     "--timeout", "60"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "on the board chip" in out and "2 / 2" in out and "100.00 % of" in out


class Served:
    """`glocal sim --image …` in a subprocess whose stdout and stderr are drained by
    threads (a full pipe would block the child), stopped by a signal."""

    def __init__(self, image_path):
        cmd = [sys.executable, "-m", "glocal.cli", "sim", "--image", str(image_path),
               "--build-dir", str(build_root() / "run_cli")]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.err: list[str] = []
        self._threads = [threading.Thread(target=self._drain, args=(self.proc.stdout,),
                                          daemon=True),
                         threading.Thread(target=self.err.extend, args=(self.proc.stderr,),
                                          daemon=True)]
        for t in self._threads:
            t.start()

    def _drain(self, stream):
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def tail(self) -> str:
        return "".join(self.err[-20:])

    def url(self, timeout: float = 300.0) -> str:
        """The socket:// URL it prints once listening (the build may come first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1.0)
            except queue.Empty:
                continue
            assert line is not None, f"glocal sim ended first:\n{self.tail()}"
            if "listening on" in line:
                return line.split("listening on ")[1].split()[0]
        pytest.fail(f"glocal sim did not listen within {timeout} s:\n{self.tail()}")

    def stop(self, sig: int, timeout: float = 60.0) -> int:
        """Send ``sig``; its exit code, or a failure with its stderr if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            for t in self._threads:
                t.join(5)
            pytest.fail(f"glocal sim did not exit within {timeout} s of "
                        f"{signal.Signals(sig).name}; its stderr:\n{self.tail()}")
        for t in self._threads:
            t.join(5)
        return code


def test_sim_prints_where_it_listens_and_serves_the_image(image_path):
    served = Served(image_path)
    try:
        url = served.url()
        assert url.startswith("socket://127.0.0.1:")
        assert main(["run", "--image", str(image_path), "--port", url, "--samples", "1",
                     "--timeout", "60"]) == 0
    finally:
        code = served.stop(signal.SIGINT)
    assert code == 0, served.tail()


def test_sim_ends_cleanly_on_sigterm_and_stops_the_simulator(image_path):
    served = Served(image_path)
    try:
        port = int(served.url().rsplit(":", 1)[1])
    finally:
        code = served.stop(signal.SIGTERM)
    assert code == 0, served.tail()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass   # nobody listens any more: the simulator is gone


def test_run_refuses_an_image_without_run_settings(tmp_path, capsys):
    from glocal.firmware import image
    from glocal.firmware.compiler import compile_model

    model = random_model(CFG, (64, 16, 10), np.random.default_rng(3), steps=4)
    bare = image.save(compile_model(model, mesh=MESH), tmp_path / "bare.glimg")
    assert main(["run", "--image", str(bare), "--sim"]) == 2
    assert "no run settings" in capsys.readouterr().err


def test_run_port_names_a_port_that_does_not_open(image_path, capsys):
    assert main(["run", "--image", str(image_path), "--port", "/dev/glocal-no-such-tty"]) == 2
    assert "cannot open the serial port '/dev/glocal-no-such-tty'" in capsys.readouterr().err
