"""nbgrader's Execute preprocessor: the student id in the kernel's environment, the kernel forked.

:class:`StudentExecute` (configured in ``nbgrader_config.py``, so plain ``nbgrader autograde``
uses it too) starts each kernel with the environment :func:`diffrn_grading.course.student_env`
builds for the student nbgrader is grading: that environment is the one way the id reaches
the checks. :class:`ForkingExecute` does the same with kernels forked from the zygote
(:mod:`diffrn_grading.zygote`): jupyter_client starts each kernel with a *provisioner*, and
:class:`ForkProvisioner` asks the grading worker's zygote for a fork instead of starting
``python -m ipykernel_launcher``. The kernel manager and nbclient see an ordinary kernel:
same connection file, signals, timeouts.
"""
from __future__ import annotations

import os
import shutil
import sys
import uuid

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from nbgrader.preprocessors import Execute
from traitlets import Integer

from diffrn_grading.course import student_env
from diffrn_grading.zygote import fork


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
        self.process = fork("kernel", argv=cmd[3:], env=env, cwd=cwd, memory_bytes=memory_bytes)
        self.pid = self.pgid = self.process.pid
        self.cwd = cwd
        return self.connection_info


class ForkingKernelManager(AsyncKernelManager):
    """An async kernel manager whose Python kernels are forks of the zygote."""

    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ForkProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
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


class ForkingExecute(StudentExecute):
    """:class:`StudentExecute` with kernels forked from the zygote.

    A forked kernel is killed as soon as the notebook has run, rather than asked to shut
    down and polled until it has: it is disposable, and nothing of it is kept.
    """

    # Set on each kernel rather than on the grading process: a Dask worker grades in a
    # thread of a process whose own memory must not be capped by one submission's limit.
    kernel_memory_bytes = Integer(0, help="address-space limit of each kernel in bytes (0: none)").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = ForkingKernelManager
        kwargs.setdefault("shutdown_kernel", "immediate")
        super().__init__(*args, **kwargs)

    async def async_start_new_kernel(self, **kwargs):
        if self.kernel_memory_bytes:
            kwargs["memory_bytes"] = self.kernel_memory_bytes
        return await super().async_start_new_kernel(**kwargs)
