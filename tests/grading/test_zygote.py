"""Kernels forked from the zygote behave like freshly started ones, share nothing, and are confined."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import diffrn
from diffrn_grading.kernels import ForkingKernelManager, _is_this_python_kernel
from diffrn_grading.zygote import Zygote, fork, isolation_available, shared_zygote, use_shared


def run(*sources: str, timeout: int = 30):
    """Execute code cells in a forked kernel; returns the notebook with outputs."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(notebook, kernel_manager_class=ForkingKernelManager, timeout=timeout,
                   allow_errors=True, kernel_name="python3").execute()
    return notebook


def text(notebook) -> str:
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                   for c in notebook.cells for o in c.outputs)


def living(session: int | None = None, pid: int | None = None) -> list[int]:
    """Processes (not zombies) in ``session``, or ``pid`` itself if it still runs."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, own_session = fields[0], int(fields[3])
        if state != "Z" and ((session is not None and own_session == session) or int(entry) == pid):
            found.append(int(entry))
    return found


def eventually_gone(**which) -> bool:
    for _ in range(100):
        if not living(**which):
            return True
        time.sleep(0.05)
    return False


def errors(notebook) -> list[str]:
    return [o["ename"] for c in notebook.cells for o in c.outputs if o["output_type"] == "error"]


def test_a_forked_kernel_runs_code_and_reports_errors_like_any_kernel(tmp_path):
    notebook = run("import os, sys\nprint(os.getpid() != os.getppid(), sys.version_info[:2])",
                   "1 / 0", "print('after the error')")
    assert f"True {tuple(sys.version_info[:2])}" in text(notebook)
    assert errors(notebook) == ["ZeroDivisionError"]
    assert "after the error" in text(notebook)


def test_nothing_one_kernel_does_reaches_the_next():
    first = run("import numpy as np\nnp.allclose = lambda *a, **k: True\nleaked = 42\n"
                "print(np.random.rand())")
    second = run("import numpy as np\nprint(np.allclose(1, 2), 'leaked' in globals())\n"
                 "print(np.random.rand())")
    assert "False False" in text(second), "a patch or a variable survived into the next student's kernel"
    # Each kernel has fresh random state, as a newly started kernel would.
    assert text(first).split()[-1] != text(second).split()[-1]


def test_a_kernel_sees_the_environment_and_folder_it_was_started_with(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFRN_STUDENT_ID", "student-env-check")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os\nprint(os.environ['DIFFRN_STUDENT_ID'], os.getcwd())")])
    NotebookClient(notebook, kernel_manager_class=ForkingKernelManager, timeout=30, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert text(notebook).split() == ["student-env-check", str(tmp_path)]


def test_a_kernel_stuck_in_a_loop_that_swallows_interrupts_is_killed():
    from diffrn_grading.kernels import NOT_RUN_KERNEL_STOPPED, ForkingExecute

    notebook = nbformat.v4.new_notebook(cells=[
        # Its pid as this test sees it (in its own PID namespace the kernel is process 1).
        nbformat.v4.new_code_cell("import os\nprint(os.readlink('/proc/self'))"),
        nbformat.v4.new_code_cell("while True:\n    try:\n        while True:\n            pass\n"
                                  "    except KeyboardInterrupt:\n        pass"),
        nbformat.v4.new_code_cell("print('after the loop')"),
    ])
    ForkingExecute(timeout=2).preprocess(notebook, {})
    kernel = int(text(notebook).split()[0])
    assert eventually_gone(pid=kernel), "the looping kernel was left running"
    # The cells after it are not run, and say so (worker.py judges their tests on their own).
    assert [output.ename for output in notebook.cells[2].outputs] == [NOT_RUN_KERNEL_STOPPED]


def test_a_kernel_that_dies_before_its_first_cell_is_replaced(monkeypatch):
    from diffrn_grading import kernels

    forks = []

    def first_kernel_starved(kind, **request):
        forks.append(kind)
        if len(forks) == 1:  # too little memory to start: this kernel dies before replying
            request["memory_bytes"] = 32 * 2**20
        return fork(kind, **request)

    monkeypatch.setattr(kernels, "fork", first_kernel_starved)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    kernels.ForkingExecute(timeout=30).preprocess(notebook, {})
    assert forks == ["kernel", "kernel"]
    assert text(notebook).strip() == "42"


def test_a_kernel_that_kills_its_zygote_does_not_stop_later_forks():
    from nbclient.exceptions import DeadKernelError

    with pytest.raises(DeadKernelError):
        run("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nimport time\ntime.sleep(5)")
    assert "still here" in text(run("print('still here')"))


def test_a_sandbox_child_ends_and_is_not_left_behind(tmp_path):
    request, result = tmp_path / "request.json", tmp_path / "result.json"
    request.write_text('{"module": "diffrn.checks.ps1", "student": "s", "tasks": [], "cells": ["x = 1"]}')
    child = fork("sandbox", env=dict(os.environ), cwd=str(tmp_path), request_path=str(request),
                 result_path=str(result), memory_bytes=2 * 2**30, cpu_seconds=10)
    child.wait(timeout=20)
    assert result.read_text() == "[]"
    assert child.poll() is not None and not living(pid=child.pid)


def test_a_hung_child_is_killed_with_its_whole_process_group(tmp_path):
    request, result = tmp_path / "request.json", tmp_path / "result.json"
    code = "import subprocess, time\nsubprocess.Popen(['sleep', '60'])\ntime.sleep(60)"
    request.write_text(json.dumps({"module": "diffrn.checks.ps1", "student": "s", "tasks": [], "cells": [code]}))
    child = fork("sandbox", env=dict(os.environ), cwd=str(tmp_path), request_path=str(request),
                 result_path=str(result), memory_bytes=2 * 2**30, cpu_seconds=10)
    with pytest.raises(subprocess.TimeoutExpired):
        child.wait(timeout=1)
    child.kill()
    assert child.wait(timeout=5) < 0
    assert eventually_gone(session=child.pid), "the student's subprocess outlived the kill"


def test_only_this_interpreter_running_ipykernel_is_forked():
    assert _is_this_python_kernel([sys.executable, "-m", "ipykernel_launcher", "-f", "x.json"])
    assert not _is_this_python_kernel(["/usr/bin/R", "--slave", "-e", "IRkernel::main()", "x.json"])
    assert not _is_this_python_kernel(["/opt/other/python", "-m", "ipykernel_launcher", "-f", "x.json"])


def test_the_zygote_ends_with_its_owner():
    script = ("from diffrn_grading.zygote import Zygote; import os, time\n"
              "print(Zygote.shared().process.pid, flush=True); os.kill(os.getpid(), 9)")
    owner = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert owner.returncode == -signal.SIGKILL
    pid = int(owner.stdout.split()[0])
    assert eventually_gone(pid=pid), "the zygote outlived the process that started it"


def test_zygote_is_shared_and_replaced_when_it_dies():
    first = Zygote.shared()
    assert Zygote.shared() is first
    first.process.kill()
    first.process.wait()
    assert Zygote.shared() is not first


def test_a_kernel_reads_and_writes_its_own_folder_but_no_instructor_file(tmp_path):
    from diffrn_grading.confine import available

    import diffrn_grading

    solutions = Path(diffrn.__file__).resolve().parents[1] / "solutions" / "ps1-jacobians.md"
    grader = Path(diffrn_grading.__file__).resolve().parent / "verify.py"
    neighbour = tmp_path / "another-student.txt"
    neighbour.write_text("not yours")
    own = tmp_path / "own"
    own.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import pathlib\n"
        "pathlib.Path('scratch.txt').write_text('mine'); print(pathlib.Path('scratch.txt').read_text())\n"
        "import numpy, diffrn.checks.ps1; print('imports fine')\n"
        f"for path in [{str(solutions)!r}, {str(neighbour)!r}, {str(grader)!r}]:\n"
        "    try:\n        pathlib.Path(path).read_text(); print('READ', path)\n"
        "    except PermissionError:\n        print('denied')\n")])
    NotebookClient(notebook, kernel_manager_class=ForkingKernelManager, timeout=30, kernel_name="python3",
                   resources={"metadata": {"path": str(own)}}).execute()
    lines = text(notebook).split("\n")
    assert lines[:2] == ["mine", "imports fine"]
    if available():
        assert lines[2:5] == ["denied", "denied", "denied"]
    else:  # documented: without Landlock the files stay readable, and grading warns
        assert lines[2].startswith("READ")


@pytest.fixture
def heartbeat():
    """A file in /dev/shm (which confined kernels may write) for a detached process to beat in."""
    path = Path("/dev/shm") / f"diffrn-heartbeat-{os.getpid()}-{time.monotonic_ns()}"
    path.touch()
    yield path
    path.unlink()


def test_a_double_forked_process_in_a_new_session_ends_with_its_kernel(heartbeat):
    from corpus import heartbeat_daemon, still_beating

    notebook = run(heartbeat_daemon(heartbeat), "import time\ntime.sleep(0.5)\nprint('started')")
    assert "started" in text(notebook) and errors(notebook) == []
    assert heartbeat.stat().st_size > 0, "the detached process never ran, so this test shows nothing"
    time.sleep(0.3)  # the kernel has been shut down; let its namespace go
    assert not still_beating(heartbeat), "a process the student detached outlived the kernel"


def test_a_double_forked_process_ends_with_its_re_check(tmp_path, heartbeat):
    from corpus import heartbeat_daemon, still_beating

    request, result = tmp_path / "request.json", tmp_path / "result.json"
    cells = [heartbeat_daemon(heartbeat), "import time\ntime.sleep(0.5)"]
    request.write_text(json.dumps({"module": "diffrn.checks.ps1", "student": "s", "tasks": [], "cells": cells}))
    child = fork("sandbox", env=dict(os.environ), cwd=str(tmp_path), request_path=str(request),
                 result_path=str(result), memory_bytes=2 * 2**30, cpu_seconds=10)
    child.wait(timeout=20)
    assert result.read_text() == "[]" and heartbeat.stat().st_size > 0
    time.sleep(0.3)
    assert not still_beating(heartbeat), "a process the student detached outlived the re-check"


def test_a_re_check_cannot_read_the_grader_or_the_solutions(tmp_path):
    import diffrn_grading
    from diffrn_grading.confine import available, readable_roots

    secrets = [Path(diffrn.__file__).resolve().parents[1] / "solutions" / "ps1-jacobians.md",
               Path(diffrn_grading.__file__).resolve().parent / "verify.py"]
    code = ("import pathlib\nfound = []\n"
            f"for path in {[str(p) for p in secrets]!r}:\n"
            "    try:\n        pathlib.Path(path).read_text(); found.append('READ')\n"
            "    except PermissionError:\n        found.append('denied')\n"
            "pathlib.Path('found.txt').write_text(' '.join(found))\n")
    request, result = tmp_path / "request.json", tmp_path / "result.json"
    request.write_text(json.dumps({"module": "diffrn.checks.ps1", "student": "s", "tasks": [], "cells": [code]}))
    fork("sandbox", env=dict(os.environ), cwd=str(tmp_path), request_path=str(request),
         result_path=str(result), memory_bytes=2 * 2**30, cpu_seconds=10).wait(timeout=20)
    assert (tmp_path / "found.txt").read_text() == ("denied denied" if available() else "READ READ")
    grader = Path(diffrn_grading.__file__).resolve().parent
    assert not any(grader.is_relative_to(root) or Path(root).is_relative_to(grader) for root in readable_roots())


def test_a_hidden_folder_inside_a_readable_one_is_cut_out(tmp_path):
    from diffrn_grading.confine import _without

    (tmp_path / "site" / "grader").mkdir(parents=True)
    (tmp_path / "site" / "numpy").mkdir()
    (tmp_path / "site" / "six.py").write_text("")
    kept = _without({str(tmp_path / "site"), "/usr"}, [tmp_path / "site" / "grader"])
    assert kept == {str(tmp_path / "site" / "numpy"), str(tmp_path / "site" / "six.py"), "/usr"}


def test_a_graded_notebooks_kernel_gets_the_students_id_and_the_memory_limit(course):
    """What nbgrader's Execute starts is our kernel: the student's id and the submission's memory limit reach it."""
    from corpus import Submission
    from diffrn_grading.batch import _template_gradebook
    from diffrn_grading.worker import Limits, grade_submission

    probe = "import os, resource\nprint('id', os.environ.get('DIFFRN_STUDENT_ID'), 'memory', resource.getrlimit(resource.RLIMIT_AS)[0])"
    course.hand_in(Submission("probe_student", extra_cells=[probe]))
    _template_gradebook(course.course, course.assignment)
    result = grade_submission(course.course, course.assignment, "probe_student", Limits(memory_bytes=3 * 2**30))
    graded = nbformat.reads(result.autograded[f"{course.assignment}.ipynb"].decode(), as_version=4)
    printed = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
    assert f"id probe_student memory {3 * 2**30}" in printed


