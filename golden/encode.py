"""Input encodings: intensities in [0, 1] → an input sequence of shape (steps, batch, inputs).

``RATE`` and ``LATENCY`` produce 0/1 spikes, which is what a core's axons take; ``DIRECT``
feeds the intensity itself as a constant input current at every step, which only the
float model can use. ``ANALOG`` is the authors' fault-tolerance input: the intensity times
``exp(−t/τ)`` at step ``t``, quantized to ``levels`` (integers ``0 .. levels`` standing for
``x/levels``), which a core built with ``act_bits > 1`` takes as multi-bit axon values.

``drain`` appends zero-input steps, so that a readout one hop behind the first layer sees
every input step (:attr:`glocal.golden.model.Score.MEMBRANE`).
"""

from __future__ import annotations

import enum

import torch

__all__ = ["Encoding", "encode"]


class Encoding(enum.Enum):
    """How an intensity becomes the first layer's input."""

    #: A Bernoulli spike per step with probability = intensity (seeded).
    RATE = "rate"
    #: The intensity as an analog input at every step (float model only).
    DIRECT = "direct"
    #: One spike per input at step ``round((1 − x)·(steps − 1))``; zero intensity: none.
    LATENCY = "latency"
    #: ``rnd(levels·x·exp(−t/τ))``, integers ``0 .. levels`` (multi-bit axon values).
    ANALOG = "analog"

    @property
    def spiking(self) -> bool:
        """Whether the encoding's values can drive the chip (spikes or integer levels)."""
        return self is not Encoding.DIRECT


def encode(x: torch.Tensor, kind: Encoding, steps: int,
           generator: torch.Generator | None = None, *, tau: float = 40.0, levels: int = 1,
           drain: int = 0) -> torch.Tensor:
    """Encode ``x`` (batch, inputs), values in [0, 1], over ``steps`` steps.

    Parameters
    ----------
    x : Tensor
    kind : Encoding
    steps : int
        Input steps; the result has ``steps + drain``.
    generator : torch.Generator, optional
        Random source of ``RATE`` (the same generator state gives the same spikes).
    tau : float
        ``ANALOG``: time constant of the input's ``exp(−t/τ)`` factor, in steps.
    levels : int
        ``ANALOG``: the value that stands for an intensity of 1.
    drain : int
        Zero steps appended after the input.

    Raises
    ------
    ValueError
        If ``x`` has values outside [0, 1], ``steps`` is not positive, ``drain`` is
        negative, or ``ANALOG`` gets ``levels < 1`` or ``tau ≤ 0``.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, not {steps}")
    if drain < 0:
        raise ValueError(f"drain must be non-negative, not {drain}")
    seq = _encode(x, kind, steps, generator, tau, levels)
    if drain:
        seq = torch.cat([seq, seq.new_zeros((drain, *seq.shape[1:]))])
    return seq


def _encode(x, kind: Encoding, steps: int, generator, tau: float, levels: int):
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"intensities must be in [0, 1], found [{x.min():.3g}, {x.max():.3g}]")
    if kind is Encoding.ANALOG:
        if levels < 1 or tau <= 0:
            raise ValueError(f"the analog encoding needs levels ≥ 1 and tau > 0, not "
                             f"levels={levels}, tau={tau}")
        t = torch.arange(steps, dtype=torch.float64).view(steps, *([1] * x.dim()))
        return torch.floor(levels * x.double() * torch.exp(-t / tau) + 0.5).to(x.dtype)
    if kind is Encoding.DIRECT:
        return x.unsqueeze(0).expand(steps, *x.shape).clone()
    if kind is Encoding.RATE:
        r = torch.rand((steps, *x.shape), generator=generator, dtype=x.dtype)
        return (r < x).to(x.dtype)
    if kind is Encoding.LATENCY:
        when = torch.floor((1 - x) * (steps - 1) + 0.5).long()
        t = torch.arange(steps).view(steps, *([1] * x.dim()))
        return ((t == when) & (x > 0)).to(x.dtype)
    raise ValueError(f"unknown encoding {kind!r}")
