"""The chip as a user sees it: load an image, run samples, read state and counters.

`Chip` drives a :class:`~glocal.firmware.driver.Device` (any transport: the Verilated chip
through its UART, or a board). It keeps the :class:`~glocal.golden.chip.Program` it
loaded, updated by `Chip.set_plasticity`, so that :func:`glocal.golden.chip.run` of
`Chip.program` always says what the chip must compute.

One sample (`Chip.run`), as :func:`glocal.golden.chip.run` defines it: RESET the neuron
state (membranes, spikes and the pending axon banks; the Hebbian state too unless it is
kept), then per step write that step's input spikes into the pending axon banks of the
input sites and RUN one step; spikes fired in a step reach their destinations' pending
banks for the next one through the mesh. At the end, read the output neurons' membranes.

**Start states.** Unless the Hebbian state persists (``keep_hebb``), every sample starts
from ``H = h0`` where a core carries a trained start trace (``hebb_mode`` ``carry``), from
``H = 0`` elsewhere, with timestamps, plastic clock and refresh row at 0
(:func:`glocal.golden.chip.zero_states`). `Chip.load` writes ``h0`` after the RESET;
before each sample, `Chip.restart` puts back what the previous sample changed: a row
``i`` of ``H`` differs from its start only if a step wrote it, and a step that writes it
sets its timestamp ``t_last[i]`` to the clock, which is at least 1 (it advances before
the learn pass). So the driver reads ``T_LAST``, rewrites the rows whose timestamp is
nonzero from ``h0`` (or with zeros) and their timestamps to 0, and writes 0 to the
registers ``T`` and ``REFRESH`` — the core needs no second memory, and the link carries
only the touched rows (`docs/fixed-point.md` §4). That is also far cheaper than a RESET
of the Hebbian state, in which the chip zeroes all ``axons × neurons`` entries over its
bus (about 7 cycles an entry): for the demo's 256×128 cores, 0.5 M cycles a sample
against about 10 k for its 12 steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from glocal.firmware import image
from glocal.firmware.driver import Device, DeviceError
from glocal.golden import hostproto as hp
from glocal.golden.chip import Program
from glocal.golden.memmap import Reg, Region
from glocal.golden.reference import CoreState

__all__ = ["Chip", "Results"]


@dataclass(frozen=True)
class Results:
    """What `Chip.run` returns.

    Members
    -------
    outputs : ndarray, shape (samples, outputs)
        The output neurons' membranes after each sample's last step.
    predictions : ndarray, shape (samples,)
        Argmax of ``outputs`` (first maximum on ties).
    cycles : ndarray, shape (samples,)
        Chip clock cycles of each sample's steps (the RUN answers), link time excluded.
    syn_ops : ndarray, shape (samples,)
        Synaptic operations of each sample, summed over the cores (``SYN_OPS`` counters).
    spikes : ndarray, shape (samples, steps, cores, neurons), or None
        Every core's spikes after every step, read back when ``keep_traces``.
    membranes : ndarray, shape (samples, steps, cores, neurons), or None
        Every core's membranes after every step, read back when ``keep_membranes``.
    """

    outputs: np.ndarray
    predictions: np.ndarray
    cycles: np.ndarray
    syn_ops: np.ndarray
    spikes: np.ndarray | None
    membranes: np.ndarray | None = None


def _runs(indices: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted ``indices`` as ``(first, count)`` runs of consecutive values."""
    out: list[tuple[int, int]] = []
    for i in sorted(indices):
        if out and out[-1][0] + out[-1][1] == i:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((i, 1))
    return out


