"""Continual learning: a sequence of permuted-input tasks with per-task sparse weight masks.

Task ``t`` permutes the input pixels with a fixed permutation (task 0: the identity) and
keeps the classes. Every task has its own sparse binary mask ``M_t`` on the global
weights of every layer (hidden and readout); the effective hidden weight while task
``t`` is trained or tested is the paper's ``W⊙M_t + alpha·H⊙(1 − M_t)``: the Hebbian
trace learns only on the synapses the task's mask leaves out (HP), or nothing is there
(GP, the same masks). Masks are disjoint across tasks when ``density·tasks ≤ 1`` (the
default ``density = 1/tasks``), so training task ``t`` cannot change another task's
global weights; the masked weights start at ``1/sqrt(density)`` times the usual scale so
that the effective fan-in is that of a dense layer. Biases are held at zero (a shared
bias would be an unmasked path between tasks). HP's meta-parameters ``alpha``, ``beta``,
``eta`` are shared by all tasks and meta-learned on each task in turn: the only path by
which a later task can change an earlier one's behaviour. The Hebbian trace starts at
zero with every sample (``reset``), as in the other experiments.

After each task the network is scored on the test split of every task seen so far
(float model); ``acc[i, j]`` is the accuracy on task ``j`` after training task ``i``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from glocal.golden import export, freeze
from glocal.golden import plots as _agg  # noqa: F401  (selects the Agg backend)
from glocal.golden.encode import Encoding
from glocal.golden.experiments import common
from glocal.golden.model import Net, Precision, Variant
from glocal.golden.train import encode_set, evaluate

__all__ = ["Settings", "Result", "permutation", "make_masks", "masked_net", "set_task",
           "run", "point", "chip_point", "table", "plots"]


@dataclass(frozen=True)
class Settings:
    """What to run. ``quick()`` is the small version the tests use."""

    data: str = "digits"
    data_dir: str | None = None
    seeds: tuple[int, ...] = (0, 1)
    variants: tuple[Variant, ...] = (Variant.GP, Variant.HP)
    tasks: int = 10
    #: Fraction of each layer's synapses in a task's mask; ``None``: ``1/tasks``.
    density: float | None = None
    hidden: int = 128
    steps: int = 8
    #: Per task. lr 3e-2: of 2e-3 / 1e-2 / 3e-2, the best on a validation split (a fifth
    #: of the training set) of the first task for GP and HP alike (docs/results.md);
    #: a sparse layer needs larger steps than the dense default.
    fit: common.FitSettings = field(
        default_factory=lambda: common.FitSettings(epochs=3, qat_epochs=0, lr=3e-2))
    progress: bool = True

    def __post_init__(self) -> None:
        if self.tasks < 1:
            raise ValueError(f"tasks must be at least 1, not {self.tasks}")
        if not 0 < self.mask_density <= 1:
            raise ValueError(f"density must be in (0, 1], not {self.density}")

    @property
    def mask_density(self) -> float:
        return 1.0 / self.tasks if self.density is None else self.density

    @classmethod
    def quick(cls, **kw) -> Settings:
        base = cls(seeds=(0,), tasks=3, hidden=32, steps=6,
                   fit=common.FitSettings(epochs=2, qat_epochs=0, batch=64, lr=3e-2))
        return replace(base, **kw)


def permutation(task: int, inputs: int, seed: int) -> np.ndarray:
    """Pixel order of ``task``: the identity for task 0, else a seeded permutation."""
    if task == 0:
        return np.arange(inputs)
    return np.random.default_rng([seed, task]).permutation(inputs)


def make_masks(shape: tuple[int, int], tasks: int, density: float,
               rng: np.random.Generator) -> np.ndarray:
    """``tasks`` binary masks of ``shape``, each with ``round(density·size)`` ones.

    Disjoint when ``density·tasks ≤ 1`` (the synapses are dealt out from one shuffle);
    otherwise each task draws its own subset independently.
    """
    size = int(np.prod(shape))
    k = int(round(density * size))
    if k < 1:
        raise ValueError(f"density {density} leaves no synapse of a {shape} layer in a mask; "
                         f"expected density ≥ {1 / size:.2g}")
    out = np.zeros((tasks, size), np.float32)
    if density * tasks <= 1 + 1e-9:
        order = rng.permutation(size)
        for t in range(tasks):
            out[t, order[t * k:(t + 1) * k]] = 1
    else:
        for t in range(tasks):
            out[t, rng.choice(size, k, replace=False)] = 1
    return out.reshape(tasks, *shape)


class _TaskMask(nn.Module):
    """Weight parametrization ``W⊙M_task``; ``task`` selects the mask."""

    def __init__(self, masks: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("masks", torch.from_numpy(masks))
        self.task = 0

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w * self.masks[self.task].to(w.dtype)


def masked_net(sizes: tuple[int, ...], variant: Variant, settings: Settings, seed: int
               ) -> Net:
    """A network whose layers' global weights are masked per task (see module doc)."""
    if len(sizes) != 3:
        raise ValueError(f"continual learning uses inputs, one hidden layer and classes, "
                         f"not sizes {sizes}")
    net = common.make_net(sizes, variant, settings.steps, seed)
    rng = np.random.default_rng([seed, 7])
    d = settings.mask_density
    for layer in (net.hidden[0], net.readout):
        with torch.no_grad():
            layer.weight.mul_(1 / np.sqrt(d))
            layer.bias.zero_()
        layer.bias.requires_grad_(False)
        masks = make_masks(tuple(layer.weight.shape), settings.tasks, d, rng)
        parametrize.register_parametrization(layer, "weight", _TaskMask(masks))
    set_task(net, 0)
    return net


