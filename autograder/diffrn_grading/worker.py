"""Grade one submission in isolation: its own folder, its own gradebook copy, its own limits.

:func:`grade_submission` is what a worker process runs for each student. It

1. checks the submitted file is a notebook of the right name and restores test cells the
   student deleted (nbgrader itself restores edited locked cells and ignores changed points);
2. runs ``nbgrader autograde`` through nbgrader's API in a private copy of the course, so
   several students can be graded at once and none of them writes the real gradebook; the
   kernel is forked from a warm zygote (:mod:`diffrn_grading.kernels`);
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

import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat


@dataclass
class Limits:
    """Per-submission limits (seconds, bytes, lines of output).

    ``budget_seconds`` is the wall time of one whole submission: running the notebook in its
    kernel and re-checking its tests together. The kernel gets the budget less a share kept
    for the re-check (:attr:`recheck_seconds`); whatever it leaves goes to the re-check too.
    ``cell_seconds`` limits each cell within that.
    """

    cell_seconds: int = 30
    budget_seconds: int = 60
    memory_bytes: int = 4 * 2**30
    output_lines: int = 1000

    def __post_init__(self):
        if self.budget_seconds < 5:
            raise ValueError(f"a time budget of {self.budget_seconds} s is too short to run a notebook; "
                             "give each submission at least 5 s (the default is 60 s)")
        if not 0 < self.cell_seconds <= self.budget_seconds:
            raise ValueError(f"the cell time limit ({self.cell_seconds} s) must be positive and no longer than "
                             f"the submission's time budget ({self.budget_seconds} s): lower the one or raise the other")

    @property
    def recheck_seconds(self) -> float:
        """The least time the re-check gets, however long the kernel ran."""
        return max(3.0, self.budget_seconds / 5)

    @property
    def overdue_seconds(self) -> float:
        """When a submission's grading is surely stuck (the pool's safety net): the budget, plus
        time for starting, rendering feedback and a busy machine."""
        return self.budget_seconds + 60


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
    timings: dict = field(default_factory=dict)     # phase -> seconds (diffrn_grading.timing)

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


def _changed_written_answers(submission, gradebook_url: str, assignment: str) -> list[str]:
    """The written (markdown) answers the student changed from the release: a person grades them.

    nbgrader decides this while it autogrades (an unchanged answer scores 0 at once); this is
    the same test, by the checksum nbgrader stored for the released cell, for a notebook it
    could not run.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.utils import compute_checksum

    changed = []
    with Gradebook(gradebook_url) as gradebook:
        for cell in submission.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.cell_type != "markdown" or not grade_id:
                continue
            try:
                released = gradebook.find_source_cell(grade_id, assignment, assignment)
                graded = gradebook.find_grade_cell(grade_id, assignment, assignment)
                gradebook.find_solution_cell(grade_id, assignment, assignment)
            except MissingEntry:  # not a written answer graded by hand
                continue
            # The checksum covers the cell's nbgrader metadata too: take the release's, as nbgrader does.
            copy = nbformat.from_dict(json.loads(json.dumps(cell)))
            copy.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": released.locked,
                                         "grade_id": grade_id, "points": graded.max_score}
            if compute_checksum(copy) != released.checksum:
                changed.append(grade_id)
    return changed


_ZERO_SCORES: dict[tuple[str, str], dict] = {}


