"""The processes of a sandbox, found and signalled through /proc.

A sandbox started by sandbox_argv() is a bwrap monitor whose child is the pid namespace's init, whose child
in turn is the sandbox's command; every process in it runs as the slot's uid.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

from .slots import uid_for


def _status(pid: int | str) -> dict[str, str]:
    """Fields of /proc/<pid>/status; empty if the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except (FileNotFoundError, ProcessLookupError):
        return {}


def process_name(pid: int) -> str | None:
    """The name of a running process (its command's, truncated by the kernel); None if it is gone."""
    return _status(pid).get("Name")


def sandbox_pids(slot: int) -> list[int]:
    """Host pids of all processes running as the slot's uid."""
    uid = str(uid_for(slot))
    return [int(e.name) for e in os.scandir("/proc")
            if e.name.isdigit() and _status(e.name).get("Uid", "").split()[:1] == [uid]]


def _kill_pids(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def kill_tree(process: subprocess.Popen | None, slot: int, *, timeout: float = 5.0) -> list[int]:
    """SIGKILL everything of a sandbox; returns the pids still alive (none expected).

    Killing the bwrap monitor (and its process group) is enough: its pid-1
    child dies by --die-with-parent, and with it the whole pid namespace,
    daemons and SIGTERM-ignorers included.  The sweep over the slot's uid is
    the safety net, e.g. for a monitor killed before it set that up.
    """
    if process is not None and process.poll() is None:  # reaped: its pid may be reused
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # not started in a new session
            process.kill()
        process.wait()
    deadline = time.monotonic() + timeout
    while (pids := sandbox_pids(slot)) and time.monotonic() < deadline:
        _kill_pids(pids, signal.SIGKILL)
        time.sleep(0.01)
    return sandbox_pids(slot)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(child) for child in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def command_pids(process: subprocess.Popen):
    """Host pids of the sandbox's main command, as they are found: the grandchildren of the bwrap monitor
    (its child is the namespace's init), which setpriv turned into the command."""
    for init in _children(process.pid):
        yield from _children(init)


def signal_command(process: subprocess.Popen, signum: int) -> bool:
    """Send `signum` to the sandbox's main command only, e.g. SIGINT to
    interrupt a kernel; False if it is not running."""
    for command in command_pids(process):
        _kill_pids([command], signum)
        return True
    return False
