"""Cycle efficiency of one core in Verilator: ``python bench/core_efficiency.py``.

Builds a 256×256 core with 8 lanes, runs back-to-back steps at 5 %, 20 % and 50 % input
activity through the bus driver (`glocal.sim.bench_tb`) and prints, per activity: the
step period, the cycles of each phase (from the core's own counters), synaptic operations
per integration cycle (scan and hazard stalls included) and that figure as a fraction of
``lanes`` (the ideal), the step overhead (period − A·G) / A·G against the ideal
integration time ``A·G`` (A active axons, G lane groups), and the core's memory bits.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from glocal.golden.config import CoreConfig
from glocal.rtl.core import Core, memory_bits
from glocal.sim.toolchain import build_root, run_cocotb


def measure(cfg: CoreConfig, activities, steps: int) -> list[dict]:
    """Run the bench and return one dict of averaged counters per activity."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        run_cocotb(Core(cfg=cfg), name="core", test_module="glocal.sim.bench_tb",
                   build_dir=build_root() / f"bench_core_a{cfg.axons}n{cfg.neurons}l{cfg.lanes}",
                   extra_env={"GLOCAL_CFG": json.dumps(dataclasses.asdict(cfg)),
                              "GLOCAL_ACTIVITY": ",".join(str(a) for a in activities),
                              "GLOCAL_STEPS": str(steps), "GLOCAL_OUT": str(out)})
        return json.loads(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--axons", type=int, default=256)
    ap.add_argument("--neurons", type=int, default=256)
    ap.add_argument("--lanes", type=int, default=8)
    ap.add_argument("--steps", type=int, default=6)
    args = ap.parse_args()
    cfg = CoreConfig(axons=args.axons, neurons=args.neurons, lanes=args.lanes)
    rows = measure(cfg, [0.05, 0.2, 0.5], args.steps)

    table = Table(title=f"core {cfg.axons}×{cfg.neurons}, lanes = {cfg.lanes}, learning on")
    for col in ("activity", "active axons", "cycles/step", "ideal A·G", "integrate", "fire",
                "learn", "syn ops/cycle", "fraction of lanes", "overhead"):
        table.add_column(col, justify="right")
    for r in rows:
        n = r["STEPS"]
        ideal = r["active"] * cfg.groups
        ops = r["SYN_OPS"] / r["CYC_INTEGRATE"]
        table.add_row(f"{r['activity']:.0%}", str(r["active"]), f"{r['period']:.0f}",
                      str(ideal), f"{r['CYC_INTEGRATE'] / n:.0f}", f"{r['CYC_FIRE'] / n:.0f}",
                      f"{r['CYC_LEARN'] / n:.0f}", f"{ops:.2f}", f"{ops / cfg.lanes:.3f}",
                      f"{(r['period'] - ideal) / ideal:.1%}")
    console = Console(width=120)
    console.print(table)
    bits = memory_bits(cfg)
    mem = Table(title="block-RAM bits per core")
    mem.add_column("memory")
    mem.add_column("bits", justify="right")
    for name, value in bits.items():
        mem.add_row(name, f"{value:,}")
    mem.add_row("total", f"{sum(bits.values()):,}")
    console.print(mem)


if __name__ == "__main__":
    main()
