"""Jupyter kernels inside the sandbox, for nbclient and nbgrader's Execute.

A kernel is warm by default: bwrap builds its sandbox around a placeholder, and the kernel is forked into
it from a zygote that has already imported torch (see zygote.py), with the same limits, uid and namespaces.
A cold kernel is a fresh Python started by the sandbox's command line itself.
"""
from __future__ import annotations

import dataclasses
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Dict, Integer, List, Unicode

from .command import PYTHON, prepare_scratch, sandbox_argv, sandbox_env
from .errors import SandboxError
from .limits import Limits, rlimits
from .processes import command_pids, kill_tree, process_name, signal_command
from .slots import uid_for
from .zygote import Zygote

ZYGOTE_HOME = Path(tempfile.gettempdir()) / "hw4-zygote"  # holds matplotlib's font cache for every zygote
PLACEHOLDER = ["sleep", "infinity"]  # holds a warm kernel's sandbox open
# Every grading kernel's settings, unless the caller gives its own: history in memory (the sandbox keeps no
# files), and tracebacks as Python prints them (the cell, the line and its code). IPython's default tracebacks
# add the lines around each one, and to find them search every loaded module, torch's thousands, for each
# cell of the traceback, twice: a tenth of grading a class of failing notebooks (benchmarks/README.md).
KERNEL_SETTINGS = ("--HistoryManager.hist_file=:memory:", "--InteractiveShell.xmode=Plain")
_zygote: Zygote | None = None


def zygote() -> Zygote:
    """This process's zygote (see zygote.py): started on first use, or inherited from the process that forked
    this one."""
    global _zygote
    if _zygote is None:
        # JPY_PARENT_PID as for a kernel (see SandboxedKernelManager._extra_env): ipykernel reads it at import.
        _zygote = Zygote(PYTHON, sandbox_env(ZYGOTE_HOME, {"JPY_PARENT_PID": "1"}))
    return _zygote


def _zygote_after_fork() -> None:
    if _zygote is not None:
        _zygote.after_fork()


os.register_at_fork(after_in_child=_zygote_after_fork)


