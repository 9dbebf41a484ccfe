"""The out-of-kernel re-check understands every test cell of every problem set."""
from __future__ import annotations

import jupytext
import pytest

from diffrn_grading.course import SOLUTIONS, assignments
from diffrn_grading.verify import plan_tests, scan


@pytest.mark.parametrize("assignment", assignments())
def test_every_autograded_test_cell_is_rechecked(assignment):
    notebook = jupytext.read(SOLUTIONS / f"{assignment}.md", fmt="md:myst")
    module, plans = plan_tests(notebook)
    assert module == f"diffrn.checks.{assignment.split('-')[0]}"
    graded = [c.metadata["nbgrader"]["grade_id"] for c in notebook.cells
              if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    assert sorted(plans) == sorted(graded), "a test cell the re-check cannot read would never be verified"
    for plan in plans.values():
        parts = {part for _, _, part, _ in plan.calls}
        assert parts & {"hidden", "hard"}, f"{plan.grade_id} has no hidden cases"


def test_scan_flags_patching_and_quotes_the_line():
    import nbformat

    cell = nbformat.v4.new_code_cell("import numpy as np\nnp.allclose = lambda *a, **k: True\nx = np.ones(3)")
    cell.metadata["nbgrader"] = {"solution": True, "grade_id": "answer", "locked": False}
    flags = scan(nbformat.v4.new_notebook(cells=[cell]))
    assert flags == ["assigns to a numpy attribute (monkeypatching): `np.allclose = lambda *a, **k: True`"]


def _ps3_with(relu_cell: str):
    """The instructor's ps3 notebook and a copy whose relu_vjp answer cell is ``relu_cell``."""
    import copy

    source = jupytext.read(SOLUTIONS / "ps3-backprop.md", fmt="md:myst")
    submission = copy.deepcopy(source)
    for cell in submission.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "relu_vjp":
            cell.source = relu_cell
    return source, submission


RELU = "def relu_vjp(x, g):\n    return np.where(np.asarray(x) > 0, np.asarray(g, dtype=float), 0.0)\n"


def test_an_answer_may_import_any_standard_module_in_the_recheck():
    from diffrn_grading.verify import verify

    source, submission = _ps3_with("import fractions, statistics, functools\n" + RELU)
    verdicts = verify(source, submission, "alice")
    assert verdicts["correct_relu_vjp"] == (True, "")


def test_an_answer_that_removes_the_import_guard_still_cannot_load_another_package():
    from diffrn_grading.confine import available
    from diffrn_grading.verify import verify

    if not available():
        pytest.fail("this test needs Linux Landlock (the grading machine's confinement)")
    cell = ("import sys\nsys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != 'ImportGuard']\n"
            "try:\n    import autograd\n    loaded = 'loaded'\nexcept BaseException as error:\n"
            "    loaded = type(error).__name__\n\n"
            "def relu_vjp(x, g):\n    raise RuntimeError(loaded)\n")
    source, submission = _ps3_with(cell)
    passed, message = verify(source, submission, "alice")["correct_relu_vjp"]
    assert not passed and "loaded" not in message.split("RuntimeError:")[-1]
    assert "PermissionError" in message or "ModuleNotFoundError" in message or "ImportError" in message
