"""The network-on-chip contract: mesh geometry, packets, routing tables, what one step delivers.

Cores sit on a ``rows × cols`` mesh; core ``c`` is at ``x = c % cols`` (column, growing
east) and ``y = c // cols`` (row, growing south), the same number as the ``core`` field of
:mod:`glocal.golden.memmap`. A spike travels as one single-flit packet ``{x, y, axon}``:
the destination core's coordinates and the axon it sets there. Routers forward it
dimension-ordered (X first, then Y), see :func:`xy_route`.

**Multicast is done at the source.** Every source neuron owns a *pointer* ``(base,
count)`` into its core's *destination table*, whose entries are whole packets; a spike of
that neuron emits the ``count`` packets ``dest[base], …, dest[base+count-1]`` (``count = 0``
means the neuron drives nothing). Memory per core::

    pointer table   neurons × (ceil_log2(depth) + ceil_log2(fanout + 1)) bits
    dest table      depth × (x_bits + y_bits + axon_bits) bits

**Timing.** Spikes fired in step ``t`` are delivered into the destination cores' axon
buffers for step ``t + 1`` (one step per layer hop). Axon buffers are bitmaps, so a step's
delivery is the OR of its packets and does not depend on their order: :func:`deliver`.

**Values (hybrid coding).** With ``cfg.act_bits > 1`` a neuron's output is a value
``0 .. 2**act_bits − 1`` (a spike is 1, an ANN core's activation any of them); every
neuron with a nonzero output emits its packets, and a packet carries the value in a
``value`` field (:func:`value_bits`; absent with ``act_bits = 1``, where the value is 1).
An axon buffer holds ``act_bits`` per axon and merges what it receives by bitwise OR, so
delivery still does not depend on the order of packets (nor of external inputs).

Pure Python and numpy; the RTL (:mod:`glocal.rtl.noc`) builds its layouts from the widths
defined here and the compiler (``firmware/``) builds its tables with :func:`route_table`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from glocal.golden.config import CoreConfig
from glocal.golden.memmap import CORE_SHIFT, INDEX_BITS

__all__ = ["NocError", "Port", "Mesh", "Dest", "RouteTable", "value_bits", "dest_fields",
           "packet_fields", "ptr_fields",
           "route_table", "check_tables", "xy_route", "out_port", "Traffic", "traffic",
           "deliver"]

#: Largest number of cores the memory map's 8-bit core field can name.
MAX_CORES = 1 << (32 - CORE_SHIFT)


class NocError(ValueError):
    """A mesh, a packet or a routing table is outside its limits; the message names which."""


class Port(enum.IntEnum):
    """The five ports of a router. North is row ``y − 1``, east is column ``x + 1``."""

    N = 0
    E = 1
    S = 2
    W = 3
    LOCAL = 4


def _bits(n: int) -> int:
    """Bits of an index into ``n`` things (at least 1, so that every field exists)."""
    return max(1, (n - 1).bit_length())


@dataclass(frozen=True)
class Mesh:
    """Geometry of the mesh and the size of each core's routing table (synthesis time).

    Parameters
    ----------
    rows, cols : int
        Mesh size; ``rows · cols`` cores.
    depth : int
        Entries of each core's destination table (packets it can emit per spike, summed
        over its neurons).
    fanout : int
        Most destinations one neuron may have (sets the width of the pointer's count).

    Raises
    ------
    NocError
        If a field is out of range or the mesh has more cores than the memory map names.
    """

    rows: int
    cols: int
    depth: int = 1024
    fanout: int = 16

    def __post_init__(self) -> None:
        for name in ("rows", "cols", "depth", "fanout"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise NocError(f"Mesh.{name} must be a positive integer, not {value!r}")
        if self.cores > MAX_CORES:
            raise NocError(f"a {self.rows}×{self.cols} mesh has {self.cores} cores; the "
                           f"memory map's core field names at most {MAX_CORES}")
        if self.depth > 1 << INDEX_BITS:
            raise NocError(f"Mesh.depth must be at most {1 << INDEX_BITS} (one memory-map "
                           f"region), not {self.depth}")

    @property
    def cores(self) -> int:
        return self.rows * self.cols

    @property
    def x_bits(self) -> int:
        return _bits(self.cols)

    @property
    def y_bits(self) -> int:
        return _bits(self.rows)

    def xy(self, core: int) -> tuple[int, int]:
        """Coordinates ``(x, y)`` of ``core``."""
        self._check_core(core, "core")
        return core % self.cols, core // self.cols

    def core(self, x: int, y: int) -> int:
        """Core id at ``(x, y)``."""
        if not (0 <= x < self.cols and 0 <= y < self.rows):
            raise NocError(f"({x}, {y}) is outside the {self.rows}×{self.cols} mesh")
        return y * self.cols + x

    def _check_core(self, core: int, what: str) -> None:
        if not 0 <= core < self.cores:
            raise NocError(f"{what} must be in [0, {self.cores - 1}] on a "
                           f"{self.rows}×{self.cols} mesh, not {core}")


def value_bits(cfg: CoreConfig) -> int:
    """Width of the value a packet (and a core's spike streams) carries: ``act_bits``, or
    0 for spike-only cores, whose every packet means 1."""
    return 0 if cfg.act_bits == 1 else cfg.act_bits


def dest_fields(mesh: Mesh, cfg: CoreConfig) -> dict[str, int]:
    """Fields of a destination-table entry ``{x, y, axon}``, least significant first."""
    return {"x": mesh.x_bits, "y": mesh.y_bits, "axon": _bits(cfg.axons)}


def packet_fields(mesh: Mesh, cfg: CoreConfig) -> dict[str, int]:
    """Fields of a packet, least significant first: a destination-table entry and, with
    ``act_bits > 1``, the ``value`` its source neuron put out."""
    v = value_bits(cfg)
    return dest_fields(mesh, cfg) | ({"value": v} if v else {})


def ptr_fields(mesh: Mesh) -> dict[str, int]:
    """Fields of a pointer-table entry, least significant first."""
    return {"base": _bits(mesh.depth), "count": mesh.fanout.bit_length()}


def _pack(fields: dict[str, int], values: dict[str, int]) -> int:
    word, shift = 0, 0
    for name, width in fields.items():
        word |= values[name] << shift
        shift += width
    return word


@dataclass(frozen=True)
class Dest:
    """One destination of a neuron: axon ``axon`` of core ``core``."""

    core: int
    axon: int


@dataclass(frozen=True)
class RouteTable:
    """One core's routing table.

    Members
    -------
    pointers : tuple of (base, count)
        One per neuron of the core.
    dests : tuple of Dest
        The destination table's used entries (the rest of its ``depth`` is unused).
    """

    pointers: tuple[tuple[int, int], ...]
    dests: tuple[Dest, ...]

    def targets(self, neuron: int) -> tuple[Dest, ...]:
        """Destinations of ``neuron``, in the order its packets are emitted."""
        base, count = self.pointers[neuron]
        return self.dests[base:base + count]

    def pointer_words(self, mesh: Mesh) -> list[int]:
        """Pointer table as memory words (what the host writes)."""
        f = ptr_fields(mesh)
        return [_pack(f, {"base": b, "count": c}) for b, c in self.pointers]

    def dest_words(self, mesh: Mesh, cfg: CoreConfig) -> list[int]:
        """Used part of the destination table as memory words (packets without value)."""
        f = dest_fields(mesh, cfg)
        return [_pack(f, {"x": mesh.xy(d.core)[0], "y": mesh.xy(d.core)[1], "axon": d.axon})
                for d in self.dests]


def route_table(mesh: Mesh, cfg: CoreConfig, targets: Sequence[Sequence[Dest]], *,
                core: int) -> RouteTable:
    """Build core ``core``'s table from each of its neurons' destinations.

    Parameters
    ----------
    targets : sequence of sequence of Dest
        ``targets[j]`` lists neuron ``j``'s destinations; neurons past the end drive none.

    Raises
    ------
    NocError
        Naming the core, the neuron and the limit: more neurons than the core has, more
        destinations than ``mesh.fanout``, more entries than ``mesh.depth``, a destination
        core off the mesh or an axon the core does not have, or one axon listed twice.
    """
    mesh._check_core(core, "the table's core")
    if len(targets) > cfg.neurons:
        raise NocError(f"core {core}'s routing table lists {len(targets)} neurons; a core "
                       f"has {cfg.neurons}")
    pointers, dests = [], []
    for j, ts in enumerate(targets):
        ts = list(ts)
        if len(ts) > mesh.fanout:
            raise NocError(f"core {core} neuron {j} has {len(ts)} destinations; the fan-out "
                           f"limit is {mesh.fanout}")
        for d in ts:
            if not 0 <= d.core < mesh.cores:
                raise NocError(f"core {core} neuron {j} targets core {d.core}, outside the "
                               f"{mesh.rows}×{mesh.cols} mesh")
            if not 0 <= d.axon < cfg.axons:
                raise NocError(f"core {core} neuron {j} targets axon {d.axon} of core "
                               f"{d.core}; a core has {cfg.axons} axons")
        if len(set(ts)) != len(ts):
            raise NocError(f"core {core} neuron {j} lists a destination twice: {ts}")
        pointers.append((len(dests) if ts else 0, len(ts)))
        dests.extend(ts)
    if len(dests) > mesh.depth:
        raise NocError(f"core {core}'s routing table needs {len(dests)} destination entries; "
                       f"the table holds {mesh.depth}")
    pointers.extend([(0, 0)] * (cfg.neurons - len(pointers)))
    return RouteTable(pointers=tuple(pointers), dests=tuple(dests))


def check_tables(mesh: Mesh, cfg: CoreConfig, tables: Sequence[RouteTable]) -> None:
    """Check a whole chip's tables: one per core, and every axon driven by one neuron only.

    Two neurons on one axon would merge silently in the bitmap; that is a mapping error.

    Raises
    ------
    NocError
        Naming both drivers of the shared axon, or the count mismatch.
    """
    if len(tables) != mesh.cores:
        raise NocError(f"a {mesh.rows}×{mesh.cols} mesh needs {mesh.cores} routing tables, "
                       f"not {len(tables)}")
    driver: dict[Dest, tuple[int, int]] = {}
    for c, table in enumerate(tables):
        if len(table.pointers) != cfg.neurons:
            raise NocError(f"core {c}'s routing table has {len(table.pointers)} pointers; a "
                           f"core has {cfg.neurons} neurons")
        for j in range(cfg.neurons):
            for d in table.targets(j):
                if d in driver:
                    raise NocError(f"axon {d.axon} of core {d.core} is driven by core "
                                   f"{driver[d][0]} neuron {driver[d][1]} and by core {c} "
                                   f"neuron {j}")
                driver[d] = (c, j)


def out_port(mesh: Mesh, here: int, dst: int) -> Port:
    """The port a packet for ``dst`` leaves router ``here`` by (X first, then Y)."""
    (x, y), (dx, dy) = mesh.xy(here), mesh.xy(dst)
    if dx != x:
        return Port.E if dx > x else Port.W
    if dy != y:
        return Port.S if dy > y else Port.N
    return Port.LOCAL


_STEP = {Port.N: (0, -1), Port.E: (1, 0), Port.S: (0, 1), Port.W: (-1, 0)}


def xy_route(mesh: Mesh, src: int, dst: int) -> list[int]:
    """Cores a packet from ``src`` to ``dst`` visits, both ends included."""
    hops = [src]
    while (p := out_port(mesh, hops[-1], dst)) is not Port.LOCAL:
        x, y = mesh.xy(hops[-1])
        hops.append(mesh.core(x + _STEP[p][0], y + _STEP[p][1]))
    return hops


@dataclass(frozen=True)
class Traffic:
    """What one step's spikes put on the network.

    Members
    -------
    packets : list of (src core, Dest)
    values : list of int
        The value each packet carries (1 for a spike).
    injected, ejected : ndarray, shape (cores,)
        Packets each core's egress emits and each core's ingress receives.
    links : dict of (from core, to core) → int
        Packets crossing each directed mesh link.
    """

    packets: list[tuple[int, Dest]]
    values: list[int]
    injected: np.ndarray
    ejected: np.ndarray
    links: dict[tuple[int, int], int]


def _fired(mesh: Mesh, cfg: CoreConfig, fired) -> np.ndarray:
    f = np.asarray(fired)
    if f.shape != (mesh.cores, cfg.neurons):
        raise NocError(f"fired must have shape ({mesh.cores}, {cfg.neurons}), not {f.shape}")
    if f.size and (f.min() < 0 or f.max() > cfg.act_max):
        raise NocError("fired must hold spikes (0 or 1)" if cfg.act_max == 1 else
                       f"fired must hold outputs in [0, {cfg.act_max}] (act_bits = "
                       f"{cfg.act_bits}), found [{f.min()}, {f.max()}]")
    return f


def traffic(mesh: Mesh, cfg: CoreConfig, tables: Sequence[RouteTable], fired) -> Traffic:
    """Packets, per-core counts and per-link loads of one step with outputs ``fired``
    (every neuron with a nonzero output sends its packets)."""
    f = _fired(mesh, cfg, fired)
    sent = [(c, d, int(f[c, j])) for c in range(mesh.cores) for j in np.flatnonzero(f[c])
            for d in tables[c].targets(int(j))]
    packets = [(c, d) for c, d, _ in sent]
    injected = np.zeros(mesh.cores, dtype=np.int64)
    ejected = np.zeros(mesh.cores, dtype=np.int64)
    links: dict[tuple[int, int], int] = {}
    for src, d in packets:
        injected[src] += 1
        ejected[d.core] += 1
        hops = xy_route(mesh, src, d.core)
        for a, b in zip(hops, hops[1:], strict=False):
            links[a, b] = links.get((a, b), 0) + 1
    return Traffic(packets=packets, values=[v for _, _, v in sent], injected=injected,
                   ejected=ejected, links=links)


def deliver(mesh: Mesh, cfg: CoreConfig, tables: Sequence[RouteTable], fired) -> np.ndarray:
    """Axon inputs, shape (cores, axons), that step ``t``'s outputs set for step ``t + 1``.

    ``fired`` has shape (cores, neurons): every core's outputs of step ``t`` (spikes 0/1,
    or activations). Packets to one axon merge by bitwise OR.
    """
    out = np.zeros((mesh.cores, cfg.axons), dtype=np.int64)
    t = traffic(mesh, cfg, tables, fired)
    for (_, d), v in zip(t.packets, t.values, strict=True):
        out[d.core, d.axon] |= v
    return out
