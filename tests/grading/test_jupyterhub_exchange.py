"""A JupyterHub term without the hub: nbgrader's own exchange, shared, outside the course folder.

The instructor releases ps1 into a shared exchange; two students, each with a separate home
folder and the hub's students' configuration (autograder/hub/nbgrader_config.py as their
only nbgrader config), fetch it, answer and submit; the instructor collects and `make grade`
grades both. On a real hub each student is a Unix user; here one user plays every part, so
`submit` is told the student's name (on the hub nbgrader takes it from the login).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from diffrn_grading.course import REPO_ROOT

ASSIGNMENT = "ps1-jacobians"
HUB_CONFIG = REPO_ROOT / "autograder" / "hub" / "nbgrader_config.py"
WRONG_SPHERICAL = '''def spherical_jacobian(r, theta, phi):
    st, ct, sp, cp = np.sin(theta), np.cos(theta), np.sin(phi), np.cos(phi)
    return np.array([[st * cp, r * ct * cp, -r * st * sp],
                     [st * sp, r * ct * sp, r * st * cp],
                     [ct, -r * st, 0.0]]).T
'''


def _run(command: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    run = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"{' '.join(command)} failed:\n{run.stdout}\n{run.stderr}"
    return run


def _nbgrader(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "nbgrader"), *args]


@pytest.fixture
def hub(module_course, tmp_path, monkeypatch):
    exchange = tmp_path / "srv" / "nbgrader" / "exchange"  # outside the course, like /srv/nbgrader/exchange
    monkeypatch.setenv("DIFFRN_EXCHANGE", str(exchange))
    base = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                DIFFRN_EXCHANGE=str(exchange))
    base.pop("JUPYTER_CONFIG_DIR", None)
    return module_course, exchange, base


def _student_env(base: dict, home: Path, fresh: bool = True) -> dict:
    """A student's server: own HOME, own Jupyter config holding only the hub's nbgrader config."""
    config = home / ".jupyter"
    if fresh:
        config.mkdir(parents=True)
        shutil.copy(HUB_CONFIG, config / "nbgrader_config.py")
    return dict(base, HOME=str(home), JUPYTER_CONFIG_DIR=str(config), JUPYTER_DATA_DIR=str(home / ".local"))


def test_students_fetch_and_submit_through_the_exchange_and_the_instructor_grades(hub, repo_root, tmp_path):
    course, exchange, base = hub
    assert _course_config(course.root).Exchange.root == str(exchange), "the course reads DIFFRN_EXCHANGE"
    assert course.root not in exchange.parents

    _run(_nbgrader("release_assignment", ASSIGNMENT, "--force"), course.root, base)
    assert (exchange / "diffrn" / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()

    answers = {"alice": {}, "bob": {"spherical_jacobian": WRONG_SPHERICAL}}
    homes = {}
    for student, changed in answers.items():
        home = tmp_path / "home" / student
        env = _student_env(base, home)
        listed = _run(_nbgrader("list"), home, env)
        assert ASSIGNMENT in listed.stdout + listed.stderr, "the student sees the released problem set"
        _run(_nbgrader("fetch_assignment", ASSIGNMENT), home, env)
        fetched = home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        notebook = nbformat.read(str(fetched), as_version=4)
        assert "BEGIN HIDDEN TESTS" not in fetched.read_text(), "students fetch the release, never the source"
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.cell_type == "code" and grade_id in course.solutions:
                cell.source = changed.get(grade_id, course.solutions[grade_id])
        nbformat.write(notebook, str(fetched))
        _run(_nbgrader("submit", ASSIGNMENT, f"--student={student}"), home, env)
        homes[student] = home

    # Each student's work stayed in their own home; the exchange's inbound holds both submissions.
    assert not (homes["alice"] / "bob").exists() and not (homes["bob"] / "alice").exists()
    inbound = sorted(p.name.split("+")[0] for p in (exchange / "diffrn" / "inbound").iterdir())
    assert inbound == ["alice", "bob"]

    _run(_nbgrader("collect", ASSIGNMENT), course.root, base)
    assert sorted(p.name for p in (course.root / "submitted").iterdir()) == ["alice", "bob"]

    env = dict(base)
    run = subprocess.run(["make", "--no-print-directory", "grade", f"A={ASSIGNMENT}", f"COURSE={course.root}", "JOBS=2"],
                         cwd=repo_root, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 graded, 0 failed" in run.stdout
    assert course.grades() == {"alice": 10.0, "bob": 8.0}
    assert "transpose" in course.course.feedback(ASSIGNMENT, "bob").read_text()

    # Feedback goes back through the exchange: each student fetches their own page only.
    _run(_nbgrader("release_feedback", ASSIGNMENT), course.root, base)
    for student in ("alice", "bob"):
        _run(_nbgrader("fetch_feedback", ASSIGNMENT, f"--student={student}"), homes[student], _student_env(base, homes[student], fresh=False))
    pages = {student: sorted((homes[student] / ASSIGNMENT / "feedback").rglob("*.html")) for student in homes}
    assert [len(found) for found in pages.values()] == [1, 1]
    assert "transpose" in pages["bob"][0].read_text() and "transpose" not in pages["alice"][0].read_text()


def _course_config(folder: Path):
    """What plain `nbgrader ...` run in the course folder reads (its nbgrader_config.py)."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()


def test_without_a_hub_the_exchange_stays_in_the_course_and_the_hub_config_points_outside(module_course, monkeypatch):
    monkeypatch.delenv("DIFFRN_EXCHANGE", raising=False)
    shared = Path("/srv/nbgrader/exchange")
    expected = shared if shared.is_dir() else module_course.root / "exchange"
    assert _course_config(module_course.root).Exchange.root == str(expected)
    students = _course_config(HUB_CONFIG.parent)
    assert students.Exchange.root == str(shared)
    assert students.CourseDirectory.course_id == _course_config(module_course.root).CourseDirectory.course_id
