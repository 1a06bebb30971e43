"""Grading a class: plain `nbgrader autograde` against `hw4 grade`, on the same synthetic class.

The class (--students N, default 40) is made from the bundle's own notebooks with autograder.samples: in
turn a correct student (the reference answers of both notebooks), a partially wrong one (the reference
answers with one entry of tests/catalog_kl.py or tests/catalog_vae.py WRONG substituted, the two catalogs
alternating) and an unanswered one (both notebooks as released). With --complete, a second class of the
same size is graded after it, where every student answers every function: the unanswered third answers
correctly, so a third of the class has one wrong function. A table at the end puts the classes side by side.

(a) plain nbgrader, as an nbgrader course would run it: a course directory with the source notebooks and no
    nbgrader_config.py (default settings: nbgrader's Execute, no sandbox; $HW4_PROBE_DIR is unset, so the
    hidden tests verify in the kernel), `nbgrader generate_assignment hw4`, then one `nbgrader autograde hw4`
    process (sequential), then `nbgrader generate_feedback hw4`, timed apart because `hw4 grade` writes
    feedback too.
(b) `hw4 grade SUBMISSIONS --out DIR` with its defaults: sandbox on, --jobs = CPU cores + 1.

The order is a, b, a: plain nbgrader grades every other student in one course before `hw4 grade` runs and
the rest in a second course after it, and its time is the sum of the two. A machine whose speed drifts
during the run (shared cores do) then slows or speeds both sides alike, instead of only the side that
runs last. The price is one more start of `nbgrader autograde` and `generate_feedback` (each about 2 s,
counted against nbgrader: under 0.1 s per student of 40).

Both run as child processes of this script, with .venv/bin first on PATH. Printed:

* seconds per student of each, and their ratio;
* scores: every student's total autograded score from plain nbgrader's gradebook (nbgrader.api.Gradebook)
  against grades.json of `hw4 grade`; every mismatch is listed with the tests that differ;
* memory, from two sources: (1) os.wait4's ru_maxrss of each command: the peak RSS of the largest single
  process in its tree, as far as it reached the command (Linux folds a child's peak into its parent's when
  the parent reaps it; `hw4 grade`'s sandboxed kernels die with their pid namespace and are reaped outside
  the tree, so there it can miss them); (2) /proc sampled every 0.2 s: the peak RSS of one process of each
  role (the command's main process, `hw4 grade`'s forked workers, the zygote they share, Jupyter kernels,
  the sandbox's helper processes by name), and peak sums of PSS (shared pages split among their sharers, so
  that sums do not count them twice): per grading worker, its process subtree (its sandbox; for plain
  nbgrader, the whole tree) and its share of everything grading holds (the tree but the main process,
  divided by the workers: the zygote and the kernels forked from it are the main process's children), and
  over the whole tree. Sampling can miss peaks shorter than 0.2 s;
* where time goes in `hw4 grade`: each student's worker seconds (results/<id>.json), by kind of student,
  and how busy the workers were.

    .venv/bin/python benchmarks/grade_class.py [--students 40] [--complete] [--workdir DIR]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook

from autograder.course import ASSIGNMENT, NOTEBOOKS, SOURCE, gradebook_url
from autograder.coordinator.grade import default_jobs
from autograder.samples import reference_answers, write_submission

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the catalogs of wrong answers live with the test suite
from catalogs import CATALOGS  # noqa: E402

BIN = Path(sys.executable).parent
SAMPLE_SECONDS = 0.2
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
MiB = 2**20
KINDS = ("correct", "wrong", "blank")


# ---------------------------------------------------------------- the class


def wrong_entries():
    """(notebook, graded name, label, code) of every catalog WRONG entry, the two notebooks alternating."""
    per_notebook = [[(notebook, name, label, code) for name, entries in catalog.WRONG.items()
                     for label, code in entries.items()]
                    for notebook, catalog in CATALOGS.items()]
    longest = max(map(len, per_notebook))
    return [entries[i % len(entries)] for i in range(longest) for entries in per_notebook]


def build_class(dest, n_students, complete=False):
    """Write N student folders under ``dest``; return student id → kind.

    ``complete``: every student answers every function, as graded classes mostly do; the blank third of
    the default class answers everything correctly instead."""
    reference = {name: reference_answers(name) for name in NOTEBOOKS}
    wrong = iter(wrong_entries())
    kinds = {}
    for i in range(n_students):
        kind = KINDS[i % len(KINDS)]
        kind = "correct" if complete and kind == "blank" else kind
        answers = {name: {} for name in NOTEBOOKS} if kind == "blank" else {**reference}
        sid = f"s{i:03d}-{kind}"
        if kind == "wrong":
            notebook, name, _, code = next(wrong)
            answers[notebook] = {**reference[notebook], name: code.strip()}
            sid += f"-{name}"
        write_submission(dest / sid, answers)
        kinds[sid] = kind
    return kinds


# ---------------------------------------------------------------- measuring a command


def process_table():
    """pid → (ppid, RSS bytes) of every process in /proc."""
    table = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # it ended meanwhile
                continue
            table[int(entry.name)] = (int(fields[1]), int(fields[21]) * PAGE_BYTES)
    return table


def cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def pss(pid):
    """Proportional set size in bytes: shared pages split among the processes sharing them, so sums add up."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def subtree(pid, children):
    found, stack = [], [pid]
    while stack:
        found.append(stack.pop())
        stack += children.get(found[-1], [])
    return found


