"""The instructor's and TA's `hw4` commands: release, grade, similarity, demo, results.

``register`` is the ``hw4.commands`` entry point: the student package's `hw4` command calls it to add
these subcommands. release, results and demo act on the course folder (see ``course.find_root``).
"""
import argparse
import os
import sys

# Every `hw4` command, `hw4 check` included, imports this module to list its subcommands: what a subcommand
# needs (nbgrader, torch) is imported when it runs.


def release(args):
    from .course import find_root
    from .release import release as run

    root = find_root(args.root)
    changed = run(root)
    rewritten = ", ".join(str(p.relative_to(root)) for p in changed)
    print(f"released from {root}: " + (f"rewrote {rewritten}" if changed else "everything already up to date"))


def grade(args):
    from .coordinator.runs import Interrupted, interruptible

    try:
        with interruptible():  # already during the imports, which take seconds
            _grade(args)
    except Interrupted as stop:
        print(stop, file=sys.stderr)
        sys.exit(128 + stop.signum)  # as the shell reports a process killed by that signal


def _grade(args):
    from .coordinator.grade import format_table, grade_class
    from .coordinator.runs import GradeError
    from .deadlines import PolicyError
    from .sandbox import SandboxError
    from .submissions import SubmissionsError

    try:
        policy = _policy(args)
    except PolicyError as err:
        sys.exit(f"hw4 grade: {err}")
    if args.no_sandbox:
        print("WARNING: --no-sandbox: student code runs with YOUR rights, unconfined. Only for trusted "
              "notebooks.", file=sys.stderr)
    try:
        results = grade_class(args.submissions, args.out, jobs=args.jobs, sandboxed=not args.no_sandbox, fmt=args.fmt,
                              regrade=_regrade(args.regrade), scheduler=args.scheduler, bar=sys.stderr.isatty(),
                              policy=policy)
    except (SandboxError, SubmissionsError, GradeError) as err:
        sys.exit(f"hw4 grade: {err}")
    print(format_table(results))
    print(f"\nwrote {os.path.join(args.out, 'grades.csv')}, grades.json, feedback/ and the class report "
          f"{os.path.join(args.out, 'report.html')}")
    if args.similarity:
        similarity(args)


def _policy(args):
    """The deadline options' policy; None when none is given, so that DIR keeps the one it has."""
    from .deadlines import policy_from_options

    options = dict(due=args.due, late_policy=args.late_policy, flagged_penalty=args.flagged_penalty,
                   extensions=args.extensions)
    return policy_from_options(**options) if any(value is not None for value in options.values()) else None


def _regrade(ids):
    """--regrade alone: everyone; --regrade ID...: those students; absent: nobody graded already."""
    if ids is None:
        return False
    return set(ids) if ids else True


def similarity(args):
    from .similarity import similarity_report

    report = similarity_report(args.submissions, args.out, fmt=args.fmt)
    for pair in report["pairs"][:5]:
        print(f"{pair['score']:.2f}  {pair['student_a']}  {pair['student_b']}")
    for sid, reasons in report["skipped"].items():
        print(f"not compared: {sid}: " + "; ".join(f"{name}: {why}" for name, why in reasons.items()))
    print(f"wrote {os.path.join(args.out, 'similarity.csv')} and similarity.html")


def demo(args):
    """The round trip on a sample class: a Canvas download in, graded, the CSV Canvas imports out."""
    from .course import find_root
    from .samples import DEMO_ASSIGNMENT, DEMO_FLAGGED_PENALTY, write_demo

    out = args.out if args.out else find_root(args.root) / "demo"
    download, roster = write_demo(out)
    print(f"sample class: {download} (as Canvas's \"Download Submissions\" names it) and {roster} (its gradebook)")
    args.submissions, args.out, args.fmt = str(download), os.path.join(out, "graded"), None
    args.jobs, args.regrade, args.scheduler, args.similarity = None, [], None, False
    args.due = args.late_policy = args.extensions = None
    args.flagged_penalty = DEMO_FLAGGED_PENALTY
    grade(args)
    print()
    export(argparse.Namespace(dir=args.out, to="canvas", roster=str(roster), assignment=DEMO_ASSIGNMENT,
                              out=None, ungraded="zero"))


def export(args):
    from .export import ExportError
    from .export import export as run

    try:
        paths, notes = run(args.dir, args.to, roster=args.roster, assignment=args.assignment, dest=args.out,
                           ungraded=args.ungraded)
    except ExportError as err:
        sys.exit(f"hw4 export: {err}")
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {', '.join(map(str, paths))}; rewrote {os.path.join(args.dir, 'grades.csv')}, grades.json and "
          f"report.html")


