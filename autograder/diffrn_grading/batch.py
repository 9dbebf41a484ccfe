"""Grade a whole class: parallel, resumable, one writer to the gradebook.

``grade_assignment(course, "ps1-jacobians", jobs=2)``:

* hands each submission to a worker process (:func:`diffrn_grading.worker.grade_files`),
  several at once, each with a wall-clock limit; a worker that overruns is killed and the
  student gets zero with the reason, and a fresh worker takes over;
* records each result in the gradebook from this process only, in one transaction per
  student, then marks the student done; an interrupted batch (Ctrl-C, kill -9) rerun
  grades only the students not yet marked done, and ends with the same gradebook;
* writes one feedback HTML per student (hidden tests removed), grades.csv in nbgrader's export
  format, and a report: per-test pass rates, review flags and a histogram of scores.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from diffrn_grading.course import Course, GradingError, export_grades, release
from diffrn_grading.worker import CourseFiles, Limits, StudentResult, SubmissionFiles, grade_files, write_files
from diffrn_grading.zygote import shared_zygote



@dataclass
class Summary:
    """What a batch did, for the instructor and for tests."""

    assignment: str
    graded: dict = field(default_factory=dict)      # student -> total score
    failed: dict = field(default_factory=dict)      # student -> reason (graded zero)
    skipped: list = field(default_factory=list)     # already graded in an earlier run
    flagged: dict = field(default_factory=dict)     # student -> review flags
    warnings: list = field(default_factory=list)    # about the batch as a whole
    waiting: dict = field(default_factory=dict)     # student -> written answers to grade by hand
    max_score: float = 0.0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every submission was graded (none scored zero because it could not be)."""
        return not self.failed

    def scores(self) -> list[float]:
        return list(self.graded.values()) + [0.0 for _ in self.failed]


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _done_marker(course: Course, assignment: str, student: str) -> Path:
    return course.done_marker(assignment, student)


def _already_graded(course: Course, assignment: str, student: str, fingerprint: str, recorded: set[str]) -> bool:
    """Whether an earlier run graded this very submission and the gradebook still holds it.

    The gradebook decides: a marker for a student it lacks (the gradebook was deleted,
    restored from a backup, or the run was cut off before recording) does not count.
    """
    if student not in recorded:
        return False
    marker = _done_marker(course, assignment, student)
    try:
        return json.loads(marker.read_text())["fingerprint"] == fingerprint
    except (OSError, ValueError, KeyError):
        return False