@dataclass
class Peaks:
    """Peaks (bytes) seen by /proc sampling: RSS by role of process; PSS summed per worker and in all."""
    pooled: bool  # whether the command grades in a pool of forked workers (else it is the one worker)
    by_role: dict = field(default_factory=dict)
    per_worker: int = 0
    per_worker_share: int = 0
    total: int = 0

    def sample(self, root):
        table = process_table()
        children = {}
        for pid, (ppid, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        commands = {pid: cmdline(pid) for pid in subtree(root, children) if pid in table}
        tree = [pid for pid, command in commands.items() if command]  # an empty one: a zombie
        roles = {pid: self.role(pid, root, table[pid][0], commands) for pid in tree}
        shares = {pid: pss(pid) for pid in tree}
        for pid in tree:
            self.by_role[roles[pid]] = max(self.by_role.get(roles[pid], 0), table[pid][1])
        workers = [pid for pid in tree if roles[pid] == "worker"] if self.pooled else [root]
        for worker in workers:
            self.per_worker = max(self.per_worker, sum(shares.get(pid, 0) for pid in subtree(worker, children)))
        if workers:  # the zygote and its kernels are the main process's children, shared by the workers
            grading = sum(shares.values()) - (shares.get(root, 0) if self.pooled else 0)
            self.per_worker_share = max(self.per_worker_share, grading // len(workers))
        self.total = max(self.total, sum(shares.values()))

    def role(self, pid, root, ppid, commands):
        if pid == root:
            return "main process"
        if b"ipykernel_launcher" in commands[pid]:
            return "kernel"
        if b"zygote.py" in commands[pid]:  # a warm kernel keeps the command line of the zygote it forked from
            return "kernel" if b"zygote.py" in commands.get(ppid, b"") else "zygote"
        if commands[pid] == commands[root]:  # forked: the parent's command line until it execs
            return "worker" if self.pooled and ppid == root else "forked, before its exec"
        program, *args = commands[pid].decode(errors="replace").rstrip("\0").split("\0")
        words = " ".join([Path(program).name, *args]).split()  # one line, even for `python -c` code
        return f"other: {' '.join(words)[:36]}"

    def merged(self, other):
        """The peaks of two runs of the same command, one after the other."""
        roles = {role: max(self.by_role.get(role, 0), other.by_role.get(role, 0))
                 for role in self.by_role | other.by_role}
        return Peaks(self.pooled, roles, max(self.per_worker, other.per_worker),
                     max(self.per_worker_share, other.per_worker_share), max(self.total, other.total))


@dataclass
class Measured:
    seconds: float
    ru_maxrss: int  # bytes
    peaks: Peaks

    def plus(self, other):
        """Two runs of the same command, one after the other: their seconds add, their peaks do not."""
        return Measured(self.seconds + other.seconds, max(self.ru_maxrss, other.ru_maxrss),
                        self.peaks.merged(other.peaks))


def run_measured(command, cwd, env, log, pooled=False):
    """Run ``command`` to completion, sampling its process tree; raise if it fails."""
    peaks = Peaks(pooled)
    with open(log, "w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen([str(part) for part in command], cwd=cwd, env=env, stdout=out, stderr=out)
        done = threading.Event()
        sampler = threading.Thread(target=_sample_until, args=(peaks, proc.pid, done))
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)  # wait4, unlike Popen.wait, returns the tree's rusage
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} exited {proc.returncode}; see {log}:\n"
                           + Path(log).read_text()[-3000:])
    return Measured(seconds, usage.ru_maxrss * 1024, peaks)


def _sample_until(peaks, pid, done):
    while not done.wait(SAMPLE_SECONDS):
        peaks.sample(pid)


# ---------------------------------------------------------------- (a) plain nbgrader, (b) hw4 grade


