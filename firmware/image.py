"""The chip image: the one definition of the file that carries a compiled `Program`.

An image is a zip archive (conventionally ``.glimg``) with two kinds of entries:

``manifest.json``
    Readable JSON (``unzip -p F.glimg manifest.json``): ``format`` (:data:`FORMAT`),
    ``version`` (:data:`VERSION`), the target ``core_config`` and ``mesh``, per core its
    ``name`` (what it holds, ``""`` if idle), its ``registers`` by `Reg` name and its
    ``regions``: for each memory-map region the array holding its entries from index 0;
    the ``inputs`` (per input channel, the ``[core, axon]`` pairs it sets) and ``outputs``
    (``[core, neuron]``); the ``source`` model file's name and SHA-256; ``about`` (what
    running the image needs: steps, encoding, Hebbian mode, data set); a SHA-256 of every
    array and one of the manifest itself (``manifest_sha256``, over the rest of it).
``arrays/core<c>.<REGION>.npy``
    The entries of one region of one core as memory words, in memory-map order
    (``WEIGHT`` and ``PLASTIC`` row-major ``[axon, neuron]``, ``PLASTIC`` only for cores
    with ``plastic_mask``; ``ROUTE_PTR`` and ``ROUTE_DEST`` the packed words of
    :mod:`glocal.golden.noc`, ``ROUTE_DEST`` only its used entries). ``HEBB``, in
    ``WEIGHT``'s order, only for a core with a start trace (``CoreParams.h0``): the
    Hebbian state every sample starts from, not a parameter — it is written after the
    RESET that clears the state, and rows of it again before each sample
    (:func:`start_writes`).

So the image *is* the list of memory writes that load a chip (:func:`writes`, then
:func:`start_writes` after the RESET), and
:func:`load` turns it back into the :class:`~glocal.golden.chip.Program` whose
:func:`glocal.golden.chip.run` says what the loaded chip must compute. A missing, corrupt,
foreign or other-version file raises :class:`ImageError` naming the problem.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from glocal.golden import hostproto as hp
from glocal.golden import memmap
from glocal.golden.chip import Program, ProgramError
from glocal.golden.config import CoreConfig
from glocal.golden.digest import array_sha256, manifest_sha256
from glocal.golden.memmap import Reg, Region
from glocal.golden.noc import Dest, Mesh, RouteTable, dest_fields, ptr_fields
from glocal.golden.reference import CoreParams, Mode, Registers

__all__ = ["FORMAT", "VERSION", "SUFFIX", "REGIONS", "ImageError", "Image", "Write", "save",
           "read", "load", "writes", "start_writes", "file_sha256"]

FORMAT = "glocal-image"
#: Bumped whenever the layout or meaning of an image changes; :func:`read` accepts only it.
VERSION = 2   # 2: HEBB, a core's start trace h0
SUFFIX = ".glimg"
#: Regions an image fills, in the order :func:`writes` sends them.
REGIONS = (Region.WEIGHT, Region.BIAS, Region.BETA, Region.THETA, Region.P_TABLE,
           Region.ROUTE_PTR, Region.ROUTE_DEST, Region.PLASTIC)
_MANIFEST = "manifest.json"


class ImageError(ValueError):
    """An image file is missing, corrupt, foreign or of another version; the message says
    which, and which entry."""


@dataclass(frozen=True)
class Image:
    """An image as read: the program and the manifest's descriptive parts.

    Members
    -------
    program : Program
    source : dict or None
        ``{"file": name, "sha256": hex}`` of the model file it was compiled from.
    about : dict
        What running it needs (``steps``, ``encoding``, ``hebb_mode``, …), as saved.
    manifest : dict
        The whole manifest.
    """

    program: Program
    source: dict | None
    about: dict
    manifest: dict


class Write(NamedTuple):
    """One memory write: ``values`` into ``region`` of ``core`` from ``index``."""

    core: int
    region: Region
    index: int
    values: np.ndarray


# -- from a program to memory words and back ------------------------------------------------

def _registers(regs: Registers) -> dict[str, int]:
    return {r.name: int(v) for r, v in memmap.register_values(regs).items()}


def _from_registers(values: dict[str, int]) -> Registers:
    # The inverse of memmap.register_values, checked by the image round-trip tests.
    return Registers(vth_shift=values[Reg.VTH_SHIFT.name], decay=values[Reg.DECAY.name],
                     alpha=values[Reg.ALPHA.name], h_max=values[Reg.H_MAX.name],
                     learn=bool(values[Reg.LEARN.name]),
                     # Images written before hybrid coding have no MODE/OUT_SHIFT: SNN.
                     mode=Mode(values.get(Reg.MODE.name, Mode.SNN)),
                     out_shift=values.get(Reg.OUT_SHIFT.name, 0))


def _words(program: Program, core: int) -> dict[Region, np.ndarray]:
    """A core's parameter regions (`REGIONS`) as memory words."""
    p, table = program.cores[core], program.tables[core]
    words = {
        Region.WEIGHT: p.weight.reshape(-1), Region.BIAS: p.bias, Region.BETA: p.beta,
        Region.THETA: p.theta, Region.P_TABLE: p.p_table,
        Region.ROUTE_PTR: np.array(table.pointer_words(program.mesh), dtype=np.int64),
        Region.ROUTE_DEST: np.array(table.dest_words(program.mesh, program.cfg),
                                    dtype=np.int64),
    }
    if program.cfg.plastic_mask:     # the region exists only on such cores
        words[Region.PLASTIC] = np.asarray(p.plastic, dtype=np.int64).reshape(-1)
    return words


