"""The end of a term's cycle: feedback after manual grading, grades out to the LMS, roster in.

``python -m diffrn_grading.cli feedback|export|roster`` (``make feedback``, ``make export``,
``make roster``) run :func:`run`; the work is in :mod:`diffrn_grading.manual`,
:mod:`diffrn_grading.canvas` and :mod:`diffrn_grading.roster`.
"""
from __future__ import annotations

import sys
from pathlib import Path

from diffrn_grading.course import Course, GradingError, export_grades


def export(course: Course, assignments: list[str], format: str = "nbgrader", to: Path | None = None):
    """Write the grades of ``assignments`` (all if empty); returns (path, pending manual grades)."""
    from nbgrader.api import Gradebook

    from diffrn_grading.canvas import CanvasExportPlugin
    from diffrn_grading.manual import pending_manual_grades

    if not course.gradebook_path.exists():
        raise GradingError(f"no gradebook in {course.root}: release and grade a problem set first")
    if format == "nbgrader":
        if assignments:
            raise GradingError("nbgrader's CSV holds every problem set; name problem sets only with --format canvas")
        path = export_grades(course, to)
        waiting = {}
        with Gradebook(course.gradebook_url) as gradebook:
            names = [a.name for a in gradebook.assignments]
        for name in names:
            for student, grades in pending_manual_grades(course, name).items():
                waiting.setdefault(student, []).extend(f"{name}/{g}" for g in grades)
        return path, waiting
    suffix = "-".join(assignments) if assignments else "all"
    path = Path(to or course.export_csv(f"canvas-{suffix}.csv"))
    plugin = CanvasExportPlugin(to=str(path), roster=str(course.roster_file), assignment=list(assignments))
    with Gradebook(course.gradebook_url) as gradebook:
        try:
            plugin.export(gradebook)
        except ValueError as error:
            raise GradingError(str(error)) from None
    return path, plugin.pending


def run(course: Course, args) -> int:
    """Dispatch one of the commands ``feedback``, ``export``, ``roster``."""
    from diffrn_grading.manual import pending_manual_grades, regenerate_feedback, waiting_text

    if args.command == "feedback":
        pages = regenerate_feedback(course, args.assignment)
        print(f"rendered {len(pages)} feedback pages of {args.assignment} in {course.feedback_root}")
        print(waiting_text(pending_manual_grades(course, args.assignment)))
        return 0
    if args.command == "export":
        path, waiting = export(course, args.assignments, args.format, args.to)
        print(f"wrote {path}")
        if waiting:
            count = sum(len(grades) for grades in waiting.values())
            print(f"warning: {count} written answers of {len(waiting)} students still wait for manual grading; "
                  "their points are not in these scores yet (grade them in formgrader, then export again)",
                  file=sys.stderr)
        return 0
    if args.command == "roster":
        from diffrn_grading.roster import import_roster

        result = import_roster(course, args.source, id_column=args.id_column)
        for number, reason in result.skipped:
            print(f"skipped row {number}: {reason}", file=sys.stderr)
        print(f"roster: {len(result.added)} students added, {len(result.updated)} updated in {course.gradebook_path}")
        return 0
    raise GradingError(f"unknown command {args.command}")
