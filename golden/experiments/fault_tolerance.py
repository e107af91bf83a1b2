"""Fault tolerance: accuracy of GP, LP and HP networks under corrupted test inputs.

For every seed, one network per variant is trained on the clean training split (the
``glocal train`` procedure, :func:`~glocal.golden.experiments.common.fit`). Each test
corruption (:mod:`~glocal.golden.experiments.corrupt`) is drawn once per seed and level and
shared by all variants (paired comparison), rate-encoded with a fixed seed, and scored
twice: the float model and the integer model. The integer accuracy is that of the QAT
forward pass in float64, which equals the chip's integer reference
(:func:`glocal.golden.network.run_network`) bit for bit; the experiment re-checks that on a
sample of every seed's HP network (``int_agreement``).

Two analyses explain HP's behaviour under noise without touching any choice:
``hebb_off`` scores the trained HP networks with their Hebbian current switched off
(``alpha = 0``) on the same inputs, and ``hebb_stats`` records, per Gaussian level, the
Hebbian trace the noisy inputs build (mean ``|H|``, fraction at the clamp, input rate and
the ratio of the Hebbian to the global current).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from glocal.golden import export, freeze, network
from glocal.golden import plots as _agg  # noqa: F401  (selects the Agg backend)
from glocal.golden.encode import Encoding
from glocal.golden.experiments import common
from glocal.golden.experiments.corrupt import (
    AUTHORS_SCALE,
    Noise,
    corrupt,
    noise_levels,
    occlusion_levels,
)
from glocal.golden.model import Net, Precision, Score, Variant
from glocal.golden.train import HebbMode, encode_split, evaluate

#: The core of the authors' network: 1024 axons for 784 pixels, 8-bit analog axon values,
#: 14-bit W and H (H with 11 fractional bits holds ``h_max`` = 4), accumulators wide
#: enough for 1024 such products.
AUTHORS_CORE = dict(act_bits=8, acc_bits=32, w_bits=14, h_bits=14, h_frac=11,
                    alpha_bits=16, alpha_frac=10, beta_bits=16, beta_frac=15, u_bits=24,
                    bias_bits=20, theta_bits=24)

#: Samples per forward pass in evaluation: small chunks keep the (samples, inputs, neurons)
#: Hebbian tensors in cache (QAT evaluation ran 5× faster with 30 than with 360 samples).
_CHUNK = 32

__all__ = ["Settings", "Result", "run", "train_variant", "save_net", "load_net", "point",
           "chip_point", "claims", "corrupted_test", "table", "plots"]


@dataclass(frozen=True)
class Settings:
    """What to run. ``quick()`` is the small version the tests use."""

    data: str = "digits"
    data_dir: str | None = None
    seeds: tuple[int, ...] = (0, 1, 2)
    variants: tuple[Variant, ...] = (Variant.GP, Variant.LP, Variant.HP)
    noises: tuple[Noise, ...] = tuple(Noise)
    levels: int = 15
    hidden: int = 128
    steps: int = 12
    fit: common.FitSettings = field(default_factory=common.FitSettings)
    #: Test samples used (``None``: the whole test split).
    test_samples: int | None = None
    #: Integer accuracy at every ``int_every``-th noise level (occlusion: every side);
    #: the float model at every level. The integer model costs ~4× the float one.
    int_every: int = 3
    #: HP test samples re-run on the integer reference network per seed.
    check_samples: int = 40
    progress: bool = True
    #: NetSpec fields beyond sizes, variant and steps (the authors' semantics).
    net: dict = field(default_factory=dict)
    #: CoreConfig fields that differ from the smallest default core that holds the net.
    core: dict = field(default_factory=dict)
    #: Corrupt at the authors' multiples of each level (``corrupt.AUTHORS_SCALE``).
    authors_levels: bool = False
    #: Before scoring, give every layer the finest threshold exponent its trained values
    #: allow (:meth:`glocal.golden.model.Net.fit_vth_shifts`; the integer model's units).
    fit_shifts: bool = False
    #: Folder to save every trained network in (``<variant>-seed<seed>.pt``), or None.
    save_dir: str | None = None

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ValueError("seeds must name at least one seed, not an empty list")
        if self.int_every < 0:
            raise ValueError(f"int_every must be at least 0 (0: float only), not "
                             f"{self.int_every}")
        if not 1 <= self.levels <= 101:
            raise ValueError(f"levels must be in [1, 101] (variance 0.01·i ≤ 1), "
                             f"not {self.levels}")

    @classmethod
    def authors(cls, **kw) -> Settings:
        """The authors' fault-tolerance network and training (``paper-notes.md`` §1a):
        784-512-10 on MNIST, both layers plastic, analog input ``·exp(−t/40)`` (8-bit
        axon values), ``T = 5``, threshold 0.4, leak 0.4, ``w_decay`` 0.99, ``h_max`` 4,
        meta-parameters ``U(0, 0.01)``, the final membrane as the score with MSE, one
        joint Adam step (1e-3 / 5e-4) per batch of 100, the carried population trace."""
        base = cls(
            data="mnist", hidden=512, steps=5, authors_levels=True,
            net=dict(vth=0.4, decay=0.4, w_decay=0.99, h_max=4.0, alpha0=0.01, beta0=0.01,
                     eta0=0.01, meta_init="uniform", readout=Score.MEMBRANE,
                     encoding=Encoding.ANALOG, tau=40.0, in_levels=255, vth_shift=14),
            core=AUTHORS_CORE, fit_shifts=True,
            fit=common.FitSettings(epochs=20, qat_epochs=0, batch=100, lr=1e-3,
                                   meta_lr=5e-4, meta_step="joint", loss="mse",
                                   schedule="constant", hebb_mode=HebbMode.CARRY))
        return replace(base, **kw)

    @classmethod
    def quick(cls, **kw) -> Settings:
        base = cls(seeds=(0, 1), levels=4, int_every=1, hidden=32, steps=6, test_samples=120,
                   check_samples=16, fit=common.FitSettings(epochs=3, qat_epochs=1, batch=64))
        return replace(base, **kw)


@dataclass
class Result:
    """Accuracies indexed ``acc[variant][precision][noise]`` → array (seeds, levels).

    ``precision`` is ``"float"`` or ``"int"``; ``levels[noise]`` are the x values
    (variance / probability, or occlusion side in pixels). Integer entries not evaluated
    (``Settings.int_every``) are NaN.
    """

    settings: Settings
    levels: dict[str, list[float]]
    acc: dict[str, dict[str, dict[str, np.ndarray]]]
    hebb_off: dict[str, np.ndarray]
    hebb_stats: dict[str, np.ndarray]
    int_agreement: list[float]
    train_seconds: float
    seconds: float
    test_samples: int


def corrupted_test(x: np.ndarray, noise: Noise, level: float, seed: int,
                   authors: bool = False) -> np.ndarray:
    """The corrupted test inputs of one (seed, noise, level): the same for every variant.
    ``authors``: the level is scaled as the authors' scripts scale it (``AUTHORS_SCALE``)."""
    rng = np.random.default_rng([seed, list(Noise).index(Noise(noise)), int(level * 1000)])
    scale = AUTHORS_SCALE[Noise(noise)] if authors else 1.0
    return corrupt(x, noise, level * scale, rng).astype(np.float32)


