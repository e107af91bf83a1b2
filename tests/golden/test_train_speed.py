"""bench/train_speed.py runs both networks and reports a ratio (tiny sizes; no timing claim)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "train_speed.py"


def test_train_speed_bench_reports_both_throughputs_and_their_ratio(tmp_path):
    out = tmp_path / "speed.json"
    res = subprocess.run([sys.executable, str(BENCH), "--hidden", "16", "--batch", "8",
                          "--batches", "2", "--rounds", "1", "--json", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    r = json.loads(out.read_text())
    assert r["glocal_gp_samples_per_s"] > 0 and r["snntorch_samples_per_s"] > 0
    assert r["ratio"] == pytest.approx(r["glocal_gp_samples_per_s"] / r["snntorch_samples_per_s"])
    assert "ratio" in res.stdout
