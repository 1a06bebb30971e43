"""formgrader's page for a student's derivation, as a grading machine without network serves it: the rubric
below the answer, and MathJax from the server itself (a real Jupyter server on loopback, fetched over HTTP)."""
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from nbgrader.api import Gradebook

from autograder.course import gradebook_url
from autograder.formgrader import MATHJAX
from hw4.course import ASSIGNMENT
from test_rubrics import derivation_rubric, phrases

# Only what formgrader needs: the server starts in seconds rather than with JupyterLab and its neighbours.
EXTENSIONS = {"jupyterlab": False, "jupyter_lsp": False, "notebook": False, "jupyter_server_terminals": False,
              "notebook_shim": False, "nbgrader.server_extensions.assignment_list": False,
              "nbgrader.server_extensions.course_list": False,
              "nbgrader.server_extensions.validate_assignment": False}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(small_graded, tmp_path_factory):
    """A Jupyter server with formgrader in the graded course: (base URL, token)."""
    here = tmp_path_factory.mktemp("jupyter")
    (here / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"jpserver_extensions": EXTENSIONS}}))
    port, token = free_port(), secrets.token_hex(16)
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", f"--config={here / 'jupyter_server_config.json'}", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False"],
        cwd=small_graded.out / "course", env={**os.environ, "JUPYTER_RUNTIME_DIR": str(here)},
        stdout=subprocess.DEVNULL, stderr=(here / "server.log").open("w"))
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base, token, process, here / "server.log")
        yield base, token
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for(base, token, process, log, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            get(f"{base}/api/status", token)
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(log.read_text())


def get(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read().decode()


def test_formgrader_shows_the_rubric_with_mathjax_from_this_server(small_graded, server):
    base, token = server
    with Gradebook(gradebook_url(small_graded.out / "course"), "hw4") as gradebook:
        submission = gradebook.find_submission_notebook("KL_derivation", ASSIGNMENT, "right").id
    page = get(f"{base}/formgrader/submissions/{submission}/", token)

    assert "Step 1: the log-ratio" in page  # the student's answer
    rubric = derivation_rubric()
    for phrase in phrases(rubric):
        assert phrase in page, phrase
    points = re.findall(r'<td class="points">([^<]*)</td>', page)
    assert points == [item.points_label for item in rubric.items]
    assert page.index("Step 1: the log-ratio") < page.index("hw4-rubric\">") < page.index("Task 2: implement")

    scripts = re.findall(r'<script[^>]*src="([^"]*)"', page)
    mathjax = [src for src in scripts if "mathjax" in src.lower()]
    assert mathjax == ["/" + MATHJAX] and MATHJAX.startswith("static/jupyter_server_mathjax/")
    assert not re.search(r"https?://[^\"'\s]*mathjax", page, re.IGNORECASE)  # no CDN
    assert "MathJax.Hub" in get(base + mathjax[0], token)  # served here: MathJax 2, which formgrade.js uses
