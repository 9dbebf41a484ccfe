"""Grade one submission in isolation: its own folder, its own gradebook copy, its own limits.

:func:`grade_submission` is what a worker process runs for each student. It

1. checks the submitted file is a notebook of the right name and restores test cells the
   student deleted (nbgrader itself restores edited locked cells and ignores changed points);
2. runs ``nbgrader autograde`` through nbgrader's API in a private copy of the course, so
   several students can be graded at once and none of them writes the real gradebook; the
   kernel is forked from the worker's warm zygote (:mod:`diffrn_grading.kernels`);
3. re-checks every test cell out of the student's reach (:mod:`diffrn_grading.verify`);
4. returns plain data: the score of every grade cell, messages and review flags, and the
   autograded notebook and feedback page as bytes.

Its inputs are bytes too (:class:`CourseFiles`, :class:`SubmissionFiles`, read by
:func:`grade_submission` or by the batch): :func:`grade_files` needs no access to the course
folder, so it runs the same in a local worker process and on another machine of a Dask cluster
(:mod:`diffrn_grading.cluster`). The parent process (:mod:`diffrn_grading.batch`) is the only
writer of the real course folder and gradebook.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat


@dataclass
class Limits:
    """Per-submission limits (seconds, bytes, lines of output)."""

    cell_seconds: int = 60
    notebook_seconds: int = 300
    memory_bytes: int = 4 * 2**30
    output_lines: int = 1000

    def verify_seconds(self, source) -> float:
        """Time for re-checking all test cells at once: a cell's limit per test cell."""
        tests = sum(1 for c in source.cells if c.metadata.get("nbgrader", {}).get("grade"))
        return min(self.notebook_seconds, self.cell_seconds * max(2, tests))


@dataclass
class StudentResult:
    """Everything the parent needs to record one student's grade."""

    student: str
    ok: bool
    scores: dict = field(default_factory=dict)      # grade_id -> (auto_score, max_score)
    manual: list = field(default_factory=list)      # grade_ids that need manual grading
    notes: list = field(default_factory=list)       # shown to the instructor and in feedback
    flags: list = field(default_factory=list)       # review-worthy code
    failed_tests: list = field(default_factory=list)
    autograded: dict = field(default_factory=dict)  # the autograded folder: relative path -> bytes
    feedback: dict = field(default_factory=dict)    # the feedback folder: relative path -> bytes
    timestamp: str = ""
    seconds: float = 0.0

    def to_json(self) -> str:
        """The grading outcome without the files (they are not text)."""
        data = asdict(self)
        del data["autograded"], data["feedback"]
        return json.dumps(data)


def read_files(folder: Path) -> dict[str, bytes]:
    """Every regular file under ``folder``: relative POSIX path -> contents.

    Symbolic links are left out: a submission's files are the student's own, never what a
    link in the upload points to on the grading machine.
    """
    folder = Path(folder)
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file() and not path.is_symlink()}


def write_files(folder: Path, files: dict[str, bytes]) -> None:
    """Write what :func:`read_files` read into ``folder``; no path may lead outside it."""
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        target = (folder / name).resolve()
        if not target.is_relative_to(folder):
            raise ValueError(f"refusing to write {name!r} outside {folder}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


@dataclass
class CourseFiles:
    """What every submission of one assignment is graded against, as bytes (no shared folder).

    The course's nbgrader_config.py, the assignment's source folder and a snapshot of the
    gradebook holding the assignment (:attr:`~diffrn_grading.course.Course.template_gradebook`).
    """

    assignment: str
    config: bytes
    source: dict
    gradebook: bytes

    @classmethod
    def read(cls, course, assignment: str) -> "CourseFiles":
        """Read them from ``course``, whose template gradebook must already be written."""
        return cls(assignment, course.config_file.read_bytes(), read_files(course.source_folder(assignment)),
                   course.template_gradebook.read_bytes())

    def unpack(self, folder: Path, gradebook: Path | None = None):
        """A private course in ``folder`` holding these files (its gradebook at ``gradebook``, if
        given); returns its Course."""
        from diffrn_grading.course import Course

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "nbgrader_config.py").write_bytes(self.config)
        private = Course(folder, gradebook=gradebook)
        write_files(private.source_folder(self.assignment), self.source)
        private.gradebook_path.write_bytes(self.gradebook)
        return private


@dataclass
class SubmissionFiles:
    """One student's submitted folder, as bytes."""

    student: str
    files: dict

    @classmethod
    def read(cls, course, assignment: str, student: str) -> "SubmissionFiles":
        folder = course.submitted_folder(assignment, student)
        return cls(student, read_files(folder) if folder.is_dir() else {})


class SubmissionError(Exception):
    """The submission cannot be graded at all (missing, corrupt, misnamed)."""


