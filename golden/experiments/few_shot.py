"""Few-shot learning: N-way K-shot episodes on classes held out from training.

Pipeline (paper: a feature extractor, then one plastic spiking layer that learns the
support examples through its Hebbian weights, the label injected as input current):

1. **Feature stage**: a GP spiking network ``inputs → hidden → train classes`` trained on
   the training classes only (default digits 0–4, training split). Its hidden layer's
   spikes (integer model, one step late as on chip) are the features.
2. **Plastic layer** (HP): one core with ``hidden + ways`` axons and ``ways`` neurons.
   Axon ``hidden + k`` is the *label axon* of episode class ``k``: during a support sample
   of class ``k`` it spikes at every step; its global weight to neuron ``k`` is the
   largest weight code (+127 membrane units, just under ``V_th`` = 128) and −127 to every
   other neuron, so the label neuron's post term ``f`` is positive (Hebbian) and the
   others' negative (anti-Hebbian: features shared by all classes cancel out); its
   ``beta`` is 0 (it drives, it does not learn). The feature rows' global weights
   are 0: what binds a feature to a class is the Hebbian trace alone. ``w_decay = 1``
   (no forgetting within an episode). Support samples run one after another with
   learning on; membranes are cleared between samples, ``H`` carries over. Each query
   then runs from the post-support state with learning *off* (the ``learn`` register;
   in the float model ``beta = 0``, identical when ``w_decay = 1``). The prediction is
   the argmax of ``spike count + u_final / V_th`` of the ``ways`` neurons (first maximum).
   ``alpha``, ``beta`` (per feature) and ``eta`` (per neuron) are meta-learned on
   episodes drawn from the training classes, the gradient flowing through the Hebbian
   dynamics of the support steps.
3. **GP baseline of equal size**: the same ``hidden → ways`` spiking layer without a
   Hebbian term, its weights and bias fine-tuned by surrogate-gradient Adam on the
   support set of each episode (cross-entropy on the same score). Its learning rate is
   chosen on validation episodes of the *training* classes (held-out test-split samples),
   never on the held-out classes. Also reported: nearest class mean (NCM) of the
   feature spike counts, a non-spiking reference.

Test episodes draw ``ways`` classes from the held-out classes (every sample of those
classes, training and test splits: none was seen in training).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from glocal.golden import export, freeze, network, reference
from glocal.golden import plots as _agg  # noqa: F401  (selects the Agg backend)
from glocal.golden.config import CoreConfig
from glocal.golden.encode import Encoding
from glocal.golden.experiments import common
from glocal.golden.model import Hidden, LayerState, Net, NetSpec, Precision, Variant, hop
from glocal.golden.quant import to_int
from glocal.golden.train import _core_config, encode_set

__all__ = ["Settings", "Episode", "Result", "run", "sample_episode", "plastic_layer",
           "support", "query", "train_features", "features", "ChipEpisode", "chip_point",
           "run_chip_episode", "point", "table", "plots"]


@dataclass(frozen=True)
class Settings:
    """What to run. ``quick()`` is the small version the tests use."""

    data: str = "digits"
    data_dir: str | None = None
    seeds: tuple[int, ...] = (0, 1, 2)
    train_classes: tuple[int, ...] = (0, 1, 2, 3, 4)
    test_classes: tuple[int, ...] = (5, 6, 7, 8, 9)
    ways: int = 5
    shots: tuple[int, ...] = (1, 5)
    #: Query samples per class and episode.
    queries: int = 10
    #: Test episodes per shot setting and seed.
    episodes: int = 100
    hidden: int = 128
    steps: int = 12
    fit: common.FitSettings = field(default_factory=common.FitSettings)
    meta_iters: int = 150
    meta_batch: int = 4
    meta_lr: float = 0.01
    # Small enough that the Hebbian current stays below the ±127 label current during
    # support (larger alpha inverts label neurons in 5-shot support sets). The best of
    # 0.005 / 0.01 / 0.05 and 0.05 / 0.2 on validation episodes of the training classes
    # (bench/analysis_fewshot_choices.py).
    alpha0: float = 0.005
    beta0: float = 0.05
    eta0: float = 0.0
    val_episodes: int = 30
    gp_lrs: tuple[float, ...] = (0.01, 0.03, 0.1)
    gp_iters: int = 30
    progress: bool = True

    def __post_init__(self) -> None:
        overlap = set(self.train_classes) & set(self.test_classes)
        if overlap:
            raise ValueError(f"test classes must be held out from training; "
                             f"{sorted(overlap)} are in both")
        for name, cls in (("train_classes", self.train_classes),
                          ("test_classes", self.test_classes)):
            if len(cls) < self.ways:
                raise ValueError(f"{name} {list(cls)} has fewer than ways={self.ways} "
                                 f"classes")
        if min(self.shots, default=0) < 1:
            raise ValueError(f"shots must all be at least 1, not {list(self.shots)}")

    @classmethod
    def quick(cls, **kw) -> Settings:
        base = cls(seeds=(0,), hidden=48, steps=6, queries=5, episodes=12, meta_iters=20,
                   val_episodes=4, gp_lrs=(0.03, 0.1), gp_iters=15,
                   fit=common.FitSettings(epochs=3, qat_epochs=1, batch=64))
        return replace(base, **kw)


@dataclass(frozen=True)
class Episode:
    """Indices into a sample pool and episode labels ``0 … ways−1``.

    ``classes[k]`` is the pool class that plays episode label ``k``; the support set is
    in presentation order (shuffled).
    """

    classes: np.ndarray
    support: np.ndarray
    support_labels: np.ndarray
    query: np.ndarray
    query_labels: np.ndarray


def sample_episode(y: np.ndarray, classes, ways: int, shots: int, queries: int,
                   rng: np.random.Generator) -> Episode:
    """Draw ``ways`` of ``classes``, ``shots`` support and ``queries`` query samples each."""
    chosen = rng.choice(np.asarray(classes), ways, replace=False)
    sup, sup_y, qry, qry_y = [], [], [], []
    for k, c in enumerate(chosen):
        pool = np.flatnonzero(y == c)
        if len(pool) < shots + queries:
            raise ValueError(f"class {c} has {len(pool)} samples, fewer than shots + queries "
                             f"= {shots + queries}")
        pick = rng.choice(pool, shots + queries, replace=False)
        sup += list(pick[:shots])
        sup_y += [k] * shots
        qry += list(pick[shots:])
        qry_y += [k] * queries
    order = rng.permutation(len(sup))
    return Episode(chosen, np.array(sup)[order], np.array(sup_y)[order], np.array(qry),
                   np.array(qry_y))


# -- the feature stage -------------------------------------------------------------------

def train_features(ds, settings: Settings, seed: int, bar=None) -> Net:
    """The GP feature network, trained on the training classes' training split only."""
    keep = np.isin(ds.y_train, settings.train_classes)
    relabel = {c: k for k, c in enumerate(settings.train_classes)}
    y = np.array([relabel[c] for c in ds.y_train[keep]], dtype=np.int64)
    net = common.make_net((ds.inputs, settings.hidden, len(settings.train_classes)),
                          Variant.GP, settings.steps, seed)
    return common.fit(net, ds.x_train[keep], y, settings.fit, seed, bar=bar,
                      label=f"features seed {seed}")


