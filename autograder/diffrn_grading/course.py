"""The nbgrader course: where things live and the steps release -> validate -> grade -> export.

The instructor notebooks in ``solutions/<ps>.md`` (MyST Markdown with nbgrader metadata) are
the one source of graded work. :func:`build_source` converts one explicitly into nbgrader's
``source/<ps>/<ps>.ipynb``; nbgrader generates the student version from it. Nothing here
edits a student notebook by hand.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO_ROOT / "solutions"
DEFAULT_COURSE = REPO_ROOT / "autograder"


class GradingError(RuntimeError):
    """Something the instructor can fix; the message says what to do."""


@dataclass(frozen=True)
class Course:
    """An nbgrader course directory (``autograder/`` unless told otherwise)."""

    root: Path = DEFAULT_COURSE

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root).resolve())
        if not (self.root / "nbgrader_config.py").is_file():
            raise GradingError(
                f"{self.root} is not a course directory: it has no nbgrader_config.py. "
                f"Use {DEFAULT_COURSE} or copy its nbgrader_config.py there."
            )
        # nbgrader's API checks on start-up that its exchange folder is writable.
        (self.root / "exchange").mkdir(exist_ok=True)
        _put_environment_tools_on_path()

    def source_notebook(self, assignment: str) -> Path:
        return self.root / "source" / assignment / f"{assignment}.ipynb"

    def release_notebook(self, assignment: str) -> Path:
        return self.root / "release" / assignment / f"{assignment}.ipynb"

    def submitted(self, assignment: str) -> dict[str, Path]:
        """Student id -> submitted notebook path, for every student who handed in ``assignment``."""
        base = self.root / "submitted"
        found = {}
        for folder in sorted(base.glob(f"*/{assignment}")):
            found[folder.parent.name] = folder / f"{assignment}.ipynb"
        return found

    def feedback(self, assignment: str, student: str) -> Path:
        return self.root / "feedback" / student / assignment / f"{assignment}.html"

    @property
    def gradebook_url(self) -> str:
        return "sqlite:///" + str(self.root / "gradebook.db")

    def config(self):
        """nbgrader's traitlets config, loaded from the course's nbgrader_config.py."""
        from traitlets.config.loader import PyFileConfigLoader

        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        config.CourseDirectory.db_url = self.gradebook_url
        return config

    def api(self):
        """An in-process :class:`nbgrader.apps.NbGraderAPI` for this course."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        config = self.config()
        coursedir = CourseDirectory(config=config)
        logger = logging.getLogger(f"nbgrader.{self.root.name}")
        logger.setLevel(logging.INFO)
        return NbGraderAPI(coursedir=coursedir, config=config, log=logger)


def _put_environment_tools_on_path() -> None:
    """nbgrader runs `alembic` and `jupyter` by name: find them next to this Python."""
    tools = str(Path(sys.executable).parent)
    paths = os.environ.get("PATH", "").split(os.pathsep)
    if tools not in paths:
        os.environ["PATH"] = os.pathsep.join([tools, *paths])


def assignments() -> list[str]:
    """Every problem set that has an instructor notebook in ``solutions/``."""
    return sorted(path.stem for path in SOLUTIONS.glob("ps*.md"))


def solution_path(assignment: str) -> Path:
    path = SOLUTIONS / f"{assignment}.md"
    if not path.is_file():
        known = ", ".join(assignments()) or "none"
        raise GradingError(f"no instructor notebook {path.relative_to(REPO_ROOT)}; known problem sets: {known}")
    return path


def build_source(course: Course, assignment: str) -> bool:
    """Convert ``solutions/<ps>.md`` into nbgrader's source notebook. Returns True if it changed."""
    import jupytext
    import nbformat

    text = solution_path(assignment).read_text()
    digest = hashlib.sha256(text.encode()).hexdigest()
    target = course.source_notebook(assignment)
    stamp = target.with_suffix(".sha256")
    if target.is_file() and stamp.is_file() and stamp.read_text() == digest:
        return False
    notebook = jupytext.reads(text, fmt="md:myst")
    notebook.metadata.pop("jupytext", None)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(target))
    stamp.write_text(digest)
    return True


def _registered(course: Course, assignment: str) -> bool:
    """Whether the gradebook knows the assignment and its notebooks (generate_assignment ran)."""
    from nbgrader.api import Gradebook, MissingEntry

    if not (course.root / "gradebook.db").exists():
        return False
    with Gradebook(course.gradebook_url) as gradebook:
        try:
            return bool(gradebook.find_assignment(assignment).notebooks)
        except MissingEntry:
            return False


def _has_submissions(course: Course, assignment: str) -> bool:
    from nbgrader.api import Gradebook, MissingEntry

    if not (course.root / "gradebook.db").exists():
        return False
    with Gradebook(course.gradebook_url) as gradebook:
        try:
            return bool(gradebook.find_assignment(assignment).submissions)
        except MissingEntry:
            return False


def release(course: Course, assignment: str) -> Path:
    """Generate the student notebook ``release/<ps>/<ps>.ipynb`` from the instructor's source."""
    changed = build_source(course, assignment)
    released = course.release_notebook(assignment)
    if not changed and released.is_file() and _registered(course, assignment):
        return released
    if _has_submissions(course, assignment):
        raise GradingError(
            f"{assignment} changed since it was released, and the gradebook already holds submissions "
            "for it; nbgrader refuses to regenerate an assignment with submissions. Publish the change "
            f"as a new problem set, or (if no grade matters yet) delete {course.root / 'gradebook.db'}."
        )
    result = course.api().generate_assignment(assignment, force=True, create=True)
    if not result["success"] or not released.is_file():
        raise GradingError(f"nbgrader could not generate {assignment}:\n{result.get('log')}\n{result.get('error')}")
    return released


def validate(course: Course, assignment: str) -> list[str]:
    """Both directions of nbgrader's validator; returns a list of problems (empty = good).

    The instructor's source must pass every test; the released student notebook, whose
    answers are stubs, must fail every test (``--invert``): a test that passes on a stub
    tests nothing.
    """
    from nbgrader.validator import Validator

    release(course, assignment)
    problems = []
    config = course.config()
    quiet = io.StringIO()
    for notebook, invert in ((course.source_notebook(assignment), False), (course.release_notebook(assignment), True)):
        validator = Validator(config=config)
        validator.invert = invert
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            results = validator.validate(str(notebook))
        for kind, cells in results.items():
            for cell in cells:
                first_line = cell.get("source", "").strip().splitlines()[0] if cell.get("source") else ""
                detail = cell.get("raw_error", "").strip().splitlines()[-1:] if cell.get("raw_error") else []
                problems.append(
                    f"{assignment}: {'release' if invert else 'source'} notebook: test cell {kind}: "
                    f"{first_line} {' '.join(detail)}".rstrip()
                )
    return problems


def export_grades(course: Course, destination: Path | None = None) -> Path:
    """Write every grade of the gradebook to a CSV in nbgrader's export format."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins.export import CsvExportPlugin

    destination = Path(destination or course.root / "grades.csv")
    with Gradebook(course.gradebook_url) as gradebook:
        CsvExportPlugin(to=str(destination)).export(gradebook)
    return destination


def student_env(student: str) -> dict:
    """Environment for grading one student (the checks seed hidden cases from it)."""
    env = dict(os.environ)
    env["DIFFRN_STUDENT_ID"] = student
    return env
