"""The `hw4` command: release, grade, similarity, demo (instructor), results (TA), check (student)."""
import argparse
import os
import sys


def release(args):
    from autograder.release import release as run

    changed = run()
    rewritten = ", ".join(str(p) for p in changed) + " rewritten"
    print("student notebooks: " + (rewritten if changed else "already up to date"))


def grade(args):
    from autograder.grade import format_table, grade_class
    from autograder.sandbox import SandboxError

    if args.no_sandbox:
        print("WARNING: --no-sandbox: student code runs with YOUR rights, unconfined. Only for trusted "
              "notebooks.", file=sys.stderr)
    try:
        results = grade_class(args.submissions, args.out, jobs=args.jobs, sandboxed=not args.no_sandbox,
                              regrade=args.regrade, scheduler=args.scheduler)
    except SandboxError as err:
        sys.exit(f"hw4 grade: {err}")
    print(format_table(results))
    print(f"\nwrote {os.path.join(args.out, 'grades.csv')}, grades.json and feedback/")
    if args.similarity:
        similarity(args)


def similarity(args):
    from autograder.similarity import similarity_report

    report = similarity_report(args.submissions, args.out)
    for pair in report["pairs"][:5]:
        print(f"{pair['score']:.2f}  {pair['student_a']}  {pair['student_b']}")
    for sid, reasons in report["skipped"].items():
        print(f"not compared: {sid}: " + "; ".join(f"{name}: {why}" for name, why in reasons.items()))
    print(f"wrote {os.path.join(args.out, 'similarity.csv')} and similarity.html")


def demo(args):
    from autograder.samples import demo_class

    submissions = demo_class(os.path.join(args.out, "submissions"))
    print(f"sample class written to {submissions}")
    args.submissions, args.out = submissions, os.path.join(args.out, "graded")
    args.jobs, args.regrade, args.scheduler, args.similarity = None, True, None, False
    grade(args)


def results(args):
    from autograder.results import make_results

    make_results(fast=args.fast)


def check(args):
    from hw4.check import check_notebook

    sys.exit(0 if check_notebook(args.notebook) else 1)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="hw4", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    sub = commands.add_parser("release", help="regenerate the student notebooks from the source notebooks")
    sub.set_defaults(run=release)

    sub = commands.add_parser("grade", help="autograde every student folder in SUBMISSIONS")
    sub.add_argument("submissions", metavar="SUBMISSIONS")
    sub.add_argument("--out", default="graded", metavar="DIR", help="where results go (default: graded)")
    sub.add_argument("--jobs", type=int, default=None, metavar="N", help="students at once (default: cores)")
    sub.add_argument("--regrade", action="store_true", help="regrade students graded by an earlier run")
    sub.add_argument("--scheduler", metavar="ADDRESS", help="grade on this Dask cluster instead of locally")
    sub.add_argument("--no-sandbox", action="store_true", help="run student code unconfined (unsafe)")
    sub.add_argument("--similarity", action="store_true", help="also write the similarity report to DIR")
    sub.set_defaults(run=grade)

    sub = commands.add_parser("similarity", help="compare what students wrote, pair by pair")
    sub.add_argument("submissions", metavar="SUBMISSIONS")
    sub.add_argument("--out", default="similarity", metavar="DIR", help="where the report goes (default: similarity)")
    sub.set_defaults(run=similarity)

    sub = commands.add_parser("demo", help="grade the bundled sample class and print the grade table")
    sub.add_argument("--out", default="demo", metavar="DIR", help="where the class and its grades go")
    sub.add_argument("--no-sandbox", action="store_true", help="run student code unconfined (unsafe)")
    sub.set_defaults(run=demo)

    sub = commands.add_parser("results", help="rerun the reference solution; rewrite hw4_results/ and the zip")
    sub.add_argument("--fast", action="store_true", help="a few batches only: a quick end-to-end check")
    sub.set_defaults(run=results)

    sub = commands.add_parser("check", help="run your notebook's visible tests and say what passes")
    sub.add_argument("notebook", metavar="NOTEBOOK")
    sub.set_defaults(run=check)

    args = parser.parse_args(argv)
    args.run(args)
