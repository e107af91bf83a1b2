"""The model file: a trained network as the chip will hold it, read by the image compiler.

A model file is an ``.npz`` archive. Its ``manifest`` entry is UTF-8 JSON with the format
name and :data:`VERSION`, the :class:`~glocal.golden.config.CoreConfig`, the topology
(layer sizes, which layer is the readout), ``steps``, the input encoding, the Hebbian
mode, each layer's registers, scale and float plasticity parameters, the training
metadata, and a SHA-256 of every array and of the manifest itself. The other entries are
the integer tensors of each layer (``<layer>.weight``, ``.bias``, ``.beta``, ``.theta``,
``.p_table``) at their trained size, plus the float ``.beta_float`` and ``.eta_float``,
``.plastic`` for a layer whose Hebbian trace learns only on some synapses (the
per-synapse plasticity enables; the model's cores then have ``plastic_mask``), and ``.h0``
for a layer whose samples start from a trained trace (``hebb_mode`` ``carry``: the
population trace carried through training, in ``2**-h_frac`` units, within ``±h_max``).
:func:`load_model` returns them at that size too: a layer may have more neurons than one
core (the image compiler, :mod:`glocal.firmware.compiler`, splits it over several);
:meth:`ChipLayer.core_params` and :meth:`ChipLayer.wide_params` pad them into the
:class:`~glocal.golden.reference.CoreParams` that :func:`glocal.golden.reference.step` takes.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from glocal.golden import fixed
from glocal.golden.config import CoreConfig
from glocal.golden.digest import array_sha256, manifest_sha256
from glocal.golden.reference import CoreParams, Registers

__all__ = ["FORMAT", "VERSION", "ModelFileError", "Plasticity", "ChipLayer", "ChipModel",
           "make_layer", "save_model", "load_model"]

FORMAT = "glocal-model"
#: Bumped whenever the file's layout or meaning changes; the loader accepts only this one.
VERSION = 2
_ARRAYS = ("weight", "bias", "beta", "theta", "p_table")


class ModelFileError(ValueError):
    """A model file is missing, corrupt, or of another version; the message says which."""


@dataclass(frozen=True)
class Plasticity:
    """A layer's float plasticity parameters (paper units), kept beside their codes."""

    alpha: float
    beta: np.ndarray
    eta: np.ndarray
    w_decay: float
    h_max: float