def _recorded(course: Course, assignment: str) -> set[str]:
    """Students whose submission of ``assignment`` the gradebook holds, with grades."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.gradebook_url) as gradebook:
        try:
            submissions = gradebook.find_assignment(assignment).submissions
        except MissingEntry:
            return set()
        return {submission.student_id for submission in submissions
                if any(notebook.grades for notebook in submission.notebooks)}


# What the gradebook holds about students and their work; a worker needs none of it.
SUBMISSION_TABLES = ("grade", "comment", "submitted_notebook", "submitted_assignment", "student")


def _template_gradebook(course: Course, assignment: str) -> Path:
    """A snapshot of the gradebook holding the assignment, for workers to copy.

    Without any student or submission: every worker copies it once per submission, and a
    term's gradebook grows with every one graded.
    """
    import sqlite3

    snapshot = course.template_gradebook
    snapshot.parent.mkdir(exist_ok=True)
    source = sqlite3.connect(str(course.gradebook_path))
    target = sqlite3.connect(str(snapshot))
    with target:
        source.backup(target)
        for table in SUBMISSION_TABLES:
            target.execute(f"DELETE FROM {table}")
    target.execute("VACUUM")
    source.close()
    target.close()
    return snapshot


def _record(course: Course, gradebook, assignment: str, result: StudentResult, fingerprint: str) -> None:
    """Write one student's result: autograded files, then grades in one transaction, then the marker."""
    started = time.perf_counter()
    graded_folder = course.autograded_folder(assignment, result.student)
    if result.autograded:
        if graded_folder.exists():
            shutil.rmtree(graded_folder)
        write_files(graded_folder, result.autograded)
    else:
        graded_folder.mkdir(parents=True, exist_ok=True)
        _placeholder_notebook(course, assignment, result.student, graded_folder)

    feedback_folder = course.feedback_folder(assignment, result.student)
    if feedback_folder.exists():
        shutil.rmtree(feedback_folder)
    if result.feedback:
        write_files(feedback_folder, result.feedback)
    with warnings.catch_warnings():
        # nbgrader's own update_or_create_submission trips SQLAlchemy's autoflush warnings.
        warnings.simplefilter("ignore")
        gradebook.update_or_create_student(result.student)
        submission = gradebook.update_or_create_submission(assignment, result.student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.name in result.manual:
                    grade.needs_manual_grade = True  # as nbgrader's own autograde: a person looks again
                elif grade.name in result.scores:
                    grade.auto_score = result.scores[grade.name][0]
                    grade.needs_manual_grade = False
        for notebook in submission.notebooks:
            for comment in notebook.comments:
                if comment.auto_comment is None:
                    comment.auto_comment = "No response." if not result.ok else None
        gradebook.db.commit()
    marker = _done_marker(course, assignment, result.student)
    marker.parent.mkdir(parents=True, exist_ok=True)
    _append_notes_to_feedback(course, assignment, result.student, result.notes)
    timings = dict(result.timings, record=time.perf_counter() - started)
    marker.write_text(json.dumps({
        "fingerprint": fingerprint, "ok": result.ok, "notes": result.notes, "flags": result.flags,
        "failed_tests": result.failed_tests, "scores": result.scores,
        "seconds": result.seconds, "timings": timings,
    }, indent=1))


def _placeholder_notebook(course: Course, assignment: str, student: str, folder: Path) -> None:
    """For a notebook nbgrader could not run: the student's own (or, if unreadable, the release).

    Feedback is rendered from it, with the grader's notes saying what happened.
    """
    import nbformat

    target = folder / f"{assignment}.ipynb"
    try:
        notebook = nbformat.read(str(course.submitted_folder(assignment, student) / target.name), as_version=4)
        nbformat.write(notebook, str(target))
    except Exception:  # corrupt, empty or missing: nothing of the student's can be shown
        shutil.copy(course.release_notebook(assignment), target)


def _worker_init(memory_bytes: int, scratch: str, zygote: str | None) -> None:
    import resource

    from diffrn_grading.zygote import ENVIRONMENT, die_with_parent, use_shared

    os.setsid()  # own process group: a runaway kernel can be killed with its worker
    die_with_parent()  # and if the batch itself is killed, its workers go too
    os.environ.update(ENVIRONMENT)  # one BLAS thread per kernel: the workers share the cores
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # Every temporary folder of this worker, its zygote, kernels and re-checks goes below the
    # batch's scratch folder, which the batch removes: a worker ends without running atexit,
    # and a killed kernel or re-check leaves its folder behind.
    os.environ["TMPDIR"] = tempfile.tempdir = scratch
    use_shared(zygote)  # the batch's, if it has one (else each worker starts its own)


class _Progress:
    """done/total, rate and time left on one line (tqdm when the output is a terminal)."""

    def __init__(self, total: int, label: str):
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=label, unit="nb", file=sys.stderr, dynamic_ncols=True,
                        mininterval=0.5, disable=total == 0)

    def update(self, student: str):
        self.bar.set_postfix_str(student[:20])
        self.bar.update(1)

    def close(self):
        self.bar.close()


def grade_assignment(course: Course, assignment: str, jobs: int | None = None,
                     limits: Limits | None = None, quiet: bool = False, cluster: str | None = None) -> Summary:
    """Autograde every submission of ``assignment``; see the module docstring.

    ``cluster``, a Dask scheduler's address (``tcp://host:8786``), grades on that cluster's
    workers instead of ``jobs`` local processes (:mod:`diffrn_grading.cluster`); everything
    else, the gradebook, feedback, report and resuming, is the same.
    """
    if not cluster:
        return _grade(course, assignment, jobs, limits, quiet, client=None)
    from diffrn_grading.cluster import connect

    client = connect(cluster)  # before any work: a wrong address or unready workers are reported at once
    try:
        return _grade(course, assignment, jobs, limits, quiet, client)
    finally:
        client.close()


