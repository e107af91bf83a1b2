"""The model file: a trained network as the chip will hold it, read by the image compiler.

A model file is an ``.npz`` archive. Its ``manifest`` entry is UTF-8 JSON with the format
name and :data:`VERSION`, the :class:`~glocal.golden.config.CoreConfig`, the topology
(layer sizes, which layer is the readout), ``steps``, the input encoding, the Hebbian
mode, each layer's registers, scale and float plasticity parameters, the training
metadata, and a SHA-256 of every array and of the manifest itself. The other entries are
the integer tensors of each layer (``<layer>.weight``, ``.bias``, ``.beta``, ``.theta``,
``.p_table``) at their trained size, plus the float ``.beta_float`` and ``.eta_float``.
:func:`load_model` pads them to the core's size and returns typed objects whose
``params`` :func:`glocal.golden.reference.step` takes directly.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from glocal.golden import quant
from glocal.golden.config import CoreConfig
from glocal.golden.model import Net
from glocal.golden.reference import CoreParams, Registers, decay_table

__all__ = ["FORMAT", "VERSION", "ModelFileError", "Plasticity", "ChipLayer", "ChipModel",
           "from_net", "save_model", "load_model"]

FORMAT = "glocal-model"
#: Bumped whenever the file's layout or meaning changes; the loader accepts only this one.
VERSION = 1
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
    """One layer = one core.

    Members
    -------
    name : str
    n_in, n_out : int
        Axons and neurons used (the rest of the core is zero-padded).
    readout : bool
        The non-spiking integrator whose membranes are the class scores.
    params : CoreParams
        Padded to the core's full size, ready for :func:`glocal.golden.reference.step`.
    scale : float
        Float value of one membrane unit.
    plasticity : Plasticity or None
        ``None`` for a layer without a Hebbian term.
    """

    name: str
    n_in: int
    n_out: int
    readout: bool
    params: CoreParams
    scale: float
    plasticity: Plasticity | None = None


@dataclass(frozen=True)
class ChipModel:
    """A network for the chip: cores in order, input to readout."""

    cfg: CoreConfig
    layers: tuple[ChipLayer, ...]
    steps: int
    encoding: str
    hebb_mode: str
    metadata: dict = field(default_factory=dict)

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.layers[0].n_in, *(layer.n_out for layer in self.layers))


def _pad(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, dtype=np.int64)
    out[tuple(slice(0, n) for n in a.shape)] = a
    return out


def _core(cfg: CoreConfig, weight, bias, beta, theta, p_table, regs: Registers) -> CoreParams:
    a, n = cfg.axons, cfg.neurons
    params = CoreParams(weight=_pad(weight, (a, n)), bias=_pad(bias, (n,)),
                        beta=_pad(beta, (a,)), theta=_pad(theta, (n,)),
                        p_table=np.asarray(p_table, dtype=np.int64), regs=regs)
    params.check(cfg)
    return params


@torch.no_grad()
def from_net(net: Net, *, encoding: str, hebb_mode: str, metadata: dict | None = None
             ) -> ChipModel:
    """Quantize a trained network into a :class:`ChipModel` (the codes the QAT forward uses)."""
    spec, cfg = net.spec, net.spec.cfg
    layers = []
    for n, layer in enumerate(net.hidden):
        if layer.hebb_mask is not None:
            raise ValueError(f"layer {n} has a per-synapse Hebbian mask, which the core "
                             f"cannot hold; expected hebb_mask None")
        q = layer.codes(True, torch.float64)
        regs = Registers(vth_shift=spec.vth_shift, decay=int(q.decay),
                         alpha=int(quant.to_int(q.alpha, "alpha")), h_max=int(q.h_max),
                         learn=layer.plastic)
        params = _core(cfg, quant.to_int(q.weight, "weight"), quant.to_int(q.bias, "bias"),
                       quant.to_int(q.beta, "beta"), quant.to_int(q.theta, "theta"),
                       quant.to_int(q.p_table, "p_table"), regs)
        plast = None
        if layer.plastic:
            plast = Plasticity(alpha=float(layer.alpha), beta=layer.beta.numpy().copy(),
                               eta=layer.eta.numpy().copy(), w_decay=spec.w_decay,
                               h_max=spec.h_max)
        layers.append(ChipLayer(f"layer{n}", layer.n_in, layer.n_out, False, params,
                                layer.scale, plast))
    r = net.readout
    w, b, sc = r.codes(torch.float64)
    regs = Registers(vth_shift=r.vth_shift, decay=1 << cfg.decay_frac, alpha=0, h_max=0,
                     learn=False)
    params = _core(cfg, quant.to_int(w, "readout weight"), quant.to_int(b, "readout bias"),
                   np.zeros(r.n_in, np.int64), np.zeros(r.n_out, np.int64),
                   decay_table(cfg, spec.w_decay), regs)
    layers.append(ChipLayer(f"layer{len(net.hidden)}", r.n_in, r.n_out, True, params,
                            float(sc)))
    return ChipModel(cfg, tuple(layers), spec.steps, encoding, hebb_mode, dict(metadata or {}))


def _sha(a: np.ndarray) -> str:
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _manifest_sha(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def save_model(model: ChipModel, path) -> Path:
    """Write ``model`` to ``path`` (``.npz``), creating its folder; returns the path."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    layers = []
    for layer in model.layers:
        p = layer.params
        arrays[f"{layer.name}.weight"] = p.weight[:layer.n_in, :layer.n_out].astype(np.int32)
        arrays[f"{layer.name}.bias"] = p.bias[:layer.n_out].astype(np.int32)
        arrays[f"{layer.name}.beta"] = p.beta[:layer.n_in].astype(np.int32)
        arrays[f"{layer.name}.theta"] = p.theta[:layer.n_out].astype(np.int32)
        arrays[f"{layer.name}.p_table"] = p.p_table.astype(np.int32)
        entry = {"name": layer.name, "n_in": layer.n_in, "n_out": layer.n_out,
                 "readout": layer.readout, "scale": layer.scale,
                 "registers": asdict(p.regs), "plasticity": None}
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
                "arrays": {k: _sha(v) for k, v in sorted(arrays.items())}}
    manifest["manifest_sha256"] = _manifest_sha(manifest)
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
    if manifest.get("manifest_sha256") != _manifest_sha(manifest):
        raise ModelFileError(f"{path}: manifest checksum mismatch (file corrupt or edited)")
    sums = manifest["arrays"]
    if set(sums) != set(arrays):
        raise ModelFileError(f"{path}: arrays {sorted(arrays)} do not match the manifest's "
                             f"{sorted(sums)}")
    for name, a in arrays.items():
        if _sha(a) != sums[name]:
            raise ModelFileError(f"{path}: array {name!r} fails its checksum (file corrupt)")
    cfg = CoreConfig(**manifest["core_config"])
    layers = []
    for e in manifest["layers"]:
        n = e["name"]
        try:
            params = _core(cfg, *(arrays[f"{n}.{k}"].astype(np.int64) for k in _ARRAYS),
                           Registers(**e["registers"]))
        except ValueError as err:
            raise ModelFileError(f"{path}: layer {n}: {err}") from err
        plast = None
        if e["plasticity"] is not None:
            plast = Plasticity(beta=arrays[f"{n}.beta_float"], eta=arrays[f"{n}.eta_float"],
                               **e["plasticity"])
        layers.append(ChipLayer(n, e["n_in"], e["n_out"], e["readout"], params, e["scale"],
                                plast))
    return ChipModel(cfg, tuple(layers), manifest["steps"], manifest["encoding"],
                     manifest["hebb_mode"], manifest["metadata"])
