"""Command line of the instructor's tasks: ``python -m diffrn_grading.cli <command>``.

    release [ps ...]        student notebooks into <course>/release/<ps>/<ps>.ipynb
    validate [ps ...]       sources pass every test, releases fail every test
    collect ps ZIP|DIR      place LMS downloads into <course>/submitted/<student>/<ps>/
    grade ps [--jobs n]     autograde every submission, write feedback and grades.csv
             [--cluster tcp://host:8786]   ... on the workers of a Dask cluster instead
    feedback ps             render every feedback page again (after grading written answers by hand)
    export [ps ...] [--format canvas] [--to FILE]   grades for the LMS (default: nbgrader's CSV)
    roster CSV [--id-column COLUMN]                 names and ids from a Canvas gradebook export

The Makefile's targets of the same names (``assignments`` for release) call these.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diffrn_grading.course import Course, GradingError, assignments, release, validate


def _names(requested: list[str]) -> list[str]:
    names = requested or assignments()
    if not names:
        raise GradingError("no problem sets found in solutions/ (expected solutions/ps*.md)")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m diffrn_grading.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=None, help="nbgrader course directory (default: autograder/)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("release").add_argument("assignments", nargs="*")
    commands.add_parser("validate").add_argument("assignments", nargs="*")
    collect_parser = commands.add_parser("collect", help="place LMS downloads into nbgrader's layout")
    collect_parser.add_argument("assignment")
    collect_parser.add_argument("source", type=Path, help="zip file or folder of downloaded notebooks")
    collect_parser.add_argument("--canvas", action="store_true", help="Canvas bulk-download file names")
    grade_parser = commands.add_parser("grade")
    grade_parser.add_argument("assignment")
    grade_parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: two per core)")
    grade_parser.add_argument("--cluster", default=None, metavar="ADDRESS",
                              help="grade on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786) "
                                   "instead of local worker processes")
    grade_parser.add_argument("--budget", type=int, default=60,
                              help="seconds one submission may take, its notebook run and re-check together (default 60)")
    grade_parser.add_argument("--cell-timeout", type=int, default=None,
                              help="seconds one cell may run (default 30, and never more than the budget)")
    grade_parser.add_argument("--memory-gb", type=float, default=4.0, help="memory one submission may use (default 4)")
    commands.add_parser("feedback").add_argument("assignment")
    export_parser = commands.add_parser("export", help="grades for the LMS")
    export_parser.add_argument("assignments", nargs="*", help="problem sets (default: every one in the gradebook)")
    export_parser.add_argument("--format", choices=("nbgrader", "canvas"), default="nbgrader")
    export_parser.add_argument("--to", type=Path, default=None, help="CSV file to write")
    roster_parser = commands.add_parser("roster", help="students' names and ids from a Canvas gradebook export")
    roster_parser.add_argument("source", type=Path)
    roster_parser.add_argument("--id-column", default="ID", help='roster column that is the student id (default "ID")')
    args = parser.parse_args(argv)

    try:
        course = Course(args.course) if args.course else Course()
        if args.command == "release":
            for name in _names(args.assignments):
                print(f"released {release(course, name).relative_to(course.root.parent)}")
            return 0
        if args.command == "validate":
            problems = []
            for name in _names(args.assignments):
                found = validate(course, name)
                problems += found
                print(f"{name}: {'OK (source passes, release fails every test)' if not found else 'PROBLEMS'}")
            for problem in problems:
                print("  " + problem, file=sys.stderr)
            return 1 if problems else 0
        if args.command == "collect":
            from diffrn_grading.collect import collect

            release(course, args.assignment)
            result = collect(course, args.assignment, args.source, canvas=args.canvas)
            for student, name in result.placed.items():
                print(f"{student}: {name}")
            for name, reason in result.skipped:
                print(f"skipped {name}: {reason}", file=sys.stderr)
            print(f"collected {len(result.placed)} submissions of {args.assignment} into {course.submitted_root}")
            return 0
        if args.command == "grade":
            from diffrn_grading.batch import grade_assignment
            from diffrn_grading.worker import Limits

            try:
                cell_seconds = args.cell_timeout or min(Limits.cell_seconds, args.budget)
                limits = Limits(cell_seconds=cell_seconds, budget_seconds=args.budget,
                                memory_bytes=int(args.memory_gb * 2**30))
            except ValueError as error:
                raise GradingError(f"{error} (options --budget and --cell-timeout)") from None
            summary = grade_assignment(course, args.assignment, jobs=args.jobs, limits=limits, cluster=args.cluster)
            return 0 if summary.ok else 1
        if args.command in ("feedback", "export", "roster"):
            from diffrn_grading.lms import run

            return run(course, args)
    except GradingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
