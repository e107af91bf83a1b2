"""The image compiler: a trained network (:class:`~glocal.golden.export.ChipModel`) placed
on a mesh of cores, as the :class:`~glocal.golden.chip.Program` a chip holds.

**Placement.** Layers go in order onto cores ``0, 1, 2, …``. A layer with more neurons
than a core is split by output neurons: its ``i``-th core holds neurons
``i·N … (i+1)·N − 1`` (``N = cfg.neurons``; :meth:`ChipLayer.core_params` slices the
weight columns, bias, theta and the start trace ``h0``, and copies beta, the decay table
and the registers). A
layer's fan-in must fit one core's axons. Cores past the last layer are idle.

**Routing.** Neuron ``j`` of layer ``l`` drives axon ``j`` of *every* core of layer
``l + 1`` (multicast from the source, :func:`glocal.golden.noc.route_table`); input
channel ``i`` enters axon ``i`` of every core of the first layer; the outputs are the
readout's neurons in order. So a neuron of a layer followed by ``k`` cores costs ``k``
destination-table entries and needs ``mesh.fanout ≥ k``.

Everything that does not fit raises :class:`CompileError` naming the layer and the limit.

`compile_file` is ``glocal compile``: a model file in, an image file out
(:mod:`glocal.firmware.image`), with the run settings (`about`) in its manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from glocal.firmware import image
from glocal.golden import chip, noc
from glocal.golden.chip import Program, ProgramError
from glocal.golden.config import CoreConfig
from glocal.golden.export import ChipModel, load_model
from glocal.golden.noc import Dest, Mesh, NocError

__all__ = ["CompileError", "GEOMETRY", "Placement", "place", "compile_model", "describe",
           "parse_mesh", "about", "compile_file"]

#: `CoreConfig` fields the target may choose freely. Every other field is an arithmetic
#: width the model was quantized for; ``axons`` is one of them too: it sets the Hebbian
#: refresh period and the length of the decay table (``ts_bits``). Besides these, a target
#: with ``plastic_mask`` runs a model without it (every synapse enabled, which computes
#: what a core without the enables does); the reverse is refused.
GEOMETRY = ("neurons", "lanes")


class CompileError(ValueError):
    """A model does not fit the target chip; the message names the layer and the limit."""


@dataclass(frozen=True)
class Placement:
    """Where each layer sits.

    Members
    -------
    cores : tuple of tuple of int
        ``cores[l]`` lists layer ``l``'s cores; its ``i``-th core holds neurons
        ``i·cfg.neurons …``.
    used : int
        Cores the network occupies (the rest of the mesh is idle).
    """

    cores: tuple[tuple[int, ...], ...]
    used: int


def _check_target(model: ChipModel, cfg: CoreConfig) -> None:
    free = GEOMETRY + (("plastic_mask",) if cfg.plastic_mask else ())
    diff = [f"{f.name} {getattr(cfg, f.name)} (the model's: {getattr(model.cfg, f.name)})"
            for f in fields(CoreConfig)
            if f.name not in free and getattr(cfg, f.name) != getattr(model.cfg, f.name)]
    if diff:
        raise CompileError("the target cores differ from the model's in "
                           + ", ".join(diff) + f"; only {' and '.join(GEOMETRY)} may differ "
                           "(and plastic_mask may be 1 on the target)")


def place(model: ChipModel, cfg: CoreConfig, mesh: Mesh) -> Placement:
    """Place ``model``'s layers on ``mesh`` (cores of configuration ``cfg``), in order.

    Raises
    ------
    CompileError
        If a layer's fan-in exceeds ``cfg.axons`` or the layers need more cores than the
        mesh has.
    """
    cores, first = [], 0
    for layer in model.layers:
        if layer.n_in > cfg.axons:
            raise CompileError(f"layer {layer.name} has a fan-in of {layer.n_in}; a core has "
                               f"{cfg.axons} axons")
        k = layer.cores(cfg)
        cores.append(tuple(range(first, first + k)))
        first += k
    if first > mesh.cores:
        where = ", ".join(f"{layer.name} {layer.cores(cfg)}" for layer in model.layers)
        raise CompileError(f"the network needs {first} cores of {cfg.neurons} neurons ({where});"
                           f" the {mesh.rows}×{mesh.cols} mesh has {mesh.cores}")
    return Placement(cores=tuple(cores), used=first)


def compile_model(model: ChipModel, *, cfg: CoreConfig | None = None,
                  mesh: Mesh | None = None) -> Program:
    """Compile ``model`` for a chip of cores ``cfg`` on ``mesh``.

    Parameters
    ----------
    model : ChipModel
        The trained, quantized network (:func:`glocal.golden.export.load_model`).
    cfg : CoreConfig, optional
        The target's cores; default the model's. Only `GEOMETRY` may differ from it.
    mesh : Mesh, optional
        The target's mesh; default one row of as many cores as the network needs, with
        :class:`~glocal.golden.noc.Mesh`'s default table sizes.

    Returns
    -------
    Program
        What to load; :func:`glocal.golden.chip.run` of it equals
        :func:`glocal.golden.network.run_network` of ``model`` bit for bit.

    Raises
    ------
    CompileError
        Naming the layer and the limit: widths that differ from the model's (a model with
        per-synapse plasticity enables needs a target with ``plastic_mask``), a fan-in above
        the core's axons, more cores than the mesh has, a fan-out above ``mesh.fanout``, a
        routing table above ``mesh.depth``.
    """
    cfg = model.cfg if cfg is None else cfg
    _check_target(model, cfg)
    if mesh is None:
        mesh = Mesh(1, place(model, cfg, Mesh(1, noc.MAX_CORES)).used)
    placed = place(model, cfg, mesh)
    params = [chip.idle_core(cfg)] * mesh.cores
    names = [""] * mesh.cores
    targets: list[list[list[Dest]]] = [[] for _ in range(mesh.cores)]
    for k, (layer, cores) in enumerate(zip(model.layers, placed.cores, strict=True)):
        nxt = placed.cores[k + 1] if k + 1 < len(model.layers) else ()
        if len(nxt) > mesh.fanout:
            raise CompileError(f"layer {layer.name}'s neurons drive {len(nxt)} cores of layer "
                               f"{model.layers[k + 1].name}; the fan-out limit is {mesh.fanout}"
                               " destinations per neuron")
        for i, c in enumerate(cores):
            lo, hi = i * cfg.neurons, min((i + 1) * cfg.neurons, layer.n_out)
            params[c] = layer.core_params(cfg, i)
            names[c] = f"{layer.name}[{lo}:{hi}]"
            targets[c] = [[Dest(d, g) for d in nxt] for g in range(lo, hi)]
            if (hi - lo) * len(nxt) > mesh.depth:
                raise CompileError(f"layer {layer.name} on core {c} needs {(hi - lo) * len(nxt)}"
                                   f" routing-table entries ({hi - lo} neurons × {len(nxt)} "
                                   f"cores); a table holds {mesh.depth} (mesh.depth)")
    try:
        tables = tuple(noc.route_table(mesh, cfg, t, core=c) for c, t in enumerate(targets))
    except NocError as e:
        raise CompileError(f"routing: {e}") from None
    inputs = tuple(tuple(Dest(c, i) for c in placed.cores[0])
                   for i in range(model.layers[0].n_in))
    last = model.layers[-1]
    outputs = tuple((placed.cores[-1][g // cfg.neurons], g % cfg.neurons)
                    for g in range(last.n_out))
    try:
        return Program(cfg, mesh, tuple(params), tables, inputs, outputs, tuple(names))
    except ProgramError as e:
        raise CompileError(str(e)) from None


def describe(program: Program) -> list[str]:
    """One line per used core: its number, mesh position and what it holds."""
    return [f"core {c} (x {c % program.mesh.cols}, y {c // program.mesh.cols}): {name}"
            for c, name in enumerate(program.names) if name]


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
