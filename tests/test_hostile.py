"""Hostile submissions: each attack is contained and the rest of the class is graded as if it were absent.

Each attack runs at the top of the student's first solution cell, after a correct ``mvn_log_prob``. Every
attack is bounded by itself (a fixed number of forks, a finite flood), so that a broken sandbox could not
take the machine down with it.
"""
import fcntl
import os
import pickle
import socket
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder import sandbox
from autograder.course import SOURCE
from autograder.coordinator.grade import grade_class
from autograder.samples import CHEAT, reference_answers, write_submission
from conftest import snapshot

KL = reference_answers("KL_derivation")
# The attacks whose points a test reads answer every function; the others hand in only the answer that
# carries the attack, since the rest of their notebook would show nothing more.
ANSWER_EVERYTHING = {"endless-loop", "fork-storm", "daemon", "fake-grader-modules", "fake-results"}
MARKER = Path("/tmp/hw4-hostile-marker")  # created by a payload only if an attack escaped


class Payload:
    """A pickle that, if the grader ever unpickled it, would leave MARKER behind."""

    def __reduce__(self):
        return (open, (str(MARKER), "w"))


def _attacks(listener_port, paths):
    return {
        "endless-loop": "while True:\n    pass",
        # Sleeps where endless-loop spins: the interrupt cannot stop it either way, and a second spinning
        # loop would only add its time limit of CPU to the suite.
        "ignores-signals": "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                           "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    time.sleep(1)",
        "memory-hog": "hog = bytearray(6 * 2**30)",
        "fork-storm": textwrap.dedent("""\
            import os, time
            for _ in range(500):
                try:
                    if os.fork() == 0:
                        time.sleep(60)
                        os._exit(0)
                except OSError:
                    break"""),
        "daemon": "import subprocess\nsubprocess.Popen(['sleep', '600'], start_new_session=True)",
        "network": textwrap.dedent(f"""\
            import socket
            for address in [("127.0.0.1", {listener_port}), ("8.8.8.8", 53)]:
                try:
                    socket.create_connection(address, timeout=2).sendall(b"escaped")
                    print("CONNECTED", address)
                except OSError as err:
                    print("blocked", address, err)"""),
        "reads-instructor-files": textwrap.dedent(f"""\
            for path in {paths!r}:
                try:
                    open(path, "rb").read(16)
                    print("READ", path)
                except OSError:
                    print("blocked", path)"""),
        "writes-outside": textwrap.dedent(f"""\
            for folder in {paths!r}:
                try:
                    open(folder.rsplit("/", 1)[0] + "/pwned.txt", "w").write("x")
                    print("WROTE", folder)
                except OSError:
                    print("blocked", folder)"""),
        "kills-processes": "import os, signal\nfor pid in range(1, 4096):\n    try:\n        os.kill(pid, signal.SIGKILL)\n"
                           "    except OSError:\n        pass",
        "floods-output": "for _ in range(20000):\n    print('x' * 1000)",
        "fake-grader-modules": textwrap.dedent("""\
            import os, sys, types
            for package in ("hw4", "autograder"):
                os.makedirs(package, exist_ok=True)
                open(package + "/__init__.py", "w").write("raise SystemExit('imported a student module')")
            open("hw4/probe.py", "w").write("def run(test_id, fn):\\n    pass\\n")
            sys.modules["hw4.probe"] = types.SimpleNamespace(run=lambda test_id, fn: None)"""),
        "fake-results": textwrap.dedent(f"""\
            import os
            payload = {pickle.dumps(Payload())!r}
            for test_id in ("test_mvn_log_prob_exact", "test_mvn_log_prob_batched", "test_kl_mvn_exact"):
                path = os.path.join(os.environ["HW4_PROBE_DIR"], test_id + ".out.safetensors")
                open(path, "wb").write(payload)
            os.symlink("/etc/shadow", os.path.join(os.environ["HW4_PROBE_DIR"], "test_kl_mvn_batched.out.safetensors"))
            import hw4.probe
            hw4.probe.run = lambda test_id, fn: None  # keep the fakes: record nothing more"""),
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    subs, out = root / "submissions", root / "out"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    secrets = [str(SOURCE / "KL_derivation.ipynb"), str(out / "course" / "gradebook.db"),
               str(subs / "honest" / "KL_derivation.ipynb"), "/etc/shadow", str(Path.home() / ".bashrc")]
    attacks = _attacks(listener.getsockname()[1], secrets)
    for name, code in attacks.items():
        answers = {**(KL if name in ANSWER_EVERYTHING else {}), "mvn_log_prob": KL["mvn_log_prob"] + "\n\n" + code}
        if name.startswith("fake-"):  # a wrong answer that the fakes try to pass off as right
            answers["kl_mvn"] = CHEAT
        write_submission(subs / name, {"KL_derivation": answers})
    write_submission(subs / "honest", {"KL_derivation": KL})
    write_submission(subs / "cheat", {"KL_derivation": {**KL, "kl_mvn": CHEAT}})
    MARKER.unlink(missing_ok=True)
    before = snapshot(subs)
    results = grade_class(subs, out, jobs=2, log=lambda _: None, wall_seconds=40, timeout=10,
                          memory_bytes=2 * 2**30)
    try:
        listener.accept()
        connected = True
    except BlockingIOError:
        connected = False
    listener.close()
    return dict(results=results, out=out, subs=subs, before=before, connected=connected, attacks=attacks)


def _outputs(result):
    nb = nbformat.reads(result.autograded["KL_derivation"], as_version=4)
    return "".join(o.get("text", "") + o.get("ename", "") for cell in nb.cells for o in cell.get("outputs", []))


def _status(result):
    return result.notebooks["KL_derivation"].status


def _kl_points(result):
    return {tid: t.score == t.max_score for tid, t in result.tests.items() if not tid.startswith("test_V")
            and tid.split("_")[1] in ("mvn", "kl")}


def test_honest_student_is_graded_as_if_alone(hostile):
    honest = hostile["results"]["honest"]
    assert all(_kl_points(honest).values()), honest.tests


def test_runaway_code_times_out_and_the_rest_of_the_notebook_still_counts(hostile):
    loop = hostile["results"]["endless-loop"]
    assert _status(loop) == "timeout"
    assert _kl_points(loop)["test_kl_mvn_exact"]  # cells after the interrupted one ran
    assert _status(hostile["results"]["ignores-signals"]) == "timeout"


def test_resource_hogs_are_contained(hostile):
    results = hostile["results"]
    assert "MemoryError" in _outputs(results["memory-hog"]) or _status(results["memory-hog"]) == "crashed"
    for name in ("fork-storm", "daemon"):
        assert _status(results[name]) == "ok" and all(_kl_points(results[name]).values()), name


def test_no_process_of_any_sandbox_survives(hostile):
    """None in a slot that no sandbox holds: tests running beside this one may have kernels in theirs."""
    survivors = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            uid = int(Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0])
        except (FileNotFoundError, IndexError):
            continue
        if sandbox.BASE_UID <= uid < sandbox.BASE_UID + sandbox.MAX_SLOTS and not _held(uid - sandbox.BASE_UID):
            survivors.append(pid)
    assert survivors == []