@contextlib.contextmanager
def _hebbian_off(net: Net):
    """The network with every ``alpha`` at zero (Hebbian current off), restored after."""
    plastic = [layer for layer in net.spiking if layer.plastic]
    saved = [layer.alpha.data.clone() for layer in plastic]
    try:
        for layer in plastic:
            layer.alpha.data.zero_()
        yield net
    finally:
        for layer, a in zip(plastic, saved, strict=True):
            layer.alpha.data.copy_(a)


@torch.no_grad()
def _hebb_stats(net: Net, xs: torch.Tensor) -> np.ndarray:
    """[mean |H| / h_max, fraction of |H| at h_max, input spike rate, |I_hebb| / |I_W|].

    Layer 1, float model, the first 200 samples. ``H`` is the trace after the sample's
    last step; the currents
    are in membrane units, ``I_W = Wᵀx`` over every step, ``I_hebb = alpha·Hᵀx̄`` for that
    final trace and the sample's mean input (an order of magnitude of the Hebbian current
    the trace feeds back).
    """
    layer = net.hidden[0]
    q = layer.codes(False, xs.dtype)
    xs = xs[:, :200]
    h = net(xs, Precision.FLOAT).states[0].hebb
    w_cur = torch.einsum("tbi,io->tbo", xs, q.weight).abs().mean()
    h_cur = (q.alpha * torch.einsum("bi,bio->bo", xs.mean(0), h)).abs().mean()
    h_cur = h_cur / (1 << net.spec.cfg.alpha_frac)
    return np.array([float(h.abs().mean() / q.h_max),
                     float((h.abs() >= q.h_max - 1e-6).float().mean()),
                     float(xs.mean()), float(h_cur / w_cur.clamp_min(1e-12))])


