"""``glocal experiment <name>``: settings from the parsed options, run, write, summarise."""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path

from rich.console import Console

__all__ = ["NAMES", "run_cli"]

NAMES = ("fault-tolerance", "few-shot", "continual")


def _module(name: str):
    return importlib.import_module(f"glocal.golden.experiments.{name.replace('-', '_')}")


def settings_for(name: str, args: dict):
    """The experiment's ``Settings``: ``quick()`` or the defaults, then the given options."""
    from glocal.golden.experiments import common

    mod = _module(name)
    if args.get("preset"):
        if not hasattr(mod.Settings, args["preset"]):
            raise ValueError(f"experiment {name} has no preset {args['preset']!r}")
        base = getattr(mod.Settings, args["preset"])()
        if args.get("quick"):
            base = mod.Settings.quick(**{k: getattr(base, k) for k in (
                "net", "core", "authors_levels", "fit_shifts") if hasattr(base, k)},
                fit=replace(base.fit, epochs=2, batch=64))
    else:
        base = mod.Settings.quick() if args.get("quick") else mod.Settings()
    kw = {}
    for key in ("data", "data_dir", "hidden", "steps", "test_samples", "episodes", "tasks",
                "queries", "levels"):
        if args.get(key) is not None and key in mod.Settings.__dataclass_fields__:
            kw[key] = args[key]
    if args.get("seeds"):
        kw["seeds"] = tuple(args["seeds"])
    fit = {k: args[k] for k in ("epochs", "qat_epochs", "batch", "meta_step")
           if args.get(k) is not None}
    if fit:
        kw["fit"] = common.FitSettings(**{**base.fit.__dict__, **fit})
    kw["progress"] = not args.get("no_progress")
    if "save_dir" in mod.Settings.__dataclass_fields__ and args.get("preset"):
        kw["save_dir"] = str(Path(args.get("out") or Path("out/experiments") / name) / "nets")
    return replace(base, **kw)


def run_cli(name: str, args: dict) -> int:
    """Run experiment ``name`` and write its JSON, Markdown table and plots."""
    from glocal.golden.data import DataError
    from glocal.golden.experiments import common

    if name not in NAMES:
        Console(stderr=True).print(f"[red]error:[/red] unknown experiment {name!r}; "
                                   f"expected one of {', '.join(NAMES)}")
        return 2
    mod = _module(name)
    try:
        settings = settings_for(name, args)
        result = mod.run(settings)
    except (DataError, ValueError) as e:
        Console(stderr=True).print(f"[red]error:[/red] {e}")
        return 2
    out = Path(args.get("out") or Path("out/experiments") / name)
    text = mod.table(result)
    paths = common.write_outputs(out, name, result, text, mod.plots(result))
    if args.get("claims") and hasattr(mod, "claims"):
        paths.append(common.merge_claims(args["claims"], mod.claims(result)))
    Console().print(text)
    Console().print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0
