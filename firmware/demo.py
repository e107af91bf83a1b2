"""`glocal demo`: train, quantize, and run on the simulated chip, compared bit for bit.

1. Train the HP network on the embedded digits (or reuse ``out/models/digits-hp.npz``).
2. Run the whole test split through the integer reference network.
3. Run test samples through the Verilated chip, spoken to over its real UART by the host
   driver, with on-chip plasticity on: the hidden HP layer runs on the chip's core; the
   readout layer runs in the integer reference on the host (the chip has one core until
   the many-core mesh lands, so the host carries the one hop between the layers). After
   every step the chip's spikes and membranes are compared with the reference, and its
   Hebbian weights after every sample.
4. Print one table; save a confusion matrix and a spike raster.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from glocal.golden import network, reference
from glocal.golden.export import ChipModel, load_model
from glocal.golden.memmap import Region, register_values

__all__ = ["run_demo"]

MODEL = Path("out/models/digits-hp.npz")
#: Simulated UART: 4 clock cycles per bit, the fastest the UART supports.
SIM_DIVISOR = 4
#: Read back and compare every Hebbian weight after every this many samples (and the last).
HEBB_EVERY = 5


def _model(console: Console, quick: bool) -> ChipModel:
    if MODEL.exists():
        console.print(f"reusing the trained model {MODEL} (delete it to retrain)")
        return load_model(MODEL)
    from glocal.golden.train import TrainConfig, train

    console.print("training the HP network on digits (about 2 minutes on 2 cores)")
    train(TrainConfig(model_path=str(MODEL), epochs=4 if quick else 12,
                      qat_epochs=1 if quick else 3))
    return load_model(MODEL)


def _test_set(model: ChipModel):
    from glocal.golden.data import load_digits
    from glocal.golden.encode import Encoding
    from glocal.golden.train import encode_set

    ds = load_digits()
    xs = encode_set(ds.x_test, Encoding(model.encoding), model.steps,
                    seed=int(model.metadata.get("encoding_seed", 1)))
    return xs.numpy().astype(np.int64), ds.y_test


def _load_core(dev, model: ChipModel) -> None:
    """Write the hidden layer's parameters into core 0 (only the rows and columns used)."""
    layer, cfg = model.layers[0], model.cfg
    p = layer.params
    for i in range(layer.n_in):
        dev.write(0, Region.WEIGHT, i * cfg.neurons, p.weight[i, :layer.n_out].tolist())
    dev.write(0, Region.BIAS, 0, p.bias[:layer.n_out].tolist())
    dev.write(0, Region.THETA, 0, p.theta[:layer.n_out].tolist())
    dev.write(0, Region.BETA, 0, p.beta[:layer.n_in].tolist())
    dev.write(0, Region.P_TABLE, 0, p.p_table.tolist())
    for reg, value in register_values(p.regs).items():
        dev.write(0, Region.REGS, reg, [value])


def _chip_sample(dev, model: ChipModel, x: np.ndarray, states: list[reference.CoreState],
                 *, check_hebb: bool):
    """One sample: hidden layer on the chip, readout on the host; compared every step.

    The Hebbian weights are read back and compared at the end of the sample when
    ``check_hebb`` (reading 8k entries over the simulated UART costs more than the sample).

    Returns (prediction, mismatches, chip cycles, synaptic ops, new reference states,
    the chip's hidden spikes as (steps, neurons)).
    """
    cfg, hidden, readout = model.cfg, model.layers[0], model.layers[1]
    n_in, n_h = hidden.n_in, hidden.n_out
    mismatches = 0
    before = dev.counters(0)
    ref_h, ref_o = states
    chip_prev = np.zeros(cfg.axons, dtype=np.int64)
    raster = []
    for xt in x:
        axons = np.zeros(cfg.axons, dtype=np.int64)
        axons[:n_in] = xt
        dev.inject(0, axons.tolist())
        dev.run(1)
        s = np.array(dev.spikes(0))
        raster.append(s[:n_h])
        u = np.array(dev.read(0, Region.U, 0, n_h))
        # The reference: the same two cores, one hop per step (golden/network.py).
        ref_o = reference.step(cfg, readout.params, ref_o, chip_prev)
        ref_h = reference.step(cfg, hidden.params, ref_h, axons)
        mismatches += int((s != ref_h.s).sum()) + int((u != ref_h.u[:n_h]).sum())
        chip_prev = np.zeros(cfg.axons, dtype=np.int64)
        chip_prev[:n_h] = s[:n_h]
    if check_hebb:
        for i in range(n_in):
            row = np.array(dev.read(0, Region.HEBB, i * cfg.neurons, n_h))
            mismatches += int((row != ref_h.hebb[i, :n_h]).sum())
    after = dev.counters(0)
    pred = int(ref_o.u[:readout.n_out].argmax())
    return (pred, mismatches, after["cyc_step"] - before["cyc_step"],
            after["syn_ops"] - before["syn_ops"], [ref_h, ref_o], np.array(raster))


