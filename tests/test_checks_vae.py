"""The VAE checks tell right from wrong: every correct variant passes, every known mistake fails.

Each implementation is run exactly as in grading: the check draws cases, hw4.probe.write stores them, the
hidden part of the source notebook's test cell runs with $HW4_PROBE_DIR set, and check.verify judges the
recorded outputs.
"""
import math
import re
import runpy
from pathlib import Path
from statistics import NormalDist

import nbformat
import pytest
import torch

from autograder.checks import CHECKS, vae
from hw4 import course, probe

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "autograder" / "source" / "hw4" / "VAE.ipynb"
CATALOG = runpy.run_path(str(HERE / "catalog_vae.py"))  # by path: tests/ need not be a package
RIGHT, WRONG = CATALOG["RIGHT"], CATALOG["WRONG"]
HIDDEN = "### BEGIN HIDDEN TESTS"
pytestmark = pytest.mark.usefixtures("one_torch_thread")
GRADED = ("reparameterize", "Encoder", "Decoder", "VAE", "vae_loss", "train_epoch", "evaluate")


def _nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def _notebook():
    cells = nbformat.read(SOURCE, as_version=4).cells
    setup = next(cell.source for cell in cells if _nbgrader(cell).get("grade_id") == "setup")
    solutions, tests, current = {}, {}, None
    for cell in cells:
        meta = _nbgrader(cell)
        if meta.get("solution"):
            current = meta["grade_id"]
            solutions[current] = cell.source
        elif meta.get("grade"):
            tests.setdefault(current, {})[meta["grade_id"]] = cell.source.split(HIDDEN, 1)[1]
    return setup, solutions, tests


SETUP, SOLUTIONS, TESTS = _notebook()


def _namespace(replacement=""):
    """The notebook's namespace after its setup and solution cells, then ``replacement``.

    Built afresh each time: the hidden tests swap globals such as ``reparameterize``, and the solution's
    classes must see those swaps, so they cannot share a copied dict.
    """
    namespace = {}
    exec(SETUP, namespace)
    for source in SOLUTIONS.values():
        exec(source, namespace)
    exec(replacement, namespace)
    return namespace


def _failures(namespace, test_id, tmp_path, monkeypatch):
    """Grade the implementation in ``namespace`` on one test, the way the grader does."""
    check = CHECKS[test_id]
    cases = check.make_cases(torch.Generator().manual_seed(2024))
    probe.write(probe.input_path(tmp_path, test_id), cases)
    monkeypatch.setenv(course.PROBE_DIR, str(tmp_path))
    torch.manual_seed(0)
    exec(TESTS_BY_ID[test_id], namespace)
    return check.verify(cases, probe.read(probe.output_path(tmp_path, test_id)))


TESTS_BY_ID = {test_id: hidden for tests in TESTS.values() for test_id, hidden in tests.items()}


def test_every_graded_name_has_its_solution_cell_and_tests():
    assert tuple(SOLUTIONS) == GRADED
    assert set(TESTS) == set(GRADED)
    for name, tests in TESTS.items():
        assert SOLUTIONS[name].startswith(("def " + name + "(", "class " + name + "("))
        assert all(test_id.startswith("test_" + name) for test_id in tests)
    assert set(TESTS_BY_ID) == {check.test_id for check in CHECKS.values() if check.notebook == "VAE"}


def test_catalog_covers_every_graded_name():
    for name in GRADED:
        assert len(WRONG[name]) >= 4 and len(RIGHT[name]) >= 3, name


@pytest.mark.parametrize("test_id", sorted(TESTS_BY_ID))
def test_the_solution_passes(test_id, tmp_path, monkeypatch):
    assert _failures(_namespace(), test_id, tmp_path, monkeypatch) == []


@pytest.mark.parametrize(("name", "label"), [(name, label) for name in RIGHT for label in RIGHT[name]])
def test_right_variant_passes_every_check(name, label, tmp_path, monkeypatch):
    namespace = _namespace(RIGHT[name][label])
    for test_id in TESTS[name]:
        assert _failures(namespace, test_id, tmp_path, monkeypatch) == [], (name, label, test_id)


@pytest.mark.parametrize(("name", "label"), [(name, label) for name in WRONG for label in WRONG[name]])
def test_wrong_variant_fails_a_check(name, label, tmp_path, monkeypatch):
    namespace = _namespace(WRONG[name][label])
    messages = [m for test_id in TESTS[name] for m in _failures(namespace, test_id, tmp_path, monkeypatch)]
    assert messages, f"{name}: '{label}' passed every check"
    assert all(isinstance(m, str) and 0 < len(m) < 400 for m in messages)


@pytest.mark.parametrize("name", GRADED)
def test_the_student_stub_fails_with_its_error(name, tmp_path, monkeypatch):
    stub = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "raise NotImplementedError()", SOLUTIONS[name], flags=re.S)
    namespace = _namespace(stub)
    for test_id in TESTS[name]:
        messages = _failures(namespace, test_id, tmp_path, monkeypatch)
        assert messages and all("NotImplementedError" in m for m in messages), (test_id, messages)


# ------------------------------------------------------------------ the random checks' numbers (CHECKS.md)
ONE_IN_A_THOUSAND = math.log(1000)  # a one-sided tail of probability 0.001