def _grade(course: Course, assignment: str, jobs: int | None, limits: Limits | None, quiet: bool,
           client) -> Summary:
    from diffrn_grading import speedups

    started = time.monotonic()
    with _local_workers(client) as (context, scratch, zygote):
        speedups.install()
        limits = limits or Limits()
        release(course, assignment)
        submissions = course.submitted(assignment)
        if not submissions:
            raise GradingError(
                f"no submissions for {assignment} in {course.submitted_root}: expected "
                f"submitted/<student>/{assignment}/{assignment}.ipynb (see `collect` for LMS downloads)"
            )
        summary = Summary(assignment)
        from diffrn_grading.confine import available as confinement_available

        if client is None and not confinement_available():
            summary.warnings.append(
                "this machine cannot confine kernels (Landlock needs Linux 5.13 or later), so student code "
                "could read instructor files; grade on Linux for that protection, and check the review flags."
            )
        from diffrn_grading.zygote import isolation_available

        if client is None and not isolation_available():
            summary.warnings.append(
                "this machine cannot give kernels a PID namespace of their own (Linux user namespaces are "
                "off), so a process student code detaches from its session could outlive grading."
            )
        if client is not None:
            from diffrn_grading.cluster import worker_warnings

            summary.warnings += worker_warnings(client)
        recorded = _recorded(course, assignment)
        pending = {}
        for student, notebook in submissions.items():
            fingerprint = _fingerprint(notebook.parent)
            if _already_graded(course, assignment, student, fingerprint, recorded):
                summary.skipped.append(student)
            else:
                pending[student] = fingerprint

        _template_gradebook(course, assignment)
        jobs = max(1, min(jobs or default_jobs(), len(pending) or 1))
        from nbgrader.api import Gradebook

        progress = _Progress(len(pending), f"grading {assignment}")
        try:
            with Gradebook(course.gradebook_url) as gradebook:
                if client is not None:
                    from diffrn_grading.cluster import grade_on_cluster

                    results = grade_on_cluster(client, course, assignment, list(pending), limits)
                else:
                    results = _run_pool(context, course, assignment, list(pending), jobs, limits, scratch, zygote)
                for result in results:
                    _record(course, gradebook, assignment, result, pending[result.student])
                    progress.update(result.student)
        finally:
            progress.close()

    _feedback(course, assignment, list(pending))
    export_grades(course)
    _summarize(course, assignment, summary, list(submissions))
    summary.seconds = time.monotonic() - started
    from diffrn_grading.report import write_report

    write_report(course, assignment, summary)
    if not quiet:
        print(summary_text(summary))
    return summary


@contextlib.contextmanager
def _local_workers(client):
    """What local workers need, started first so that it gets ready while the batch does: the
    fork server they come from, the scratch folder that holds every temporary folder of theirs
    (removed however the batch ends, see _worker_init), and the zygote their kernels are forked
    from, with its address. Nothing for a Dask cluster's workers."""
    if client is not None:
        yield None, None, None
        return
    with tempfile.TemporaryDirectory(prefix="diffrn-batch-", ignore_cleanup_errors=True) as scratch, \
            shared_zygote(scratch) as zygote:
        yield _pool_context(), scratch, zygote


def default_jobs() -> int:
    """Two grading workers per core: a worker waits on its kernel's messages about half the time."""
    return 2 * (os.cpu_count() or 1)


def _pool_context():
    """The fork server the workers come from, started (it imports nbgrader in the background).

    A fork server that has imported nbgrader once (and warmed its caches, see
    :mod:`diffrn_grading.preload`) starts each worker in milliseconds, and unlike a plain fork it
    never copies this process's threads or open gradebook.
    """
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["diffrn_grading.worker", "diffrn_grading.verify", "diffrn_grading.kernels",
                                    "nbgrader.apps", "nbgrader.api", "nbconvert", "jupyter_client",
                                    "diffrn_grading.preload"])
    forkserver.ensure_running()
    return context