def _mask(layer) -> _TaskMask:
    return layer.parametrizations.weight[0]


def set_task(net: Net, task: int) -> None:
    """Select task ``task``'s masks (and, for HP, the Hebbian mask ``1 − M``)."""
    for layer in (net.hidden[0], net.readout):
        _mask(layer).task = task
    hidden = net.hidden[0]
    if hidden.plastic:
        hidden.hebb_mask = 1 - _mask(hidden).masks[task]


def _originals(net: Net) -> list[torch.nn.Parameter]:
    return [layer.parametrizations.weight.original for layer in (net.hidden[0], net.readout)]


@dataclass
class Result:
    """``acc[variant]`` → array (seeds, tasks, tasks): accuracy on task ``j`` (last axis)
    after training task ``i`` (NaN for ``j > i``); ``average[variant]`` → (seeds, tasks):
    the mean over the tasks seen after each task."""

    settings: Settings
    acc: dict[str, np.ndarray]
    average: dict[str, np.ndarray]
    meta: dict[str, list[dict]]
    seconds: float
    test_samples: int


def run(settings: Settings) -> Result:
    """Train every variant on the task sequence, scoring all tasks seen after each one."""
    timer = common.Timer()
    torch.set_num_threads(1)
    ds = common.load_data(settings.data, settings.data_dir)
    sizes = (ds.inputs, settings.hidden, ds.classes)
    n_s, n_t = len(settings.seeds), settings.tasks
    acc = {v.value: np.full((n_s, n_t, n_t), np.nan) for v in settings.variants}
    meta: dict[str, list[dict]] = {v.value: [] for v in settings.variants}
    bar = common.progress(settings.progress)
    with bar:
        total = n_s * len(settings.variants) * n_t
        job = bar.add_task("continual", total=total, info="")
        for si, seed in enumerate(settings.seeds):
            perms = [permutation(t, ds.inputs, seed) for t in range(n_t)]
            tests = [encode_set(ds.x_test[:, p], Encoding.RATE, settings.steps, seed + 1)
                     for p in perms]
            for variant in settings.variants:
                net = masked_net(sizes, variant, settings, seed)
                for t in range(n_t):
                    set_task(net, t)
                    common.fit(net, ds.x_train[:, perms[t]], ds.y_train, settings.fit,
                               seed * 1000 + t, base=_originals(net), bar=bar,
                               label=f"{variant.value} seed {seed} task {t}")
                    for j in range(t + 1):
                        set_task(net, j)
                        acc[variant.value][si, t, j] = evaluate(net, tests[j], ds.y_test,
                                                                Precision.FLOAT, chunk=32)[0]
                    bar.update(job, advance=1, info=f"{variant.value} task {t}: avg "
                               f"{np.nanmean(acc[variant.value][si, t]):.3f}")
                if net.hidden[0].plastic:
                    h = net.hidden[0]
                    meta[variant.value].append({"alpha": h.alpha.item(),
                                                "beta_mean": h.beta.mean().item(),
                                                "eta_mean": h.eta.mean().item()})
    average = {v: np.nanmean(a, axis=2) for v, a in acc.items()}
    return Result(settings, acc, average, meta, timer.seconds, len(ds.y_test))


