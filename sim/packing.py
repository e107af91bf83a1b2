"""Pack and unpack Amaranth struct payloads for cocotb, which sees them as flat vectors."""

from __future__ import annotations

from amaranth.lib import data

__all__ = ["pack", "unpack"]


def pack(layout: data.StructLayout, values: dict[str, int]) -> int:
    """Flat integer of a struct, fields placed at the layout's offsets (two's complement)."""
    word = 0
    for name, field in layout:
        width = field.shape.width
        word |= (int(values[name]) & ((1 << width) - 1)) << field.offset
    return word


def unpack(layout: data.StructLayout, word: int) -> dict[str, int]:
    """Fields of a flat struct integer; signed fields are sign-extended."""
    out = {}
    for name, field in layout:
        width = field.shape.width
        v = (int(word) >> field.offset) & ((1 << width) - 1)
        if field.shape.signed and v >> (width - 1):
            v -= 1 << width
        out[name] = v
    return out
