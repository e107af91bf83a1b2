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
from dataclasses import fields, is_dataclass, replace
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress, TextColumn

from glocal.golden import data as datasets
from glocal.golden.model import Net, NetSpec, Variant
from glocal.golden.train import FitSettings, _core_config, fit

__all__ = ["FitSettings", "fit", "make_net", "load_data", "mean_std", "progress",
           "write_outputs", "merge_claims", "jsonable", "Timer"]


def make_net(sizes: tuple[int, ...], variant: Variant, steps: int, seed: int,
             core: dict | None = None, **spec_kw) -> Net:
    """A fresh network on the smallest core that holds it (with the ``core`` fields
    changed), initialised from ``seed``."""
    torch.manual_seed(seed)
    cfg = replace(_core_config(tuple(sizes)), **(core or {}))
    spec = NetSpec(sizes=tuple(sizes), variant=variant, steps=steps, cfg=cfg, **spec_kw)
    return Net(spec)


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



def merge_claims(path, entry: dict) -> Path:
    """Merge ``entry`` (``{experiment: {data: {...}}}``) into the summary file at ``path``
    (``docs/results/claims.json``), keeping what other runs wrote; returns the path."""
    path = Path(path)
    claims = json.loads(path.read_text()) if path.is_file() else {}
    for experiment, by_data in entry.items():
        claims.setdefault(experiment, {}).update(by_data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(claims, indent=1, sort_keys=True) + "\n")
    return path