def chip_point(net: Net, task: int, x: np.ndarray, seed: int
               ) -> tuple[export.ChipModel, np.ndarray]:
    """The integer version of task ``task``'s network: the model and its input spikes.

    The global weights export as ``W⊙M_task``. HP's Hebbian mask ``1 − M_task`` becomes
    the hidden layer's per-synapse plasticity enables (:attr:`export.ChipLayer.plastic`,
    cores with ``plastic_mask``): with ``H`` reset to zero for every sample, the masked
    synapses' ``H`` stays zero, which is the float model's ``H⊙(1 − M)``.
    """
    set_task(net, task)
    chip = freeze.from_net(net, encoding=Encoding.RATE.value, hebb_mode="reset",
                           metadata={"experiment": "continual", "task": task, "seed": seed})
    perm = permutation(task, x.shape[-1], seed)
    xs = encode_set(np.ascontiguousarray(x[:, perm]), Encoding.RATE, net.spec.steps, seed + 1)
    return chip, xs.numpy().astype(np.int64)


def point(settings: Settings, seed: int, task: int, variant: Variant = Variant.GP
          ) -> tuple[export.ChipModel, np.ndarray, np.ndarray]:
    """Task ``task``'s ``variant`` network after training tasks ``0 … task`` as in
    :func:`run`, as a ChipModel (:func:`chip_point`), with its permuted test inputs as
    spikes and the labels."""
    ds = common.load_data(settings.data, settings.data_dir)
    net = masked_net((ds.inputs, settings.hidden, ds.classes), Variant(variant), settings,
                     seed)
    for t in range(task + 1):
        set_task(net, t)
        common.fit(net, ds.x_train[:, permutation(t, ds.inputs, seed)], ds.y_train,
                   settings.fit, seed * 1000 + t, base=_originals(net))
    chip, spikes = chip_point(net, task, ds.x_test, seed)
    return chip, spikes, ds.y_test


# -- presentation ------------------------------------------------------------------------

def table(r: Result) -> str:
    s = r.settings
    lines = [f"# Continual learning ({s.data}, {s.tasks} permuted tasks, mask density "
             f"{s.mask_density:.3g}, seeds {list(s.seeds)})", "",
             "Average accuracy (%) over the tasks seen after training each task, mean ± std "
             "over seeds (float model).", "",
             "| model | " + " | ".join(str(t + 1) for t in range(s.tasks)) + " |",
             "|---|" + "---|" * s.tasks]
    for v, a in r.average.items():
        m, sd = common.mean_std(100 * a)
        lines.append(f"| {v.upper()} | " + " | ".join(f"{x:.1f}±{y:.1f}" for x, y in
                                                      zip(m, sd, strict=True)) + " |")
    lines += ["", "Accuracy on task 1 after each task (forgetting):", "",
              "| model | " + " | ".join(str(t + 1) for t in range(s.tasks)) + " |",
              "|---|" + "---|" * s.tasks]
    for v, a in r.acc.items():
        m, sd = common.mean_std(100 * a[:, :, 0])
        lines.append(f"| {v.upper()} | " + " | ".join(f"{x:.1f}±{y:.1f}" for x, y in
                                                      zip(m, sd, strict=True)) + " |")
    lines += ["", f"Meta-parameters at the end: {r.meta}.", f"Total {r.seconds:.0f} s.", ""]
    return "\n".join(lines)


def plots(r: Result) -> list[tuple[str, Callable[[Path], None]]]:
    import matplotlib.pyplot as plt

    def draw(path):
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        x = np.arange(1, r.settings.tasks + 1)
        for n, (v, avg) in enumerate(r.average.items()):
            m, sd = common.mean_std(100 * avg)
            a.plot(x, m, marker="o", color=f"C{n}", label=v.upper())
            a.fill_between(x, m - sd, m + sd, color=f"C{n}", alpha=0.2)
            m0, _ = common.mean_std(100 * r.acc[v][:, :, 0])
            b.plot(x, m0, marker="o", color=f"C{n}", label=v.upper())
        a.set(xlabel="tasks trained", ylabel="average accuracy over seen tasks (%)",
              title="permuted tasks, per-task masks")
        b.set(xlabel="tasks trained", ylabel="accuracy on task 1 (%)", title="task 1")
        a.legend()
        b.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)

    return [("continual.png", draw)]
