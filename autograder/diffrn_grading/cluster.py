"""Grade on a Dask cluster the instructor already has: ``grade ps --cluster tcp://host:8786``.

Each submission is one task, self-contained: the course's configuration, source and template
gradebook (:class:`~diffrn_grading.worker.CourseFiles`, sent to the cluster once, and again if the
worker holding them dies) and the student's files (:class:`~diffrn_grading.worker.SubmissionFiles`).
A worker runs :func:`~diffrn_grading.worker.grade_files`, the very function a local worker process runs, and
sends back the scores and the autograded and feedback files; no shared folder is needed. The
submitting process stays the only writer of the course folder and the gradebook
(:mod:`diffrn_grading.batch` records each result as it arrives, as on one machine).

Each worker process keeps its own warm kernel zygote (started when the worker joins, see
:class:`GradingSetup`), and each kernel and re-check it forks gets the submission's limits,
so a submission is confined and limited the same on the cluster as on one machine.

A worker that dies mid-submission costs nothing: the scheduler runs the task again on another
worker. A task whose workers keep dying (Dask gives up after ``distributed.scheduler.
allowed-failures`` deaths) is recorded as a crash, like one that crashes a local worker.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

from distributed.diagnostics.plugin import WorkerPlugin

from diffrn_grading.course import Course, GradingError
from diffrn_grading.worker import CourseFiles, Limits, StudentResult, SubmissionFiles, grade_files

# What a worker must have, as this process has it: the same checks and grader give the same grades.
REQUIRED = ("diffrn", "diffrn-grading", "nbgrader", "distributed")
INSTALL = ("install the course's environment on every worker machine, from the same checkout: "
           "`pip install -r requirements.txt -e . -e autograder`")


def connect(address: str, wait_seconds: float = 60):
    """A client of the scheduler at ``address``, once at least one worker has joined it.

    Raises :class:`GradingError` saying what to do when the scheduler cannot be reached,
    no worker joins, or the workers lack the course's packages or run other versions of them.
    """
    from distributed import Client

    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise GradingError(
            f"cannot reach a Dask scheduler at {address} ({type(error).__name__}: {error}). Start one with "
            f"`dask scheduler` (it prints its address, tcp://<host>:8786) and workers with `dask worker "
            f"tcp://<host>:8786 --nthreads 1`, or check the address and that the port is open."
        ) from None
    try:
        try:
            client.wait_for_workers(1, timeout=wait_seconds)
        except TimeoutError:
            raise GradingError(
                f"no Dask worker joined the scheduler at {address} within {wait_seconds:.0f} s: start them with "
                f"`dask worker {address} --nthreads 1` on each machine (or ask your cluster for some)"
            ) from None
        check_workers(client)
        client.register_plugin(GradingSetup(), name="diffrn-grading")
    except BaseException:
        client.close()
        raise
    return client


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in REQUIRED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def _code_digest() -> str:
    """A digest of the checks' and the grader's source: editable installs keep one version number."""
    import hashlib
    from pathlib import Path

    import diffrn
    import diffrn_grading

    digest = hashlib.sha256()
    for package in (diffrn, diffrn_grading):
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def check_workers(client) -> None:
    """Every worker has this machine's packages and grading code, or a GradingError says what to install."""
    import importlib.metadata

    here = _versions()
    problems = []
    for name in REQUIRED:
        # The standard library's function: it runs on a worker that lacks our packages.
        found = client.run(importlib.metadata.version, name, on_error="return")
        for worker, version in sorted(found.items()):
            if isinstance(version, BaseException):
                problems.append(f"{worker} lacks {name}")
            elif version != here[name]:
                problems.append(f"{worker} has {name} {version}, this machine {here[name]}")
    if problems:
        raise GradingError("the Dask workers cannot grade like this machine: " + "; ".join(problems) + f". {INSTALL}")
    digests = client.run(_code_digest, on_error="return")
    differ = sorted(worker for worker, digest in digests.items() if digest != _code_digest())
    if differ:
        raise GradingError(f"the workers {', '.join(differ)} have other versions of the checks or of the grader "
                           f"(diffrn, diffrn_grading) than this machine, so they could grade differently; {INSTALL}")


