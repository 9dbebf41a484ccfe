"""nbgrader's Execute preprocessor: the student id in the kernel's environment, the kernel forked.

:class:`StudentExecute` (configured in ``nbgrader_config.py``, so plain ``nbgrader autograde``
uses it too) starts each kernel with the environment :func:`diffrn_grading.course.student_env`
builds for the student nbgrader is grading: that environment is the one way the id reaches
the checks. :class:`ForkingExecute` does the same with kernels forked from the zygote
(:mod:`diffrn_grading.zygote`): jupyter_client starts each kernel with a *provisioner*, and
:class:`ForkProvisioner` asks the grading worker's zygote (its own or its batch's) for a fork instead of starting
``python -m ipykernel_launcher``. The kernel manager and nbclient see an ordinary kernel:
same connection file, signals, timeouts.

:class:`ForkingExecute` also keeps a notebook within its time budget (``deadline``): no cell
waits past it, and a kernel that goes on running after the interrupt that ends a timed-out
cell is killed instead of waited on. The cells left are then not run; each gets an error
output (:data:`NOT_RUN_BUDGET` or :data:`NOT_RUN_KERNEL_STOPPED`) that says why, so nbgrader
scores their tests 0 and keeps the points of the tests that passed before (the grading worker
then judges tests left by a stopped kernel on their own, if time is left: see worker.py).
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from jupyter_client.utils import ensure_async
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Float, Integer, Type

from diffrn_grading import timing
from diffrn_grading.course import student_env
from diffrn_grading.zygote import fork


SOCKET_PATH_MAX = 108  # bytes of a Unix socket's path on Linux, with its final NUL


def _is_this_python_kernel(cmd: list[str]) -> bool:
    """Whether ``cmd`` starts ipykernel with the interpreter the zygote runs on."""
    return (len(cmd) >= 3 and cmd[1:3] == ["-m", "ipykernel_launcher"]
            and os.path.realpath(shutil.which(cmd[0]) or cmd[0]) == os.path.realpath(sys.executable))


class ForkProvisioner(LocalProvisioner):
    """Launches the kernel as a fork of the zygote instead of a new interpreter."""

    async def launch_kernel(self, cmd: list[str], **kwargs):
        memory_bytes = kwargs.pop("memory_bytes", None)
        if not _is_this_python_kernel(cmd):  # another language or interpreter: start it as usual
            return await super().launch_kernel(cmd, **kwargs)
        env = kwargs.get("env") or dict(os.environ)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        self.process = fork("kernel", argv=cmd[3:], env=env, cwd=cwd, memory_bytes=memory_bytes,
                            scratch=getattr(self.parent, "scratch", None))
        self.pid = self.pgid = self.process.pid
        self.cwd = cwd
        return self.connection_info

    async def kill(self, restart: bool = False) -> None:
        await super().kill(restart)
        # A killed fork is gone within milliseconds; waiting for it here saves the kernel
        # manager its 0.1 s polling sleep before it notices.
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:  # the manager's own wait takes over
            pass


class PromptKernelClient(AsyncKernelClient):
    """jupyter_client's async client, ready as soon as the kernel has answered.

    Its ``wait_for_ready`` then reads the IOPub channel until 0.2 s pass without a message,
    to drop the kernel_info exchange's status messages: a fifth of a second of idling per
    kernel, which nbclient does not need (it matches every message to the request it sent).
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await ensure_async(self.shell_channel.get_msg(timeout=1))
            except Empty:
                pass
            else:
                if reply["msg_type"] == "kernel_info_reply":
                    try:  # IOPub is connected once the kernel's first message on it arrives
                        await ensure_async(self.iopub_channel.get_msg(timeout=0.2))
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(reply)
                        return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")


class ForkingKernelManager(AsyncKernelManager):
    """An async kernel manager whose Python kernels are forks of the zygote.

    They talk to the grader over Unix sockets in the kernel's own scratch folder rather than
    TCP ports on localhost: with TCP the grader picks free ports and the kernel binds them a
    moment later, and when many kernels start at once another process can take a port in
    between, so the kernel dies at start-up and its notebook is graded as if it had crashed.
    """

    client_factory = Type(PromptKernelClient, klass=AsyncKernelClient)
    scratch: str | None = None  # the forked kernel's scratch folder, which holds its sockets

    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ForkProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        if self.scratch is None and _is_this_python_kernel(self.kernel_spec.argv):
            scratch = tempfile.mkdtemp(prefix="diffrn-kernel-")
            sockets = os.path.join(scratch, "zmq")
            if len(sockets) + len("-65535") < SOCKET_PATH_MAX:
                self.scratch, self.transport, self.ip = scratch, "ipc", sockets
            else:  # a temporary folder too deep for a socket's path: TCP, as usual
                os.rmdir(scratch)
        return await super()._async_pre_start_kernel(**kw)