class Chip:
    """A loaded chip behind a `Device`.

    Parameters
    ----------
    device : Device
        The link to the chip; its ``cfg`` and ``mesh`` must be those of the images loaded.

    Members
    -------
    program : Program or None
        What the chip holds since the last `load` (None before), with the plasticity
        settings of `set_plasticity` applied.
    """

    def __init__(self, device: Device):
        self.device = device
        self.program: Program | None = None
        # Steps run since the cores' plastic clocks were last zero (a RESET or `restart`):
        # past 2**ts_bits a clock may have wrapped to 0 and `restart` cannot tell the rows.
        self._ticks = 0

    # -- loading ----------------------------------------------------------------------

    def check(self, program: Program) -> None:
        """Make sure ``program`` fits the chip: PING's configuration and mesh must be the
        program's, and the driver's too.

        Raises
        ------
        DeviceError
            Naming what differs (nothing is written).
        """
        dev = self.device
        got = dev.ping()
        want = hp.parse_ping(hp.ping_payload(program.cfg, program.mesh.cores, program.mesh))
        if got != want:
            raise DeviceError("load: ping", None,
                              f"the chip reports protocol {got.version}, {got.cores} cores, "
                              f"config {got.fingerprint:#06x}, mesh {got.mesh}; the image "
                              f"needs protocol {want.version}, {want.cores} cores, config "
                              f"{want.fingerprint:#06x} ({program.cfg}), mesh {want.mesh}")
        if (dev.cfg, dev.mesh) != (program.cfg, program.mesh):
            raise DeviceError("load", None, f"the driver was set up for {dev.cfg} on mesh "
                              f"{dev.mesh}; the image is for {program.cfg} on {program.mesh}")

    def load(self, image_or_program, *, verify: bool = False, skip_zeros: bool = False
             ) -> Program:
        """Load an image file (or a `Program`) into the chip and clear its state.

        The image is read and checked (:func:`glocal.firmware.image.read`) and compared
        with the chip (`check`) before the first write.

        Parameters
        ----------
        image_or_program : path or Program
        verify : bool
            Read every written range back and compare.
        skip_zeros : bool
            Do not write zeros (:func:`glocal.firmware.image.writes`): only for a chip
            whose memories are known to be zero (just configured, just simulated).

        Returns
        -------
        Program
            What was loaded.

        Raises
        ------
        ImageError
            If the file is missing, corrupt or of another version (nothing is written).
        DeviceError
            If the chip does not fit the image (nothing is written), refuses a frame, or
            reads back differently when ``verify``.
        """
        program = (image_or_program if isinstance(image_or_program, Program)
                   else image.load(image_or_program))
        self.check(program)
        self.program = None
        writes = image.writes(program, skip_zeros=skip_zeros)
        for w in writes:
            self.device.write(w.core, w.region, w.index, w.values.tolist())
        if verify:
            for w in writes:
                back = np.array(self.device.read(w.core, w.region, w.index, len(w.values)))
                bad = np.flatnonzero(back != w.values)
                if len(bad):
                    i = int(bad[0])
                    raise DeviceError(f"verify {w.region.name}[{w.index}:{w.index + len(back)}]"
                                      f" of core {w.core}", None,
                                      f"entry {w.index + i} reads {back[i]}, wrote "
                                      f"{w.values[i]} ({len(bad)} entries differ)")
        self.device.reset_state(neurons=True, plastic=True)
        for w in image.start_writes(program):
            self.device.write(w.core, w.region, w.index, w.values.tolist())
        self.program = program
        self._ticks = 0
        return program

    def _program(self, command: str) -> Program:
        if self.program is None:
            raise RuntimeError(f"{command}: load an image first")
        return self.program

    # -- running ----------------------------------------------------------------------

    def set_plasticity(self, on: bool, *, cores: Sequence[int] | None = None,
                       alpha: int | None = None, h_max: int | None = None) -> None:
        """Turn on-chip learning on or off (optionally with its gain and clamp bound).

        Parameters
        ----------
        cores : sequence of int, optional
            Default: every core the program uses.
        """
        program = self._program("set_plasticity")
        if cores is None:
            cores = [c for c, name in enumerate(program.names) if name]
        params = list(program.cores)
        for c in cores:
            self.device.set_plasticity(c, on, alpha=alpha, h_max=h_max)
            regs = params[c].regs
            params[c] = replace(params[c], regs=replace(
                regs, learn=bool(on), alpha=regs.alpha if alpha is None else alpha,
                h_max=regs.h_max if h_max is None else h_max))
        self.program = replace(program, cores=tuple(params))

    def run(self, samples, *, learn: bool | None = None, keep_traces: bool = True,
            keep_membranes: bool = False, keep_hebb: bool = False) -> Results:
        """Run samples through the chip, one after the other.

        Parameters
        ----------
        samples : array_like, shape (samples, steps, inputs)
            Input spikes, 0/1.
        learn : bool, optional
            Turn plasticity on or off first on every used core (`set_plasticity`); None
            leaves it as loaded.
        keep_traces : bool
            Read every core's spikes after every step (``Results.spikes``).
        keep_membranes : bool
            Read every core's membranes after every step too (``Results.membranes``;
            ``u_bits`` per neuron instead of one bit, so many more bytes on the link).
        keep_hebb : bool
            Keep the Hebbian state from sample to sample (the model's ``persist`` mode);
            otherwise each sample starts from the program's start state (`restart`: the
            Hebbian rows the previous sample wrote put back to zero, or to the cores'
            ``h0``).

        Raises
        ------
        ValueError
            If ``samples`` has the wrong shape or is not 0/1 (or, with ``act_bits > 1``,
            not in ``0 .. 2**act_bits − 1``; nothing is sent).
        DeviceError
            If the chip refuses a command.
        """
        program = self._program("run")
        x = np.asarray(samples)
        if x.ndim != 3 or x.shape[2] != len(program.inputs):
            raise ValueError(f"samples must have shape (samples, steps, "
                             f"{len(program.inputs)}), not {x.shape}")
        if x.size and ((x != x.astype(np.int64)).any() or x.min() < 0
                       or x.max() > program.cfg.act_max):
            raise ValueError("samples must be spikes (0 or 1)" if program.cfg.act_max == 1
                             else f"samples must be integers in [0, {program.cfg.act_max}] "
                                  f"(act_bits = {program.cfg.act_bits})")
        if learn is not None:
            self.set_plasticity(learn)
        dev, mesh, cfg = self.device, program.mesh, program.cfg
        # Per core, the input channels by axon, written as runs of consecutive axons: a
        # write of 0 clears a pending bit, so axons the mesh drives are never covered.
        sites: dict[int, dict[int, int]] = {}
        for channel, dests in enumerate(program.inputs):
            for d in dests:
                sites.setdefault(d.core, {})[d.axon] = channel
        writes = [(c, first, [by_axon[a] for a in range(first, first + n)])
                  for c, by_axon in sorted(sites.items()) for first, n in _runs(by_axon)]
        reads = {}
        for k, (c, j) in enumerate(program.outputs):
            reads.setdefault(c, {})[j] = k
        n, steps = x.shape[:2]
        outputs = np.zeros((n, len(program.outputs)), dtype=np.int64)
        cycles = np.zeros(n, dtype=np.int64)
        syn_ops = np.zeros(n, dtype=np.int64)
        shape = (n, steps, mesh.cores, cfg.neurons)
        spikes = np.zeros(shape, dtype=np.int64) if keep_traces else None
        membranes = np.zeros(shape, dtype=np.int64) if keep_membranes else None
        ops = self._syn_ops()
        for s in range(n):
            if keep_hebb:
                dev.reset_state(neurons=True)
            else:
                self.restart(self._ticks)
            self._ticks += steps
            for t in range(steps):
                for c, first, channels in writes:
                    dev.write(c, Region.AXON, first, x[s, t, channels].tolist())
                cycles[s] += dev.run(1)
                for c in range(mesh.cores):
                    if spikes is not None:
                        spikes[s, t, c] = dev.read(c, Region.S)
                    if membranes is not None:
                        membranes[s, t, c] = dev.read(c, Region.U)
            for c, by_neuron in reads.items():
                for first, count in _runs(by_neuron):
                    u = dev.read(c, Region.U, first, count)
                    for j, v in zip(range(first, first + count), u, strict=True):
                        outputs[s, by_neuron[j]] = v
            after = self._syn_ops()
            syn_ops[s] = int(((after - ops) & 0xFFFFFFFF).sum())
            ops = after
        predictions = (outputs.argmax(axis=1) if outputs.shape[1]
                       else np.full(n, -1, dtype=np.int64))
        return Results(outputs=outputs, predictions=predictions, cycles=cycles,
                       syn_ops=syn_ops, spikes=spikes, membranes=membranes)

    def restart(self, steps: int | None = None) -> None:
        """Put every core into the state a sample starts from
        (:func:`glocal.golden.chip.zero_states`): RESET the neuron state, then put back the
        Hebbian rows the last sample wrote (those with a nonzero ``T_LAST``) from each
        core's ``h0`` (zero without one), their timestamps, ``T`` and ``REFRESH``.

        ``steps``: the most steps run since the cores' plastic clocks were last zero (after
        `load`, a RESET of the Hebbian state or a restart); a clock that could have wrapped
        back to 0 (``steps ≥ 2**ts_bits``) cannot tell the touched rows, so then the whole
        Hebbian state is RESET and ``h0`` rewritten. None: no more than ``2**ts_bits − 1``.

        A core whose clock is not zero has touched rows: every learning step advances the
        clock and writes the refresh row, so a core without touched rows needs nothing.
        """
        program, dev = self._program("restart"), self.device
        cfg = program.cfg
        if steps is not None and steps >= 1 << cfg.ts_bits:
            dev.reset_state(neurons=True, plastic=True)
            writes = image.start_writes(program)
        else:
            dev.reset_state(neurons=True)
            rows = {}
            for c, name in enumerate(program.names):
                if name:
                    touched = np.flatnonzero(np.array(dev.read(c, Region.T_LAST)))
                    if len(touched):
                        rows[c] = touched
            writes = image.start_writes(program, rows)
            for c, touched in rows.items():
                for first, count in _runs(touched.tolist()):
                    dev.write(c, Region.T_LAST, first, [0] * count)
            for c in rows:
                dev.write(c, Region.REGS, Reg.T, [0, 0])   # T and REFRESH
        for w in writes:
            dev.write(w.core, w.region, w.index, w.values.tolist())
        self._ticks = 0

    def _syn_ops(self) -> np.ndarray:
        program = self._program("run")
        used = [c for c, name in enumerate(program.names) if name] or range(program.mesh.cores)
        out = np.zeros(program.mesh.cores, dtype=np.int64)
        for c in used:
            out[c] = self.device.read(c, Region.REGS, Reg.SYN_OPS, 1)[0] & 0xFFFFFFFF
        return out

    # -- state ------------------------------------------------------------------------

    def read_state(self, cores: Sequence[int] | None = None) -> list[CoreState]:
        """Every core's state: membranes, spikes, Hebbian weights and their timestamps,
        the plastic clock ``T`` and the refresh row (``cores``: default all).

        Reading ``HEBB`` moves ``axons × neurons`` entries per core over the link.
        """
        dev, cfg = self.device, self.device.cfg
        out = []
        for c in range(dev.cores) if cores is None else cores:
            t, refresh = dev.read(c, Region.REGS, Reg.T, 2)
            out.append(CoreState(
                u=np.array(dev.read(c, Region.U)), s=np.array(dev.read(c, Region.S)),
                hebb=np.array(dev.read(c, Region.HEBB)).reshape(cfg.axons, cfg.neurons),
                t_last=np.array(dev.read(c, Region.T_LAST)), t=t & 0xFFFFFFFF,
                refresh=refresh & 0xFFFFFFFF))
        return out

    def counters(self) -> list[dict[str, int]]:
        """Every core's performance counters, by register name (`Device.counters`)."""
        return [self.device.counters(c) for c in range(self.device.cores)]
