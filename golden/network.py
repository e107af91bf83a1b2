"""Layered integer reference: the whole network, one (possibly wide) core per layer, hop by hop.

Every layer computes step ``t`` (:func:`glocal.golden.reference.step`), then spikes travel:
layer ``l`` at step ``t`` receives layer ``l−1``'s spikes of step ``t−1`` (zeros at the
first step); the input spikes of step ``t`` feed the first layer directly. Neuron ``j`` of
one layer drives axon ``j`` of the next. The class is the argmax of the readout's final
membrane.

A layer with more neurons than a core is stepped as one core as wide as the cores it fills
(:meth:`glocal.golden.export.ChipLayer.wide_params`): its state is the states of those
cores side by side. :mod:`glocal.golden.chip` runs the same network placed on a mesh
(``firmware/compiler.py`` places it), and must agree with this bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from glocal.golden import reference
from glocal.golden.export import ChipModel
from glocal.golden.reference import CoreState

__all__ = ["NetworkRun", "zero_states", "next_sample", "run_network"]


@dataclass(frozen=True)
class NetworkRun:
    """What :func:`run_network` returns.

    Members
    -------
    membrane : ndarray, shape (..., classes)
        Readout membranes after the last step.
    prediction : ndarray, shape (...)
        Argmax of ``membrane`` (first maximum on ties).
    spikes : list of ndarray
        Spikes of every layer but the readout, each shape (steps, ..., neurons).
    states : list of CoreState
        Every core's state after the last step.
    """

    membrane: np.ndarray
    prediction: np.ndarray
    spikes: list[np.ndarray]
    states: list[CoreState]


def zero_states(model: ChipModel, batch: tuple[int, ...] = ()) -> list[CoreState]:
    """Every layer at the start of a sample (each ``layer.cores(cfg) · cfg.neurons``
    neurons wide): membranes, spikes, timestamps and clocks zero, ``H`` the layer's
    ``h0`` (zero unless the model was trained with a carried trace)."""
    cfg, z = model.cfg, np.zeros
    out = []
    for layer in model.layers:
        n = layer.cores(cfg) * cfg.neurons
        hebb = np.broadcast_to(layer.start_hebb(cfg, n), batch + (cfg.axons, n)).copy()
        out.append(CoreState(u=z(batch + (n,), np.int64), s=z(batch + (n,), np.int64),
                             hebb=hebb, t_last=z(batch + (cfg.axons,), np.int64)))
    return out


def next_sample(states: list[CoreState]) -> list[CoreState]:
    """States for the next sample when Hebbian traces persist: membranes and spikes cleared,
    ``H``, its timestamps, the plastic clock and the refresh row kept."""
    return [replace(s, u=np.zeros_like(s.u), s=np.zeros_like(s.s)) for s in states]


def _pad(x: np.ndarray, width: int) -> np.ndarray:
    out = np.zeros(x.shape[:-1] + (width,), dtype=np.int64)
    out[..., :x.shape[-1]] = x
    return out


def run_network(model: ChipModel, x_spikes, states: list[CoreState] | None = None
                ) -> NetworkRun:
    """Run the integer network on input spikes ``x_spikes`` (steps, ..., inputs), 0/1
    (values ``0 .. 2**act_bits − 1`` with ``cfg.act_bits > 1``; a layer whose registers
    say ``Mode.ANN`` is a ReLU layer, see :func:`glocal.golden.reference.ann_step`).

    ``states`` (default: all zeros) lets Hebbian traces persist from a previous sample;
    see :func:`next_sample`.
    """
    cfg, layers = model.cfg, model.layers
    x = np.asarray(x_spikes)
    if x.shape[-1] != layers[0].n_in:
        raise ValueError(f"input must have {layers[0].n_in} channels, not {x.shape[-1]}")
    if not np.isin(x, np.arange(cfg.act_max + 1)).all():
        raise ValueError("input must be spikes (0 or 1); analog encodings cannot drive a core"
                         if cfg.act_max == 1 else
                         f"input must be integers in [0, {cfg.act_max}] (act_bits = "
                         f"{cfg.act_bits})")
    x = x.astype(np.int64)
    params = []
    for layer in layers:
        try:
            params.append(layer.wide_params(cfg))
        except ValueError as e:
            raise ValueError(f"layer {layer.name} cannot run on this core: {e}") from None
    states = list(states) if states is not None else zero_states(model, x.shape[1:-1])
    spikes: list[list[np.ndarray]] = [[] for _ in layers[:-1]]
    for xt in x:
        inputs = [_pad(xt, cfg.axons)] + [
            _pad(st.s[..., :layer.n_out], cfg.axons)
            for st, layer in zip(states[:-1], layers[:-1], strict=True)]
        states = [reference.step(cfg, p, st, inp)
                  for p, st, inp in zip(params, states, inputs, strict=True)]
        for out, st, layer in zip(spikes, states[:-1], layers[:-1], strict=True):
            out.append(st.s[..., :layer.n_out])
    membrane = states[-1].u[..., :layers[-1].n_out]
    return NetworkRun(membrane=membrane, prediction=membrane.argmax(-1),
                      spikes=[np.stack(s) for s in spikes], states=states)
