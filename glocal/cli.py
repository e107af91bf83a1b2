"""The ``glocal`` command. Each subcommand's work lives in its layer; this file only parses."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from glocal.firmware.demo import run_demo

    return run_demo(out_dir=args.out, quick=args.quick)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glocal", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the end-to-end demo and print its table")
    demo.add_argument("--out", default="out/demo", help="folder for plots and results")
    demo.add_argument("--quick", action="store_true", help="small sizes, for tests")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
