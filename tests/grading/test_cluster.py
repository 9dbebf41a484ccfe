"""Grading on a Dask cluster gives the gradebook one machine gives, even when a worker dies mid-run.

A scheduler and two workers run on 127.0.0.1 as the instructor would start them by hand. The
class mixes correct, wrong and hostile notebooks; one worker is killed (SIGKILL, with its
nanny, as when a machine is lost) while it grades. The same class is graded on this machine
alone, in a second course folder, and the two gradebooks and grade exports are compared.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CourseFixture
from corpus import TYPICAL_MISTAKES, Submission
from test_hostile_corpus import CORPUS

from diffrn_grading.worker import Limits

ASSIGNMENT = "ps1-jacobians"
LIMITS = Limits(cell_seconds=8, budget_seconds=60, memory_bytes=3 * 2**30)
_function, _mistake, _ = TYPICAL_MISTAKES[ASSIGNMENT]
HOSTILE = {s.student: s for s in CORPUS}
CLASS = [
    Submission("correct_a", 10),
    Submission("correct_b", 10),
    Submission("stub", 0, stub=True),
    Submission("typical_mistake", 8, answers={_function: _mistake}),
    HOSTILE["patches_checks"],   # neuters the checks in its kernel: caught by the re-check
    HOSTILE["memory_bomb"],      # needs the memory limit on the workers' kernels too
    HOSTILE["os_exit"],          # kills its kernel: each test is then run on its own
    HOSTILE["corrupt"],          # not a notebook: recorded as failed, the batch goes on
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalCluster:
    """`dask scheduler` and `dask worker` processes, each in its own process group."""

    def __init__(self, folder: Path, workers: int = 2):
        self.folder = folder
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.processes: dict[str, subprocess.Popen] = {}
        dask = str(Path(sys.executable).parent / "dask")
        self._start("scheduler", [dask, "scheduler", "--host", "127.0.0.1", "--port", self.address.rsplit(":", 1)[1],
                                  "--no-dashboard"])
        for index in range(workers):
            name = f"worker{index}"
            self._start(name, [dask, "worker", self.address, "--name", name, "--nthreads", "1", "--no-dashboard",
                               "--local-directory", str(folder / name)])

    def _start(self, name: str, command: list[str]) -> None:
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        log = open(self.folder / f"{name}.log", "wb")
        self.processes[name] = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    def kill(self, name: str) -> None:
        """SIGKILL a process with everything it started (a worker's nanny, worker and kernels)."""
        try:
            os.killpg(self.processes[name].pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.processes[name].wait(timeout=30)

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n" + path.read_text(errors="replace")[-3000:]
                         for path in sorted(self.folder.glob("*.log")))

    def close(self) -> None:
        for name in list(self.processes):
            self.kill(name)


@pytest.fixture
def cluster(tmp_path):
    from distributed import Client

    running = LocalCluster(tmp_path)
    try:
        with Client(running.address, timeout="30s", set_as_default=False) as client:
            client.wait_for_workers(2, timeout=120)
        yield running
    finally:
        running.close()


def _gradebook(course: CourseFixture) -> dict:
    """(student, grade cell) -> (auto score, manual score, needs manual grading), for every submission."""
    from nbgrader.api import Gradebook

    with Gradebook(course.course.gradebook_url) as gradebook:
        return {(submission.student_id, grade.name): (grade.auto_score, grade.manual_score, grade.needs_manual_grade)
                for submission in gradebook.find_assignment(ASSIGNMENT).submissions
                for notebook in submission.notebooks for grade in notebook.grades}


def _export(course: CourseFixture) -> list[dict]:
    with open(course.root / "grades.csv") as handle:
        rows = [{key: value for key, value in row.items() if key != "timestamp"} for row in csv.DictReader(handle)]
    return sorted(rows, key=lambda row: row["student_id"])


def _students_being_graded(client) -> dict[str, str]:
    """Worker name -> worker address, for the workers running a grading task right now."""
    names = {address: info["name"] for address, info in client.scheduler_info(n_workers=-1)["workers"].items()}
    return {names[address]: address for address, keys in client.processing().items()
            if any(str(key).startswith("grade-") for key in keys)}


def test_a_cluster_that_loses_a_worker_mid_run_grades_like_one_machine(tmp_path_factory, cluster):
    from distributed import Client

    from diffrn_grading.batch import grade_assignment

    alone = CourseFixture(tmp_path_factory.mktemp("one-machine"))
    alone.hand_in(*CLASS)
    grade_assignment(alone.course, ASSIGNMENT, jobs=2, limits=LIMITS, quiet=True)

    spread = CourseFixture(tmp_path_factory.mktemp("cluster"))
    spread.hand_in(*CLASS)
    command = [sys.executable, "-m", "diffrn_grading.cli", "--course", str(spread.root), "grade", ASSIGNMENT,
               "--cluster", cluster.address, "--cell-timeout", str(LIMITS.cell_seconds),
               "--budget", str(LIMITS.budget_seconds), "--memory-gb", str(LIMITS.memory_bytes / 2**30)]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = spread.root / ".grading" / "done" / ASSIGNMENT
    killed = None
    with Client(cluster.address, timeout="30s", set_as_default=False) as client:
        deadline = time.monotonic() + 240
        while killed is None and run.poll() is None and time.monotonic() < deadline:
            busy = _students_being_graded(client)
            if list(done.glob("*.json")) and busy:  # the first results are in, and a worker is grading
                killed = sorted(busy)[0]
                cluster.kill(killed)
            time.sleep(0.1)
    stdout, stderr = run.communicate(timeout=400)
    assert killed, "no worker was killed while grading: the run ended first\n" + stdout + stderr
    assert run.returncode == 1, f"exit {run.returncode} (1: a submission failed)\n{stdout}\n{stderr}\n{cluster.logs()}"
    assert "7 graded, 1 failed" in stdout and "failed corrupt: " in stdout, stdout

    assert _gradebook(spread) == _gradebook(alone)
    assert _export(spread) == _export(alone)
    assert spread.grades() == {s.student: float(s.expected_score) for s in CLASS}
    for student in (s.student for s in CLASS):
        marker = json.loads((done / f"{student}.json").read_text())
        assert marker["scores"] == json.loads((alone.root / ".grading" / "done" / ASSIGNMENT / f"{student}.json")
                                              .read_text())["scores"]
        page = spread.course.feedback(ASSIGNMENT, student)
        assert page.is_file(), f"no feedback for {student}"
        assert "BEGIN HIDDEN TESTS" not in page.read_text()
    bomb = spread.course.feedback(ASSIGNMENT, "memory_bomb").read_text()
    assert "memory" in bomb.lower(), "the feedback should say the memory limit cost points"


def test_an_unreachable_scheduler_is_reported_with_what_to_do(tmp_path):
    from diffrn_grading.cluster import connect
    from diffrn_grading.course import GradingError

    with pytest.raises(GradingError, match="dask scheduler"):
        connect(f"tcp://127.0.0.1:{_free_port()}")
