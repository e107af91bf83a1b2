"""Input encodings: intensities in [0, 1] → an input sequence of shape (steps, batch, inputs).

``RATE`` and ``LATENCY`` produce 0/1 spikes, which is what a core's axons take; ``DIRECT``
feeds the intensity itself as a constant input current at every step, which only the
float model can use (the chip's axons carry spikes, not values).
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

    @property
    def spiking(self) -> bool:
        """Whether the encoding produces spikes, i.e. can drive the chip."""
        return self is not Encoding.DIRECT


def encode(x: torch.Tensor, kind: Encoding, steps: int,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Encode ``x`` (batch, inputs), values in [0, 1], over ``steps`` steps.

    Parameters
    ----------
    x : Tensor
    kind : Encoding
    steps : int
    generator : torch.Generator, optional
        Random source of ``RATE`` (the same generator state gives the same spikes).

    Raises
    ------
    ValueError
        If ``x`` has values outside [0, 1] or ``steps`` is not positive.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, not {steps}")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"intensities must be in [0, 1], found [{x.min():.3g}, {x.max():.3g}]")
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
