"""The chip's memory map: the one definition of every address the host can read or write.

A 32-bit word address is ``core << 24 | region << 20 | index``. Each entry of every
memory (one weight, one membrane, one register) is one word; values are sign-extended
(signed entries) or zero-extended (unsigned ones) to 32 bits on read and truncated to the
entry's width on write. The RTL decodes with these constants, the driver encodes with
them, the reference model's arrays are laid out the same way (row-major ``[axon, neuron]``).

An address outside a region's size, an unknown region, a core that does not exist, or a
write to a read-only register is an *error*: the bus answers with its error flag set, and
nothing is written.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from glocal.golden.config import CoreConfig
from glocal.golden.reference import Registers

if TYPE_CHECKING:
    from glocal.golden.noc import Mesh

__all__ = ["Region", "Reg", "CORE_SHIFT", "REGION_SHIFT", "INDEX_BITS", "encode", "decode",
           "region_size", "region_width", "region_signed", "REG_WRITABLE", "MemmapError",
           "register_values", "pack_address"]

CORE_SHIFT = 24
REGION_SHIFT = 20
INDEX_BITS = 20
ADDR_BITS = 32


class MemmapError(ValueError):
    """An address does not name an existing entry; the message says which part is wrong."""


class Region(enum.IntEnum):
    """Memories of one core (4-bit field of the address)."""

    REGS = 0      #: scalar registers, indexed by `Reg`
    WEIGHT = 1    #: W[axon, neuron], index = axon * neurons + neuron, signed w_bits
    HEBB = 2      #: stored H[axon, neuron], same indexing, signed h_bits
    T_LAST = 3    #: per-axon timestamp of the Hebbian row, unsigned ts_bits
    BETA = 4      #: per-axon learning rate, signed beta_bits
    BIAS = 5      #: per-neuron bias, signed bias_bits
    THETA = 6     #: per-neuron plasticity threshold, signed theta_bits
    U = 7         #: per-neuron membrane, signed u_bits
    S = 8         #: per-neuron last output: spike, or ANN activation; unsigned act_bits
    P_TABLE = 9   #: Hebbian decay table, unsigned p_bits, 2**ts_bits entries
    AXON = 10     #: next step's inputs, unsigned act_bits per axon (nonzero write ORs, 0 clears)
    ROUTE_PTR = 11   #: per-neuron routing pointer {base, count} (:mod:`glocal.golden.noc`)
    ROUTE_DEST = 12  #: destination table, one packet {x, y, axon} per entry, ``mesh.depth``
    PLASTIC = 13  #: per-synapse plasticity enable E[axon, neuron], 1 bit, WEIGHT's indexing;
    #: only on cores with ``cfg.plastic_mask`` (no entries otherwise)


class Reg(enum.IntEnum):
    """Scalar registers of one core (index within `Region.REGS`)."""

    VTH_SHIFT = 0    #: threshold exponent (rw)
    DECAY = 1        #: membrane leak factor (rw)
    ALPHA = 2        #: Hebbian gain, signed (rw)
    H_MAX = 3        #: Hebbian clamp bound (rw)
    LEARN = 4        #: plasticity on (1) / off (0) (rw)
    T = 5            #: plastic clock (rw)
    REFRESH = 6      #: next refresh row (rw)
    STATUS = 7       #: bit 0 busy, bit 1 sticky bus error (ro; write 1 to bit 1 clears it)
    STEPS = 8        #: steps run since reset (ro)
    CYC_INTEGRATE = 9   #: cycles spent integrating (ro)
    CYC_FIRE = 10       #: cycles spent in the soma pass (ro)
    CYC_LEARN = 11      #: cycles spent learning, overlapped or not (ro)
    CYC_STEP = 12       #: cycles from step start to step done (ro)
    SYN_OPS = 13        #: synaptic operations (active axon × neuron) (ro)
    PLASTIC_UPDATES = 14  #: Hebbian entries written by the learn pass (ro)
    SPIKES_IN = 15      #: active axons seen (ro)
    SPIKES_OUT = 16     #: spikes fired (ro)
    PACKETS_OUT = 17    #: packets this core's router injected into the mesh (ro)
    PACKETS_IN = 18     #: packets delivered to this core's axons (ro)
    MODE = 19           #: neuron model, `glocal.golden.reference.Mode` (rw; ANN needs act_bits > 1)
    OUT_SHIFT = 20      #: ANN requantisation shift (rw)


#: Registers the host may write (STATUS accepts a write only to clear its error bit).
REG_WRITABLE = frozenset({Reg.VTH_SHIFT, Reg.DECAY, Reg.ALPHA, Reg.H_MAX, Reg.LEARN,
                          Reg.T, Reg.REFRESH, Reg.STATUS, Reg.MODE, Reg.OUT_SHIFT})


def register_values(regs: Registers) -> dict[Reg, int]:
    """The run-time registers of ``regs`` as the values to write at their `Reg` indices."""
    return {Reg.VTH_SHIFT: regs.vth_shift, Reg.DECAY: regs.decay, Reg.ALPHA: regs.alpha,
            Reg.H_MAX: regs.h_max, Reg.LEARN: int(regs.learn), Reg.MODE: int(regs.mode),
            Reg.OUT_SHIFT: regs.out_shift}


def region_size(cfg: CoreConfig, region: Region, mesh: Mesh | None = None) -> int:
    """Number of entries of ``region`` in a core of configuration ``cfg``.

    The routing regions belong to the network-on-chip: they have ``mesh``'s sizes, and no
    entries at all (every address in them is out of range) when ``mesh`` is ``None``, the
    bare core without a router. ``PLASTIC`` has entries only when ``cfg.plastic_mask``.
    """
    a, n = cfg.axons, cfg.neurons
    if region is Region.ROUTE_PTR:
        return 0 if mesh is None else n
    if region is Region.ROUTE_DEST:
        return 0 if mesh is None else mesh.depth
    if region is Region.PLASTIC:
        return a * n if cfg.plastic_mask else 0
    return {
        Region.REGS: len(Reg), Region.WEIGHT: a * n, Region.HEBB: a * n,
        Region.T_LAST: a, Region.BETA: a, Region.BIAS: n, Region.THETA: n,
        Region.U: n, Region.S: n, Region.P_TABLE: 1 << cfg.ts_bits, Region.AXON: a,
    }[region]


def region_width(cfg: CoreConfig, region: Region, mesh: Mesh | None = None) -> int:
    """Bit width of one entry of ``region`` (registers: 32).

    The routing regions' widths are the packed words of :mod:`glocal.golden.noc` and need
    ``mesh``.
    """
    if region in (Region.ROUTE_PTR, Region.ROUTE_DEST):
        if mesh is None:
            raise MemmapError(f"{region.name} has no width without a mesh: its entries are "
                              "the mesh's routing words")
        # noc imports this module's address layout, so it is imported here, not at the top.
        from glocal.golden import noc
        fields = (noc.ptr_fields(mesh) if region is Region.ROUTE_PTR
                  else noc.dest_fields(mesh, cfg))
        return sum(fields.values())
    return {
        Region.REGS: 32, Region.WEIGHT: cfg.w_bits, Region.HEBB: cfg.h_bits,
        Region.T_LAST: cfg.ts_bits, Region.BETA: cfg.beta_bits, Region.BIAS: cfg.bias_bits,
        Region.THETA: cfg.theta_bits, Region.U: cfg.u_bits, Region.S: cfg.act_bits,
        Region.P_TABLE: cfg.p_bits, Region.AXON: cfg.act_bits, Region.PLASTIC: 1,
    }[region]


def region_signed(region: Region) -> bool:
    """Whether entries of ``region`` are two's complement (sign-extended on read)."""
    return region in {Region.WEIGHT, Region.HEBB, Region.BETA, Region.BIAS, Region.THETA,
                      Region.U}


