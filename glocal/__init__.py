"""glocal: an open neuromorphic chip that learns on chip (hybrid global-local plasticity)."""

__version__ = "0.1.0"
