"""Single-port RAM: one address for reads and writes, as the iCE40 UP5K's SPRAM has.

The UP5K's 1 Mbit of single-port RAM is four SB_SPRAM256KA blocks of 16,384 × 16 bits
(14-bit address, a write mask per nibble, synchronous read with one cycle of latency).
:class:`SinglePort` is a lane-wide memory built from them on a ``SiliconBluePlatform``
(or from a model of them, ``tiles=True``, to test the tiling in simulation), and from an
Amaranth ``Memory`` used through one address elsewhere. A cycle either reads or writes:
the simulation stops with an ``AssertionError`` if both are asked for, so a scheduling bug
fails the tests instead of reading garbage on the board.
"""

from __future__ import annotations

from amaranth.hdl import Assert, Cat, ClockSignal, Const, Instance, Module, Shape, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2
from amaranth.vendor import SiliconBluePlatform

__all__ = ["SinglePort", "TILE_DEPTH", "TILE_WIDTH", "tiles"]

#: One SB_SPRAM256KA: 16,384 words of 16 bits, written by nibble.
TILE_DEPTH = 1 << 14
TILE_WIDTH = 16
_NIBBLE = 4


def tiles(shape: data.ArrayLayout, depth: int) -> tuple[int, int, int]:
    """How a ``depth`` × ``shape`` memory is cut into SPRAM tiles.

    Returns ``(pack, columns, banks)``: entries per 16-bit tile word (entries narrower
    than 16 bits), tiles side by side (entries wider than 16 bits), and tile rows along
    the address. The memory takes ``columns · banks`` tiles.

    Raises
    ------
    ValueError
        If a lane is not a whole number of nibbles (the tile's write mask is per nibble),
        or an entry neither divides nor is a multiple of 16 bits.
    """
    lane, width = Shape.cast(shape.elem_shape).width, shape.size
    if lane % _NIBBLE:
        raise ValueError(f"Lane width must be a multiple of {_NIBBLE} bits, not {lane}")
    if width <= TILE_WIDTH and TILE_WIDTH % width == 0:
        pack, columns = TILE_WIDTH // width, 1
    elif width % TILE_WIDTH == 0:
        pack, columns = 1, width // TILE_WIDTH
    else:
        raise ValueError(f"Entry width must divide or be a multiple of {TILE_WIDTH} bits, "
                         f"not {width}")
    words = -(-depth // pack)
    return pack, columns, -(-words // TILE_DEPTH)


class SinglePort(wiring.Component):
    """A lane-wide single-port RAM with a write enable per lane.

    Parameters
    ----------
    shape : data.ArrayLayout
        One entry: ``shape.length`` lanes.
    depth : int
        Entries.
    tiles : bool
        Build it from SPRAM tiles on any platform (a model of SB_SPRAM256KA off iCE40),
        to test the tiling in simulation. On a ``SiliconBluePlatform`` it always is.

    Members
    -------
    addr : In(range(depth))
        The entry read or written this cycle.
    r_en : In(1)
        Read ``addr``: ``r_data`` holds the entry in the next cycle (and until the next
        read; a write may change it on the FPGA).
    r_data : Out(shape)
    w_en : In(shape.length)
        Write these lanes of ``addr`` with ``w_data``. Never together with ``r_en``.
    w_data : In(shape)
    """

    def __init__(self, *, shape: data.ArrayLayout, depth: int, tiles: bool = False):
        if not isinstance(shape, data.ArrayLayout):
            raise TypeError(f"Shape must be a data.ArrayLayout of lanes, not {shape!r}")
        self._shape, self._depth, self._tiles = shape, depth, tiles
        super().__init__({"addr": In(range(depth)), "r_en": In(1), "r_data": Out(shape),
                          "w_en": In(shape.length), "w_data": In(shape)})

    def elaborate(self, platform):
        m = Module()
        ice40 = isinstance(platform, SiliconBluePlatform)
        if not ice40:
            m.d.comb += Assert(~(self.r_en & self.w_en.any()),
                               "single-port RAM asked to read and write in the same cycle")
        if ice40 or self._tiles:
            self._tiled(m, ice40)
            return m
        m.submodules.mem = mem = Memory(shape=self._shape, depth=self._depth, init=[])
        wr = mem.write_port(granularity=1)
        rd = mem.read_port()
        m.d.comb += [
            rd.addr.eq(self.addr), rd.en.eq(self.r_en), self.r_data.eq(rd.data),
            wr.addr.eq(self.addr), wr.data.eq(self.w_data), wr.en.eq(self.w_en),
        ]
        return m

    def _tiled(self, m, ice40):
        shape = self._shape
        pack, columns, banks = tiles(shape, self._depth)
        lane = Shape.cast(shape.elem_shape).width
        per_lane = lane // _NIBBLE
        sub_bits, bank_bits = ceil_log2(pack), ceil_log2(banks)
        addr = self.addr
        sub = addr[:sub_bits]
        word_bits = ceil_log2(TILE_DEPTH)
        bank = addr[sub_bits + word_bits:]
        word = Signal(word_bits)
        m.d.comb += word.eq(addr[sub_bits:sub_bits + word_bits])
        # The entry's nibble enables (each lane's, repeated over its nibbles).
        nib = Signal(shape.size // _NIBBLE)
        m.d.comb += nib.eq(Cat(self.w_en[k].replicate(per_lane) for k in range(shape.length)))
        write = self.w_en.any()
        # Which slot and bank the last read addressed: their tile output is the entry.
        r_sub = Signal(max(1, sub_bits))
        r_bank = Signal(max(1, bank_bits))
        with m.If(self.r_en):
            if sub_bits:
                m.d.sync += r_sub.eq(sub)
            if bank_bits:
                m.d.sync += r_bank.eq(bank)
        outs = []
        for b in range(banks):
            row = []
            for c in range(columns):
                d_in = Signal(TILE_WIDTH, name=f"din_{b}_{c}")
                mask = Signal(_NIBBLE, name=f"mask_{b}_{c}")
                d_out = Signal(TILE_WIDTH, name=f"dout_{b}_{c}")
                cs = Signal(name=f"cs_{b}_{c}")
                sel = (bank == b) if bank_bits else Const(1)
                m.d.comb += cs.eq(sel & (self.r_en | write))
                if pack > 1:
                    m.d.comb += d_in.eq(self.w_data.as_value().replicate(pack))
                    slots = [nib << (s * (shape.size // _NIBBLE)) for s in range(pack)]
                    with m.Switch(sub):
                        for s in range(pack):
                            with m.Case(s):
                                m.d.comb += mask.eq(slots[s])
                else:
                    m.d.comb += [d_in.eq(self.w_data.as_value().word_select(c, TILE_WIDTH)),
                                 mask.eq(nib[c * _NIBBLE:(c + 1) * _NIBBLE])]
                self._tile(m, ice40, f"tile_{b}_{c}", word, d_in, mask, write, cs, d_out)
                row.append(d_out)
            outs.append(row)
        out = Signal(shape.size)
        with m.Switch(r_bank if bank_bits else 0):
            for b in range(banks):
                with m.Case(b):
                    full = Signal(columns * TILE_WIDTH, name=f"out_{b}")
                    for c in range(columns):
                        m.d.comb += full.word_select(c, TILE_WIDTH).eq(outs[b][c])
                    if pack > 1:
                        m.d.comb += out.eq(full.word_select(r_sub, shape.size))
                    else:
                        m.d.comb += out.eq(full)
        m.d.comb += self.r_data.eq(out)

    @staticmethod
    def _tile(m, ice40, name, addr, d_in, mask, write, cs, d_out):
        """One SB_SPRAM256KA (or its model: what is read while writing is not modelled)."""
        if ice40:
            m.submodules[name] = Instance(
                "SB_SPRAM256KA",
                i_ADDRESS=addr, i_DATAIN=d_in, i_MASKWREN=mask, i_WREN=write,
                i_CHIPSELECT=cs, i_CLOCK=ClockSignal(), i_STANDBY=0, i_SLEEP=0,
                i_POWEROFF=1, o_DATAOUT=d_out)
            return
        mem = Memory(shape=TILE_WIDTH, depth=TILE_DEPTH, init=[])
        m.submodules[name] = mem
        wr = mem.write_port(granularity=_NIBBLE)
        rd = mem.read_port()
        m.d.comb += [wr.addr.eq(addr), wr.data.eq(d_in),
                     wr.en.eq(mask & (cs & write).replicate(_NIBBLE)),
                     rd.addr.eq(addr), rd.en.eq(cs & ~write), d_out.eq(rd.data)]