def _unpack(fields: dict[str, int], word: int) -> dict[str, int]:
    out, shift = {}, 0
    for name, width in fields.items():
        out[name] = (word >> shift) & ((1 << width) - 1)
        shift += width
    return out


def _table(mesh: Mesh, cfg: CoreConfig, ptr, dest) -> RouteTable:
    pf, df = ptr_fields(mesh), dest_fields(mesh, cfg)
    pointers = [(f["base"], f["count"]) for f in (_unpack(pf, int(w)) for w in ptr)]
    dests = []
    for w in dest:
        f = _unpack(df, int(w))
        dests.append(Dest(mesh.core(f["x"], f["y"]), f["axon"]))
    return RouteTable(pointers=tuple(pointers), dests=tuple(dests))


def writes(program: Program, *, skip_zeros: bool = False) -> list[Write]:
    """The memory writes that load ``program``: every core's `REGIONS`, then its registers.

    Parameters
    ----------
    skip_zeros : bool
        Leave out runs of zeros long enough to be worth a frame of their own. Only for a
        chip whose memories are known to hold zeros (just configured or just simulated):
        what is left out is *not* written.
    """
    # A zero run shorter than a frame's overhead costs less to send than to skip.
    gap = hp.REQUEST_OVERHEAD + hp.RANGE_HEADER + hp.RESPONSE_OVERHEAD
    out = []
    for c in range(program.mesh.cores):
        for region, values in _words(program, c).items():
            width = memmap.region_width(program.cfg, region, program.mesh)
            if not skip_zeros:
                if len(values):
                    out.append(Write(c, region, 0, values))
                continue
            # Entries whose packed size is the gap (1-bit regions pack 8 entries a byte).
            run = gap * 8 if width == 1 else max(1, -(-gap // hp.entry_bytes(width)))
            out += [Write(c, region, lo, values[lo:hi]) for lo, hi in _nonzero_spans(values, run)]
        regs = memmap.register_values(program.cores[c].regs)
        # One write per run of consecutive registers (MODE and OUT_SHIFT come after the
        # counters).
        indices = sorted(int(r) for r in regs)
        for first, last in _runs(indices):
            out.append(Write(c, Region.REGS, first,
                             np.array([regs[Reg(r)] for r in range(first, last + 1)],
                                      dtype=np.int64)))
    return out


def start_writes(program: Program, rows: dict[int, np.ndarray] | None = None
                 ) -> list[Write]:
    """The ``HEBB`` writes that put each core's stored ``H`` back to its sample start:
    ``h0`` (:class:`~glocal.golden.reference.CoreParams`), or zero for a core without one.

    Parameters
    ----------
    rows : dict of core → array of axon indices, optional
        Rewrite only these rows of these cores (those a sample touched). Default: the
        nonzero rows of every core's ``h0`` (after a RESET, which zeroed the rest).
    """
    cfg, out = program.cfg, []
    if rows is None:
        rows = {c: np.flatnonzero(np.abs(p.h0).sum(axis=1)) for c, p in enumerate(program.cores)
                if p.h0 is not None}
    for c, axons in sorted(rows.items()):
        h0 = program.cores[c].h0
        for first, last in _runs([int(a) for a in sorted(axons)]):
            values = (np.zeros(((last - first + 1) * cfg.neurons,), np.int64) if h0 is None
                      else np.asarray(h0[first:last + 1], dtype=np.int64).reshape(-1))
            out.append(Write(c, Region.HEBB, first * cfg.neurons, values))
    return out


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """``(first, last)`` of each run of consecutive integers in sorted ``indices``."""
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _nonzero_spans(values: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` spans covering every nonzero entry, split at zero runs of ``gap`` or more."""
    nz = np.flatnonzero(values)
    if not len(nz):
        return []
    cuts = np.flatnonzero(np.diff(nz) > gap)
    starts = np.concatenate([[nz[0]], nz[cuts + 1]])
    ends = np.concatenate([nz[cuts], [nz[-1]]]) + 1
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


# -- the file -------------------------------------------------------------------------------

def file_sha256(path) -> str:
    """SHA-256 of a file's bytes (how an image names its source model file)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save(program: Program, path, *, source=None, about: dict | None = None) -> Path:
    """Write ``program`` to the image file ``path``, creating its folder; returns the path.

    Parameters
    ----------
    source : path, optional
        The model file it was compiled from (its name and SHA-256 are recorded).
    about : dict, optional
        JSON-serialisable facts for whoever runs the image (steps, encoding, …).
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    cores = []
    for c in range(program.mesh.cores):
        regions = {}
        words = _words(program, c)
        if program.cores[c].h0 is not None:
            words[Region.HEBB] = np.asarray(program.cores[c].h0, dtype=np.int64).reshape(-1)
        for region, values in words.items():
            name = f"core{c}.{region.name}"
            arrays[name] = values.astype(np.int32)
            regions[region.name] = {"index": 0, "count": int(len(values)), "array": name}
        cores.append({"core": c, "name": program.names[c] if program.names else "",
                      "registers": _registers(program.cores[c].regs), "regions": regions})
    src = None
    if source is not None:
        src = {"file": Path(source).name, "sha256": file_sha256(source)}
    manifest = {
        "format": FORMAT, "version": VERSION, "core_config": asdict(program.cfg),
        "mesh": asdict(program.mesh), "cores": cores,
        "inputs": [[[d.core, d.axon] for d in ds] for ds in program.inputs],
        "outputs": [list(o) for o in program.outputs], "source": src,
        "about": dict(about or {}),
        "arrays": {k: array_sha256(v) for k, v in sorted(arrays.items())},
    }
    manifest["manifest_sha256"] = manifest_sha256(manifest)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(_MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.save(buf, a, allow_pickle=False)
            z.writestr(f"arrays/{name}.npy", buf.getvalue())
    return path


def _entry(z: zipfile.ZipFile, path: Path, name: str) -> bytes:
    try:
        return z.read(name)
    except KeyError:
        raise ImageError(f"{path} has no entry {name!r}") from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
        raise ImageError(f"{path}: entry {name!r} is corrupt ({e})") from e


def read(path) -> Image:
    """Read and check an image file written by :func:`save`.

    Raises
    ------
    ImageError
        If the file is missing or not a zip archive, has no manifest or another format
        or version, or the manifest or an array fails its SHA-256, or the content is not a
        consistent program for its chip.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"image file {path} does not exist")
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ImageError(f"{path} is not a readable image file (zip): {e}") from e
    with z:
        if _MANIFEST not in z.namelist():
            raise ImageError(f"{path} has no {_MANIFEST}: not a {FORMAT} file")
        try:
            manifest = json.loads(_entry(z, path, _MANIFEST).decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ImageError(f"{path}: {_MANIFEST} is not valid JSON ({e})") from e
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            got = manifest.get("format") if isinstance(manifest, dict) else manifest
            raise ImageError(f"{path}: format must be {FORMAT!r}, not {got!r}")
        if manifest.get("version") != VERSION:
            raise ImageError(f"{path}: image version {manifest.get('version')!r} is not "
                             f"supported; this reader reads version {VERSION}")
        if manifest.get("manifest_sha256") != manifest_sha256(manifest):
            raise ImageError(f"{path}: {_MANIFEST} fails its checksum (file corrupt or edited)")
        arrays = {}
        for name, sha in manifest["arrays"].items():
            data = _entry(z, path, f"arrays/{name}.npy")
            try:
                a = np.load(io.BytesIO(data), allow_pickle=False)
            except (ValueError, OSError, EOFError) as e:
                raise ImageError(f"{path}: array {name!r} is unreadable ({e})") from e
            if array_sha256(a) != sha:
                raise ImageError(f"{path}: array {name!r} fails its checksum (file corrupt)")
            arrays[name] = a.astype(np.int64)
    try:
        program = _program(manifest, arrays)
    except (ProgramError, ValueError, KeyError, TypeError) as e:
        raise ImageError(f"{path}: not a consistent program: {e}") from e
    return Image(program=program, source=manifest["source"], about=manifest["about"],
                 manifest=manifest)


def _program(manifest: dict, arrays: dict[str, np.ndarray]) -> Program:
    cfg = CoreConfig(**manifest["core_config"])
    mesh = Mesh(**manifest["mesh"])
    params, tables, names = [], [], []
    for c, entry in enumerate(manifest["cores"]):
        if entry["core"] != c:
            raise ValueError(f"core entry {c} says it is core {entry['core']}")
        words = {Region[r]: arrays[e["array"]] for r, e in entry["regions"].items()}
        plastic, h0 = words.get(Region.PLASTIC), words.get(Region.HEBB)
        params.append(CoreParams(
            weight=words[Region.WEIGHT].reshape(cfg.axons, cfg.neurons),
            bias=words[Region.BIAS], beta=words[Region.BETA], theta=words[Region.THETA],
            p_table=words[Region.P_TABLE], regs=_from_registers(entry["registers"]),
            plastic=None if plastic is None else plastic.reshape(cfg.axons, cfg.neurons),
            h0=None if h0 is None else h0.reshape(cfg.axons, cfg.neurons)))
        tables.append(_table(mesh, cfg, words[Region.ROUTE_PTR], words[Region.ROUTE_DEST]))
        names.append(entry["name"])
    return Program(cfg, mesh, tuple(params), tuple(tables),
                   tuple(tuple(Dest(c, a) for c, a in ds) for ds in manifest["inputs"]),
                   tuple((c, j) for c, j in manifest["outputs"]), tuple(names))


def load(path) -> Program:
    """The program of the image file ``path`` (:func:`read` checks it first).

    Raises
    ------
    ImageError
        As :func:`read`.
    """
    return read(path).program
