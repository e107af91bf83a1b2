"""The three experiments' points on the chip: the native simulated chip
(`glocal.sim.native.NativeChip`, its host link a byte a cycle) driven by `Chip` over its
``socket://`` URL as a board would be, learning on chip, compared value by value with the
integer reference, sample by sample as each comes back (`glocal onchip`: 200 test samples
of fault tolerance or continual, 7 few-shot episodes of 30 samples, by default).

Each experiment module of ``golden/experiments`` has a ``point(...)`` that trains what the
experiment trains and returns the integer version of one point; this module compiles it,
loads it into the simulated chip, runs it and compares:

- **fault tolerance** (:func:`fault_tolerance`): the trained network (HP by default,
  learning on in its hidden core) on corrupted test inputs, each sample from a RESET of
  neuron and Hebbian state; compared with :func:`glocal.golden.chip.run` (every spike of
  every core at every step, the outputs, and the learning cores' ``H``, timestamps,
  clock and refresh row read back after the last sample) and with
  :func:`glocal.golden.network.run_network` (outputs, predictions).
- **few-shot** (:func:`few_shot`): the whole episode on the chip. Core 0 is the feature
  network's hidden layer, core 1 the plastic layer; core 0's spikes reach core 1's
  feature axons through the mesh one step later, which is the hop
  :func:`~glocal.golden.experiments.few_shot.run_chip_episode` models. The label current
  enters core 1's label axons as external inputs (one spike per step during a support
  sample). The support samples run with learning on in core 1 and the Hebbian state kept
  from sample to sample; ``H`` is read back; then the queries run with learning off. The
  learned ``H``, the query scores ``count·V_th + u`` and the predictions must equal
  ``run_chip_episode``'s.
- **continual** (:func:`continual`): the network of one task, HP by default: its global
  weights are ``W⊙M_task`` and its hidden core learns on chip only on the synapses the
  task's mask leaves out (the per-synapse plasticity enables ``1 − M_task``,
  :func:`glocal.golden.experiments.continual.chip_point`), each sample from a RESET of
  neuron and Hebbian state; compared like fault tolerance. GP runs too (no plasticity).

All three share one target: cores of the experiments' 256 axons and `NEURONS` neurons,
with per-synapse plasticity enables (``plastic_mask``; the models without enables run
with every synapse enabled, which computes what cores without them do), on a 1×2 mesh
(`MESH`), so one Verilator build serves them. Several few-shot episodes
(:func:`few_shot_episodes`) share one trained network and one chip, each episode's program
loaded in turn.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from glocal.firmware.chip import Chip
from glocal.firmware.compiler import CompileError, compile_model, describe
from glocal.flows.compare import compare
from glocal.golden import chip as golden_chip
from glocal.golden import network, noc, reference
from glocal.golden.chip import Program
from glocal.golden.config import CoreConfig
from glocal.golden.export import ChipModel
from glocal.golden.noc import Dest, Mesh

__all__ = ["NEURONS", "MESH", "SAMPLES", "EPISODES", "ModelPoint", "EpisodePoint", "open_chip",
           "target", "run_model", "episode_program", "run_episode", "fault_tolerance",
           "few_shot", "few_shot_episodes", "continual", "run_cli"]

#: Neurons per target core: the few-shot feature layer (48 in the quick settings) fits one
#: core, and so does the fault-tolerance / continual hidden layer (32).
NEURONS = 48
#: Two cores: a hidden (feature) layer and what it drives. Each neuron drives one axon.
MESH = Mesh(rows=1, cols=2, depth=64, fanout=2)
#: Test samples of a fault-tolerance or continual point by default (`run_cli`).
SAMPLES = 200
#: Few-shot test episodes by default (`run_cli`): 5 support + 25 queries each (quick
#: settings), 210 samples.
EPISODES = 7


@contextmanager
def open_chip(cfg: CoreConfig, mesh: Mesh = MESH, *, link: str = "bytes",
              root: Path | None = None) -> Iterator[Chip]:
    """The native simulated chip (`glocal.sim.native.NativeChip`) of ``cfg`` cores on
    ``mesh`` behind a `Chip` driver, over its ``socket://`` URL as a board would be.

    A context manager: the simulator ends with it. Its memories start zeroed (load with
    ``skip_zeros=True``). The build is cached per configuration under ``root`` (default
    :func:`glocal.sim.toolchain.build_root`). ``link``: the chip's host link, ``"bytes"``
    (a byte a cycle) or ``"uart"``.
    """
    from glocal.firmware.driver import Device
    from glocal.sim.native import NativeChip

    with NativeChip(cfg, mesh, link=link, root=root) as sim, sim.transport() as transport:
        yield Chip(Device(transport, cfg=cfg, mesh=mesh, timeout=600.0))


# -- a trained network on corrupted / permuted inputs ---------------------------------------

@dataclass(frozen=True)
class ModelPoint:
    """One network on the chip against the references.

    Members
    -------
    experiment : str
    where : list of str
        What each used core holds.
    samples : int
    labels, chip_predictions, reference_predictions : ndarray (samples,)
        ``reference_predictions`` are :func:`glocal.golden.network.run_network`'s.
    chip_outputs, reference_outputs : ndarray (samples, outputs)
    agreement : float
        Fraction of spikes and outputs equal to :func:`glocal.golden.chip.run`.
    values, mismatches, samples_exact : int
    network_equal : bool
        Outputs equal to ``run_network``'s, every sample.
    learn : list of bool
        The LEARN register of each used core during the run.
    hebb : list of ndarray (axons, neurons)
        ``H`` of each learning core read back after the last sample (what that sample
        learned on chip).
    hebb_equal : bool
        ``hebb``, the timestamps, clock and refresh row of every learning core equal
        :func:`glocal.golden.chip.run`'s after the last sample.
    cycles_per_sample, syn_ops_per_sample : float
    load_seconds, run_seconds : float
    info : dict
        The point's settings.
    """

    experiment: str
    where: list[str]
    samples: int
    labels: np.ndarray
    chip_predictions: np.ndarray
    reference_predictions: np.ndarray
    chip_outputs: np.ndarray
    reference_outputs: np.ndarray
    agreement: float
    values: int
    mismatches: int
    samples_exact: int
    network_equal: bool
    learn: list[bool]
    hebb: list[np.ndarray]
    hebb_equal: bool
    cycles_per_sample: float
    syn_ops_per_sample: float
    load_seconds: float
    run_seconds: float
    info: dict

    @property
    def chip_accuracy(self) -> float:
        return float((self.chip_predictions == self.labels).mean())

    @property
    def reference_accuracy(self) -> float:
        return float((self.reference_predictions == self.labels).mean())

    @property
    def exact(self) -> bool:
        return self.mismatches == 0 and self.network_equal and self.hebb_equal


def target(cfg: CoreConfig) -> CoreConfig:
    """The experiments' cores with `NEURONS` neurons and per-synapse plasticity enables
    (the chip all points share)."""
    return replace(cfg, neurons=NEURONS, plastic_mask=1)


def run_model(chip: Chip, model: ChipModel, spikes: np.ndarray, labels: np.ndarray, *,
              experiment: str, info: dict, fresh: bool = True, bar=None) -> ModelPoint:
    """Compile ``model``, load it, run ``spikes`` (steps, samples, inputs) sample by sample
    (each from a RESET, Hebbian state too unless the model persists it) and compare each
    sample with the chip-level reference as it comes back.

    ``fresh``: the chip's memories are zero (a simulation just started), so zero runs of
    the image are not written. ``bar``: a `rich.progress.Progress` advanced per sample.
    """
    program = compile_model(model, cfg=chip.device.cfg, mesh=chip.device.mesh)
    x = np.ascontiguousarray(np.asarray(spikes, dtype=np.int64).transpose(1, 0, 2))
    keep_hebb = model.hebb_mode == "persist"
    t0 = time.monotonic()
    chip.load(program, skip_zeros=fresh)
    t_load = time.monotonic() - t0
    loaded = chip.program
    task = (bar.add_task(f"{experiment} samples on the simulated chip", total=len(x))
            if bar is not None else None)
    parts, states, last = [], None, None
    values = mismatches = samples_exact = 0
    t_run = 0.0
    for s in range(len(x)):
        t0 = time.monotonic()
        res = chip.run(x[s:s + 1], keep_hebb=keep_hebb)   # every core's spikes kept
        t_run += time.monotonic() - t0
        cmp = compare(loaded, x[s:s + 1], res, keep_hebb=keep_hebb, states=states)
        values += cmp.values
        mismatches += cmp.mismatches
        samples_exact += cmp.samples_exact
        last = cmp.reference[-1].states
        states = golden_chip.next_sample(last) if keep_hebb else None
        parts.append(res)
        if bar is not None:
            bar.advance(task)
    outputs, predictions, cycles, syn_ops = (
        np.concatenate([getattr(r, f) for r in parts])
        for f in ("outputs", "predictions", "cycles", "syn_ops"))
    net = network.run_network(model, spikes)
    used = [c for c, name in enumerate(program.names) if name]
    learning = [c for c in used if program.cores[c].regs.learn]
    final = chip.read_state(learning)
    hebb_equal = all(np.array_equal(got.hebb, last[c].hebb)
                     and np.array_equal(got.t_last, last[c].t_last)
                     and (got.t, got.refresh) == (last[c].t, last[c].refresh)
                     for got, c in zip(final, learning, strict=True))
    return ModelPoint(
        experiment=experiment, where=describe(program), samples=len(x),
        labels=np.asarray(labels), chip_predictions=predictions,
        reference_predictions=np.asarray(net.prediction), chip_outputs=outputs,
        reference_outputs=np.asarray(net.membrane),
        agreement=1.0 - mismatches / values if values else 0.0,
        values=values, mismatches=mismatches, samples_exact=samples_exact,
        network_equal=bool(np.array_equal(outputs, net.membrane)),
        learn=[bool(program.cores[c].regs.learn) for c in used],
        hebb=[s.hebb for s in final], hebb_equal=bool(hebb_equal),
        cycles_per_sample=float(cycles.mean()),
        syn_ops_per_sample=float(syn_ops.mean()), load_seconds=t_load,
        run_seconds=t_run, info=info)


def fault_tolerance(settings, *, variant="hp", seed: int = 0, noise="gaussian",
                    level: float = 0.06, samples: int = 200, chip: Chip | None = None,
                    root: Path | None = None, progress: bool = False) -> ModelPoint:
    """One fault-tolerance point on the chip: ``fault_tolerance.point`` with
    ``test_samples = samples``, learning on chip in the HP/LP hidden core.

    Without ``chip``, a native simulated chip (`open_chip`, build cached under ``root``)
    serves the point. ``progress``: a progress bar per sample."""
    from glocal.golden.experiments import fault_tolerance as ft
    from glocal.golden.experiments.corrupt import Noise
    from glocal.golden.model import Variant

    settings = replace(settings, test_samples=samples, progress=False)
    with _training(progress, "fault-tolerance"):
        model, spikes, y = ft.point(settings, Variant(variant), seed, Noise(noise), level)
    info = {"variant": str(Variant(variant).value), "seed": seed, "noise": str(Noise(noise)),
            "level": level, "hidden": settings.hidden, "steps": settings.steps}
    return _on_chip(model, spikes, y, "fault-tolerance", info, chip, root, progress)


def continual(settings, *, variant="hp", seed: int = 0, task: int = 1, samples: int = 200,
              chip: Chip | None = None, root: Path | None = None,
              progress: bool = False) -> ModelPoint:
    """Task ``task``'s network (after training tasks ``0 … task``) on the chip, on the
    first ``samples`` test samples of that task's permutation: HP learning on chip on the
    synapses outside the task's mask (per-synapse plasticity enables), or GP (no
    plasticity). ``chip``, ``root``, ``progress``: as :func:`fault_tolerance`."""
    from glocal.golden.experiments import continual as cl
    from glocal.golden.model import Variant

    settings = replace(settings, progress=False)
    with _training(progress, "continual"):
        model, spikes, y = cl.point(settings, seed, task, Variant(variant))
    info = {"variant": str(Variant(variant).value), "seed": seed, "task": task,
            "tasks": settings.tasks, "hidden": settings.hidden, "steps": settings.steps,
            "plastic_synapses": [int(layer.plastic.sum()) if layer.plastic is not None
                                 else None for layer in model.layers]}
    return _on_chip(model, spikes[:, :samples], y[:samples], "continual", info, chip, root,
                    progress)


def _bar(progress: bool):
    from rich.progress import Progress

    return Progress(disable=not progress)


def _training(progress: bool, what: str):
    """A spinner while the experiment's network trains (``point`` shows no bar)."""
    from rich.console import Console

    return Console().status(f"training the {what} network (quick settings)") if progress \
        else nullcontext()


