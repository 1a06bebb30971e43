"""The sandbox in which all student code runs during grading.

A sandboxed command is started as a chain of real tools, each doing one job:

    prlimit   resource limits (memory via RLIMIT_DATA, processes, CPU time,
              file size, open files; no core dumps), inherited by everything
              started below it;
    bwrap     new pid/net/ipc/uts namespaces and a fresh root filesystem that
              holds only the system, the Python runtime, the student package
              ``hw4`` (all read-only), a private /tmp and the scratch folder;
    setpriv   drops from root to the slot's unprivileged uid (no groups, no
              capabilities, no_new_privs) right before the student command.

bwrap itself runs as root because the Python runtime may live under a
directory the sandbox uid cannot traverse (e.g. /root/.pyenv); it keeps only
the capabilities that setpriv needs to switch uid.  Each slot gets its own uid
(BASE_UID + slot) so that RLIMIT_NPROC, which counts per uid, caps every
concurrent sandbox separately, and so that leftovers can be found by uid.

A kernel is warm by default: bwrap builds its sandbox around a placeholder, and the kernel is forked into
it from a zygote that has already imported torch (see zygote.py), with the same limits, uid and namespaces.
"""
from __future__ import annotations

import dataclasses
import fcntl
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Dict, Integer, Unicode

from .zygote import Zygote

MiB = 1024**2
GiB = 1024**3

BASE_UID = 60001
MAX_SLOTS = 5000  # keeps uids below 65534 ("nobody")

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_ALLOWLIST = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "fonts",
    "localtime", "timezone", "passwd", "group", "nsswitch.conf", "hosts",
)
# torch/OpenBLAS read the CPU topology; nothing else of /sys is exposed.
SYS_ALLOWLIST = ("/sys/devices/system/cpu",)
INSTRUCTOR_PACKAGE_DIR = Path(__file__).resolve().parent
# The venv's python, by a path that exists inside too ("venv/bin/../bin/python" would not); not
# resolved, since resolving the venv's symlink would leave the venv's site-packages behind.
PYTHON = os.path.normpath(os.path.abspath(sys.executable))
NO_SANDBOX_HINT = "or pass --no-sandbox to grade without isolation"


class SandboxError(RuntimeError):
    """The sandbox cannot be created on this machine."""


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 4 * GiB  # RLIMIT_DATA, per process
    processes: int = 64  # RLIMIT_NPROC: processes and threads of the slot's uid
    cpu_seconds: int = 600  # RLIMIT_CPU, per process
    file_bytes: int = 64 * MiB  # RLIMIT_FSIZE: largest file it may write
    open_files: int = 256  # RLIMIT_NOFILE
    tmp_bytes: int = 256 * MiB  # size of each private tmpfs (/tmp, /dev/shm)


SLOT_LOCKS = Path(tempfile.gettempdir()) / "hw4-sandbox-slots"


@contextmanager
def claim_slot():
    """A slot that no other sandbox on this machine holds, for as long as the ``with`` block runs.

    Slots are flocks on files: every grading process, thread or Dask worker coordinates through them,
    and the kernel releases a lock when its holder dies, so a crashed worker never leaks its slot."""
    SLOT_LOCKS.mkdir(mode=0o700, exist_ok=True)
    for slot in range(MAX_SLOTS):
        lock = open(SLOT_LOCKS / str(slot), "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        with lock:
            yield slot
        return
    raise SandboxError(f"all {MAX_SLOTS} sandbox slots are taken")


def uid_for(slot: int) -> int:
    if not 0 <= slot < MAX_SLOTS:
        raise ValueError(f"sandbox slot must be in [0, {MAX_SLOTS}), got {slot}")
    return BASE_UID + slot


# ---------------------------------------------------------------- command line


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SandboxError(
            f"{package} is not installed (no '{name}' on PATH): "
            f"apt-get install {package}, {NO_SANDBOX_HINT}"
        )
    return path


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


def _prlimit_args(limits: Limits) -> list[str]:
    # prlimit's options are the resource names: --data, --nproc, ...
    return [_tool("prlimit", "util-linux"),
            *(f"--{name.removeprefix('RLIMIT_').lower()}={value}" for name, value in rlimits(limits).items())]


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


def _filesystem(scratch: Path, limits: Limits, binds: tuple[str, ...] = ()) -> list[str]:
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
        *_filesystem(scratch, limits, binds),
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


# --------------------------------------------------------------- processes


def _status(pid: int | str) -> dict[str, str]:
    """Fields of /proc/<pid>/status; empty if the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except (FileNotFoundError, ProcessLookupError):
        return {}


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


def signal_command(process: subprocess.Popen, signum: int) -> bool:
    """Send `signum` to the sandbox's main command only, e.g. SIGINT to
    interrupt a kernel: the grandchild of the bwrap monitor (its child is
    the namespace's init), which setpriv turned into the command."""
    for init in _children(process.pid):
        for command in _children(init):
            _kill_pids([command], signum)
            return True
    return False


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


# ------------------------------------------------------------------ kernels


ZYGOTE_HOME = Path(tempfile.gettempdir()) / "hw4-zygote"  # holds matplotlib's font cache for every zygote
PLACEHOLDER = ["sleep", "infinity"]  # holds a warm kernel's sandbox open
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
        for init in _children(process.pid):
            for command in _children(init):
                if _status(command).get("Name") == PLACEHOLDER[0]:
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
        if not any(arg.startswith("--HistoryManager.hist_file") for arg in extra):
            extra.append("--HistoryManager.hist_file=:memory:")
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
                                 argv=self._args)
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