def child_env():
    env = {key: value for key, value in os.environ.items() if key not in ("HW4_PROBE_DIR", "HW4_FAST")}
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    return env


def plain_nbgrader(root, submissions, students):
    """Lay out a default nbgrader course, release, then autograde and write feedback: (autograde, feedback)."""
    shutil.copytree(SOURCE, root / "source" / ASSIGNMENT)
    for sid in students:
        shutil.copytree(submissions / sid, root / "submitted" / sid / ASSIGNMENT)
    env = child_env()
    run_measured([BIN / "nbgrader", "generate_assignment", ASSIGNMENT], root, env, root / "generate_assignment.log")
    autograde = run_measured([BIN / "nbgrader", "autograde", ASSIGNMENT], root, env, root / "autograde.log")
    feedback = run_measured([BIN / "nbgrader", "generate_feedback", ASSIGNMENT], root, env,
                            root / "generate_feedback.log")
    print(f"(a) plain nbgrader, {len(students)} students: {autograde.seconds + feedback.seconds:.0f} s", flush=True)
    return autograde, feedback


def plain_scores(root, students):
    """Student id → (total autograded score, test id → score) from the course's gradebook."""
    scores = {}
    with Gradebook(gradebook_url(root)) as gb:
        for sid in students:
            tests = {}
            for notebook in gb.find_submission(ASSIGNMENT, sid).notebooks:
                tests |= {g.name: float(g.score) for g in notebook.grades if g.cell.cell_type == "code"}
            scores[sid] = (sum(tests.values()), tests)
    return scores


def plain_halves(work, submissions, students, between):
    """Plain nbgrader on every other student, then ``between()``, then plain nbgrader on the rest.

    Returns (autograde, feedback), each the two halves together, every student's scores, and what
    ``between`` returned."""
    first, second = students[0::2], students[1::2]
    before = plain_nbgrader(work / "plain-1", submissions, first)
    middle = between()
    after = plain_nbgrader(work / "plain-2", submissions, second)
    scores = plain_scores(work / "plain-1", first) | plain_scores(work / "plain-2", second)
    return [a.plus(b) for a, b in zip(before, after)], scores, middle


def hw4_grade(submissions, out):
    measured = run_measured([BIN / "hw4", "grade", submissions, "--out", out], out.parent, child_env(),
                            out.parent / "hw4_grade.log", pooled=True)
    print(f"(b) hw4 grade: {measured.seconds:.0f} s", flush=True)
    return measured


def hw4_scores(out):
    students = json.loads((out / "grades.json").read_text())["students"]
    return {sid: (r["score"], {t: v["score"] for t, v in r["tests"].items()}) for sid, r in students.items()}


# ---------------------------------------------------------------- report


def report_time(n, autograde, feedback, hw4):
    plain_total = autograde.seconds + feedback.seconds
    print(f"\n{'':<44} {'seconds':>8} {'s/student':>10}")
    for label, seconds in (("(a) nbgrader autograde (sequential, two halves)", autograde.seconds),
                           ("(a) nbgrader generate_feedback", feedback.seconds),
                           ("(a) autograde + generate_feedback", plain_total),
                           (f"(b) hw4 grade (sandbox, --jobs {min(default_jobs(), n)})", hw4.seconds)):
        print(f"{label:<44} {seconds:>8.1f} {seconds / n:>10.2f}")
    print(f"ratio nbgrader autograde / hw4 grade: {autograde.seconds / hw4.seconds:.2f}x; "
          f"(autograde + feedback) / hw4 grade: {plain_total / hw4.seconds:.2f}x")


def report_scores(plain, hw4, kinds):
    mismatches = [sid for sid in kinds if sid not in plain or abs(plain[sid][0] - hw4[sid][0]) > 1e-9]
    print(f"\nscores: {len(kinds) - len(mismatches)} of {len(kinds)} students get the same autograded total")
    for kind in KINDS:
        totals = [hw4[sid][0] for sid in kinds if kinds[sid] == kind]
        if totals:
            print(f"  {kind:<8} {len(totals):>3} students, hw4 grade total {min(totals):g}..{max(totals):g}")
    for sid in mismatches:
        plain_tests = plain.get(sid, (None, {}))[1]
        differ = {t: (plain_tests.get(t), s) for t, s in hw4[sid][1].items() if plain_tests.get(t) != s}
        print(f"  MISMATCH {sid}: nbgrader {plain.get(sid, ('not graded',))[0]}, hw4 grade {hw4[sid][0]:g}; "
              + ", ".join(f"{t}: {a} vs {b:g}" for t, (a, b) in differ.items()))


