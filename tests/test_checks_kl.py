"""The KL checks against realistic student code: right answers pass, wrong ones are caught.

Student code runs here by plain calls (no sandbox) through the same probe functions the source notebook's
hidden tests pass to ``probe.run``; the reference solutions come from the source notebook's solution cells.
"""
import functools
import importlib.util
import math
import re
from pathlib import Path
from statistics import NormalDist
from unittest import mock

import nbformat
import pytest
import torch

from autograder.checks import CHECKS, kl, stats
from hw4 import probe

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "autograder" / "source" / "hw4" / "KL_derivation.ipynb"
FUNCTIONS = ("mvn_log_prob", "kl_mvn", "kl_mc", "kl_diag_std_normal")
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def _cells():
    return {cell.metadata["nbgrader"]["grade_id"]: cell
            for cell in nbformat.read(SOURCE, as_version=4).cells if "nbgrader" in cell.metadata}


CELLS = _cells()
pytestmark = pytest.mark.usefixtures("one_torch_thread")
KL_CHECKS = {test_id: check for test_id, check in CHECKS.items() if check.notebook == "KL_derivation"}


def _checks_of(name):
    return [check for test_id, check in KL_CHECKS.items() if test_id.startswith(f"test_{name}_")]


@functools.cache  # on first use: every test process collects this module, few run its tests
def reference():
    """The source notebook's solution functions."""
    namespace = {}
    exec(CELLS["imports"].source, namespace)
    for name in FUNCTIONS:
        exec(CELLS[name].source, namespace)
    return namespace


