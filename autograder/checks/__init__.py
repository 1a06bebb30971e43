"""Trusted checks: the hidden tests' verdicts, computed in the grader's own process.

Each graded test cell of a source notebook ends with a hidden ``hw4.probe.run(test_id, fn)`` call. Before
the notebook runs, the grader draws fresh inputs with ``make_cases``; the probe feeds them to the student's
code in the sandbox; afterwards ``verify`` compares the recorded outputs with an oracle built on
``torch.distributions`` or plain torch. Student code can fake its own outputs, never this comparison.
"""
import importlib
import pkgutil
import secrets
from dataclasses import dataclass, field
from typing import Callable

import torch

Case = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Check:
    test_id: str  # the nbgrader grade_id of the test cell
    notebook: str  # one of hw4.course.NOTEBOOKS
    make_cases: Callable[[torch.Generator], list[Case]]
    # verify(cases, outputs) → failure messages for the student; [] means the test passes.
    # outputs[i] is the dict of tensors recorded for cases[i], or a str when the student's code raised.
    verify: Callable[[list[Case], list], list[str]]
    # solution cells (grade_ids) whose source must not mention torch.distributions
    no_distributions_in: tuple[str, ...] = field(default=())


def _registry():
    """Test id → check, from every module of this package that defines CHECKS (one module a notebook)."""
    modules = [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)]
    return {check.test_id: check for module in modules for check in getattr(module, "CHECKS", ())}


CHECKS = _registry()


def run_here(test_id, call):
    """The ``hw4.checks`` entry point: check ``test_id`` on fresh cases, where ``call(cases)`` gives the outputs.

    An instructor running a source notebook by hand (or `hw4 results`) gets the hidden tests' verdicts in
    the kernel itself; grading never comes here."""
    check = CHECKS[test_id]
    cases = check.make_cases(torch.Generator().manual_seed(secrets.randbits(62)))
    return check.verify(cases, call(cases))
