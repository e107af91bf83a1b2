"""``glocal train``: train the GP / LP / HP networks, evaluate, export, metrics and plots.

The training loop itself is :func:`glocal.golden.fit.fit` (re-exported here with its
settings); this module adds the command's configuration (:class:`TrainConfig`), the
evaluations (float, QAT and the integer reference, whose agreement with QAT is exact in
evaluation mode) and the outputs.

Under ``torchrun`` (``WORLD_SIZE`` > 1) the model is wrapped in DistributedDataParallel
(gloo) and each process trains on its shard of every epoch; rank 0 writes the outputs.
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from rich.progress import Progress, TextColumn

from glocal.golden import data as datasets
from glocal.golden import export, freeze, network
from glocal.golden.config import CoreConfig
from glocal.golden.encode import Encoding, encode
from glocal.golden.fit import (
    FitSettings,
    HebbMode,
    carry,
    fit,
    fresh,
    loss_of,
    meta_batch,
    population_states,
    update,
)
from glocal.golden.model import Net, NetSpec, Precision, Score, Variant

__all__ = ["TrainConfig", "FitSettings", "HebbMode", "fit", "train", "encode_split",
           "loss_of", "population_states", "carry", "load_net", "run_cli", "evaluate",
           "evaluate_chip", "encode_set", "update", "meta_batch", "fresh"]


@dataclass
class TrainConfig:
    """Everything a training run needs; the defaults are the digits settings we report."""

    data: str = "digits"
    data_dir: str | None = None
    variant: Variant = Variant.HP
    hidden: int = 128
    steps: int = 12
    encoding: Encoding = Encoding.RATE
    epochs: int = FitSettings.epochs
    qat_epochs: int = FitSettings.qat_epochs
    batch: int = FitSettings.batch
    lr: float = FitSettings.lr
    meta_lr: float = FitSettings.meta_lr
    meta_split: float = FitSettings.meta_split
    meta_step: str = FitSettings.meta_step
    loss: str = FitSettings.loss
    schedule: str = FitSettings.schedule
    freeze_meta: bool = False
    hebb_mode: HebbMode = HebbMode.RESET
    seed: int = 0
    readout: Score = Score.INTEGRATE
    tau: float = NetSpec.tau
    #: Analog inputs: the integer that stands for intensity 1 (at most the core's act_max).
    levels: int = 1
    meta_init: str = NetSpec.meta_init
    #: CoreConfig fields that differ from the default core (e.g. act_bits for analog input).
    core: dict | None = None
    # The network's own hyperparameters default to the model's (one place: NetSpec).
    vth: float = NetSpec.vth
    vth_shift: int = NetSpec.vth_shift
    decay: float = NetSpec.decay
    w_decay: float = NetSpec.w_decay
    h_max: float = NetSpec.h_max
    alpha0: float = NetSpec.alpha0
    beta0: float = NetSpec.beta0
    eta0: float = NetSpec.eta0
    out: str = "out/train"
    model_path: str | None = None
    progress: bool = True
    #: Intra-op threads per process. One: these tensors are small, and on a shared
    #: 2-core machine more threads than free cores slows every op down many times.
    threads: int = 1

    def __post_init__(self) -> None:
        # FitSettings checks the training fields (one place) and normalises hebb_mode.
        self.hebb_mode = self.fit_settings().hebb_mode

    @property
    def name(self) -> str:
        return f"{self.data}-{self.variant.value}" + ("-frozen" if self.freeze_meta else "")

    def spec(self, sizes: tuple[int, ...]) -> NetSpec:
        """The network these settings train, for layer ``sizes``."""
        cfg = _core_config(sizes)
        if self.core:
            cfg = replace(cfg, **self.core)
        return NetSpec(sizes=sizes, variant=self.variant, steps=self.steps, vth=self.vth,
                       vth_shift=self.vth_shift, decay=self.decay, w_decay=self.w_decay,
                       h_max=self.h_max, alpha0=self.alpha0, beta0=self.beta0,
                       eta0=self.eta0, cfg=cfg, readout=Score(self.readout),
                       in_levels=self.levels, meta_init=self.meta_init,
                       encoding=Encoding(self.encoding), tau=self.tau)

    def fit_settings(self) -> FitSettings:
        return FitSettings(epochs=self.epochs, qat_epochs=self.qat_epochs, batch=self.batch,
                           lr=self.lr, meta_lr=self.meta_lr, meta_split=self.meta_split,
                           meta_step=self.meta_step, loss=self.loss, schedule=self.schedule,
                           hebb_mode=self.hebb_mode)


def _core_config(sizes: tuple[int, ...]) -> CoreConfig:
    """The default core, widened (up to 1024) if a layer's fan-in or width needs it."""
    widest = max(sizes)
    if widest <= 256:
        return CoreConfig()
    n = 1 << (widest - 1).bit_length()
    return CoreConfig(axons=n, neurons=n)


