"""Offline data loaders: the IDX parser on tiny hand-made files, Fashion-MNIST from the
Debian package, MNIST-1D (plain and spatially shuffled), the 8×8 digits, the stdlib corpus."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from scratch import data


def write_idx(path, array: np.ndarray, code: int = 0x08, compress: bool = False) -> None:
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.tobytes()
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def tiny_fashion(root, n=5, compress=True, split_prefix="train"):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=(n,), dtype=np.uint8)
    suffix = ".gz" if compress else ""
    write_idx(root / f"{split_prefix}-images-idx3-ubyte{suffix}", images, compress=compress)
    write_idx(root / f"{split_prefix}-labels-idx1-ubyte{suffix}", labels, compress=compress)
    return images, labels


@pytest.mark.parametrize("compress", [True, False])
def test_idx_parser_round_trip(tmp_path, compress):
    images, labels = tiny_fashion(tmp_path, compress=compress)
    x, y = data.load_fashion_mnist("train", root=tmp_path)
    assert x.dtype == torch.uint8 and x.shape == (5, 28, 28)
    assert y.dtype == torch.int64 and y.shape == (5,)
    assert np.array_equal(x.numpy(), images) and np.array_equal(y.numpy(), labels)


def test_idx_parser_big_endian_types(tmp_path):
    values = (np.arange(6).reshape(2, 3) - 3).astype(">i4")
    write_idx(tmp_path / "ints", values, code=0x0C)
    out = data.read_idx(tmp_path / "ints")
    assert out.shape == (2, 3) and out.tolist() == [[-3, -2, -1], [0, 1, 2]]


def test_idx_parser_rejects_bad_files(tmp_path):
    (tmp_path / "junk").write_bytes(b"\x12\x34\x56\x78rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(tmp_path / "junk")
    short = np.zeros((2, 3), dtype=np.uint8)
    (tmp_path / "short").write_bytes(
        bytes([0, 0, 8, 2]) + struct.pack(">2I", 4, 3) + short.tobytes()
    )
    with pytest.raises(ValueError, match="declares shape"):
        data.read_idx(tmp_path / "short")


def test_torchvision_raw_layout_and_test_split(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    tiny_fashion(raw, n=3, compress=False, split_prefix="t10k")
    x, y = data.load_fashion_mnist("test", root=tmp_path)
    assert x.shape == (3, 28, 28) and y.shape == (3,)


def test_missing_files_say_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        data.load_fashion_mnist("train", root=tmp_path)
    with pytest.raises(ValueError, match="split"):
        data.load_fashion_mnist("valid", root=tmp_path)


@pytest.mark.skipif(
    not (data.FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists()
    and not (data.FASHION_MNIST_DIR / "t10k-images-idx3-ubyte").exists(),
    reason="Fashion-MNIST not installed: apt-get install dataset-fashion-mnist",
)
def test_real_fashion_mnist_test_split():
    x, y = data.load_fashion_mnist("test")
    assert x.shape == (10_000, 28, 28) and x.dtype == torch.uint8
    assert y.shape == (10_000,) and y.dtype == torch.int64
    assert torch.bincount(y).tolist() == [1000] * 10  # balanced classes


def test_mnist1d_shapes_and_determinism():
    x, y, xt, yt = data.load_mnist1d()
    assert x.shape == (4000, 40) and xt.shape == (1000, 40)
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert int(y.min()) == 0 and int(y.max()) == 9
    x2, y2, _, _ = data.load_mnist1d()
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_mnist1d_shuffle_is_one_fixed_permutation():
    x, y, xt, yt = data.load_mnist1d()
    xs, ys, xts, yts = data.load_mnist1d(seed=0, shuffle_spatial=True)
    assert torch.equal(y, ys) and torch.equal(yt, yts)
    assert not torch.equal(x, xs)
    perm = torch.from_numpy(np.random.default_rng(0).permutation(40))
    assert torch.equal(xs, x[:, perm]) and torch.equal(xts, xt[:, perm])  # same for both
    assert torch.equal(xs, data.load_mnist1d(seed=0, shuffle_spatial=True)[0])
    assert not torch.equal(xs, data.load_mnist1d(seed=1, shuffle_spatial=True)[0])


def test_digits():
    x, y = data.load_digits()
    assert x.shape == (1797, 8, 8) and x.dtype == torch.float32
    assert y.shape == (1797,) and y.dtype == torch.int64 and float(x.max()) == 16.0


def test_stdlib_corpus_is_deterministic_and_capped():
    text = data.stdlib_corpus(max_chars=20_000)
    assert len(text) == 20_000 and text == data.stdlib_corpus(max_chars=20_000)
    assert "def " in text or "import " in text
    with pytest.raises(ValueError, match="max_chars"):
        data.stdlib_corpus(max_chars=0)


@pytest.fixture
def _fake_mirror(tmp_path, monkeypatch):
    """A mirror served over HTTP on 127.0.0.1 holding tiny IDX files, with their md5 sums
    put into torchvision's FashionMNIST, so its real download code runs with no network."""
    import functools
    import hashlib
    import http.server
    import threading

    from torchvision.datasets import FashionMNIST

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    train = tiny_fashion(mirror, n=4, split_prefix="train")
    tiny_fashion(mirror, n=3, split_prefix="t10k")
    resources = [
        (p.name, hashlib.md5(p.read_bytes()).hexdigest()) for p in sorted(mirror.iterdir())
    ]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(mirror))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(FashionMNIST, "mirrors", [f"http://127.0.0.1:{server.server_port}/"])
    monkeypatch.setattr(FashionMNIST, "resources", resources)
    yield train
    server.shutdown()


