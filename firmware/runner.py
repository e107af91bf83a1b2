"""`glocal compile` and `glocal run`: model file → image file → a chip, checked against the
chip-level reference.

`run_image` runs test samples of the embedded digits through a chip (the Verilated RTL
or a board on a serial port) with the host driver, and compares every output and every
spike with :func:`glocal.golden.chip.run` of the image's program, sample by sample.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from glocal.firmware import image
from glocal.firmware.chip import Chip, Results
from glocal.firmware.compiler import compile_model, describe
from glocal.firmware.driver import Device
from glocal.golden import chip as golden_chip
from glocal.golden.chip import Program
from glocal.golden.export import ChipModel, load_model
from glocal.golden.noc import Mesh

__all__ = ["SIM_DIVISOR", "parse_mesh", "about", "compile_file", "digits_test_set",
           "open_sim", "Comparison", "compare", "run_image"]

#: Simulated UART: 4 clock cycles per bit, the fastest the UART supports.
SIM_DIVISOR = 4


def parse_mesh(text: str) -> Mesh:
    """``"RxC"`` (rows × columns) as a `Mesh` with the default table sizes."""
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"mesh must be ROWSxCOLS such as 2x2, not {text!r}") from None
    return Mesh(rows, cols)


def about(model: ChipModel) -> dict:
    """What running an image of ``model`` needs to know (stored in the image)."""
    return {"steps": model.steps, "encoding": model.encoding, "hebb_mode": model.hebb_mode,
            "sizes": list(model.sizes), "metadata": model.metadata}


def compile_file(model_path, out, *, mesh: Mesh | None = None, neurons: int | None = None
                 ) -> Program:
    """Compile the model file ``model_path`` into the image file ``out``.

    ``neurons`` chooses smaller (or larger) target cores than the model's.
    """
    model = load_model(model_path)
    cfg = model.cfg if neurons is None else replace(model.cfg, neurons=neurons)
    program = compile_model(model, cfg=cfg, mesh=mesh)
    image.save(program, out, source=model_path, about=about(model))
    return program


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


def open_sim(program: Program, build_dir: Path = Path("build/chip"), *, timeout: float = 120.0):
    """The Verilated chip for ``program``'s cores and mesh, with a `Device` on its UART.

    Returns ``(device, transport)``; close the transport to end the simulation.
    """
    from glocal.firmware.transport import SimTransport
    from glocal.rtl.chip import Chip as RtlChip

    clk = 1e6 * SIM_DIVISOR   # a nominal clock: UART divisor = clk / baud = SIM_DIVISOR
    rtl = RtlChip(cfg=program.cfg, mesh=program.mesh, clk_freq=clk, baud=1e6)
    link = SimTransport(rtl, divisor=SIM_DIVISOR, build_dir=Path(build_dir))
    return Device(link, cfg=program.cfg, mesh=program.mesh, timeout=timeout), link


@dataclass(frozen=True)
class Comparison:
    """A chip run against the reference.

    Members
    -------
    samples_exact : int
        Samples whose outputs and spikes all equal the reference's.
    values, mismatches : int
        Values compared (outputs, and every core's spikes every step when traced) and
        how many differ.
    predictions_equal : int
        Samples whose prediction equals the reference's.
    reference : list of ChipRun
        The reference runs.
    """

    samples_exact: int
    values: int
    mismatches: int
    predictions_equal: int
    reference: list

    @property
    def agreement(self) -> float:
        """Fraction of compared values that are equal."""
        return 1.0 - self.mismatches / self.values if self.values else 0.0


def compare(program: Program, x: np.ndarray, results: Results, *, keep_hebb: bool
            ) -> Comparison:
    """Run ``x`` (samples, steps, inputs) through :func:`glocal.golden.chip.run` of
    ``program`` (Hebbian state carried over when ``keep_hebb``) and compare ``results``."""
    states, refs = None, []
    exact = values = mismatches = same_pred = 0
    for s in range(len(x)):
        ref = golden_chip.run(program, x[s], states)
        states = golden_chip.next_sample(ref.states) if keep_hebb else None
        refs.append(ref)
        bad = int((results.outputs[s] != ref.output).sum())
        values += ref.output.size
        if results.spikes is not None:
            bad += int((results.spikes[s] != ref.spikes).sum())
            values += ref.spikes.size
        mismatches += bad
        exact += bad == 0
        same_pred += int(results.predictions[s]) == ref.prediction
    return Comparison(exact, values, mismatches, same_pred, refs)


def run_image(path, *, port: str, sim: bool = False, baud: int | None = None,
              samples: int = 20, timeout: float | None = None) -> int:
    """`glocal run`: the image's test samples through a chip; prints accuracy, agreement
    with the reference and costs. Returns 0 if every value agreed.

    ``port`` is a serial device or any pyserial URL (``socket://host:port`` reaches a
    board behind a TCP bridge, or the native simulated chip, :mod:`glocal.sim.native`,
    which the CLI starts for ``--sim``). ``sim`` says the chip is a fresh simulation (its
    memories start zeroed, so zeros are not sent); ``timeout`` is the wait for each
    answer, 5 s on a board and 120 s in the simulator by default."""
    from rich.console import Console
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
    from glocal.firmware.transport import SerialTransport
    from glocal.rtl.chip import DEFAULT_BAUD  # (an import firmware/ had before)

    baud = baud or DEFAULT_BAUD
    link = SerialTransport(port, baud=baud)
    dev = Device(link, cfg=program.cfg, mesh=program.mesh, baud=None if sim else baud,
                 timeout=timeout or (120.0 if sim else 5.0))
    keep_hebb = info.get("hebb_mode") == "persist"
    t0 = time.monotonic()
    try:
        chip = Chip(dev)
        chip.load(path, skip_zeros=sim)   # a simulation starts with zeroed memories
        t_load = time.monotonic() - t0
        results = chip.run(x, keep_hebb=keep_hebb)
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
