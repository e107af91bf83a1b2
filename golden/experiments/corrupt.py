"""Input corruptions of the fault-tolerance experiment (paper: Gaussian, salt, pepper,
salt-and-pepper and speckle noise of variance/probability ``0.01·i``, centred occlusion).

Pure functions on intensities in [0, 1], shape (samples, inputs), with an explicit
``numpy.random.Generator``; every result is clipped to [0, 1]. Level 0 returns the input
unchanged. The semantics follow ``skimage.util.random_noise``: ``salt`` sets a fraction
``amount`` of the pixels to 1, ``pepper`` to 0, ``s&p`` does both (half each), ``speckle``
adds ``x·n`` with ``n ~ N(0, var)``.
"""

from __future__ import annotations

import enum
import math

import numpy as np

__all__ = ["Noise", "AUTHORS_SCALE", "corrupt", "gaussian", "salt", "pepper", "salt_pepper",
           "speckle", "occlude", "noise_levels", "occlusion_levels"]


class Noise(enum.StrEnum):
    GAUSSIAN = "gaussian"
    SALT = "salt"
    PEPPER = "pepper"
    SALT_PEPPER = "s&p"
    SPECKLE = "speckle"
    OCCLUSION = "occlusion"


def _check_level(name: str, level: float) -> None:
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], not {level!r}")


def gaussian(x: np.ndarray, var: float, rng: np.random.Generator) -> np.ndarray:
    """``x + N(0, var)``, clipped."""
    _check_level("Gaussian variance", var)
    return np.clip(x + rng.normal(0.0, math.sqrt(var), x.shape), 0.0, 1.0).astype(x.dtype)


def _replace(x: np.ndarray, amount: float, salt_fraction: float,
             rng: np.random.Generator) -> np.ndarray:
    hit = rng.random(x.shape) < amount
    salt = rng.random(x.shape) < salt_fraction
    out = x.copy()
    out[hit & salt] = 1.0
    out[hit & ~salt] = 0.0
    return out


def salt(x: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Each pixel set to 1 with probability ``amount``."""
    _check_level("salt amount", amount)
    return _replace(x, amount, 1.0, rng)


def pepper(x: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Each pixel set to 0 with probability ``amount``."""
    _check_level("pepper amount", amount)
    return _replace(x, amount, 0.0, rng)


def salt_pepper(x: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Each pixel replaced with probability ``amount``, by 1 or 0 with equal odds."""
    _check_level("salt-and-pepper amount", amount)
    return _replace(x, amount, 0.5, rng)


def speckle(x: np.ndarray, var: float, rng: np.random.Generator) -> np.ndarray:
    """``x + x·N(0, var)``, clipped: multiplicative noise, none on black pixels."""
    if var < 0:
        raise ValueError(f"speckle variance must be non-negative, not {var!r}")
    return np.clip(x + x * rng.normal(0.0, math.sqrt(var), x.shape), 0.0, 1.0).astype(x.dtype)


def occlude(x: np.ndarray, side: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Zero a centred ``side × side`` square of each square image (flattened rows).

    ``rng`` is unused (occlusion is deterministic); it keeps the signature of the others.
    """
    width = math.isqrt(x.shape[-1])
    if width * width != x.shape[-1]:
        raise ValueError(f"occlusion needs square images, not {x.shape[-1]} inputs")
    if not 0 <= side <= width or (width - side) % 2:
        raise ValueError(f"occlusion side must be in [0, {width}] with the same parity as "
                         f"the image width {width} (so that it is centred), not {side}")
    lo = (width - side) // 2
    img = x.reshape(*x.shape[:-1], width, width).copy()
    img[..., lo:lo + side, lo:lo + side] = 0.0
    return img.reshape(x.shape)


_FUNCS = {Noise.GAUSSIAN: gaussian, Noise.SALT: salt, Noise.PEPPER: pepper,
          Noise.SALT_PEPPER: salt_pepper, Noise.SPECKLE: speckle, Noise.OCCLUSION: occlude}


def corrupt(x: np.ndarray, noise: Noise, level: float, rng: np.random.Generator) -> np.ndarray:
    """Apply ``noise`` at ``level`` (variance, probability, or square side for occlusion)."""
    if noise is Noise.OCCLUSION:
        return occlude(x, int(level))
    return _FUNCS[Noise(noise)](x, float(level), rng)


#: The authors' test scripts pass level ``va = 0.01·i`` to skimage's ``random_noise`` as
#: these multiples (``test_fashion_noise.py``): pepper ``6·va``, salt & pepper ``2·va``,
#: speckle ``10000·va``; Gaussian and salt ``va`` itself.
AUTHORS_SCALE = {Noise.GAUSSIAN: 1.0, Noise.SALT: 1.0, Noise.PEPPER: 6.0,
                 Noise.SALT_PEPPER: 2.0, Noise.SPECKLE: 10000.0, Noise.OCCLUSION: 1.0}


def noise_levels(count: int = 15) -> list[float]:
    """The paper's levels ``0.01·i``, ``i = 0 … count−1``."""
    return [round(0.01 * i, 2) for i in range(count)]


def occlusion_levels(inputs: int) -> list[int]:
    """Square sides ``2i`` up to the image width (paper: ``i = 0 … 9`` on 28×28)."""
    width = math.isqrt(inputs)
    return list(range(width % 2, min(width, 18) + 1, 2))
