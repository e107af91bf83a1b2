"""Spike-network latency and link utilisation on a 2×2 mesh: ``python bench/noc.py``.

Runs one step's spikes through the fabric (egress → mesh → ingress, Amaranth simulator)
for three mappings and several activity levels and prints, per case:

- packets, and the drain latency: cycles from the first spike offered to the egress until
  the fabric is idle (every axon written into its destination's pending bank);
- the communication ideal: the busiest port's packet count (each port, injection,
  ejection or link, moves at most one packet per cycle) plus the longest route;
- link utilisation: mean and busiest directed mesh link, packets per cycle of the drain;
- the per-core compute cycles of the step from the timing table of ``docs/core.md``
  (max over cores = the step with zero communication cost; the sum = one core doing all
  the work), and the communication overhead drain / max compute.

Every core's spikes are offered from the start of the measurement, which is when FIRE
starts in the chip (the core emits them as its soma pass produces them); the core's
axon port is modelled as always ready.
"""

from __future__ import annotations

import argparse

import numpy as np
from rich.console import Console
from rich.table import Table

from glocal.golden import noc
from glocal.golden.config import CoreConfig
from glocal.golden.noc import Mesh
from glocal.sim.traffic import layer_tables, random_tables, run_steps


def compute_cycles(cfg: CoreConfig, active: int, *, learn: bool = True) -> int:
    """Cycles of one core step in steady state with ``active`` input spikes, from
    ``docs/core.md``'s timing table: the scanner feeds INTEGRATE as it finds rows
    (``A·G`` + ≈ 8), LEARN(t) (``(A + 1)·G + 3``) overlaps INTEGRATE(t+1), so the period is
    the longer of the two, then FIRE (``G + 4``) and one cycle of start.

    Within 1 % of the RTL's measured period on a 256×256 lanes-8 core
    (`bench/core_efficiency.py`: 484 / 1724 / 4193 cycles at 5 / 20 / 50 %; this gives
    488 / 1704 / 4168)."""
    g = cfg.groups
    integrate = active * g + 8
    learning = (active + 1) * g + 3 if learn else 0
    return max(integrate, learning) + g + 4 + 1


def mappings(mesh: Mesh, cfg: CoreConfig) -> dict[str, tuple[str, list]]:
    n = cfg.neurons
    return {
        "chain": ("4 layers, one per core, 0→1→3→2, unicast neighbours",
                  layer_tables(mesh, cfg, [[0], [1], [3], [2]])),
        "split": (f"{2 * n // 2}-neuron layer on cores 0,1 → next layer on 2,3, multicast ×2",
                  _split(mesh, cfg)),
        "uniform": ("every neuron → one random (core, axon), all axons used",
                    random_tables(mesh, cfg, np.random.default_rng(1))),
    }


def _split(mesh: Mesh, cfg: CoreConfig) -> list:
    # Two cores of n/2 used neurons each: the next layer's cores see n axons.
    half = CoreConfig(**{**cfg.__dict__, "neurons": cfg.neurons // 2,
                         "lanes": min(cfg.lanes, cfg.neurons // 2)})
    small = layer_tables(mesh, half, [[0, 1], [2, 3]])
    return [noc.RouteTable(pointers=t.pointers + ((0, 0),) * (cfg.neurons - half.neurons),
                           dests=t.dests) for t in small]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--axons", type=int, default=256)
    ap.add_argument("--neurons", type=int, default=256)
    ap.add_argument("--lanes", type=int, default=8)
    ap.add_argument("--depth", type=int, default=4, help="router input FIFO entries")
    ap.add_argument("--activity", type=float, nargs="+", default=[0.05, 0.2, 0.5, 1.0])
    args = ap.parse_args()
    cfg = CoreConfig(axons=args.axons, neurons=args.neurons, lanes=args.lanes)
    mesh = Mesh(2, 2, depth=max(1024, 2 * cfg.neurons), fanout=4)
    rng = np.random.default_rng(0)

    table = Table(title=f"2×2 mesh, {cfg.axons}×{cfg.neurons} cores, lanes {cfg.lanes}, "
                        f"FIFO depth {args.depth}: one step's spikes")
    for col in ("mapping", "activity", "packets", "drain", "ideal", "×ideal", "util mean",
                "util max", "compute max", "compute sum", "drain/compute"):
        table.add_column(col, justify="left" if col == "mapping" else "right")
    for name, (_, tables) in mappings(mesh, cfg).items():
        noc.check_tables(mesh, cfg, tables)
        sources = [c for c in range(mesh.cores) if any(k for _, k in tables[c].pointers)]
        for act in args.activity:
            fired = np.zeros((mesh.cores, cfg.neurons), dtype=int)
            for c in sources:
                used = [j for j, (_, k) in enumerate(tables[c].pointers) if k]
                fired[c, rng.choice(used, round(act * len(used)), replace=False)] = 1
            t = noc.traffic(mesh, cfg, tables, fired)
            (r,) = run_steps(mesh, cfg, tables, fired[None], depth=args.depth, seed=1)
            if not np.array_equal(r.axons, noc.deliver(mesh, cfg, tables, fired)):
                raise AssertionError(f"{name} at {act}: the fabric delivered other axons")
            busiest = max(t.injected.max(), t.ejected.max(), max(t.links.values(), default=0))
            longest = max((len(noc.xy_route(mesh, s, d.core)) for s, d in t.packets),
                          default=1)
            ideal = int(busiest) + longest
            n_links = 8     # directed links of a 2×2 mesh
            util = [v / r.cycles for v in r.links.values()] if r.cycles else [0.0]
            active = round(act * cfg.axons)
            comp = [compute_cycles(cfg, active) for _ in range(mesh.cores)]
            table.add_row(name, f"{act:.0%}", str(len(t.packets)), str(r.cycles), str(ideal),
                          f"{r.cycles / ideal:.2f}", f"{sum(util) / n_links:.2f}",
                          f"{max(util):.2f}", str(max(comp)), str(sum(comp)),
                          f"{r.cycles / max(comp):.1%}")
    console = Console(width=140)
    console.print(table)
    for name, (what, _) in mappings(mesh, cfg).items():
        console.print(f"  {name}: {what}")
    console.print("  compute: per-core step cycles from docs/core.md's timing table with "
                  "learning on and active axons = activity × axons (not measured here).")


if __name__ == "__main__":
    main()