def results(args):
    from .course import find_root
    from .results import make_results

    make_results(find_root(args.root), fast=args.fast)


def _guarded(command):
    """Run ``command``; a course folder that cannot be found is one line, not a traceback."""
    def run(args):
        from .course import CourseError

        try:
            command(args)
        except CourseError as err:
            sys.exit(f"hw4 {args.command}: {err}")
    return run


def _root_option(parser):
    parser.add_argument("--root", metavar="DIR", help="the course folder (default: found from the current folder "
                                                      "upwards, as the one holding autograder/source/hw4/)")


def _source_arguments(parser):
    parser.add_argument("submissions", metavar="SOURCE", help="a folder or .zip: one folder per student id, or an "
                        "LMS's download (Canvas, Moodle, Gradescope, nbgrader), see docs/lms.md")
    # not `choices`: the layouts' names live in their readers, which this command's start does not import
    parser.add_argument("--from", dest="fmt", metavar="FORMAT", help="read SOURCE in this layout (one of those "
                        "docs/lms.md lists) instead of recognising it")


def register(commands):
    from .deadlines import add_options as deadlines_options  # light: the standard library only
    from .export import UNGRADED  # light too: the writers themselves are imported when one runs

    sub = commands.add_parser("release", help="regenerate the student notebooks and dist/hw4-handout.zip")
    _root_option(sub)
    sub.set_defaults(run=_guarded(release))

    sub = commands.add_parser("grade", help="autograde every student in SOURCE: a folder or zip, as an LMS hands it out")
    _source_arguments(sub)
    sub.add_argument("--out", default="graded", metavar="DIR", help="where results go (default: graded)")
    sub.add_argument("--jobs", type=int, default=None, metavar="N", help="students at once (default: CPU cores + 1)")
    sub.add_argument("--regrade", nargs="*", metavar="ID", help="grade again students graded by an earlier run: "
                                                                 "those named, or everyone when none is named")
    sub.add_argument("--scheduler", metavar="ADDRESS", help="grade on this Dask cluster instead of locally")
    sub.add_argument("--no-sandbox", action="store_true", help="run student code unconfined (unsafe)")
    sub.add_argument("--similarity", action="store_true", help="also write the similarity report to DIR")
    deadlines_options(sub)
    sub.set_defaults(run=grade)

    sub = commands.add_parser("similarity", help="compare what students wrote, pair by pair")
    _source_arguments(sub)
    sub.add_argument("--out", default="similarity", metavar="DIR", help="where the report goes (default: similarity)")
    sub.set_defaults(run=similarity)

    sub = commands.add_parser("export", help="write the final grades (autograded + hand-graded - late penalty) "
                                             "for an LMS, without grading again")
    sub.add_argument("dir", metavar="DIR", help="the graded class: hw4 grade's --out")
    # the formats' names live in their writers (autograder/export/), which this command's start does not import
    sub.add_argument("--to", required=True, metavar="FORMAT", help="the export format, e.g. canvas: one of those "
                                                                  "docs/grades.md lists")
    sub.add_argument("--roster", metavar="FILE", help="the LMS's class list to fill in: Canvas's gradebook "
                                                     "export, or Moodle's grading worksheet")
    sub.add_argument("--assignment", default="", metavar="NAME", help='Canvas\'s column for this homework, as '
                     'its gradebook export titles it, e.g. "HW4 (12345)" (default: found in the roster, else hw4)')
    sub.add_argument("--out", metavar="FILE", help="where the export goes (default: DIR/export/)")
    sub.add_argument("--ungraded", choices=UNGRADED, default="blank",
                     help="the LMS grade of a student not yet graded by hand: left blank (default), or "
                          "the total without the hand-graded part")
    sub.set_defaults(run=export)

    sub = commands.add_parser("demo", help="the round trip on a sample class: a Canvas download graded, its "
                                                  "grades exported for Canvas")
    sub.add_argument("--out", metavar="DIR", help="where the class and its grades go (default: demo/ in the "
                                                  "course folder)")
    _root_option(sub)
    sub.add_argument("--no-sandbox", action="store_true", help="run student code unconfined (unsafe)")
    sub.set_defaults(run=_guarded(demo))

    sub = commands.add_parser("results", help="rerun the reference solution; rewrite hw4_results/ and the zip")
    sub.add_argument("--fast", action="store_true", help="a few batches only: a quick end-to-end check")
    _root_option(sub)
    sub.set_defaults(run=_guarded(results))
