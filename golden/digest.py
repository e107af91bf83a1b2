"""Checksums of the project's files (the model file, the chip image): defined once.

An array's digest covers its dtype and shape as well as its bytes, so a reshaped or
retyped array does not pass for the original; a manifest's digest covers every entry but
its own ``manifest_sha256``.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

__all__ = ["array_sha256", "manifest_sha256"]


def array_sha256(a: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and bytes."""
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def manifest_sha256(manifest: dict) -> str:
    """SHA-256 of a JSON manifest without its own ``manifest_sha256`` entry."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
