"""Board top-levels elaborate (no tools run), and bad requests end with a clear error."""

import pytest

from glocal.boards.board import BuildError
from glocal.boards.build import (
    BOARDS,
    board_config,
    board_mesh,
    build_board,
    memory_plan,
    top_level,
)
from glocal.boards.cli import run_build
from glocal.rtl.core import memory_bits


@pytest.mark.parametrize("board", list(BOARDS))
def test_every_board_top_level_elaborates_with_its_default_chip(board, monkeypatch):
    monkeypatch.setenv("OPENFPGALOADER", "true")  # ULX3S platform checks for the tool
    b = BOARDS[board]()
    cfg = board_config(board)
    plan = b.platform().prepare(top_level(board, cfg, b.default_mhz, board_mesh(board)),
                                name="glocal", **b.toolchain_options())
    files = plan.files
    assert any(name.endswith(".il") for name in files)
    # The board's tool options reach the build script: the report nextpnr must write, and
    # the router the ULX3S needs to route its 2×2 chip.
    script = files["build_glocal.sh"]
    assert "--report report.json --timing-allow-fail" in script
    assert b.nextpnr_opts in script and (board != "ulx3s" or "router2" in script)
    constraints = next(v for k, v in files.items() if k.endswith((".pcf", ".lpf")))
    text = constraints if isinstance(constraints, str) else constraints.decode()
    assert "uart" in text


def test_unknown_board_and_bad_config_are_named():
    with pytest.raises(BuildError, match="unknown board 'de10'; known boards: icebreaker"):
        board_config("de10")
    with pytest.raises(BuildError, match="CoreConfig.lanes must be a power of two"):
        board_config("ulx3s", lanes=3)