def _on_chip(model, spikes, y, experiment, info, chip, root, progress) -> ModelPoint:
    with (nullcontext(chip) if chip is not None
          else open_chip(target(model.cfg), root=root)) as c, _bar(progress) as bar:
        return run_model(c, model, spikes, y, experiment=experiment, info=info,
                         fresh=chip is None, bar=bar)


# -- a few-shot episode, the feature stage included -----------------------------------------

def episode_program(ep, cfg: CoreConfig, mesh: Mesh = MESH) -> Program:
    """The whole episode as one program: the feature layer on core 0, the plastic layer
    (learning on) on core 1; inputs ``0 … inputs−1`` are the image, input ``inputs + k``
    the label axon of episode class ``k``; outputs are the ``ways`` plastic neurons.

    Raises
    ------
    CompileError
        If the cores differ from the episode's in anything but neurons, a layer does not
        fit one core, or the mesh has fewer than 2 cores.
    """
    layer = ep.features.layers[0]
    nf, ways = ep.n_features, ep.ways
    for name, c in (("feature network", ep.features.cfg), ("plastic layer", ep.cfg)):
        if replace(c, neurons=cfg.neurons, lanes=cfg.lanes,
                   plastic_mask=cfg.plastic_mask) != cfg or c.plastic_mask > cfg.plastic_mask:
            raise CompileError(f"the {name}'s cores ({c}) differ from the target's ({cfg}) "
                               "in more than neurons and lanes (and plastic_mask 1 on the "
                               "target)")
    if layer.n_out > cfg.neurons or layer.n_out != nf:
        raise CompileError(f"the feature layer has {layer.n_out} neurons; one core has "
                           f"{cfg.neurons} (and the plastic layer expects {nf})")
    if nf + ways > cfg.axons or ways > cfg.neurons:
        raise CompileError(f"the plastic layer needs {nf + ways} axons and {ways} neurons; "
                           f"a core has {cfg.axons} × {cfg.neurons}")
    if mesh.cores < 2:
        raise CompileError(f"an episode needs 2 cores; the mesh has {mesh.cores}")
    learn = ep.learn
    n = cfg.neurons
    # Neurons do not interact inside a core: keeping the first n of the padded layer is exact.
    # Every synapse is plastic (enabled, on cores with enables).
    plastic = reference.CoreParams(weight=learn.weight[:, :n], bias=learn.bias[:n],
                                   beta=learn.beta, theta=learn.theta[:n],
                                   p_table=learn.p_table, regs=learn.regs,
                                   plastic=np.ones((cfg.axons, n), np.int64)
                                   if cfg.plastic_mask else None)
    cores = [layer.core_params(cfg, 0), plastic] + \
        [golden_chip.idle_core(cfg)] * (mesh.cores - 2)
    targets = [[[Dest(1, g)] for g in range(nf)]] + [[]] * (mesh.cores - 1)
    tables = tuple(noc.route_table(mesh, cfg, t, core=c) for c, t in enumerate(targets))
    inputs = tuple((Dest(0, i),) for i in range(layer.n_in)) + \
        tuple((Dest(1, nf + k),) for k in range(ways))
    names = (f"features[0:{nf}]", f"plastic[0:{ways}]") + ("",) * (mesh.cores - 2)
    return Program(cfg, mesh, tuple(cores), tables, inputs,
                   tuple((1, k) for k in range(ways)), names)


