"""The reference solution of VAE.ipynb, for the training benchmarks.

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


def reference_solution():
    """Graded name → object (VAE, vae_loss, train_epoch, evaluate, ...) from the source VAE notebook."""
    namespace = dict(math=math, torch=torch, nn=nn, F=F)  # what the notebook's setup cell imports for them
    for cell in nbformat.read(SOURCE / "VAE.ipynb", as_version=4).cells:
        if utils.is_solution(cell) and cell.cell_type == "code":
            exec(compile(cell.source, f"VAE.ipynb:{cell.metadata.nbgrader['grade_id']}", "exec"), namespace)
    return namespace
