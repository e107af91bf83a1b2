"""The single-port RAM's check that no cycle both reads and writes holds under Verilator
too (the cocotb core regressions in single-port mode rely on it), not only in Amaranth's
simulator (``tests/rtl/test_spram.py``)."""

import pytest
from amaranth.hdl import unsigned
from amaranth.lib import data

from glocal.rtl.spram import SinglePort
from glocal.sim.toolchain import build_root, run_cocotb


def _run(conflict: bool):
    ram = SinglePort(shape=data.ArrayLayout(unsigned(8), 2), depth=16)
    build_dir = build_root() / f"spram_{int(conflict)}"
    run_cocotb(ram, name="spram", test_module="glocal.sim.spram_tb", build_dir=build_dir,
               extra_env={"GLOCAL_CONFLICT": "1" if conflict else "0"})
    return build_dir


def test_verilated_single_port_ram_reads_what_was_written():
    _run(conflict=False)


def test_verilated_single_port_ram_stops_on_a_read_and_write_in_one_cycle():
    # The Verilated model stops ($stop): the runner reports the simulator's failure.
    with pytest.raises((RuntimeError, AssertionError)):
        _run(conflict=True)
    log = (build_root() / "spram_1" / "test.log").read_text()
    assert "single-port RAM asked to read and write in the same cycle" in log
    assert "Assertion failed" in log