def _zero_scores(course: CourseFiles, gradebook_url: str) -> dict:
    """Every grade cell of the assignment with no points yet: grade_id -> (0, max_score).

    The same for every submission graded against ``course``, so read once per gradebook snapshot
    (``gradebook_url`` holds a copy of it).
    """
    from nbgrader.api import Gradebook

    key = (course.assignment, hashlib.sha256(course.gradebook).hexdigest())
    if key not in _ZERO_SCORES:
        with Gradebook(gradebook_url) as gradebook:
            found = gradebook.find_assignment(course.assignment)
            _ZERO_SCORES[key] = {cell.name: (0.0, float(cell.max_score)) for notebook in found.notebooks
                                 for cell in notebook.grade_cells}
    return dict(_ZERO_SCORES[key])


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
    from diffrn_grading import speedups, timing
    from diffrn_grading.kernels import NOT_RUN_KERNEL_STOPPED
    from diffrn_grading.verify import ran_out_of_time, scan
    from diffrn_grading.verify import verify as recheck

    speedups.install()
    started = time.monotonic()
    stopwatch = timing.start()

    def verify(*args, **kwargs):
        with stopwatch.phase("recheck"):
            return recheck(*args, **kwargs)

    limits = limits or Limits()
    assignment, student = course.assignment, submitted.student
    result = StudentResult(student, ok=False)
    private = Path(tempfile.mkdtemp(prefix=f"diffrn-grade-{student}-"))
    try:
        with stopwatch.phase("unpack"):
            mine = course.unpack(private, gradebook=speedups.private_gradebook())
            target = mine.submitted_folder(assignment, student)
            write_files(target, submitted.files)
            source = nbformat.read(str(mine.source_notebook(assignment)), as_version=4)
            result.scores = _zero_scores(course, mine.gradebook_url)
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

        deadline = started + limits.budget_seconds
        autograded, why_not = _autograde(mine, assignment, student, limits, deadline - limits.recheck_seconds)
        recheck_seconds = max(limits.recheck_seconds, deadline - time.monotonic())
        if autograded is None:
            # The kernel died or hung for good, so nbgrader has no scores. Each test cell is run
            # on its own instead: zero for what did not run, full marks for what passes.
            verdicts = verify(source, submission, student, seconds=recheck_seconds, cell_timeout=limits.cell_seconds,
                              memory_bytes=limits.memory_bytes, per_cell=True)
            for grade_id, (passed, message) in verdicts.items():
                top = result.scores.get(grade_id, (0.0, 0.0))[1]
                result.scores[grade_id] = (top if passed else 0.0, top)
                if not passed:
                    result.failed_tests.append(grade_id)
                    result.notes.append(f"{grade_id}: {message}; scored 0.")
            result.flags += _refused_import_flags(verdicts)
            result.manual = _changed_written_answers(submission, mine.gradebook_url, assignment)
            result.flags.append(f"nbgrader could not run the notebook ({why_not}); each test was re-checked on its own")
            result.notes.insert(0, "The notebook could not be run from top to bottom (the kernel hung or "
                                   "stopped), so each test was run on its own.")
            result.ok = True
        else:
            result.scores, result.manual = _read_scores(mine, assignment, student, result.scores)
            result.failed_tests = [gid for gid, (score, top) in result.scores.items()
                                   if gid not in result.manual and score < top]
            graded_notebook = nbformat.read(str(autograded / f"{assignment}.ipynb"), as_version=4)
            _note_limits(graded_notebook, result, limits)
            not_run = _not_run_tests(graded_notebook)
            stopped = {grade_id for grade_id, why in not_run.items() if why == NOT_RUN_KERNEL_STOPPED}
            # The tests the kernel ran are confirmed with the code it ran to the end; the tests it
            # could not run after stopping a kernel early are judged with all the rest of the code.
            recheck_deadline = time.monotonic() + recheck_seconds
            verdicts = verify(source, _recheck_code(graded_notebook, keep_not_run=False), student,
                              seconds=recheck_seconds / 2 if stopped else recheck_seconds,
                              cell_timeout=limits.cell_seconds, memory_bytes=limits.memory_bytes,
                              only=set(result.scores) - set(not_run))
            if stopped:
                verdicts.update(verify(source, _recheck_code(graded_notebook, keep_not_run=True), student,
                                       seconds=max(1.0, recheck_deadline - time.monotonic()),
                                       cell_timeout=limits.cell_seconds, memory_bytes=limits.memory_bytes,
                                       only=stopped))
            tampered = set()  # flagged for passing in the kernel only: the flag quotes the re-check
            for grade_id, (passed, message) in verdicts.items():
                score, top = result.scores.get(grade_id, (0.0, 0.0))
                if not_run.get(grade_id) == NOT_RUN_KERNEL_STOPPED:
                    # The kernel was stopped early, not out of time: this test is judged by the re-check alone.
                    result.scores[grade_id] = (top if passed else 0.0, top)
                    if passed and grade_id in result.failed_tests:
                        result.failed_tests.remove(grade_id)
                    elif not passed:
                        result.notes.append(f"{grade_id}: {message}; scored 0.")
                elif not passed and score > 0:
                    result.scores[grade_id] = (0.0, top)
                    if ran_out_of_time(message):
                        result.notes.append(f"{grade_id}: passed in the notebook, but its re-check in a separate "
                                            f"process {message}; scored 0.")
                    result.flags.append(
                        f"{grade_id} passed inside the notebook's kernel but fails when re-checked in a "
                        f"separate process ({message}); scored 0 — review for tampering."
                    )
                    result.failed_tests.append(grade_id)
                    tampered.add(grade_id)
            result.flags += _refused_import_flags(verdicts, flagged=tampered)
            with stopwatch.phase("feedback"):
                result.feedback = _feedback(mine, assignment, student, result.scores, limits)
            with stopwatch.phase("pack"):
                result.autograded = read_files(autograded)
            result.ok = True
    except Exception as error:  # whatever happens to one student, the batch goes on
        result.notes.append(f"grading failed: {type(error).__name__}: {error}")
    finally:
        shutil.rmtree(private, ignore_errors=True)
        result.seconds = time.monotonic() - started
        result.timings = _phases(stopwatch.seconds)
    return result


