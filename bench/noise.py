"""Accuracy under Gaussian input noise of trained digits networks (the paper's fault test).

Loads the float networks ``glocal train`` saved (``out/train/digits-<model>/net.pt``),
adds zero-mean Gaussian noise of variance ``v`` to the test intensities (clipped to
[0, 1]), rate-encodes them with a fixed seed and reports float and integer (QAT, equal to
the chip) accuracy per variance.

    .venv/bin/python bench/noise.py [--models hp gp lp hp-frozen] [--out out/noise]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from glocal.golden import plots  # noqa: F401  (selects the Agg backend)
from glocal.golden.data import load_digits
from glocal.golden.encode import Encoding
from glocal.golden.model import Precision
from glocal.golden.train import encode_set, evaluate, load_net

VARIANCES = (0.0, 0.02, 0.04, 0.06, 0.08, 0.10)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["hp", "gp", "lp", "hp-frozen"])
    ap.add_argument("--runs", default="out/train", help="folder of the training runs")
    ap.add_argument("--out", default="out/noise")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    ds = load_digits()
    res: dict = {}
    for name in args.models:
        path = Path(args.runs) / f"digits-{name}" / "net.pt"
        if not path.is_file():
            print(f"skip {name}: {path} not found (run `glocal train --model ...` first)")
            continue
        net = load_net(path)
        res[name] = {}
        for v in VARIANCES:
            rng = np.random.default_rng(args.seed)
            x = np.clip(ds.x_test + rng.normal(0, np.sqrt(v), ds.x_test.shape), 0, 1)
            xs = encode_set(x.astype(np.float32), Encoding.RATE, net.spec.steps, args.seed + 1)
            f, _ = evaluate(net, xs, ds.y_test, Precision.FLOAT)
            q, _ = evaluate(net, xs, ds.y_test, Precision.QAT)
            res[name][v] = {"float": f, "int": q}
            print(f"{name:10s} var {v:.2f}: float {100 * f:6.2f} %  integer {100 * q:6.2f} %")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "noise.json").write_text(json.dumps(res, indent=2))
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, r in res.items():
        ax.plot(list(r), [100 * a["int"] for a in r.values()], marker="o", label=name)
    ax.set(xlabel="Gaussian noise variance", ylabel="integer test accuracy (%)",
           title="digits: accuracy under input noise")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "noise.png", dpi=100)
    plt.close(fig)
    return res


if __name__ == "__main__":
    main()