@torch.no_grad()
def features(net: Net, x: np.ndarray, seed: int) -> torch.Tensor:
    """Rate-encode ``x`` and return the hidden spikes one step late, (steps, samples, hidden),
    float64: exactly what the plastic core's feature axons receive on chip (QAT = integer)."""
    xs = encode_set(x, Encoding.RATE, net.spec.steps, seed).double()
    # float32 parameters, float64 arithmetic: the codes are those the export computes.
    spikes, _ = net.hidden[0](xs, Precision.QAT)
    return hop(spikes)


# -- the plastic layer --------------------------------------------------------------------

def plastic_layer(n_features: int, settings: Settings, variant: Variant = Variant.HP
                  ) -> Hidden:
    """The episode layer: HP (label axons, Hebbian) or the GP baseline (features only)."""
    ways = settings.ways
    n_in = n_features + ways if variant is Variant.HP else n_features
    # decay 1: integrate-and-fire, so that count·V_th + u is the whole query's current.
    spec = NetSpec(sizes=(n_in, ways, ways), variant=variant, steps=settings.steps,
                   decay=1.0, w_decay=1.0, alpha0=settings.alpha0, beta0=settings.beta0,
                   eta0=settings.eta0, cfg=_core_config((n_in, ways)))
    layer = Hidden(n_in, ways, spec, plastic=variant is Variant.HP)
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.zero_()
        if variant is Variant.HP:
            # The largest weight code, excitatory on the label's own neuron and inhibitory
            # on the others: ±127 membrane units.
            layer.weight[n_features:] = (2 * torch.eye(ways) - 1) * layer.scale * 127
            layer.beta[n_features:] = 0.0
            keep = torch.ones(n_in)
            keep[n_features:] = 0.0
            layer.beta.register_hook(lambda g: g * keep)
            layer.weight.requires_grad_(False)
            layer.bias.requires_grad_(False)
    return layer


