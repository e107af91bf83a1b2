"""The hybrid-plasticity spiking network as PyTorch modules, float or quantization-aware.

One code path computes the three variants of the paper (:class:`Variant`) in two
precisions (:class:`Precision`):

- ``FLOAT`` is the paper's model (LIF with multiplicative leak and soft reset, Hebbian
  trace with meta-learned ``alpha``, ``beta``, ``eta``), computed in membrane units
  (float quantities divided by the layer scale ``V_th / 2**vth_shift``).
- ``QAT`` reproduces :func:`glocal.golden.reference.step` phase by phase on
  integer-valued tensors (round-half-up shifts, saturation, the ``f`` table, the lazy
  decay table gathered by row age, the round-robin refresh row), with straight-through
  gradients. In float64 its spikes and membranes equal the reference's bit for bit.

Network timing is the chip's: one time step per layer hop. Layer ``l`` at step ``t``
receives layer ``l−1``'s spikes of step ``t−1`` (zeros at ``t = 0``); the input encoding
feeds the first layer directly. The last layer is a non-spiking integrator (no leak, a
threshold at the top of the membrane range, no plasticity); the class is the argmax of
its final membrane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from glocal.golden import fixed, quant
from glocal.golden.encode import encode
from glocal.golden.spec import NetSpec, Precision, Score, Variant

__all__ = ["Variant", "Score", "Precision", "NetSpec", "LayerState", "Output", "Hidden", "Readout",
           "Net", "Codes", "hop"]


@dataclass
class LayerState:
    """A spiking layer's state between steps, as in :class:`~glocal.golden.reference.CoreState`.

    ``hebb`` and ``t_last`` are ``None`` for a layer without plasticity. ``hebb`` is one
    trace per sample (batch, n_in, n_out), or one (n_in, n_out) matrix: with
    ``population`` the batch's shared population trace (float training,
    ``HebbMode.CARRY``), without it the common start of every sample's own trace (a
    layer's ``h0``).
    """

    u: torch.Tensor
    s: torch.Tensor
    hebb: torch.Tensor | None = None
    t_last: torch.Tensor | None = None
    t: int = 0
    refresh: int = 0
    population: bool = False


class Output(NamedTuple):
    """What a network forward pass returns."""

    #: Readout membrane in float units, shape (batch, classes): the logits.
    logits: torch.Tensor
    #: Readout membrane in membrane units (integers in QAT), shape (batch, classes).
    membrane: torch.Tensor
    #: Spikes of every hidden layer, each shape (steps, batch, neurons).
    spikes: list[torch.Tensor]
    #: Final state of every hidden layer (for Hebbian traces kept across samples).
    states: list[LayerState]


class Codes(NamedTuple):
    """A layer's parameters in membrane units (integer codes in QAT), reference order."""

    weight: torch.Tensor
    bias: torch.Tensor
    alpha: torch.Tensor
    beta: torch.Tensor
    theta: torch.Tensor
    p_table: torch.Tensor
    decay: float
    h_max: int


class _Spike(torch.autograd.Function):
    """Heaviside ``u ≥ vth`` with the rectangular surrogate ``height·[|u − vth| < width]``."""

    @staticmethod
    def forward(ctx, u, vth: float, width: float, height: float):
        d = u - vth
        # The surrogate is computed here so that the Python backward is a single op.
        ctx.save_for_backward((d.abs() < width).to(u.dtype).mul_(height))
        return (d >= 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad):
        (surrogate,) = ctx.saved_tensors
        return grad * surrogate, None, None, None


def hop(spikes: torch.Tensor) -> torch.Tensor:
    """Delay a spike sequence (steps, ...) by one step: what the next layer receives."""
    return torch.cat([torch.zeros_like(spikes[:1]), spikes[:-1]])


