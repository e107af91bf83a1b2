"""Training plots as PNG files (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

__all__ = ["curves", "raster"]


def curves(history: list[dict], path, title: str = "") -> Path:
    """Loss and accuracy per epoch."""
    ep = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(ep, [h["loss"] for h in history])
    a.set(xlabel="epoch", ylabel="training loss", title="loss")
    b.plot(ep, [h["train_acc"] for h in history], label="train")
    b.plot(ep, [h["test_acc"] for h in history], label="test")
    b.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    b.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def raster(inputs: np.ndarray, layers: list[np.ndarray], path, title: str = "") -> Path:
    """Spike raster of one sample: the input spikes and each hidden layer's, (steps, n)."""
    panels = [("input", inputs)] + [(f"hidden {n}", s) for n, s in enumerate(layers)]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.5 * len(panels)), sharex=True)
    for ax, (name, s) in zip(np.atleast_1d(axes), panels, strict=True):
        t, n = np.nonzero(s)
        ax.scatter(t, n, s=4, marker="|")
        ax.set(ylabel=f"{name} neuron", xlim=(-0.5, s.shape[0] - 0.5))
    np.atleast_1d(axes)[-1].set_xlabel("time step")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
