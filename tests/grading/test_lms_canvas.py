"""LMS round trip: Canvas roster into the gradebook, grades out in Canvas's gradebook CSV layout.

The gradebook is filled through nbgrader's own API (as `make grade` leaves it), so these tests
need no grading run; `test_lms_commands.py` drives the same steps through `make`.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from diffrn_grading.canvas import IDENTITY_COLUMNS, CanvasExportPlugin
from diffrn_grading.course import Course, DEFAULT_COURSE, GradingError
from diffrn_grading.roster import import_roster, split_name

# What Canvas's gradebook export looks like: identity columns, a points row, an assignment column.
ROSTER = """\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,ps1-jacobians (9001),Current Score
    Points Possible,,,,,12,(read only)
"Lovelace, Ada",101,S-0101,ada@uni.example,Analysis A,,
"Noether, Emmy",102,S-0102,emmy@uni.example,Analysis B,,
"Turing, Alan",103,S-0103,alan@uni.example,Analysis A,,
"""


def _course(tmp_path: Path) -> Course:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "nbgrader_config.py").write_text((DEFAULT_COURSE / "nbgrader_config.py").read_text())
    return Course(tmp_path)


def _gradebook_with_two_assignments(course: Course):
    """ps1 (two grade cells, one written) and ps2; 101 handed in both, 102 only ps1, 103 nothing."""
    import warnings

    from nbgrader.api import Gradebook

    with Gradebook(course.gradebook_url) as gradebook, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's add_submission trips SQLAlchemy's autoflush warnings
        for name, cells in (("ps1-jacobians", {"test_a": ("code", 10), "written": ("markdown", 2)}),
                            ("ps2-chain-rule", {"test_b": ("code", 8)})):
            gradebook.add_assignment(name)
            gradebook.add_notebook(name, name)
            for cell, (kind, points) in cells.items():
                gradebook.add_grade_cell(cell, name, name, max_score=points, cell_type=kind)
                gradebook.add_solution_cell(cell, name, name) if kind == "markdown" else None
        for student in ("101", "102", "103"):
            gradebook.update_or_create_student(student)
        scores = {("101", "ps1-jacobians"): {"test_a": 10, "written": None},
                  ("102", "ps1-jacobians"): {"test_a": 7.5, "written": 2},
                  ("101", "ps2-chain-rule"): {"test_b": 0}}
        for (student, assignment), cells in scores.items():
            submission = gradebook.add_submission(assignment, student)
            for grade in submission.notebooks[0].grades:
                value = cells[grade.name]
                if value is None:  # a written answer nobody has graded yet
                    grade.needs_manual_grade = True
                else:
                    grade.auto_score, grade.needs_manual_grade = value, False
            gradebook.db.commit()


def _read(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _export(course: Course, to: Path, **traits) -> CanvasExportPlugin:
    from nbgrader.api import Gradebook

    plugin = CanvasExportPlugin(to=str(to), roster=str(course.root / "canvas_roster.csv"), **traits)
    with Gradebook(course.gradebook_url) as gradebook:
        plugin.export(gradebook)
    return plugin


def test_canvas_csv_has_canvas_columns_and_blank_for_nothing_handed_in(tmp_path):
    course = _course(tmp_path / "course")
    _gradebook_with_two_assignments(course)
    plugin = _export(course, tmp_path / "canvas.csv")
    rows = _read(tmp_path / "canvas.csv")
    header = list(rows[0].keys())
    assert header == [*IDENTITY_COLUMNS, "ps1-jacobians", "ps2-chain-rule"]
    points, *students = rows
    assert points["Student"].strip() == "Points Possible"
    assert (points["ps1-jacobians"], points["ps2-chain-rule"]) == ("12", "8")
    by_id = {row["ID"]: row for row in students}
    # Numeric nbgrader ids are Canvas user ids (that is how `collect --canvas` names students).
    assert set(by_id) == {"101", "102", "103"}
    assert by_id["101"]["ps1-jacobians"] == "10" and by_id["101"]["ps2-chain-rule"] == "0"
    assert by_id["102"]["ps1-jacobians"] == "9.5", "7.5 autograded + 2 graded by hand"
    # Nothing handed in: blank, so that the import leaves Canvas's cell alone (not a zero).
    assert by_id["102"]["ps2-chain-rule"] == ""
    assert by_id["103"]["ps1-jacobians"] == "" and by_id["103"]["ps2-chain-rule"] == ""
    assert plugin.pending == {"101": ["ps1-jacobians/written"]}


def test_roster_puts_names_and_ids_in_the_gradebook_and_the_export_uses_them(tmp_path):
    from nbgrader.api import Gradebook

    course = _course(tmp_path / "course")
    _gradebook_with_two_assignments(course)
    roster = tmp_path / "Grades-Analysis.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    result = import_roster(course, roster)
    assert sorted(result.updated) == ["101", "102", "103"] and result.added == []
    with Gradebook(course.gradebook_url) as gradebook:
        ada = gradebook.find_student("101")
        assert (ada.first_name, ada.last_name, ada.lms_user_id, ada.email) == ("Ada", "Lovelace", "101", "ada@uni.example")

    _export(course, tmp_path / "canvas.csv", assignment=["ps1-jacobians"])
    points, *students = _read(tmp_path / "canvas.csv")
    # The roster's column title carries Canvas's assignment id: the import updates that column.
    assert list(points) == [*IDENTITY_COLUMNS, "ps1-jacobians (9001)"]
    assert [row["Student"] for row in students] == ["Lovelace, Ada", "Noether, Emmy", "Turing, Alan"]
    emmy = students[1]
    assert (emmy["ID"], emmy["SIS User ID"], emmy["SIS Login ID"], emmy["Section"]) == \
        ("102", "S-0102", "emmy@uni.example", "Analysis B")
    assert emmy["ps1-jacobians (9001)"] == "9.5" and students[2]["ps1-jacobians (9001)"] == ""


def test_roster_by_login_adds_new_students_and_a_login_id_reaches_canvas(tmp_path):
    from nbgrader.api import Gradebook

    course = _course(tmp_path / "course")
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    result = import_roster(course, roster, id_column="SIS User ID")
    assert sorted(result.added) == ["S-0101", "S-0102", "S-0103"]
    with Gradebook(course.gradebook_url) as gradebook:
        assert gradebook.find_student("S-0103").lms_user_id == "103"
    _export(course, tmp_path / "canvas.csv")
    _, *students = _read(tmp_path / "canvas.csv")
    assert {row["ID"] for row in students} == {"101", "102", "103"}


def test_a_file_that_is_not_a_canvas_roster_is_refused_with_the_expected_columns(tmp_path):
    course = _course(tmp_path / "course")
    wrong = tmp_path / "names.csv"
    wrong.write_text("name,email\nAda,ada@uni.example\n")
    with pytest.raises(GradingError, match="Student.*Canvas's gradebook export"):
        import_roster(course, wrong)


def test_names_are_split_the_canvas_way():
    assert split_name("Lovelace, Ada") == ("Ada", "Lovelace")
    assert split_name("Ada  King Lovelace") == ("Ada King", "Lovelace")
    assert split_name("Plato") == ("", "Plato")


def test_nbgrader_export_runs_the_plugin_by_name(tmp_path):
    """The plugin is a real nbgrader export plugin: `nbgrader export --exporter=...` uses it."""
    import os
    import subprocess
    import sys

    course = _course(tmp_path / "course")
    _gradebook_with_two_assignments(course)
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    run = subprocess.run([str(bin_dir / "nbgrader"), "export", "--exporter=diffrn_grading.canvas.CanvasExportPlugin",
                          "--to=out.csv", "--assignment=['ps2-chain-rule']"],
                         cwd=course.root, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    _, *students = _read(course.root / "out.csv")
    assert {row["ID"]: row["ps2-chain-rule"] for row in students} == {"101": "0", "102": "", "103": ""}
