"""Data sets that work offline: Fashion-MNIST from Debian's package, MNIST-1D generated on
the spot, scikit-learn's 8×8 digits, the Python standard library as a text corpus, and
the synthetic sequence tasks the chapters and experiments share (:func:`adding_problem`,
:func:`token_relations`, :func:`first_plus_previous`).

:func:`load_fashion_mnist` reads the IDX files that ``apt-get install
dataset-fashion-mnist`` puts in ``/usr/share/datasets/fashion-mnist`` (the same data
torchvision fetches). Where they are missing (Colab, macOS, Windows) it falls back to
torchvision's downloader, into ``~/.cache/scratch``, unless the environment variable
``SCRATCH_OFFLINE=1`` says the run must stay offline, as the tests and CI do.
:func:`load_mnist1d` builds MNIST-1D with the ``mnist1d`` package's own generator
(``make_dataset``, no network) and caches the arrays in the system's temporary directory,
never in the repository.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "translate",
    "adding_problem",
    "first_plus_previous",
    "token_relations",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
    "DOWNLOAD_DIR",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist1d",
    "offline",
    "read_idx",
    "stdlib_corpus",
]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_DIR = Path.home() / ".cache" / "scratch"  # where the fallback download goes
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# IDX type codes (third byte of the magic number) -> numpy big-endian dtype
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_PREFIX = {"train": "train", "test": "t10k"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (LeCun's MNIST format), gzipped (``.gz``) or raw.

    The header is two zero bytes, a type code, the number of dimensions ``d``, then ``d``
    big-endian 32-bit sizes; the data follow in C order.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"read_idx: {path} is not an IDX file (magic bytes {raw[:4]!r})")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"read_idx: {path} declares shape {shape} ({expected} bytes of data) "
            f"but holds {len(raw) - header} bytes"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=True)


def _find_idx(root: Path, name: str) -> Path | None:
    """``name`` or ``name.gz`` in ``root`` or in torchvision's ``root/FashionMNIST/raw``."""
    for folder in (root, root / "FashionMNIST" / "raw"):
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def offline() -> bool:
    """True when ``SCRATCH_OFFLINE`` is set to 1/true/yes: nothing may be downloaded."""
    return os.environ.get("SCRATCH_OFFLINE", "").strip().lower() in {"1", "true", "yes"}


def load_fashion_mnist(
    split: str = "train", root: str | os.PathLike | None = None, download: bool | None = None
) -> tuple[Tensor, Tensor]:
    """Fashion-MNIST's ``"train"`` (60,000) or ``"test"`` (10,000) split.

    Returns ``(images, labels)``: ``uint8`` images of shape ``(N, 28, 28)`` and ``int64``
    labels in ``0..9`` (names in :data:`FASHION_MNIST_CLASSES`).

    Looks in ``root``, or by default in ``/usr/share/datasets/fashion-mnist`` (where
    Debian's ``dataset-fashion-mnist`` installs the four IDX files) and then in
    :data:`DOWNLOAD_DIR`. If the files are in neither place, ``download`` decides:
    ``True`` fetches them with torchvision, ``False`` raises a ``FileNotFoundError`` that
    says how to install them, and ``None`` (the default) fetches unless
    ``SCRATCH_OFFLINE=1`` is set.
    """
    if split not in _PREFIX:
        raise ValueError(f"load_fashion_mnist: expected split 'train' or 'test', got {split!r}")
    folders = [Path(root)] if root is not None else [FASHION_MNIST_DIR, DOWNLOAD_DIR]
    prefix = _PREFIX[split]
    for folder in folders:
        images_path = _find_idx(folder, f"{prefix}-images-idx3-ubyte")
        labels_path = _find_idx(folder, f"{prefix}-labels-idx1-ubyte")
        if images_path is not None and labels_path is not None:
            images, labels = read_idx(images_path), read_idx(labels_path)
            if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
                raise ValueError(
                    f"load_fashion_mnist: {images_path} and {labels_path} disagree: "
                    f"images {images.shape}, labels {labels.shape}"
                )
            return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))
    if download is None:
        download = not offline()
    if not download:
        where = " or ".join(str(f) for f in folders)
        raise FileNotFoundError(
            f"load_fashion_mnist: no Fashion-MNIST IDX files ({prefix}-images-idx3-ubyte[.gz], "
            f"{prefix}-labels-idx1-ubyte[.gz]) in {where}. Install them offline with "
            "'sudo apt-get install dataset-fashion-mnist', or pass download=True (and unset "
            "SCRATCH_OFFLINE) to fetch them with torchvision."
        )
    from torchvision.datasets import FashionMNIST  # only when a download is wanted

    target = folders[-1]  # root, or DOWNLOAD_DIR
    ds = FashionMNIST(str(target), train=split == "train", download=True)
    return ds.data.to(torch.uint8), ds.targets.to(torch.int64)