def report_memory(autograde, hw4):
    print(f"\n{'peak memory, MiB':<50} {'(a) autograde':>14} {'(b) hw4 grade':>14}")
    rows = [("largest process (wait4 ru_maxrss)", autograde.ru_maxrss, hw4.ru_maxrss),
            ("PSS per grading worker's subtree", autograde.peaks.per_worker, hw4.peaks.per_worker),
            ("PSS per grading worker, zygote and kernels shared", autograde.peaks.per_worker_share,
             hw4.peaks.per_worker_share),
            ("PSS of the whole tree", autograde.peaks.total, hw4.peaks.total)]
    for name in sorted(set(autograde.peaks.by_role) | set(hw4.peaks.by_role)):
        rows.append((f"RSS of one {name}", autograde.peaks.by_role.get(name), hw4.peaks.by_role.get(name)))
    for label, a, b in rows:
        print(f"{label:<50} {_mib(a):>14} {_mib(b):>14}")


def _mib(value):
    return "-" if value is None else f"{value / MiB:.0f}"


def worker_seconds(out, kinds):
    return {sid: json.loads((out / "results" / f"{sid}.json").read_text())["seconds"] for sid in kinds}


def report_breakdown(out, kinds, hw4):
    seconds = worker_seconds(out, kinds)
    print("\nhw4 grade, worker seconds per student (grade_student: course copy, autograde, feedback):")
    for kind in KINDS:
        values = [seconds[sid] for sid in kinds if kinds[sid] == kind]
        if values:
            print(f"  {kind:<8} mean {statistics.mean(values):6.2f}  min {min(values):6.2f}  max {max(values):6.2f}")
    workers = min(default_jobs(), len(kinds))
    busy = sum(seconds.values()) / (hw4.seconds * workers)
    print(f"  sum {sum(seconds.values()):.1f} s over {workers} workers in {hw4.seconds:.1f} s of wall time: "
          f"workers busy {busy:.0%}; the rest is start-up, course set-up and recording in the main process")


def grade_both(work, n_students, complete):
    """Build one class, grade it both ways, print the full report; return its summary row."""
    kinds = build_class(work / "submissions", n_students, complete)
    counts = ", ".join(f"{sum(k == kind for k in kinds.values())} {kind}" for kind in KINDS)
    print(f"\n=== {'complete' if complete else 'default'} class: {n_students} students ({counts}), "
          f"{os.cpu_count()} CPU cores, work in {work}", flush=True)
    (autograde, feedback), plain, hw4 = plain_halves(work, work / "submissions", list(kinds),
                                                     lambda: hw4_grade(work / "submissions", work / "hw4"))
    ours = hw4_scores(work / "hw4")
    report_time(n_students, autograde, feedback, hw4)
    report_scores(plain, ours, kinds)
    report_memory(autograde, hw4)
    report_breakdown(work / "hw4", kinds, hw4)
    seconds = list(worker_seconds(work / "hw4", kinds).values())
    return dict(plain=autograde.seconds / n_students, feedback=feedback.seconds / n_students,
                hw4=hw4.seconds / n_students, equal=sum(abs(plain[sid][0] - ours[sid][0]) <= 1e-9 for sid in kinds),
                n=n_students, worker_mean=statistics.mean(seconds), worker_max=max(seconds),
                pss=hw4.peaks.per_worker_share)


def report_side_by_side(rows):
    print(f"\n{'class':<10} {'nbgrader s/st':>13} {'hw4 s/st':>9} {'ratio':>6} {'with feedback':>13} "
          f"{'scores equal':>12} {'worker s/st mean':>16} {'max':>6} {'PSS/worker MiB':>14}")
    for name, r in rows.items():
        print(f"{name:<10} {r['plain']:>13.2f} {r['hw4']:>9.2f} {r['plain'] / r['hw4']:>5.2f}x "
              f"{(r['plain'] + r['feedback']) / r['hw4']:>12.2f}x {r['equal']:>5} of {r['n']:<4} "
              f"{r['worker_mean']:>16.2f} {r['worker_max']:>6.2f} {r['pss'] / MiB:>14.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--complete", action="store_true",
                        help="also grade a class of complete submissions (a third with one wrong function), "
                             "and print both classes side by side")
    parser.add_argument("--workdir", type=Path, help="keep the class, course and results here (default: a temp dir)")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="hw4-bench-"))
    try:
        rows = {"default": grade_both(work / "default", args.students, complete=False)}
        if args.complete:
            rows["complete"] = grade_both(work / "complete", args.students, complete=True)
        report_side_by_side(rows)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
