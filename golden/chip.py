"""Chip-level integer reference: every core of the mesh, wired by its routing tables.

This is the specification of what a loaded chip computes, the contract between the image
compiler (``firmware/``), the RTL chip and the driver. A :class:`Program` is the chip's
content: one :class:`~glocal.golden.reference.CoreParams` per core of the mesh, one
:class:`~glocal.golden.noc.RouteTable` per core, which core axons the external inputs set
and which core neurons are the outputs.

**One step** (:func:`step`): every core runs :func:`glocal.golden.reference.step` on its
axon bitmap; then the spikes travel (:func:`glocal.golden.noc.deliver`) and set the
destination axons for the *next* step — one step per hop. The external inputs of step
``t`` are ORed into the bitmap of step ``t`` (the driver writes them into the pending
banks before starting the step).

**Hybrid coding** (``cfg.act_bits > 1``): a core in ANN mode
(:class:`~glocal.golden.reference.Mode`) puts out activations instead of spikes; they
travel like spikes (a packet per destination of every nonzero output, carrying the value)
and an SNN core downstream weighs them as input current, ``Σ x_i·W_i``, as an ANN core
weighs a spike as 1. External inputs are values ``0 .. 2**act_bits − 1`` too. Values that
meet on one axon in a step (two packets, or a packet and an input) merge by bitwise OR.

A sample starts with empty axon banks: the driver's RESET of the neuron state clears the
pending banks too (:attr:`glocal.golden.hostproto.ResetMask.NEURONS`), so spikes in
flight at the end of one sample never reach the next. Its Hebbian state is
:func:`zero_states`'s: zero, or a core's trained start trace ``h0`` (``hebb_mode``
``carry``), unless the traces persist from the sample before (:func:`next_sample`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from glocal.golden import noc, reference
from glocal.golden.config import CoreConfig
from glocal.golden.noc import Dest, Mesh, RouteTable
from glocal.golden.reference import CoreParams, CoreState, Registers

__all__ = ["ProgramError", "Program", "ChipRun", "idle_core", "zero_states", "next_sample",
           "step", "run"]


class ProgramError(ValueError):
    """A program does not fit its chip or is inconsistent; the message names what."""


def idle_core(cfg: CoreConfig) -> CoreParams:
    """Parameters of a core the program does not use: no weights, no bias, learning off
    (and no synapse plastic, with ``cfg.plastic_mask``), never fires."""
    a, n = cfg.axons, cfg.neurons
    z = np.zeros
    return CoreParams(weight=z((a, n), np.int64), bias=z(n, np.int64), beta=z(a, np.int64),
                      theta=z(n, np.int64), p_table=z(1 << cfg.ts_bits, np.int64),
                      regs=Registers(vth_shift=cfg.vth_shift_range[1], decay=0, alpha=0,
                                     h_max=0, learn=False),
                      plastic=z((a, n), np.int64) if cfg.plastic_mask else None)


@dataclass(frozen=True)
class Program:
    """What a chip holds: parameters, routes, and where inputs enter and outputs leave.

    Members
    -------
    cfg : CoreConfig
        Every core's geometry and widths.
    mesh : Mesh
        The mesh and its routing-table sizes.
    cores : tuple of CoreParams
        One per core of the mesh, in core order (:func:`idle_core` for unused ones).
    tables : tuple of RouteTable
        One per core (:func:`glocal.golden.noc.route_table`).
    inputs : tuple of tuple of Dest
        External input channel ``i`` sets every axon listed in ``inputs[i]`` (more than
        one when the first layer is split over several cores).
    outputs : tuple of (core, neuron)
        Output ``k`` is the membrane of that neuron (the class scores of a readout).
    names : tuple of str
        What each core holds (e.g. ``"layer0[0:128]"``, ``""`` if unused), for messages.

    Raises
    ------
    ProgramError
        On construction, naming the first inconsistency.
    """

    cfg: CoreConfig
    mesh: Mesh
    cores: tuple[CoreParams, ...]
    tables: tuple[RouteTable, ...]
    inputs: tuple[tuple[Dest, ...], ...]
    outputs: tuple[tuple[int, int], ...]
    names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        cfg, mesh = self.cfg, self.mesh
        if len(self.cores) != mesh.cores:
            raise ProgramError(f"a {mesh.rows}×{mesh.cols} mesh needs {mesh.cores} cores' "
                               f"parameters, not {len(self.cores)}")
        if self.names and len(self.names) != mesh.cores:
            raise ProgramError(f"names must list {mesh.cores} cores, not {len(self.names)}")
        for c, params in enumerate(self.cores):
            try:
                params.check(cfg)
            except ValueError as e:
                raise ProgramError(f"core {c}{self._name(c)}: {e}") from None
        try:
            noc.check_tables(mesh, cfg, self.tables)
        except noc.NocError as e:
            raise ProgramError(str(e)) from None
        routed = {d for t in self.tables for d in t.dests}
        seen: set[Dest] = set()
        for i, d in ((i, d) for i, ds in enumerate(self.inputs) for d in ds):
            if not (0 <= d.core < mesh.cores and 0 <= d.axon < cfg.axons):
                raise ProgramError(f"input {i} enters axon {d.axon} of core {d.core}, "
                                   f"outside the chip ({mesh.cores} cores × {cfg.axons} axons)")
            if d in seen or d in routed:
                raise ProgramError(f"input {i} enters axon {d.axon} of core {d.core}, which "
                                   "another input or a routed neuron already drives")
            seen.add(d)
        for k, (c, j) in enumerate(self.outputs):
            if not (0 <= c < mesh.cores and 0 <= j < cfg.neurons):
                raise ProgramError(f"output {k} is neuron {j} of core {c}, outside the chip "
                                   f"({mesh.cores} cores × {cfg.neurons} neurons)")

    def _name(self, c: int) -> str:
        return f" ({self.names[c]})" if self.names and self.names[c] else ""

    def input_bitmap(self, x) -> np.ndarray:
        """Axon inputs, shape (cores, axons), that one step's inputs ``x`` (inputs,) set:
        spikes 0/1 or, with ``cfg.act_bits > 1``, values ``0 .. 2**act_bits − 1``."""
        x = np.asarray(x)
        if x.shape != (len(self.inputs),):
            raise ProgramError(f"one step's input must have shape ({len(self.inputs)},), "
                               f"not {x.shape}")
        if x.size and ((x != x.astype(np.int64)).any() or x.min() < 0
                       or x.max() > self.cfg.act_max):
            raise ProgramError(
                "inputs must be spikes (0 or 1)" if self.cfg.act_max == 1 else
                f"inputs must be integers in [0, {self.cfg.act_max}] (act_bits = "
                f"{self.cfg.act_bits})")
        out = np.zeros((self.mesh.cores, self.cfg.axons), dtype=np.int64)
        for ds, v in zip(self.inputs, x, strict=True):
            for d in ds:
                out[d.core, d.axon] = v
        return out


@dataclass(frozen=True)
class ChipRun:
    """What :func:`run` returns.

    Members
    -------
    spikes : ndarray, shape (steps, cores, neurons)
        Every core's outputs at every step (spikes, or an ANN core's activations).
    membrane : ndarray, shape (steps, cores, neurons)
        Every core's membranes after every step.
    output : ndarray, shape (outputs,)
        The output neurons' membranes after the last step.
    prediction : int
        Argmax of ``output`` (first maximum on ties).
    states : list of CoreState
        Every core's state after the last step.
    """

    spikes: np.ndarray
    membrane: np.ndarray
    output: np.ndarray
    prediction: int
    states: list[CoreState]


def zero_states(program: Program) -> list[CoreState]:
    """Every core at the start of a sample: all zero but ``H``, which is the core's
    ``h0`` where it has one (:class:`~glocal.golden.reference.CoreParams`)."""
    out = []
    for p in program.cores:
        s = CoreState.zeros(program.cfg)
        out.append(s if p.h0 is None else replace(s, hebb=np.array(p.h0, dtype=np.int64)))
    return out


def next_sample(states: Sequence[CoreState]) -> list[CoreState]:
    """States for the next sample when Hebbian traces persist: membranes and spikes
    cleared (RESET of the neuron state), ``H``, its timestamps and the clocks kept."""
    return [CoreState(u=np.zeros_like(s.u), s=np.zeros_like(s.s), hebb=s.hebb,
                      t_last=s.t_last, t=s.t, refresh=s.refresh) for s in states]


def step(program: Program, states: Sequence[CoreState], axons) -> tuple[list[CoreState],
                                                                        np.ndarray]:
    """One step of every core on axon bitmaps ``axons`` (cores, axons).

    Returns the new states and the spikes (cores, neurons); what the spikes deliver for the
    next step is :func:`glocal.golden.noc.deliver` of them.
    """
    axons = np.asarray(axons)
    shape = (program.mesh.cores, program.cfg.axons)
    if axons.shape != shape:
        raise ProgramError(f"axon bitmaps must have shape {shape}, not {axons.shape}")
    new = [reference.step(program.cfg, p, s, x)
           for p, s, x in zip(program.cores, states, axons, strict=True)]
    return new, np.stack([s.s for s in new])


def run(program: Program, x_spikes, states: Sequence[CoreState] | None = None) -> ChipRun:
    """Run one sample: inputs ``x_spikes`` (steps, inputs), from empty axon banks.

    ``states`` (default: :func:`zero_states`) lets Hebbian traces persist from a previous
    sample; see :func:`next_sample`.
    """
    x = np.asarray(x_spikes)
    if x.ndim != 2:
        raise ProgramError(f"input spikes must have shape (steps, {len(program.inputs)}), "
                           f"not {x.shape}")
    states = list(states) if states is not None else zero_states(program)
    pending = np.zeros((program.mesh.cores, program.cfg.axons), dtype=np.int64)
    spikes, membrane = [], []
    for xt in x:
        states, fired = step(program, states, pending | program.input_bitmap(xt))
        pending = noc.deliver(program.mesh, program.cfg, program.tables, fired)
        spikes.append(fired)
        membrane.append(np.stack([s.u for s in states]))
    output = np.array([membrane[-1][c, j] for c, j in program.outputs], dtype=np.int64)
    return ChipRun(spikes=np.stack(spikes), membrane=np.stack(membrane), output=output,
                   prediction=int(output.argmax()) if len(output) else -1, states=states)
