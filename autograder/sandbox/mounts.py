"""The sandbox's filesystem: what a student's code sees, as bwrap mount options.

A fresh root holds only the system, the Python runtime and the student package ``hw4`` (all read-only),
a private /tmp and /dev/shm, and the scratch folder; the instructor package is hidden wherever it lies
inside those.
"""
from __future__ import annotations

import os
import sys
from importlib.util import find_spec
from pathlib import Path

from .limits import Limits

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_ALLOWLIST = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "fonts",
    "localtime", "timezone", "passwd", "group", "nsswitch.conf", "hosts",
)
# torch/OpenBLAS read the CPU topology; nothing else of /sys is exposed.
SYS_ALLOWLIST = ("/sys/devices/system/cpu",)
INSTRUCTOR_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # autograder/, which holds this package


class _Mounts:
    """bwrap mount options, in order.

    bwrap creates missing parents of a mount point with mode 0700, which the
    sandbox uid could not traverse, so parents are created explicitly 0755.
    """

    def __init__(self) -> None:
        self.args: list[str] = []
        self._made = {Path("/")}  # directories that exist in the new root
        self._binds: list[Path] = []  # host directories: all below them exists

    def _parents(self, dest: Path) -> None:
        for parent in reversed(dest.parents):
            if parent in self._made or self._in_bind(parent):
                continue
            self.args += ["--perms", "0755", "--dir", str(parent)]
            self._made.add(parent)

    def _in_bind(self, path: Path) -> bool:
        return any(path == b or b in path.parents for b in self._binds)

    def _add(self, dest: str, *args: str, bind: bool = False) -> None:
        self._parents(Path(dest))
        self.args += args
        (self._binds.append if bind else self._made.add)(Path(dest))

    def ro_bind(self, path: str, *, optional: bool = False) -> None:
        self._add(path, "--ro-bind-try" if optional else "--ro-bind", path, path, bind=True)

    def bind(self, path: str) -> None:
        self._add(path, "--bind", path, path, bind=True)

    def symlink(self, target: str, dest: str) -> None:
        self._add(dest, "--symlink", target, dest)

    def tmpfs(self, dest: str, *, size: int, perms: str = "0755") -> None:
        self._add(dest, "--perms", perms, "--size", str(size), "--tmpfs", dest)

    def special(self, option: str, dest: str) -> None:
        self._add(dest, option, dest)


def _runtime_dirs() -> list[str]:
    """What the student's Python needs besides the system: the interpreter,
    the virtualenv and the student package, each bound at its own path only."""
    dirs = [sys.base_prefix, sys.prefix]
    hw4 = find_spec("hw4")
    if hw4 is not None:  # a regular package or, editable-installed, a namespace
        dirs += [p for p in hw4.submodule_search_locations or [] if os.path.isdir(p)]
    return list(dict.fromkeys(dirs))


def _masks(bound: list[str]) -> list[str]:
    """The instructor package, wherever it lies inside a bound directory
    (e.g. a non-editable install in site-packages), is hidden under a tmpfs."""
    masks = []
    for path in bound:
        real = Path(path).resolve()
        if real == INSTRUCTOR_PACKAGE_DIR or real in INSTRUCTOR_PACKAGE_DIR.parents:
            masks.append(str(Path(path) / INSTRUCTOR_PACKAGE_DIR.relative_to(real)))
    return masks


def filesystem_args(scratch: Path, limits: Limits, binds: tuple[str, ...] = ()) -> list[str]:
    """bwrap's options for the whole new root; ``scratch`` and ``binds`` are its only writable folders."""
    mounts = _Mounts()
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            mounts.symlink(os.readlink(path), path)
        elif os.path.isdir(path):
            mounts.ro_bind(path)
    for name in ETC_ALLOWLIST:
        mounts.ro_bind(f"/etc/{name}", optional=True)
    for path in SYS_ALLOWLIST:
        mounts.ro_bind(path, optional=True)
    mounts.special("--proc", "/proc")
    mounts.special("--dev", "/dev")
    mounts.tmpfs("/dev/shm", size=limits.tmp_bytes, perms="1777")
    mounts.tmpfs("/tmp", size=limits.tmp_bytes, perms="1777")
    runtime = _runtime_dirs()
    for path in runtime:
        mounts.ro_bind(path)
    for path in _masks(runtime + list(SYSTEM_DIRS)):
        mounts.tmpfs(path, size=4096)
    for path in (str(scratch), *binds):  # after /tmp's tmpfs, which would hide them
        mounts.bind(path)
    return mounts.args + ["--remount-ro", "/"]