def _labels(y: torch.Tensor, ways: int, steps: int, dtype) -> torch.Tensor:
    return F.one_hot(y, ways).to(dtype).expand(steps, *y.shape, ways)


def support(layer: Hidden, feats: torch.Tensor, labels: torch.Tensor,
            precision: Precision) -> LayerState:
    """Learn a batch of support sets: ``feats`` (positions, steps, episodes, hidden) and
    ``labels`` (positions, episodes). Returns the state after the last support sample."""
    ways = layer.n_out
    state = layer.zero_state(feats.shape[2], feats.dtype)
    for p in range(feats.shape[0]):
        x = torch.cat([feats[p], _labels(labels[p], ways, feats.shape[1], feats.dtype)], -1)
        zero = torch.zeros_like(state.u)
        state = replace(state, u=zero, s=zero.clone())
        _, state = layer(x, precision, state)
    return state


def query(layer: Hidden, state: LayerState, feats: torch.Tensor,
          precision: Precision) -> torch.Tensor:
    """Scores ``count + u/V_th`` of queries (steps, episodes, queries, hidden) run from each
    episode's post-support ``state`` with learning off; shape (episodes, queries, ways)."""
    steps, b, q, _ = feats.shape
    ways = layer.n_out
    x = torch.cat([feats, feats.new_zeros(steps, b, q, ways)], -1).flatten(1, 2)
    zero = feats.new_zeros(b * q, ways)
    st = LayerState(u=zero, s=zero.clone(), hebb=state.hebb.repeat_interleave(q, 0),
                    t_last=state.t_last.repeat_interleave(q, 0), t=state.t,
                    refresh=state.refresh)
    # beta = 0 is learning off: with w_decay = 1 the trace then neither learns nor decays.
    spikes, final = functional_call(layer, {"beta": torch.zeros_like(layer.beta)},
                                    (x, precision, st))
    score = spikes.sum(0) + final.u / (1 << layer.vth_shift)
    return score.view(b, q, ways)


def _episode_tensors(feats: torch.Tensor, eps: list[Episode]):
    sup = torch.stack([feats[:, e.support] for e in eps], 2).permute(1, 0, 2, 3)
    sup_y = torch.from_numpy(np.stack([e.support_labels for e in eps], 1))
    qry = torch.stack([feats[:, e.query] for e in eps], 1)
    qry_y = torch.from_numpy(np.stack([e.query_labels for e in eps]))
    return sup, sup_y, qry, qry_y


def hp_accuracy(layer: Hidden, feats: torch.Tensor, eps: list[Episode],
                precision: Precision, chunk: int = 10) -> np.ndarray:
    """Query accuracy of every episode with the HP layer, shape (episodes,)."""
    accs = []
    with torch.no_grad():
        for k in range(0, len(eps), chunk):
            sup, sup_y, qry, qry_y = _episode_tensors(feats, eps[k:k + chunk])
            state = support(layer, sup, sup_y, precision)
            score = query(layer, state, qry, precision)
            accs.append((score.argmax(-1) == qry_y).double().mean(1).numpy())
    return np.concatenate(accs)


