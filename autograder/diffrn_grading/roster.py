"""Names and ids from the LMS into the gradebook: ``make roster FROM=<Canvas roster CSV>``.

The roster is Canvas's gradebook export (Grades → Export), whose first columns are
``Student`` ("Last, First"), ``ID`` (Canvas user id), ``SIS User ID``, ``SIS Login ID`` and
``Section``. Every row becomes a student of the nbgrader gradebook with its names and Canvas
user id (``lms_user_id``); the file is kept in the course as ``canvas_roster.csv`` so that
the Canvas export can fill in SIS ids, sections and each assignment's Canvas column.

Which column is the nbgrader student id: ``ID`` by default, the Canvas user id that
``make collect CANVAS=1`` takes from Canvas's bulk downloads; pass ``--id-column
"SIS Login ID"`` when submissions are named by login instead. Importing again updates names
and ids and never removes a student or a grade.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from diffrn_grading.canvas import IDENTITY_COLUMNS, read_roster
from diffrn_grading.course import Course, GradingError


@dataclass
class RosterResult:
    """What :func:`import_roster` did."""

    added: list = field(default_factory=list)      # student ids new to the gradebook
    updated: list = field(default_factory=list)    # student ids already there
    skipped: list = field(default_factory=list)    # (row number, reason)


def split_name(name: str) -> tuple[str, str]:
    """(first, last) from Canvas's "Last, First", or from "First Last"."""
    name = " ".join(name.split())
    if "," in name:
        last, _, first = name.partition(",")
        return first.strip(), last.strip()
    first, _, last = name.rpartition(" ")
    return (first, last) if first else ("", last)


def import_roster(course: Course, source: Path | str, id_column: str = "ID") -> RosterResult:
    """Create or update one gradebook student per roster row; keep the roster in the course."""
    from nbgrader.api import Gradebook

    source = Path(source)
    if not source.is_file():
        raise GradingError(f"{source} does not exist: export the Canvas gradebook (Grades → Export) "
                           "and give that CSV file")
    header, rows = read_roster(source)
    absent = [c for c in ("Student", id_column) if c not in header]
    if absent:
        raise GradingError(f"{source.name} has no column {', '.join(repr(c) for c in absent)}: expected "
                           f"Canvas's gradebook export, whose first columns are {', '.join(IDENTITY_COLUMNS)}")
    result = RosterResult()
    with Gradebook(course.gradebook_url) as gradebook:
        known = {student.id for student in gradebook.students}
        for number, row in enumerate(rows, start=2):
            student = (row.get(id_column) or "").strip()
            if not student:
                result.skipped.append((number, f"no {id_column}"))
                continue
            if "/" in student or student.startswith("."):
                result.skipped.append((number, f"{student!r} cannot name a folder"))
                continue
            first, last = split_name(row.get("Student") or "")
            login = (row.get("SIS Login ID") or "").strip()
            gradebook.update_or_create_student(
                student, first_name=first or None, last_name=last or None,
                lms_user_id=(row.get("ID") or "").strip() or None,
                email=login if "@" in login else None,
            )
            (result.updated if student in known else result.added).append(student)
            known.add(student)
    if not rows:
        raise GradingError(f"{source.name} lists no students")
    if source.resolve() != course.roster_file.resolve():
        shutil.copyfile(source, course.roster_file)
    return result
