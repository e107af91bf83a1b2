"""Host-link efficiency and simulation speed: ``python bench/host_link.py``.

Runs the real driver against the Verilated host interface through its UART — in front
of the bus-RAM fixture (``--top fixture``), of the chip's core (``--top chip``,
:class:`glocal.rtl.chip.Chip`), or of a 1×2 chip loaded with a compiled image through the
`Chip` driver (``--top image``) — and prints:

- simulated clock cycles per wall-clock second while the chip runs steps on its own
  (cycles counted by the chip: RUN returns them), and while the link carries a load;
- link efficiency, data bytes / wire bytes (both directions, UART start and stop bits
  not counted; multiply by 0.8 for bits), for loading a 64×128 8-bit weight matrix and
  for running one sample: inject input spikes, run T steps, read the output spikes —
  once with the input held for the T steps, once with new input at every step;
- with ``--top image``: the same for loading a whole chip image (a random
  ``axons``-``neurons``-10 network, every region and routing table, zeros included) and
  for running one sample through it as the driver does (`glocal.firmware.chip.Chip.run`).
"""

from __future__ import annotations

import argparse
import random
import time

from rich.console import Console
from rich.table import Table

from glocal.firmware.driver import Device
from glocal.golden.config import CoreConfig
from glocal.golden.memmap import Region
from glocal.sim.busram import Bench
from glocal.sim.cocotb_link import SimTransport
from glocal.sim.toolchain import build_root

CLK = 12e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--axons", type=int, default=64)
    ap.add_argument("--neurons", type=int, default=128)
    ap.add_argument("--steps", type=int, default=8, help="time steps T of one sample")
    ap.add_argument("--divisor", type=int, default=4, help="clock cycles per UART bit")
    ap.add_argument("--run-steps", type=int, default=20_000,
                    help="steps of the pure-simulation speed run")
    ap.add_argument("--top", choices=["fixture", "chip", "image"], default="fixture",
                    help="what stands behind the host interface")
    args = ap.parse_args()
    cfg = CoreConfig(axons=args.axons, neurons=args.neurons, lanes=8)
    rnd = random.Random(1)
    if args.top == "image":
        image_bench(args, cfg)
        return
    if args.top == "chip":
        from glocal.rtl.chip import Chip
        top = Chip(cfg=cfg, clk_freq=CLK, baud=CLK / args.divisor)
        mesh = top.mesh
    else:
        top = Bench(cfg=cfg, cores=1, clk_freq=CLK, baud=CLK / args.divisor)
        mesh = None
    tag = f"bench_host_link_{args.top}_a{cfg.axons}n{cfg.neurons}d{args.divisor}"
    rows = []
    with SimTransport(top, divisor=args.divisor, build_dir=build_root() / tag) as link:
        dev = Device(link, cfg=cfg, cores=1, mesh=mesh, timeout=20.0)
        dev.check()

        def measure(name, action, cycles=None):
            dev.stats.reset()
            t0 = time.perf_counter()
            got = action()
            wall = time.perf_counter() - t0
            # Link-bound exchanges: the chip's clock runs 10·divisor cycles per wire byte.
            cycles = got if cycles else dev.stats.wire * 10 * args.divisor
            rows.append((name, dev.stats.frames, dev.stats.data, dev.stats.wire,
                         dev.stats.efficiency, cycles, wall))
            return got

        weights = [rnd.randint(-128, 127) for _ in range(cfg.axons * cfg.neurons)]
        measure(f"load W {cfg.axons}×{cfg.neurons} int8",
                lambda: dev.write(0, Region.WEIGHT, 0, weights))
        assert dev.read(0, Region.WEIGHT) == weights, "weights did not read back"

        spikes = [[rnd.randint(0, 1) for _ in range(cfg.axons)] for _ in range(args.steps)]

        def sample_held():
            dev.inject(0, spikes[0])
            dev.run(args.steps)
            return dev.spikes(0)

        def sample_per_step():
            out = []
            for t in range(args.steps):
                dev.inject(0, spikes[t])
                dev.run(1)
                out.append(dev.spikes(0))
            return out

        measure(f"sample, input held, T={args.steps}", sample_held)
        out = measure(f"sample, new input per step, T={args.steps}", sample_per_step)
        if args.top == "fixture":
            n = min(cfg.axons, cfg.neurons)
            assert out[-1][:n] == spikes[-1][:n], "fixture step did not copy AXON to S"
        measure(f"RUN {args.run_steps} steps (no link traffic)",
                lambda: dev.run(args.run_steps, timeout=600.0), cycles=True)

    behind = "bus-RAM fixture" if args.top == "fixture" else "rtl.chip.Chip"
    table = Table(title=f"host link: {cfg.axons}×{cfg.neurons} core ({behind}), "
                        f"UART {args.divisor} cycles/bit, Verilator")
    for col in ("exchange", "frames", "data B", "wire B", "data/wire", "sim cycles",
                "wall s", "cycles/s"):
        table.add_column(col, justify="right")
    for name, frames, data, wire, eff, cycles, wall in rows:
        table.add_row(name, str(frames), str(data), str(wire),
                      f"{eff:.1%}" if wire and data else "–", f"{cycles:,}", f"{wall:.2f}",
                      f"{cycles / wall:,.0f}")
    Console(width=130).print(table)



