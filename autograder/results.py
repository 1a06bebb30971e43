"""`hw4 results`: run the reference solution end to end; rewrite hw4_results/ and hw4.results.zip.

The source notebooks run through a real Jupyter kernel with ``$HW4_RESULTS_DIR`` set, so their figures
and metrics land in the folder (see hw4/report.py). The archive is byte-identical whenever the folder
is: entries are sorted and carry a fixed timestamp. Run-specific facts (wall time, date) go to run.json,
which stays outside the archive for that reason.
"""
import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from tqdm.auto import tqdm

from hw4.check import QUIET
from hw4.course import FAST, RESULTS_DIR

from .files import folder_entries, write_zip
from .course import NOTEBOOKS, SOURCE_DIR

RESULTS = "hw4_results"  # in the course folder, beside its archive
ARCHIVE = "hw4.results.zip"
RUN_INFO = "run.json"
LIBRARIES = ("torch", "torchvision", "numpy", "matplotlib", "nbgrader", "mlxtend")


def execute(root, name, results_dir, fast):
    """Run the source notebook ``name`` of the course folder ``root`` with a progress bar; return it executed."""
    nb = nbformat.read(root / SOURCE_DIR / f"{name}.ipynb", as_version=4)
    env = {RESULTS_DIR: str(results_dir), "TQDM_DISABLE": "1"}  # progress bars would vary run to run
    if fast:
        env[FAST] = "1"
    with environment(env), tqdm(total=len(nb.cells), desc=name, unit="cell") as bar:
        client = NotebookClient(nb, timeout=3600, kernel_name="python3", record_timing=False,
                                extra_arguments=QUIET, resources={"metadata": {"path": str(root)}},
                                on_cell_executed=lambda **_: bar.update())
        client.execute()
    return nb


@contextmanager
def environment(variables):
    """Set ``variables`` in this process's environment, which the kernel inherits; restore it after."""
    saved = os.environ.copy()
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def drop_widgets(nb):
    """Remove Jupyter widget views and state (tqdm's bars): their ids are random, the rest is not."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [out for out in cell.outputs
                            if "application/vnd.jupyter.widget-view+json" not in out.get("data", {})]
    return nb


def provenance(root, fast):
    """What produced these results, for metrics.json."""
    sources = {f"{name}.ipynb": hashlib.sha256((root / SOURCE_DIR / f"{name}.ipynb").read_bytes()).hexdigest()
               for name in NOTEBOOKS}
    return dict(mode="fast" if fast else "full", source_notebooks_sha256=sources,
                python=platform.python_version(), libraries={lib: version(lib) for lib in LIBRARIES})


def make_results(root, fast=False, out=None, archive=None):
    """Run the reference solution of the course folder ``root``; write ``out`` (default: its hw4_results/)
    and its archive (default: its hw4.results.zip)."""
    started = time.monotonic()
    root = Path(root)
    out, archive = Path(out or root / RESULTS), Path(archive or root / ARCHIVE)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        staging = Path(tmp) / out.name
        staging.mkdir()
        for name in NOTEBOOKS:
            html, _ = HTMLExporter().from_notebook_node(drop_widgets(execute(root, name, staging, fast)))
            (staging / f"{name}.html").write_text(html)
        metrics_path = staging / "metrics.json"
        metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
        metrics.update(provenance(root, fast))
        metrics_path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
        shutil.copyfile(Path(__file__).with_name("results_readme.md"), staging / "README.md")
        (staging / RUN_INFO).write_text(json.dumps(dict(
            wall_seconds=round(time.monotonic() - started, 1), finished=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            machine=platform.platform()), indent=2) + "\n")
        shutil.rmtree(out, ignore_errors=True)
        staging.rename(out)
    write_zip(archive, folder_entries(out, out.name, keep=lambda path: path.name != RUN_INFO))
    print(f"wrote {out}/ and {archive} in {time.monotonic() - started:.0f} s")
    return out
