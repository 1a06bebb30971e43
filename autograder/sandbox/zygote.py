"""Warm kernels: forked from a process that has already imported torch, instead of started cold.

A cold kernel spends about 3 s importing torch and torchvision before the student's first cell runs, and
grading starts two kernels per student. A zygote is a clean Python, started once per grading run and shared
by its grading workers, that imports those libraries and then only forks. What every kernel needs it
imports at once (``PRELOAD``); what only some notebooks import (torchvision, for the VAE) it imports when
the first kernel that asks for it does, so that a run with none of those notebooks to execute never pays
for it. It never runs student code and holds no grading data: it is started with exec, not forked from the
grader, so no solution or gradebook is in its memory.

The grader talks to it over a Unix socket in the abstract namespace of the grader's network namespace,
which the sandboxes (each in a network namespace of its own) cannot reach: one connection per request, one
JSON line each way. The zygote answers only connections from its own user.

For each notebook the grader builds the student's sandbox with bwrap as before, holding it open with a
placeholder command, and asks the zygote for a kernel. The zygote forks; the child joins the sandbox's
namespaces (setns), takes the sandbox's resource limits and unprivileged uid, drops every capability, and
becomes the kernel. Each kernel is therefore a new process inside its student's own sandbox, sharing with
the zygote only copy-on-write memory.

This file runs as a script (``python -I zygote.py``) and imports only the standard library and the
libraries it preloads; the grader's side is :class:`Zygote`.
"""
import ctypes
import gc
import importlib
import json
import os
import random
import resource
import secrets
import signal
import socket
import struct
import subprocess
import sys
import threading
from importlib.util import find_spec

# symbolic_shapes (and sympy with it): torch.broadcast_shapes and torch.distributions import it at first use,
# which would cost each kernel that calls them 0.7 s. A kernel imports the inline backend at its first figure,
# and stack_data at its first error. (Not ipykernel's debugger, which every kernel imports as it starts:
# imported here, it leaves a warm kernel one descriptor short of a cold one.)
PRELOAD = ("numpy", "torch", "torch.fx.experimental.symbolic_shapes", "matplotlib.pyplot", "tqdm.auto",
           "ipykernel.kernelapp", "ipykernel.ipkernel", "matplotlib_inline.backend_inline", "stack_data")
# Joined in this order: the mount namespace last, because it changes what /proc/<pid>/ns/* means.
NAMESPACES = ("pid", "net", "ipc", "uts", "cgroup", "mnt")
MATPLOTLIB_BACKEND = "module://matplotlib_inline.backend_inline"  # what ipykernel would select
REPLY_TIMEOUT_S = 120  # the first reply waits for the preload, which a loaded machine slows down
REQUEST_TIMEOUT_S = 10  # a client that connects and then stays silent must not hold up the others
MAX_REQUEST_BYTES = 2**20

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 36, 38


class ZygoteError(RuntimeError):
    pass


def _check(result):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


# ------------------------------------------------------------- the zygote


def serve():
    """Preload, then answer the requests that reach the listening socket passed as a descriptor."""
    # Die with the grader that started it (its pid is the first argument), even one SIGKILLed mid-preload;
    # one that died before the signal was armed leaves nobody to preload for.
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0))
    if os.getppid() != int(sys.argv[1]):
        return
    # Nothing of the zygote's, or of the kernels that inherit fd 1, goes to the grader's output: it goes
    # where the zygote's errors go.
    os.dup2(2, 1)
    listener = socket.socket(fileno=int(sys.argv[2]))  # clients may connect already: they wait for the preload
    os.environ["MPLBACKEND"] = MATPLOTLIB_BACKEND  # matplotlib reads it once, at import
    _import(PRELOAD)
    # Kernels are orphaned when their launcher exits: they become ours to reap, at once, so that no
    # zombie of a sandbox uid outlives its sandbox.
    _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
    signal.signal(signal.SIGCHLD, _reap)
    while True:
        connection, _ = listener.accept()
        with connection:
            _answer(connection)


def _answer(connection):
    """Fork the kernel that one connection asks for, and say which; a client of another user gets nothing."""
    connection.settimeout(REQUEST_TIMEOUT_S)
    try:
        _, uid, _ = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                              struct.calcsize("3i")))
        if uid != os.getuid():
            return
        request = connection.makefile("rb").readline(MAX_REQUEST_BYTES)
        try:
            reply = {"kernel": _spawn(json.loads(request))}
        except Exception as err:  # one failed kernel must not end the zygote
            reply = {"error": f"{type(err).__name__}: {err}"}
        connection.sendall(json.dumps(reply).encode() + b"\n")
    except OSError:  # the client went away or stayed silent: the next one is served
        pass


def _import(modules):
    """Import those of ``modules`` not imported yet, before any kernel that needs them is forked."""
    new = [module for module in modules if module not in sys.modules]
    for module in new:
        importlib.import_module(module)
    if new:
        gc.freeze()  # the preloaded objects stay in the shared pages instead of being copied by the collector


def _reap(*_):
    """Collect every child that has ended (on SIGCHLD)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:  # no children left
        pass


def _spawn(request):
    """Fork a child that joins the sandbox, and through it the kernel; return the kernel's host pid."""
    _import(request.get("imports", ()))
    readable, writable = os.pipe()
    child = os.fork()
    if child == 0:
        # Whatever happens, the child exits here. The report fails if the zygote has died meanwhile (with its
        # grader); a child that returned would become a second zygote, outside any sandbox, holding the
        # grader's output open and outliving it.
        try:
            os.close(readable)
            os.write(writable, json.dumps(_launch(request)).encode())
        finally:
            os._exit(0)
    os.close(writable)
    with os.fdopen(readable) as pipe:
        report = json.loads(pipe.read() or "{}")
    try:
        os.waitpid(child, 0)
    except ChildProcessError:  # already reaped by _reap
        pass
    if "pid" not in report:
        raise ZygoteError(report.get("error", "the kernel's launcher died"))
    return report["pid"]