def encode_set(x: np.ndarray, kind: Encoding, steps: int, seed: int) -> torch.Tensor:
    """A whole split encoded once with a seeded generator: (steps, samples, inputs)."""
    if x.ndim == 3:  # already event frames (samples, steps, inputs)
        return torch.from_numpy(x).transpose(0, 1).contiguous()
    return encode(torch.from_numpy(x), kind, steps, torch.Generator().manual_seed(seed))


def encode_split(net: Net, x: np.ndarray, seed: int) -> torch.Tensor:
    """A whole split as ``net``'s input (:meth:`Net.encode`), seeded: (steps, samples,
    inputs); event frames pass through."""
    if x.ndim == 3:
        return torch.from_numpy(x).transpose(0, 1).contiguous()
    return net.encode(torch.from_numpy(x), torch.Generator().manual_seed(seed))


@torch.no_grad()
def evaluate(net: Net, xs: torch.Tensor, y: np.ndarray, precision: Precision,
             hebb_mode: HebbMode = HebbMode.RESET, chunk: int = 512) -> tuple[float, np.ndarray]:
    """Accuracy and predictions on an encoded split ``xs`` (steps, samples, inputs).

    QAT runs in float64, where it is exact. With ``PERSIST`` the samples run one at a
    time in order, each starting from the previous one's Hebbian state (the chip's way);
    otherwise every sample starts from its layers' ``h0`` (zero unless ``CARRY`` trained).
    """
    dt = torch.float64 if precision is Precision.QAT else torch.float32
    was = next(net.parameters()).dtype
    net = net.to(dt)
    preds = []
    try:
        if hebb_mode != HebbMode.PERSIST:
            for k in range(0, xs.shape[1], chunk):
                out = net(xs[:, k:k + chunk].to(dt), precision, keep_trace=False)
                preds.append(out.logits.argmax(1))
        else:
            states = None
            for k in range(xs.shape[1]):
                out = net(xs[:, k:k + 1].to(dt), precision, fresh(states, 1))
                states = out.states
                preds.append(out.logits.argmax(1))
    finally:
        net.to(was)
    p = torch.cat(preds).numpy()
    return float((p == y).mean()), p