def _load_catalog():
    """tests/catalog_kl.py by path, whether or not tests/ is a package."""
    spec = importlib.util.spec_from_file_location("catalog_kl", HERE / "catalog_kl.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RIGHT, module.WRONG


RIGHT, WRONG = _load_catalog()


def _probe_functions(namespace, source):
    """Run test-cell code in ``namespace``, recording the function each ``probe.run`` receives."""
    recorded = {}
    with mock.patch.object(probe, "run", lambda test_id, fn: recorded.setdefault(test_id, fn)):
        exec(source, namespace)
    return recorded


def _with_student(name, code):
    namespace = dict(reference())
    exec(code, namespace)
    return namespace


def _failures(check, fn, seed):
    cases = check.make_cases(torch.Generator().manual_seed(seed))
    return check.verify(cases, probe._call_each(cases, fn))


def _catalog(entries):
    return [pytest.param(name, label, code, id=f"{name}-{label}")
            for name, by_label in entries.items() for label, code in by_label.items()]


# ------------------------------------------------------------------ the notebook and the registry agree

def test_every_test_cell_has_its_check_and_probes_its_own_id():
    test_cells = {grade_id for grade_id, cell in CELLS.items()
                  if cell.metadata["nbgrader"]["grade"] and cell.cell_type == "code"}
    assert test_cells == set(KL_CHECKS)
    for test_id in test_cells:
        hidden = HIDDEN.search(CELLS[test_id].source)
        assert hidden, f"{test_id} has no hidden section"
        assert list(_probe_functions(dict(reference()), hidden.group(1))) == [test_id]


def test_catalog_covers_every_function_with_enough_entries():
    for name in FUNCTIONS:
        assert len(WRONG[name]) >= 6 and len(RIGHT[name]) >= 3, name
        assert _checks_of(name), f"no check for {name}"
        for code in [*WRONG[name].values(), *RIGHT[name].values()]:
            assert code.lstrip().startswith(f"def {name}("), code


def test_no_distributions_rule_names_the_right_cells():
    expected = {"kl_mvn": ("kl_mvn",), "kl_mc": ("kl_mc",), "mvn_log_prob": (), "kl_diag_std_normal": ()}
    for name, cells in expected.items():
        for check in _checks_of(name):
            assert check.no_distributions_in == cells, check.test_id
    for grade_id in ("kl_mvn", "kl_mc"):
        cell = CELLS[grade_id]
        assert cell.metadata["nbgrader"]["solution"] and cell.source.startswith(f"def {grade_id}(")
        assert "distributions" not in cell.source


# ------------------------------------------------------------------ the catalog

SLOW = {"test_kl_mc_estimate"}  # about 2 s of calls; the others take milliseconds


@pytest.mark.parametrize("name, label, code", _catalog(RIGHT))
def test_right_implementation_passes_visible_and_hidden_tests(name, label, code):
    namespace = _with_student(name, code)
    for check in _checks_of(name):
        fn = _probe_functions(namespace, CELLS[check.test_id].source)[check.test_id]  # visible asserts run too
        for seed in (0,) if check.test_id in SLOW else (0, 1):
            assert _failures(check, fn, seed) == [], f"{label} on {check.test_id}, seed {seed}"


@pytest.mark.parametrize("name, label, code", _catalog(WRONG))
def test_wrong_implementation_fails_a_hidden_test(name, label, code):
    namespace = _with_student(name, code)
    failures = []
    for check in sorted(_checks_of(name), key=lambda check: check.test_id in SLOW):  # one failing check is enough
        fn = _probe_functions(namespace, HIDDEN.search(CELLS[check.test_id].source).group(1))[check.test_id]
        failures = _failures(check, fn, seed=0)
        if failures:
            break
    assert failures, f"no hidden test of {name} catches '{label}'"
    assert all(message.startswith(f"{name} ") for message in failures), failures


# ------------------------------------------------------------------ kl_mc's statistical test

def _mc_estimate_fn():
    source = HIDDEN.search(CELLS["test_kl_mc_estimate"].source).group(1)
    return _probe_functions(dict(reference()), source)["test_kl_mc_estimate"]


def test_mc_tolerance_holds_for_the_reference_over_seeds():
    check, fn = KL_CHECKS["test_kl_mc_estimate"], _mc_estimate_fn()
    for seed in (2, 3):  # benchmarks/false_failures.py runs it 200 times
        assert _failures(check, fn, seed) == [], f"seed {seed}"


def _log_ratio_variance(case):
    """Var f under p from ½ tr((M − I)²) + ‖b‖², computed with explicit inverses (independent of kl.py)."""
    mu1, sigma1, mu2, sigma2 = (case[name].double() for name in ("mu1", "Sigma1", "mu2", "Sigma2"))
    l1, inv2 = torch.linalg.cholesky(sigma1), torch.linalg.inv(sigma2)
    m_minus_i = l1.mT @ inv2 @ l1 - torch.eye(mu1.shape[-1], dtype=torch.float64)
    b = l1.mT @ inv2 @ (mu1 - mu2).unsqueeze(-1)
    return 0.5 * (m_minus_i @ m_minus_i).diagonal(dim1=-2, dim2=-1).sum(-1) + b.square().sum((-2, -1))


def test_log_ratio_variance_formula_matches_samples():
    case = kl._mc_pair(torch.Generator().manual_seed(0), 4, 100, torch.float64)
    mu1, sigma1, mu2, sigma2 = (case[name] for name in ("mu1", "Sigma1", "mu2", "Sigma2"))
    gen = torch.Generator().manual_seed(0)
    x = mu1 + (torch.linalg.cholesky(sigma1) @ torch.randn(200_000, mu1.shape[-1], 1, generator=gen,
                                                             dtype=mu1.dtype)).squeeze(-1)
    log_ratio = reference()["mvn_log_prob"](x, mu1, sigma1) - reference()["mvn_log_prob"](x, mu2, sigma2)
    formula = _log_ratio_variance(case).item()
    assert kl.log_ratio_variance(case).item() == pytest.approx(formula, rel=1e-9)
    assert log_ratio.var().item() == pytest.approx(formula, rel=0.05)


# ------------------------------------------------------------------ kl_mc's numbers, recomputed

MC_CASES = 8
ALPHA = kl.MC_FAILURE_PROBABILITY / 3 / MC_CASES / kl.MC_APPROXIMATION_MARGIN
SPREAD_DOF, BATCH_DOF = kl.MC_BATCH * (kl.MC_SEEDS - 1), kl.MC_SEEDS - 1
FEW_DOF, MANY_DOF = kl.MC_BATCH * (kl.MC_FEW_SEEDS - 1), kl.MC_MANY_SEEDS - 1


def test_chi2_tails_match_the_normal_law_for_one_degree_of_freedom():
    """χ²_1 = N(0, 1)²: its tails are normal tails, known to full precision even at 1e-9."""
    for alpha in (0.05, 1e-4, ALPHA):
        lo, hi = stats.chi2_bounds(1, alpha)
        assert 2 * NormalDist().cdf(-math.sqrt(hi)) == pytest.approx(alpha / 2, rel=1e-6)
        assert 2 * NormalDist().cdf(math.sqrt(lo)) - 1 == pytest.approx(alpha / 2, rel=1e-6)


def test_chi2_bounds_match_simulated_quantiles():
    gen = torch.Generator().manual_seed(0)
    draws = torch.randn(200_000, SPREAD_DOF, generator=gen, dtype=torch.float64).square().sum(1)
    lo, hi = stats.chi2_bounds(SPREAD_DOF, 0.02)
    assert (draws < lo).double().mean().item() == pytest.approx(0.01, abs=0.001)
    assert (draws > hi).double().mean().item() == pytest.approx(0.01, abs=0.001)


def _bounds(dof, digits=3):
    lo, hi = stats.chi2_bounds(dof, ALPHA)
    return round(lo / dof, digits), round(hi / dof, digits)


def test_mc_check_numbers_are_the_documented_ones():
    assert len(kl._mc_estimate_cases(torch.Generator().manual_seed(0))) == MC_CASES
    assert ALPHA == pytest.approx(4.2e-9, rel=0.01)
    assert _bounds(SPREAD_DOF) == (0.635, 1.480)
    assert stats.scaled_chi2_power(SPREAD_DOF, ALPHA, 2) >= 0.99996
    assert stats.scaled_chi2_power(SPREAD_DOF, ALPHA, 1 / 2) >= 0.99975
    assert _bounds(BATCH_DOF, 2) == (0.18, 2.95)
    assert stats.scaled_chi2_power(BATCH_DOF, ALPHA, kl.MC_BATCH) >= 0.999994
    assert stats.scaled_chi2_power(BATCH_DOF, ALPHA, 1 + (kl.MC_BATCH - 1) * 0.5) >= 0.992
    assert _bounds(FEW_DOF) == (0.825, 1.198)
    assert stats.scaled_chi2_power(FEW_DOF, ALPHA, 2) > 1 - 1e-12
    assert stats.scaled_chi2_power(FEW_DOF, ALPHA, 1 / 2) > 1 - 1e-12
    # at n = 50,000: an estimator that stops at 10,000 draws has 5 times the variance, at 5,000 draws 10 times
    assert _bounds(MANY_DOF, 2)[1] == 2.95
    assert stats.scaled_chi2_power(MANY_DOF, ALPHA, kl.MC_MANY / 10_000) >= 0.98
    assert stats.scaled_chi2_power(MANY_DOF, ALPHA, kl.MC_MANY / 5_000) >= 0.999994


def test_mc_cases_reach_every_size_and_exact_gaussian_where_kurtosis_is_unbounded():
    """n = 1 and n = 50,000 use pairs with Sigma1 = Sigma2: f is linear in x, so the χ² laws hold exactly."""
    cases = kl._mc_estimate_cases(torch.Generator().manual_seed(0))
    sizes = {int(case["n"]) for case in cases}
    assert sizes == {kl.MC_FEW, kl.MC_SAMPLES, kl.MC_MANY}
    for case in cases:
        if int(case["n"]) != kl.MC_SAMPLES:
            a, _ = kl._log_ratio_form(case)
            assert a.abs().max() < 1e-12
    assert sum(bool(case["chain"]) for case in cases) == 3


def test_non_gaussian_estimates_stay_within_the_approximation_margin():
    """f's excess kurtosis is at most 12: degrees of freedom shrink by ≤ 6/n, tails grow by ≤ 1.24 < 10."""
    shrink = 1 + 6 / kl.MC_SAMPLES
    for dof in (SPREAD_DOF, BATCH_DOF):
        lo, hi = stats.chi2_bounds(dof, ALPHA)
        tail = stats.chi2_cdf(lo / shrink, dof / shrink) + stats.chi2_sf(hi / shrink, dof / shrink)
        assert tail <= 1.24 * ALPHA < kl.MC_APPROXIMATION_MARGIN * ALPHA


def test_worst_case_estimates_reject_at_the_nominal_rate():
    """Simulated estimates of the heaviest-tailed f (a pure χ²_1 direction) through the spread test at level 2e-3."""
    torch.manual_seed(0)  # torch.distributions samples from the global generator
    n, reps, alpha = kl.MC_SAMPLES, 50_000, 2e-3
    y = torch.distributions.Chi2(float(n)).sample((reps, kl.MC_SEEDS, kl.MC_BATCH)).double()
    z = (y - n) / math.sqrt(2 * n)  # (χ²_n − n)/√(2n): the standardised mean of n draws of g² − 1
    statistic = (z - z.mean(1, keepdim=True)).square().sum((1, 2))
    lo, hi = stats.chi2_bounds(SPREAD_DOF, alpha)
    rejected = ((statistic < lo) | (statistic > hi)).sum().item()
    expected = reps * alpha
    assert rejected <= 1.22 * expected + 4 * math.sqrt(expected)


def test_mc_tolerance_is_rigorous_but_not_loose():
    """The Chernoff width can never beat the Gaussian quantile, and should stay close to it."""
    cases = kl._mc_estimate_cases(torch.Generator().manual_seed(0))
    delta = 1e-6
    z = NormalDist().inv_cdf(1 - delta / 2)
    for case in cases:
        n = int(case["n"])
        ratio = kl.mc_tolerance(case, n * len(case["seeds"]), delta) / (
            z * _log_ratio_variance(case).sqrt() / math.sqrt(n * len(case["seeds"])))
        assert (ratio >= 1).all() and (ratio <= 1.5).all(), ratio


# ------------------------------------------------------------------ inputs and messages

@pytest.mark.parametrize("test_id", sorted(KL_CHECKS))
def test_make_cases_uses_only_its_generator(test_id):
    check = KL_CHECKS[test_id]
    global_state = torch.get_rng_state()
    first, again = (check.make_cases(torch.Generator().manual_seed(5)) for _ in range(2))
    other = check.make_cases(torch.Generator().manual_seed(6))
    assert torch.equal(torch.get_rng_state(), global_state)
    assert all(a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a) for a, b in zip(first, again))
    assert any(not torch.equal(a[k], b[k]) for a, b in zip(first, other) for k in a if k != "n")


