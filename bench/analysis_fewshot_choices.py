"""The few-shot HP layer's fixed design choices, checked on validation episodes only.

During development the label weights (±127 vs +127 only), the membrane decay of the
plastic core (1 vs 0.5) and the initial ``alpha`` / ``beta`` were chosen while looking at
episodes of the held-out classes with the quick-mode feature network, which this
project's rule forbids. This script re-makes the choice the allowed way: seed 0's
full-size feature network, validation episodes of the *training* classes (held-out
samples of digits 0–4), HP layer at its initial meta-parameters (no meta-learning).

    .venv/bin/python bench/analysis_fewshot_choices.py   # out/analysis/fewshot_choices.json
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from glocal.golden.experiments import common
from glocal.golden.experiments import few_shot as fs
from glocal.golden.model import Precision


def main() -> dict:
    torch.set_num_threads(1)
    s = fs.Settings(progress=False)
    ds = common.load_data("digits", None)
    seed = 0
    net = fs.train_features(ds, s, seed)
    vkeep = np.isin(ds.y_test, s.train_classes)
    f_val = fs.features(net, ds.x_test[vkeep], seed + 2).float()
    y_val = ds.y_test[vkeep]
    episodes = {}
    for shots in s.shots:
        rng = np.random.default_rng([seed, 11, shots])
        episodes[shots] = [fs.sample_episode(y_val, s.train_classes, s.ways, shots, s.queries,
                                             rng) for _ in range(60)]
    res = {}
    for label, decay, alpha, beta in itertools.product(("pm", "plus"), (1.0, 0.5),
                                                       (0.005, 0.01, 0.05), (0.05, 0.2)):
        layer = fs.plastic_layer(s.hidden, replace(s, alpha0=alpha, beta0=beta))
        layer.spec = replace(layer.spec, decay=decay)
        if label == "plus":
            with torch.no_grad():
                layer.weight[s.hidden:] = torch.eye(s.ways) * layer.scale * 127
        key = f"label {label}, decay {decay}, alpha {alpha}, beta {beta}"
        res[key] = {f"{k}-shot": float(fs.hp_accuracy(layer, f_val, eps, Precision.FLOAT).mean())
                    for k, eps in episodes.items()}
        print(key, res[key], flush=True)
    path = Path("out/analysis/fewshot_choices.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