def _held(slot):
    with open(sandbox.SLOT_LOCKS / str(slot), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False


def test_no_network(hostile):
    assert not hostile["connected"]
    assert "CONNECTED" not in _outputs(hostile["results"]["network"])


def test_instructor_files_and_other_students_are_invisible(hostile):
    text = _outputs(hostile["results"]["reads-instructor-files"])
    assert "READ" not in text and text.count("blocked") == 5


def test_nothing_written_outside_the_sandbox(hostile):
    assert "WROTE" not in _outputs(hostile["results"]["writes-outside"])
    assert snapshot(hostile["subs"]) == hostile["before"]
    assert not any(p.name == "pwned.txt" for p in hostile["out"].rglob("*"))
    assert not (SOURCE / "pwned.txt").exists()


def test_killing_processes_only_ends_its_own_kernel(hostile):
    assert _status(hostile["results"]["kills-processes"]) == "crashed"
    assert "kernel died" in " ".join(hostile["results"]["kills-processes"].errors)


def test_output_floods_are_truncated(hostile):
    flood = hostile["results"]["floods-output"]
    assert "[output truncated by the grader]" in _outputs(flood)
    assert len(flood.autograded["KL_derivation"]) < 3 * 2**20


def test_tampering_with_comparisons_or_the_probe_earns_nothing(hostile):
    results = hostile["results"]
    assert not any(v for tid, v in _kl_points(results["cheat"]).items() if tid.startswith("test_kl_mvn"))
    for name in ("fake-grader-modules", "fake-results"):
        assert not any(_kl_points(results[name]).values()), name
    assert not MARKER.exists()  # the pickle was never loaded


def test_every_hostile_student_has_one_row(hostile):
    rows = (hostile["out"] / "grades.csv").read_text().splitlines()[1:]
    assert sorted(r.split(",")[0] for r in rows) == sorted([*hostile["attacks"], "honest", "cheat"])
