"""Where one submission's grading time goes, phase by phase.

A grading worker starts a :class:`Stopwatch` for each submission (:func:`start`); the code of
each phase runs under ``with phase("name"):``, however deep in the call stack it is (the
kernel's start and stop are timed inside nbgrader's Execute step). The phases travel with the
submission's result into its done marker, where ``bench/grading.py`` reads them.

A worker grades one submission at a time, so one current stopwatch per process suffices; a
Dask worker with several threads would mix its submissions' phases (the grades are unaffected).
"""
from __future__ import annotations

import time
from contextlib import contextmanager

# The phases, in the order a submission meets them, and what each covers.
PHASES = {
    "unpack": "copying the submission and the course into the worker's private folder, reading it",
    "kernel_start": "starting the kernel (a fork of the zygote) until it answers",
    "notebook": "running the notebook's cells in the kernel",
    "kernel_stop": "stopping the kernel",
    "nbgrader": "nbgrader's own autograde steps (cell checks, gradebook reads and writes, saving)",
    "recheck": "re-checking every test out of the student's reach",
    "feedback": "rendering the feedback page",
    "pack": "reading the graded notebook and the feedback page back, to return them",
    "record": "the batch writing the files, the gradebook transaction and the done marker",
}


class Stopwatch:
    """Seconds of wall time per phase; a phase timed twice adds up."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


_current = Stopwatch()


def start() -> Stopwatch:
    """A new stopwatch for the submission this process is about to grade."""
    global _current
    _current = Stopwatch()
    return _current


def phase(name: str):
    """Time ``name`` on the current submission's stopwatch (a context manager)."""
    return _current.phase(name)
