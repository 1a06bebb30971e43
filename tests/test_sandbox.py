"""The grading sandbox, exercised with real sandboxed runs.

Every hostile case is bounded on its own (small limits, short timeouts, loops
that stop after N steps) so that a broken sandbox fails the test instead of
taking the machine down.  Slots 900+ keep clear of graders running beside us.
"""
import dataclasses
import errno
import fcntl
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from importlib.util import find_spec
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from autograder import sandbox
from autograder.course import KERNEL_IMPORTS, SOURCE
from autograder.sandbox import MiB, Limits, SandboxError, SandboxedKernelManager, mounts
from autograder.sandbox.zygote import Zygote, ZygoteError

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("bwrap") is None,
    reason="the sandbox needs root and bubblewrap",
)

SLOT, OTHER_SLOT = 900, 901
SMALL = Limits(memory_bytes=512 * MiB, processes=32, cpu_seconds=10,
               file_bytes=1 * MiB, open_files=64, tmp_bytes=16 * MiB)
# importing torch alone maps ~750 MiB of RLIMIT_DATA
TORCH = dataclasses.replace(SMALL, memory_bytes=1024 * MiB)
REPO = Path(sandbox.__file__).resolve().parents[2]


def py(code, scratch, *, slot=SLOT, limits=SMALL, timeout=20, env=None):
    """Run Python `code` in the sandbox; the last stdout line is parsed as JSON."""
    result = sandbox.run([sys.executable, "-c", textwrap.dedent(code)], scratch,
                         limits=limits, slot=slot, env=env, timeout=timeout)
    assert sandbox.sandbox_pids(slot) == []
    return result


def out(result):
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout.decode().splitlines()[-1])


@pytest.fixture(autouse=True, scope="module")
def fixed_slots():
    """Hold SLOT and OTHER_SLOT as claim_slot would, so that no other test's sandbox takes them or counts their
    processes as its leftovers."""
    sandbox.SLOT_LOCKS.mkdir(mode=0o700, exist_ok=True)
    locks = [open(sandbox.SLOT_LOCKS / str(slot), "a") for slot in (SLOT, OTHER_SLOT)]
    for lock in locks:
        fcntl.flock(lock, fcntl.LOCK_EX)
    yield
    for lock in locks:
        lock.close()


@pytest.fixture
def scratch(tmp_path):
    return tmp_path / "scratch"


def test_runs_unprivileged_in_scratch_with_allowlisted_env(scratch, monkeypatch):
    monkeypatch.setenv("HW4_GRADER_SECRET", "s3cret")
    got = out(py("""
        import json, os
        print(json.dumps([os.getuid(), os.getgid(), os.getgroups(), os.getcwd(), dict(os.environ)]))
    """, scratch, env={"HW4_OFFLINE": "1"}))
    uid, gid, groups, cwd, env = got
    assert uid == gid == sandbox.uid_for(SLOT) and groups == []
    assert cwd == str(scratch)
    assert env["HOME"] == str(scratch) and env["HW4_OFFLINE"] == "1"
    assert env["OMP_NUM_THREADS"] == "1"
    assert "HW4_GRADER_SECRET" not in env


def test_no_network(scratch):
    with socket.socket() as server, socket.socket(socket.AF_UNIX) as abstract:
        server.bind(("127.0.0.1", 0))
        server.listen()
        abstract.bind(f"\0hw4-sandbox-test-{os.getpid()}")
        abstract.listen()
        got = out(py(f"""
            import json, socket
            def attempt(family, address):
                try:
                    with socket.socket(family) as s:
                        s.settimeout(2)
                        s.connect(address)
                    return "connected"
                except OSError as e:
                    return type(e).__name__
            def resolve(name):
                try:
                    return str(socket.getaddrinfo(name, 80))
                except OSError as e:
                    return type(e).__name__
            print(json.dumps([
                attempt(socket.AF_INET, ("127.0.0.1", {server.getsockname()[1]})),
                attempt(socket.AF_UNIX, "\\0hw4-sandbox-test-{os.getpid()}"),
                attempt(socket.AF_INET, ("8.8.8.8", 53)),
                resolve("example.com"),
            ]))
        """, scratch, timeout=10))
    assert "connected" not in got, got
    assert got[3] == "gaierror"


