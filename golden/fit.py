"""The one training loop of the project (:func:`fit`) and its settings.

Each batch takes one or two optimizer steps: on the base parameters (``W``, ``b``) and on
the meta-local parameters (``alpha``, ``beta``, ``eta``) — with a held-out meta batch
(the paper's bilevel form, first order) or on the same gradients (the authors' code).
The Hebbian trace is part of the autograd graph, so the meta gradient flows through its
dynamics. ``glocal train`` (:mod:`glocal.golden.train`) and every experiment call it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from rich.progress import Progress

from glocal.golden.model import LayerState, Net, Precision

__all__ = ["HebbMode", "FitSettings", "fit", "update", "loss_of", "population_states",
           "carry", "meta_batch", "fresh"]


class HebbMode(enum.StrEnum):
    """Hebbian state between samples.

    ``RESET`` (the default: it scored better on digits, see ``docs/golden.md``) zeroes the
    trace, its timestamps, the plastic clock and the refresh row at every sample start;
    ``PERSIST`` carries them from sample to sample, as a chip running a stream would.
    ``CARRY`` is the authors' fault-tolerance form: in training, every layer keeps one
    *population* trace, the batch mean of the samples' increments, carried from batch to
    batch; its value at the end of training is the layer's ``h0``, and every sample —
    in evaluation and on the chip — starts from ``h0`` (timestamps, clock and refresh row
    at zero) and evolves its own copy, which is then discarded.
    """

    RESET = "reset"
    PERSIST = "persist"
    CARRY = "carry"


@dataclass(frozen=True)
class FitSettings:
    """How :func:`fit` trains; the defaults are the digits settings we report.

    Members
    -------
    epochs, qat_epochs : int
        Epochs in all, and how many of the last ones run the QAT forward pass. Under
        ``HebbMode.CARRY`` the QAT epochs start every sample from the ``h0`` the float
        epochs carried to (the population trace is a float construct).
    batch : int
    lr, meta_lr : float
        Adam rates of the global weights and of the meta-parameters.
    meta_split : float
        ``meta_step="split"``: the fraction of the samples held out for the meta step.
    meta_step : str
        ``"split"``: after the weight step, a second forward pass on a batch of the meta
        split updates the meta-parameters (the paper's bilevel form, first order).
        ``"joint"``: the authors' code — one forward and backward pass, then both
        optimizers step on its gradients.
    loss : str
        ``"ce"``: cross-entropy on the scores. ``"mse"``: the authors' — mean squared
        error between ``clamp(score, max=1.1)`` and the one-hot target.
    schedule : str
        ``"cosine"`` annealing of the weights' rate, or ``"constant"`` (the authors').
    hebb_mode : HebbMode
    """

    epochs: int = 12
    qat_epochs: int = 3
    batch: int = 32
    lr: float = 2e-3
    meta_lr: float = 5e-3
    meta_split: float = 0.1
    meta_step: str = "split"
    loss: str = "ce"
    schedule: str = "cosine"
    hebb_mode: HebbMode = HebbMode.RESET

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, not {self.epochs}")
        if not 0 <= self.qat_epochs <= self.epochs:
            raise ValueError(f"qat_epochs must be in [0, epochs={self.epochs}], "
                             f"not {self.qat_epochs}")
        if not 0 <= self.meta_split < 1:
            raise ValueError(f"meta_split must be in [0, 1), not {self.meta_split}")
        for name, allowed in (("meta_step", ("split", "joint")), ("loss", ("ce", "mse")),
                              ("schedule", ("cosine", "constant"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not "
                                 f"{getattr(self, name)!r}")
        if self.hebb_mode not in tuple(HebbMode):
            raise ValueError(f"hebb_mode must be one of {[m.value for m in HebbMode]}, "
                             f"not {self.hebb_mode!r}")
        object.__setattr__(self, "hebb_mode", HebbMode(self.hebb_mode))


def fresh(states: list[LayerState] | None, batch: int) -> list[LayerState] | None:
    """Carry Hebbian state to the next sample of each stream; membranes start at zero."""
    if states is None:
        return None
    out = []
    for s in states:
        z = torch.zeros_like(s.u[:batch])
        out.append(replace(s, u=z, s=z.clone(),
                           hebb=None if s.hebb is None else s.hebb[:batch].detach(),
                           t_last=None if s.t_last is None else s.t_last[:batch]))
    return out


def update(loss, base_opt, meta_opt, *, meta: bool = False, joint: bool = False) -> None:
    """One step of the bi-level scheme: ``loss`` updates the global weights (``base_opt``),
    or with ``meta`` the plasticity parameters (``meta_opt``); both gradients are cleared
    first, so neither optimiser sees the other's loss. ``joint``: both optimisers step on
    this one loss's gradients (the authors' code)."""
    base_opt.zero_grad()
    if meta_opt:
        meta_opt.zero_grad()
    loss.backward()
    if joint:
        base_opt.step()
        if meta_opt:
            meta_opt.step()
        return
    (meta_opt if meta else base_opt).step()


def loss_of(logits: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """The training loss of :attr:`FitSettings.loss` on scores ``logits``."""
    if kind == "mse":
        target = F.one_hot(y, logits.shape[-1]).to(logits.dtype)
        return F.mse_loss(logits.clamp(max=1.1), target)
    return F.cross_entropy(logits, y)


def population_states(net: Net, batch: int, dtype=torch.float32) -> list[LayerState]:
    """Start states of a training batch under ``HebbMode.CARRY``: membranes at zero and,
    in every plastic layer, the shared population trace ``h0`` (one matrix for the batch,
    see :meth:`glocal.golden.model.Hidden.forward`)."""
    out = []
    for layer in net.spiking:
        z = torch.zeros(batch, layer.n_out, dtype=dtype)
        if not layer.plastic:
            out.append(LayerState(u=z, s=z.clone()))
            continue
        out.append(LayerState(u=z, s=z.clone(), hebb=layer.h0_code(False, dtype),
                              t_last=torch.zeros(batch, layer.n_in, dtype=torch.long),
                              population=True))
    return out


@torch.no_grad()
def carry(net: Net, states: list[LayerState]) -> None:
    """Store a batch's final population traces as the layers' ``h0`` (paper units)."""
    for layer, st in zip(net.spiking, states, strict=True):
        if layer.plastic:
            layer.h0.copy_(st.hebb / (1 << net.spec.cfg.h_frac))


def fit(net: Net, x: np.ndarray, y: np.ndarray, settings: FitSettings, seed: int, *,
        base=None, meta=None, bar: Progress | None = None, label: str = "train",
        model=None, rank: int = 0, world: int = 1, on_epoch=None) -> Net:
    """Train ``net`` on ``x`` (samples, inputs) intensities or (samples, steps, inputs)
    event frames, labels ``y``: the one training loop of the project.

    Each batch: the loss (:attr:`FitSettings.loss`) of a training batch updates the
    global weights and, as :attr:`FitSettings.meta_step` says, the meta-parameters. The
    last ``qat_epochs`` epochs run the QAT forward pass. Inputs are encoded afresh for
    every batch by :meth:`glocal.golden.model.Net.encode` with a generator seeded by
    ``seed`` (and ``rank``).

    Parameters
    ----------
    base, meta : sequence of Parameter, optional
        What each optimizer trains (default: the network's own lists); the continual
        experiment passes the masked weights' originals here.
    model : Module, optional
        What runs the forward pass (a DistributedDataParallel wrapper of ``net``).
    rank, world : int
        This process's shard of every epoch (``torchrun``).
    on_epoch : callable, optional
        ``on_epoch(epoch, precision, stats) -> str``, after every epoch; ``stats`` has
        the epoch's mean ``loss`` and ``train_acc``; the string is shown on the bar.
    """
    model = net if model is None else model
    s = settings
    base = list(net.base_parameters() if base is None else base)
    meta = list(net.meta_parameters() if meta is None else meta)
    base_opt = torch.optim.Adam(base, lr=s.lr)
    meta_opt = torch.optim.Adam(meta, lr=s.meta_lr) if meta else None
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(base_opt, s.epochs)
             if s.schedule == "cosine" else None)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    split = meta_opt is not None and s.meta_step == "split"
    k = int(round(len(y) * s.meta_split)) if split else 0
    tr_idx, meta_idx = perm[k:], perm[:k]
    if split and not len(meta_idx):
        meta_idx = tr_idx  # meta_split = 0: the meta step takes other training batches
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed * 1000 + rank)

    def batch_input(idx) -> torch.Tensor:
        if xt.dim() == 3:  # event frames
            return xt[idx].transpose(0, 1)
        return net.encode(xt[idx], gen)

    task = bar.add_task(label, total=s.epochs, info="") if bar else None
    for epoch in range(s.epochs):
        precision = (Precision.QAT if epoch >= s.epochs - s.qat_epochs else Precision.FLOAT)
        population = s.hebb_mode == HebbMode.CARRY and precision is Precision.FLOAT
        order = rng.permutation(tr_idx)[rank::world]
        meta_order = rng.permutation(meta_idx)[rank::world] if split else meta_idx
        # Every rank takes the same number of batches, so DDP's all-reduces pair up.
        n_batches = max(1, len(tr_idx) // world // s.batch)
        states = meta_states = None
        tot_loss = tot_ok = tot_n = 0.0
        net.train()
        for b in range(n_batches):
            idx = order[b * s.batch:(b + 1) * s.batch]
            start = (population_states(net, len(idx)) if population
                     else fresh(states, len(idx)))
            out = model(batch_input(idx), precision, start)
            loss = loss_of(out.logits, yt[idx], s.loss)
            update(loss, base_opt, meta_opt, joint=not split)
            if population:
                carry(net, out.states)
            elif s.hebb_mode == HebbMode.PERSIST:
                states = out.states
            tot_loss += float(loss.detach()) * len(idx)
            tot_ok += float((out.logits.argmax(1) == yt[idx]).sum())
            tot_n += len(idx)
            if split and len(meta_order):
                midx = meta_batch(meta_order, b, s.batch)
                mout = model(batch_input(midx), precision, fresh(meta_states, len(midx)))
                update(loss_of(mout.logits, yt[midx], s.loss), base_opt, meta_opt, meta=True)
                if s.hebb_mode == HebbMode.PERSIST:
                    meta_states = mout.states
        if sched is not None:
            sched.step()
        stats = {"loss": tot_loss / max(tot_n, 1), "train_acc": tot_ok / max(tot_n, 1)}
        info = f"loss {stats['loss']:.3f}"
        if on_epoch is not None:
            net.eval()
            info = on_epoch(epoch, precision, stats) or info
        if bar is not None:
            bar.update(task, advance=1, info=info)
    if bar is not None:
        bar.remove_task(task)
    return net.eval()


def meta_batch(meta_order, b: int, batch: int):
    """The meta-learning batch that follows training batch ``b``: a window of
    ``meta_order`` that cycles through it."""
    k = (b * batch) % max(len(meta_order) - batch + 1, 1)
    return meta_order[k:k + batch]