@dataclass(frozen=True)
class ChipLayer:
    """One layer of the network, at its own size.

    Its fan-in must fit one core's axons; its neurons may fill several cores, split by
    output neurons (neurons ``i·N … (i+1)·N − 1`` on the ``i``-th core, ``N =
    cfg.neurons``). Every core of a layer gets all of its axons' ``beta``, the decay
    table and the registers; each gets its neurons' columns of ``weight``, ``bias`` and
    ``theta``. Neurons do not interact inside a core, so the split computes exactly what
    one core as wide as the layer would (:meth:`wide_params`).

    Members
    -------
    name : str
    readout : bool
        The non-spiking integrator whose membranes are the class scores.
    weight : ndarray, shape (n_in, n_out)
    bias, theta : ndarray, shape (n_out,)
    beta : ndarray, shape (n_in,)
    p_table : ndarray, shape (2**cfg.ts_bits,)
    regs : Registers
    scale : float
        Float value of one membrane unit.
    plasticity : Plasticity or None
        ``None`` for a layer without a Hebbian term.
    plastic : ndarray, shape (n_in, n_out), or None
        Per-synapse plasticity enables (0/1): the synapses where the Hebbian trace learns
        (:attr:`glocal.golden.model.Hidden.hebb_mask`). ``None``: every synapse. Needs
        cores with ``cfg.plastic_mask``; on such cores a layer without it is all ones,
        and the padding of a layer with it (synapses that do not exist) is 0.
    h0 : ndarray, shape (n_in, n_out), or None
        The Hebbian trace every sample starts from (``2**-h_frac`` units, each entry
        within ``±regs.h_max``), with timestamps, plastic clock and refresh row at 0.
        ``None``: zero.
    """

    name: str
    readout: bool
    weight: np.ndarray
    bias: np.ndarray
    beta: np.ndarray
    theta: np.ndarray
    p_table: np.ndarray
    regs: Registers
    scale: float
    plasticity: Plasticity | None = None
    plastic: np.ndarray | None = None
    h0: np.ndarray | None = None

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[1])

    def check(self, cfg: CoreConfig) -> None:
        """Raise `ValueError` naming the first member whose shape or range is wrong for
        cores of configuration ``cfg`` (the layer's own sizes are not limited here)."""
        if self.weight.ndim != 2:
            raise ValueError(f"weight must have shape (inputs, neurons), not "
                             f"{self.weight.shape}")
        shapes = {"bias": (self.n_out,), "beta": (self.n_in,), "theta": (self.n_out,)}
        for name, shape in shapes.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} must have shape {shape} for a {self.n_in}→"
                                 f"{self.n_out} layer, not {getattr(self, name).shape}")
        for name, bits in (("weight", cfg.w_bits), ("bias", cfg.bias_bits),
                           ("beta", cfg.beta_bits), ("theta", cfg.theta_bits)):
            fixed.check_signed(name, getattr(self, name), bits)
        if self.p_table.shape != (1 << cfg.ts_bits,):
            raise ValueError(f"p_table must have {1 << cfg.ts_bits} entries, not "
                             f"{self.p_table.shape[0]}")
        if self.p_table.min() < 0 or self.p_table.max() > 1 << cfg.p_frac:
            raise ValueError(f"p_table entries must be in [0, {1 << cfg.p_frac}]")
        self.regs.check(cfg)
        if self.plastic is not None:
            if not cfg.plastic_mask:
                raise ValueError("plastic (per-synapse plasticity enables) needs cores with "
                                 "plastic_mask; these cores have none")
            if self.plastic.shape != self.weight.shape:
                raise ValueError(f"plastic must have the weight's shape {self.weight.shape}, "
                                 f"not {self.plastic.shape}")
            bad = self.plastic[(self.plastic != 0) & (self.plastic != 1)]
            if bad.size:
                raise ValueError(f"plastic entries must be 0 or 1, not {bad[0]}")
        if self.h0 is not None:
            if self.h0.shape != self.weight.shape:
                raise ValueError(f"h0 must have the weight's shape {self.weight.shape}, "
                                 f"not {self.h0.shape}")
            worst = int(np.abs(self.h0).max()) if self.h0.size else 0
            if worst > self.regs.h_max:
                raise ValueError(f"h0 entries must be within ±h_max = ±{self.regs.h_max} "
                                 f"(the Hebbian clamp), found {worst}")

    def cores(self, cfg: CoreConfig) -> int:
        """Cores of configuration ``cfg`` the layer's neurons fill."""
        return max(1, -(-self.n_out // cfg.neurons))

    def core_params(self, cfg: CoreConfig, part: int) -> CoreParams:
        """Parameters of the ``part``-th core of the layer, padded to the core's size.

        Raises
        ------
        ValueError
            If the layer's fan-in exceeds ``cfg.axons`` or ``part`` is not one of its cores.
        """
        if not 0 <= part < self.cores(cfg):
            raise ValueError(f"{self.name} fills {self.cores(cfg)} cores of "
                             f"{cfg.neurons} neurons; part {part} does not exist")
        lo, hi = part * cfg.neurons, min((part + 1) * cfg.neurons, self.n_out)
        return self._params(cfg, cfg.neurons, slice(lo, hi))

    def start_hebb(self, cfg: CoreConfig, width: int, cols: slice = slice(None)
                   ) -> np.ndarray:
        """``h0`` (columns ``cols``) padded to (``cfg.axons``, ``width``): a core's ``H``
        at the start of every sample (zeros without ``h0``)."""
        if self.h0 is None:
            return np.zeros((cfg.axons, width), dtype=np.int64)
        return _pad(self.h0[:, cols], (cfg.axons, width))

    def wide_params(self, cfg: CoreConfig) -> CoreParams:
        """The whole layer as one core ``cores(cfg) · cfg.neurons`` neurons wide: what its
        cores compute side by side (the layered reference, :mod:`glocal.golden.network`,
        steps this; :func:`glocal.golden.reference.step` does not limit the width)."""
        return self._params(cfg, self.cores(cfg) * cfg.neurons, slice(0, self.n_out))

    def _params(self, cfg: CoreConfig, width: int, cols: slice) -> CoreParams:
        if self.n_in > cfg.axons:
            raise ValueError(f"{self.name} has {self.n_in} inputs; a core has {cfg.axons} "
                             "axons")
        a = cfg.axons
        if self.plastic is not None and not cfg.plastic_mask:
            raise ValueError(f"{self.name} has per-synapse plasticity enables; the cores "
                             "have no plastic_mask")
        plastic = None
        if cfg.plastic_mask:
            plastic = (np.ones((a, width), np.int64) if self.plastic is None
                       else _pad(self.plastic[:, cols], (a, width)))
        return CoreParams(weight=_pad(self.weight[:, cols], (a, width)),
                          bias=_pad(self.bias[cols], (width,)), beta=_pad(self.beta, (a,)),
                          theta=_pad(self.theta[cols], (width,)),
                          p_table=np.asarray(self.p_table, dtype=np.int64), regs=self.regs,
                          plastic=plastic,
                          h0=None if self.h0 is None else self.start_hebb(cfg, width, cols))


@dataclass(frozen=True)
class ChipModel:
    """A network for the chip: layers in order, input to readout.

    Raises
    ------
    ValueError
        On construction, naming the layer whose arrays do not fit ``cfg``'s widths or
        whose fan-in differs from the previous layer's neurons.
    """

    cfg: CoreConfig
    layers: tuple[ChipLayer, ...]
    steps: int
    encoding: str
    hebb_mode: str
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("a ChipModel needs at least one layer")
        for k, layer in enumerate(self.layers):
            try:
                layer.check(self.cfg)
            except ValueError as e:
                raise ValueError(f"layer {layer.name}: {e}") from None
            if k and layer.n_in != self.layers[k - 1].n_out:
                raise ValueError(f"layer {layer.name} has {layer.n_in} inputs; the layer "
                                 f"before it has {self.layers[k - 1].n_out} neurons")

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.layers[0].n_in, *(layer.n_out for layer in self.layers))


def _pad(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, dtype=np.int64)
    out[tuple(slice(0, n) for n in np.shape(a))] = a
    return out


def make_layer(name: str, readout: bool, weight, bias, beta, theta, p_table, regs: Registers,
                scale: float, plasticity: Plasticity | None = None, plastic=None,
                h0=None) -> ChipLayer:
    """A :class:`ChipLayer` from array-likes (stored as ``int64``)."""
    def arr(x):
        return None if x is None else np.asarray(x, dtype=np.int64)

    return ChipLayer(name, readout, arr(weight), arr(bias), arr(beta), arr(theta),
                     arr(p_table), regs, scale, plasticity, arr(plastic), arr(h0))


def save_model(model: ChipModel, path) -> Path:
    """Write ``model`` to ``path`` (``.npz``), creating its folder; returns the path."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    layers = []
    for layer in model.layers:
        for k in _ARRAYS:
            arrays[f"{layer.name}.{k}"] = getattr(layer, k).astype(np.int32)
        if layer.plastic is not None:
            arrays[f"{layer.name}.plastic"] = layer.plastic.astype(np.uint8)
        if layer.h0 is not None:
            arrays[f"{layer.name}.h0"] = layer.h0.astype(np.int32)
        entry = {"name": layer.name, "n_in": layer.n_in, "n_out": layer.n_out,
                 "readout": layer.readout, "scale": layer.scale,
                 "registers": asdict(layer.regs), "plasticity": None}
        if layer.plasticity is not None:
            pl = layer.plasticity
            arrays[f"{layer.name}.beta_float"] = pl.beta.astype(np.float32)
            arrays[f"{layer.name}.eta_float"] = pl.eta.astype(np.float32)
            entry["plasticity"] = {"alpha": pl.alpha, "w_decay": pl.w_decay, "h_max": pl.h_max}
        layers.append(entry)
    manifest = {"format": FORMAT, "version": VERSION, "core_config": asdict(model.cfg),
                "sizes": list(model.sizes), "readout": len(model.layers) - 1,
                "steps": model.steps, "encoding": model.encoding, "hebb_mode": model.hebb_mode,
                "layers": layers, "metadata": model.metadata,
                "arrays": {k: array_sha256(v) for k, v in sorted(arrays.items())}}
    manifest["manifest_sha256"] = manifest_sha256(manifest)
    blob = np.frombuffer(json.dumps(manifest, sort_keys=True).encode(), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:  # a file object keeps numpy from appending ".npz"
        np.savez_compressed(fh, manifest=blob, **arrays)
    return path


def load_model(path) -> ChipModel:
    """Read a model file written by :func:`save_model`.

    Raises
    ------
    ModelFileError
        If the file is missing, not a model file, of another format version, or any array
        or the manifest fails its checksum.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ModelFileError(f"{path} is not a readable model file (.npz): {e}") from e
    if "manifest" not in arrays:
        raise ModelFileError(f"{path} has no manifest entry: not a {FORMAT} file")
    try:
        manifest = json.loads(arrays.pop("manifest").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{path}: manifest is not valid JSON ({e})") from e
    if manifest.get("format") != FORMAT:
        raise ModelFileError(f"{path}: format must be {FORMAT!r}, not "
                             f"{manifest.get('format')!r}")
    if manifest.get("version") != VERSION:
        raise ModelFileError(f"{path}: model file version {manifest.get('version')!r} is not "
                             f"supported; this loader reads version {VERSION}")
    if manifest.get("manifest_sha256") != manifest_sha256(manifest):
        raise ModelFileError(f"{path}: manifest checksum mismatch (file corrupt or edited)")
    sums = manifest["arrays"]
    if set(sums) != set(arrays):
        raise ModelFileError(f"{path}: arrays {sorted(arrays)} do not match the manifest's "
                             f"{sorted(sums)}")
    for name, a in arrays.items():
        if array_sha256(a) != sums[name]:
            raise ModelFileError(f"{path}: array {name!r} fails its checksum (file corrupt)")
    try:
        cfg = CoreConfig(**manifest["core_config"])
        layers = []
        for e in manifest["layers"]:
            n = e["name"]
            plast = None
            if e["plasticity"] is not None:
                plast = Plasticity(beta=arrays[f"{n}.beta_float"],
                                   eta=arrays[f"{n}.eta_float"], **e["plasticity"])
            layer = make_layer(n, e["readout"], *(arrays[f"{n}.{k}"] for k in _ARRAYS),
                           Registers(**e["registers"]), e["scale"], plast,
                           arrays.get(f"{n}.plastic"), arrays.get(f"{n}.h0"))
            if (layer.n_in, layer.n_out) != (e["n_in"], e["n_out"]):
                raise ValueError(f"layer {n}: weight is {layer.n_in}×{layer.n_out}, the "
                                 f"manifest says {e['n_in']}×{e['n_out']}")
            layers.append(layer)
        return ChipModel(cfg, tuple(layers), manifest["steps"], manifest["encoding"],
                         manifest["hebb_mode"], manifest["metadata"])
    except (ValueError, KeyError, TypeError) as err:
        raise ModelFileError(f"{path}: {err}") from err