EVENT_DIMS = {"x": 1, "mu": 1, "Sigma": 2, "mu1": 1, "Sigma1": 2, "mu2": 1, "Sigma2": 2, "logvar": 1}


def _drawn(name):
    return [case for check in _checks_of(name) for case in check.make_cases(torch.Generator().manual_seed(0))]


def _batch_shapes(case, name):
    return {arg: tuple(case[arg].shape[:case[arg].dim() - EVENT_DIMS[arg]]) for arg in kl.ARGS[name]}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_cases_batch_each_argument_alone_and_keep_batches_of_one(name):
    """The notebook: leading dimensions broadcast "like ordinary tensor arithmetic", for every function."""
    shapes = [_batch_shapes(case, name) for case in _drawn(name)]
    for arg in kl.ARGS[name]:
        assert any(batch[arg] and not any(b for other, b in batch.items() if other != arg) for batch in shapes), arg
    outputs = [torch.broadcast_shapes(*batch.values()) for batch in shapes]
    assert (1,) in outputs and () in outputs  # a batch of one must not collapse to a scalar
    assert any(len(shape) == 2 and len(set(batch.values()) - {()}) > 1 for shape, batch in zip(outputs, shapes))


@pytest.mark.parametrize("name", ["mvn_log_prob", "kl_mvn"])
def test_cases_reach_the_largest_promised_dimension_in_both_dtypes(name):
    cases = _drawn(name)
    assert {case[kl.ARGS[name][0]].dtype for case in cases if case[kl.ARGS[name][0]].shape[-1] == 256} == {
        torch.float32, torch.float64}
    assert min(case[kl.ARGS[name][0]].shape[-1] for case in cases) == 1


