"""The `hw4` command. Students have `hw4 check`; the course bundle adds the instructor and TA commands.

The instructor package registers its commands through the ``hw4.commands`` entry point, so this package
never imports it. In a student install those names still parse, and say in one line where they live.
"""
import argparse
import sys
from importlib.metadata import entry_points

# jsonschema, which nbformat validates with, imports rfc3987_syntax where it is installed (jupyter_events asks
# for it) to check the `iri` formats, and that import compiles some 35 parsers: about 2 s of every command's
# start. No notebook or nbgrader schema uses those formats, so this process marks the module as absent,
# which jsonschema already handles.
sys.modules.setdefault("rfc3987_syntax", None)

# Commands of the course bundle (see SPEC.md §3), named here only to answer students who try them.
INSTRUCTOR_COMMANDS = ("release", "grade", "demo", "results", "similarity")


def check(args):
    from hw4.check import check_notebook

    sys.exit(0 if check_notebook(args.notebook) else 1)


def _instructor_only(args):
    sys.exit(f"hw4 {args.command}: an instructor command; it comes with the course bundle, "
             "not with the student package.")


def build_parser():
    parser = argparse.ArgumentParser(prog="hw4", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("check", help="run your notebook's visible tests and say what passes")
    sub.add_argument("notebook", metavar="NOTEBOOK")
    sub.set_defaults(run=check)
    for plugin in entry_points(group="hw4.commands"):
        plugin.load()(commands)
    for name in INSTRUCTOR_COMMANDS:
        if name not in commands.choices:
            sub = commands.add_parser(name, help="instructor command (not in the student package)", add_help=False)
            sub.add_argument("rest", nargs=argparse.REMAINDER)
            sub.set_defaults(run=_instructor_only)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    args.run(args)
