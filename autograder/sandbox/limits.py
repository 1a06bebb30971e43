"""Every limit on student code during grading, each defined here once.

The fields of :class:`Limits` are resource limits of each process in the sandbox (set by prlimit, or by the
zygote for a warm kernel). The clocks and the output cap are kept by the grader around the kernel: the cell
limit by nbgrader's ``Execute`` (nbgrader_config.py), the notebook limit and the output cap by
``SandboxedExecute`` (autograder/worker/execute.py).
"""
from dataclasses import dataclass

MiB = 1024**2
GiB = 1024**3

MEMORY_BYTES = 4 * GiB  # RLIMIT_DATA of each process of a student's kernel
CELL_TIMEOUT_S = 120  # one cell's time; then the kernel is interrupted
NOTEBOOK_TIMEOUT_S = 300  # the whole notebook's time; then its kernel is killed
MAX_OUTPUT_BYTES = 1 * MiB  # output kept per notebook; the rest is dropped

BASE_UID = 60001  # sandbox slot n runs as uid BASE_UID + n
MAX_SLOTS = 5000  # keeps uids below 65534 ("nobody")


@dataclass(frozen=True)
class Limits:
    """The resource limits of each process in a sandbox (see rlimits)."""

    memory_bytes: int = MEMORY_BYTES  # RLIMIT_DATA, per process
    processes: int = 64  # RLIMIT_NPROC: processes and threads of the slot's uid
    cpu_seconds: int = 600  # RLIMIT_CPU, per process
    file_bytes: int = 64 * MiB  # RLIMIT_FSIZE: largest file it may write
    open_files: int = 256  # RLIMIT_NOFILE
    tmp_bytes: int = 256 * MiB  # size of each private tmpfs (/tmp, /dev/shm)


def rlimits(limits: Limits) -> dict[str, int]:
    """The resource limits of every sandboxed process, by name in the ``resource`` module."""
    return {
        "RLIMIT_DATA": limits.memory_bytes,
        "RLIMIT_NPROC": limits.processes,
        "RLIMIT_CPU": limits.cpu_seconds,
        "RLIMIT_FSIZE": limits.file_bytes,
        "RLIMIT_NOFILE": limits.open_files,
        "RLIMIT_CORE": 0,
    }
