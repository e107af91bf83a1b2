"""Seeded random chip programs (:class:`glocal.golden.chip.Program`) for the chip regressions.

A program is a random multi-layer network laid out on the mesh: the cores are shuffled
and cut into consecutive layers; neuron ``j`` of the ``i``-th core of a layer drives axon
``i·neurons + j`` of *every* core of the next layer (multicast when the next layer spans
several cores), and some neurons get extra random destinations on any free axon (skip
and recurrent connections, several axons of one core). External inputs enter the first
layer (one channel multicast to every first-layer core) and, for some channels, free
axons of deeper cores. Every table is built by :func:`glocal.golden.noc.route_table`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from glocal.golden import chip, noc
from glocal.golden.chip import Program
from glocal.golden.config import CoreConfig
from glocal.golden.noc import Dest, Mesh
from glocal.golden.reference import CoreParams, CoreState, Mode, Registers
from glocal.sim.vectors import random_params, random_state

__all__ = ["ChipCase", "random_case", "dense_case", "hybrid_case"]


@dataclass
class ChipCase:
    """A program, the cores' initial states and the external inputs of every step.

    Members
    -------
    program : Program
    states : list of CoreState
        What the host loads before the first step (pending axon banks empty).
    x : ndarray, shape (steps, inputs)
        External input spikes of every step.
    """

    program: Program
    states: list[CoreState]
    x: np.ndarray

    def expected(self) -> chip.ChipRun:
        return chip.run(self.program, self.x, self.states)


def _layers(mesh: Mesh, cfg: CoreConfig, rng) -> list[list[int]]:
    """Shuffled cores cut into at least two layers whose fan-in fits the axons."""
    per = max(1, cfg.axons // cfg.neurons)      # cores one layer may span (fan-in limit)
    order = [int(c) for c in rng.permutation(mesh.cores)]
    layers = []
    while order:
        k = int(rng.integers(1, min(per, len(order)) + 1))
        if not layers and len(order) > 1:
            k = min(k, len(order) - 1)          # leave at least one core for layer 2
        layers.append(order[:k])
        order = order[k:]
    return layers


def random_case(mesh: Mesh, cfg: CoreConfig, seed: int, steps: int, *, rate: float = 0.4,
                p_extra: float = 0.3, deep_inputs: int = 2) -> ChipCase:
    """A random layered network with plasticity on (see the module docstring).

    Parameters
    ----------
    rate : float
        Probability that an external input channel spikes in a step.
    p_extra : float
        Probability that a neuron gets one extra random destination (fan-out permitting).
    deep_inputs : int
        Input channels that enter a free axon of a core outside the first layer.
    """
    rng = np.random.default_rng(seed)
    n = cfg.neurons
    layers = _layers(mesh, cfg, rng)
    targets: list[list[list[Dest]]] = [[[] for _ in range(n)] for _ in range(mesh.cores)]
    used: set[Dest] = set()
    for src, dst in zip(layers, layers[1:], strict=False):
        for i, c in enumerate(src):
            for j in range(n):
                for d in dst[:mesh.fanout]:
                    targets[c][j].append(Dest(d, i * n + j))
                    used.add(Dest(d, i * n + j))
    inputs = []
    first = layers[0]
    for a in range(cfg.axons):
        ds = tuple(Dest(c, a) for c in first if Dest(c, a) not in used)
        if ds and rng.random() < 0.75:
            inputs.append(ds)
            used.update(ds)
    free = [Dest(c, a) for c in range(mesh.cores) for a in range(cfg.axons)
            if Dest(c, a) not in used]
    rng.shuffle(free)
    for _ in range(min(deep_inputs, len(free))):
        inputs.append((free.pop(),))
    depth_left = [mesh.depth - sum(len(t) for t in targets[c]) for c in range(mesh.cores)]
    for c in range(mesh.cores):
        for j in range(n):
            if (free and rng.random() < p_extra and len(targets[c][j]) < mesh.fanout
                    and depth_left[c] > 0):
                targets[c][j].append(free.pop())
                depth_left[c] -= 1
    tables = tuple(noc.route_table(mesh, cfg, t, core=c) for c, t in enumerate(targets))
    params, states = [], []
    for _ in range(mesh.cores):
        p = random_params(cfg, rng, learn=True)
        # Thresholds low enough that layers keep firing, high enough that not every neuron
        # fires every step.
        lo, hi = cfg.vth_shift_range
        regs = Registers(vth_shift=int(rng.integers(lo, min(hi, lo + 3) + 1)),
                         decay=p.regs.decay, alpha=p.regs.alpha, h_max=p.regs.h_max,
                         learn=True)
        params.append(CoreParams(weight=p.weight, bias=p.bias, beta=p.beta, theta=p.theta,
                                 p_table=p.p_table, regs=regs))
        states.append(random_state(cfg, rng, regs))
    outputs = tuple((c, j) for c in layers[-1] for j in range(n))
    program = Program(cfg, mesh, tuple(params), tables, tuple(inputs), outputs,
                      names=tuple(_names(layers, mesh)))
    x = (rng.random((steps, len(inputs))) < rate).astype(np.int64)
    return ChipCase(program=program, states=states, x=x)


def _names(layers, mesh):
    names = [""] * mesh.cores
    for l, cores in enumerate(layers):
        for i, c in enumerate(cores):
            names[c] = f"layer{l}[{i}]"
    return names


def dense_case(mesh: Mesh, cfg: CoreConfig, seed: int, steps: int, *, fanout: int
               ) -> ChipCase:
    """Every neuron fires every step and drives ``fanout`` random (core, axon) pairs.

    Large positive biases with the threshold at its lowest, no leak and learning on: the
    membrane crosses the threshold in every step whatever the inputs, so the network
    carries its peak traffic (``cores · neurons · fanout`` packets a step).
    """
    rng = np.random.default_rng(seed)
    free = [Dest(c, a) for c in range(mesh.cores) for a in range(cfg.axons)]
    if len(free) < mesh.cores * cfg.neurons * fanout:
        raise ValueError(f"{mesh.cores * cfg.neurons * fanout} destinations need as many "
                         f"axons; the chip has {len(free)}")
    rng.shuffle(free)
    targets = [[[free.pop() for _ in range(fanout)] for _ in range(cfg.neurons)]
               for _ in range(mesh.cores)]
    tables = tuple(noc.route_table(mesh, cfg, t, core=c) for c, t in enumerate(targets))
    lo = cfg.vth_shift_range[0]
    params, states = [], []
    for _ in range(mesh.cores):
        p = random_params(cfg, rng, learn=True)
        # alpha = 0: the Hebbian term (learning stays on) cannot pull the current down.
        regs = Registers(vth_shift=lo, decay=0, alpha=0, h_max=p.regs.h_max, learn=True)
        # Weights ≥ 0 and the largest bias: the current exceeds 2**lo in every step.
        w_max = (1 << (cfg.w_bits - 1)) - 1
        bias = np.full(cfg.neurons, (1 << (cfg.bias_bits - 1)) - 1, np.int64)
        params.append(CoreParams(weight=np.abs(np.clip(p.weight, -w_max, w_max)), bias=bias,
                                 beta=p.beta, theta=p.theta, p_table=p.p_table, regs=regs))
        states.append(CoreState.zeros(cfg))
    free_inputs = tuple((d,) for d in free[:4])
    program = Program(cfg, mesh, tuple(params), tables, free_inputs,
                      outputs=((0, 0),))
    x = np.ones((steps, len(free_inputs)), np.int64)
    return ChipCase(program=program, states=states, x=x)


def hybrid_case(mesh: Mesh, cfg: CoreConfig, seed: int, steps: int, *, rate: float = 0.4,
                p_ann: float = 0.5) -> ChipCase:
    """`random_case`'s network with mixed SNN/ANN cores and multi-bit inputs (hybrid coding).

    Each core is put in ANN mode with probability ``p_ann`` (at least one core of each
    kind), so ANN cores feed SNN cores (activations as current), SNN cores feed ANN cores
    (spikes as 1) and either feeds its own kind; SNN cores keep learning on. An ANN core's
    ``out_shift`` is fitted to its typical current so that its activations spread over
    ``0 .. act_max`` (some clamped, some zero, most in between). External inputs are values
    ``1 .. act_max`` on a fraction ``rate`` of the channels in each step.

    Raises
    ------
    ValueError
        If ``cfg.act_bits`` is 1 (no multi-bit values) or the mesh has a single core.
    """
    if cfg.act_bits == 1:
        raise ValueError("a hybrid case needs a core with act_bits > 1")
    if mesh.cores < 2:
        raise ValueError("a hybrid case needs at least two cores (one SNN, one ANN)")
    base = random_case(mesh, cfg, seed, steps, rate=rate)
    rng = np.random.default_rng(seed + 20_000)
    ann = rng.random(mesh.cores) < p_ann
    both = rng.permutation(mesh.cores)[:2]
    ann[both[0]], ann[both[1]] = True, False
    lo, hi = cfg.out_shift_range
    cores = []
    for c, p in enumerate(base.program.cores):
        if not ann[c]:
            cores.append(p)
            continue
        # Typical current: inputs at the given rate with mid-range values.
        x = (rng.random((16, cfg.axons)) < rate) * rng.integers(1, cfg.act_max + 1,
                                                                 (16, cfg.axons))
        # A bias on the scale of the weighted sums (a random one mostly swamps them).
        drive = max(1, int(np.percentile(np.abs(x @ p.weight), 60)))
        bias = rng.integers(-drive, drive + 1, cfg.neurons)
        typical = np.percentile(np.abs(x @ p.weight + bias), 60)
        shift = int(np.clip(int(typical).bit_length() - cfg.act_bits + 1, lo, hi))
        cores.append(replace(p, bias=bias,
                             regs=replace(p.regs, mode=Mode.ANN, out_shift=shift)))
    program = replace(base.program, cores=tuple(cores))
    n_in = len(program.inputs)
    x = ((rng.random((steps, n_in)) < rate)
         * rng.integers(1, cfg.act_max + 1, (steps, n_in))).astype(np.int64)
    return ChipCase(program=program, states=base.states, x=x)
