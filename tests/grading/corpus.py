"""Submissions for grading tests, made from the released notebook as a student would.

``make_submission(release, solutions, edits)`` fills the answer cells with the instructor's
solution code (markers removed), then applies edits: replace a function's code, add a cell,
delete or rewrite a test cell, or write raw bytes instead of a notebook.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", re.M)


def solution_code(source_notebook) -> dict[str, str]:
    """grade_id -> the instructor's solution code without markers."""
    return {
        cell.metadata["nbgrader"]["grade_id"]: MARKERS.sub("", cell.source)
        for cell in source_notebook.cells
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")
    }


@dataclass
class Submission:
    """One student's hand-in: answer overrides and notebook edits."""

    student: str
    expected_score: float | None = None
    answers: dict = field(default_factory=dict)        # grade_id -> code (None: leave the stub)
    extra_cells: list = field(default_factory=list)    # code appended at the end
    prepend: str = ""                                  # code put before the first answer cell
    delete: list = field(default_factory=list)         # grade_ids of cells to remove
    rewrite: dict = field(default_factory=dict)        # grade_id -> new source (e.g. a locked test)
    points: dict = field(default_factory=dict)         # grade_id -> points written in metadata
    raw: bytes | None = None                           # write these bytes instead of a notebook
    filename: str | None = None                        # misnamed notebook
    stub: bool = False                                 # hand in the release unchanged

    def write(self, course_root: Path, assignment: str, release, solutions: dict) -> Path:
        folder = Path(course_root) / "submitted" / self.student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (self.filename or f"{assignment}.ipynb")
        if self.raw is not None:
            path.write_bytes(self.raw)
            return path
        notebook = nbformat.from_dict(json.loads(json.dumps(release)))
        cells = []
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            grade_id = meta.get("grade_id")
            if grade_id in self.delete:
                continue
            if grade_id in self.rewrite:
                cell.source = self.rewrite[grade_id]
            if grade_id in self.points:
                meta["points"] = self.points[grade_id]
            if meta.get("solution") and cell.cell_type == "code" and not self.stub:
                code = self.answers.get(grade_id, solutions.get(grade_id))
                if code is not None:
                    cell.source = code
                if self.prepend and not any(c.metadata.get("nbgrader", {}).get("solution") for c in cells):
                    cell.source = self.prepend + "\n" + cell.source
            cells.append(cell)
        for code in self.extra_cells:
            cells.append(nbformat.v4.new_code_cell(code))
        notebook.cells = cells
        nbformat.write(notebook, str(path))
        return path


def heartbeat_daemon(path: Path) -> str:
    """Code that leaves a process behind the way a careful daemon does: fork, new session, fork
    again. The grandchild appends to ``path`` (which must exist) ten times a second forever."""
    return f'''
import os as _os, time as _time

def _detach(path):
    if _os.fork() == 0:
        _os.setsid()
        if _os.fork() == 0:
            while True:
                try:
                    with open(path, "a") as beat:
                        beat.write("beat\\n")
                except OSError:
                    pass
                _time.sleep(0.1)
        _os._exit(0)
    # Return once the detached process runs, so that it is surely there when grading ends.
    start, deadline = _os.path.getsize(path), _time.monotonic() + 20
    while _os.path.getsize(path) == start and _time.monotonic() < deadline:
        _time.sleep(0.05)

_detach({str(path)!r})
'''


# An IPython hook that prints the source of every cell the kernel runs, hidden tests included
# (guarded, so that the answers still load where there is no IPython, as in the re-check).
ECHO_CELLS = ("try:\n    get_ipython().events.register('pre_run_cell', lambda info: print(info.raw_cell))\n"
              "except NameError:\n    pass\n")
ECHO_CELLS_REPR = ("try:\n    get_ipython().events.register('pre_run_cell', lambda info: print(repr(info.raw_cell)))\n"
                   "except NameError:\n    pass\n")


def still_beating(path: Path, wait: float = 1.0) -> bool:
    """Whether something still appends to ``path`` (checked over ``wait`` seconds)."""
    import time

    before = path.stat().st_size
    time.sleep(wait)
    return path.stat().st_size != before
