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
import shutil
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
    """An nbgrader course directory (``autograder/`` unless told otherwise) and its sources.

    Every file and database of a course is named here and nowhere else: nbgrader's folders,
    the gradebook and its URL, the grades, the reports, and the grader's own state.
    """

    root: Path = DEFAULT_COURSE
    solutions: Path = SOLUTIONS
    gradebook: Path | None = None  # elsewhere than root/gradebook.db (a grading worker's copy)

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root).resolve())
        object.__setattr__(self, "solutions", Path(self.solutions).resolve())
        if not self.config_file.is_file():
            raise GradingError(
                f"{self.root} is not a course directory: it has no nbgrader_config.py. "
                f"Use {DEFAULT_COURSE} or copy its nbgrader_config.py there."
            )
        # nbgrader's API checks on start-up that its exchange folder is writable.
        self.exchange.mkdir(exist_ok=True)
        _put_environment_tools_on_path()

    # --- nbgrader's layout
    @property
    def config_file(self) -> Path:
        return self.root / "nbgrader_config.py"

    @property
    def exchange(self) -> Path:
        return self.root / "exchange"

    def source_folder(self, assignment: str) -> Path:
        return self.root / "source" / assignment

    def source_notebook(self, assignment: str) -> Path:
        return self.source_folder(assignment) / f"{assignment}.ipynb"

    def release_notebook(self, assignment: str) -> Path:
        return self.root / "release" / assignment / f"{assignment}.ipynb"

    @property
    def submitted_root(self) -> Path:
        return self.root / "submitted"

    def submitted_folder(self, assignment: str, student: str) -> Path:
        return self.submitted_root / student / assignment

    def submitted(self, assignment: str) -> dict[str, Path]:
        """Student id -> submitted notebook path, for every student who handed in ``assignment``."""
        found = {}
        for folder in sorted(self.submitted_root.glob(f"*/{assignment}")):
            found[folder.parent.name] = folder / f"{assignment}.ipynb"
        return found

    def archive_folder(self, assignment: str) -> Path:
        """Downloads from the LMS as they came (the layout of ``nbgrader zip_collect``)."""
        return self.root / "downloaded" / assignment / "archive"

    @property
    def autograded_root(self) -> Path:
        return self.root / "autograded"

    def autograded_folder(self, assignment: str, student: str) -> Path:
        return self.autograded_root / student / assignment

    def autograded_notebook(self, assignment: str, student: str) -> Path:
        return self.autograded_folder(assignment, student) / f"{assignment}.ipynb"

    @property
    def feedback_root(self) -> Path:
        return self.root / "feedback"

    def feedback_folder(self, assignment: str, student: str) -> Path:
        return self.feedback_root / student / assignment

    def feedback(self, assignment: str, student: str) -> Path:
        return self.feedback_folder(assignment, student) / f"{assignment}.html"

    @property
    def gradebook_path(self) -> Path:
        return Path(self.gradebook) if self.gradebook else self.root / "gradebook.db"

    @property
    def gradebook_url(self) -> str:
        return "sqlite:///" + str(self.gradebook_path)

    @property
    def grades_csv(self) -> Path:
        return self.root / "grades.csv"

    def export_csv(self, name: str) -> Path:
        """A grades export for an LMS, such as ``canvas-ps1-jacobians.csv``."""
        return self.root / name

    @property
    def roster_file(self) -> Path:
        """The LMS roster (students' names and ids) the instructor imported."""
        from diffrn_grading.canvas import ROSTER_FILE

        return self.root / ROSTER_FILE

    def report_folder(self, assignment: str) -> Path:
        return self.root / "reports" / assignment

    # --- the grader's own state, kept out of autograded/ (nbgrader copies that into feedback)
    @property
    def state(self) -> Path:
        return self.root / ".grading"

    def done_marker(self, assignment: str, student: str) -> Path:
        return self.state / "done" / assignment / f"{student}.json"

    @property
    def template_gradebook(self) -> Path:
        """A snapshot of the gradebook that each worker copies into its private course."""
        return self.state / "template.db"

    @property
    def template_gradebook_url(self) -> str:
        return "sqlite:///" + str(self.template_gradebook)

    # --- the instructor's notebooks
    def assignments(self) -> list[str]:
        """Every problem set that has an instructor notebook in the solutions folder."""
        return assignments(self.solutions)

    def solution(self, assignment: str) -> Path:
        return solution_path(assignment, self.solutions)

    def config(self):
        """nbgrader's traitlets config, loaded from the course's nbgrader_config.py."""
        from traitlets.config.loader import PyFileConfigLoader

        config = PyFileConfigLoader(self.config_file.name, path=str(self.root)).load_config()
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


def assignments(solutions: Path = SOLUTIONS) -> list[str]:
    """Every problem set that has an instructor notebook in ``solutions``."""
    return sorted(path.stem for path in Path(solutions).glob("ps*.md"))


def solution_path(assignment: str, solutions: Path = SOLUTIONS) -> Path:
    path = Path(solutions) / f"{assignment}.md"
    if not path.is_file():
        known = ", ".join(assignments(solutions)) or "none"
        raise GradingError(f"no instructor notebook {path}; known problem sets: {known}")
    return path


def build_source(course: Course, assignment: str) -> bool:
    """Convert ``solutions/<ps>.md`` into nbgrader's source notebook. Returns True if it changed."""
    import jupytext
    import nbformat

    text = course.solution(assignment).read_text()
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


def _gradebook_has(course: Course, assignment: str, what: str) -> bool:
    """Whether the gradebook holds ``assignment`` with any ``what`` ("notebooks", "submissions")."""
    from nbgrader.api import Gradebook, MissingEntry

    if not course.gradebook_path.exists():
        return False
    with Gradebook(course.gradebook_url) as gradebook:
        try:
            return bool(getattr(gradebook.find_assignment(assignment), what))
        except MissingEntry:
            return False


def release(course: Course, assignment: str) -> Path:
    """Generate the student notebook ``release/<ps>/<ps>.ipynb`` from the instructor's source."""
    changed = build_source(course, assignment)
    released = course.release_notebook(assignment)
    if not changed and released.is_file() and _gradebook_has(course, assignment, "notebooks"):
        return released
    if _gradebook_has(course, assignment, "submissions"):
        raise GradingError(
            f"{assignment} changed since it was released, and the gradebook already holds submissions "
            "for it; nbgrader refuses to regenerate an assignment with submissions. Publish the change "
            f"as a new problem set, or (if no grade matters yet) delete {course.gradebook_path}."
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

    destination = Path(destination or course.grades_csv)
    with Gradebook(course.gradebook_url) as gradebook:
        CsvExportPlugin(to=str(destination)).export(gradebook)
    return destination


def student_env(student: str, base: dict | None = None) -> dict:
    """The environment a kernel or re-check grading ``student`` is started with.

    It is the one way the student id reaches the checks (which draw that student's hidden
    cases from it): no grading process sets it in its own environment. Other ``DIFFRN_``
    settings of the grader's shell are left out, so they cannot change what is graded.
    """
    from diffrn.checks.seeding import STUDENT_ENV

    env = {key: value for key, value in (os.environ if base is None else base).items()
           if not key.startswith("DIFFRN_")}
    env[STUDENT_ENV] = student
    env["MPLBACKEND"] = "Agg"
    return env