@dataclass(frozen=True)
class EpisodePoint:
    """One few-shot episode on the chip against ``run_chip_episode``.

    Members
    -------
    where : list of str
    shots, ways, support, queries : int
    query_labels, chip_predictions, reference_predictions : ndarray (queries,)
    chip_scores, reference_scores : ndarray (queries, ways)
        ``count·V_th + u`` of the plastic neurons.
    hebb_equal : bool
        The ``H`` read back after the support set equals the reference's learned ``H``
        (and its timestamps, clock and refresh row).
    hebb_nonzero : int
        Entries of the learned ``H`` that are not zero.
    agreement, values, mismatches : as `glocal.flows.compare.Comparison`, over support
        and queries
        (chip-level reference, both cores' spikes).
    cycles_per_sample, seconds : float
    info : dict
    """

    where: list[str]
    shots: int
    ways: int
    support: int
    queries: int
    query_labels: np.ndarray
    chip_predictions: np.ndarray
    reference_predictions: np.ndarray
    chip_scores: np.ndarray
    reference_scores: np.ndarray
    hebb_equal: bool
    hebb_nonzero: int
    agreement: float
    values: int
    mismatches: int
    cycles_per_sample: float
    load_seconds: float
    run_seconds: float
    info: dict

    @property
    def chip_accuracy(self) -> float:
        return float((self.chip_predictions == self.query_labels).mean())

    @property
    def reference_accuracy(self) -> float:
        return float((self.reference_predictions == self.query_labels).mean())

    @property
    def exact(self) -> bool:
        return (self.mismatches == 0 and self.hebb_equal
                and np.array_equal(self.chip_scores, self.reference_scores)
                and np.array_equal(self.chip_predictions, self.reference_predictions))


