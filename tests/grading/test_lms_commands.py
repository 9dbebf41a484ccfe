"""The instructor's term through `make`: collect a zip, grade, grade a written answer by hand,
feedback again, roster in and Canvas CSV out.

One class of two is collected and graded once for the module; the tests then follow the steps
in order (each later test relies on the state the earlier ones leave, as the instructor's term does).
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from corpus import Submission

ASSIGNMENT = "ps1-jacobians"
WRITTEN = "complex_step_question"
WRONG_SPHERICAL = '''def spherical_jacobian(r, theta, phi):
    st, ct, sp, cp = np.sin(theta), np.cos(theta), np.sin(phi), np.cos(phi)
    return np.array([[st * cp, r * ct * cp, -r * st * sp],
                     [st * sp, r * ct * sp, r * st * cp],
                     [ct, -r * st, 0.0]]).T
'''
ANSWER = "The complex step has no subtraction, so no cancellation: h can be 1e-20."
COMMENT = "Right idea; say also why the error is O(h²)."


def make(repo_root: Path, course_root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return subprocess.run(["make", "--no-print-directory", *args, f"COURSE={course_root}"],
                          cwd=repo_root, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def term(module_course, repo_root, tmp_path_factory):
    """Alice (all right), bob and carol (one transposed Jacobian; carol wrote no answer) in one zip."""
    downloads = tmp_path_factory.mktemp("downloads")
    archive = downloads / "ps1-submissions.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for submission in (Submission("alice", rewrite={WRITTEN: ANSWER}),
                           Submission("bob", answers={"spherical_jacobian": WRONG_SPHERICAL},
                                      rewrite={WRITTEN: "It is more accurate."}),
                           # Carol's written answer is the release's stub: nbgrader scores it 0 by itself.
                           Submission("carol", answers={"spherical_jacobian": WRONG_SPHERICAL})):
            path = submission.write(downloads, ASSIGNMENT, module_course.release, module_course.solutions)
            bundle.write(path, f"{submission.student}_{ASSIGNMENT}.ipynb")
    collected = make(repo_root, module_course.root, "collect", f"A={ASSIGNMENT}", f"FROM={archive}")
    graded = make(repo_root, module_course.root, "grade", f"A={ASSIGNMENT}", "JOBS=2")
    return module_course, archive, collected, graded


def test_collect_keeps_what_was_downloaded_in_nbgraders_archive(term):
    course, archive, collected, _ = term
    assert collected.returncode == 0, collected.stdout + collected.stderr
    kept = course.root / "downloaded" / ASSIGNMENT / "archive" / archive.name
    assert kept.read_bytes() == archive.read_bytes()
    assert sorted(p.name for p in (course.root / "submitted").iterdir()) == ["alice", "bob", "carol"]


def test_the_summary_says_how_many_written_answers_wait_for_a_person(term):
    course, _, _, graded = term
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert "3 graded, 0 failed" in graded.stdout
    assert "2 written answers of 2 students still wait for manual grading" in graded.stdout, graded.stdout + graded.stderr
    assert course.grades() == {"alice": 10.0, "bob": 8.0, "carol": 8.0}, "the written answer is not scored yet"


def test_feedback_after_manual_grading_shows_the_score_and_the_comment(term, repo_root):
    from nbgrader.api import Gradebook

    course = term[0]
    # What formgrader's "save" does: the manual score and comment of the written answer's cell.
    with Gradebook(course.course.gradebook_url) as gradebook:
        grade = gradebook.find_grade(WRITTEN, ASSIGNMENT, ASSIGNMENT, "alice")
        grade.manual_score, grade.needs_manual_grade = 1.5, False
        comment = gradebook.find_comment(WRITTEN, ASSIGNMENT, ASSIGNMENT, "alice")
        comment.manual_comment = COMMENT
        gradebook.db.commit()
    bob_before = course.course.feedback(ASSIGNMENT, "bob").read_text()
    run = make(repo_root, course.root, "feedback", f"A={ASSIGNMENT}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "rendered 3 feedback pages" in run.stdout
    assert "1 written answer of 1 student still waits for manual grading" in run.stdout, run.stdout
    alice = course.course.feedback(ASSIGNMENT, "alice").read_text()
    assert COMMENT.split(";")[0] in alice
    assert "Score: 11.5 / 12.0" in alice, "the page's total includes the manual score"
    assert "Written response</a> (Score: 1.5 / 2.0)" in alice
    assert "BEGIN HIDDEN TESTS" not in alice and "hidden=True" not in alice
    bob = course.course.feedback(ASSIGNMENT, "bob").read_text()
    assert "transpose" in bob and "Written response</a> (Score: 0.0 / 2.0)" in bob
    assert bob.count("transpose") == bob_before.count("transpose"), "bob's page is rendered the same way again"


def test_roster_then_canvas_export_gives_canvas_its_gradebook_layout(term, repo_root, tmp_path):
    course = term[0]
    roster = tmp_path / "canvas-export.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section,ps1-jacobians (4711)\n"
                      "    Points Possible,,,,,12\n"
                      '"Liddell, Alice",501,alice,alice@uni.example,A,\n'
                      '"Builder, Bob",502,bob,bob@uni.example,A,\n'
                      '"Carroll, Carol",503,carol,carol@uni.example,B,\n'
                      '"Absent, Dan",504,dan,dan@uni.example,B,\n')
    run = make(repo_root, course.root, "roster", f"FROM={roster}", "ID_COLUMN=SIS User ID")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 students added, 3 updated" in run.stdout

    out = tmp_path / "to-canvas.csv"
    run = make(repo_root, course.root, "export", f"A={ASSIGNMENT}", "FORMAT=canvas", f"TO={out}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 written answers of 1 students still wait" in run.stderr
    with open(out, newline="") as handle:
        points, *rows = list(csv.DictReader(handle))
    assert list(points) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "ps1-jacobians (4711)"]
    assert points["ps1-jacobians (4711)"] == "12"
    assert [(r["Student"], r["ID"], r["SIS User ID"], r["ps1-jacobians (4711)"]) for r in rows] == [
        ("Absent, Dan", "504", "dan", ""),     # nothing handed in: blank, not 0
        ("Builder, Bob", "502", "bob", "8"),
        ("Carroll, Carol", "503", "carol", "8"),
        ("Liddell, Alice", "501", "alice", "11.5"),
    ]
