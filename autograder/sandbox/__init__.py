"""The sandbox: the trust boundary around student code during grading.

Inside it runs everything a student wrote, and nothing else: each notebook's kernel and whatever that
kernel starts. Outside it stay the grader, the source notebooks, the hidden tests' checks and the gradebook.
Code inside runs as an unprivileged uid of its own, with no capabilities, in its own pid, network (no
network at all), IPC and hostname namespaces; it sees the system, the Python runtime and the student
package read-only, a private /tmp and its scratch folder, the only place it can write; it stays within the
limits of limits.py; and when it ends, nothing it started survives. docs/instructors.md ("The security
model") states these guarantees in full.

One job a module:

    limits.py     every limit, defined once
    errors.py     the error raised when the sandbox cannot be built here
    slots.py      which sandboxes run at once, and the uid of each
    mounts.py     the filesystem inside
    command.py    the prlimit, bwrap and setpriv command line
    processes.py  finding and killing a sandbox's processes through /proc
    oneshot.py    one-shot sandboxed commands, and the check that the sandbox works here
    kernel.py     Jupyter kernels inside the sandbox, warm ones forked from the zygote
    zygote.py     the zygote, a process that has imported torch and forks warm kernels

The grader uses it as ``from autograder import sandbox``, with the names below.
"""
from .command import PYTHON, prepare_scratch, sandbox_argv, sandbox_env
from .errors import SandboxError
# sandbox.zygote is the accessor function, which hides the submodule of that name: reach the module's names
# with `from autograder.sandbox.zygote import ...`.
from .kernel import ZYGOTE_HOME, SandboxedKernelManager, zygote
from .limits import (BASE_UID, CELL_TIMEOUT_S, MAX_OUTPUT_BYTES, MAX_SLOTS, MEMORY_BYTES, NOTEBOOK_TIMEOUT_S,
                     GiB, Limits, MiB, rlimits)
from .oneshot import SandboxResult, check_available, run
from .processes import kill_tree, sandbox_pids, signal_command
from .slots import SLOT_LOCKS, claim_slot, uid_for

__all__ = [
    "BASE_UID", "CELL_TIMEOUT_S", "GiB", "Limits", "MAX_OUTPUT_BYTES", "MAX_SLOTS", "MEMORY_BYTES", "MiB",
    "NOTEBOOK_TIMEOUT_S", "PYTHON", "SLOT_LOCKS", "SandboxError", "SandboxResult", "SandboxedKernelManager",
    "ZYGOTE_HOME", "check_available", "claim_slot", "kill_tree", "prepare_scratch", "rlimits", "run",
    "sandbox_argv", "sandbox_env", "sandbox_pids", "signal_command", "uid_for", "zygote",
]
