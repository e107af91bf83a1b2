"""Learning side of glocal and the contracts every other layer imports.

Contracts (no torch, no hardware): :mod:`.config` (core geometry and widths),
:mod:`.fixed` (rounding, saturation, the f table), :mod:`.reference` (the integer model,
i.e. the specification of the chip's arithmetic).
"""
