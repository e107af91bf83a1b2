"""The continual experiment's learning-rate choice (docs/results.md): validation accuracy
on a fifth of task 1's training set, for GP and HP masked networks (density 0.1, 3 epochs)
at learning rates 2e-3, 1e-2 and 3e-2. No test sample is used.

    .venv/bin/python bench/analysis_continual_lr.py     # ~1 min of CPU
"""

from __future__ import annotations

import numpy as np
import torch

from glocal.golden.encode import Encoding
from glocal.golden.experiments import common, continual
from glocal.golden.model import Precision, Variant
from glocal.golden.train import encode_set, evaluate


def main() -> dict:
    torch.set_num_threads(1)
    ds = common.load_data("digits", None)
    n = len(ds.y_train)
    perm = np.random.default_rng(99).permutation(n)
    val, tr = perm[:n // 5], perm[n // 5:]
    res = {}
    for lr in (2e-3, 1e-2, 3e-2):
        for v in (Variant.GP, Variant.HP):
            s = continual.Settings(seeds=(0,), tasks=10, progress=False,
                                   fit=common.FitSettings(epochs=3, qat_epochs=0, lr=lr))
            net = continual.masked_net((64, 128, 10), v, s, 0)
            common.fit(net, ds.x_train[tr], ds.y_train[tr], s.fit, 0,
                       base=continual._originals(net))
            xs = encode_set(ds.x_train[val], Encoding.RATE, s.steps, 5)
            res[(lr, v.value)] = evaluate(net, xs, ds.y_train[val], Precision.FLOAT)[0]
            print(lr, v.value, "validation accuracy", res[(lr, v.value)], flush=True)
    return res


if __name__ == "__main__":
    main()