@pytest.fixture
def batch_zygote():
    """A batch's shared zygote, which this process forks from during the test; its address."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="diffrn-test-") as folder, shared_zygote(folder) as address:
        assert (address is None) == (not isolation_available()), "only isolation keeps a shared zygote safe"
        if address is None:  # without PID namespaces each worker keeps a zygote of its own
            yield None
            return
        own, Zygote._instance = Zygote._instance, None
        use_shared(address)
        try:
            yield address
        finally:
            use_shared(None)
            Zygote._instance = own


def test_a_batch_zygote_forks_kernels_but_refuses_what_they_ask(batch_zygote):
    if batch_zygote is None:
        assert not isolation_available()
        return
    probe = ("import socket\nsock = socket.socket(socket.AF_UNIX)\n"
             f"sock.connect({batch_zygote!r})\nsock.settimeout(10)\nprint(repr(sock.recv(100)))")
    notebook = run("print('forked')", probe)
    assert Zygote.shared().process is None, "the kernel did not come from the batch's zygote"
    assert text(notebook).split() == ["forked", "b''"], "student code could ask the batch's zygote for forks"


def test_a_batch_zygotes_child_ends_with_the_worker_that_asked_for_it(batch_zygote, tmp_path):
    if batch_zygote is None:
        assert not isolation_available()
        return
    request, result = tmp_path / "request.json", tmp_path / "result.json"
    request.write_text(json.dumps({"module": "diffrn.checks.ps1", "student": "s", "tasks": [],
                                   "cells": ["import time\ntime.sleep(60)"]}))
    worker = (f"from diffrn_grading.zygote import fork, use_shared; import os\nuse_shared({batch_zygote!r})\n"
              f"child = fork('sandbox', env=dict(os.environ), cwd={str(tmp_path)!r}, request_path={str(request)!r}, "
              f"result_path={str(result)!r}, memory_bytes=2 * 2**30, cpu_seconds=90)\n"
              "print(child.pid, flush=True); os.kill(os.getpid(), 9)")
    ended = subprocess.run([sys.executable, "-c", worker], capture_output=True, text=True, timeout=60)
    assert ended.returncode == -signal.SIGKILL, ended.stderr
    child = int(ended.stdout.split()[0])
    assert eventually_gone(pid=child), "a re-check outlived the worker that started it"
