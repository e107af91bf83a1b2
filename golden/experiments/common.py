"""What the three experiments share: training on arrays, statistics, output files.

Every experiment is a pure function ``run(settings) -> Result`` (a dataclass) plus a
``chip_point(...)`` that yields the integer-reference version of one point (a
:class:`~glocal.golden.export.ChipModel` or core parameters and the input spikes), which
is what an on-chip backend will run. The CLI and the plots are a thin layer on top
(:func:`write_outputs`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rich.progress import Progress, TextColumn

from glocal.golden import data as datasets
from glocal.golden.encode import Encoding, encode
from glocal.golden.model import Net, NetSpec, Precision, Variant
from glocal.golden.train import TrainConfig, _core_config, meta_batch, update

__all__ = ["FitSettings", "fit", "make_net", "load_data", "mean_std", "progress",
           "write_outputs", "jsonable", "Timer"]


@dataclass(frozen=True)
class FitSettings:
    """Two-phase training settings; the defaults are ``glocal train``'s (one place)."""

    epochs: int = TrainConfig.epochs
    qat_epochs: int = TrainConfig.qat_epochs
    batch: int = TrainConfig.batch
    lr: float = TrainConfig.lr
    meta_lr: float = TrainConfig.meta_lr
    meta_split: float = TrainConfig.meta_split

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, not {self.epochs}")
        if not 0 <= self.qat_epochs <= self.epochs:
            raise ValueError(f"qat_epochs must be in [0, epochs={self.epochs}], "
                             f"not {self.qat_epochs}")
        if not 0 <= self.meta_split < 1:
            raise ValueError(f"meta_split must be in [0, 1), not {self.meta_split}")


def make_net(sizes: tuple[int, ...], variant: Variant, steps: int, seed: int,
             **spec_kw) -> Net:
    """A fresh network on the smallest core that holds it, initialised from ``seed``."""
    torch.manual_seed(seed)
    spec = NetSpec(sizes=tuple(sizes), variant=variant, steps=steps,
                   cfg=_core_config(tuple(sizes)), **spec_kw)
    return Net(spec)


def fit(net: Net, x: np.ndarray, y: np.ndarray, settings: FitSettings, seed: int, *,
        base: Sequence[torch.nn.Parameter] | None = None,
        meta: Sequence[torch.nn.Parameter] | None = None,
        bar: Progress | None = None, label: str = "train") -> Net:
    """Train ``net`` on intensities ``x`` (samples, inputs), labels ``y``, as ``glocal train``.

    Each batch: Adam on the base parameters with a training batch, then Adam on the
    meta-parameters with a batch of the held-out meta split (``settings.meta_split`` of
    the samples). The last ``qat_epochs`` epochs run the QAT forward pass. Inputs are
    rate-encoded afresh for every batch from a generator seeded by ``seed``.

    Parameters
    ----------
    base, meta : sequence of Parameter, optional
        What each optimizer trains (default: the network's own lists); the continual
        experiment passes the masked weights' originals here.
    """
    steps = net.spec.steps
    base = list(net.base_parameters() if base is None else base)
    meta = list(net.meta_parameters() if meta is None else meta)
    base_opt = torch.optim.Adam(base, lr=settings.lr)
    meta_opt = torch.optim.Adam(meta, lr=settings.meta_lr) if meta else None
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(base_opt, settings.epochs)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    k = int(round(len(y) * settings.meta_split)) if meta_opt else 0
    tr_idx, meta_idx = perm[k:], perm[:k]
    if meta_opt is not None and not len(meta_idx):
        meta_idx = tr_idx
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)
    task = bar.add_task(label, total=settings.epochs, info="") if bar else None
    net.train()
    for epoch in range(settings.epochs):
        precision = (Precision.QAT if epoch >= settings.epochs - settings.qat_epochs
                     else Precision.FLOAT)
        order = rng.permutation(tr_idx)
        meta_order = rng.permutation(meta_idx)
        n_batches = max(1, len(order) // settings.batch)
        for b in range(n_batches):
            idx = order[b * settings.batch:(b + 1) * settings.batch]
            out = net(encode(xt[idx], Encoding.RATE, steps, gen), precision)
            loss = F.cross_entropy(out.logits, yt[idx])
            update(loss, base_opt, meta_opt)
            if meta_opt:
                midx = meta_batch(meta_order, b, settings.batch)
                mout = net(encode(xt[midx], Encoding.RATE, steps, gen), precision)
                update(F.cross_entropy(mout.logits, yt[midx]), base_opt, meta_opt, meta=True)
        sched.step()
        if bar is not None:
            bar.update(task, advance=1, info=f"loss {loss.detach().item():.3f}")
    if bar is not None:
        bar.remove_task(task)
    return net.eval()


def load_data(name: str, data_dir: str | None) -> datasets.Dataset:
    """A data set by name (``digits`` embedded; the others from a local folder)."""
    ds = datasets.load_dataset(name, data_dir)
    if ds.events:
        raise datasets.DataError(f"data set {name!r} is event frames; the experiments "
                                 f"corrupt and permute intensities, expected digits, mnist "
                                 f"or fashion")
    return ds


def mean_std(values: Sequence[float] | np.ndarray, axis: int = 0) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """Mean and population standard deviation over ``axis`` (the seeds)."""
    a = np.asarray(values, dtype=np.float64)
    return a.mean(axis), a.std(axis)


def progress(enabled: bool) -> Progress:
    """The rich progress display every experiment uses (disabled: silent)."""
    return Progress(*Progress.get_default_columns(), TextColumn("{task.fields[info]}"),
                    disable=not enabled)


class Timer:
    """Wall-clock seconds since construction."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


def jsonable(obj):
    """Dataclasses, enums, numpy arrays and scalars as plain JSON values."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if hasattr(obj, "value") and not isinstance(obj, (int, float, str)):
        return obj.value
    return obj


def write_outputs(out_dir, name: str, result, table: str,
                  plots: Sequence[tuple[str, Callable[[Path], None]]]) -> list[Path]:
    """Write ``<name>.json`` (the result), ``<name>.md`` (the table) and the plots.

    ``plots`` pairs a file name with a function that draws into that path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.json", out / f"{name}.md"]
    paths[0].write_text(json.dumps(jsonable(result), indent=1))
    paths[1].write_text(table)
    for fname, draw in plots:
        draw(out / fname)
        paths.append(out / fname)
    return paths

