"""Axon: the step's input spike bitmap, double-buffered, and the scanner of its active lines.

The host sets bits of the *pending* bank over the bus while the core computes; ``start``
hands the pending bank to the scanner and the other (already clear) bank becomes pending.
The scanner reads the bitmap a word at a time, emits the index of every set bit in
increasing order (one per cycle) and clears each word behind it, so a bank is empty again
by the time it becomes pending.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, unsigned
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
        Write ``value`` into bit ``index`` of the pending bank. Not ready in the cycle the
        scanner clears a word (the two share one write port).
    peek_addr : In(range(axons))
        Bit of the pending bank to read; ``peek_data`` holds it one cycle later.
    peek_data : Out(1)
    start : In(1)
        Pulse while ``idle``: scan the pending bank, which becomes the scanned bank.
    idle : Out(1)
        No scan in progress; every active line of the last scan has been emitted.
    rows : Out(stream.Signature(range(axons)))
        Active lines of the scanned bank, in increasing order.
    """

    def __init__(self, *, cfg: CoreConfig):
        self._cfg = cfg
        super().__init__({
            "set": In(stream.Signature(data.StructLayout({
                "index": range(cfg.axons), "value": unsigned(1)}))),
            "peek_addr": In(range(cfg.axons)),
            "peek_data": Out(1),
            "start": In(1),
            "idle": Out(1),
            "rows": Out(stream.Signature(range(cfg.axons))),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        m = Module()
        words = -(-cfg.axons // WORD)
        wbits = max(1, ceil_log2(words))
        bit_bits = ceil_log2(WORD)

        m.submodules.bitmap = bitmap = Memory(shape=unsigned(WORD), depth=2 << wbits, init=[])
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

        peek_bit = Signal(bit_bits)
        m.d.comb += peek_rd.addr.eq(Cat(word_of(self.peek_addr), pending))
        m.d.sync += peek_bit.eq(self.peek_addr[:bit_bits])
        m.d.comb += self.peek_data.eq(peek_rd.data.bit_select(peek_bit, 1))

        clearing = Signal()
        m.d.comb += self.set.ready.eq(~clearing)
        with m.If(self.set.valid & ~clearing):
            idx = self.set.payload.index
            m.d.comb += [
                wr.addr.eq(Cat(word_of(idx), pending)),
                wr.data.eq(self.set.payload.value.replicate(WORD)),
                wr.en.eq(1 << idx[:bit_bits]),
            ]

        # Lowest set bit of the word being emitted.
        low = Signal(bit_bits)
        for b in reversed(range(WORD)):
            with m.If(bits[b]):
                m.d.comb += low.eq(b)
        m.d.comb += self.rows.payload.eq(Cat(low, word - 1))
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
                    wr.en.eq(-1),
                    next_addr.eq(word + 1),
                ]
                m.d.sync += [bits.eq(scan_rd.data), word.eq(word + 1)]
                with m.If(scan_rd.data.any()):
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
