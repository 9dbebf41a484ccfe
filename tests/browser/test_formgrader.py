"""The instructor grades a written answer by hand in formgrader, then `make feedback` shows it.

A private course gets one graded submission of ps1 (every function right, the written answer
typed in); the test starts a Jupyter server with nbgrader's formgrader on 127.0.0.1 in that
course, opens the student's submission in Chromium, types a score and a comment into the
written answer, and checks the gradebook has them. `make feedback` then renders the feedback
page again: it shows the manual score, the new total and the comment, and nothing waits.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from server_helpers import answered_release, free_port, running_server
from site_paths import SCREENSHOTS

ASSIGNMENT = "ps1-jacobians"
WRITTEN = "complex_step_question"
ANSWER = "No subtraction of nearly equal numbers, so the step can be tiny: h = 1e-20 works."
COMMENT = "Right reason. Also say why the error is of order h squared."
TOKEN = "diffrn-formgrader-test"
REPO = Path(__file__).resolve().parents[2]


def _env() -> dict:
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """A course with alice's ps1 autograded: her written answer waits for a person."""
    from diffrn_grading.course import DEFAULT_COURSE, Course

    root = tmp_path_factory.mktemp("course")
    shutil.copy(DEFAULT_COURSE / "nbgrader_config.py", root)
    course = Course(root)
    notebook = answered_release(course, ASSIGNMENT, {WRITTEN: ANSWER})
    folder = root / "submitted" / "alice" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(notebook, str(folder / f"{ASSIGNMENT}.ipynb"))
    run = subprocess.run([sys.executable, "-m", "diffrn_grading.cli", "--course", str(root), "grade", ASSIGNMENT,
                          "--jobs", "1"], env=_env(), capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 written answer of 1 student still waits" in run.stdout, run.stdout
    return course


@pytest.fixture(scope="module")
def formgrader(graded_course, tmp_path_factory):
    port = free_port()
    settings = tmp_path_factory.mktemp("jupyter")
    command = [sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={graded_course.root}",
               "--ServerApp.jpserver_extensions={'nbgrader.server_extensions.formgrader': True}", "--allow-root"]
    url = f"http://127.0.0.1:{port}"
    with running_server(command, f"{url}/formgrader/?token={TOKEN}", settings / "server.log", cwd=graded_course.root,
                        env={**_env(), "JUPYTER_CONFIG_DIR": str(settings), "JUPYTER_RUNTIME_DIR": str(settings)}):
        yield url


def _manual_grade(course):
    from nbgrader.api import Gradebook

    with Gradebook(course.gradebook_url) as gradebook:
        grade = gradebook.find_grade(WRITTEN, ASSIGNMENT, ASSIGNMENT, "alice")
        comment = gradebook.find_comment(WRITTEN, ASSIGNMENT, ASSIGNMENT, "alice")
        return grade.manual_score, grade.needs_manual_grade, comment.manual_comment


def test_a_score_and_comment_typed_in_formgrader_reach_the_feedback_page(browser, formgrader, graded_course):
    from nbgrader.api import Gradebook

    with Gradebook(graded_course.gradebook_url) as gradebook:
        submission = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "alice").id
    # The token goes with every request (formgrader's own API calls too), as a header.
    context = browser.new_context(viewport={"width": 1280, "height": 1000},
                                  extra_http_headers={"Authorization": f"token {TOKEN}"})
    page = context.new_page()
    try:
        page.goto(f"{formgrader}/formgrader/submissions/{submission}/", wait_until="load")
        page.get_by_text(ANSWER[:40]).first.wait_for(timeout=90000)  # the student's written answer is shown
        score = page.locator(f"input.score#{WRITTEN}")
        score.wait_for(timeout=90000)
        score.fill("1.5")
        score.press("Tab")  # formgrader saves a score when the field changes
        deadline = time.monotonic() + 60
        # Once the score is saved, formgrader draws the cell again: a comment typed before that
        # (on a busy machine the save takes a while) goes with the old field. Type it after.
        while _manual_grade(graded_course)[0] != 1.5:
            assert time.monotonic() < deadline, f"formgrader did not save the score: {_manual_grade(graded_course)}"
            page.wait_for_timeout(500)
        comment = page.locator(f"textarea#{WRITTEN}-comment")
        while _manual_grade(graded_course) != (1.5, False, COMMENT):
            assert time.monotonic() < deadline, f"formgrader did not save: {_manual_grade(graded_course)}"
            if comment.input_value() != COMMENT:  # first, or the field was drawn again meanwhile
                comment.fill(COMMENT)
                comment.press("Tab")
            page.wait_for_timeout(500)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        score.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / "formgrader-written-answer.png"))
    except Exception:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "formgrader-failure.png"))
        raise
    finally:
        context.close()

    run = subprocess.run(["make", "--no-print-directory", "feedback", f"A={ASSIGNMENT}", f"COURSE={graded_course.root}"],
                         cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no written answers wait for manual grading" in run.stdout, run.stdout
    feedback = graded_course.feedback(ASSIGNMENT, "alice").read_text()
    assert "Written response</a> (Score: 1.5 / 2.0)" in feedback
    assert "Score: 11.5 / 12.0" in feedback
    assert COMMENT in feedback
    assert "BEGIN HIDDEN TESTS" not in feedback