def test_falls_back_to_torchvision_download_when_the_files_are_missing(
    tmp_path, monkeypatch, _fake_mirror
):
    images, labels = _fake_mirror
    monkeypatch.setattr(data, "FASHION_MNIST_DIR", tmp_path / "no-debian-package")
    monkeypatch.setattr(data, "DOWNLOAD_DIR", tmp_path / "cache")
    monkeypatch.delenv("SCRATCH_OFFLINE")  # as on Colab or a laptop
    x, y = data.load_fashion_mnist("train")
    assert np.array_equal(x.numpy(), images) and np.array_equal(y.numpy(), labels)
    assert (tmp_path / "cache" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    # the second call reads the cache: no mirror needed
    monkeypatch.setenv("SCRATCH_OFFLINE", "1")
    x2, _ = data.load_fashion_mnist("train")
    assert torch.equal(x, x2)


def test_offline_runs_never_download(tmp_path, monkeypatch, _fake_mirror):
    monkeypatch.setattr(data, "FASHION_MNIST_DIR", tmp_path / "no-debian-package")
    monkeypatch.setattr(data, "DOWNLOAD_DIR", tmp_path / "cache")
    assert data.offline()  # tests/conftest.py sets SCRATCH_OFFLINE=1
    with pytest.raises(FileNotFoundError, match="SCRATCH_OFFLINE"):
        data.load_fashion_mnist("test")
    assert not (tmp_path / "cache").exists()


def test_adding_problem_marks_one_step_per_half_and_sums_them():
    x, y = data.adding_problem(200, 12, torch.Generator().manual_seed(3))
    markers = x[..., 1]  # (200, 12)
    assert x.shape == (200, 12, 2) and y.shape == (200, 1)
    assert (markers[:, :6].sum(1) == 1).all() and (markers[:, 6:].sum(1) == 1).all()
    assert torch.allclose((x[..., 0] * markers).sum(1, keepdim=True), y)
    again, _ = data.adding_problem(200, 12, torch.Generator().manual_seed(3), device="meta")
    assert again.device.type == "meta"  # drawn on the CPU, then moved


def test_relation_tasks_targets_follow_their_definitions():
    tok, targets = data.token_relations(50, 7, 9, torch.Generator().manual_seed(1))
    assert tok.shape == (50, 9) and targets.shape == (50, 8, 2) and int(tok.max()) < 7
    assert (targets[:, 3, 0] == tok[:, 3]).all() and (targets[:, 3, 1] == tok[:, 0]).all()
    tok, target = data.first_plus_previous(50, 5, 9, torch.Generator().manual_seed(1))
    assert target.shape == (50, 8)
    assert (target[:, 4] == (tok[:, 0] + tok[:, 4]) % 5).all()


@pytest.mark.parametrize("dx,dy", [(0, 0), (2, 1), (-1, 3), (3, -2), (-2, -2), (5, 0)])
def test_translate_moves_content_and_fills_with_zeros(dx, dy):
    x = torch.arange(1.0, 1 + 2 * 5 * 5).reshape(2, 5, 5)
    out = data.translate(x, dx, dy)
    for r in range(5):
        for c in range(5):
            r0, c0 = r - dy, c - dx  # where the value at (r, c) came from
            inside = 0 <= r0 < 5 and 0 <= c0 < 5
            assert torch.equal(out[:, r, c], x[:, r0, c0] if inside else torch.zeros(2))
