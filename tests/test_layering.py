"""The layers import only downward (``docs/architecture.md``, "Layering").

Every module of every package in ``pyproject.toml`` is parsed with `ast`; every ``import``
and ``from … import`` counts, those inside functions included (a function-level import
is still a dependency, only a later one).

- ``golden/`` imports no ``glocal.firmware``, ``rtl``, ``sim``, ``flows``, ``boards``,
  and no Amaranth or cocotb;
- ``rtl/`` imports ``golden``'s contracts, never torch (nor a ``golden`` module that
  imports it, however indirectly), never ``firmware``, ``sim``, ``flows``;
- ``firmware/`` imports only ``golden``'s numpy side: no ``rtl``, ``sim``, ``flows``, no
  torch (directly or through ``golden.train``, ``golden.model`` …), no Amaranth, no cocotb;
- ``sim/`` may import ``golden``, ``rtl`` and ``firmware``, never ``flows``;
- ``boards/`` builds ``rtl`` with ``golden``'s contracts;
- ``flows/`` joins the driver and the simulators;
- nothing imports the CLI, ``glocal.cli``.
"""

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
    "package-dir"]
CLI = "glocal.cli"

#: The glocal layers each layer may import (its own included).
ALLOWED = {
    "golden": {"golden"},
    "rtl": {"golden", "rtl"},
    "firmware": {"golden", "firmware"},
    "sim": {"golden", "rtl", "firmware", "sim"},
    "boards": {"golden", "rtl", "boards"},
    "flows": {"golden", "rtl", "firmware", "sim", "boards", "flows"},
    "glocal": {"golden", "rtl", "firmware", "sim", "boards", "flows", "glocal"},
}
#: Third-party packages a layer must not import.
FORBIDDEN = {
    "golden": {"amaranth", "amaranth_boards", "cocotb", "cocotb_tools"},
    "rtl": {"torch"},
    "firmware": {"torch", "amaranth", "amaranth_boards", "cocotb", "cocotb_tools"},
}
#: Layers that must not reach torch through a golden module either.
TORCH_FREE = {"rtl", "firmware"}


def _modules() -> dict[str, Path]:
    out = {}
    for package, folder in PACKAGES.items():
        for path in sorted((ROOT / folder).glob("*.py")):
            out[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, int]]:
    """Every module ``name`` imports, as (dotted name, line); ``from p import m`` of a
    module ``p.m`` counts as ``p.m``."""
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:   # relative: from the package, `level - 1` packages up
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.append((full if full in MODULES else base, node.lineno))
    return out


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> str | None:
    """``golden``, ``rtl``… of a glocal module (``glocal`` for the CLI package)."""
    parts = module.split(".")
    if parts[0] != "glocal":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else "glocal"


def _torch_side() -> dict[str, str]:
    """Golden modules that import torch, directly or through other golden modules, each
    with the chain that leads there."""
    chain = {name: f"{name} imports torch" for name, imps in IMPORTS.items()
             if _layer(name) == "golden" and any(m.split(".")[0] == "torch" for m, _ in imps)}
    grew = True
    while grew:
        grew = False
        for name, imps in IMPORTS.items():
            if _layer(name) != "golden" or name in chain:
                continue
            via = next((m for m, _ in imps if m in chain), None)
            if via is not None:
                chain[name] = f"{name} imports {chain[via]}"
                grew = True
    return chain


TORCH_SIDE = _torch_side()


def test_every_package_is_a_known_layer():
    assert {_layer(p) for p in PACKAGES} <= set(ALLOWED)
    assert len(MODULES) > 50 and "glocal.firmware.chip" in MODULES


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_downward(module):
    layer = _layer(module)
    bad = []
    for imported, line in IMPORTS[module]:
        where = f"{MODULES[module].relative_to(ROOT)}:{line}"
        top = imported.split(".")[0]
        if imported == CLI or imported.startswith(CLI + "."):
            bad.append(f"{module} ({where}) imports the CLI, {imported}")
        elif top == "glocal" and _layer(imported) not in ALLOWED[layer]:
            bad.append(f"{module} ({where}) imports {imported}: {layer}/ may import only "
                       f"{', '.join(sorted(ALLOWED[layer]))}")
        elif top in FORBIDDEN.get(layer, ()):
            bad.append(f"{module} ({where}) imports {imported}: {layer}/ never imports {top}")
        elif layer in TORCH_FREE and imported in TORCH_SIDE:
            bad.append(f"{module} ({where}) imports {imported}, torch's side of golden "
                       f"({TORCH_SIDE[imported]})")
    assert not bad, "\n".join(bad)


def test_the_torch_side_of_golden_is_found():
    # What the firmware and RTL rule leans on: train and model reach torch, the contracts
    # do not.
    assert {"glocal.golden.train", "glocal.golden.model", "glocal.golden.spec"} <= set(TORCH_SIDE)
    assert not {"glocal.golden.chip", "glocal.golden.hostproto", "glocal.golden.export",
                "glocal.golden.reference", "glocal.golden.noc"} & set(TORCH_SIDE)