def _placeholder_pid(process: subprocess.Popen, timeout: float = 10.0) -> int:
    """Host pid of the placeholder, once it runs: the sandbox is then complete and unprivileged."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        for command in command_pids(process):
            if process_name(command) == PLACEHOLDER[0]:
                return command
        time.sleep(0.002)
    raise SandboxError(f"the sandbox did not start within {timeout} s (exit code {process.poll()})")


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs inside the sandbox.

    The kernel has its own network namespace, so it talks to the grader over
    ZMQ ipc sockets: files in its scratch folder, which both sides see.
    Configure through traitlets, e.g. for nbgrader's Execute preprocessor
    (kernel_manager_class) with ``c.SandboxedKernelManager.scratch = ...``.
    """

    scratch = Unicode("", config=True, help="Scratch folder, the kernel's cwd and only writable dir.")
    slot = Integer(0, config=True, help="Sandbox slot; concurrent kernels need distinct slots.")
    limits = Dict(config=True, help="Overrides of autograder.sandbox.Limits fields.")
    extra_env = Dict(config=True, help="Extra environment variables inside the sandbox.")
    warm = Bool(True, config=True, help="Fork the kernel from a zygote that has imported torch (zygote.py) "
                                        "instead of starting a fresh Python in the sandbox.")
    imports = List(Unicode(), config=True, help="Modules the notebook imports that the zygote does not preload "
                                                "(zygote.PRELOAD): it imports them before forking a warm kernel.")
    _kernel: int | None = None  # a pidfd of the warm kernel

    def _scratch(self) -> Path:
        if not self.scratch:
            raise SandboxError("SandboxedKernelManager.scratch must be set to the student's scratch folder")
        return Path(self.scratch).resolve()

    def _socket_dir(self) -> Path:
        # Unix socket paths must stay under 108 bytes, which scratch paths can exceed: a short folder
        # of this slot's, bound into the sandbox at the same path, holds the sockets instead.
        return Path(tempfile.gettempdir()) / f"hw4-ipc-{self.slot}"

    def _limits(self) -> Limits:
        return dataclasses.replace(Limits(), **self.limits)

    def _extra_env(self) -> dict[str, str]:
        # JPY_PARENT_PID=1 turns ipykernel's parent poller off: the kernel's parent is bwrap's init (pid 1)
        # or, for a warm kernel, outside its pid namespace; a host pid would make the kernel exit at once.
        return {"JPY_PARENT_PID": "1", **self.extra_env}

    async def _async_pre_start_kernel(self, **kw):
        scratch = prepare_scratch(self._scratch(), self.slot)
        shutil.rmtree(self._socket_dir(), ignore_errors=True)
        sockets = prepare_scratch(self._socket_dir(), self.slot)
        self.transport = "ipc"
        self.connection_file = str(scratch / f"kernel-{uuid.uuid4().hex[:8]}.json")
        self.ip = str(sockets / "k")
        return await super()._async_pre_start_kernel(**kw)

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        os.chown(self.connection_file, uid_for(self.slot), uid_for(self.slot))

    def _kernel_args(self, extra_arguments: list[str] | None = None) -> list[str]:
        extra = list(extra_arguments or [])
        extra += [setting for setting in KERNEL_SETTINGS
                  if not any(arg.startswith(setting.split("=")[0] + "=") for arg in extra)]
        return ["-f", self.connection_file, *extra]

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        # A fixed command: the kernelspec's could name a Python outside the sandbox.
        self._args = self._kernel_args(extra_arguments)
        command = PLACEHOLDER if self.warm else [PYTHON, "-m", "ipykernel_launcher", *self._args]
        return sandbox_argv(command, self._scratch(), limits=self._limits(), slot=self.slot,
                            env=self._extra_env(), binds=(str(self._socket_dir()),))

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        await super()._async_launch_kernel(kernel_cmd, **kw)
        if self.warm:
            pid = zygote().spawn(target=_placeholder_pid(self.provisioner.process), uid=uid_for(self.slot),
                                 rlimits=rlimits(self._limits()), cwd=self._scratch(),
                                 env=sandbox_env(self._scratch(), self._extra_env()),
                                 argv=self._args, imports=self.imports)
            try:
                self._kernel = os.pidfd_open(pid)
            except ProcessLookupError:  # it died at once; is_alive reports it
                self._kernel = None

    async def _async_is_alive(self) -> bool:
        alive = await super()._async_is_alive()
        if alive and self.warm and not self._warm_kernel_running():
            # The placeholder would hold the sandbox open: end it with its kernel, as a cold kernel's ends.
            kill_tree(self.provisioner.process, self.slot)
            return False
        return alive

    is_alive = _async_is_alive  # AsyncKernelManager binds the base class's function by name

    def _warm_kernel_running(self) -> bool:
        return self._kernel is not None and not select.select([self._kernel], [], [], 0)[0]  # readable: exited

    async def _async_signal_kernel(self, signum: int) -> None:
        # The default signals the process group, i.e. the bwrap monitor, which
        # would die of SIGINT; an interrupt must reach the kernel itself.
        if signum != signal.SIGINT:
            await super()._async_signal_kernel(signum)
        elif self.warm and self._kernel is not None:
            try:
                signal.pidfd_send_signal(self._kernel, signum)
            except ProcessLookupError:
                pass
        elif self.has_kernel:
            signal_command(self.provisioner.process, signum)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        # Also after a dead or hung kernel: nothing of the sandbox survives.
        survivors = kill_tree(getattr(self.provisioner, "process", None), self.slot)
        if survivors:
            self.log.error("sandbox slot %s: processes %s survived SIGKILL", self.slot, survivors)
        if self._kernel is not None:
            os.close(self._kernel)
            self._kernel = None
        await super()._async_cleanup_resources(restart=restart)
        shutil.rmtree(self._socket_dir(), ignore_errors=True)