def _mnist1d_arrays(data_seed: int, num_samples: int) -> dict[str, np.ndarray]:
    """MNIST-1D from ``mnist1d.data.make_dataset`` (no download), cached in the temp dir."""
    from importlib.metadata import version

    key = {"seed": data_seed, "num_samples": num_samples, "mnist1d": version("mnist1d")}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / "scratch-mnist1d" / f"{digest}.npz"
    if cache.is_file():
        try:
            with np.load(cache) as z:
                return {k: z[k] for k in ("x", "y", "x_test", "y_test")}
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache: rebuild it below
    from mnist1d.data import get_dataset_args, make_dataset  # imports scipy, requests: slow

    args = get_dataset_args()  # the package's defaults, i.e. the published data set
    args.seed, args.num_samples = data_seed, num_samples
    data = make_dataset(args)
    arrays = {k: np.asarray(data[k]) for k in ("x", "y", "x_test", "y_test")}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, cache)
    except OSError:
        pass  # caching is an optimisation only
    return arrays


def load_mnist1d(
    seed: int = 0, shuffle_spatial: bool = False, data_seed: int = 42, num_samples: int = 5000
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """MNIST-1D (Greydanus, 2020): ``(x_train, y_train, x_test, y_test)``.

    ``x`` is ``float32`` of shape ``(N, 40)``, ``y`` is ``int64`` in ``0..9``; the defaults
    (``data_seed=42``, 5,000 samples, 80 % train) are the data set of the published table
    (4,000 train, 1,000 test).

    With ``shuffle_spatial=True`` one fixed permutation of the 40 positions, drawn from
    ``seed``, is applied to train and test alike: every pixel keeps its information but
    neighbours are no longer neighbours, which removes what a convolution relies on.
    """
    arrays = _mnist1d_arrays(data_seed, num_samples)
    x, x_test = arrays["x"].astype(np.float32), arrays["x_test"].astype(np.float32)
    if shuffle_spatial:
        perm = np.random.default_rng(seed).permutation(x.shape[1])
        x, x_test = x[:, perm], x_test[:, perm]
    return (
        torch.from_numpy(np.ascontiguousarray(x)),
        torch.from_numpy(arrays["y"].astype(np.int64)),
        torch.from_numpy(np.ascontiguousarray(x_test)),
        torch.from_numpy(arrays["y_test"].astype(np.int64)),
    )


def load_digits() -> tuple[Tensor, Tensor]:
    """scikit-learn's bundled 8×8 handwritten digits: ``float32`` images ``(1797, 8, 8)``
    with values 0..16 and ``int64`` labels ``(1797,)``."""
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32))
    return images, torch.from_numpy(bunch.target.astype(np.int64))


def _stdlib_dir() -> Path:
    path = Path(sysconfig.get_paths()["stdlib"])
    if path.is_dir():
        return path
    major, minor = sys.version_info[:2]
    return Path(sys.base_prefix) / "lib" / f"python{major}.{minor}"


def stdlib_corpus(max_chars: int | None = 1_000_000) -> str:
    """The Python standard library's own ``.py`` files as one string: a real text corpus
    that every Python installation carries.

    Files are read in sorted path order (site-packages excluded), so the text is the same
    on every run of the same Python; it is cut at ``max_chars`` characters (``None``: all).
    """
    if max_chars is not None and max_chars <= 0:
        raise ValueError(f"stdlib_corpus: expected max_chars > 0 or None, got {max_chars}")
    root = _stdlib_dir()
    paths = sorted(
        p
        for p in root.rglob("*.py")
        if not any(part in ("site-packages", "dist-packages") for part in p.parts)
    )
    if not paths:
        raise FileNotFoundError(f"stdlib_corpus: no .py files under {root}")
    chunks, total = [], 0
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        chunks.append(text)
        total += len(text)
        if max_chars is not None and total >= max_chars:
            break
    corpus = "".join(chunks)
    return corpus if max_chars is None else corpus[:max_chars]