class Hidden(nn.Module):
    """A spiking layer (one core): LIF with soft reset, optionally with a Hebbian trace.

    Parameters
    ----------
    n_in, n_out : int
    spec : NetSpec
    plastic : bool
        Hebbian term on (LP, HP) or off (GP).
    """

    def __init__(self, n_in: int, n_out: int, spec: NetSpec, *, plastic: bool,
                 in_levels: int = 1) -> None:
        super().__init__()
        self.n_in, self.n_out, self.spec, self.plastic = n_in, n_out, spec, plastic
        self.in_levels = in_levels
        k = spec.w_gain / math.sqrt(n_in)
        self.weight = nn.Parameter(torch.empty(n_in, n_out).uniform_(-k, k))
        self.bias = nn.Parameter(torch.zeros(n_out))
        if plastic:
            def init(value: float, *shape: int) -> torch.Tensor:
                if spec.meta_init == "uniform":  # the authors' U(0, value)
                    return torch.rand(shape) * value
                return torch.full(shape, value)

            self.alpha = nn.Parameter(init(spec.alpha0).reshape(()))
            self.beta = nn.Parameter(init(spec.beta0, n_in))
            self.eta = nn.Parameter(init(spec.eta0, n_out))
            #: The trace every sample starts from, paper units (n_in, n_out): zero, or the
            #: population trace carried through training (``Trace.CARRY``); exported as the
            #: layer's ``h0``.
            self.register_buffer("h0", torch.zeros(n_in, n_out))
        #: Threshold exponent of this layer's core (``V_th = 2**vth_shift`` membrane units):
        #: ``spec.vth_shift`` unless :meth:`fit_vth_shift` chose one for the weights.
        self.vth_shift = spec.vth_shift
        #: Optional (n_in, n_out) 0/1 tensor: synapses where the Hebbian trace may learn
        #: (the continual-learning experiment's ``1 − M``). ``None``: every synapse. It
        #: exports as the layer's per-synapse plasticity enables (cores with plastic_mask).
        self.hebb_mask: torch.Tensor | None = None

    @property
    def scale(self) -> float:
        """Float value of one membrane unit, ``V_th / 2**vth_shift``."""
        return quant.hidden_scale(self.spec.vth, self.vth_shift)

    @torch.no_grad()
    def fit_vth_shift(self) -> int:
        """Set :attr:`vth_shift` to the largest exponent at which no weight, bias or
        ``theta`` code saturates, leaving the membrane ``u_bits`` room for ±8 thresholds
        (the finest membrane units the trained values allow); returns it."""
        spec, cfg = self.spec, self.spec.cfg
        lo, hi = cfg.vth_shift_range
        hi = max(lo, min(hi, cfg.u_bits - 4))
        w = float(self.weight.abs().max()) / self.in_levels
        b = float(self.bias.abs().max())
        eta = float(self.eta.abs().max()) if self.plastic else 0.0
        shift = lo
        for k in range(hi, lo - 1, -1):
            sc = quant.hidden_scale(spec.vth, k)
            if (w / sc <= fixed.smax(cfg.w_bits) and b / sc <= fixed.smax(cfg.bias_bits)
                    and eta * (1 << k) <= fixed.smax(cfg.theta_bits)):
                shift = k
                break
        self.vth_shift = shift
        return shift

    def base_parameters(self) -> list[nn.Parameter]:
        return [self.weight, self.bias]

    def meta_parameters(self) -> list[nn.Parameter]:
        return [self.alpha, self.beta, self.eta] if self.plastic else []

    def zero_state(self, batch: int, dtype=torch.float32, exact: bool = False) -> LayerState:
        """A sample's start: membranes and spikes zero, every sample's trace starting from
        ``h0`` (in ``2**-h_frac`` units, quantized and clamped if ``exact``), timestamps
        and clocks 0."""
        z = torch.zeros(batch, self.n_out, dtype=dtype)
        if not self.plastic:
            return LayerState(u=z, s=z.clone())
        return LayerState(u=z, s=z.clone(), hebb=self.h0_code(exact, dtype),
                          t_last=torch.zeros(batch, self.n_in, dtype=torch.long))

    def h0_code(self, exact: bool, dtype=torch.float64) -> torch.Tensor:
        """``h0`` in ``2**-h_frac`` units: the chip's integer codes if ``exact``."""
        cfg = self.spec.cfg
        return quant.hebb(self.h0, quant.h_max(self.spec.h_max, cfg), cfg, exact).to(dtype)

    def codes(self, exact: bool, dtype=torch.float64) -> Codes:
        """The layer's parameters in membrane units: the chip's integer codes if ``exact``.

        The one place a spiking layer's floats meet :mod:`~glocal.golden.quant`; the
        forward pass and the model export both read it.
        """
        spec, cfg, sc = self.spec, self.spec.cfg, self.scale
        decay = quant.decay(spec.decay, cfg) if exact else spec.decay * (1 << cfg.decay_frac)
        # An input of value k stands for k / in_levels: the codes of everything an input
        # multiplies (W, alpha·H, beta) absorb the 1 / in_levels.
        lv = self.in_levels
        w = quant.weight(self.weight / lv, sc, cfg, exact).to(dtype)
        b = quant.bias(self.bias, sc, cfg, exact).to(dtype)
        if not self.plastic:
            zero = torch.zeros((), dtype=dtype)
            return Codes(w, b, zero, torch.zeros(self.n_in, dtype=dtype),
                         torch.zeros(self.n_out, dtype=dtype),
                         quant.p_table(cfg, spec.w_decay, exact).to(dtype), decay, 0)
        return Codes(w, b, quant.alpha(self.alpha / lv, sc, cfg, exact).to(dtype),
                     quant.beta(self.beta / lv, cfg, exact).to(dtype),
                     quant.theta(self.eta, self.vth_shift, cfg, exact).to(dtype),
                     quant.p_table(cfg, spec.w_decay, exact).to(dtype), decay,
                     quant.h_max(spec.h_max, cfg))

    def forward(self, x_seq: torch.Tensor, precision: Precision,
                state: LayerState | None = None, keep_trace: bool = True
                ) -> tuple[torch.Tensor, LayerState]:
        """Run ``x_seq`` (steps, batch, n_in); returns the spikes (steps, batch, n_out) and
        the final state. ``state`` (default: :meth:`zero_state`) gives membranes and
        Hebbian traces.

        A state whose ``hebb`` is one (n_in, n_out) matrix rather than one per sample is a
        *population* trace (float only): every sample reads it, and each step adds the
        batch mean of the samples' increments — the authors' training-time form, whose
        end is carried to the next batch (``HebbMode.CARRY``). Without ``population`` it
        is the common start of every sample's own trace; the float model then keeps each
        sample's trace as that start plus its ``steps`` rank-one increments (exact while
        no entry can reach the clamp, which it checks; otherwise it runs the full
        per-sample traces). ``keep_trace=False`` (evaluation) returns no final trace.
        """
        spec, cfg = self.spec, self.spec.cfg
        exact = precision is Precision.QAT
        dt = x_seq.dtype
        q = self.codes(exact, dt)
        vth_int = float(1 << self.vth_shift)
        # Rectangular window of half-width 0.5 and height 1 in paper units.
        spike_args = (vth_int, 0.5 / self.scale, self.scale)
        st = state if state is not None else self.zero_state(x_seq.shape[1], dt, exact)
        u, s = st.u, st.s
        # The input does not depend on the state: one matmul for all steps.
        acc = torch.addmm(q.bias, x_seq.flatten(0, 1), q.weight).view(*x_seq.shape[:2], -1)
        leak = spec.decay
        decay, a, beta, theta, p, hmax = q.decay, q.alpha, q.beta, q.theta, q.p_table, q.h_max
        out = []
        if self.plastic:
            mask = (1 << cfg.ts_bits) - 1
            rows = torch.arange(self.n_in)
            table = torch.tensor(fixed.F_TABLE, dtype=dt)
            hebb, t_last, t, refresh = st.hebb, st.t_last, st.t, st.refresh
            shared = st.population
            if shared and exact:
                raise ValueError("a population (batch-mean) trace is a float training form; "
                                 "the integer model runs one trace per sample")
            low = None
            if hebb.dim() == 2 and not shared:
                # Every sample starts from one matrix. Its trace after k steps is
                # w**k·H0 + Σ w**(k−1−τ)·a_τ⊗f_τ (a = beta·x scaled): each sample's current
                # needs only the scalars x·a_τ, unless an entry could reach the clamp.
                x_max = float(x_seq.detach().abs().max())
                reach = float(hebb.abs().max()) + x_seq.shape[0] * 128 * float(
                    beta.detach().abs().max() * x_max) / (1 << cfg.learn_shift)
                if exact or self.hebb_mask is not None or reach >= hmax:
                    hebb = hebb.expand(x_seq.shape[1], -1, -1).clone()
                else:
                    low = (hebb, [], [])
        # unbind, not indexing: one backward node for all steps instead of one each.
        for i, x in zip(acc.unbind(0), x_seq.unbind(0), strict=True):
            if self.plastic:
                t = (t + 1) & mask
                if exact:
                    aged = quant.rshift(p[(t - t_last) & mask][..., None] * hebb, cfg.p_frac,
                                        True)
                    acc_h = torch.bmm(x[:, None, :], aged)[:, 0]
                elif shared:
                    acc_h = spec.w_decay * (x @ hebb)
                elif low is not None:
                    h0, pre, post = low
                    w, k = spec.w_decay, len(pre)
                    acc_h = (w ** k) * (x @ h0)
                    for tau, (a_tau, f_tau) in enumerate(zip(pre, post, strict=True)):
                        acc_h = acc_h + (w ** (k - 1 - tau)) * (x * a_tau).sum(1, keepdim=True
                                                                               ) * f_tau
                    acc_h = w * acc_h
                else:
                    # Unrounded, the lazy decay equals decaying every row at every step,
                    # and x·(w·H) = w·(x·H) needs no aged copy of H.
                    acc_h = spec.w_decay * torch.bmm(x[:, None, :], hebb)[:, 0]
                i = i + quant.rshift(a * acc_h, cfg.alpha_frac, exact)
            if exact:
                u = quant.saturate(
                    quant.rshift(decay * (u - s * vth_int), cfg.decay_frac, True) + i, cfg.u_bits)
            else:  # the same without rounding, in two fused ops
                u = torch.add(i, torch.sub(u, s, alpha=vth_int), alpha=leak)
            s = _Spike.apply(u, *spike_args)
            out.append(s)
            if self.plastic:
                f = _post(u, theta, self.vth_shift, table, exact)
                if exact:
                    delta = quant.rshift(beta[:, None] * f[:, None, :], cfg.learn_shift, True)
                    if self.hebb_mask is not None:
                        delta = delta * self.hebb_mask
                    new = torch.clamp(aged + delta * x[:, :, None], -hmax, hmax)
                    touched = (x != 0) | (rows == refresh)
                    hebb = torch.where(touched[..., None], new, hebb)
                    t_last = torch.where(touched, t, t_last)
                elif low is not None:
                    low[1].append(beta * x / (1 << cfg.learn_shift))
                    low[2].append(f)
                elif shared:
                    # The batch mean of the per-sample increments, one matmul.
                    bx = beta * x / (x.shape[0] << cfg.learn_shift)
                    delta = bx.T @ f
                    if self.hebb_mask is not None:
                        delta = delta * self.hebb_mask
                    hebb = torch.clamp(spec.w_decay * hebb + delta, -hmax, hmax)
                else:
                    # w·H + (beta·x)⊗f / 2**learn_shift in one fused op. An untouched row's
                    # new value is its aged one, so every row is stored.
                    bx = (beta * x / (1 << cfg.learn_shift))[:, :, None]
                    if self.hebb_mask is None:
                        hebb = torch.clamp(torch.baddbmm(hebb, bx, f[:, None, :],
                                                         beta=spec.w_decay), -hmax, hmax)
                    else:
                        hebb = torch.clamp(spec.w_decay * hebb
                                           + torch.bmm(bx, f[:, None, :]) * self.hebb_mask,
                                           -hmax, hmax)
                    t_last = torch.full_like(t_last, t)
                refresh = (refresh + 1) % cfg.axons
        if self.plastic:
            if low is not None:
                h0, pre, post = low
                k = len(pre)
                hebb = None
                if keep_trace:
                    w = spec.w_decay
                    hebb = (w ** k) * h0.expand(x_seq.shape[1], -1, -1)
                    for tau, (a_tau, f_tau) in enumerate(zip(pre, post, strict=True)):
                        hebb = hebb + (w ** (k - 1 - tau)) * a_tau[:, :, None] * f_tau[:, None]
            elif not keep_trace:
                hebb = None
            final = LayerState(u=u, s=s, hebb=hebb, t_last=t_last, t=t, refresh=refresh,
                               population=shared)
        else:
            final = LayerState(u=u, s=s)
        return torch.stack(out), final