def meta_train(layer: Hidden, feats: torch.Tensor, y: np.ndarray, settings: Settings,
               seed: int, bar=None) -> list[float]:
    """Meta-learn ``alpha``, ``beta``, ``eta`` on training-class episodes; returns losses."""
    rng = np.random.default_rng([seed, 1])
    opt = torch.optim.Adam(layer.meta_parameters(), lr=settings.meta_lr)
    task = bar.add_task(f"meta-train seed {seed}", total=settings.meta_iters, info="") \
        if bar else None
    losses = []
    feats = feats.float()
    for it in range(settings.meta_iters):
        shots = settings.shots[it % len(settings.shots)]
        eps = [sample_episode(y, np.unique(y), settings.ways, shots, settings.queries, rng)
               for _ in range(settings.meta_batch)]
        sup, sup_y, qry, qry_y = _episode_tensors(feats, eps)
        state = support(layer, sup, sup_y, Precision.FLOAT)
        score = query(layer, state, qry, Precision.FLOAT)
        loss = F.cross_entropy(score.flatten(0, 1), qry_y.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if bar is not None:
            bar.update(task, advance=1, info=f"loss {loss.item():.3f}")
    if bar is not None:
        bar.remove_task(task)
    return losses


def gp_accuracy(feats: torch.Tensor, eps: list[Episode], settings: Settings, lr: float,
                seed: int) -> dict[str, np.ndarray]:
    """Fine-tuned GP layer (float and integer) and NCM accuracy per episode."""
    out = {"float": [], "int": [], "ncm": []}
    counts = feats.sum(0)
    for n, e in enumerate(eps):
        torch.manual_seed(seed * 100_003 + n)
        layer = plastic_layer(feats.shape[-1], settings, Variant.GP).double()
        opt = torch.optim.Adam(layer.base_parameters(), lr=lr)
        xs, ys = feats[:, e.support], torch.from_numpy(e.support_labels)
        for _ in range(settings.gp_iters):
            spikes, st = layer(xs, Precision.FLOAT)
            score = spikes.sum(0) + st.u / (1 << layer.vth_shift)
            loss = F.cross_entropy(score, ys)
            opt.zero_grad()
            loss.backward()
            opt.step()
        yq = torch.from_numpy(e.query_labels)
        with torch.no_grad():
            for key, prec in (("float", Precision.FLOAT), ("int", Precision.QAT)):
                spikes, st = layer(feats[:, e.query], prec)
                score = spikes.sum(0) + st.u / (1 << layer.vth_shift)
                out[key].append(float((score.argmax(-1) == yq).double().mean()))
        means = torch.stack([counts[e.support[e.support_labels == k]].mean(0)
                             for k in range(settings.ways)])
        d = torch.cdist(counts[e.query], means)
        out["ncm"].append(float((d.argmin(-1) == yq).double().mean()))
    return {k: np.array(v) for k, v in out.items()}


# -- the integer reference (what the chip runs) ------------------------------------------

@dataclass(frozen=True)
class ChipEpisode:
    """One episode for the integer reference / the chip.

    Members
    -------
    cfg : CoreConfig
        The plastic core's configuration.
    features : ChipModel
        The feature network (its first core makes the features; its readout is unused).
    learn, infer : CoreParams
        The plastic core with learning on (support) and off (queries); identical but for
        ``regs.learn``. Axons ``0 … n_features−1`` take the feature core's spikes, axon
        ``n_features + k`` is the label axon of episode class ``k``.
    n_features, ways : int
    support_x : ndarray (positions, steps, inputs)
        Rate-encoded support images, 0/1, in presentation order.
    support_labels : ndarray (positions,)
    query_x : ndarray (steps, queries, inputs)
    query_labels : ndarray (queries,)
    """

    cfg: CoreConfig
    features: export.ChipModel
    learn: reference.CoreParams
    infer: reference.CoreParams
    n_features: int
    ways: int
    support_x: np.ndarray
    support_labels: np.ndarray
    query_x: np.ndarray
    query_labels: np.ndarray


def chip_point(feature_net: Net, layer: Hidden, x_spikes: np.ndarray, episode: Episode
               ) -> ChipEpisode:
    """The integer version of one HP episode: core parameters and input spikes.

    ``x_spikes`` (steps, pool samples, inputs) are the pool's rate-encoded images, 0/1.
    """
    chip = freeze.from_net(feature_net, encoding=Encoding.RATE.value, hebb_mode="reset",
                           metadata={"experiment": "few-shot", "role": "features"})
    q = layer.codes(True, torch.float64)
    cfg = layer.spec.cfg
    regs = reference.Registers(vth_shift=layer.vth_shift, decay=int(q.decay),
                               alpha=int(to_int(q.alpha, "alpha")), h_max=int(q.h_max),
                               learn=True)
    a, n = cfg.axons, cfg.neurons

    def pad(v, shape):
        out = np.zeros(shape, np.int64)
        out[tuple(slice(0, s) for s in v.shape)] = v
        return out

    learn = reference.CoreParams(
        weight=pad(to_int(q.weight, "weight"), (a, n)),
        bias=pad(to_int(q.bias, "bias"), (n,)),
        beta=pad(to_int(q.beta, "beta"), (a,)),
        theta=pad(to_int(q.theta, "theta"), (n,)),
        p_table=to_int(q.p_table, "p_table"), regs=regs)
    learn.check(cfg)
    infer = replace(learn, regs=replace(regs, learn=False))
    x = np.asarray(x_spikes, dtype=np.int64)
    return ChipEpisode(cfg, chip, learn, infer, feature_net.spec.sizes[1], layer.n_out,
                       x[:, episode.support].transpose(1, 0, 2),
                       episode.support_labels.copy(), x[:, episode.query],
                       episode.query_labels.copy())


def run_chip_episode(ep: ChipEpisode) -> tuple[np.ndarray, np.ndarray, reference.CoreState]:
    """Run an episode on the integer reference: support with learning on, then every query
    from the post-support state with learning off.

    Returns the query predictions, the integer scores ``count·V_th + u`` (queries, ways)
    and the plastic core's state after the support set (its ``hebb`` is what was learned).
    """
    core_cfg = ep.cfg
    nf, ways = ep.n_features, ep.ways

    def feats(x):  # (steps, ..., inputs) → the feature core's spikes, one step late
        s = network.run_network(ep.features, x).spikes[0]
        return np.concatenate([np.zeros_like(s[:1]), s[:-1]])

    def axons(f, label):
        out = np.zeros(f.shape[:-1] + (core_cfg.axons,), np.int64)
        out[..., :nf] = f
        if label is not None:
            out[..., nf + label] = 1
        return out

    state = reference.CoreState.zeros(core_cfg)
    for xs, label in zip(ep.support_x, ep.support_labels, strict=True):
        state = replace(state, u=np.zeros_like(state.u), s=np.zeros_like(state.s))
        for ft in feats(xs[:, None])[:, 0]:
            state = reference.step(core_cfg, ep.learn, state, axons(ft, int(label)))
    learned = state
    q = ep.query_x.shape[1]
    st = reference.CoreState(u=np.zeros((q, core_cfg.neurons), np.int64),
                             s=np.zeros((q, core_cfg.neurons), np.int64),
                             hebb=np.repeat(state.hebb[None], q, 0),
                             t_last=np.repeat(state.t_last[None], q, 0), t=state.t,
                             refresh=state.refresh)
    count = np.zeros((q, core_cfg.neurons), np.int64)
    for ft in feats(ep.query_x):
        st = reference.step(core_cfg, ep.infer, st, axons(ft, None))
        count += st.s
    score = (count << ep.learn.regs.vth_shift) + st.u
    score = score[:, :ways]
    return score.argmax(-1), score, learned


# -- the experiment -----------------------------------------------------------------------

@dataclass
class Result:
    """Per seed and shot setting, per-episode query accuracies.

    ``acc[f"{shots}-shot"][method]`` → array (seeds, episodes); methods ``hp_float``,
    ``hp_int``, ``gp_float``, ``gp_int``, ``ncm``, ``hp_init_float`` (meta-parameters at
    their initial values: the meta-learning ablation).
    """

    settings: Settings
    acc: dict[str, dict[str, np.ndarray]]
    feature_acc: list[float]
    gp_lr: list[float]
    meta: list[dict]
    meta_losses: list[list[float]]
    hebb_changed: list[bool]
    seconds: float


def point(settings: Settings, seed: int, shots: int) -> ChipEpisode:
    """One test episode of the experiment as the chip runs it: the features trained and
    the HP layer meta-learned as in :func:`run` for ``seed``, then one ``shots``-shot
    episode of the held-out classes. :func:`run_chip_episode` is the integer reference."""
    return points(settings, seed, shots)[0]


def points(settings: Settings, seed: int, shots: int, count: int = 1) -> list[ChipEpisode]:
    """``count`` test episodes of one trained network, drawn one after another from one
    generator (the first is :func:`point`'s)."""
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    ds = common.load_data(settings.data, settings.data_dir)
    net = train_features(ds, settings, seed)
    keep = np.isin(ds.y_train, settings.train_classes)
    layer = plastic_layer(settings.hidden, settings)
    meta_train(layer, features(net, ds.x_train[keep], seed + 1), ds.y_train[keep], settings,
               seed)
    x, y = _pool(ds, settings.test_classes)
    rng = np.random.default_rng([seed, 3])
    spikes = encode_set(x, Encoding.RATE, settings.steps, seed + 3).numpy()
    return [chip_point(net, layer, spikes, sample_episode(
        y, settings.test_classes, settings.ways, shots, settings.queries, rng))
        for _ in range(count)]


def _pool(ds, classes) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([ds.x_train, ds.x_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    keep = np.isin(y, classes)
    return x[keep], y[keep]


def run(settings: Settings) -> Result:
    """Train the features, meta-learn the HP layer, score HP and GP on test episodes."""
    timer = common.Timer()
    torch.set_num_threads(1)
    ds = common.load_data(settings.data, settings.data_dir)
    keys = [f"{k}-shot" for k in settings.shots]
    methods = ("hp_float", "hp_int", "hp_init_float", "gp_float", "gp_int", "ncm")
    acc = {k: {m: np.zeros((len(settings.seeds), settings.episodes)) for m in methods}
           for k in keys}
    feature_acc, gp_lrs, metas, losses, changed = [], [], [], [], []
    x_test_pool, y_test_pool = _pool(ds, settings.test_classes)
    train_keep = np.isin(ds.y_train, settings.train_classes)
    val_keep = np.isin(ds.y_test, settings.train_classes)
    bar = common.progress(settings.progress)
    with bar:
        for si, seed in enumerate(settings.seeds):
            net = train_features(ds, settings, seed, bar)
            f_tr = features(net, ds.x_train[train_keep], seed + 1)
            f_val = features(net, ds.x_test[val_keep], seed + 2)
            f_te = features(net, x_test_pool, seed + 3)
            relabel = {c: k for k, c in enumerate(settings.train_classes)}
            y_val = np.array([relabel[c] for c in ds.y_test[val_keep]])
            with torch.no_grad():
                out = net(encode_set(ds.x_test[val_keep], Encoding.RATE, settings.steps,
                                     seed + 2))
            feature_acc.append(float((out.logits.argmax(1).numpy() == y_val).mean()))
            y_tr = ds.y_train[train_keep]
            # The GP baseline's learning rate: best mean over validation episodes of the
            # training classes (held-out samples), all shot settings pooled.
            rng = np.random.default_rng([seed, 2])
            val_eps = [sample_episode(ds.y_test[val_keep], settings.train_classes,
                                      settings.ways, k, settings.queries, rng)
                       for k in settings.shots for _ in range(settings.val_episodes)]
            val = [gp_accuracy(f_val, val_eps, settings, lr, seed)["float"].mean()
                   for lr in settings.gp_lrs]
            lr = settings.gp_lrs[int(np.argmax(val))]
            gp_lrs.append(lr)
            hp = plastic_layer(settings.hidden, settings)
            hp_init = plastic_layer(settings.hidden, settings)
            losses.append(meta_train(hp, f_tr, y_tr, settings, seed, bar))
            metas.append({"alpha": hp.alpha.item(), "beta_mean": hp.beta.mean().item(),
                          "eta_mean": hp.eta.mean().item()})
            rng = np.random.default_rng([seed, 3])
            task = bar.add_task(f"test episodes seed {seed}", total=len(keys), info="")
            for key, shots in zip(keys, settings.shots, strict=True):
                eps = [sample_episode(y_test_pool, settings.test_classes, settings.ways,
                                      shots, settings.queries, rng)
                       for _ in range(settings.episodes)]
                a = acc[key]
                a["hp_float"][si] = hp_accuracy(hp, f_te.float(), eps, Precision.FLOAT)
                a["hp_int"][si] = hp_accuracy(hp, f_te, eps, Precision.QAT)
                a["hp_init_float"][si] = hp_accuracy(hp_init, f_te.float(), eps,
                                                     Precision.FLOAT)
                g = gp_accuracy(f_te, eps, settings, lr, seed)
                a["gp_float"][si], a["gp_int"][si], a["ncm"][si] = g["float"], g["int"], g["ncm"]
                bar.update(task, advance=1, info=key)
            with torch.no_grad():
                sup, sup_y, _, _ = _episode_tensors(f_te.float(), eps[:1])
                h = support(hp, sup, sup_y, Precision.FLOAT).hebb
            changed.append(bool(h.abs().sum() > 0))
    return Result(settings, acc, feature_acc, gp_lrs, metas, losses, changed, timer.seconds)


# -- presentation ------------------------------------------------------------------------

_NAMES = {"hp_int": "HP, integer (chip)", "hp_float": "HP, float",
          "hp_init_float": "HP, meta-parameters at init (float)",
          "gp_int": "GP fine-tuned readout, integer", "gp_float": "GP fine-tuned readout, float",
          "ncm": "nearest class mean of feature counts (non-spiking)"}


def table(r: Result) -> str:
    s = r.settings
    lines = [f"# Few-shot ({s.data}: features trained on {list(s.train_classes)}, episodes "
             f"on {list(s.test_classes)})", "",
             f"{s.ways}-way, {s.queries} queries per class, {s.episodes} episodes per seed, "
             f"seeds {list(s.seeds)}. Query accuracy %, mean ± std over seeds of the "
             f"per-seed mean (episode std in the JSON).", "",
             "| method | " + " | ".join(f"{s.ways}-way {k}" for k in r.acc) + " |",
             "|---|" + "---|" * len(r.acc)]
    for m, name in _NAMES.items():
        cells = []
        for k in r.acc:
            mean, std = common.mean_std(100 * r.acc[k][m].mean(1))
            cells.append(f"{mean:.1f} ± {std:.1f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", f"Feature network accuracy on held-out samples of the training classes: "
              f"{', '.join(f'{100 * a:.1f} %' for a in r.feature_acc)}.",
              f"GP learning rate chosen on validation episodes: {r.gp_lr}.",
              f"Meta-learned: {r.meta}.", f"Total {r.seconds:.0f} s.", ""]
    return "\n".join(lines)


def plots(r: Result) -> list[tuple[str, Callable[[Path], None]]]:
    import matplotlib.pyplot as plt

    def draw(path):
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        keys = list(r.acc)
        width = 0.8 / len(_NAMES)
        for n, (m, name) in enumerate(_NAMES.items()):
            means = [100 * r.acc[k][m].mean() for k in keys]
            stds = [common.mean_std(100 * r.acc[k][m].mean(1))[1] for k in keys]
            a.bar(np.arange(len(keys)) + n * width, means, width, yerr=stds, label=name)
        a.set_xticks(np.arange(len(keys)) + 0.4 - width / 2, [f"{r.settings.ways}-way {k}"
                                                               for k in keys])
        a.set(ylabel="query accuracy (%)", title="few-shot on held-out classes")
        a.axhline(100 / r.settings.ways, color="k", lw=0.5, ls=":")
        a.legend(fontsize=6)
        for n, loss in enumerate(r.meta_losses):
            b.plot(loss, label=f"seed {r.settings.seeds[n]}")
        b.set(xlabel="meta iteration", ylabel="query loss", title="HP meta-training")
        b.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)

    return [("few-shot.png", draw)]
