"""Training throughput of the GP network vs an snnTorch network of the same shape.

Both networks are 64 → hidden LIF (decay, soft reset, threshold) → 10 summed-current
readout, trained with Adam on cross-entropy over the same rate-encoded digits batches,
same time steps, batch size and thread count. The two are timed in alternating rounds in
one process so that load from other jobs on the machine hits both alike; the figure is
samples per second over all rounds, and the ratio is glocal / snnTorch.

    .venv/bin/python bench/train_speed.py [--hidden 128 --steps 8 --batch 64 --rounds 5]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch import nn

from glocal.golden.data import load_digits
from glocal.golden.encode import Encoding, encode
from glocal.golden.model import Net, NetSpec, Precision, Variant


class SnnTorchNet(nn.Module):
    """The same network written the usual snnTorch way (one step at a time)."""

    def __init__(self, sizes: tuple[int, int, int], decay: float, vth: float) -> None:
        import snntorch as snn
        from snntorch import surrogate

        super().__init__()
        self.fc1 = nn.Linear(sizes[0], sizes[1])
        self.lif1 = snn.Leaky(beta=decay, threshold=vth, spike_grad=surrogate.fast_sigmoid(),
                              reset_mechanism="subtract")
        self.fc2 = nn.Linear(sizes[1], sizes[2])

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        mem = self.lif1.init_leaky()
        out = 0
        for x in x_seq:
            spk, mem = self.lif1(self.fc1(x), mem)
            out = out + self.fc2(spk)
        return out


def _timed(step, batches) -> float:
    t = time.perf_counter()
    for xs, y in batches:
        step(xs, y)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--batches", type=int, default=20, help="batches per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="also write the result here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    ds = load_digits()
    g = torch.Generator().manual_seed(0)
    x = torch.from_numpy(ds.x_train)
    y = torch.from_numpy(ds.y_train)
    batches = []
    for _ in range(args.batches):
        idx = torch.randint(0, len(y), (args.batch,), generator=g)
        batches.append((encode(x[idx], Encoding.RATE, args.steps, g), y[idx]))

    spec = NetSpec(sizes=(64, args.hidden, 10), variant=Variant.GP, steps=args.steps)
    ours = Net(spec)
    theirs = SnnTorchNet(spec.sizes, spec.decay, spec.vth)
    opt_ours = torch.optim.Adam(ours.parameters(), lr=1e-3)
    opt_theirs = torch.optim.Adam(theirs.parameters(), lr=1e-3)

    def step_ours(xs, yb):
        loss = F.cross_entropy(ours(xs, Precision.FLOAT).logits, yb)
        opt_ours.zero_grad()
        loss.backward()
        opt_ours.step()

    def step_theirs(xs, yb):
        loss = F.cross_entropy(theirs(xs), yb)
        opt_theirs.zero_grad()
        loss.backward()
        opt_theirs.step()

    _timed(step_ours, batches[:2])  # warm-up both
    _timed(step_theirs, batches[:2])
    t_ours = t_theirs = 0.0
    for _ in range(args.rounds):
        t_ours += _timed(step_ours, batches)
        t_theirs += _timed(step_theirs, batches)
    n = args.rounds * args.batches * args.batch
    res = {"glocal_gp_samples_per_s": n / t_ours, "snntorch_samples_per_s": n / t_theirs,
           "ratio": t_theirs / t_ours, "hidden": args.hidden, "steps": args.steps,
           "batch": args.batch, "threads": args.threads, "samples_each": n}
    print(f"glocal GP : {res['glocal_gp_samples_per_s']:9.0f} samples/s")
    print(f"snnTorch  : {res['snntorch_samples_per_s']:9.0f} samples/s")
    print(f"ratio     : {res['ratio']:.2f}x  (64-{args.hidden}-10, T={args.steps}, "
          f"batch {args.batch}, {args.threads} thread(s))")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=2)
    return res


if __name__ == "__main__":
    main()