class StudentExecute(Execute):
    """nbgrader's Execute preprocessor; the kernel's environment names the student graded."""

    _student: str | None = None

    def preprocess(self, nb, resources, *args, **kwargs):
        self._student = resources.get("nbgrader", {}).get("student")
        return super().preprocess(nb, resources, *args, **kwargs)

    async def async_start_new_kernel(self, **kwargs):
        if self._student:
            kwargs["env"] = student_env(self._student)
        return await super().async_start_new_kernel(**kwargs)

    def start_new_kernel(self, **kwargs):
        # What nbconvert's preprocess calls. nbclient defines it as run_sync(its own coroutine),
        # which would skip the overrides of async_start_new_kernel: run this class's instead.
        return run_sync(self.async_start_new_kernel)(**kwargs)


# The error names of cells a budgeted notebook did not run (see ForkingExecute).
NOT_RUN_BUDGET = "TimeBudgetExceeded"
NOT_RUN_KERNEL_STOPPED = "KernelStopped"


def cell_label(cell, index: int) -> str:
    """How notes name a cell: its nbgrader id, else its position."""
    return cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"


class ForkingExecute(StudentExecute):
    """:class:`StudentExecute` with kernels forked from the zygote, within a time budget.

    A forked kernel is killed as soon as the notebook has run, rather than asked to shut
    down and polled until it has: it is disposable, and nothing of it is kept.
    """

    # Set on each kernel rather than on the grading process: a Dask worker grades in a
    # thread of a process whose own memory must not be capped by one submission's limit.
    kernel_memory_bytes = Integer(0, help="address-space limit of each kernel in bytes (0: none)").tag(config=True)

    deadline = Float(None, allow_none=True, help=(
        "time.monotonic() by which the notebook must have run; cells not run by then are "
        "recorded as not run (None: no budget, only the per-cell timeout)")).tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = ForkingKernelManager
        kwargs.setdefault("shutdown_kernel", "immediate")
        super().__init__(*args, **kwargs)

    async def async_start_new_kernel(self, **kwargs):
        if self.kernel_memory_bytes:
            kwargs["memory_bytes"] = self.kernel_memory_bytes
        return await super().async_start_new_kernel(**kwargs)

    def preprocess(self, nb, resources, *args, **kwargs):
        self._not_run: tuple[str, str] | None = None  # (error name, why) once cells stop being run
        self._last_label = "the first cell"  # the cell run last, named in notes
        with timing.phase("notebook"):  # less the kernel's start and stop, timed below
            return super().preprocess(nb, resources, *args, **kwargs)

    # The kernel's start (the fork, then its first reply) and stop, timed apart from the cells.
    def start_new_kernel(self, **kwargs):
        with timing.phase("kernel_start"):
            return super().start_new_kernel(**kwargs)

    def start_new_kernel_client(self):
        with timing.phase("kernel_start"):
            try:
                return run_sync(self.async_start_new_kernel_client)()
            except RuntimeError as error:
                # It died or stayed silent before any cell ran, so nothing of the student's stopped
                # it (nbclient has cleaned it up): one more kernel, or the whole notebook would be
                # graded as if its code had crashed.
                if self.deadline is not None and self.deadline - time.monotonic() < 5:
                    raise
                self.log.warning("the kernel did not start (%s); starting another", error)
                self.km = self.create_kernel_manager()
                self.start_new_kernel()
                return run_sync(self.async_start_new_kernel_client)()

    def _cleanup_kernel(self):
        with timing.phase("kernel_stop"):
            return run_sync(self._async_cleanup_kernel)()

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if cell is None or self.deadline is None:
            return timeout
        left = max(1, math.ceil(self.deadline - time.monotonic()))
        return left if timeout is None else min(timeout, left)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if self._not_run is None and self._out_of_time():
            self._not_run = self._budget_used()
        if self._not_run is not None:
            ename, why = self._not_run
            cell.outputs = [new_output("error", ename=ename, evalue=why, traceback=[f"{ename}: {why}"])]
            return cell
        self._last_label = cell_label(cell, cell_index)
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except CellTimeoutError:
            # nbclient interrupted the cell at its timeout, but the kernel is still busy (it
            # ignores or catches KeyboardInterrupt): waiting on it would cost every later cell
            # its own timeout. The kernel is a disposable fork, so it goes.
            await self._stop_kernel()
            why = (f"the cell ran past its time limit and went on running after it was interrupted, "
                   f"so the kernel was stopped in {self._last_label}")
            cell.outputs.append(new_output("error", ename="CellTimeoutError", evalue=why,
                                           traceback=[f"CellTimeoutError: {why}"]))
            self._not_run = self._budget_used() if self._out_of_time() else (NOT_RUN_KERNEL_STOPPED, f"not run: {why}")
            return cell

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _budget_used(self) -> tuple[str, str]:
        return NOT_RUN_BUDGET, f"not run: the notebook had used its time budget (the time ran out in {self._last_label})"

    # nbclient binds its synchronous wrapper to its own coroutine; nbconvert calls the wrapper.
    execute_cell = run_sync(async_execute_cell)

    async def _stop_kernel(self) -> None:
        try:
            await ensure_async(self.km.shutdown_kernel(now=True))
        except Exception as error:  # it may have died on its own meanwhile
            self.log.warning("stopping the kernel: %s", error)