def test_unreachable_clock_is_refused_before_any_tool_runs(tmp_path):
    with pytest.raises(BuildError, match="--clock 5.0 MHz cannot be made on the icebreaker"):
        build_board("icebreaker", cfg=board_config("icebreaker"), mhz=5.0, out_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_cli_exits_nonzero_for_bad_requests(tmp_path, capsys):
    assert run_build(board="nope", lanes=None, axons=None, neurons=None, mhz=None,
                     out=str(tmp_path)) == 2
    assert run_build(board="ulx3s", lanes=None, axons=None, neurons=None, mhz=None,
                     out=str(tmp_path), mesh="2by2") == 2
    assert run_build(board="ulx3s", lanes=None, axons=None, neurons=None, mhz=None,
                     out=str(tmp_path), mesh="0x3") == 2
    out = " ".join(capsys.readouterr().out.split())
    assert "unknown board 'nope'" in out
    assert "--mesh must be RxC with 1 to 256 cores (e.g. 2x2), not '2by2'" in out
    assert "not '0x3'" in out and not any(tmp_path.iterdir())


def test_the_default_ecp5_mesh_has_four_cores_whose_memories_fit_its_block_ram():
    cfg, mesh = board_config("ulx3s"), board_mesh("ulx3s")
    assert mesh.cores >= 4 and cfg.lanes >= 8
    per_core = sum(memory_bits(cfg).values())
    assert per_core * mesh.cores < 208 * 18432
    plan = memory_plan("ulx3s", cfg, mesh)
    assert plan[0].startswith("one core: W 256 kbit + H 256 kbit")
    assert "4 cores:" in plan[1] and "in 208 DP16KD" in plan[1]
    # A 256×256 core is twice that: four would not fit.
    big = board_config("ulx3s", neurons=256)
    assert sum(memory_bits(big).values()) * 4 > 208 * 18432


def test_the_soft_multiplier_map_is_exact_for_every_signedness(tmp_path):
    """Yosys proves (SAT, all inputs) that `soft_mul.v` computes what `$mul` computes, on
    the narrow multipliers Amaranth writes (Verilog would widen them to the result)."""
    import subprocess

    from amaranth.back import rtlil
    from amaranth.hdl import Module, signed
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from glocal.boards.board import toolchain_env
    from glocal.boards.ulx3s import ULX3S

    class Muls(wiring.Component):
        # Small widths keep the SAT proof quick; the map is the same for every width.
        a: In(5)
        b: In(signed(5))
        c: In(signed(4))
        d: In(3)
        w: In(12)
        y0: Out(signed(10))
        y1: Out(signed(9))
        y2: Out(signed(6))
        y3: Out(6)
        y4: Out(signed(16))

        def elaborate(self, platform):
            m = Module()
            m.d.comb += [self.y0.eq(self.a * self.b),    # unsigned × signed
                         self.y1.eq(self.b * self.c),    # signed × signed
                         self.y2.eq(self.c * self.d),    # signed × unsigned
                         self.y3.eq(self.d * self.a),    # result truncated
                         self.y4.eq(self.w * self.d)]    # wide × narrow (B ≤ 4 bits)
            return m

    class Wide(wiring.Component):
        w: In(16)
        y: Out(32)

        def elaborate(self, platform):
            m = Module()
            m.d.comb += self.y.eq(self.w * self.w)
            return m

    (tmp_path / "m.il").write_text(rtlil.convert(Muls(), name="m"))
    (tmp_path / "w.il").write_text(rtlil.convert(Wide(), name="w"))
    for name, text in ULX3S.build_files.items():
        (tmp_path / name).write_text(text)
    script = "; ".join([
        "read_rtlil m.il", "read_rtlil w.il", "copy m gold",
        "cd m", ULX3S.script_after_read, "cd w", ULX3S.script_after_read, "cd",
        "select -assert-none m/t:$mul",         # every small multiplier was mapped,
        "select -assert-count 1 w/t:$mul",      # the wide one is left to the DSPs
        "rename m gate",
        "miter -equiv -flatten -make_assert gold gate miter",
        "sat -verify -prove-asserts miter"])
    done = subprocess.run([toolchain_env()["YOSYS"], "-q", "-p", script], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
def _prepared_files(board, mhz):
    b = BOARDS[board]()
    plan = b.platform().prepare(top_level(board, board_config(board), mhz, board_mesh(board)),
                                name="glocal")
    return {k: v if isinstance(v, str) else v.decode() for k, v in plan.files.items()}


def test_icebreaker_at_its_12_mhz_reference_runs_without_the_pll():
    # The iCE40 PLL cannot make less than 16 MHz; 12 MHz is the oscillator itself.
    assert BOARDS["icebreaker"]().pll(12.0) is None
    files = _prepared_files("icebreaker", 12.0)
    il = next(v for k, v in files.items() if k.endswith(".il"))
    assert "SB_GB" in il and "SB_PLL40_PAD" not in il
    # The power-on reset holds sync for 15 µs: 180 cycles of 12 MHz.
    assert "180" in il
    pcf = next(v for k, v in files.items() if k.endswith(".pcf")).splitlines()
    # Constrained at 12 MHz: the pin (by the board file) and the sync clock net.
    assert [line.split()[-1] for line in pcf if line.startswith("set_frequency")] == \
        ["12.0", "12.0"]
    with_pll = next(v for k, v in _prepared_files("icebreaker", 24.0).items()
                    if k.endswith(".il"))
    assert "SB_PLL40_PAD" in with_pll and "SB_GB" not in with_pll


def test_icebreaker_keeps_w_and_h_of_a_256x256_core_in_its_four_sprams():
    # 256×256 W and H at 8 bits: 1 Mbit, the UP5K's four SB_SPRAM256KA (16K × 16 each).
    cfg = board_config("icebreaker", axons=256, neurons=256, lanes=1)
    b = BOARDS["icebreaker"]()
    plan = b.platform().prepare(top_level("icebreaker", cfg, 12.0, board_mesh("icebreaker")),
                                name="glocal")
    il = next(v for k, v in plan.files.items() if k.endswith(".il"))
    il = il if isinstance(il, str) else il.decode()
    assert il.count("cell \\SB_SPRAM256KA") == 4
    lines = memory_plan("icebreaker", cfg, board_mesh("icebreaker"))
    assert "W and H of 1 cores in 4 of the device's 4 ICESTORM_SPRAM" in lines[1]
    assert lines[2].startswith("1 cores: 46 kbit")


def test_a_missed_clock_leaves_its_figures_in_build_json_and_no_bitstream(tmp_path,
                                                                          monkeypatch):
    """`build.json` records what place-and-route reached even when the build fails on
    timing (the board's real `build` is replaced: no tool runs)."""
    import json

    from glocal.boards.board import TimingError
    from glocal.boards.report import BuildReport, Usage

    report = BuildReport(requested_mhz=100.0, fmax_mhz=27.0,
                         resources={"TRELLIS_COMB": Usage(used=60207, available=83640)},
                         critical_path=["core0.vth_shift", "core0.soma0.u"])
    ulx3s = BOARDS["ulx3s"]

    def missed(self, top, *, mhz, out_dir):
        raise TimingError("ulx3s: timing not met", report)

    monkeypatch.setattr(ulx3s, "build", missed)
    with pytest.raises(TimingError):
        build_board("ulx3s", cfg=board_config("ulx3s"), mhz=100.0, out_dir=tmp_path)
    record = json.loads((tmp_path / "build.json").read_text())
    assert record["fmax_mhz"] == 27.0 and record["timing_met"] is False
    assert record["bitstream"] is None
    assert record["critical_path"] == ["core0.vth_shift", "core0.soma0.u"]
    assert record["resources"]["TRELLIS_COMB"] == {"used": 60207, "available": 83640}
