"""Board top-levels elaborate (no tools run), and bad requests end with a clear error."""

import pytest

from glocal.boards.board import BuildError
from glocal.boards.build import BOARDS, board_config, build_board, top_level
from glocal.boards.cli import run_build


@pytest.mark.parametrize("board", list(BOARDS))
def test_every_board_top_level_elaborates_with_its_default_chip(board, monkeypatch):
    monkeypatch.setenv("OPENFPGALOADER", "true")  # ULX3S platform checks for the tool
    b = BOARDS[board]()
    cfg = board_config(board)
    plan = b.platform().prepare(top_level(board, cfg, b.default_mhz), name="glocal")
    files = plan.files
    assert any(name.endswith(".il") for name in files)
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
                     out=str(tmp_path), mesh="2x2") == 2
    out = " ".join(capsys.readouterr().out.split())
    assert "unknown board 'nope'" in out and "only 1x1 can be built today" in out
