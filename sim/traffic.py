"""Traffic for the network-on-chip: routing tables, spike patterns, and a step runner.

`run_steps` drives a :class:`glocal.rtl.fabric.Fabric` in Amaranth's simulator the way the
chip will: every core offers its fired neuron ids, every core's axon port takes the
ejected axons (with random stalls if asked), and the step ends when the fabric is idle.
Tests compare what it returns with :func:`glocal.golden.noc.deliver`; the benchmark reads
its cycle counts and link loads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.sim import Simulator

from glocal.golden.config import CoreConfig
from glocal.golden.noc import Dest, Mesh, Port, RouteTable, route_table
from glocal.rtl.fabric import Fabric

__all__ = ["random_tables", "layer_tables", "StepResult", "run_steps"]


def random_tables(mesh: Mesh, cfg: CoreConfig, rng, *, fanout: int = 1, min_fanout: int = 1,
                  p_silent: float = 0.0) -> list[RouteTable]:
    """Tables where each neuron drives ``min_fanout..fanout`` random, distinct (core, axon)
    pairs (none with probability ``p_silent``).

    Every axon of the chip is driven by at most one neuron (as :func:`check_tables`
    requires); neurons stop getting destinations when the axons run out.
    """
    free = [Dest(c, a) for c in range(mesh.cores) for a in range(cfg.axons)]
    rng.shuffle(free)
    targets: list[list[list[Dest]]] = [[] for _ in range(mesh.cores)]
    for _ in range(cfg.neurons):        # neuron by neuron, so that every core gets axons
        for c in range(mesh.cores):
            k = 0 if rng.random() < p_silent else int(rng.integers(min_fanout, fanout + 1))
            k = min(k, len(free))
            targets[c].append([free.pop() for _ in range(k)])
    return [route_table(mesh, cfg, t, core=c) for c, t in enumerate(targets)]


def layer_tables(mesh: Mesh, cfg: CoreConfig, layers: list[list[int]]) -> list[RouteTable]:
    """Tables of a layered network split across cores by output neurons.

    ``layers[l]`` lists the cores holding layer ``l``'s neurons, ``cfg.neurons`` each, in
    order. Neuron ``j`` of the ``i``-th core of layer ``l`` drives axon
    ``i·neurons + j`` of every core of layer ``l + 1`` (multicast); the last layer drives
    nothing. Cores of no layer are silent.
    """
    targets: list[list[list[Dest]]] = [[] for _ in range(mesh.cores)]
    for src, dst in zip(layers, layers[1:], strict=False):
        for i, c in enumerate(src):
            targets[c] = [[Dest(d, i * cfg.neurons + j) for d in dst]
                          for j in range(cfg.neurons)]
    return [route_table(mesh, cfg, t, core=c) for c, t in enumerate(targets)]


@dataclass
class StepResult:
    """One step through the fabric.

    Members
    -------
    axons : ndarray, shape (cores, axons)
        How many times each axon was set (the bitmap is ``axons > 0``).
    cycles : int
        Cycles from the first spike offered until the fabric was idle again.
    links : dict of (from core, to core) → int
        Packets that crossed each directed mesh link.
    injected, ejected : ndarray, shape (cores,)
        The fabric's packet counters at the end of the step.
    """

    axons: np.ndarray
    cycles: int
    links: dict[tuple[int, int], int]
    injected: np.ndarray
    ejected: np.ndarray


_STEP = {Port.N: (0, -1), Port.E: (1, 0), Port.S: (0, 1), Port.W: (-1, 0)}


def run_steps(mesh: Mesh, cfg: CoreConfig, tables: list[RouteTable], fired, *,
              depth: int = 4, stall: float = 0.0, seed: int = 0,
              max_cycles: int = 100_000) -> list[StepResult]:
    """Run each step of ``fired`` (steps, cores, neurons) through a fabric.

    Spikes are offered in a random order; with ``stall > 0`` every axon port refuses a
    packet with that probability each cycle.

    Raises
    ------
    TimeoutError
        If a step has not drained after ``max_cycles`` cycles (a deadlock or a loss).
    """
    dut = Fabric(mesh=mesh, cfg=cfg, depth=depth, tables=tables)
    rng = np.random.default_rng(seed)
    n = mesh.cores
    results: list[StepResult] = []
    watch = ([s.ready for s in dut.spikes] + [a.valid for a in dut.axons]
             + [a.payload.axon for a in dut.axons] + list(dut.moves) + [dut.idle])

    async def bench(ctx):
        for f in np.asarray(fired):
            ctx.set(dut.clear, 1)
            await ctx.tick()
            ctx.set(dut.clear, 0)
            queues = [list(rng.permutation(np.flatnonzero(f[c]))) for c in range(n)]
            got = np.zeros((n, cfg.axons), dtype=np.int64)
            links: dict[tuple[int, int], int] = {}
            cycles = 0
            while True:
                ready = rng.random(n) >= stall
                for c in range(n):
                    ctx.set(dut.spikes[c].valid, bool(queues[c]))
                    if queues[c]:
                        ctx.set(dut.spikes[c].payload.neuron, int(queues[c][0]))
                    ctx.set(dut.axons[c].ready, bool(ready[c]))
                _, _, *v, idle = await ctx.tick().sample(*watch)
                s_ready, a_valid, a_payload, moves = v[:n], v[n:2 * n], v[2 * n:3 * n], v[3 * n:]
                if idle and not any(queues):
                    break
                cycles += 1
                if cycles > max_cycles:
                    raise TimeoutError(f"step did not drain in {max_cycles} cycles")
                for c in range(n):
                    if queues[c] and s_ready[c]:
                        queues[c].pop(0)
                    if a_valid[c] and ready[c]:
                        got[c, a_payload[c]] += 1
                    x, y = mesh.xy(c)
                    for p, (dx, dy) in _STEP.items():
                        if moves[c] >> p & 1:
                            key = (c, mesh.core(x + dx, y + dy))
                            links[key] = links.get(key, 0) + 1
            results.append(StepResult(
                axons=got, cycles=cycles, links=links,
                injected=np.array([ctx.get(s) for s in dut.injected]),
                ejected=np.array([ctx.get(s) for s in dut.ejected])))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return results