def _launch(request):
    """In the zygote's child: join the sandbox and fork the kernel there; the report for the zygote."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _join_namespaces(request["target"])
        kernel = os.fork()  # the new pid namespace holds only the children of whoever joined it
        if kernel == 0:
            _become_kernel(request)
        return {"pid": kernel}
    except BaseException as err:
        return {"error": f"{type(err).__name__}: {err}"}


def _join_namespaces(target):
    handles = [os.open(f"/proc/{target}/ns/{name}", os.O_RDONLY) for name in NAMESPACES]
    for handle in handles:
        _check(_libc.setns(handle, 0))
        os.close(handle)


def _become_kernel(request):
    """In the sandbox's namespaces, still root: become the student's unprivileged kernel; never returns."""
    try:
        os.setsid()  # no signals from the grader's terminal
        _isolate_descriptors()
        os.chdir(request["cwd"])
        for name, value in request["rlimits"].items():
            resource.setrlimit(getattr(resource, name), (value, value))
        _drop_privileges(request["uid"])
        os.environ.clear()
        os.environ.update(request["env"], PWD=request["cwd"])  # PWD: as bwrap's --chdir sets it
        _reseed()
        sys.path[:] = [p for p in sys.path if p]  # ipykernel puts the kernel's cwd first again
        sys.argv = [find_spec("ipykernel_launcher").origin, *request["argv"]]
        from ipykernel import kernelapp
        kernelapp.launch_new_instance(argv=request["argv"])
    except BaseException as err:
        print(f"zygote: the kernel could not start: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
    finally:
        os._exit(1)


def _isolate_descriptors():
    """Keep only stdout and stderr (the zygote's stderr); stdin reads /dev/null. Closing the report pipe
    also lets the zygote see its end of file."""
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def _drop_privileges(uid):
    """Become ``uid`` with no groups, no capabilities and no way to gain any, like setpriv does."""
    last_cap = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last_cap + 1):
        _check(_libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # leaving uid 0 clears the permitted, effective and ambient sets
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
    _check(_libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))  # as after an exec: the student's own /proc stays theirs
    status = dict(line.split(":\t", 1) for line in open("/proc/self/status") if ":\t" in line)
    caps = [status[f"Cap{kind}"].strip() for kind in ("Inh", "Prm", "Eff", "Bnd", "Amb")]
    if set(caps) != {"0" * 16} or status["NoNewPrivs"].strip() != "1":
        raise ZygoteError(f"privileges were not dropped: {status}")


def _reseed():
    """Fresh seeds where a new interpreter would draw them from the OS; torch's default seed is fixed anyway."""
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()


# ------------------------------------------------------------- the grader's side


class Zygote:
    """The grader's handle on a zygote process: started on first use by one process and used by the
    processes it forks too (the grading workers); safe to share between threads."""

    def __init__(self, python, env):
        self._python, self._env = python, env
        self._process = self._owner = self._address = None  # the owner: the pid of the process that started it
        self._lock = threading.Lock()

    def spawn(self, *, target, uid, rlimits, cwd, env, argv, imports=()):
        """A kernel running ``ipykernel`` with ``argv`` in the sandbox of host pid ``target``; its host pid.
        ``imports``: modules beyond ``PRELOAD`` that the zygote imports first (once: later kernels find them)."""
        request = dict(target=target, uid=uid, rlimits=rlimits, cwd=str(cwd), env=env, argv=argv, imports=list(imports))
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(REPLY_TIMEOUT_S)
                connection.connect(self.start())
                connection.sendall(json.dumps(request).encode() + b"\n")
                line = connection.makefile("rb").readline()
        except TimeoutError:
            self.close()
            raise ZygoteError(f"the zygote did not answer within {REPLY_TIMEOUT_S} s") from None
        except OSError:
            line = b""
        if not line:
            self.close()
            raise ZygoteError("the zygote died")
        reply = json.loads(line)
        if "error" in reply:
            raise ZygoteError(reply["error"])
        return reply["kernel"]

    def start(self):
        """The zygote's address, starting it if this process has none running: call it early, and its preload
        overlaps the grader's own set-up."""
        with self._lock:
            mine = self._owner == os.getpid()
            if self._address is None or (mine and self._process.poll() is not None):
                self._begin()
            return self._address

    def _begin(self):
        address = b"\0hw4-zygote-" + secrets.token_hex(8).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(address)
            listener.listen()
            # -I: neither the grader's folder nor PYTHON* variables shape what the kernels import.
            # A session of its own: Ctrl-C in the grader's terminal is for the grader to handle.
            self._process = subprocess.Popen(
                [self._python, "-I", __file__, str(os.getpid()), str(listener.fileno())],
                pass_fds=[listener.fileno()], stdin=subprocess.DEVNULL, env=self._env, start_new_session=True)
        self._address, self._owner = address, os.getpid()

    @property
    def pid(self):
        """The zygote's pid, in the process that started it."""
        return self._process.pid if self._owner == os.getpid() else None

    def after_fork(self):
        """In a forked child: the lock is new (another thread may have held the parent's)."""
        self._lock = threading.Lock()

    def close(self):
        """Stop the zygote if this process started it, else only let go of it; kernels already forked are
        not affected. The next request starts a new one."""
        with self._lock:  # start() must never see half of this
            if self._owner == os.getpid():
                self._process.kill()
                self._process.wait()
            self._process = self._owner = self._address = None


if __name__ == "__main__":
    serve()