def _thresholds(n, m=8):
    """What a check of n rows and m columns detects with probability ≥ 0.999, from the bounds in vae.py."""
    x = math.log(4 * vae.statistics_per_test(m) / vae.FALSE_FAILURE)
    y, t = ONE_IN_A_THOUSAND, 2 * math.sqrt(n * x) + 2 * x
    return {
        "mean shift": (math.sqrt(2 * x) + NormalDist().inv_cdf(0.999)) / math.sqrt(n),
        "variance up": (n + t) / (n - 2 * math.sqrt(n * y)),
        "variance down": (n - t) / (n + 2 * math.sqrt(n * y) + 2 * y),
        "cross": t / n,
        "lag": (2 * math.sqrt(n / 2 * x) + 2 * x) / (n / 2),
        "distance": math.sqrt(x / (2 * n)) + math.sqrt(math.log(2 / 0.001) / (2 * n)),
    }


def test_random_check_numbers_are_the_documented_ones():
    assert round(math.log(4 * vae.statistics_per_test(8) / vae.FALSE_FAILURE), 1) == 21.7
    documented = {20000: (0.068, 1.109, 0.898, 0.068, 0.098, 0.037), 5000: (0.137, 1.232, 0.798, 0.141, 0.204, 0.074)}
    for n, numbers in documented.items():
        assert tuple(round(value, 3) for value in _thresholds(n).values()) == numbers


def _noise(gen, n, law="normal"):
    if law == "laplace":  # variance 1, the wrong law
        u = torch.rand(n, 8, generator=gen, dtype=torch.float64) - 0.5
        return -torch.sign(u) * torch.log1p(-2 * u.abs()) / math.sqrt(2)
    return torch.randn(n, 8, generator=gen, dtype=torch.float64)


def test_random_checks_pass_normals_and_catch_the_documented_deviations():
    gen, n, labels = torch.Generator().manual_seed(0), 20000, [f"column {j}" for j in range(8)]
    scale = math.sqrt(_thresholds(n)["variance up"])
    for _ in range(10):
        assert vae._standard_normal_failures(_noise(gen, n), labels, "noise") == []
        assert vae._standard_normal_failures(scale * _noise(gen, n), labels, "noise")
        assert vae._standard_normal_failures(_noise(gen, n, "laplace"), labels, "noise")
        half = _noise(gen, n // 2)
        assert vae._standard_normal_failures(torch.cat([half, half]), labels, "noise")


# ------------------------------------------------------------------ the edges the notebook promises (CHECKS.md)
def _cases(test_id):
    return CHECKS[test_id].make_cases(torch.Generator().manual_seed(0))


def test_cases_reach_a_trained_models_ranges():
    """Log-variances of about -20 and +8 reach reparameterize and vae_loss; the decoder's logits reach ±50."""
    for test_id in ("test_reparameterize", "test_reparameterize_grad", "test_vae_loss_stable"):
        logvar = torch.cat([case["logvar"].flatten() for case in _cases(test_id)])
        assert logvar.min() < -14 and logvar.max() > 5, test_id
    logits = torch.cat([vae._decode(case, case["z"]).flatten() for case in _cases("test_Decoder")])
    assert logits.abs().max() > 50


def test_cases_cover_shapes_modes_and_loaders():
    shapes = {tuple(case["mu"].shape) for case in _cases("test_reparameterize")}
    assert {(5,), (1, 5), (2, 3, 5)} <= shapes
    assert {len(case["x"]) for case in _cases("test_VAE_forward")} >= {1}
    loaders = [(bool(case["one_shot"]), len(case["x"]) % int(case["batch_size"]))
               for case in _cases("test_train_epoch")]
    assert loaders == [(False, 2), (True, 1)]  # a re-iterable loader; a one-shot one ending in a batch of one


def test_forward_gradients_reach_both_encoder_heads_through_the_logits():
    """The oracle's gradients, which the check compares, are not zero on fc_logvar: a cut there shows."""
    case = _cases("test_VAE_forward")[0]
    grads = vae._forward_oracle({**case, "w_mu": torch.zeros_like(case["w_mu"]),
                                 "w_logvar": torch.zeros_like(case["w_logvar"])})[3]
    assert all(grad.abs().max() > 1e-3 for grad in grads.values())


def test_messages_name_what_was_observed_and_what_was_promised(tmp_path, monkeypatch):
    cut = WRONG["VAE"]["forward cuts the gradient to the logvar head"]
    messages = _failures(_namespace(cut), "test_VAE_forward", tmp_path, monkeypatch)
    assert messages and all("gradient reaching encoder.fc_logvar" in m or "gradient reaching" in m for m in messages)
    twice = WRONG["train_epoch"]["counts the examples in a first pass"]
    messages = _failures(_namespace(twice), "test_train_epoch", tmp_path, monkeypatch)
    assert messages == ["train_epoch made 0 optimizer steps over a loader that can be iterated only once (a generator "
                        "of 3 batches); expected one per batch, in a single pass over the loader"]


def test_forward_cases_keep_every_relu_away_from_its_kink():
    """Where float32 and float64 could disagree on a ReLU's side, the gradients would differ by order 1."""
    for case in _cases("test_VAE_forward"):
        x = case["x"].double().flatten(1)
        pre = x @ case["encoder.fc.weight"].double().T + case["encoder.fc.bias"].double()
        assert pre.abs().min() >= vae.KINK_MARGIN * 0.99
        mu, logvar = vae._encode(case, case["x"], "encoder.")
        z = mu + torch.exp(logvar / 2) * case["eps"].double()
        pre = z @ case["decoder.fc.weight"].double().T + case["decoder.fc.bias"].double()
        assert pre.abs().min() >= vae.KINK_MARGIN * 0.99