def _refused_import_flags(verdicts: dict, flagged: set = frozenset()) -> list[str]:
    """Review flags for the functions the re-check caught importing what answers may not use
    (an import built at run time, which the scan of the code cannot see), but those in ``flagged``."""
    from diffrn_grading.verify import refused_import

    return [f"{grade_id}: {message}" for grade_id, (passed, message) in verdicts.items()
            if not passed and grade_id not in flagged and refused_import(message)]


def _phases(seconds: dict) -> dict:
    """The stopwatch's phases, with nbgrader's own steps apart from the kernel's."""
    phases = dict(seconds)
    # "notebook" was timed around the whole Execute step, the kernel's start and stop included.
    execute = phases.get("notebook", 0.0)
    phases["notebook"] = max(0.0, execute - phases.get("kernel_start", 0.0) - phases.get("kernel_stop", 0.0))
    if "nbgrader" in phases:
        phases["nbgrader"] = max(0.0, phases["nbgrader"] - execute)
    return phases


def _api(private, limits: Limits, deadline: float | None = None):
    """nbgrader's API on the private copy of the course, with the course's configuration;
    notebooks it runs stop at ``deadline`` (``time.monotonic()``)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = private.config()
    config.Exchange.root = str(private.exchange)  # never the course's shared one
    config.Execute.timeout = limits.cell_seconds
    config.ForkingExecute.kernel_memory_bytes = limits.memory_bytes
    config.ForkingExecute.deadline = deadline
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


def _autograde(private, assignment: str, student: str, limits: Limits, deadline: float):
    """nbgrader autograde in the private course; the notebook's cells stop at ``deadline``
    (``time.monotonic()``). The autograded folder, or None and why nbgrader failed."""
    from diffrn_grading import timing

    with timing.phase("nbgrader"):  # the Execute step's phases are subtracted later
        outcome = _api(private, limits, deadline).autograde(assignment, student, force=True, create=True)
    folder = private.autograded_folder(assignment, student)
    if not outcome["success"] or not (folder / f"{assignment}.ipynb").is_file():
        return None, _why_nbgrader_failed(outcome)
    return folder, ""


def _why_nbgrader_failed(outcome: dict) -> str:
    """nbgrader's own words on a failed autograde, short: its first error line, else the
    exception that ended it."""
    errors = [line[len("[ERROR]"):].strip() for line in (outcome.get("log") or "").splitlines()
              if line.startswith("[ERROR]") and len(line) > len("[ERROR]") + 1]
    trace = [line.strip() for line in (outcome.get("error") or "").splitlines() if line.strip()]
    why = errors[0] if errors else trace[-1] if trace else "no error was reported"
    return why if len(why) <= 300 else why[:297] + "..."


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


def _recheck_code(notebook, keep_not_run: bool):
    """The notebook without the cells the re-check must not run: those that timed out in the kernel
    (it abandoned them, and the re-check would only loop again) and, unless ``keep_not_run``,
    those the kernel did not run at all."""
    from diffrn_grading.kernels import NOT_RUN_BUDGET, NOT_RUN_KERNEL_STOPPED

    left_out = {"CellTimeoutError"} | (set() if keep_not_run else {NOT_RUN_BUDGET, NOT_RUN_KERNEL_STOPPED})
    copy = nbformat.from_dict(json.loads(json.dumps(notebook)))
    copy.cells = [cell for cell in copy.cells
                  if not left_out & {output.get("ename") for output in cell.get("outputs", [])}]
    return copy


def _not_run_tests(notebook) -> dict[str, str]:
    """Test cells the kernel did not run (grade_id -> NOT_RUN_BUDGET or NOT_RUN_KERNEL_STOPPED)."""
    from diffrn_grading.kernels import NOT_RUN_BUDGET, NOT_RUN_KERNEL_STOPPED

    found = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        for output in cell.get("outputs", []):
            if meta.get("grade") and output.get("ename") in (NOT_RUN_BUDGET, NOT_RUN_KERNEL_STOPPED):
                found[meta["grade_id"]] = output["ename"]
    return found


def _note_limits(notebook, result: StudentResult, limits: Limits) -> None:
    """Say in plain words when a limit, not a wrong answer, cost points."""
    from diffrn_grading.kernels import NOT_RUN_BUDGET, NOT_RUN_KERNEL_STOPPED, cell_label

    code = [(cell_label(cell, index), [o.get("ename", "") for o in cell.get("outputs", [])])
            for index, cell in enumerate(notebook.cells) if cell.cell_type == "code" and cell.source.strip()]
    stop = next((position for position, (_, names) in enumerate(code)
                 if NOT_RUN_BUDGET in names or NOT_RUN_KERNEL_STOPPED in names), len(code))
    for position, (label, names) in enumerate(code[:stop]):
        if any("Timeout" in name for name in names):
            if position + 1 < stop or stop == len(code):  # else the note below says what stopped there
                result.notes.append(f"{label}: stopped after {limits.cell_seconds} s (an infinite loop?); scored 0.")
        elif "MemoryError" in names:
            result.notes.append(f"{label}: ran out of memory (limit {limits.memory_bytes // 2**30} GB); scored 0.")
        elif "DeadKernelError" in names or "SystemExit" in names:
            name = "SystemExit" if "SystemExit" in names else "DeadKernelError"
            result.notes.append(f"{label}: the code stopped the Python kernel ({name}); scored 0.")
    if stop == len(code):
        return
    last = code[stop - 1][0] if stop else "the first cell"
    why = NOT_RUN_BUDGET if NOT_RUN_BUDGET in code[stop][1] else NOT_RUN_KERNEL_STOPPED
    tests = [grade_id for grade_id, reason in _not_run_tests(notebook).items() if reason == why]
    if why == NOT_RUN_BUDGET:
        note = (f"The notebook used its {limits.budget_seconds} s time budget in {last}; "
                + (f"the tests after it were not run and score 0: {', '.join(tests)}." if tests
                   else "the cells after it were not run."))
    else:
        note = (f"{last} was still running after its {limits.cell_seconds} s limit and did not stop when "
                "interrupted (an infinite loop that ignores interrupts?), so its kernel was stopped; scored 0. "
                "The tests after it were judged by the re-check alone, in a separate process.")
    result.notes.append(note)
    result.flags.append(f"grading was cut short: {note}")  # the instructor may want to look at it