def evaluate_chip(model: export.ChipModel, xs: torch.Tensor, y: np.ndarray
                  ) -> tuple[float, np.ndarray]:
    """Accuracy of the integer reference network (:func:`network.run_network`)."""
    x = xs.numpy().astype(np.int64)
    # Samples in lockstep, as many as keep each (samples, axons, neurons) array near 32 MB.
    widest = max(layer.cores(model.cfg) for layer in model.layers) * model.cfg.neurons
    chunk = max(1, (1 << 22) // (model.cfg.axons * widest))
    preds = []
    if model.hebb_mode != HebbMode.PERSIST:  # reset, or every sample from h0 (carry)
        for k in range(0, x.shape[1], chunk):
            preds.append(network.run_network(model, x[:, k:k + chunk]).prediction)
    else:
        states = network.zero_states(model)
        for k in range(x.shape[1]):
            run = network.run_network(model, x[:, k], states)
            states = network.next_sample(run.states)
            preds.append(run.prediction[None])
    p = np.concatenate(preds)
    return float((p == y).mean()), p


def _dist() -> tuple[int, int]:
    """(rank, world size); joins the gloo process group when run under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("gloo")
    return dist.get_rank(), world


def _meta_values(net: Net) -> dict[str, np.ndarray]:
    return {f"{n}.{k}": getattr(layer, k).detach().numpy().copy()
            for n, layer in enumerate(net.hidden) if layer.plastic
            for k in ("alpha", "beta", "eta")}


def train(cfg: TrainConfig) -> dict:
    """Train, evaluate (float, QAT and the integer reference), export; returns the metrics.

    Rank 0 writes ``metrics.json``, ``history.csv``, ``curves.png`` and ``raster.png`` to
    ``cfg.out/<name>/`` and the model file to ``cfg.model_path`` (default
    ``out/models/<name>.npz``).
    """
    t_start = time.perf_counter()
    torch.set_num_threads(cfg.threads)
    rank, world = _dist()
    torch.manual_seed(cfg.seed)
    ds = datasets.load_dataset(cfg.data, cfg.data_dir, cfg.steps)
    sizes = (ds.inputs, cfg.hidden, ds.classes)
    spec = cfg.spec(sizes)
    net = Net(spec)
    model = net
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(net)
    meta_on = bool(net.meta_parameters()) and not cfg.freeze_meta
    meta_init = _meta_values(net)
    xs_test = encode_split(net, ds.x_test, cfg.seed + 1)
    history = []

    def on_epoch(epoch: int, precision: Precision, stats: dict) -> str:
        test_acc, _ = evaluate(net, xs_test, ds.y_test, precision, cfg.hebb_mode)
        history.append({"epoch": epoch + 1, "precision": precision.value, **stats,
                        "test_acc": test_acc})
        return (f"loss {stats['loss']:.3f}  train {stats['train_acc']:.3f}  test "
                f"{test_acc:.3f} ({precision.value})")

    bar = Progress(*Progress.get_default_columns(), TextColumn("{task.fields[info]}"),
                   disable=not cfg.progress or rank > 0)
    bar.start()
    fit(net, ds.x_train, ds.y_train, cfg.fit_settings(), cfg.seed,
        meta=None if meta_on else [], bar=bar, label=f"train {cfg.name}", model=model,
        rank=rank, world=world, on_epoch=on_epoch)
    bar.stop()
    train_s = time.perf_counter() - t_start

    net.eval()
    float_acc, _ = evaluate(net, xs_test, ds.y_test, Precision.FLOAT, cfg.hebb_mode)
    qat_acc, qat_pred = evaluate(net, xs_test, ds.y_test, Precision.QAT, cfg.hebb_mode)
    meta_end = _meta_values(net)
    n_meta = int(round(len(ds.y_train) * cfg.meta_split)) if (
        meta_on and cfg.meta_step == "split") else 0
    metrics = {
        "name": cfg.name, "config": _jsonable(asdict(cfg)), "sizes": list(sizes),
        "core_config": asdict(spec.cfg), "world_size": world,
        "test_samples": int(len(ds.y_test)), "train_samples": int(len(ds.y_train) - n_meta),
        "meta_samples": n_meta, "meta_held_out": n_meta > 0,
        "float_test_acc": float_acc, "qat_test_acc": qat_acc, "train_seconds": train_s,
        "meta_init": {k: _summary(v) for k, v in meta_init.items()},
        "meta_final": {k: _summary(v) for k, v in meta_end.items()},
        "meta_moved": {k: float(np.abs(meta_end[k] - meta_init[k]).mean()) for k in meta_init},
        "param_checksum": float(sum(p.detach().double().sum() for p in net.parameters())),
    }
    if world > 1:
        sums = [None] * world
        dist.all_gather_object(sums, metrics["param_checksum"])
        metrics["param_checksums"] = sums
    if rank == 0:
        _finish(cfg, net, spec, ds, xs_test, qat_pred, metrics, history)
    metrics["total_seconds"] = time.perf_counter() - t_start
    if rank == 0:
        run_dir = Path(cfg.out) / cfg.name
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return metrics


def _finish(cfg: TrainConfig, net: Net, spec: NetSpec, ds, xs_test, qat_pred, metrics,
            history) -> None:
    """Export the model, check it on the integer reference, write history and plots."""
    run_dir = Path(cfg.out) / cfg.name
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"spec": spec, "state": net.state_dict()}, run_dir / "net.pt")
    metrics["net_path"] = str(run_dir / "net.pt")
    if cfg.encoding.spiking:
        chip = freeze.from_net(net, encoding=cfg.encoding.value, hebb_mode=cfg.hebb_mode,
                               metadata={"data": cfg.data, "variant": cfg.variant.value,
                                         "float_test_acc": metrics["float_test_acc"],
                                         "qat_test_acc": metrics["qat_test_acc"],
                                         "encoding_seed": cfg.seed + 1,
                                         "config": metrics["config"]})
        path = Path(cfg.model_path or Path("out/models") / f"{cfg.name}.npz")
        export.save_model(chip, path)
        chip_acc, chip_pred = evaluate_chip(export.load_model(path), xs_test, ds.y_test)
        metrics.update(model_path=str(path), int_test_acc=chip_acc,
                       int_qat_agreement=float((chip_pred == qat_pred).mean()))
    else:
        metrics.update(model_path=None, int_test_acc=None,
                       note="a direct (analog) encoding cannot drive the chip; not exported")
    with open(run_dir / "history.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(history[0]))
        w.writeheader()
        w.writerows(history)
    from glocal.golden import plots

    plots.curves(history, run_dir / "curves.png", title=cfg.name)
    with torch.no_grad():
        out = net(xs_test[:, :1], Precision.FLOAT)
    plots.raster(xs_test[:, 0].numpy(), [s[:, 0].numpy() for s in out.spikes],
                 run_dir / "raster.png", title=f"{cfg.name}: test sample 0, "
                                              f"label {int(ds.y_test[0])}")


def load_net(path) -> Net:
    """The trained float network a run saved as ``net.pt`` (spec and parameters)."""
    saved = torch.load(path, weights_only=False)
    net = Net(saved["spec"])
    net.load_state_dict(saved["state"])
    return net.eval()


def _summary(v: np.ndarray) -> dict:
    v = np.asarray(v, dtype=np.float64)
    return {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max())}


def _jsonable(d: dict) -> dict:
    return {k: (v.value if hasattr(v, "value") else v) for k, v in d.items()}


def run_cli(args: dict) -> int:
    """``glocal train``: build a :class:`TrainConfig` from parsed options, train, report."""
    from rich.console import Console
    from rich.table import Table

    from glocal.golden.data import DataError

    kw = {k: v for k, v in args.items() if v is not None and k in TrainConfig.__dataclass_fields__}
    kw["variant"] = Variant(args["model"])
    if args.get("encoding"):
        kw["encoding"] = Encoding(args["encoding"])
    if args.get("hebb"):
        kw["hebb_mode"] = args["hebb"]
    kw["progress"] = not args.get("no_progress")
    try:
        m = train(TrainConfig(**kw))
    except (DataError, ValueError) as e:
        Console(stderr=True).print(f"[red]error:[/red] {e}")
        return 2
    if int(os.environ.get("RANK", "0")):
        return 0
    t = Table(title=f"glocal train {m['name']}")
    t.add_column("metric")
    t.add_column("value", justify="right")
    for k in ("float_test_acc", "qat_test_acc", "int_test_acc", "int_qat_agreement"):
        if m.get(k) is not None:
            t.add_row(k, f"{100 * m[k]:.2f} %")
    for k, v in m["meta_moved"].items():
        t.add_row(f"mean |Δ{k}|", f"{v:.4f}")
    t.add_row("train seconds", f"{m['train_seconds']:.1f}")
    t.add_row("total seconds", f"{m['total_seconds']:.1f}")
    t.add_row("model file", str(m.get("model_path")))
    Console().print(t)
    return 0
