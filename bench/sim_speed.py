"""Simulated chip speed: ``python bench/sim_speed.py [--json FILE] [--sweep]``.

Chip clock cycles per wall-clock second of the native simulator (`glocal.sim.native`:
Verilator + a C++ main, the UART bridged to TCP, reached with `SerialTransport` like a
board) beside the cocotb path (`SimTransport`, as ``bench/host_link.py`` measures it), in
one run, for chips of ``--axons``×``--neurons`` cores (default 256×128, 8 lanes):

- ``1x1``, ``2x2``: *running*. A compiled random network (one layer per core, 1×1: one
  plastic layer; 2×2: four layers routed core to core) is loaded, then run sample by
  sample for about ``--seconds``: a sample's first-step input spikes injected (one WRITE
  of AXON per core), then RUN 8 steps. Cycles are the simulator's own clock count (it
  answers SIGUSR1) over the wall time, the frames' time on the wire included (the chip's
  clock runs while bytes shift; it stops only when the chip and the link are idle).
- ``1x1_loading``: the one-core chip while the driver loads that image over the link
  (every region written, zeros included, then the RESET that clears the state). Also
  printed, for the image and for a bare 256×128 int8 ``W``: the share of the chip's
  cycles the wire was busy (wire bytes × 10 × divisor / cycles; the rest is the chip
  executing the writes and the RESET) and the byte rate against the wire's at the
  running clock rate.
- ``cocotb_1x1``: the one-core chip under cocotb (``SimTransport``), memories as reset,
  run the same way for about ``--seconds``.
- ``1x1_bytes``, ``1x1_loading_bytes``: the one-core chip again, built with the bytes link
  (`glocal.rtl.chip.Link.BYTES`: the same frames and host interpreter, a byte a cycle
  instead of 10 × divisor cycles), measured as ``1x1`` and ``1x1_loading`` in the same run.
  A table sets the two links side by side: wall time and link bytes per second of loading
  W and the image, steps per second running, and bytes over UART as a ratio.

``--sweep`` also builds and measures the Verilator options one at a time against the
defaults (`glocal.sim.native.Options`): each row changes one option; ``--threads 2`` is
measured on the 2×2 chip. ``--json FILE`` writes
``{"1x1": …, "2x2": …, "1x1_loading": …, "cocotb_1x1": …, "1x1_bytes": …,
"1x1_loading_bytes": …}`` (chip cycles per second) and ``"bytes_over_uart"``: the bytes
link's figures over the UART's (loading wall time as a speed-up, link bytes per second,
steps per second).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np
from rich.console import Console
from rich.table import Table

from glocal.firmware.chip import Chip as Driver
from glocal.firmware.compiler import compile_model
from glocal.firmware.driver import Device, DeviceError
from glocal.firmware.transport import TransportError
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Region
from glocal.golden.noc import Mesh
from glocal.rtl.chip import Link
from glocal.sim.native import DIVISOR, NativeChip, Options, build
from glocal.sim.networks import random_inputs, random_model

#: Time steps of a sample: a RUN of this many steps follows each injection.
STEPS = 8


def _network(cfg: CoreConfig, mesh: Mesh, seed: int = 1):
    """A random network that fills ``mesh`` (one layer per core, the last a readout),
    compiled for it, and one input sample."""
    rng = np.random.default_rng(seed)
    layers = mesh.cores
    sizes = [cfg.axons] + [cfg.neurons] * (layers - 1) + [min(10, cfg.neurons)]
    if layers == 1:
        sizes = [cfg.axons, cfg.neurons]
    model = random_model(cfg, sizes, rng, steps=STEPS, readout=layers > 1)
    return compile_model(model, mesh=mesh), random_inputs(model, rng, 1, rate=0.3)


def _running(dev: Device, inputs, seconds: float, sample_steps: int) -> int:
    """RUN the loaded network sample by sample for about ``seconds``: each sample's first
    step's input spikes injected (one WRITE of AXON per core), then RUN ``sample_steps``.
    Returns the steps run."""
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for c, spikes in enumerate(inputs):
            dev.inject(c, spikes)
        dev.run(sample_steps, timeout=600.0)
        steps += sample_steps
    return steps


def cycles_per_byte(link: Link) -> int:
    """Clock cycles a byte occupies the host link: an 8N1 character, or one cycle."""
    return 10 * DIVISOR if link is Link.UART else 1


def native(cfg: CoreConfig, mesh: Mesh | None, *, seconds: float,
           options: Options | None = None, loading: bool = False,
           host_link: Link = Link.UART) -> dict:
    """Running (and, with ``loading``, loading) speed of the native chip."""
    per_byte = cycles_per_byte(host_link)
    with (NativeChip(cfg, mesh, options=options or Options(), link=host_link) as sim,
          sim.transport() as link):
        dev = Device(link, cfg=cfg, mesh=sim.mesh, timeout=60.0)
        dev.check()
        program, x = _network(cfg, sim.mesh)
        out = {}

        def measure(name, action):
            dev.stats.reset()
            c0, t0 = sim.cycles(), time.perf_counter()
            got = action()
            wall, cycles = time.perf_counter() - t0, sim.cycles() - c0
            wire = dev.stats.wire
            out[name] = {"cycles": cycles, "wall": wall, "rate": cycles / wall, "wire": wire,
                         "link_share": wire * per_byte / cycles}
            return got

        if loading:
            weights = np.random.default_rng(2).integers(-128, 128, cfg.axons * cfg.neurons)
            measure("load_w", lambda: dev.write(0, Region.WEIGHT, 0, weights.tolist()))
        measure("load", lambda: Driver(dev).load(program))
        inputs = [b.tolist() for b in program.input_bitmap(x[0, 0])]
        steps = measure("run", lambda: _running(dev, inputs, seconds, STEPS))
        out["run"] |= {"steps": steps, "cycles_per_step": out["run"]["cycles"] / steps}
    return out


def cocotb(cfg: CoreConfig, *, seconds: float) -> dict:
    """The one-core chip under cocotb (`SimTransport`), its memories as reset (loading an
    image over the cocotb link would take a minute), run as `native` runs it. Cycles are
    the RUNs' own counts plus 10 × divisor per wire byte (the simulator's clock count is
    not reachable through cocotb's bridge)."""
    from glocal.rtl.chip import Chip
    from glocal.sim.cocotb_link import SimTransport
    from glocal.sim.toolchain import build_root

    top = Chip(cfg=cfg, clk_freq=1e6 * DIVISOR, baud=1e6)
    tag = f"bench_sim_speed_cocotb_a{cfg.axons}n{cfg.neurons}l{cfg.lanes}"
    with SimTransport(top, divisor=DIVISOR, build_dir=build_root() / tag) as link:
        dev = Device(link, cfg=cfg, mesh=top.mesh, timeout=60.0)
        dev.check()
        program, x = _network(cfg, top.mesh)
        inputs = [b.tolist() for b in program.input_bitmap(x[0, 0])]
        cycles, steps, t0 = 0, 0, time.perf_counter()
        dev.stats.reset()
        while time.perf_counter() - t0 < seconds:
            for c, spikes in enumerate(inputs):
                dev.inject(c, spikes)
            cycles += dev.run(STEPS, timeout=600.0)
            steps += STEPS
        wall = time.perf_counter() - t0
        # The RUNs' own cycles, plus the cycles the UART needed for the frames' bytes.
        cycles += dev.stats.wire * 10 * DIVISOR
    return {"cycles": cycles, "wall": wall, "rate": cycles / wall, "steps": steps}


