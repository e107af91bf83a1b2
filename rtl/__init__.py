"""Amaranth HDL of the glocal chip. Imports the contracts of :mod:`glocal.golden`, never torch."""