def run_episode(chip: Chip, ep, *, fresh: bool = True, info: dict | None = None,
                bar=None) -> EpisodePoint:
    """Load `episode_program`, learn the support set on chip, read ``H``, turn learning
    off in the plastic core and run the queries; compare with ``run_chip_episode``.
    ``bar``: a `rich.progress.Progress` advanced per sample."""
    from glocal.flows.run import run_samples
    from glocal.golden.experiments.few_shot import run_chip_episode

    program = episode_program(ep, chip.device.cfg, chip.device.mesh)
    ways = ep.ways
    sup = ep.support_x
    label = np.zeros(sup.shape[:2] + (ways,), np.int64)
    label[np.arange(len(sup)), :, ep.support_labels] = 1     # every step of the sample
    x_sup = np.concatenate([sup, label], axis=-1)
    qry = np.ascontiguousarray(ep.query_x.transpose(1, 0, 2))
    x_qry = np.concatenate([qry, np.zeros(qry.shape[:2] + (ways,), np.int64)], axis=-1)
    t0 = time.monotonic()
    chip.load(program, skip_zeros=fresh)
    t_load = time.monotonic() - t0
    # Load cleared the Hebbian state; keep it from here on: the support set accumulates.
    r_sup = run_samples(chip, x_sup, keep_hebb=True, bar=bar,
                        what="support samples on the simulated chip (learning)")
    learned = chip.read_state([1])[0]
    loaded = chip.program
    chip.set_plasticity(False, cores=[1])
    r_qry = run_samples(chip, x_qry, keep_hebb=True, bar=bar,
                        what="query samples on the simulated chip")
    t_run = time.monotonic() - t0 - t_load
    # The chip-level reference, support then queries, state carried over.
    c_sup = compare(loaded, x_sup, r_sup, keep_hebb=True)
    states = golden_chip.next_sample(c_sup.reference[-1].states)
    c_qry = compare(chip.program, x_qry, r_qry, keep_hebb=True, states=states)
    # The experiment's reference.
    ref_pred, ref_score, ref_state = run_chip_episode(ep)
    n = chip.device.cfg.neurons
    hebb_equal = (np.array_equal(learned.hebb, ref_state.hebb[:, :n])
                  and np.array_equal(learned.t_last, ref_state.t_last)
                  and (learned.t, learned.refresh) == (int(ref_state.t), int(ref_state.refresh)))
    count = r_qry.spikes[:, :, 1, :ways].sum(axis=1)
    score = (count << ep.learn.regs.vth_shift) + r_qry.outputs
    return EpisodePoint(
        where=describe(program), shots=int(len(sup) // ways), ways=ways, support=len(sup),
        queries=len(qry), query_labels=ep.query_labels, chip_predictions=score.argmax(-1),
        reference_predictions=np.asarray(ref_pred), chip_scores=score,
        reference_scores=np.asarray(ref_score), hebb_equal=bool(hebb_equal),
        hebb_nonzero=int(np.count_nonzero(learned.hebb)),
        agreement=1.0 - (c_sup.mismatches + c_qry.mismatches) / (c_sup.values + c_qry.values),
        values=c_sup.values + c_qry.values, mismatches=c_sup.mismatches + c_qry.mismatches,
        cycles_per_sample=float(np.concatenate([r_sup.cycles, r_qry.cycles]).mean()),
        load_seconds=t_load, run_seconds=t_run, info=info or {})


def few_shot(settings, *, seed: int = 0, shots: int = 1, chip: Chip | None = None,
             root: Path | None = None, progress: bool = False) -> EpisodePoint:
    """One ``ways``-way ``shots``-shot test episode (``few_shot.point``) wholly on chip.
    ``chip``, ``root``, ``progress``: as :func:`fault_tolerance`."""
    from glocal.golden.experiments import few_shot as fs


    settings = replace(settings, progress=False)
    with _training(progress, "few-shot feature and plastic-layer"):
        ep = fs.point(settings, seed, shots)
    info = {"seed": seed, "hidden": settings.hidden, "steps": settings.steps,
            "test_classes": list(settings.test_classes)}
    with (nullcontext(chip) if chip is not None
          else open_chip(target(ep.cfg), root=root)) as c, _bar(progress) as bar:
        return run_episode(c, ep, fresh=chip is None, info=info, bar=bar)


def few_shot_episodes(settings, *, seed: int = 0, shots: int = 1, count: int = EPISODES,
                      root: Path | None = None, progress: bool = False
                      ) -> list[EpisodePoint]:
    """``count`` ``ways``-way ``shots``-shot test episodes (``few_shot.points``) wholly on chip,
    each compared like :func:`few_shot`: one native simulated chip per distinct target
    configuration (one in practice), each episode's program loaded into it in turn."""
    from glocal.golden.experiments import few_shot as fs

    settings = replace(settings, progress=False)
    with _training(progress, "few-shot feature and plastic-layer"):
        eps = fs.points(settings, seed, shots, count)
    info = {"seed": seed, "hidden": settings.hidden, "steps": settings.steps,
            "test_classes": list(settings.test_classes)}
    out: list[EpisodePoint | None] = [None] * len(eps)
    by_cfg: dict[CoreConfig, list[int]] = {}
    for k, ep in enumerate(eps):
        by_cfg.setdefault(target(ep.cfg), []).append(k)
    for cfg, ks in by_cfg.items():
        with open_chip(cfg, root=root) as chip, _bar(progress) as bar:
            task = bar.add_task("few-shot episodes on the simulated chip", total=len(ks))
            for n, k in enumerate(ks):
                out[k] = run_episode(chip, eps[k], fresh=n == 0, info=info | {"episode": k})
                bar.advance(task)
    return out


# -- command line ---------------------------------------------------------------------------

def run_cli(name: str, *, seed: int = 0, samples: int = SAMPLES, episodes: int = EPISODES,
            out: Path | None = None, variant: str = "hp", progress: bool = True) -> int:
    """`glocal onchip <name>`: the experiment's quick point on the native simulated chip
    (``samples`` test samples for fault tolerance and continual, ``episodes`` episodes for
    few-shot, every sample compared); prints the comparison and writes
    ``<out>/<name>-onchip.json`` (``<name>-<variant>-onchip.json`` for a variant other than
    HP). ``progress``: progress bars. Returns 0 if bit-exact."""
    import json

    from glocal.golden.experiments import common
    from glocal.golden.experiments import continual as cl
    from glocal.golden.experiments import fault_tolerance as ft
    from glocal.golden.experiments import few_shot as fs

    t0 = time.monotonic()
    if name == "fault-tolerance":
        p = fault_tolerance(ft.Settings.quick(), variant=variant, seed=seed, samples=samples,
                            progress=progress)
    elif name == "few-shot":
        eps = few_shot_episodes(fs.Settings.quick(), seed=seed, shots=1, count=episodes,
                                progress=progress)
    elif name == "continual":
        p = continual(cl.Settings.quick(), variant=variant, seed=seed, samples=samples,
                      progress=progress)
    else:
        raise ValueError(f"experiment must be fault-tolerance, few-shot or continual, "
                         f"not {name!r}")
    if name == "few-shot":
        values, bad = sum(e.values for e in eps), sum(e.mismatches for e in eps)
        labels = np.concatenate([e.query_labels for e in eps])
        summary = {"experiment": name, "variant": "hp", "exact": all(e.exact for e in eps),
                   "episodes": len(eps), "samples": sum(e.support + e.queries for e in eps),
                   "episodes_exact": sum(e.exact for e in eps),
                   "hebb_equal": all(e.hebb_equal for e in eps),
                   "agreement": 1.0 - bad / values if values else 0.0, "values": values,
                   "mismatches": bad,
                   "chip_accuracy": float((np.concatenate(
                       [e.chip_predictions for e in eps]) == labels).mean()),
                   "reference_accuracy": float((np.concatenate(
                       [e.reference_predictions for e in eps]) == labels).mean()),
                   "cycles_per_sample": float(np.mean([e.cycles_per_sample for e in eps])),
                   "points": common.jsonable(eps)}
        where = eps[0].where
    else:
        summary = {"experiment": name, "variant": p.info.get("variant"), "exact": p.exact,
                   "samples": p.samples, "samples_exact": p.samples_exact,
                   "hebb_equal": p.hebb_equal, "agreement": p.agreement,
                   "values": p.values, "mismatches": p.mismatches,
                   "chip_accuracy": p.chip_accuracy,
                   "reference_accuracy": p.reference_accuracy,
                   "cycles_per_sample": p.cycles_per_sample, "point": common.jsonable(p)}
        where = p.where
    summary["wall_seconds"] = time.monotonic() - t0
    out = Path(out or Path("out/experiments") / name)
    out.mkdir(parents=True, exist_ok=True)
    tag = "" if variant == "hp" or name == "few-shot" else f"-{variant}"
    path = out / f"{name}{tag}-onchip.json"
    path.write_text(json.dumps(common.jsonable(summary), indent=1))
    for line in where:
        print(line)
    keys = ("exact", "episodes", "episodes_exact", "samples") if name == "few-shot" else \
        ("exact", "samples", "samples_exact")
    for k in keys + ("agreement", "values", "mismatches", "chip_accuracy",
                     "reference_accuracy", "cycles_per_sample", "wall_seconds"):
        print(f"{k}: {summary[k]}")
    if name == "few-shot":
        print(f"hebb_equal: {summary['hebb_equal']} (nonzero H entries per episode: "
              f"{[e.hebb_nonzero for e in eps]})")
    else:
        print(f"hebb_equal: {p.hebb_equal} (nonzero H entries per learning core after the "
              f"last sample: {[int(np.count_nonzero(h)) for h in p.hebb]})")
    print(f"wrote {path}")
    return 0 if summary["exact"] else 1