def _run_pool(context, course, assignment, students, jobs, limits, scratch, zygote):
    """Yield a StudentResult per student; a stuck or crashed worker costs only its own student.

    A pool cannot cancel one running task, so an overdue notebook ends the whole pool: its
    student gets zero and the others in flight start again. When a worker dies, it is not
    known whose notebook killed it, so everyone in flight is graded again alone, where a
    crash can be attributed.
    """
    from collections import deque

    shared = CourseFiles.read(course, assignment)
    queue, alone = deque(students), deque()
    while queue or alone:
        batch, width = (queue, jobs) if queue else (alone, 1)
        pool = ProcessPoolExecutor(max_workers=width, mp_context=context, initializer=_worker_init,
                                   initargs=(limits.memory_bytes, scratch, zygote))
        running = {}
        try:
            while batch or running:
                while batch and len(running) < width:
                    student = batch.popleft()
                    submitted = SubmissionFiles.read(course, assignment, student)
                    future = pool.submit(grade_files, shared, submitted, limits)
                    running[future] = (student, time.monotonic())
                done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    student, _ = running.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        running[future] = (student, 0.0)
                        raise
                    except Exception as error:
                        yield _failure(student, f"grading crashed: {type(error).__name__}: {error}")
                # Workers keep each submission within its budget; this is the net under that.
                overdue = [f for f, (_, t0) in running.items()
                           if time.monotonic() - t0 > limits.overdue_seconds]
                if overdue:
                    student = running.pop(overdue[0])[0]
                    batch.extendleft(s for s, _ in running.values())
                    running.clear()
                    _kill_pool(pool)
                    yield _failure(student, f"grading this notebook took longer than "
                                            f"{limits.overdue_seconds:.0f} s and was stopped; "
                                            "every test counts as failed.")
                    break
        except BrokenProcessPool:
            in_flight = [s for s, _ in running.values()]
            if width == 1:
                for student in in_flight:
                    yield _failure(student, "the notebook crashed the grading process; "
                                            "every test counts as failed.")
            else:
                alone.extend(in_flight)
        finally:
            if running:  # interrupted (Ctrl-C) or broken: end the workers still grading
                _kill_pool(pool)
            # Then wait for every worker to exit, so that none outlives the batch.
            pool.shutdown(wait=True, cancel_futures=True)


def _kill_pool(pool) -> None:
    import signal

    for process in list(getattr(pool, "_processes", {}).values()):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _failure(student: str, reason: str) -> StudentResult:
    result = StudentResult(student, ok=False)
    result.notes.append(reason)
    return result


def _feedback(course: Course, assignment: str, students: list[str]) -> None:
    """Feedback of this run's students: workers rendered most pages; render the rest here."""
    api = None
    for student in students:
        if not course.feedback(assignment, student).is_file():
            api = api or course.api()
            api.generate_feedback(assignment, student, force=True)
            _append_notes_to_feedback(course, assignment, student)


def _append_notes_to_feedback(course: Course, assignment: str, student: str, notes: list | None = None) -> None:
    """Add the grader's notes (limits hit, restored cells, zero reasons) to the feedback page.

    ``notes`` default to those of the student's done marker."""
    import html

    marker = _done_marker(course, assignment, student)
    page = course.feedback(assignment, student)
    if notes is None:
        notes = json.loads(marker.read_text()).get("notes", []) if marker.is_file() else []
    if not page.is_file():
        return
    if not notes:
        return
    items = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    box = (f'<div style="border:2px solid #b35900;padding:0.5em 1em;margin:1em">'
           f"<strong>Notes from the grader</strong><ul>{items}</ul></div>")
    text = page.read_text()
    page.write_text(text.replace("<body>", "<body>" + box, 1) if "<body>" in text else box + text)


def _summarize(course: Course, assignment: str, summary: Summary, students: list[str]) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(course.gradebook_url) as gradebook:
        summary.max_score = float(gradebook.find_assignment(assignment).max_score)
        for student in students:
            submission = gradebook.find_submission(assignment, student)
            marker = _done_marker(course, assignment, student)
            record = json.loads(marker.read_text()) if marker.is_file() else {"ok": False, "notes": ["not graded"]}
            if record.get("flags"):
                summary.flagged[student] = record["flags"]
            waiting = [g.name for n in submission.notebooks for g in n.grades if g.needs_manual_grade]
            if waiting:
                summary.waiting[student] = waiting
            if record.get("ok"):
                summary.graded[student] = float(submission.score)
            else:
                summary.failed[student] = "; ".join(record.get("notes", [])) or "could not be graded"


def summary_text(summary: Summary) -> str:
    scores = summary.scores()
    lines = [
        f"{summary.assignment}: {len(summary.graded)} graded, {len(summary.failed)} failed "
        f"(scored 0), {len(summary.skipped)} already graded earlier, in {summary.seconds:.1f} s",
    ]
    if scores:
        lines.append(f"  mean {statistics.mean(scores):.2f} / {summary.max_score:g}, "
                     f"median {statistics.median(scores):.2f}")
    for warning in summary.warnings:
        lines.append(f"  warning: {warning}")
    from diffrn_grading.manual import waiting_text

    lines.append(f"  {waiting_text(summary.waiting)}")
    for student, reason in sorted(summary.failed.items()):
        lines.append(f"  failed {student}: {reason}")
    for student, flags in sorted(summary.flagged.items()):
        lines.append(f"  review {student}: {flags[0]}" + (f" (+{len(flags) - 1} more)" if len(flags) > 1 else ""))
    return "\n".join(lines)
