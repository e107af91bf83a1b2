"""Axon: the step's input spike bitmap, double-buffered, and the scanner of its active lines.

The host sets bits of the *pending* bank over the bus while the core computes; ``start``
hands the pending bank to the scanner and the other (already clear) bank becomes pending.
The scanner reads the bitmap a word at a time, emits the index of every set bit in
increasing order (one per cycle) and clears each word behind it, so a bank is empty again
by the time it becomes pending.

With ``act_bits > 1`` an axon holds a value: the bank is ``act_bits`` bitmaps (*planes*,
plane ``b`` holds bit ``b`` of every axon's value) side by side in one memory word. A
nonzero value is ORed in by setting its one bits (the write port's per-bit enables: no
read-modify-write), so values written in one step merge by OR in any order; a value of 0
clears the axon. The scanner lists the axons whose value is nonzero, with their value.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from glocal.golden.config import CoreConfig

__all__ = ["Axon", "WORD"]

#: Bits of the bitmap read per scanner cycle.
WORD = 16


class Axon(wiring.Component):
    """Double-buffered input bitmap with an active-line scanner.

    Parameters
    ----------
    cfg : CoreConfig
        ``cfg.axons`` sets the number of input lines.

    Members
    -------
    set : In(stream.Signature(StructLayout{index, value}))
        OR ``value`` (``act_bits`` wide) into axon ``index`` of the pending bank; 0 clears
        the axon. Not ready in the cycle the scanner clears a word (the two share one write
        port).
    peek_addr : In(range(axons))
        Axon of the pending bank to read; ``peek_data`` holds its value one cycle later.
    peek_data : Out(act_bits)
    start : In(1)
        Pulse while ``idle``: scan the pending bank, which becomes the scanned bank.
    idle : Out(1)
        No scan in progress; every active line of the last scan has been emitted.
    rows : Out(stream.Signature(StructLayout{index, value}))
        Active lines (nonzero value) of the scanned bank and their values, in increasing
        order.
    """

    def __init__(self, *, cfg: CoreConfig):
        self._cfg = cfg
        super().__init__({
            "set": In(stream.Signature(data.StructLayout({
                "index": range(cfg.axons), "value": unsigned(cfg.act_bits)}))),
            "peek_addr": In(range(cfg.axons)),
            "peek_data": Out(cfg.act_bits),
            "start": In(1),
            "idle": Out(1),
            "rows": Out(stream.Signature(data.StructLayout({
                "index": range(cfg.axons), "value": unsigned(cfg.act_bits)}))),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        words = -(-cfg.axons // WORD)
        wbits = max(1, ceil_log2(words))
        bit_bits = ceil_log2(WORD)

        planes = cfg.act_bits
        m.submodules.bitmap = bitmap = Memory(shape=unsigned(WORD * planes), depth=2 << wbits,
                                              init=[])
        scan_rd = bitmap.read_port()
        peek_rd = bitmap.read_port()
        wr = bitmap.write_port(granularity=1)

        pending = Signal()      # bank the host writes
        bank = Signal()         # bank being scanned
        word = Signal(range(words + 1))
        bits = Signal(WORD)

        def word_of(index):
            w = Signal(wbits)
            m.d.comb += w.eq(index >> bit_bits)
            return w

        def plane(word, b):
            return word[b * WORD:(b + 1) * WORD]

        def value_at(word, bit):
            return Cat(plane(word, b).bit_select(bit, 1) for b in range(planes))

        peek_bit = Signal(bit_bits)
        m.d.comb += peek_rd.addr.eq(Cat(word_of(self.peek_addr), pending))
        m.d.sync += peek_bit.eq(self.peek_addr[:bit_bits])
        m.d.comb += self.peek_data.eq(value_at(peek_rd.data, peek_bit))

        clearing = Signal()
        m.d.comb += self.set.ready.eq(~clearing)
        with m.If(self.set.valid & ~clearing):
            idx = self.set.payload.index
            value = self.set.payload.value
            # Nonzero: set the value's one bits (OR). Zero: clear every plane's bit.
            bit = Signal(WORD)     # one-hot, WORD wide whatever the width of the index
            m.d.comb += [
                bit.eq(1 << idx[:bit_bits]),
                wr.addr.eq(Cat(word_of(idx), pending)),
                wr.data.eq(value.any().replicate(WORD * planes)),
                wr.en.eq(Cat(Mux(value[b] | ~value.any(), bit, 0) for b in range(planes))),
            ]

        # Lowest set bit of the word being emitted (``bits``: its axons with a nonzero value,
        # ``values``: its planes).
        values = Signal(WORD * planes)
        low = Signal(bit_bits)
        for b in reversed(range(WORD)):
            with m.If(bits[b]):
                m.d.comb += low.eq(b)
        m.d.comb += [self.rows.payload.index.eq(Cat(low, word - 1)),
                     self.rows.payload.value.eq(value_at(values, low))]
        # The read address runs one word ahead of the word being emitted, so a word's
        # bits are ready as soon as the previous one is done: an empty word costs one
        # cycle, a word with k active lines 1 + k.
        next_addr = Signal(wbits)
        read_bank = Signal()
        m.d.comb += [read_bank.eq(bank), scan_rd.addr.eq(Cat(next_addr, read_bank))]

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [self.idle.eq(1), next_addr.eq(0), read_bank.eq(pending)]
                with m.If(self.start):
                    m.d.sync += [bank.eq(pending), pending.eq(~pending), word.eq(0)]
                    m.next = "LOAD"
            with m.State("LOAD"):
                # scan_rd.data holds bitmap[word]; clear it behind us.
                m.d.comb += [
                    clearing.eq(1),
                    wr.addr.eq(Cat(word[:wbits], bank)),
                    wr.data.eq(0),
                    wr.en.eq((1 << (WORD * planes)) - 1),
                    next_addr.eq(word + 1),
                ]
                nonzero = Signal(WORD)
                m.d.comb += nonzero.eq(
                    Cat(Cat(plane(scan_rd.data, b)[k] for b in range(planes)).any()
                        for k in range(WORD)))
                m.d.sync += [bits.eq(nonzero), values.eq(scan_rd.data), word.eq(word + 1)]
                with m.If(nonzero.any()):
                    m.next = "EMIT"
                with m.Elif(word == words - 1):
                    m.next = "IDLE"
            with m.State("EMIT"):
                m.d.comb += [self.rows.valid.eq(1), next_addr.eq(word)]
                rest = Signal(WORD)
                m.d.comb += rest.eq(bits & ~(1 << low))
                with m.If(self.rows.ready):
                    m.d.sync += bits.eq(rest)
                    with m.If(~rest.any()):
                        with m.If(word == words):
                            m.next = "IDLE"
                        with m.Else():
                            m.next = "LOAD"
        return m
