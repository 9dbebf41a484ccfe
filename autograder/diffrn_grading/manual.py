"""After the autograder: written answers graded by a person, and feedback rendered again.

Every problem set ends with a written answer (a markdown cell with nbgrader's ``grade`` and
``solution`` metadata). ``make grade`` leaves it at "needs manual grading"; the instructor
scores it and comments in formgrader, nbgrader's web interface (``jupyter server`` or
JupyterLab from ``autograder/``, then the Formgrader page). ``make feedback A=<ps>`` then
renders every student's feedback page again, so that it shows the manual score and the
comment, and says how many written answers are still waiting.
"""
from __future__ import annotations

from pathlib import Path

from diffrn_grading.course import Course, GradingError


def pending_manual_grades(course: Course, assignment: str) -> dict[str, list[str]]:
    """Student id -> grade ids of ``assignment`` that still need a person's score."""
    from nbgrader.api import Gradebook, MissingEntry

    if not course.gradebook_path.exists():
        return {}
    waiting: dict[str, list[str]] = {}
    with Gradebook(course.gradebook_url) as gradebook:
        try:
            submissions = gradebook.find_assignment(assignment).submissions
        except MissingEntry:
            return {}
        for submission in submissions:
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.needs_manual_grade:
                        waiting.setdefault(submission.student.id, []).append(grade.name)
    return waiting


def waiting_text(waiting: dict[str, list[str]]) -> str:
    """One line for the instructor: how many written answers wait, of how many students."""
    count = sum(len(names) for names in waiting.values())
    if not count:
        return "no written answers wait for manual grading"
    return (f"{count} written answer{'s' if count != 1 else ''} of {len(waiting)} "
            f"student{'s' if len(waiting) != 1 else ''} still wait{'s' if count == 1 else ''} for manual "
            "grading (formgrader: Manage Assignments → the problem set → the submission)")


def regenerate_feedback(course: Course, assignment: str) -> list[Path]:
    """Render every graded student's feedback page again from the gradebook (manual scores too).

    Pages come from ``autograded/`` exactly as ``make grade`` makes them (hidden tests
    removed, the grader's notes added); returns the pages written.
    """
    from nbgrader.api import Gradebook, MissingEntry

    from diffrn_grading.batch import _append_notes_to_feedback

    with Gradebook(course.gradebook_url) as gradebook:
        try:
            students = sorted(s.student.id for s in gradebook.find_assignment(assignment).submissions)
        except MissingEntry:
            raise GradingError(f"the gradebook has no {assignment}: release and grade it first") from None
    students = [s for s in students if course.autograded_notebook(assignment, s).is_file()]
    if not students:
        raise GradingError(f"no graded submissions of {assignment} in {course.autograded_root}: "
                           f"run `make grade A={assignment}` first")
    api = course.api()
    api.config.GenerateFeedback.exporter_class = "diffrn_grading.feedback.FeedbackHTMLExporter"
    outcome = api.generate_feedback(assignment, force=True)
    if not outcome["success"]:
        raise GradingError(f"nbgrader could not render the feedback of {assignment}:\n"
                           f"{outcome.get('log')}\n{outcome.get('error')}")
    pages = []
    for student in students:
        _append_notes_to_feedback(course, assignment, student)
        page = course.feedback(assignment, student)
        if page.is_file():
            pages.append(page)
    return pages