def image_bench(args, cfg: CoreConfig) -> None:
    """Load a compiled image into a 1×2 chip and run one sample, through the `Chip` driver."""
    import numpy as np

    from glocal.firmware.chip import Chip as Driver
    from glocal.firmware.compiler import compile_model
    from glocal.golden import chip as golden_chip
    from glocal.golden.noc import Mesh
    from glocal.rtl.chip import Chip
    from glocal.sim.networks import random_inputs, random_model

    mesh = Mesh(rows=1, cols=2, depth=cfg.neurons, fanout=1)
    rng = np.random.default_rng(1)
    hidden = min(cfg.neurons, cfg.axons)
    model = random_model(cfg, (cfg.axons, hidden, 10), rng, steps=args.steps)
    program = compile_model(model, mesh=mesh)
    x = random_inputs(model, rng, 1, rate=0.2)
    top = Chip(cfg=cfg, mesh=mesh, clk_freq=CLK, baud=CLK / args.divisor)
    tag = f"bench_host_link_image_a{cfg.axons}n{cfg.neurons}d{args.divisor}"
    rows = []
    with SimTransport(top, divisor=args.divisor, build_dir=build_root() / tag) as link:
        dev = Device(link, cfg=cfg, mesh=mesh, timeout=60.0)
        chip = Driver(dev)
        for name, action in ((f"load image ({cfg.axons}-{hidden}-10 on 1×2)",
                              lambda: chip.load(program)),
                             (f"one sample through the image, T={args.steps}",
                              lambda: chip.run(x))):
            dev.stats.reset()
            t0 = time.perf_counter()
            got = action()
            rows.append((name, dev.stats.frames, dev.stats.data, dev.stats.wire,
                         dev.stats.efficiency, time.perf_counter() - t0))
        want = golden_chip.run(program, x[0])
        assert (got.outputs[0] == want.output).all(), "the chip's outputs differ"
    table = Table(title=f"host link: image on a 1×2 chip of {cfg.axons}×{cfg.neurons} cores, "
                        f"UART {args.divisor} cycles/bit, Verilator")
    for col in ("exchange", "frames", "data B", "wire B", "data/wire", "wall s"):
        table.add_column(col, justify="right")
    for name, frames, data, wire, eff, wall in rows:
        table.add_row(name, str(frames), str(data), str(wire), f"{eff:.1%}", f"{wall:.2f}")
    Console(width=130).print(table)


if __name__ == "__main__":
    main()