def _post(u, theta, vth_shift: int, table, exact: bool):
    """Post-synaptic term ``f`` in ``2**-F_FRAC`` units: the table (exact) or 128·tanh."""
    z = (u - theta) / (1 << vth_shift)
    smooth = (1 << fixed.F_FRAC) * torch.tanh(z)
    if not exact:
        return smooth
    half = fixed.F_SIZE // 2
    idx = torch.clamp(torch.floor((u - theta) / (1 << (vth_shift - fixed.F_IN_FRAC))),
                      -half, half - 1)
    return smooth + (table[idx.long() + half] - smooth).detach()


class Readout(nn.Module):
    """The non-spiking integrator on the last core: no leak, no plasticity.

    On chip it is a core with ``decay = 2**decay_frac``, ``vth_shift`` at its maximum,
    ``alpha = 0`` and learning off; QAT runs exactly that (saturation and, should the
    membrane ever reach the threshold, its soft reset included).
    """

    def __init__(self, n_in: int, n_out: int, spec: NetSpec) -> None:
        super().__init__()
        self.n_in, self.n_out, self.spec = n_in, n_out, spec
        k = 1.0 / math.sqrt(n_in)
        self.weight = nn.Parameter(torch.empty(n_in, n_out).uniform_(-k, k))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.vth_shift = spec.cfg.vth_shift_range[1]

    def base_parameters(self) -> list[nn.Parameter]:
        return [self.weight, self.bias]

    def meta_parameters(self) -> list[nn.Parameter]:
        return []

    def scale(self) -> torch.Tensor:
        return quant.readout_scale(self.weight, self.spec.cfg)

    def codes(self, dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Integer weight and bias codes and the scale they were made with."""
        cfg, sc = self.spec.cfg, self.scale()
        return (quant.weight(self.weight, sc, cfg, True).to(dtype),
                quant.bias(self.bias, sc, cfg, True).to(dtype), sc)

    def forward(self, spikes: torch.Tensor, precision: Precision) -> tuple[torch.Tensor,
                                                                             torch.Tensor]:
        """Final membrane for the previous layer's ``spikes`` (steps, batch, n_in), which
        reach this core one step later: (float units, membrane units)."""
        cfg = self.spec.cfg
        if precision is Precision.FLOAT:
            # A lossless integrator that never fires: the membrane is the summed current,
            # and the one-step hop drops the last step's spikes.
            logits = torch.addmm(spikes.shape[0] * self.bias, spikes[:-1].sum(0),
                                 self.weight.to(spikes.dtype))
            return logits, logits / self.scale()
        w, b, sc = self.codes(spikes.dtype)
        vth = float(1 << self.vth_shift)
        u = torch.zeros(spikes.shape[1], self.n_out, dtype=spikes.dtype)
        s = torch.zeros_like(u)
        for i in (hop(spikes) @ w + b).unbind(0):
            # decay = 2**decay_frac: rnd(decay·v) = v exactly.
            u = quant.saturate(u - s * vth + i, cfg.u_bits)
            s = (u >= vth).to(u.dtype)
        return u * sc, u


class Net(nn.Module):
    """Input → spiking (plastic) hidden layers → readout, one core per layer.

    The readout is a :class:`Readout` integrator (``Score.INTEGRATE``) or one more
    :class:`Hidden` layer whose final membrane is the score (``Score.MEMBRANE``).
    """

    def __init__(self, spec: NetSpec) -> None:
        super().__init__()
        self.spec = spec
        plastic = spec.variant is not Variant.GP
        pairs = list(zip(spec.sizes[:-2], spec.sizes[1:-1], strict=True))
        self.hidden = nn.ModuleList([
            Hidden(a, b, spec, plastic=plastic, in_levels=spec.in_levels if n == 0 else 1)
            for n, (a, b) in enumerate(pairs)])
        self.readout: Readout | Hidden
        if spec.readout is Score.MEMBRANE:
            self.readout = Hidden(spec.sizes[-2], spec.sizes[-1], spec, plastic=plastic)
        else:
            self.readout = Readout(spec.sizes[-2], spec.sizes[-1], spec)
        if spec.variant is Variant.LP:
            for layer in self.hidden:
                for p in layer.base_parameters():
                    p.requires_grad_(False)

    @property
    def drain(self) -> int:
        """Zero-input steps after the input, so that a membrane readout ``len(hidden)``
        hops behind the first layer integrates every input step."""
        return len(self.hidden) if isinstance(self.readout, Hidden) else 0

    @property
    def chip_steps(self) -> int:
        """Steps a sample takes on the chip: the input steps and the drain."""
        return self.spec.steps + self.drain

    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        """Intensities ``x`` (batch, inputs) in [0, 1] as this network's input,
        (:attr:`chip_steps`, batch, inputs) (:func:`glocal.golden.encode.encode`)."""
        spec = self.spec
        return encode(x, spec.encoding, spec.steps, generator, tau=spec.tau,
                      levels=spec.in_levels, drain=self.drain)

    @property
    def spiking(self) -> list[Hidden]:
        """The layers that carry a :class:`LayerState`, in order (the readout too if it
        is a spiking layer)."""
        tail = [self.readout] if isinstance(self.readout, Hidden) else []
        return [*self.hidden, *tail]

    def base_parameters(self) -> list[nn.Parameter]:
        ps = [p for m in [*self.hidden, self.readout] for p in m.base_parameters()]
        return [p for p in ps if p.requires_grad]

    def meta_parameters(self) -> list[nn.Parameter]:
        return [p for m in self.spiking for p in m.meta_parameters()]

    def fit_vth_shifts(self) -> list[int]:
        """:meth:`Hidden.fit_vth_shift` of every spiking layer (before QAT or export)."""
        return [layer.fit_vth_shift() for layer in self.spiking]

    def zero_states(self, batch: int, dtype=torch.float32, exact: bool = False
                    ) -> list[LayerState]:
        """Every spiking layer at a sample's start (:meth:`Hidden.zero_state`)."""
        return [layer.zero_state(batch, dtype, exact) for layer in self.spiking]

    def forward(self, x_seq: torch.Tensor, precision: Precision = Precision.FLOAT,
                states: list[LayerState] | None = None, keep_trace: bool = True) -> Output:
        """Run a batch of encoded inputs ``x_seq`` (steps, batch, inputs).

        ``states`` (default: each layer's :meth:`~Hidden.zero_state`) has one entry per
        layer of :attr:`spiking`; ``keep_trace=False``: the final states carry no trace.
        """
        spikes, finals = [], []
        s = x_seq
        for n, layer in enumerate(self.spiking):
            s, st = layer(s if n == 0 else hop(s), precision,
                          None if states is None else states[n], keep_trace)
            spikes.append(s)
            finals.append(st)
        if isinstance(self.readout, Hidden):
            spikes.pop()
            membrane = finals[-1].u
            return Output(membrane / (1 << self.readout.vth_shift), membrane, spikes, finals)
        logits, membrane = self.readout(s, precision)
        return Output(logits, membrane, spikes, finals)
