"""Step latency and link load of the many-core chip in Verilator: ``python bench/chip_step.py``.

Builds a CoreArray (default 2×2 mesh of 64×64 cores, lanes 4), loads the relay ring of
`glocal.sim.chip_step_tb` (every core integrates and emits ``activity · 64`` spikes a
step, each one hop to the next core of a ring of neighbours), runs back-to-back steps with
learning on at 5/20/50/100 % activity and prints per activity: the step latency (cycles
from ``start`` to the chip's ``ready``: every core done and every spike delivered), the
per-link utilisation (packets per directed link per step / latency; max over links and
mean over every link of the mesh), the per-core compute cycles (each core's ``CYC_STEP``:
its own start → ready; max and sum over cores — the max is the ideal step with zero
communication cost, the sum the cost of one core doing all the work) and latency / max.
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
from glocal.golden.noc import Mesh
from glocal.rtl.array import CoreArray
from glocal.sim.toolchain import build_root, run_cocotb


def measure(cfg: CoreConfig, mesh: Mesh, activities, steps: int) -> list[dict]:
    """Run the bench; one dict per activity (see `glocal.sim.chip_step_tb`)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        tag = f"bench_chip_m{mesh.rows}x{mesh.cols}_a{cfg.axons}n{cfg.neurons}l{cfg.lanes}"
        run_cocotb(CoreArray(cfg=cfg, mesh=mesh), name="core_array",
                   test_module="glocal.sim.chip_step_tb", build_dir=build_root() / tag,
                   extra_env={"GLOCAL_CFG": json.dumps(dataclasses.asdict(cfg)),
                              "GLOCAL_MESH": json.dumps(dataclasses.asdict(mesh)),
                              "GLOCAL_ACTIVITY": ",".join(str(a) for a in activities),
                              "GLOCAL_STEPS": str(steps), "GLOCAL_OUT": str(out)})
        return json.loads(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2)
    ap.add_argument("--cols", type=int, default=2)
    ap.add_argument("--axons", type=int, default=64)
    ap.add_argument("--neurons", type=int, default=64)
    ap.add_argument("--lanes", type=int, default=4)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table too")
    args = ap.parse_args()
    cfg = CoreConfig(axons=args.axons, neurons=args.neurons, lanes=args.lanes)
    mesh = Mesh(args.rows, args.cols, depth=max(cfg.neurons, 16), fanout=1)
    rows = measure(cfg, mesh, [0.05, 0.2, 0.5, 1.0], args.steps)

    table = Table(title=f"{mesh.rows}×{mesh.cols} mesh of {cfg.axons}×{cfg.neurons} cores, "
                        f"lanes {cfg.lanes}, learning on, relay ring, {args.steps} steps")
    cols = ("activity", "spikes/core", "latency", "period", "util max", "util mean",
            "compute max", "compute sum", "latency / max")
    for col in cols:
        table.add_column(col, justify="right")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lat = sum(r["latency"]) / len(r["latency"])
        per_link = [k / r["steps"] / lat for k in r["links"].values()]
        util_max = max(per_link, default=0.0)
        util_mean = sum(per_link) / r["all_links"]
        cmax, csum = max(r["compute"]), sum(r["compute"])
        cells = (f"{r['activity']:.0%}", str(r["active"]), f"{lat:.0f}", f"{r['period']:.0f}",
                 f"{util_max:.3f}", f"{util_mean:.3f}", f"{cmax:.0f}", f"{csum:.0f}",
                 f"{lat / cmax:.3f}")
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    Console(width=120).print(table)
    if args.markdown:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
