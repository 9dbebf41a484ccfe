"""The grader's speed-ups change nothing a student or an instructor sees."""
from __future__ import annotations

import base64

import jsonschema
import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter

from diffrn_grading import speedups
from diffrn_grading.feedback import FeedbackHTMLExporter

PIXEL = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


def _notebook_with_images():
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    plot = nbformat.v4.new_code_cell("plot()")
    plot.outputs = [nbformat.v4.new_output("display_data", data={"image/png": PIXEL, "text/plain": "<Figure>"})]
    page = nbformat.v4.new_code_cell("show()")
    page.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": '<div class="x"><img src="a.png"><img src="b.png" alt="a chart"/></div>'})]
    notebook.cells = [nbformat.v4.new_markdown_cell("# Title\n\n![](c.png)"), plot, page,
                      nbformat.v4.new_code_cell("print('no output')")]
    return notebook


def test_feedback_page_is_the_document_nbconvert_writes():
    notebook = _notebook_with_images()
    ours, _ = FeedbackHTMLExporter().from_notebook_node(notebook)
    theirs, _ = HTMLExporter().from_notebook_node(notebook)
    assert BeautifulSoup(ours, "html.parser") == BeautifulSoup(theirs, "html.parser")
    soup = BeautifulSoup(ours, "html.parser")
    assert all(image.has_attr("alt") for image in soup.find_all("img")), "every image has alternative text"
    assert soup.find("img", alt="a chart"), "an image's own alternative text is kept"
    assert soup.select("div.jp-OutputArea-output[tabindex='0']"), "outputs are reachable by keyboard"


def test_cached_schema_validation_raises_what_jsonschema_raises():
    validation = speedups._SchemaValidation()
    schema = {"type": "object", "properties": {"points": {"type": "number", "minimum": 0}},
              "required": ["points"]}
    validation.validate({"points": 2}, schema)
    for bad in ({"points": -1}, {"points": "two"}, {}):
        with pytest.raises(jsonschema.ValidationError) as ours:
            validation.validate(bad, schema)
        with pytest.raises(jsonschema.ValidationError) as theirs:
            jsonschema.validate(bad, schema)
        assert ours.value.message == theirs.value.message
    with pytest.raises(jsonschema.SchemaError):
        validation.validate({}, {"type": "no such type"})


def test_one_engine_per_gradebook_and_files_replaced_between_uses_are_reread(tmp_path, monkeypatch):
    import os
    import shutil
    import sys

    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}")  # alembic
    speedups.install()
    first, second = tmp_path / "first.db", tmp_path / "gradebook.db"
    with Gradebook(f"sqlite:///{first}") as gradebook:
        gradebook.add_student("ada")
    with Gradebook(f"sqlite:///{second}") as gradebook:
        engine = gradebook.engine
        gradebook.add_student("grace")
    shutil.copy(first, second)  # as a worker replaces its private gradebook for the next student
    with Gradebook(f"sqlite:///{second}") as gradebook:
        assert gradebook.engine is engine
        assert [student.id for student in gradebook.students] == ["ada"]


def test_each_graded_submission_says_where_its_time_went(course):
    import json
    import sqlite3

    from corpus import Submission
    from diffrn_grading.batch import grade_assignment
    from diffrn_grading.timing import PHASES

    course.hand_in(Submission("ada", 10), Submission("grace", 10))
    grade_assignment(course.course, course.assignment, jobs=2, quiet=True)
    assert course.grades() == {"ada": 10.0, "grace": 10.0}
    for student in ("ada", "grace"):
        record = json.loads(course.course.done_marker(course.assignment, student).read_text())
        timings = record["timings"]
        assert set(timings) == set(PHASES), f"every phase is timed: {sorted(timings)}"
        assert all(seconds >= 0 for seconds in timings.values())
        assert timings["notebook"] > 0 and timings["kernel_start"] > 0 and timings["recheck"] > 0
        worker = sum(seconds for phase, seconds in timings.items() if phase != "record")
        assert worker <= record["seconds"] + 0.05, "the phases are parts of the submission's time"
    with sqlite3.connect(str(course.course.template_gradebook)) as template:
        assert template.execute("SELECT count(*) FROM student").fetchone() == (0,), \
            "workers get the problem sets without anybody's work"
        assert template.execute("SELECT count(*) FROM grade_cells").fetchone()[0] > 0


