"""`hw4 grade`: grade a whole class and write grades.csv, grades.json and feedback.

Students are graded independently (in a local process pool, or on a Dask cluster); this process alone
writes results. Each student's result is saved, then recorded in the class gradebook, as soon as it arrives,
while the workers grade the next students; every file is written aside and renamed into place, so a run
stopped at any point (Ctrl-C, SIGTERM, SIGKILL, a full disk) leaves no half file and the next run resumes
with only the students still missing (``regrade`` redoes everyone), recording first any saved result that
the gradebook lacks.
"""
import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import closing, contextmanager
from multiprocessing import get_context
from pathlib import Path

from .. import sandbox
from ..course import autograded_tests
from ..export import refresh
from ..final import load_class, save_source
from ..files import write_atomic
from ..intake import folders, read_class
from ..records import NotebookResult, StudentResult, TestResult
from ..submissions import gradable, read_upload
from ..workarounds import kill_pool_workers
from ..worker.student import grade_student
from .gradebook import prepare_course, record, unrecorded
from .runs import GradeError, Progress, die_with_parent, hold_lock, interruptible, interruption


def default_jobs():
    """Students graded at once: one per core, and one more, for each worker spends part of its time waiting
    (on its kernel's start, on messages), which the extra worker fills."""
    return os.cpu_count() + 1


def grade_class(submissions, out, jobs=None, sandboxed=True, regrade=False, scheduler=None, log=print,
                bar=False, fmt=None, policy=None, **execute):
    """Grade every student in ``submissions`` (a folder or zip, in any layout :mod:`intake` reads; ``fmt``
    names the layout instead of recognising it); return student id → :class:`records.StudentResult`.

    ``regrade``: True to grade everyone again, or the ids of the students to grade again (the others keep
    the results of an earlier run). ``policy``: the deadline and late policy (:class:`deadlines.Policy`), saved
    in DIR for `hw4 export`; None keeps the one an earlier run saved. ``bar``: show a progress bar (on a
    terminal). SIGINT and SIGTERM raise :class:`Interrupted`, after the workers are stopped. ``execute``:
    settings of SandboxedExecute (wall_seconds, memory_bytes, timeout, warm_kernels)."""
    out = Path(out).resolve()  # the kernels run elsewhere: relative paths would point nowhere there
    with interruptible():
        intake = read_class(submissions, fmt)  # before DIR is made: a SOURCE that cannot be read leaves nothing
        log(intake.summary(submissions))
        for note in intake.notes:
            log(f"  note: {note}")
        with _writing_to(out):
            out.mkdir(parents=True, exist_ok=True)
            with hold_lock(out):
                if policy is not None:
                    policy.save(out)
                save_source(out, submissions, None if intake.format == folders.NAME else intake.title)
                return _grade_class(intake, submissions, out, jobs, sandboxed, regrade, scheduler, log, bar, execute)


def _grade_class(intake, submissions, out, jobs, sandboxed, regrade, scheduler, log, bar, execute):
    # read here, in the coordinator: an upload from a zip holds the open zip, which no worker could be sent
    students = {sid: read_upload(upload) for sid, upload in intake.uploads.items()}
    people = {sid: upload.student for sid, upload in intake.uploads.items()}
    unknown = sorted(set(regrade) - set(students)) if isinstance(regrade, (set, list, tuple)) else []
    if unknown:
        raise GradeError(f"--regrade names students who are not in {submissions}: {', '.join(unknown)}")
    results_dir = out / "results"
    results = _earlier_results(results_dir, students, regrade)
    for sid, result in results.items():  # the same notebooks, but the LMS may say more now (a time, a flag)
        if result.student != people[sid]:
            result.student = people[sid]
            write_atomic(results_dir / f"{sid}.json", json.dumps(result.to_json()))
    todo = [sid for sid in students if sid not in results]
    tests = autograded_tests()
    kernels = sum(gradable(students[sid]) for sid in todo)  # the others need no kernel, hardly any time
    warm = sandboxed and execute.get("warm_kernels", True) and kernels > 0
    try:
        if sandboxed:
            sandbox.check_available()
        if warm and not scheduler:  # the local workers share this process's zygote; Dask workers start their own
            sandbox.zygote().start()  # it preloads torch while this process does and sets up the course
        if kernels and not scheduler:
            _preload_for_workers()
        with _workers(scheduler, min(jobs or default_jobs(), kernels)) as pool:
            root = prepare_course(out)
            results_dir.mkdir(exist_ok=True)
            for result in unrecorded(root, results):  # a run stopped while saving, or a new course folder
                record(root, result)
            settings = dict(gradebook=(root / "gradebook.db").read_bytes(), sandbox=sandboxed, **execute)
            if not scheduler:  # local workers keep their scratch inside DIR; Dask workers use their own temp
                settings["work_root"] = str(_fresh(out / "work"))
            log(f"grading {len(todo)} of {len(students)} students ({len(students) - len(todo)} already graded)")

            def save(sid, result):
                result.student = people[sid]
                write_atomic(results_dir / f"{sid}.json", json.dumps(result.to_json()))
                results[sid] = result
                _write_feedback(out, result)
                record(root, result)

            if todo:
                _run(pool, todo, students, tests, settings, save, Progress(len(todo), log, bar))
        results = {sid: results[sid] for sid in students}  # this class, in folder order
        _write_outputs(out, list(results))
    except BaseException as err:
        stop = interruption(err)
        if stop is None:
            raise
        stop.graded, stop.total = len(results), len(students)
        raise stop from None
    finally:
        shutil.rmtree(out / "work", ignore_errors=True)
    return results