@dataclass(frozen=True)
class Address:
    core: int
    region: Region
    index: int


def encode(cfg: CoreConfig, core: int, region: Region, index: int, *, cores: int = 1,
           mesh: Mesh | None = None) -> int:
    """Word address of entry ``index`` of ``region`` in ``core``.

    With ``mesh``, the chip has ``mesh.cores`` cores and routing regions of its size.

    Raises
    ------
    MemmapError
        If ``core``, ``region`` or ``index`` is out of range.
    """
    cores = mesh.cores if mesh is not None else cores
    if not 0 <= core < cores:
        raise MemmapError(f"core must be in [0, {cores - 1}], not {core}")
    region = Region(region)
    size = region_size(cfg, region, mesh)
    if size == 0:
        raise MemmapError(f"{region.name} has no entries on a chip without a mesh"
                          if region is not Region.PLASTIC else
                          f"{region.name} has no entries on cores without plastic_mask")
    if not 0 <= index < size:
        raise MemmapError(f"index into {region.name} must be in [0, {size - 1}], not {index}")
    return pack_address(core, region, index)


def pack_address(core: int, region: int, index: int) -> int:
    """The address layout itself, without range checks (`encode` is the checked form; tests
    use this one to build deliberately bad addresses)."""
    return core << CORE_SHIFT | int(region) << REGION_SHIFT | index


def decode(cfg: CoreConfig, addr: int, *, cores: int = 1, mesh: Mesh | None = None
           ) -> Address:
    """Inverse of `encode`; raises `MemmapError` naming the bad field."""
    cores = mesh.cores if mesh is not None else cores
    if not 0 <= addr < 1 << ADDR_BITS:
        raise MemmapError(f"address must be a 32-bit unsigned integer, not {addr:#x}")
    core = addr >> CORE_SHIFT
    region_id = (addr >> REGION_SHIFT) & 0xF
    index = addr & ((1 << INDEX_BITS) - 1)
    if core >= cores:
        raise MemmapError(f"address {addr:#010x} names core {core}; the chip has {cores}")
    try:
        region = Region(region_id)
    except ValueError:
        raise MemmapError(f"address {addr:#010x} names unknown region {region_id}") from None
    size = region_size(cfg, region, mesh)
    if index >= size:
        raise MemmapError(f"address {addr:#010x}: index {index} is past {region.name}'s "
                          f"{size} entries")
    return Address(core, region, index)
