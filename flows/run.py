"""`glocal run`: an image file's digits test samples through a chip, checked against the
chip-level reference.

`run_image` runs test samples of the embedded digits through a chip (a board on a serial
port, or anything behind a pyserial URL) with the host driver, and compares every output
and every spike with :func:`glocal.golden.chip.run` of the image's program, sample by
sample (:func:`glocal.flows.compare.compare`). `run_sim` first starts the native
simulated chip (:mod:`glocal.sim.native`) for the image and reaches it the same way, on
its ``socket://`` URL.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from glocal.firmware import image
from glocal.firmware.chip import Chip, Results
from glocal.firmware.compiler import describe
from glocal.firmware.driver import Device
from glocal.firmware.transport import SerialTransport
from glocal.flows.compare import compare
from glocal.golden import hostproto as hp

__all__ = ["digits_test_set", "run_samples", "run_image", "run_sim"]


def digits_test_set(info: dict, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The embedded digits' test split encoded as the model was evaluated:
    spikes (samples, steps, inputs) and labels, the first ``count`` samples."""
    from glocal.golden.data import load_digits
    from glocal.golden.encode import Encoding
    from glocal.golden.train import encode_set

    ds = load_digits()
    # The whole split is encoded at once, as training evaluated it: one seeded draw.
    xs = encode_set(ds.x_test, Encoding(info["encoding"]), info["steps"],
                    seed=int(info["metadata"].get("encoding_seed", 1)))
    n = len(ds.y_test) if count is None else min(count, len(ds.y_test))
    return xs.numpy().astype(np.int64).transpose(1, 0, 2)[:n], ds.y_test[:n]


def run_samples(chip: Chip, x: np.ndarray, *, keep_hebb: bool, bar=None,
                what: str = "samples on the chip") -> Results:
    """`Chip.run` of ``x`` (samples, steps, inputs), one sample a call so that ``bar`` (a
    `rich.progress.Progress`, optional) advances per sample; every core's spikes kept.

    The same frames as one call for all samples, but for a read of the cores' ``SYN_OPS``
    counters per call."""
    task = bar.add_task(what, total=len(x)) if bar is not None else None
    parts = []
    for s in range(len(x)):
        parts.append(chip.run(x[s:s + 1], keep_hebb=keep_hebb))
        if bar is not None:
            bar.advance(task)
    if not parts:
        return chip.run(x, keep_hebb=keep_hebb)
    return Results(**{f: np.concatenate([getattr(p, f) for p in parts])
                      for f in ("outputs", "predictions", "cycles", "syn_ops", "spikes")})


def run_image(path, *, port: str, sim: bool = False, baud: int | None = None,
              samples: int = 20, timeout: float | None = None, progress: bool = True) -> int:
    """`glocal run`: the image's test samples through a chip; prints accuracy, agreement
    with the reference and costs. Returns 0 if every value agreed.

    ``port`` is a serial device or any pyserial URL (``socket://host:port`` reaches a
    board behind a TCP bridge, or the native simulated chip: `run_sim`). ``sim`` says the
    chip is a fresh simulation (its memories start zeroed, so zeros are not sent);
    ``timeout`` is the wait for each answer, 5 s on a board and 120 s in the simulator by
    default."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    console = Console()
    img = image.read(path)
    program, info = img.program, img.about
    missing = [k for k in ("steps", "encoding") if k not in info]
    if missing:
        raise ValueError(f"{path} has no run settings ({', '.join(missing)} missing from its "
                         "manifest's 'about'); images written by `glocal compile` carry them")
    if info.get("metadata", {}).get("data", "digits") != "digits":
        raise SystemExit(f"{path} was trained on {info['metadata']['data']!r}; `glocal run` "
                         "feeds it the embedded digits")
    x, y = digits_test_set(info, samples)
    if x.shape[2] != len(program.inputs):
        raise SystemExit(f"{path} takes {len(program.inputs)} inputs; digits have {x.shape[2]}")
    for line in describe(program):
        console.print(line)
    baud = baud or hp.DEFAULT_BAUD
    link = SerialTransport(port, baud=baud)
    dev = Device(link, cfg=program.cfg, mesh=program.mesh, baud=None if sim else baud,
                 timeout=timeout or (120.0 if sim else 5.0))
    keep_hebb = info.get("hebb_mode") == "persist"
    t0 = time.monotonic()
    try:
        chip = Chip(dev)
        chip.load(path, skip_zeros=sim)   # a simulation starts with zeroed memories
        t_load = time.monotonic() - t0
        with Progress(console=console, disable=not progress) as bar:
            results = run_samples(chip, x, keep_hebb=keep_hebb, bar=bar,
                                  what="test samples on the chip")
        t_run = time.monotonic() - t0 - t_load
    finally:
        link.close()
    cmp = compare(chip.program, x, results, keep_hebb=keep_hebb)
    table = Table(title=f"{Path(path).name} on the {'simulated' if sim else 'board'} chip")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    n = len(x)
    table.add_row(f"chip accuracy ({n} digits test samples)",
                  f"{100 * float((results.predictions == y).mean()):.2f} %")
    table.add_row("reference accuracy, same samples",
                  f"{100 * float(np.mean([r.prediction for r in cmp.reference] == y)):.2f} %")
    table.add_row("bit-exact values (outputs + every spike)",
                  f"{100 * cmp.agreement:.2f} % of {cmp.values}")
    table.add_row("bit-exact samples", f"{cmp.samples_exact} / {n}")
    table.add_row("cycles per sample", f"{results.cycles.mean():.0f}")
    table.add_row("synaptic ops per sample", f"{results.syn_ops.mean():.0f}")
    table.add_row("load / run wall time", f"{t_load:.1f} s / {t_run:.1f} s")
    console.print(table)
    return 0 if cmp.mismatches == 0 else 1


def run_sim(path, *, samples: int = 20, timeout: float | None = None,
            root: Path | None = None, progress: bool = True) -> int:
    """`glocal run --sim`: `run_image` on a native simulated chip built for the image
    (its host link a byte a cycle, `glocal.rtl.chip.Link.BYTES`), reached through its
    ``socket://`` URL as a board would be."""
    from glocal.rtl.chip import Link
    from glocal.sim.native import for_image

    print(f"starting the native simulated chip for {path} (built once per configuration)",
          flush=True)
    with for_image(path, root=root, link=Link.BYTES) as sim:
        return run_image(path, port=sim.url, sim=True, samples=samples, timeout=timeout,
                         progress=progress)
