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


# One realistic mistake per problem set: assignment -> (function, its wrong code, words its
# one-line diagnosis contains). Each function's answer cell has the function's name as grade_id.
TYPICAL_MISTAKES = {
    "ps1-jacobians": ("spherical_jacobian", """def spherical_jacobian(r, theta, phi):
    st, ct, sp, cp = np.sin(theta), np.cos(theta), np.sin(phi), np.cos(phi)
    return np.array([[st * cp, r * ct * cp, -r * st * sp],
                     [st * sp, r * ct * sp, r * st * cp],
                     [ct, -r * st, 0.0]]).T
""", "transpose of the right one"),
    "ps2-chain-rule": ("weighted_least_squares_grad", """def weighted_least_squares_grad(theta, Phi, y, w):
    Phi, y, theta = np.asarray(Phi, float), np.asarray(y, float), np.asarray(theta, float)
    return -2 * Phi.T @ (y - Phi @ theta)
""", "ignores the weights"),
    "ps3-backprop": ("relu_vjp", """def relu_vjp(x, g):
    return np.where(np.asarray(x) >= 0, g, 0.0)
""", "x > 0, not x >= 0"),
    "ps4-hessians": ("damped_newton_step", """def damped_newton_step(g, H, lam):
    H = np.asarray(H, float)
    return np.linalg.solve(H + lam * np.eye(H.shape[0]), np.asarray(g, float))
""", "wrong sign"),
    "ps5-change-of-variables": ("log_abs_det_grad", """def log_abs_det_grad(A):
    A = np.asarray(A, float)
    return np.linalg.solve(A, np.eye(A.shape[0]))
""", "You returned A⁻¹"),
    "ps6-implicit-functions": ("implicit_second_derivative", """def implicit_second_derivative(Fx, Fy, Fxx, Fxy, Fyy):
    yp = -Fx / Fy
    return float(-(Fxx + Fxy * yp + Fyy * yp ** 2) / Fy)
""", "cross term has a factor 2"),
    "ps7-matrix-calculus": ("inverse_vjp", """def inverse_vjp(A, G):
    A = np.asarray(A, float)
    return -np.linalg.solve(A, np.asarray(G, float)) @ np.linalg.inv(A)
""", "transposes are missing"),
}
