"""One-shot sandboxed commands: run one and wait for it, or check that the sandbox works on this machine."""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass

from .command import PYTHON, prepare_scratch, sandbox_argv
from .errors import NO_SANDBOX_HINT, SandboxError
from .limits import BASE_UID, Limits
from .processes import kill_tree
from .slots import claim_slot


@dataclass
class SandboxResult:
    returncode: int
    stdout: bytes
    stderr: bytes
    timed_out: bool
    seconds: float


def _read(file) -> bytes:
    file.seek(0)
    return file.read()


def run(command: list[str], scratch: str | os.PathLike, *, limits: Limits = Limits(),
        slot: int = 0, env: dict[str, str] | None = None,
        timeout: float | None = None) -> SandboxResult:
    """Run `command` in the sandbox and wait; on timeout kill it all.

    stdout/stderr go to files so that RLIMIT_FSIZE caps them too.
    """
    argv = sandbox_argv(command, prepare_scratch(scratch, slot), limits=limits, slot=slot, env=env)
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   start_new_session=True, env={"PATH": os.defpath})
        try:
            process.wait(timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            kill_tree(process, slot)
        return SandboxResult(process.returncode, _read(out), _read(err), timed_out,
                             time.monotonic() - start)


def check_available(slot: int | None = None) -> None:
    """Raise SandboxError with an actionable message unless a trivial
    sandboxed Python command actually runs here. Without ``slot``, in a free
    one: its cleanup kills every process of the slot's uid."""
    if os.geteuid() != 0:
        raise SandboxError(
            "the sandbox must be set up by root (it runs student code as uid "
            f"{BASE_UID}+slot): run the grader as root, {NO_SANDBOX_HINT}"
        )
    with tempfile.TemporaryDirectory(prefix="sandbox-check-") as scratch, \
            (nullcontext(slot) if slot is not None else claim_slot()) as slot:
        result = run([PYTHON, "-c", "import sys"], scratch, slot=slot, timeout=30)
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip() or f"exit code {result.returncode}"
        raise SandboxError(
            f"bubblewrap could not create the sandbox ({detail}); the container may "
            f"forbid namespaces or mounts (e.g. docker without --privileged), {NO_SANDBOX_HINT}"
        )