def test_diag_cases_reach_a_trained_encoders_log_variances():
    logvars = torch.cat([case["logvar"].double().flatten() for case in _drawn("kl_diag_std_normal")])
    assert logvars.min() < -19 and logvars.max() > 7


def test_high_dim_cases_have_the_promised_dimensions_and_dtypes():
    cases = kl._kl_high_dim_cases(torch.Generator().manual_seed(0))
    assert {(case["mu1"].shape[-1], case["mu1"].dtype) for case in cases} >= {(256, torch.float32), (256, torch.float64)}
    for case in cases:
        eigenvalues = torch.linalg.eigvalsh(case["Sigma1"].double())
        assert eigenvalues.min() > 0 and eigenvalues.max() / eigenvalues.min() < 1.01e3


def test_messages_report_errors_and_shapes():
    check = KL_CHECKS["test_kl_mvn_batched"]
    cases = check.make_cases(torch.Generator().manual_seed(0))
    raised = check.verify(cases, ["RuntimeError: shapes do not match"] * len(cases))
    assert len(raised) == len(cases) and all("raised RuntimeError: shapes do not match" in m for m in raised)
    flat = check.verify(cases[:1], [{"out": torch.zeros(4)}])
    assert flat == ["kl_mvn is wrong for batched inputs mu1 (3,1,5), Sigma1 (4,5,5), mu2 (5,), Sigma2 (5,5), "
                    "float32: expected shape (3,4), got (4,)"]