def links(cfg: CoreConfig, uart: dict, fast: dict, console: Console) -> dict:
    """The 1×1 chip over the UART and over the bytes link, side by side; returns the bytes
    link's figures over the UART's (loading: wall time as a speed-up; link B/s; steps/s)."""
    table = Table(title=f"host link, 1×1 {cfg.axons}×{cfg.neurons} chip: UART "
                        f"({cycles_per_byte(Link.UART)} cycles/byte) against bytes (1)")
    for col in ("what", "wire B", "UART s", "bytes s", "UART B/s", "bytes B/s", "bytes/UART",
                "link busy UART", "link busy bytes"):
        table.add_column(col, justify="right")
    ratios = {}
    for key, what in (("load_w", f"loading W {cfg.axons}×{cfg.neurons} int8"),
                      ("load", "loading the image, RESET included")):
        u, b = uart[key], fast[key]
        ratio = u["wall"] / b["wall"]   # the same bytes: the B/s ratio is the speed-up
        ratios[key] = ratio
        table.add_row(what, f"{u['wire']:,}", f"{u['wall']:.3f}", f"{b['wall']:.3f}",
                      f"{u['wire'] / u['wall']:,.0f}", f"{b['wire'] / b['wall']:,.0f}",
                      f"{ratio:.1f}×", f"{u['link_share']:.1%}", f"{b['link_share']:.1%}")
    u, b = uart["run"], fast["run"]
    steps_u, steps_b = u["steps"] / u["wall"], b["steps"] / b["wall"]
    ratios["run_steps"] = steps_b / steps_u
    table.add_row(f"running: {steps_u:,.0f} → {steps_b:,.0f} steps/s", "–",
                  f"{u['wall']:.3f}", f"{b['wall']:.3f}", f"{u['wire'] / u['wall']:,.0f}",
                  f"{b['wire'] / b['wall']:,.0f}", f"{ratios['run_steps']:.2f}×",
                  f"{u['link_share']:.1%}", f"{b['link_share']:.1%}")
    console.print(table)
    console.print(f"bytes link over UART, same run: loading W {ratios['load_w']:.1f}× faster, "
                  f"loading the image {ratios['load']:.1f}× faster, running "
                  f"{ratios['run_steps']:.2f}× the steps/s ({u['cycles_per_step']:.0f} → "
                  f"{b['cycles_per_step']:.0f} chip cycles/step)")
    return ratios