def worker_warnings(client) -> list[str]:
    """What the summary should say about the workers: the same protections as on one machine."""
    warnings = []
    confined = client.run(_protections)
    unconfined = sorted(worker for worker, (landlock, _) in confined.items() if not landlock)
    unisolated = sorted(worker for worker, (_, namespaces) in confined.items() if not namespaces)
    if unconfined:
        warnings.append(f"the workers {', '.join(unconfined)} cannot confine kernels (Landlock needs Linux 5.13 or "
                        "later), so student code could read instructor files there; grade on Linux workers for that "
                        "protection, and check the review flags.")
    if unisolated:
        warnings.append(f"the workers {', '.join(unisolated)} cannot give kernels a PID namespace of their own "
                        "(Linux user namespaces are off), so a process student code detaches from its session could "
                        "outlive grading there.")
    threads = client.nthreads()
    if any(count > 1 for count in threads.values()):
        warnings.append("some Dask workers run several threads; start them with `--nthreads 1` (and `--nworkers` "
                        "set to the machine's cores), so that each grading process grades one notebook at a time.")
    return warnings


def _protections() -> tuple[bool, bool]:
    from diffrn_grading.confine import available
    from diffrn_grading.zygote import isolation_available

    return available(), isolation_available()


class GradingSetup(WorkerPlugin):
    """Set up each worker process for grading when it joins: one BLAS thread, a warm zygote."""

    def setup(self, worker):
        import os

        from diffrn_grading.zygote import Zygote

        # One BLAS thread per grading process: the workers already share out the cores.
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = "1"
        # Started from the worker's main thread, which lives as long as the worker: Linux ends
        # the zygote (die_with_parent) when the *thread* that started it ends.
        Zygote.shared()


def grade_on_cluster(client, course: Course, assignment: str, students: list[str],
                     limits: Limits) -> Iterator[StudentResult]:
    """Yield a StudentResult per student, graded on the cluster, in the order they finish.

    A few tasks per worker thread are in flight at a time, so the scheduler never holds the
    whole class's notebooks. A task that has not finished long after every limit should have
    stopped it (a safety net: the limits stop a notebook well before) is given up: its student
    gets zero with the reason and its worker is restarted.
    """
    from collections import deque

    from distributed.scheduler import KilledWorker

    from diffrn_grading.batch import _failure

    run_id = uuid.uuid4().hex[:8]
    # The course's files as a task's result, not scattered data: when the worker holding them
    # dies, the scheduler runs the task again, where scattered data (and every submission
    # waiting on it) would be lost.
    shared = client.submit(_unchanged, CourseFiles.read(course, assignment), key=f"course-{assignment}-{run_id}",
                           pure=False)
    queue = deque(students)
    running = {}  # future -> (student, submitted at)
    # The window is two tasks per thread, so a task waits for at most one other before it starts.
    overdue_after = 2 * limits.overdue_seconds
    try:
        while queue or running:
            width = 2 * max(1, sum(client.nthreads().values()))
            while queue and len(running) < width:
                student = queue.popleft()
                future = client.submit(grade_files, shared, SubmissionFiles.read(course, assignment, student), limits,
                                       key=f"grade-{assignment}-{student}-{run_id}", pure=False, retries=1)
                running[future] = (student, time.monotonic())
            finished = [future for future in running if future.done()]
            if not finished:
                time.sleep(0.2)
            for future in finished:
                student, _ = running.pop(future)
                try:
                    yield future.result()
                except KilledWorker as error:
                    yield _failure(student, f"the notebook crashed the grading process on {error.allowed_failures + 1} "
                                            "workers; every test counts as failed.")
                except Exception as error:
                    if future.cancelled():
                        raise GradingError(
                            "the connection to the Dask scheduler was lost; run the same command again: the students "
                            "graded so far are kept and only the others are graded") from None
                    yield _failure(student, f"grading crashed: {type(error).__name__}: {error}")
            now = time.monotonic()
            for future in [f for f, (_, t0) in running.items() if now - t0 > overdue_after]:
                student, _ = running.pop(future)
                _stop(client, future)
                yield _failure(student, f"grading this notebook took longer than {overdue_after} s on the cluster "
                                        "and was stopped; every test counts as failed.")
    finally:
        for future in running:  # interrupted: nothing of this run should keep the cluster busy
            future.cancel()


def _unchanged(value):
    return value


def _stop(client, future) -> None:
    """Cancel an overdue task and restart the worker running it (a running task cannot be cancelled)."""
    holders = [worker for worker, keys in client.processing().items() if future.key in keys]
    future.cancel()
    if holders:
        client.restart_workers(holders, raise_for_error=False)

