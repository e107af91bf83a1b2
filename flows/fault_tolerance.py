"""The fault-tolerance claim on the simulated chip: the authors' HP and GP networks on many
noisy test samples, learning on chip, every sample from the trained start trace ``h0``.

`run` takes each variant's network of ``glocal experiment fault-tolerance --preset
authors`` (loaded from its ``nets/`` folder, or trained), corrupts the first ``samples``
test digits with the authors' Gaussian noise (variance ``level``), exports the network
(``h0`` in every plastic layer of HP), compiles it for its own cores and loads it into one
native simulated chip (`glocal.sim.native`). The samples run one at a time with learning
on, each from ``H = h0`` (`glocal.firmware.chip.Chip.restart`), and each is compared with
:func:`glocal.golden.chip.run` — every core's spikes and membranes at every step, the
outputs — and, every ``hebb_every``-th sample and the last, each learning core's ``H``,
``T_LAST``, ``T`` and ``REFRESH`` read back after it. The predictions are compared with
:func:`glocal.golden.network.run_network`'s, and all three accuracies (chip, integer
reference, float model) are reported for each variant.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from glocal.firmware.chip import Chip
from glocal.firmware.compiler import compile_model, describe
from glocal.flows.compare import compare
from glocal.golden import network
from glocal.golden.export import ChipModel

__all__ = ["VariantRun", "run", "run_cli"]


@dataclass(frozen=True)
class VariantRun:
    """One variant's samples on the chip.

    Members
    -------
    variant : str
    where : list of str
        What each used core holds.
    samples : int
    chip_accuracy, reference_accuracy, float_accuracy : float
        On the same corrupted samples: the chip, the integer reference
        (:func:`glocal.golden.network.run_network`) and the float model.
    values, mismatches : int
        Spikes, membranes and outputs compared with :func:`glocal.golden.chip.run`, and
        how many differ.
    samples_exact : int
        Samples whose every value equals the reference's.
    network_equal : bool
        The chip's outputs equal ``run_network``'s membranes, every sample.
    hebb_checks, hebb_equal : int
        Samples after which the learning cores' Hebbian state was read back, and how many
        of those equal the reference's (``H``, timestamps, clock, refresh row).
    learning_cores : list of int
    touched_rows : list of float
        Per learning core, the mean number of Hebbian rows a sample writes: what the
        driver rewrites from ``h0`` before the next sample.
    seconds_per_sample : float
        Wall time per sample (restore, run, read-back, comparison).
    cycles_per_sample : float
        Chip cycles of the steps.
    """

    variant: str
    where: list[str]
    samples: int
    chip_accuracy: float
    reference_accuracy: float
    float_accuracy: float
    values: int
    mismatches: int
    samples_exact: int
    network_equal: bool
    hebb_checks: int
    hebb_equal: int
    learning_cores: list[int]
    touched_rows: list[float]
    seconds_per_sample: float
    cycles_per_sample: float

    @property
    def exact(self) -> bool:
        return (self.mismatches == 0 and self.network_equal
                and self.hebb_equal == self.hebb_checks)


def _run_variant(chip: Chip, model: ChipModel, xs: np.ndarray, labels: np.ndarray,
                 float_pred: np.ndarray, *, hebb_every: int, fresh: bool, bar=None,
                 variant: str = "") -> VariantRun:
    program = compile_model(model, cfg=chip.device.cfg, mesh=chip.device.mesh)
    chip.load(program, skip_zeros=fresh)
    x = np.ascontiguousarray(xs.transpose(1, 0, 2))           # (samples, steps, inputs)
    ref_net = network.run_network(model, xs)
    used = [c for c, name in enumerate(program.names) if name]
    learning = [c for c in used if program.cores[c].regs.learn]
    n = len(x)
    pred = np.zeros(n, dtype=np.int64)
    values = mismatches = exact = checks = equal = 0
    net_equal = True
    cycles = 0
    touched = np.zeros(len(learning))
    task = bar.add_task(f"{variant} on chip", total=n) if bar is not None else None
    t0 = time.monotonic()
    for s in range(n):
        res = chip.run(x[s:s + 1], keep_traces=True, keep_membranes=True)
        cmp = compare(program, x[s:s + 1], res, keep_hebb=False)   # from h0, as the chip
        ref = cmp.reference[0]
        values += cmp.values
        mismatches += cmp.mismatches
        exact += cmp.samples_exact
        net_equal &= bool(np.array_equal(res.outputs[0], ref_net.membrane[s]))
        pred[s] = res.predictions[0]
        cycles += int(res.cycles[0])
        touched += [np.count_nonzero(ref.states[c].t_last) for c in learning]
        if learning and (s % hebb_every == 0 or s == n - 1):
            checks += 1
            got = chip.read_state(learning)
            equal += all(np.array_equal(g.hebb, ref.states[c].hebb)
                         and np.array_equal(g.t_last, ref.states[c].t_last)
                         and (g.t, g.refresh) == (ref.states[c].t, ref.states[c].refresh)
                         for g, c in zip(got, learning, strict=True))
        if bar is not None:
            bar.update(task, advance=1)
    seconds = time.monotonic() - t0
    return VariantRun(
        variant=variant, where=describe(program), samples=n,
        chip_accuracy=float((pred == labels).mean()),
        reference_accuracy=float((ref_net.prediction == labels).mean()),
        float_accuracy=float((float_pred == labels).mean()), values=values,
        mismatches=mismatches, samples_exact=exact, network_equal=net_equal,
        hebb_checks=checks, hebb_equal=equal, learning_cores=learning,
        touched_rows=(touched / max(n, 1)).tolist(),
        seconds_per_sample=seconds / max(n, 1), cycles_per_sample=cycles / max(n, 1))


def run(settings, *, variants=("hp", "gp"), seed: int = 0, samples: int = 200,
        level: float = 0.06, nets: Path | None = None, hebb_every: int = 1,
        link: str = "bytes", progress: bool = True) -> list[VariantRun]:
    """The variants' networks on ``samples`` Gaussian-noise test samples, on one chip.

    Parameters
    ----------
    settings : glocal.golden.experiments.fault_tolerance.Settings
        The experiment's (``Settings.authors(...)``): data, network, training.
    nets : Path, optional
        Folder of saved networks ``<variant>-seed<seed>.pt`` (what the experiment saves
        under ``<out>/nets``); without it each variant is trained first.
    hebb_every : int
        Read the Hebbian state back after every ``hebb_every``-th sample (and the last).
    link : str
        The simulator's host link: ``"bytes"`` or ``"uart"`` (`glocal.sim.native`).

    Raises
    ------
    ValueError
        If a saved network does not fit the data (its input count differs), or arguments
        are out of range.
    """
    import torch

    from glocal.golden.experiments import common
    from glocal.golden.experiments import fault_tolerance as ft
    from glocal.golden.experiments.corrupt import Noise
    from glocal.golden.model import Precision, Variant
    from glocal.golden.train import evaluate
    from glocal.sim.native import NativeChip

    if samples < 1 or hebb_every < 1:
        raise ValueError(f"samples and hebb_every must be at least 1, not {samples} and "
                         f"{hebb_every}")
    ds = common.load_data(settings.data, settings.data_dir)
    if samples > len(ds.y_test):
        raise ValueError(f"{settings.data} has {len(ds.y_test)} test samples, not {samples}")
    x, y = ds.x_test[:samples], ds.y_test[:samples]
    points = []
    for v in variants:
        variant = Variant(v)
        if nets is not None:
            net = ft.load_net(Path(nets) / f"{variant.value}-seed{seed}.pt")
            if net.spec.sizes[0] != ds.inputs:
                raise ValueError(f"the saved {variant.value} network has {net.spec.sizes[0]} "
                                 f"inputs; {settings.data} has {ds.inputs}")
        else:
            net = ft.train_variant(ds, settings, variant, seed)
        model, xs = ft.chip_point(net, x, Noise.GAUSSIAN, level, seed,
                                  hebb_mode=settings.fit.hebb_mode.value,
                                  authors=settings.authors_levels)
        _, float_pred = evaluate(net, torch.from_numpy(xs).float(), y, Precision.FLOAT,
                                 chunk=32)
        points.append((variant.value, model, xs, np.asarray(float_pred)))
    cfgs = {model.cfg for _, model, _, _ in points}
    if len(cfgs) != 1:
        raise ValueError(f"the variants' cores differ ({cfgs}); they must share one chip")
    cfg = cfgs.pop()
    mesh = max((compile_model(model).mesh for _, model, _, _ in points),
               key=lambda m: m.cores)
    out = []
    bar = common.progress(progress)
    with NativeChip(cfg, mesh, link=link) as sim, sim.transport() as transport, bar:
        from glocal.firmware.driver import Device

        chip = Chip(Device(transport, cfg=cfg, mesh=mesh, timeout=600.0))
        for k, (name, model, xs, float_pred) in enumerate(points):
            out.append(_run_variant(chip, model, xs, y, float_pred, hebb_every=hebb_every,
                                    fresh=k == 0, bar=bar, variant=name))
    return out


def run_cli(*, data: str = "mnist14", hidden: int | None = None, seed: int = 0,
            samples: int = 200, level: float = 0.06, nets: str | None = None,
            hebb_every: int = 1, out: str | None = None, progress: bool = True) -> int:
    """`glocal onchip fault-tolerance --preset authors`: prints a table, writes
    ``<out>/onchip-authors-<data>.json``; returns 0 if every variant is bit-exact."""
    from rich.console import Console
    from rich.table import Table

    from glocal.golden.experiments import fault_tolerance as ft

    kw = {"data": data} | ({"hidden": hidden} if hidden else {})
    settings = replace(ft.Settings.authors(**kw), progress=progress)
    t0 = time.monotonic()
    runs = run(settings, seed=seed, samples=samples, level=level,
               nets=Path(nets) if nets else None, hebb_every=hebb_every, progress=progress)
    table = Table(title=f"fault tolerance on the simulated chip: {data}, Gaussian {level}, "
                        f"{samples} samples, seed {seed}")
    for col in ("variant", "chip %", "reference %", "float %", "exact samples",
                "H read back equal", "s / sample"):
        table.add_column(col, justify="right")
    for r in runs:
        table.add_row(r.variant, f"{100 * r.chip_accuracy:.1f}",
                      f"{100 * r.reference_accuracy:.1f}", f"{100 * r.float_accuracy:.1f}",
                      f"{r.samples_exact} / {r.samples}",
                      f"{r.hebb_equal} / {r.hebb_checks}" if r.hebb_checks else "(no learning)",
                      f"{r.seconds_per_sample:.2f}")
    console = Console()
    for r in runs:
        console.print(f"{r.variant}: " + "; ".join(r.where))
    console.print(table)
    path = Path(out or "out/experiments/fault-tolerance") / f"onchip-authors-{data}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = {"data": data, "level": level, "seed": seed, "samples": samples,
               "nets": nets, "wall_seconds": time.monotonic() - t0,
               "variants": [asdict(r) | {"exact": r.exact} for r in runs]}
    path.write_text(json.dumps(summary, indent=1))
    console.print(f"wrote {path}")
    return 0 if all(r.exact for r in runs) else 1
