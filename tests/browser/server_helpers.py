"""A Jupyter server for browser tests, and the released notebook a student would open in it.

Both the JupyterLab test (a student) and the formgrader test (an instructor) need a released
problem set filled in with answers, and a server on 127.0.0.1 that is up before the test starts
and gone after it, whatever happens in between.
"""
from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\n?", re.M)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answered_release(course, assignment: str, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The nbgrader release of ``assignment``: every answer cell solved, then ``answers`` applied.

    ``answers`` maps an answer cell's grade_id to its new source (a mistake, a written answer).
    """
    from diffrn_grading.course import release

    notebook = nbformat.read(str(release(course, assignment)), as_version=4)
    source = nbformat.read(str(course.source_notebook(assignment)), as_version=4)
    filled = {cell.metadata["nbgrader"]["grade_id"]: _MARKERS.sub("", cell.source) for cell in source.cells
              if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")}
    filled.update(answers)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in filled:
            cell.source = filled[grade_id]
    return notebook


@contextlib.contextmanager
def running_server(command: list[str], ready_url: str, log_path: Path, env: dict, cwd=None, timeout: float = 120):
    """Start ``command``; yield once ``ready_url`` answers; stop it afterwards (killed if it lingers)."""
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(ready_url, timeout=5)
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"{command[2]} did not start ({ready_url}):\n{log_path.read_text()[-3000:]}")
                    time.sleep(0.5)
            yield
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