def translate(x: Tensor, dx: int, dy: int) -> Tensor:
    """Move the content of the last two dimensions (an image, a feature map) ``dx`` columns
    right and ``dy`` rows down (negative: left, up). What moves out is lost; zeros (the
    background) move in.

    Examples::

        >>> translate(torch.arange(1.0, 5.0).reshape(2, 2), dx=1, dy=0)
        tensor([[0., 1.],
                [0., 3.]])
    """
    out = torch.zeros_like(x)
    H, W = x.shape[-2:]
    rows_to, cols_to = slice(max(dy, 0), H + min(dy, 0)), slice(max(dx, 0), W + min(dx, 0))
    rows_from, cols_from = slice(max(-dy, 0), H + min(-dy, 0)), slice(max(-dx, 0), W + min(-dx, 0))
    out[..., rows_to, cols_to] = x[..., rows_from, cols_from]
    return out


# ------------------------------------------------------------------ synthetic sequence tasks


def adding_problem(
    n: int, length: int, generator: torch.Generator, device: torch.device | str = "cpu"
) -> tuple[Tensor, Tensor]:
    """The adding problem (Hochreiter and Schmidhuber, 1997): every step carries a value
    ``~ U(0, 1)`` and a marker; one step in each half of the sequence is marked, and the
    target is the sum of the two marked values. A model must carry the first marked value
    across up to ``length`` steps.

    Returns ``x`` ``(n, length, 2)`` = (value, marker) and ``y`` ``(n, 1)``, drawn from
    ``generator`` on the CPU and then moved to ``device`` (the same numbers everywhere).

    Examples::

        >>> x, y = adding_problem(4, 10, torch.Generator().manual_seed(0))
        >>> x.shape, y.shape, x[..., 1].sum(1).tolist()
        (torch.Size([4, 10, 2]), torch.Size([4, 1]), [2.0, 2.0, 2.0, 2.0])
    """
    values = torch.rand(n, length, generator=generator)  # (n, length)
    half = length // 2
    first = torch.randint(0, half, (n,), generator=generator)
    second = torch.randint(half, length, (n,), generator=generator)
    markers = torch.zeros(n, length)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)  # (n, length, 2)
    y = (values[rows, first] + values[rows, second]).unsqueeze(1)  # (n, 1)
    return x.to(device), y.to(device)


def token_relations(
    n: int, vocab_size: int, length: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Uniform random tokens and, for positions ``1 .. length − 1``, two targets: the
    previous token and the first token of the sequence. Each target is a relation one
    attention head can compute by looking at a single position.

    Returns ``tokens`` ``(n, length)`` and ``targets`` ``(n, length − 1, 2)``.

    Examples::

        >>> tok, targets = token_relations(2, 8, 5, torch.Generator().manual_seed(0))
        >>> bool((targets[..., 0] == tok[:, :-1]).all() and (targets[..., 1] == tok[:, :1]).all())
        True
    """
    tokens = torch.randint(0, vocab_size, (n, length), generator=generator)  # (n, T)
    first = tokens[:, :1].expand(n, length - 1)  # (n, T - 1)
    return tokens, torch.stack([tokens[:, :-1], first], dim=-1)  # (n, T - 1, 2)


def first_plus_previous(
    n: int, vocab_size: int, length: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Uniform random tokens and, for positions ``1 .. length − 1``, the target
    ``(first token + previous token) mod vocab_size``: one answer that needs two
    positions at once, so a model with several heads can split the work between them.

    Returns ``tokens`` ``(n, length)`` and ``targets`` ``(n, length − 1)``.

    Examples::

        >>> tok, target = first_plus_previous(2, 5, 6, torch.Generator().manual_seed(0))
        >>> bool((target == (tok[:, :1] + tok[:, :-1]) % 5).all())
        True
    """
    tokens = torch.randint(0, vocab_size, (n, length), generator=generator)  # (n, T)
    return tokens, (tokens[:, :1] + tokens[:, :-1]) % vocab_size  # (n, T - 1)