def chip_point(net: Net, x: np.ndarray, noise: Noise, level: float, seed: int, *,
               hebb_mode: str = HebbMode.RESET.value, authors: bool = False
               ) -> tuple[export.ChipModel, np.ndarray]:
    """The integer version of one point: the exported network and its inputs.

    Returns the :class:`~glocal.golden.export.ChipModel` and the encoded corrupted inputs
    as ``int64`` (steps, samples, inputs) — spikes, or analog levels: what the chip runs,
    one sample at a time, each from its start state (zero, or ``h0`` under ``carry``;
    ``network.run_network`` gives the reference predictions).
    """
    chip = freeze.from_net(net, encoding=net.spec.encoding.value, hebb_mode=hebb_mode,
                           metadata={"experiment": "fault-tolerance", "noise": str(noise),
                                     "level": level, "seed": seed})
    xs = encode_split(net, corrupted_test(x, noise, level, seed, authors), seed + 1)
    return chip, xs.numpy().astype(np.int64)


def train_variant(ds, settings: Settings, variant: Variant, seed: int, bar=None) -> Net:
    """One trained network of the experiment (the same for the same arguments)."""
    net = common.make_net((ds.inputs, settings.hidden, ds.classes), variant, settings.steps,
                          seed, core=settings.core, **settings.net)
    common.fit(net, ds.x_train, ds.y_train, settings.fit, seed, bar=bar,
               label=f"train {variant.value} seed {seed}")
    if settings.fit_shifts:
        net.fit_vth_shifts()
    if settings.save_dir:
        save_net(net, Path(settings.save_dir) / f"{variant.value}-seed{seed}.pt")
    return net


def save_net(net: Net, path: Path) -> Path:
    """Save a trained network (spec, parameters, threshold exponents) for `load_net`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"spec": net.spec, "state": net.state_dict(),
                "vth_shifts": [layer.vth_shift for layer in net.spiking]}, path)
    return path


def load_net(path) -> Net:
    """A network saved by `save_net` (``--preset authors`` saves each under ``nets/``),
    in eval mode.

    Raises
    ------
    FileNotFoundError
        Naming the file, if it does not exist.
    ValueError
        If the file is not such a save (naming what is missing).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved network {path} (`glocal experiment "
                                "fault-tolerance --preset authors` saves them under "
                                "<out>/nets)")
    saved = torch.load(path, weights_only=False)
    missing = [k for k in ("spec", "state", "vth_shifts")
               if not isinstance(saved, dict) or k not in saved]
    if missing:
        raise ValueError(f"{path} is not a saved network: no {', '.join(missing)}")
    net = Net(saved["spec"])
    net.load_state_dict(saved["state"])
    for layer, shift in zip(net.spiking, saved["vth_shifts"], strict=True):
        layer.vth_shift = shift
    return net.eval()


def point(settings: Settings, variant: Variant, seed: int, noise: Noise, level: float
          ) -> tuple[export.ChipModel, np.ndarray, np.ndarray]:
    """Everything an on-chip backend needs for one point of the curves: the trained
    network as a ChipModel, the corrupted test inputs as spikes (steps, samples, inputs)
    and the labels. Run each sample from reset; ``network.run_network`` is the reference."""
    ds = common.load_data(settings.data, settings.data_dir)
    n = len(ds.y_test) if settings.test_samples is None else settings.test_samples
    net = train_variant(ds, settings, variant, seed)
    chip, spikes = chip_point(net, ds.x_test[:n], noise, level, seed,
                              hebb_mode=settings.fit.hebb_mode.value,
                              authors=settings.authors_levels)
    return chip, spikes, ds.y_test[:n]