def _messages_for(name, label, test_id):
    namespace = _with_student(name, WRONG[name][label])
    fn = _probe_functions(namespace, HIDDEN.search(CELLS[test_id].source).group(1))[test_id]
    return _failures(KL_CHECKS[test_id], fn, seed=0)


def test_generator_messages_say_what_happened_and_what_was_promised():
    for label in ("reseeds_a_copy_of_the_generator", "restores_the_generator_state"):
        messages = _messages_for("kl_mc", label, "test_kl_mc_generator")
        assert messages and all("a second call with the same generator object returned the same estimate" in m
                                and "must move on" in m for m in messages), messages
    messages = _messages_for("kl_mc", "fixed_seed_without_generator", "test_kl_mc_generator")
    assert messages and all("two calls without a generator returned the same estimate" in m for m in messages)
    messages = _messages_for("kl_mc", "seeds_the_global_generator_too", "test_kl_mc_generator")
    assert messages and all("still used torch's global generator" in m for m in messages)


def test_estimate_messages_name_the_size_and_the_generator_use():
    messages = _messages_for("kl_mc", "reseeds_a_copy_of_the_generator", "test_kl_mc_estimate")
    assert any(m.startswith("kl_mc is wrong for n_samples=500 with one generator for all 40 calls,")
               and "returned the same estimates" in m for m in messages), messages
    messages = _messages_for("kl_mc", "at_most_10000_samples", "test_kl_mc_estimate")
    assert messages == [m for m in messages if m.startswith("kl_mc is wrong for n_samples=50,000 with 40 seeds,")]
    assert "spread" in messages[0] and "more than a Monte Carlo estimate with 50,000 independent samples" in messages[0]
