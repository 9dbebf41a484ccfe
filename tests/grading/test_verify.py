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