def test_system_and_runtime_are_read_only(scratch):
    targets = ["/usr/x", "/etc/x", "/x", f"{sys.prefix}/x", f"{sys.base_prefix}/x",
               f"{find_spec('hw4').submodule_search_locations[0]}/x"]
    got = out(py(f"""
        import json
        results = []
        for path in {targets!r}:
            try:
                open(path, "w").close()
                results.append("written")
            except OSError as e:
                results.append(e.errno)
        print(json.dumps(results))
    """, scratch))
    assert all(r in (errno.EROFS, errno.EACCES, errno.ENOENT) for r in got), got


def test_instructor_side_is_invisible(scratch, tmp_path):
    secret = tmp_path / "instructor" / "hidden_tests.py"
    secret.parent.mkdir()
    secret.write_text("SECRET = 42\n")
    paths = [str(secret), str(REPO / "autograder"), str(REPO / "autograder" / "sandbox"),
             str(REPO / "pyproject.toml"), str(REPO / "README.md"), "/etc/shadow", "/root/.bashrc",
             "/work/main/autograder", "/work/main/README.md"]
    got = out(py(f"""
        import json, os
        print(json.dumps({{p: os.path.exists(p) for p in {paths!r}}}))
    """, scratch))
    assert not any(got.values()), got


def test_instructor_package_is_masked_inside_bound_dirs():
    assert mounts._masks([str(REPO), sys.prefix]) == [str(REPO / "autograder")]


def test_only_python_runtime_and_student_package_are_bound_from_the_repo(scratch):
    bound = {Path(p).relative_to(REPO).parts[0] for p in mounts._runtime_dirs() if REPO in Path(p).parents}
    got = out(py(f"""
        import json, os
        print(json.dumps([sorted(os.listdir({str(REPO)!r})), sorted(os.listdir({str(REPO / "student")!r}))]))
    """, scratch))
    assert set(got[0]) == bound
    assert got[1] == ["hw4"]  # the package alone: not the student folder's other files


def _stale_editable_install():
    """setuptools' editable finder lists `autograder` as a namespace package
    (importable, if empty, anywhere) when installed before its __init__.py
    existed; `pip install -e .` again fixes that."""
    return any("autograder" in getattr(module, "NAMESPACES", {})
               for name, module in list(sys.modules.items()) if name.startswith("__editable__"))


def test_autograder_not_importable_but_hw4_and_torch_are(scratch):
    got = out(py("""
        import json, os
        result = {}
        try:
            import autograder
            # A stale editable install can still give an empty namespace package.
            empty = getattr(autograder, "__file__", None) is None and not any(
                os.path.exists(p) for p in autograder.__path__)
            result["autograder"] = "empty namespace" if empty else "IMPORTED"
        except ImportError:
            result["autograder"] = "blocked"
        try:
            import autograder.sandbox
            result["instructor code"] = "IMPORTED"
        except ImportError:
            result["instructor code"] = "blocked"
        import hw4, torch
        result["torch"] = torch.ones(3).sum().item()
        try:
            torch.empty(2**29)  # 2 GiB against a 1 GiB limit
            result["big tensor"] = "allocated"
        except RuntimeError:
            result["big tensor"] = "refused"
        print(json.dumps(result))
    """, scratch, limits=TORCH, timeout=60))
    assert got["instructor code"] == "blocked"
    if _stale_editable_install():
        assert got["autograder"] == "empty namespace"
    else:
        assert got["autograder"] == "blocked"
    assert got["torch"] == 3.0 and got["big tensor"] == "refused"


def test_writes_only_to_scratch_and_private_tmp(scratch, tmp_path):
    private = f"/tmp/hw4-sandbox-private-{os.getpid()}"
    outside = tmp_path / "outside"
    outside.mkdir()
    got = out(py(f"""
        import json
        results = {{}}
        for path in ["result.txt", {private!r}, {str(outside / "x.txt")!r}]:
            try:
                with open(path, "w") as f:
                    f.write("hi")
                results[path] = "ok"
            except OSError as e:
                results[path] = e.errno
        print(json.dumps(results))
    """, scratch))
    assert got["result.txt"] == "ok" and (scratch / "result.txt").read_text() == "hi"
    assert got[private] == "ok" and not Path(private).exists()
    assert got[str(outside / "x.txt")] == errno.ENOENT and not any(outside.iterdir())