def sweep(cfg: CoreConfig, seconds: float, console: Console) -> None:
    """One Verilator option changed at a time from the defaults; 1×1 and 2×2 running."""
    base = Options()
    rows = [("defaults " + " ".join(base.args()) + f", OPT_FAST={base.cxx_opt}", base, None),
            ("-O0 instead of -O3", replace(base, opt="-O0"), None),
            ("no --x-assign fast", replace(base, x_assign_fast=False), None),
            ("no --x-initial fast", replace(base, x_initial_fast=False), None),
            ("OPT_FAST=-Os (verilated.mk's default)", replace(base, cxx_opt="-Os"), None),
            ("2×2: defaults (1 thread)", base, Mesh(2, 2)),
            ("2×2: --threads 2", replace(base, threads=2), Mesh(2, 2))]
    table = Table(title=f"Verilator options, {cfg.axons}×{cfg.neurons} cores, RUN of a loaded "
                        "network")
    for col in ("build", "chip", "cycles/step", "cycles/s", "build s"):
        table.add_column(col, justify="right")
    for name, options, mesh in rows:
        t0 = time.perf_counter()
        build(cfg, mesh, options=options)
        built = time.perf_counter() - t0
        try:
            r = native(cfg, mesh, seconds=seconds, options=options)["run"]
        except (DeviceError, TransportError) as e:   # --threads 2 once stalled a frame
            table.add_row(name, "2×2" if mesh else "1×1", "–", f"failed: {e}", f"{built:.0f}")
            console.print(f"  {name}: failed: {e}")
            continue
        table.add_row(name, "2×2" if mesh else "1×1", f"{r['cycles_per_step']:.0f}",
                      f"{r['rate']:,.0f}", f"{built:.0f}")
        console.print(f"  {name}: {r['rate']:,.0f} cycles/s")
    console.print(table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--axons", type=int, default=256)
    ap.add_argument("--neurons", type=int, default=128)
    ap.add_argument("--lanes", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=3.0,
                    help="about how long each native running measurement lasts")
    ap.add_argument("--threads", type=int, default=1, help="Verilator threads of the 2×2")
    ap.add_argument("--no-cocotb", action="store_true", help="skip the cocotb baseline")
    ap.add_argument("--sweep", action="store_true", help="also measure the options one by one")
    ap.add_argument("--json", help="write the four figures to this file")
    args = ap.parse_args()
    cfg = CoreConfig(axons=args.axons, neurons=args.neurons, lanes=args.lanes)
    console = Console(width=130)
    one = native(cfg, None, seconds=args.seconds, loading=True)
    run1, load1, load_w = one["run"], one["load"], one["load_w"]
    console.print(f"1×1 native: {run1['rate']:,.0f} cycles/s running, "
                  f"{load1['rate']:,.0f} loading")
    fast = native(cfg, None, seconds=args.seconds, loading=True, host_link=Link.BYTES)
    console.print(f"1×1 native, bytes link: {fast['run']['rate']:,.0f} cycles/s running, "
                  f"{fast['load']['rate']:,.0f} loading")
    four = native(cfg, Mesh(2, 2), seconds=args.seconds,
                  options=Options(threads=args.threads))["run"]
    console.print(f"2×2 native: {four['rate']:,.0f} cycles/s running")
    base = None if args.no_cocotb else cocotb(cfg, seconds=args.seconds)
    if base:
        console.print(f"1×1 cocotb: {base['rate']:,.0f} cycles/s running")

    table = Table(title=f"simulated chip speed: {cfg.axons}×{cfg.neurons} cores, {cfg.lanes} "
                        f"lanes, UART {DIVISOR} cycles/bit")
    for col in ("simulator", "what", "chip cycles", "wall s", "cycles/s", "link busy"):
        table.add_column(col, justify="right")

    def row(who, what, r, share=True):
        table.add_row(who, what, f"{r['cycles']:,}", f"{r['wall']:.2f}", f"{r['rate']:,.0f}",
                      f"{r['link_share']:.1%}" if share else "–")

    row("native 1×1", f"{run1['steps']} steps ({run1['cycles_per_step']:.0f} "
        "cycles/step)", run1, share=False)
    row("native 2×2", f"{four['steps']} steps ({four['cycles_per_step']:.0f} "
        f"cycles/step), {args.threads} thread(s)", four, share=False)
    row("native 1×1", f"loading W {cfg.axons}×{cfg.neurons} int8 ({load_w['wire']:,} wire B)",
        load_w)
    row("native 1×1", f"loading the image, RESET included ({load1['wire']:,} wire B)", load1)
    row("native 1×1 bytes", f"{fast['run']['steps']} steps ({fast['run']['cycles_per_step']:.0f} "
        "cycles/step)", fast["run"], share=False)
    row("native 1×1 bytes", f"loading W ({fast['load_w']['wire']:,} link B)", fast["load_w"])
    row("native 1×1 bytes", f"loading the image ({fast['load']['wire']:,} link B)",
        fast["load"])
    if base:
        table.add_row("cocotb 1×1", f"{base['steps']} steps, memories as reset",
                      f"{base['cycles']:,}", f"{base['wall']:.2f}", f"{base['rate']:,.0f}", "–")
    console.print(table)
    wire_rate = run1["rate"] / (10 * DIVISOR)
    for name, r in (("W", load_w), ("the image", load1)):
        console.print(f"loading {name}: {r['wire'] / r['wall']:,.0f} B/s on the wire = "
                      f"{r['wire'] / r['wall'] / wire_rate:.1%} of the wire's byte rate at the "
                      f"running clock rate ({wire_rate:,.0f} B/s); wire busy "
                      f"{r['link_share']:.1%} of the chip's cycles")
    ratios = links(cfg, one, fast, console)
    if args.sweep:
        sweep(cfg, args.seconds, console)
    if args.json:
        figures = {"1x1": run1["rate"], "2x2": four["rate"], "1x1_loading": load1["rate"],
                   "cocotb_1x1": base["rate"] if base else None,
                   "1x1_bytes": fast["run"]["rate"], "1x1_loading_bytes": fast["load"]["rate"],
                   "bytes_over_uart": ratios}
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
        console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
