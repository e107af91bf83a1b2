"""Seeded random networks for chip-level tests: compiler, image, driver, end to end.

Small :class:`~glocal.golden.export.ChipModel` objects shaped like trained ones (spiking
plastic layers, a non-spiking readout), with weights scaled so that every layer fires
on a fraction of its neurons: a comparison of spikes is then not vacuous.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from glocal.golden import reference
from glocal.golden.config import CoreConfig
from glocal.golden.export import ChipLayer, ChipModel

__all__ = ["random_model", "random_inputs"]


def random_model(cfg: CoreConfig, sizes: Sequence[int], rng: np.random.Generator, *,
                 steps: int = 6, hebb_mode: str = "reset", readout: bool = True,
                 start_trace: bool = False) -> ChipModel:
    """A network of ``sizes`` (inputs, hidden…, classes): plastic spiking layers, and a
    non-spiking readout last (or, with ``readout=False``, a plastic spiking layer there too).

    Layers may be wider than a core (they are then split by the compiler). With
    ``cfg.plastic_mask`` every plastic layer has random per-synapse plasticity enables
    (about half of them on). With ``start_trace`` every plastic layer has a random start
    trace ``h0`` within ``±h_max`` (and ``hebb_mode`` is ``carry``).
    """
    lo = cfg.vth_shift_range[0]
    vth_shift = lo + 2
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        last = readout and k == len(sizes) - 2
        # Weights of about a threshold over a fan-in of a few active inputs.
        scale = (1 << vth_shift) // 2
        w = rng.integers(-scale, 2 * scale, (n_in, n_out))
        w = np.clip(w, -(1 << (cfg.w_bits - 1)), (1 << (cfg.w_bits - 1)) - 1)
        regs = reference.Registers(
            vth_shift=cfg.u_bits - 2 if last else vth_shift,
            decay=(1 << cfg.decay_frac) if last else int(rng.integers(
                1 << (cfg.decay_frac - 2), 1 << cfg.decay_frac)),
            alpha=0 if last else int(rng.integers(1 << (cfg.alpha_frac - 2),
                                                  1 << cfg.alpha_frac)),
            h_max=0 if last else cfg.h_max_limit // 2, learn=not last)
        layers.append(ChipLayer(
            f"layer{k}", last, weight=w.astype(np.int64),
            bias=rng.integers(-scale // 4, scale // 4 + 1, n_out),
            beta=(np.zeros(n_in, np.int64) if last
                  else rng.integers(-(1 << (cfg.beta_bits - 2)), 1 << (cfg.beta_bits - 2),
                                    n_in)),
            theta=np.zeros(n_out, np.int64) if last
            else rng.integers(-scale, scale + 1, n_out),
            p_table=reference.decay_table(cfg, float(rng.uniform(0.8, 0.99))),
            regs=regs, scale=1.0,
            plastic=(rng.random((n_in, n_out)) < 0.5).astype(np.int64)
            if cfg.plastic_mask and not last else None,
            h0=rng.integers(-regs.h_max, regs.h_max + 1, (n_in, n_out))
            if start_trace and not last else None))
    return ChipModel(cfg, tuple(layers), steps=steps, encoding="rate",
                     hebb_mode="carry" if start_trace else hebb_mode)


def random_inputs(model: ChipModel, rng: np.random.Generator, samples: int,
                  rate: float = 0.3) -> np.ndarray:
    """Input spikes, shape (samples, steps, inputs), each 1 with probability ``rate``."""
    shape = (samples, model.steps, model.layers[0].n_in)
    return (rng.random(shape) < rate).astype(np.int64)