def test_memory_hog_gets_memory_error(scratch):
    result = py("""
        chunks = []
        for _ in range(64):  # would stop at 2 GiB by itself
            chunks.append(bytearray(32 * 2**20))
    """, scratch)
    assert result.returncode != 0 and b"MemoryError" in result.stderr


def test_fork_storm_is_contained(scratch):
    got = out(py("""
        import json, os, time
        forks = 0
        for _ in range(200):  # stops by itself if not contained
            try:
                pid = os.fork()
            except BlockingIOError:
                break
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            forks += 1
        print(json.dumps(forks))
    """, scratch, timeout=20))
    assert got < SMALL.processes


def test_fork_storm_does_not_starve_another_slot(tmp_path):
    full = tmp_path / "storm" / "full"
    storm = threading.Thread(target=py, args=("""
        import os, time
        for _ in range(200):
            try:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
            except BlockingIOError:
                open("full", "w").close()
                time.sleep(4)
                break
    """, tmp_path / "storm"), kwargs={"slot": OTHER_SLOT, "timeout": 20})
    storm.start()
    try:
        deadline = time.monotonic() + 15
        while not full.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert full.exists()
        got = out(py("""
            import json, os
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            print(json.dumps(os.waitpid(pid, 0)[1]))
        """, tmp_path / "neighbour"))
        assert got == 0
    finally:
        storm.join()


def test_cpu_loop_killed_by_cpu_limit(scratch):
    result = py("while True: pass", scratch, limits=Limits(cpu_seconds=1), timeout=20)
    assert result.returncode == 128 + 9 and not result.timed_out


def test_timeout_kills_sigterm_ignorer_and_its_children(scratch):
    result = py("""
        import os, signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.fork()  # parent and child both ignore SIGTERM
        time.sleep(60)
    """, scratch, timeout=1)
    assert result.timed_out and result.seconds < 5


def test_double_forked_daemon_is_gone_after_run(scratch):
    result = py("""
        import os, signal, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                open("daemon-started", "w").close()
                time.sleep(60)
            os._exit(0)
        while not os.path.exists("daemon-started"):
            time.sleep(0.01)
    """, scratch, timeout=10)
    assert result.returncode == 0 and not result.timed_out
    assert (scratch / "daemon-started").exists()
    assert sandbox.sandbox_pids(SLOT) == []