def test_repeated_cells_render_as_nbconvert_renders_them_whatever_their_metadata():
    first, again = _notebook_with_images(), _notebook_with_images()
    # What differs between two students' pages: run times, a magic's language, attached images.
    for cell in again.cells:
        cell.metadata["execution"] = {"iopub.execute_input": "2026-11-29T10:00:00Z"}
    again.cells[1].metadata["magics_language"] = "bash"
    for notebook, image in ((first, PIXEL), (again, "iVBORw0KGgo=")):
        notebook.cells[0].source = "# Title\n\n![](attachment:c.png)"
        notebook.cells[0].attachments = {"c.png": {"image/png": image}}
    for notebook in (first, again, first):
        ours, _ = FeedbackHTMLExporter().from_notebook_node(notebook)
        theirs, _ = HTMLExporter().from_notebook_node(notebook)
        assert BeautifulSoup(ours, "html.parser") == BeautifulSoup(theirs, "html.parser")


def _sql(gradebook, statement: str):
    from sqlalchemy import text

    return gradebook.db.execute(text(statement)).scalar()


def _gradebook_commands_on_path(monkeypatch):
    import os
    import sys

    monkeypatch.setenv("PATH", f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}")  # alembic
    speedups.install()


def test_the_private_gradebook_is_checked_once_per_copy_and_never_synced(tmp_path, monkeypatch):
    import shutil
    import sqlite3

    from nbgrader.api import Gradebook

    _gradebook_commands_on_path(monkeypatch)
    instructors = tmp_path / "gradebook.db"
    with Gradebook(f"sqlite:///{instructors}") as gradebook:
        gradebook.add_student("ada")
        assert _sql(gradebook, "PRAGMA synchronous") != 0, "the instructor's gradebook is synced as usual"

    private = speedups.private_gradebook()
    shutil.copy(instructors, private)
    with Gradebook(f"sqlite:///{private}") as gradebook:
        assert _sql(gradebook, "PRAGMA synchronous") == 0
        assert _sql(gradebook, "PRAGMA journal_mode") == "memory"
    with sqlite3.connect(str(private)) as database:  # never happens; shows whether it is checked again
        database.execute("DELETE FROM course")
    with Gradebook(f"sqlite:///{private}") as gradebook:
        assert [student.id for student in gradebook.students] == ["ada"]
        assert _sql(gradebook, "SELECT count(*) FROM course") == 0, "checked again for the same submission"

    # The next submission's copy is checked when first opened: here one without any table.
    private = speedups.private_gradebook()
    private.unlink()
    sqlite3.connect(str(private)).close()
    with Gradebook(f"sqlite:///{private}") as gradebook:
        assert gradebook.students == []
        assert _sql(gradebook, "SELECT count(*) FROM course") == 1


def test_a_gradebook_missing_a_table_gets_it(tmp_path, monkeypatch):
    import sqlite3

    from nbgrader.api import Gradebook

    _gradebook_commands_on_path(monkeypatch)
    path = tmp_path / "gradebook.db"
    with Gradebook(f"sqlite:///{path}") as gradebook:
        gradebook.add_student("ada")
    with sqlite3.connect(str(path)) as database:
        database.execute("DROP TABLE comment")
    with Gradebook(f"sqlite:///{path}") as gradebook:
        assert _sql(gradebook, "SELECT count(*) FROM comment") == 0
        assert [student.id for student in gradebook.students] == ["ada"]
