"""The paper's three experiments (Wu et al. 2022): fault tolerance, few-shot, continual.

Each module holds a ``Settings`` dataclass (with a ``quick()`` variant), a ``run`` function
returning a ``Result`` dataclass, a ``chip_point`` function giving the integer-reference
version of one point for an on-chip backend, and ``table`` / ``plots`` for the CLI
(:mod:`~glocal.golden.experiments.cli`).
"""
