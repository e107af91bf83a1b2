"""Analysis for docs/results.md: HP with a persistent Hebbian trace under Gaussian noise.

Trains one HP network (seed 0, the fault-tolerance run's sizes: 64 hidden, 5 epochs, the
last QAT) with the trace carried from sample to sample (``--hebb persist``), then scores
it on the Gaussian-noise test sets of the fault-tolerance experiment (variance 0, 0.06,
0.12), once with the trace persisting and once reset per sample.

    .venv/bin/python bench/analysis_persist.py     # ~4 min; out/analysis/persist.json
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from glocal.golden.data import load_digits
from glocal.golden.encode import Encoding
from glocal.golden.experiments.corrupt import Noise
from glocal.golden.experiments.fault_tolerance import corrupted_test
from glocal.golden.model import Precision
from glocal.golden.train import HebbMode, TrainConfig, encode_set, evaluate, load_net, train


def main() -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    out = Path("out/analysis")
    cfg = TrainConfig(hidden=64, epochs=5, qat_epochs=1, hebb_mode="persist", seed=0,
                      out=str(out / "train"), model_path=str(out / "persist.npz"),
                      progress=False)
    m = train(cfg)
    net = load_net(m["net_path"])
    ds = load_digits()
    res: dict = {"train": {k: m[k] for k in ("float_test_acc", "qat_test_acc", "int_test_acc")}}
    for level in (0.0, 0.06, 0.12):
        xs = encode_set(corrupted_test(ds.x_test, Noise.GAUSSIAN, level, 0), Encoding.RATE,
                        cfg.steps, 1)
        res[level] = {mode.value: evaluate(net, xs, ds.y_test, Precision.FLOAT, mode)[0]
                      for mode in (HebbMode.PERSIST, HebbMode.RESET)}
        print(level, res[level], flush=True)
    res["seconds"] = time.time() - t0
    (out / "persist.json").write_text(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