def load_submission(folder: Path, assignment: str):
    """The student's notebook, or :class:`SubmissionError` saying what is wrong with it."""
    expected = folder / f"{assignment}.ipynb"
    if not expected.is_file():
        others = sorted(p.name for p in folder.glob("*.ipynb"))
        if others:
            raise SubmissionError(
                f"no {expected.name} in the submission; found {', '.join(others)}. "
                f"Rename the notebook to {expected.name} and submit again."
            )
        raise SubmissionError(f"the submission folder has no notebook (expected {expected.name}).")
    if expected.stat().st_size == 0:
        raise SubmissionError(f"{expected.name} is an empty file.")
    try:
        notebook = nbformat.read(str(expected), as_version=4)
    except Exception as error:  # nbformat raises several unrelated types for bad JSON
        raise SubmissionError(f"{expected.name} is not a valid notebook ({type(error).__name__}).") from None
    if not notebook.cells:
        raise SubmissionError(f"{expected.name} has no cells.")
    return notebook


def restore_test_cells(submission, source) -> list[str]:
    """Put back graded and locked cells that the student deleted; returns what was restored.

    Each missing cell goes right after the source cell that precedes it, if the student
    kept that one, else at the end. nbgrader's OverwriteCells then restores the contents of
    every locked cell, so only deletions need handling here.
    """
    present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in submission.cells}
    restored = []
    for index, cell in enumerate(source.cells):
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if not grade_id or grade_id in present or not (meta.get("grade") or meta.get("locked")):
            continue
        previous = source.cells[index - 1].metadata.get("nbgrader", {}).get("grade_id") if index else None
        position = len(submission.cells)
        for i, existing in enumerate(submission.cells):
            if previous and existing.metadata.get("nbgrader", {}).get("grade_id") == previous:
                position = i + 1
        submission.cells.insert(position, nbformat.from_dict(json.loads(json.dumps(cell))))
        present.add(grade_id)
        restored.append(grade_id)
    return restored