def test_kill_tree_on_a_running_sandbox(scratch):
    argv = sandbox.sandbox_argv(
        [sys.executable, "-c", "import os, signal, time\n"
         "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nos.fork()\ntime.sleep(60)"],
        sandbox.prepare_scratch(scratch, SLOT), limits=SMALL, slot=SLOT)
    process = subprocess.Popen(argv, start_new_session=True)
    deadline = time.monotonic() + 10
    while len(sandbox.sandbox_pids(SLOT)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(sandbox.sandbox_pids(SLOT)) == 2
    assert sandbox.kill_tree(process, SLOT) == []


def test_host_processes_invisible_and_unsignalable(scratch):
    got = out(py(f"""
        import json, os
        try:
            os.kill({os.getpid()}, 0)
            grader = "signalable"
        except OSError as e:
            grader = type(e).__name__
        print(json.dumps([grader, sorted(int(p) for p in os.listdir("/proc") if p.isdigit()), os.getpid()]))
    """, scratch))
    grader, pids, own = got
    assert grader == "ProcessLookupError"
    assert pids == [1, own]


def test_file_size_limit_caps_files_and_output(scratch):
    result = py("""
        import errno, sys
        try:
            with open("flood.bin", "wb") as f:
                for _ in range(8):  # 8 MiB against a 1 MiB limit
                    f.write(bytes(2**20))
        except OSError as e:
            assert e.errno == errno.EFBIG
        sys.stdout.write("x" * 4 * 2**20)
    """, scratch)
    assert (scratch / "flood.bin").stat().st_size <= SMALL.file_bytes
    assert 0 < len(result.stdout) <= SMALL.file_bytes


def test_slots_cannot_see_each_others_scratch(tmp_path):
    mine = sandbox.prepare_scratch(tmp_path / "a", SLOT)
    (mine / "answer.txt").write_text("mine")
    sandbox.prepare_scratch(mine, SLOT)
    assert mine.stat().st_mode & 0o077 == 0
    got = out(py(f"""
        import json, os
        print(json.dumps(os.path.exists({str(mine / "answer.txt")!r})))
    """, tmp_path / "b", slot=OTHER_SLOT))
    assert got is False


def test_check_available_passes_here():
    sandbox.check_available(slot=SLOT)


def test_check_available_explains_missing_bwrap(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SandboxError, match="bubblewrap is not installed.*--no-sandbox"):
        sandbox.check_available(slot=SLOT)


def test_check_available_explains_broken_bwrap(monkeypatch, tmp_path):
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: Creating new namespace failed' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    with pytest.raises(SandboxError, match="namespace failed.*--no-sandbox"):
        sandbox.check_available(slot=SLOT)


def _notebook(*sources):
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _execute(nb, scratch, *, warm=True, slot=SLOT, **options):
    config = Config({"SandboxedKernelManager": {
        "scratch": str(scratch), "slot": slot, "shutdown_wait_time": 1.0, "warm": warm,
        "limits": {"memory_bytes": 2 * 1024**3, "processes": 64},
        "extra_env": {"HW4_OFFLINE": "1"}}})
    client = NotebookClient(nb, kernel_manager_class=SandboxedKernelManager, config=config,
                            allow_errors=True, kernel_name="python3", **options)
    client.execute()
    return [cell.outputs for cell in nb.cells]


def test_kernel_runs_sandboxed_and_leaves_nothing(scratch):
    nb = _notebook(
        "import os, torch, hw4, subprocess\n"
        "print(os.getuid(), os.environ['HW4_OFFLINE'], torch.ones(2).sum().item())",
        "open('/work/main/README.md')",
        "subprocess.Popen(['sleep', '60'], start_new_session=True)\nimport time\ntime.sleep(30)",
        "print('after interrupt')",
    )
    outputs = _execute(nb, scratch, timeout=4, interrupt_on_timeout=True)
    assert outputs[0][0]["text"] == f"{sandbox.uid_for(SLOT)} 1 2.0\n"
    assert outputs[1][0]["ename"] == "FileNotFoundError"
    assert outputs[2][-1]["ename"] == "KeyboardInterrupt"
    assert outputs[3][0]["text"] == "after interrupt\n"
    assert sandbox.sandbox_pids(SLOT) == []
    assert not list(scratch.glob("kernel-*.json"))


def test_hung_kernel_is_killed(scratch):
    # A cell deaf to interrupts; nbgrader's settings make nbclient give up on it. It sleeps rather than
    # spins: what stops it is the same, and test_cpu_loop_killed_by_cpu_limit covers spinning.
    nb = _notebook("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: time.sleep(1)")
    start = time.monotonic()
    with pytest.raises(CellTimeoutError):
        _execute(nb, scratch, timeout=2, interrupt_on_timeout=True, iopub_timeout=1,
                 raise_on_iopub_timeout=True,
                 error_on_timeout={"ename": "CellTimeoutError", "evalue": "", "traceback": []})
    assert time.monotonic() - start < 20
    assert sandbox.sandbox_pids(SLOT) == []


# ------------------------------------------------------------ warm kernels (forked from the zygote)

CONFINEMENT = """
import json, os, re, resource, socket
status = dict(line.split(':\\t', 1) for line in open('/proc/self/status') if ':\\t' in line)
def has_terminal():
    try:
        open('/dev/tty').close()
        return True
    except OSError:
        return False
print(json.dumps(dict(
    ids=[os.getresuid(), os.getresgid(), os.getgroups()],
    privileges={key: status[key].strip() for key in
                ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp')},
    limits={name: resource.getrlimit(getattr(resource, name)) for name in dir(resource) if name.startswith('RLIMIT_')},
    cwd=os.getcwd(), env=dict(os.environ), hostname=socket.gethostname(), terminal=has_terminal(),
    root=sorted(os.listdir('/')), mounts=sorted(line.split()[4] for line in open('/proc/self/mountinfo')),
    interfaces=sorted(name for _, name in socket.if_nameindex()),
    descriptors=sorted(re.sub(r'[0-9]+', 'N', os.readlink(f'/proc/self/fd/{fd}'))
                       for fd in os.listdir('/proc/self/fd') if int(fd) > 2 and os.path.lexists(f'/proc/self/fd/{fd}')),
    namespaces={name: os.readlink(f'/proc/self/ns/{name}') for name in ('pid', 'net', 'ipc', 'uts', 'mnt')},
)))
"""


def _confinement(scratch, warm):
    [outputs] = _execute(_notebook(CONFINEMENT), scratch, warm=warm)
    assert outputs[0].get("text"), outputs
    return json.loads(outputs[0]["text"])


def test_warm_kernel_is_confined_exactly_like_a_cold_one(scratch):
    warm, cold = _confinement(scratch, warm=True), _confinement(scratch, warm=False)
    grader = {name: os.readlink(f"/proc/self/ns/{name}") for name in warm["namespaces"]}
    for kernel in (warm, cold):
        assert all(kernel["namespaces"][name] != grader[name] for name in grader), kernel["namespaces"]
        del kernel["namespaces"]  # each sandbox has namespaces of its own
    assert warm["ids"][0] == [sandbox.uid_for(SLOT)] * 3 and warm["privileges"]["CapEff"] == "0" * 16
    assert warm["interfaces"] == ["lo"]
    assert {k: v for k, v in warm["env"].items() if cold["env"].get(k) != v} == {}
    assert {k: v for k, v in cold["env"].items() if warm["env"].get(k) != v} == {}
    assert warm == cold
    assert sandbox.sandbox_pids(SLOT) == []


def test_a_warm_kernel_starts_with_what_is_imported_at_first_use_and_prints_plain_tracebacks(scratch):
    """What a kernel would import at its first call of torch.broadcast_shapes (sympy), first figure and first
    error, the zygote has; an error's traceback is Python's plain one (KERNEL_SETTINGS)."""
    first_use = ("sympy", "matplotlib_inline.backend_inline", "stack_data")
    imported, error = _execute(_notebook(f"import sys\nprint([name in sys.modules for name in {first_use}])",
                                         "def divide():\n    return 1 / 0\ndivide()"), scratch)
    assert imported[0]["text"] == f"{[True] * len(first_use)}\n"
    traceback = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error[0]["traceback"]))
    assert "Traceback (most recent call last)" in traceback and "in divide" in traceback
    assert "return 1 / 0" in traceback and "---->" not in traceback  # the failing line, not the lines around it


