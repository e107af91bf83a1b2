"""PLL searches and the nextpnr report reader."""

from pathlib import Path

import pytest

from glocal.boards.pll import PllError, ecp5_pll, ice40_pll
from glocal.boards.report import ReportError, parse_nextpnr

REPORT = Path(__file__).with_name("nextpnr_ice40_report.json")


def test_ice40_pll_matches_icepll_for_icebreaker_24mhz():
    p = ice40_pll(12, 24)
    assert (p.divr, p.divf, p.divq, p.filter_range) == (0, 63, 5, 1)
    assert p.f_out == 24


@pytest.mark.parametrize("f_out", [20, 30, 36, 48])
def test_ice40_pll_stays_in_range_and_close(f_out):
    p = ice40_pll(12, f_out)
    f_pfd = p.f_in / (p.divr + 1)
    assert 10 <= f_pfd <= 133 and 533 <= f_pfd * (p.divf + 1) <= 1066
    assert abs(p.f_out - f_out) <= 0.02 * f_out


@pytest.mark.parametrize("f_out", [100, 125, 50, 80])
def test_ecp5_pll_hits_ulx3s_clocks_exactly(f_out):
    p = ecp5_pll(25, f_out)
    assert p.f_out == f_out and 400 <= p.f_vco <= 800


def test_unreachable_clocks_are_refused_by_name():
    with pytest.raises(PllError, match=r"iCE40 PLL output must be in \[16, 275\] MHz, not 5"):
        ice40_pll(12, 5)
    with pytest.raises(PllError, match="ECP5 PLL output must be"):
        ecp5_pll(25, 900)


def test_report_reads_fmax_and_resources():
    r = parse_nextpnr(REPORT, requested_mhz=12)
    assert r.fmax_mhz == pytest.approx(79.74, abs=0.01)
    assert r.timing_met
    assert r.resources["ICESTORM_LC"].available == 5280
    assert any(row[0].startswith("logic cells") for row in r.rows())
    assert r.critical_path and r.critical_path[0] == "ctr[0]"
    assert not parse_nextpnr(REPORT, requested_mhz=100).timing_met


def test_missing_or_corrupt_report_is_named(tmp_path):
    with pytest.raises(ReportError, match="does not exist"):
        parse_nextpnr(tmp_path / "none.json", 10)
    bad = tmp_path / "bad.json"
    bad.write_text('{"fmax": {}}')
    with pytest.raises(ReportError, match="not a valid report"):
        parse_nextpnr(bad, 10)