def _plots(out: Path, y: np.ndarray, pred: np.ndarray, x0: np.ndarray, spikes0: np.ndarray):
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
    ax.set(xlabel="predicted", ylabel="true", title="integer reference, digits test split",
           xticks=range(10), yticks=range(10))
    fig.tight_layout()
    fig.savefig(out / "confusion.png", dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    panels = ((axes[0], x0, "input axons"), (axes[1], spikes0, "hidden neurons (chip)"))
    for ax, data, name in panels:
        t, n = np.nonzero(data)
        ax.scatter(t, n, s=4, marker="|")
        ax.set_ylabel(name)
    axes[1].set_xlabel("time step")
    fig.suptitle("spike raster of test sample 0 on the simulated chip")
    fig.tight_layout()
    fig.savefig(out / "raster.png", dpi=120)
    plt.close(fig)


def run_demo(out_dir: str | Path = "out/demo", quick: bool = False) -> int:
    from glocal.firmware.driver import Device
    from glocal.firmware.transport import SimTransport
    from glocal.rtl.chip import Chip

    console = Console()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = _model(console, quick)
    if len(model.layers) != 2:
        raise SystemExit(f"the demo maps a hidden layer and a readout; {MODEL} has "
                         f"{len(model.layers)} layers")
    xs, y = _test_set(model)
    t0 = time.monotonic()
    int_acc_all, int_pred = _reference_accuracy(model, xs, y)
    t_ref = time.monotonic() - t0

    n_chip = 3 if quick else 20
    clk = 1e6 * SIM_DIVISOR  # a nominal clock: UART divisor = clk / baud = SIM_DIVISOR
    console.print("building the Verilated chip (host UART + one "
                  f"{model.cfg.axons}x{model.cfg.neurons} core; about a minute)")
    chip = Chip(cfg=model.cfg, clk_freq=clk, baud=1e6)
    link = SimTransport(chip, divisor=SIM_DIVISOR, build_dir=Path("build/demo_chip"))
    preds, mismatches, cycles, synops = [], 0, [], []
    raster0 = None
    hebb_checked = 0
    try:
        dev = Device(link, cfg=model.cfg, mesh=chip.mesh, timeout=120.0)
        _load_core(dev, model)
        states = network.zero_states(model)
        with Progress(console=console) as bar:
            task = bar.add_task("test samples on the simulated chip", total=n_chip)
            for k in range(n_chip):
                dev.reset_state(neurons=True, plastic=model.hebb_mode == "reset")
                states = (network.zero_states(model) if model.hebb_mode == "reset"
                          else network.next_sample(states))
                check = k % HEBB_EVERY == 0 or k == n_chip - 1
                hebb_checked += check
                pred, bad, cyc, ops, states, raster = _chip_sample(dev, model, xs[:, k], states,
                                                                   check_hebb=check)
                preds.append(pred)
                mismatches += bad
                cycles.append(cyc)
                synops.append(ops)
                if k == 0:
                    raster0 = raster
                bar.advance(task)
            wire = dev.stats
    finally:
        link.close()
    chip_pred = np.array(preds)
    agree = float((chip_pred == int_pred[:n_chip]).mean())

    table = Table(title="glocal demo: HP network on digits")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    md = model.metadata
    table.add_row("float model test accuracy (360 samples)", f"{100 * md['float_test_acc']:.2f} %")
    table.add_row("integer reference test accuracy (360)", f"{100 * int_acc_all:.2f} %")
    table.add_row(f"simulated chip accuracy ({n_chip} samples)",
                  f"{100 * float((chip_pred == y[:n_chip]).mean()):.2f} %")
    table.add_row(f"integer reference on the same {n_chip}",
                  f"{100 * float((int_pred[:n_chip] == y[:n_chip]).mean()):.2f} %")
    table.add_row("chip = reference: predictions", f"{100 * agree:.1f} %")
    table.add_row(f"chip = reference: spikes and membranes every step, H after "
                  f"{hebb_checked} samples (mismatches)", str(mismatches))
    table.add_row("chip cycles per sample (hidden core)", f"{np.mean(cycles):.0f}")
    table.add_row("synaptic ops per sample (hidden core)", f"{np.mean(synops):.0f}")
    table.add_row("host link efficiency (payload / wire bytes)", f"{wire.efficiency:.2f}")
    table.add_row("reference model, whole test split", f"{t_ref:.1f} s")
    console.print(table)
    _plots(out, y, int_pred, xs[:, 0, :model.layers[0].n_in], raster0)
    (out / "demo.json").write_text(json.dumps({
        "float_test_acc": md["float_test_acc"], "int_test_acc": int_acc_all,
        "chip_samples": n_chip, "chip_predictions": chip_pred.tolist(),
        "chip_reference_agreement": agree, "mismatches": mismatches,
        "cycles_per_sample": float(np.mean(cycles)),
        "synops_per_sample": float(np.mean(synops))}, indent=2))
    console.print(f"plots and results in {out}/")
    return 0 if mismatches == 0 and agree == 1.0 else 1


def _reference_accuracy(model: ChipModel, xs: np.ndarray, y: np.ndarray):
    import torch

    from glocal.golden.train import evaluate_chip

    return evaluate_chip(model, torch.from_numpy(xs), y)