def test_one_warm_kernel_leaves_nothing_to_the_next(tmp_path):
    first = _notebook("import torch, matplotlib\ntorch.LEFT_BEHIND = matplotlib.LEFT_BEHIND = 1\n"
                      "open('/tmp/left-behind', 'w').write('x')")
    second = _notebook("import os, torch, matplotlib\n"
                       "print(hasattr(torch, 'LEFT_BEHIND'), hasattr(matplotlib, 'LEFT_BEHIND'),"
                       " os.path.exists('/tmp/left-behind'))")
    _execute(first, tmp_path / "a")
    [outputs] = _execute(second, tmp_path / "b", slot=OTHER_SLOT)
    assert outputs[0]["text"] == "False False False\n"


def test_a_kernel_cannot_reach_the_zygote(scratch):
    """The zygote listens in the grader's network namespace; a kernel, in one of its own, finds no such socket."""
    address = sandbox.zygote().start()
    probe = (f"import socket\nprobe = socket.socket(socket.AF_UNIX)\n"
             f"try:\n    probe.connect({address!r})\n    print('connected')\n"
             f"except OSError as err:\n    print(type(err).__name__)\n"
             f"print(sorted(line.split()[-1] for line in open('/proc/net/unix').readlines()[1:] if 'zygote' in line))")
    [outputs] = _execute(_notebook(probe), scratch)
    assert outputs[0]["text"] == "ConnectionRefusedError\n[]\n", outputs