def run(settings: Settings) -> Result:
    """Train every variant for every seed and score it under every corruption."""
    timer = common.Timer()
    torch.set_num_threads(1)
    ds = common.load_data(settings.data, settings.data_dir)
    n_test = len(ds.y_test) if settings.test_samples is None else settings.test_samples
    x_test, y_test = ds.x_test[:n_test], ds.y_test[:n_test]
    levels = {str(n): (occlusion_levels(ds.inputs) if n is Noise.OCCLUSION
                       else noise_levels(settings.levels)) for n in settings.noises}
    shape = len(settings.seeds)
    acc = {v.value: {p: {n: np.zeros((shape, len(lv))) for n, lv in levels.items()}
                     for p in ("float", "int")} for v in settings.variants}
    hp = Variant.HP in settings.variants
    gauss = levels.get(str(Noise.GAUSSIAN), noise_levels(settings.levels))
    hebb_off = {n: np.zeros((shape, len(lv))) for n, lv in levels.items()}
    hebb_stats = {v.value: np.zeros((shape, len(gauss), 4)) for v in settings.variants
                  if v is not Variant.GP}
    agreement = []
    train_s = 0.0
    bar = common.progress(settings.progress)
    with bar:
        runs = bar.add_task("fault tolerance", total=shape * len(settings.variants), info="")
        for si, seed in enumerate(settings.seeds):
            for variant in settings.variants:
                t0 = common.Timer()
                net = train_variant(ds, settings, variant, seed, bar)
                train_s += t0.seconds
                for noise, lv in levels.items():
                    for li, level in enumerate(lv):
                        xs = encode_split(net, corrupted_test(
                            x_test, Noise(noise), level, seed, settings.authors_levels),
                            seed + 1)
                        acc[variant.value]["float"][noise][si, li] = evaluate(
                            net, xs, y_test, Precision.FLOAT, chunk=_CHUNK)[0]
                        if settings.int_every and (noise == Noise.OCCLUSION
                                                   or li % settings.int_every == 0):
                            acc[variant.value]["int"][noise][si, li] = evaluate(
                                net, xs, y_test, Precision.QAT, chunk=_CHUNK)[0]
                        else:
                            acc[variant.value]["int"][noise][si, li] = np.nan
                        if variant is Variant.HP:
                            with _hebbian_off(net):
                                hebb_off[noise][si, li] = evaluate(
                                    net, xs, y_test, Precision.FLOAT, chunk=_CHUNK)[0]
                if variant is not Variant.GP:
                    for li, level in enumerate(gauss):
                        xs = encode_split(net, corrupted_test(
                            x_test, Noise.GAUSSIAN, level, seed, settings.authors_levels),
                            seed + 1)
                        hebb_stats[variant.value][si, li] = _hebb_stats(net, xs)
                if settings.check_samples and (
                        variant is Variant.HP or (not hp and variant is settings.variants[-1])):
                    agreement.append(_check_integer(net, x_test, y_test, settings, seed,
                                                    gauss[len(gauss) // 2]))
                bar.update(runs, advance=1, info=f"{variant.value} seed {seed}")
    return Result(settings, levels, acc, hebb_off if hp else {}, hebb_stats, agreement,
                  train_s, timer.seconds, n_test)


def _check_integer(net: Net, x: np.ndarray, y: np.ndarray, settings: Settings, seed: int,
                   level: float) -> float:
    """Fraction of sampled Gaussian-noise predictions where the integer reference network
    (one sample at a time) equals the QAT forward pass used for the ``int`` accuracies."""
    k = min(settings.check_samples, len(y))
    chip, spikes = chip_point(net, x[:k], Noise.GAUSSIAN, level, seed,
                              hebb_mode=settings.fit.hebb_mode.value,
                              authors=settings.authors_levels)
    ref = network.run_network(chip, spikes).prediction
    _, qat = evaluate(net, torch.from_numpy(spikes).float(), y[:k], Precision.QAT,
                      chunk=_CHUNK)
    return float((ref == qat).mean())


# -- presentation ------------------------------------------------------------------------

def claims(r: Result) -> dict:
    """The headline figures for ``docs/results/claims.json``: accuracy (fraction, mean over
    seeds) of every variant on clean inputs and at level 0.06 of every noise (side 8 for
    occlusion), from the integer model where the run scored it, else the float model
    (``precision`` says which). The authors' preset with the meta-parameters stepped on a
    held-out split (``--meta-step split``, not their joint step) is ``<data>_split``."""
    prec = "int" if r.settings.int_every else "float"
    authors = r.settings.authors_levels
    entry: dict = {"seeds": len(r.settings.seeds), "precision": prec,
                   "test_samples": r.test_samples,
                   "semantics": "authors" if authors else "glocal",
                   "meta_step": r.settings.fit.meta_step}
    name = r.settings.data + ("_split" if authors and r.settings.fit.meta_step == "split"
                              else "")

    def at(noise: str, level: float) -> dict:
        i = min(range(len(r.levels[noise])), key=lambda k: abs(r.levels[noise][k] - level))
        return {v: float(np.nanmean(r.acc[v][prec][noise][:, i])) for v in r.acc}

    first = next(iter(r.levels))
    entry["clean"] = at(first, 0)
    for noise in r.levels:
        key = "occlusion_8" if noise == Noise.OCCLUSION else f"{noise}_0.06"
        entry[key.replace("&", "and")] = at(noise, 8 if noise == Noise.OCCLUSION else 0.06)
    return {"fault_tolerance": {name: entry}}


def table(r: Result) -> str:
    """Markdown: integer accuracy mean ± std (%) per noise, variant and level (float
    accuracy when the run scored no integer model, ``int_every = 0``)."""
    prec = "int" if r.settings.int_every else "float"
    what = ("Integer (chip) accuracy, mean ± std over seeds, % (– : integer not evaluated "
            "at that level, see `int_every`). Float accuracies are in the JSON."
            if prec == "int" else "Float accuracy, mean ± std over seeds, % (this run "
            "scored no integer model, `int_every = 0`).")
    lines = [f"# Fault tolerance ({r.settings.data}, seeds {list(r.settings.seeds)}, "
             f"{r.test_samples} test samples)", "",
             what + " The last row is the HP network with its Hebbian current off (float).",
             ""]
    for noise, lv in r.levels.items():
        unit = "side (px)" if noise == Noise.OCCLUSION else "level"
        lines += [f"## {noise}", "", "| model | " + " | ".join(f"{v:g}" for v in lv) + " |",
                  "|---|" + "---|" * len(lv)]
        lines[-2] = lines[-2].replace("| model |", f"| model \\ {unit} |")
        rows = [(v, r.acc[v][prec][noise]) for v in r.acc]
        if r.hebb_off:
            rows.append(("hp, H off (float)", r.hebb_off[noise]))
        for name, a in rows:
            m, s = common.mean_std(100 * a)
            lines.append(f"| {name} | " + " | ".join(
                "–" if np.isnan(x) else f"{x:.1f}±{y:.1f}" for x, y in zip(m, s, strict=True))
                + " |")
        lines.append("")
    lines += [f"Integer reference vs QAT agreement (HP, sampled): "
              f"{', '.join(f'{100 * a:.1f} %' for a in r.int_agreement)}",
              f"Training {r.train_seconds:.0f} s, total {r.seconds:.0f} s.", ""]
    return "\n".join(lines)


def plots(r: Result) -> list[tuple[str, Callable[[Path], None]]]:
    """One accuracy-vs-level plot per noise type (integer solid, float dashed)."""
    import matplotlib.pyplot as plt

    def draw(noise: str):
        def _draw(path):
            fig, ax = plt.subplots(figsize=(5.5, 4))
            x = r.levels[noise]
            for n, v in enumerate(r.acc):
                c = f"C{n}"
                m, s = common.mean_std(100 * r.acc[v]["int" if r.settings.int_every
                                                      else "float"][noise])
                ok = ~np.isnan(m)
                xi = np.asarray(x)[ok]
                kind = "integer" if r.settings.int_every else "float"
                ax.plot(xi, m[ok], marker="o", ms=3, color=c, label=f"{v.upper()} ({kind})")
                ax.fill_between(xi, (m - s)[ok], (m + s)[ok], color=c, alpha=0.2)
                if r.settings.int_every:
                    mf, _ = common.mean_std(100 * r.acc[v]["float"][noise])
                    ax.plot(x, mf, ls="--", lw=1, color=c, label=f"{v.upper()} (float)")
            xl = "occlusion square side (pixels)" if noise == Noise.OCCLUSION else \
                "noise variance / probability"
            ax.set(xlabel=xl, ylabel="test accuracy (%)",
                   title=f"{r.settings.data}: {noise}, {len(r.settings.seeds)} seeds")
            ax.legend(fontsize=7)
            fig.tight_layout()
            fig.savefig(path, dpi=100)
            plt.close(fig)
        return _draw

    return [(f"fault-{str(n).replace('&', 'and')}.png", draw(n)) for n in r.levels]