def _zero_scores(template_db_url: str, assignment: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(template_db_url) as gradebook:
        found = gradebook.find_assignment(assignment)
        return {cell.name: (0.0, float(cell.max_score)) for notebook in found.notebooks
                for cell in notebook.grade_cells if cell.cell_type == "code" or True}


def grade_submission(course, assignment: str, student: str, limits: Limits | None = None) -> StudentResult:
    """Autograde and verify one student's submission in a private copy of ``course``.

    ``course`` is a :class:`~diffrn_grading.course.Course` (or its folder) whose template
    gradebook (:attr:`~diffrn_grading.course.Course.template_gradebook`) holds the assignment.
    """
    from diffrn_grading.course import Course

    course = course if isinstance(course, Course) else Course(course)
    return grade_files(CourseFiles.read(course, assignment), SubmissionFiles.read(course, assignment, student), limits)


def grade_files(course: CourseFiles, submitted: SubmissionFiles, limits: Limits | None = None) -> StudentResult:
    """Autograde and verify one submission given as bytes; the result carries the output files.

    What a grading worker runs, on this machine or on a cluster's: it reads and writes nothing
    but a private folder of its own, removed before it returns.
    """
    from diffrn_grading import speedups
    from diffrn_grading.verify import scan, verify

    speedups.install()
    started = time.monotonic()
    limits = limits or Limits()
    assignment, student = course.assignment, submitted.student
    result = StudentResult(student, ok=False)
    private = Path(tempfile.mkdtemp(prefix=f"diffrn-grade-{student}-"))
    try:
        mine = course.unpack(private, gradebook=speedups.private_gradebook())
        target = mine.submitted_folder(assignment, student)
        write_files(target, submitted.files)
        source = nbformat.read(str(mine.source_notebook(assignment)), as_version=4)
        result.scores = _zero_scores(mine.gradebook_url, assignment)
        try:
            submission = load_submission(target, assignment)
        except SubmissionError as error:
            result.notes.append(str(error))
            return result

        restored = restore_test_cells(submission, source)
        if restored:
            result.notes.append(f"test cells deleted from the notebook were restored: {', '.join(restored)}")
        result.flags = scan(submission)

        nbformat.write(submission, str(target / f"{assignment}.ipynb"))
        timestamp = target / "timestamp.txt"
        result.timestamp = timestamp.read_text().strip() if timestamp.is_file() else ""

        autograded = _autograde(mine, assignment, student, limits)
        if autograded is None:
            # The kernel died or hung for good, so nbgrader has no scores. Each test cell is run
            # on its own instead: zero for what did not run, full marks for what passes.
            verdicts = verify(source, submission, student, cell_timeout=2 * limits.cell_seconds,
                              memory_bytes=limits.memory_bytes, per_cell=True)
            for grade_id, (passed, message) in verdicts.items():
                top = result.scores.get(grade_id, (0.0, 0.0))[1]
                result.scores[grade_id] = (top if passed else 0.0, top)
                if not passed:
                    result.failed_tests.append(grade_id)
                    result.notes.append(f"{grade_id}: {message}; scored 0.")
            result.notes.insert(0, "The notebook could not be run from top to bottom (the kernel hung or "
                                   "stopped), so each test was run on its own.")
            result.ok = True
        else:
            result.scores, result.manual = _read_scores(mine, assignment, student, result.scores)
            result.failed_tests = [gid for gid, (score, top) in result.scores.items()
                                   if gid not in result.manual and score < top]
            graded_notebook = nbformat.read(str(autograded / f"{assignment}.ipynb"), as_version=4)
            _note_limits(graded_notebook, result, limits)
            verdicts = verify(source, graded_notebook, student, timeout=limits.verify_seconds(source),
                              cell_timeout=2 * limits.cell_seconds, memory_bytes=limits.memory_bytes)
            for grade_id, (passed, message) in verdicts.items():
                score, top = result.scores.get(grade_id, (0.0, 0.0))
                if not passed and score > 0:
                    result.scores[grade_id] = (0.0, top)
                    result.flags.append(
                        f"{grade_id} passed inside the notebook's kernel but fails when re-checked in a "
                        f"separate process ({message}); scored 0 — review for tampering."
                    )
                    result.failed_tests.append(grade_id)
            result.autograded = read_files(autograded)
            result.feedback = _feedback(mine, assignment, student, result.scores, limits)
            result.ok = True
    except Exception as error:  # whatever happens to one student, the batch goes on
        result.notes.append(f"grading failed: {type(error).__name__}: {error}")
    finally:
        shutil.rmtree(private, ignore_errors=True)
        result.seconds = time.monotonic() - started
    return result


def _api(private, limits: Limits):
    """nbgrader's API on the private copy of the course, with the course's configuration."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = private.config()
    config.Exchange.root = str(private.exchange)  # never the course's shared one
    config.Execute.timeout = limits.cell_seconds
    config.ForkingExecute.kernel_memory_bytes = limits.memory_bytes
    config.LimitOutput.max_lines = limits.output_lines
    config.GenerateFeedback.exporter_class = "diffrn_grading.feedback.FeedbackHTMLExporter"
    config.Autograde.autograde_preprocessors = _forking_preprocessors(config)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _forking_preprocessors(config) -> list:
    """The course's autograde pipeline, with each kernel forked from a warm zygote (kernels.py)."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    from diffrn_grading.kernels import ForkingExecute, StudentExecute

    steps = (config.Autograde.autograde_preprocessors if "autograde_preprocessors" in config.Autograde
             else Autograde.class_traits()["autograde_preprocessors"].default())
    execute = (Execute, "nbgrader.preprocessors.Execute", "nbgrader.preprocessors.execute.Execute",
               StudentExecute, "diffrn_grading.kernels.StudentExecute")
    return [ForkingExecute if step in execute else step for step in steps]


def _autograde(private, assignment: str, student: str, limits: Limits):
    outcome = _api(private, limits).autograde(assignment, student, force=True, create=True)
    folder = private.autograded_folder(assignment, student)
    if not outcome["success"] or not (folder / f"{assignment}.ipynb").is_file():
        return None
    return folder


def _feedback(private, assignment: str, student: str, scores: dict, limits: Limits) -> dict:
    """Write the final scores into the private gradebook and render the feedback page there.

    Rendering here, in the worker, keeps it parallel; the page shows the same scores the
    parent then records in the real gradebook.
    """
    from nbgrader.api import Gradebook

    with Gradebook(private.gradebook_url) as gradebook:
        for notebook in gradebook.find_submission(assignment, student).notebooks:
            for grade in notebook.grades:
                if grade.name in scores and not (grade.needs_manual_grade and grade.cell.cell_type == "markdown"):
                    grade.auto_score = scores[grade.name][0]
        gradebook.db.commit()
    outcome = _api(private, limits).generate_feedback(assignment, student, force=True)
    folder = private.feedback_folder(assignment, student)
    return read_files(folder) if outcome["success"] and (folder / f"{assignment}.html").is_file() else {}


def _read_scores(private, assignment: str, student: str, scores: dict):
    from nbgrader.api import Gradebook

    manual = []
    scores = dict(scores)
    with Gradebook(private.gradebook_url) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                top = float(grade.max_score)
                if grade.needs_manual_grade and grade.cell.cell_type == "markdown":
                    manual.append(grade.name)
                scores[grade.name] = (float(grade.auto_score or 0.0), top)
    return scores, manual


def _note_limits(notebook, result: StudentResult, limits: Limits) -> None:
    """Say in plain words when a limit, not a wrong answer, cost points."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            name = output.get("ename", "")
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "a cell")
            if name == "CellTimeoutError" or "Timeout" in name:
                result.notes.append(f"{grade_id}: stopped after {limits.cell_seconds} s (an infinite loop?); scored 0.")
            elif name == "MemoryError":
                result.notes.append(f"{grade_id}: ran out of memory (limit {limits.memory_bytes // 2**30} GB); scored 0.")
            elif name in ("DeadKernelError", "SystemExit"):
                result.notes.append(f"{grade_id}: the code stopped the Python kernel ({name}); scored 0.")
