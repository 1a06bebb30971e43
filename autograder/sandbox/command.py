"""The command line of a sandboxed command: a chain of real tools, each doing one job.

    prlimit   resource limits (see limits.py), inherited by everything started below it;
    bwrap     new pid/net/ipc/uts namespaces and a fresh root filesystem (see mounts.py);
    setpriv   drops from root to the slot's unprivileged uid (no groups, no
              capabilities, no_new_privs) right before the student command.

bwrap itself runs as root because the Python runtime may live under a
directory the sandbox uid cannot traverse (e.g. /root/.pyenv); it keeps only
the capabilities that setpriv needs to switch uid.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from .errors import NO_SANDBOX_HINT, SandboxError
from .limits import Limits, rlimits
from .mounts import filesystem_args
from .slots import uid_for

# The venv's python, by a path that exists inside too ("venv/bin/../bin/python" would not); not
# resolved, since resolving the venv's symlink would leave the venv's site-packages behind.
PYTHON = os.path.normpath(os.path.abspath(sys.executable))


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SandboxError(
            f"{package} is not installed (no '{name}' on PATH): "
            f"apt-get install {package}, {NO_SANDBOX_HINT}"
        )
    return path


def _prlimit_args(limits: Limits) -> list[str]:
    # prlimit's options are the resource names: --data, --nproc, ...
    return [_tool("prlimit", "util-linux"),
            *(f"--{name.removeprefix('RLIMIT_').lower()}={value}" for name, value in rlimits(limits).items())]


def sandbox_env(scratch: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The whole environment inside: an allowlist plus what the caller passes."""
    env = {
        "PATH": f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "USER": "student",  # the sandbox uid has no passwd entry
        "LOGNAME": "student",
        "TMPDIR": "/tmp",
        "MPLCONFIGDIR": str(scratch / ".config" / "matplotlib"),
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",  # each grading worker gets one core
        "MKL_NUM_THREADS": "1",
    }
    env.update(extra or {})
    return env


def _bwrap_args(scratch: Path, limits: Limits, env: dict[str, str], binds: tuple[str, ...] = ()) -> list[str]:
    args = [
        _tool("bwrap", "bubblewrap"),
        "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",  # the whole sandbox dies with its bwrap monitor
        "--new-session",  # no TIOCSTI into the grader's terminal
        "--hostname", "sandbox",
        *filesystem_args(scratch, limits, binds),
        "--chdir", str(scratch),
        "--clearenv",
    ]
    for key, value in env.items():
        args += ["--setenv", key, str(value)]
    # Only what setpriv needs to switch to the sandbox uid; it drops them all.
    for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"):
        args += ["--cap-add", cap]
    return args


def _setpriv_args(uid: int) -> list[str]:
    return [
        _tool("setpriv", "util-linux"),
        f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
    ]


def sandbox_argv(command: list[str], scratch: str | os.PathLike, *,
                 limits: Limits = Limits(), slot: int = 0,
                 env: dict[str, str] | None = None, binds: tuple[str, ...] = ()) -> list[str]:
    """Full argv running `command` in the sandbox of `slot`, cwd = scratch; `binds` are more
    folders it may write, prepared like scratch.

    The scratch folder must have been made writable with prepare_scratch();
    the argv must be started by root, in a new session (start_new_session=True)
    so that killing its process group kills the sandbox.
    """
    scratch = Path(scratch).resolve()
    bwrap = _bwrap_args(scratch, limits, sandbox_env(scratch, env), binds)  # the likeliest missing tool
    return [*_prlimit_args(limits), *bwrap, "--", *_setpriv_args(uid_for(slot)), "--", *command]


def prepare_scratch(path: str | os.PathLike, slot: int) -> Path:
    """Create the scratch folder and hand it (with its contents) to the
    slot's uid; 0700 so that other slots' uids cannot read it either."""
    uid = uid_for(slot)
    scratch = Path(path).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    for root, dirs, files in os.walk(scratch):
        for name in dirs + files:
            # lchown: a planted symlink must not hand its target to the student
            os.lchown(os.path.join(root, name), uid, uid)
    os.chown(scratch, uid, uid)
    scratch.chmod(0o700)
    return scratch
