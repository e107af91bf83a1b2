"""The authors' fault-tolerance networks on MNIST, scored three more ways (issue #16).

Loads the networks that ``glocal experiment fault-tolerance --preset authors`` saved
(``<out>/nets/<variant>-seed<seed>.pt``) and, on clean and Gaussian-0.06 test inputs,
prints and writes (``--json``):

- ``float``: each sample starts from ``h0`` and evolves its own trace (the chip's way);
- ``float_batch``: the authors' test form — a batch of 100 shares one trace that starts
  from ``h0`` and adds the batch mean of the increments (float only);
- ``int``: the integer model (the QAT forward in float64, equal to the integer reference
  bit for bit) on the first ``--int-samples`` test samples, with ``float`` on the same
  samples beside it.

    .venv/bin/python bench/analysis_carry.py --nets out/experiments/fault-tolerance-mnist/nets
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from glocal.golden import data
from glocal.golden.experiments.corrupt import Noise
from glocal.golden.experiments.fault_tolerance import corrupted_test, load_net
from glocal.golden.model import Net, Precision
from glocal.golden.train import encode_split, evaluate, population_states


@torch.no_grad()
def batch_mean_accuracy(net: Net, xs: torch.Tensor, y: np.ndarray, batch: int = 100) -> float:
    ok = 0
    for k in range(0, xs.shape[1], batch):
        x = xs[:, k:k + batch]
        out = net(x, Precision.FLOAT, population_states(net, x.shape[1]))
        ok += int((out.logits.argmax(1).numpy() == y[k:k + batch]).sum())
    return ok / len(y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", default="out/experiments/fault-tolerance-mnist/nets")
    ap.add_argument("--data", default="mnist")
    ap.add_argument("--int-samples", type=int, default=300)
    ap.add_argument("--json", default="docs/results/analysis-carry.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    ds = data.load_dataset(args.data)
    rows = {}
    for path in sorted(Path(args.nets).glob("*.pt")):
        net = load_net(path)
        seed = int(path.stem.split("seed")[1])
        entry = {}
        for level in (0.0, 0.06):
            x = corrupted_test(ds.x_test, Noise.GAUSSIAN, level, seed, authors=True)
            xs = encode_split(net, x, seed + 1)
            k = args.int_samples
            t0 = time.perf_counter()
            e = {"float": evaluate(net, xs, ds.y_test, Precision.FLOAT, chunk=100)[0],
                 "float_batch": batch_mean_accuracy(net, xs, ds.y_test),
                 "float_subset": evaluate(net, xs[:, :k], ds.y_test[:k], Precision.FLOAT)[0],
                 "int_subset": evaluate(net, xs[:, :k], ds.y_test[:k], Precision.QAT,
                                        chunk=25)[0],
                 "subset": k, "seconds": time.perf_counter() - t0}
            entry[f"gaussian_{level}"] = e
        rows[path.stem] = entry
        Console().print(path.stem, entry)
    t = Table(title=f"{args.data}: float / authors' batch-mean test / integer (first "
                    f"{args.int_samples}) vs float on the same samples, %")
    for c in ("net", "level", "float", "float_batch", "int_subset", "float_subset"):
        t.add_column(c, justify="right")
    for name, entry in rows.items():
        for level, e in entry.items():
            t.add_row(name, level, *(f"{100 * e[c]:.1f}" for c in
                                     ("float", "float_batch", "int_subset", "float_subset")))
    Console().print(t)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