def _preload_for_workers():
    """Import, before the workers are forked, what each would otherwise import for its first student to run:
    torch and the checks, sympy (torch.distributions' shape checks), IPython (jupyter_client's kernel specs).
    A run with no notebook to execute needs none of them, and starts in a third of the time."""
    import IPython.paths  # noqa: F401
    import torch.fx.experimental.symbolic_shapes  # noqa: F401

    from ..worker import execute, verify  # noqa: F401


def _fresh(folder):
    """``folder``, emptied of what a killed run left there."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


@contextmanager
def _writing_to(out):
    """A file of ``out`` that cannot be written (read-only, full disk...) is one clear error."""
    try:
        yield
    except OSError as err:
        if err.filename is not None and not str(err.filename).startswith(str(out)):
            raise
        where = f" ({err.filename})" if err.filename else ""  # a failed write names no file
        raise GradeError(f"cannot write to {out}: {err.strerror}{where}; "
                         "the results already saved there are kept") from None


def _earlier_results(results_dir, students, regrade):
    """Results of an earlier run whose submissions have not changed since, but for those to grade again."""
    kept = {}
    for sid, notebooks in students.items():
        path = results_dir / f"{sid}.json"
        if path.exists() and not (regrade is True or sid in (regrade or ())):
            result = StudentResult.from_json(json.loads(path.read_text()))
            if result.submitted == {name: nb.sha256 for name, nb in notebooks.items()}:
                kept[sid] = result
    return kept


def _run(pool, todo, students, tests, settings, save, progress):
    """Grade ``todo`` in ``pool``, calling ``save(student id, result)`` as each student finishes."""
    with closing(progress):
        futures = {pool.submit(grade_student, sid, students[sid], tests, settings): sid for sid in todo}
        for future in as_completed(futures):
            sid = futures[future]
            try:
                result = future.result()
            except Exception as err:  # a worker that died takes no other student with it
                result = _crashed(sid, students[sid], tests, f"the grading worker failed: {err!r}")
            save(sid, result)
            progress.done(f"  {sid}: {result.status} {result.score:g}/{result.max_score:g}")


def _workers(scheduler, jobs):
    return _cluster(scheduler) if scheduler else _local_pool(max(jobs, 1))


@contextmanager
def _local_pool(jobs):
    """Forked workers that die with this process, and are killed at once when grading stops early: their
    sandboxes die with them (parent-death signals), and nothing they hold is a result."""
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("fork"),
                               initializer=die_with_parent, initargs=(os.getpid(),))
    try:
        yield pool
    except BaseException:
        kill_pool_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()


@contextmanager
def _cluster(scheduler):
    """The Dask cluster's executor; when grading stops early, the tasks not yet finished are cancelled."""
    from .cluster import executor
    with executor(scheduler) as pool:
        try:
            yield pool
        except BaseException:
            pool.shutdown(wait=False)
            raise


def _crashed(sid, notebooks, tests, reason):
    return StudentResult(sid, "crashed", score=0.0, max_score=sum(points for _, _, points in tests), errors=[reason],
                         notebooks={name: NotebookResult("crashed", reason) for name in notebooks},
                         submitted={name: nb.sha256 for name, nb in notebooks.items()},
                         tests={test_id: TestResult(0.0, points, reason) for _, test_id, points in tests})


def _write_feedback(out, result):
    """The student's feedback pages, in DIR/feedback/<id>/, replacing an earlier run's."""
    folder = out / "feedback" / result.student_id
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for filename, html in result.feedback.items():
        write_atomic(folder / filename, html)


def _write_outputs(out, students):
    """DIR's tables, late notes and report, from the class's saved results, the hand-graded points in its
    gradebook and its late policy: as `hw4 export` writes them again."""
    refresh(out, load_class(out, students))


def format_table(results):
    """A plain-text grade table for the terminal; with the names, where the LMS's download gave them."""
    named = any(r.student and r.student.name for r in results.values())  # an LMS's ids say little to a person
    lines = [f"{'student':<20} " + f"{'name':<20} " * named + f"{'status':<8} {'score':>11}  reason"]
    for sid, r in results.items():
        name = f"{(r.student.name if r.student else '')[:20]:<20} " * named
        reason = r.errors[0] if r.errors and r.status != "ok" else ""
        lines.append(f"{sid:<20} {name}{r.status:<8} {r.score:>5g}/{r.max_score:<5g}  {reason[:90]}")
    return "\n".join(lines)