def test_the_zygote_holds_no_grading_data_and_torchvision_only_once_asked(monkeypatch):
    """It is exec'd, not forked from the grader: neither the grader's environment nor the solutions,
    which this process has read, are in its memory. torchvision (the VAE notebook's) is not preloaded, so a
    run that executes only KL notebooks never imports it; the first kernel that asks for it has the zygote
    import it before the fork."""
    monkeypatch.setenv("HW4_GRADER_SECRET", "s3cret")
    source = nbformat.read(SOURCE / "KL_derivation.ipynb", as_version=4)
    solution_lines = [line for cell in source.cells if cell.cell_type == "code" and "BEGIN SOLUTION" in cell.source
                      for line in cell.source.splitlines() if "SOLUTION" not in line]
    zygote = Zygote(sandbox.PYTHON, sandbox.sandbox_env(sandbox.ZYGOTE_HOME, {"JPY_PARENT_PID": "1"}))
    try:
        memory = _preloaded_memory(zygote)
        assert b"ipykernel.kernelapp" in memory  # the scan sees what it preloaded
        assert b"HW4_GRADER_SECRET" not in Path(f"/proc/{zygote.pid}/environ").read_bytes()
        assert not [line for line in solution_lines if len(line.strip()) > 20 and line.strip().encode() in memory]

        assert "/torchvision/" not in _mapped(zygote)  # its compiled extension is loaded at import
        with pytest.raises(ZygoteError, match="FileNotFoundError"):  # as in _preloaded_memory: no process 0
            zygote.spawn(target=0, uid=sandbox.uid_for(SLOT), rlimits={}, cwd="/", env={}, argv=[],
                         imports=KERNEL_IMPORTS["VAE"])
        assert "/torchvision/" in _mapped(zygote)
    finally:
        zygote.close()


def _mapped(zygote):
    return Path(f"/proc/{zygote.pid}/maps").read_text()


def _preloaded_memory(zygote):
    """The zygote's heap and anonymous memory, where loaded data lives, once it has preloaded: it answers its
    first request (here one it cannot serve: there is no process 0) only then."""
    with pytest.raises(ZygoteError, match="FileNotFoundError"):
        zygote.spawn(target=0, uid=sandbox.uid_for(SLOT), rlimits={}, cwd="/", env={}, argv=[])
    chunks = []
    with open(f"/proc/{zygote.pid}/maps") as maps, open(f"/proc/{zygote.pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            span, perms, name = fields[0], fields[1], (fields[5] if len(fields) > 5 else "")
            start, end = (int(x, 16) for x in span.split("-"))
            if perms.startswith("r") and name in ("", "[heap]"):
                try:
                    mem.seek(start)
                    chunks.append(mem.read(end - start))
                except OSError:  # e.g. [vvar]
                    pass
    return b"".join(chunks)


def test_a_launcher_outliving_its_zygote_exits_and_lets_go_of_the_output():
    """The grader dies (Ctrl-C, a kill) while the zygote's child is still joining a sandbox: the zygote dies
    with the grader, so the child's report fails. The child must exit then, not carry on as a zygote of its own
    that holds the grader's output open. Here a stand-in zygote forks a child whose join takes a second."""
    stand_in = textwrap.dedent(f"""\
        import json, os, socket, sys, time
        sys.path.insert(0, {str(REPO / "autograder" / "sandbox")!r})
        import zygote
        zygote._join_namespaces = lambda target: time.sleep(1)
        ours, theirs = socket.socketpair()
        theirs.sendall(json.dumps(dict(target=0)).encode() + b"\\n")
        print(os.getpid(), flush=True)
        zygote._answer(ours)  # one turn of the zygote's loop
        print("returned into the zygote's loop", flush=True)
        time.sleep(60)
    """)
    run = subprocess.Popen([sys.executable, "-I", "-c", stand_in], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    assert int(run.stdout.readline()) == run.pid
    time.sleep(0.3)  # the child is joining
    run.kill()
    try:
        stdout, _ = run.communicate(timeout=20)  # the output closes when the child has exited
    except subprocess.TimeoutExpired:
        pytest.fail("the zygote's child outlived it and kept its output open")
    assert stdout == ""
