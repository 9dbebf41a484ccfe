"""Grades for Canvas: an nbgrader export plugin that writes a CSV Canvas's gradebook imports.

Canvas's gradebook import reads the same layout as its gradebook export: the columns
``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per assignment, and
optionally a second row ``Points Possible``. A student is matched by ``ID`` (Canvas's user
id), else by ``SIS User ID`` or ``SIS Login ID``; a blank score cell leaves Canvas's grade as
it is, which is what a problem set a student did not hand in must do (nbgrader's own CSV writes
0.0 there, which an import would record as a zero).

Use it from the course (``make export A=ps1-jacobians FORMAT=canvas``) or as a plain nbgrader
plugin::

    nbgrader export --exporter=diffrn_grading.canvas.CanvasExportPlugin --to=canvas.csv \\
        --CanvasExportPlugin.roster=canvas_roster.csv

Where the identities come from: after ``make roster FROM=<Canvas gradebook export>`` each
student's Canvas user id is in the gradebook (``lms_user_id``) and the roster file kept in the
course gives the SIS ids, the section and the title of each assignment's Canvas column
(``ps1-jacobians (12345)``: with the id in parentheses Canvas updates that assignment instead
of creating a new one). Without a roster, a numeric student id is taken as the Canvas user id
(``make collect CANVAS=1`` names students so) and any other id as the SIS login id.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins.export import ExportPlugin
from traitlets import Unicode

IDENTITY_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "    Points Possible"  # Canvas writes this label, indented, in its own exports
ROSTER_FILE = "canvas_roster.csv"


def read_roster(path: Path | str) -> tuple[list[str], list[dict]]:
    """The header and student rows of a Canvas gradebook CSV (the Points Possible row dropped)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = [row for row in reader
                if (row.get("Student") or "").strip() not in ("Points Possible", "")]
    return header, rows


def column_title(assignment: str, header: list[str]) -> str:
    """The roster's column for ``assignment`` (``<name> (<canvas id>)``), else the plain name."""
    pattern = re.compile(rf"^{re.escape(assignment)}\s*\(\d+\)$")
    for title in header:
        if pattern.match(title.strip()):
            return title.strip()
    return assignment


def _score_text(value: float) -> str:
    return f"{round(value, 2):g}"


class CanvasExportPlugin(ExportPlugin):
    """nbgrader export plugin: one row per student, one column per assignment, Canvas's layout.

    A student without a submission gets a blank cell (Canvas keeps what it has); a submitted
    notebook gets its score after nbgrader's late penalty. Written answers that still wait for
    manual grading are not in that score yet: :attr:`pending` lists them after :meth:`export`.
    """

    roster = Unicode(ROSTER_FILE, help="Canvas gradebook CSV saved by `roster` (SIS ids, sections, "
                                       "column titles); ignored if it does not exist").tag(config=True)

    def export(self, gradebook: Gradebook) -> None:
        destination = Path(self.to or "canvas_grades.csv")
        wanted = [str(name) for name in self.assignment]
        assignments = [a for a in gradebook.assignments if not wanted or a.name in wanted]
        missing = sorted(set(wanted) - {a.name for a in assignments})
        if missing:
            raise ValueError(f"the gradebook has no assignment {', '.join(missing)}; release it first")
        header, rows = read_roster(self.roster) if self.roster and Path(self.roster).is_file() else ([], [])
        by_canvas_id = {row.get("ID", "").strip(): row for row in rows if row.get("ID", "").strip()}
        only = {str(s) for s in self.student}
        self.pending: dict[str, list[str]] = {}

        table = []
        for student in sorted(gradebook.students, key=lambda s: ((s.last_name or "").lower(),
                                                                   (s.first_name or "").lower(), s.id)):
            if only and student.id not in only:
                continue
            row = dict.fromkeys(IDENTITY_COLUMNS, "")
            canvas_id = student.lms_user_id or (student.id if student.id.isdigit() else "")
            known = by_canvas_id.get(canvas_id, {})
            row.update({key: (known.get(key) or "").strip() for key in IDENTITY_COLUMNS})
            row["ID"] = canvas_id
            if not canvas_id and not row["SIS Login ID"]:
                row["SIS Login ID"] = student.id
            if not row["Student"]:
                names = ", ".join(n for n in (student.last_name, student.first_name) if n)
                row["Student"] = names or student.id
            for assignment in assignments:
                title = column_title(assignment.name, header)
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row[title] = ""
                    continue
                penalty = submission.late_submission_penalty or 0.0
                row[title] = _score_text(max(0.0, submission.score - penalty))
                waiting = [grade.name for notebook in submission.notebooks for grade in notebook.grades
                           if grade.needs_manual_grade]
                if waiting:
                    self.pending.setdefault(student.id, []).extend(f"{assignment.name}/{name}" for name in waiting)
            table.append(row)

        titles = [column_title(a.name, header) for a in assignments]
        destination.parent.mkdir(parents=True, exist_ok=True)
        with open(destination, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=[*IDENTITY_COLUMNS, *titles])
            writer.writeheader()
            writer.writerow({"Student": POINTS_POSSIBLE,
                             **{t: _score_text(a.max_score) for t, a in zip(titles, assignments)}})
            writer.writerows(table)
        self.log.info("Exported %d students and %d assignments for Canvas to %s",
                      len(table), len(assignments), destination)
