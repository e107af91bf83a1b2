"""`glocal demo`: train, compile, load, and run on the native simulated multi-core chip.

1. Train the HP network on the embedded digits (or reuse ``out/models/digits-hp.npz``).
2. Run the whole test split through the integer reference network.
3. Compile the model for cores of `NEURONS` neurons (the hidden layer on one core, the
   readout on a second, a 1×2 mesh); save the chip image.
4. Build the native simulated chip for that mesh (:mod:`glocal.sim.native`, its host link
   a byte a cycle), load the image through the host driver over its ``socket://`` URL —
   the board path — and run the whole test split with on-chip plasticity on in the hidden
   core. Every output and every spike of every core at every step is compared with the
   chip-level reference (:func:`glocal.flows.compare.compare`).
5. Print one table; save a confusion matrix and a spike raster.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from glocal.firmware import image
from glocal.firmware.chip import Chip
from glocal.firmware.compiler import about, compile_model, describe
from glocal.firmware.driver import Device
from glocal.flows.compare import compare
from glocal.flows.run import digits_test_set, run_samples
from glocal.golden.export import ChipModel, load_model

__all__ = ["run_demo"]

MODEL = Path("out/models/digits-hp.npz")
#: Neurons per core of the demo's chip: the 128-neuron hidden layer fills one core, the
#: readout a second (a 1×2 mesh; the hidden spikes cross it as packets).
NEURONS = 128
#: Test samples of ``--quick``; the demo itself runs the whole split.
QUICK_SAMPLES = 20


def _model(console: Console, quick: bool) -> tuple[ChipModel, bool]:
    """The model, and whether it was trained now."""
    if MODEL.exists():
        console.print(f"reusing the trained model {MODEL} (delete it to retrain)")
        return load_model(MODEL), False
    from glocal.golden.train import TrainConfig, train

    console.print("training the HP network on digits (about a minute on 2 cores)")
    train(TrainConfig(model_path=str(MODEL), epochs=4 if quick else 12,
                      qat_epochs=1 if quick else 3))
    return load_model(MODEL), True


def _reference_accuracy(model: ChipModel, x: np.ndarray, y: np.ndarray):
    import torch

    from glocal.golden.train import evaluate_chip

    return evaluate_chip(model, torch.from_numpy(x.transpose(1, 0, 2).copy()), y)


def _plots(out: Path, y: np.ndarray, pred: np.ndarray, x0: np.ndarray, spikes0: np.ndarray,
           outputs0: np.ndarray, program) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conf = np.zeros((10, 10), dtype=int)
    np.add.at(conf, (y, pred), 1)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.imshow(conf, cmap="Blues")
    for i in range(10):
        for j in range(10):
            ax.text(j, i, str(conf[i, j]), ha="center", va="center", fontsize=7)
    ax.set(xlabel="predicted", ylabel="true", title="simulated chip, digits test split",
           xticks=range(10), yticks=range(10))
    fig.tight_layout()
    fig.savefig(out / "confusion.png", dpi=120)
    plt.close(fig)

    # The readout integrates and never fires: its panel shows the class scores instead.
    out_cores = {c for c, _ in program.outputs}
    used = [c for c, name in enumerate(program.names) if name and c not in out_cores]
    fig, axes = plt.subplots(2 + len(used), 1, figsize=(7, 3.5 + 1.6 * len(used)))
    panels = [(axes[0], x0, "input axons")]
    panels += [(axes[1 + k], spikes0[:, c], f"core {c}\n{program.names[c]}")
               for k, c in enumerate(used)]
    for ax, data, name in panels:
        t, n = np.nonzero(data)
        ax.scatter(t, n, s=4, marker="|")
        ax.set_ylabel(name, fontsize=8)
        ax.set_xlim(-0.5, len(data) - 0.5)
    axes[-2].set_xlabel("time step")
    axes[-1].bar(range(len(outputs0)), outputs0)
    axes[-1].set(xlabel="class", ylabel="readout membrane", xticks=range(len(outputs0)))
    fig.suptitle("spike raster of test sample 0 on the simulated chip")
    fig.tight_layout()
    fig.savefig(out / "raster.png", dpi=120)
    plt.close(fig)


def run_demo(out_dir: str | Path = "out/demo", quick: bool = False) -> int:
    from glocal.rtl.chip import Link
    from glocal.sim.native import NativeChip

    console = Console()
    t_start = time.monotonic()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model, trained = _model(console, quick)
    t_train = time.monotonic() - t_start
    info = about(model)
    x, y = digits_test_set(info)
    t0 = time.monotonic()
    int_acc, int_pred = _reference_accuracy(model, x, y)
    t_ref = time.monotonic() - t0

    program = compile_model(model, cfg=replace(model.cfg, neurons=NEURONS))
    img_path = image.save(program, out / "digits-hp.glimg", source=MODEL, about=info)
    console.print(f"compiled {MODEL} into {img_path}: {program.mesh.rows}×{program.mesh.cols} "
                  f"mesh of {program.cfg.axons}×{program.cfg.neurons} cores")
    for line in describe(program):
        console.print(f"  {line}")
    n = min(QUICK_SAMPLES, len(x)) if quick else len(x)
    keep_hebb = model.hebb_mode == "persist"
    console.print(f"building the native simulated chip ({program.mesh.cores} cores + mesh, "
                  "host link a byte a cycle; about a minute the first time, then cached)")
    t0 = time.monotonic()
    with NativeChip(program.cfg, program.mesh, link=Link.BYTES) as sim:
        t_build = time.monotonic() - t0
        with sim.transport() as link:
            dev = Device(link, cfg=program.cfg, mesh=program.mesh, timeout=120.0)
            chip = Chip(dev)
            t0 = time.monotonic()
            chip.load(img_path, skip_zeros=True)   # the simulation starts zeroed
            t_load = time.monotonic() - t0
            plastic = [c for c, p in enumerate(chip.program.cores) if p.regs.learn]
            c0, t0 = sim.cycles(), time.monotonic()
            with Progress(console=console) as bar:
                res = run_samples(chip, x[:n], keep_hebb=keep_hebb, bar=bar,
                                  what="test samples on the simulated chip")
            t_run = time.monotonic() - t0
            sim_cycles = (sim.cycles() - c0) / max(n, 1)
            wire = dev.stats
    t0 = time.monotonic()
    cmp = compare(chip.program, x[:n], res, keep_hebb=keep_hebb)
    t_cmp = time.monotonic() - t0

    md = model.metadata
    chip_acc = float((res.predictions == y[:n]).mean())
    table = Table(title="glocal demo: HP network on digits, compiled onto a "
                        f"{program.mesh.rows}×{program.mesh.cols} mesh")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row(f"float model test accuracy ({len(y)} samples)",
                  f"{100 * md['float_test_acc']:.2f} %")
    table.add_row(f"integer reference test accuracy ({len(y)})", f"{100 * int_acc:.2f} %")
    table.add_row(f"simulated chip accuracy ({n} samples)", f"{100 * chip_acc:.2f} %")
    table.add_row(f"integer reference on the same {n}",
                  f"{100 * float((int_pred[:n] == y[:n]).mean()):.2f} %")
    table.add_row("bit-exact agreement with golden/chip.run (every output and every "
                  "spike of every core, every step)",
                  f"{100 * cmp.agreement:.2f} % of {cmp.values} ({cmp.mismatches} differ)")
    table.add_row("samples bit-exact", f"{cmp.samples_exact} / {n}")
    table.add_row("on-chip plasticity on in", ", ".join(f"core {c}" for c in plastic) or "no core")
    table.add_row("chip cycles per sample: its steps (RUN answers)", f"{res.cycles.mean():.0f}")
    table.add_row("chip cycles per sample: all (restoring H, reading spikes, the link)",
                  f"{sim_cycles:.0f}")
    table.add_row("synaptic ops per sample (all cores)", f"{res.syn_ops.mean():.0f}")
    table.add_row("training", f"{t_train:.1f} s" if trained else f"none ({MODEL} reused)")
    table.add_row("native chip build (or reuse) and start", f"{t_build:.1f} s")
    table.add_row("image load over the simulated link", f"{t_load:.1f} s")
    table.add_row(f"{n} samples on the simulated chip",
                  f"{t_run:.1f} s ({1000 * t_run / max(n, 1):.0f} ms a sample)")
    table.add_row(f"chip-level reference of the {n} samples (comparison)", f"{t_cmp:.1f} s")
    table.add_row("host link efficiency (payload / wire bytes)", f"{wire.efficiency:.2f}")
    table.add_row("reference network, whole test split", f"{t_ref:.1f} s")
    table.add_row("demo wall time", f"{time.monotonic() - t_start:.0f} s")
    console.print(table)
    _plots(out, y[:n], res.predictions, x[0], res.spikes[0], res.outputs[0], program)
    (out / "demo.json").write_text(json.dumps({
        "float_test_acc": md["float_test_acc"], "int_test_acc": int_acc,
        "chip_samples": n, "chip_predictions": res.predictions.tolist(),
        "chip_accuracy": chip_acc, "agreement": cmp.agreement,
        "values_compared": cmp.values, "mismatches": cmp.mismatches,
        "samples_exact": cmp.samples_exact, "cycles_per_sample": float(res.cycles.mean()),
        "synops_per_sample": float(res.syn_ops.mean()),
        "simulated_cycles_per_sample": sim_cycles, "train_seconds": t_train if trained else None,
        "build_seconds": t_build,
        "load_seconds": t_load, "run_seconds": t_run, "compare_seconds": t_cmp,
        "image": str(img_path)}, indent=2))
    console.print(f"image, plots and results in {out}/")
    return 0 if cmp.mismatches == 0 else 1
