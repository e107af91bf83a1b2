"""A trained PyTorch network frozen into a :class:`~glocal.golden.export.ChipModel`.

The one place the float model meets the model file: :func:`from_net` reads each layer's
integer codes (:meth:`glocal.golden.model.Hidden.codes`, which :mod:`~glocal.golden.quant`
computes) and builds the numpy-only model that :mod:`~glocal.golden.export` saves and the
image compiler reads. Compiling and running a model never imports this module or torch.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from glocal.golden import quant
from glocal.golden.export import ChipModel, Plasticity, make_layer
from glocal.golden.model import Net
from glocal.golden.reference import Registers, decay_table

__all__ = ["from_net"]


@torch.no_grad()
def from_net(net: Net, *, encoding: str, hebb_mode: str, metadata: dict | None = None
             ) -> ChipModel:
    """Quantize a trained network into a :class:`ChipModel` (the codes the QAT forward uses).

    A hidden layer's Hebbian mask (``hebb_mask``) becomes its per-synapse plasticity
    enables (:attr:`ChipLayer.plastic`), and the model's cores get ``plastic_mask``. With
    ``hebb_mode`` ``carry`` every plastic layer's ``h0`` is exported (:attr:`ChipLayer.h0`).
    A spiking readout (:attr:`glocal.golden.model.Score.MEMBRANE`) is exported like the
    hidden layers; ``steps`` is the chip's, the input steps and the drain.
    """
    spec, cfg = net.spec, net.spec.cfg
    if any(layer.hebb_mask is not None for layer in net.hidden):
        cfg = replace(cfg, plastic_mask=1)
    layers = []
    spiking = net.spiking
    for n, layer in enumerate(spiking):
        plastic = None
        if layer.hebb_mask is not None:
            if not layer.plastic:
                raise ValueError(f"layer {n} has a Hebbian mask but no Hebbian term "
                                 f"(variant GP); expected hebb_mask None")
            plastic = layer.hebb_mask.detach().cpu().numpy()
        q = layer.codes(True, torch.float64)
        regs = Registers(vth_shift=layer.vth_shift, decay=int(q.decay),
                         alpha=int(quant.to_int(q.alpha, "alpha")), h_max=int(q.h_max),
                         learn=layer.plastic)
        plast = h0 = None
        if layer.plastic:
            plast = Plasticity(alpha=float(layer.alpha), beta=layer.beta.numpy().copy(),
                               eta=layer.eta.numpy().copy(), w_decay=spec.w_decay,
                               h_max=spec.h_max)
            if hebb_mode == "carry":
                h0 = quant.to_int(layer.h0_code(True), "h0")
        layers.append(make_layer(f"layer{n}", layer is net.readout,
                             quant.to_int(q.weight, "weight"),
                             quant.to_int(q.bias, "bias"), quant.to_int(q.beta, "beta"),
                             quant.to_int(q.theta, "theta"),
                             quant.to_int(q.p_table, "p_table"), regs, layer.scale, plast,
                             plastic, h0))
    r = net.readout
    if r not in spiking:
        w, b, sc = r.codes(torch.float64)
        regs = Registers(vth_shift=r.vth_shift, decay=1 << cfg.decay_frac, alpha=0, h_max=0,
                         learn=False)
        layers.append(make_layer(f"layer{len(net.hidden)}", True, quant.to_int(w, "readout weight"),
                             quant.to_int(b, "readout bias"), np.zeros(r.n_in, np.int64),
                             np.zeros(r.n_out, np.int64), decay_table(cfg, spec.w_decay), regs,
                             float(sc)))
    meta = dict(metadata or {})
    if spec.encoding.value == "analog":
        meta.setdefault("analog", {"tau": spec.tau, "levels": spec.in_levels,
                                   "input_steps": spec.steps, "drain": net.drain})
    return ChipModel(cfg, tuple(layers), net.chip_steps, encoding, hebb_mode, meta)
