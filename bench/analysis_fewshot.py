"""Analysis for docs/results.md: why the HP few-shot layer trails the GP baseline (seed 0).

(a) Meta-learned vs initial HP meta-parameters on validation episodes of the training
classes (held-out samples of 0–4) and on episodes of the held-out classes (5–9);
(b) the raw prototype correlation ``q·R_k`` the Hebbian layer computes, and nearest class
mean, on the same episodes.

    .venv/bin/python bench/analysis_fewshot.py     # ~5 min; out/analysis/fewshot_check.json
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from glocal.golden.experiments import common
from glocal.golden.experiments import few_shot as fs
from glocal.golden.model import Precision


def _prototype_dot(counts: torch.Tensor, eps: list[fs.Episode]) -> float:
    accs = []
    for e in eps:
        protos = torch.stack([counts[e.support[e.support_labels == k]].sum(0)
                              for k in range(len(e.classes))])
        pred = (counts[e.query] @ protos.T).argmax(-1)
        accs.append(float((pred == torch.from_numpy(e.query_labels)).double().mean()))
    return float(np.mean(accs))


def main() -> dict:
    torch.set_num_threads(1)
    s = fs.Settings(progress=False)
    ds = common.load_data("digits", None)
    seed = 0
    net = fs.train_features(ds, s, seed)
    keep = np.isin(ds.y_train, s.train_classes)
    vkeep = np.isin(ds.y_test, s.train_classes)
    f_tr = fs.features(net, ds.x_train[keep], seed + 1)
    f_val = fs.features(net, ds.x_test[vkeep], seed + 2)
    xp, yp = fs._pool(ds, s.test_classes)
    f_te = fs.features(net, xp, seed + 3)
    hp, init = fs.plastic_layer(s.hidden, s), fs.plastic_layer(s.hidden, s)
    fs.meta_train(hp, f_tr, ds.y_train[keep], s, seed)
    out = {}
    for name, f, y, cls in (("val_train_classes", f_val, ds.y_test[vkeep], s.train_classes),
                            ("test_heldout_classes", f_te, yp, s.test_classes)):
        for shots in s.shots:
            rng = np.random.default_rng([seed, 9, shots])
            eps = [fs.sample_episode(y, cls, s.ways, shots, s.queries, rng) for _ in range(100)]
            out[f"{name} {shots}-shot"] = {
                "hp_meta": float(fs.hp_accuracy(hp, f.float(), eps, Precision.FLOAT).mean()),
                "hp_init": float(fs.hp_accuracy(init, f.float(), eps, Precision.FLOAT).mean()),
                "prototype_dot": _prototype_dot(f.sum(0), eps),
                "ncm": float(fs.gp_accuracy(f, eps[:30], s, 0.03, seed)["ncm"].mean())}
            print(name, shots, out[f"{name} {shots}-shot"], flush=True)
    path = Path("out/analysis/fewshot_check.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
