"""A warm process that forks fresh kernels and sandboxes, so none pays for its own start-up.

Starting a Python kernel costs about a second of CPU (the interpreter, ipykernel, IPython,
numpy, the checks), several times what running a problem set's notebook costs. The *zygote*
pays that once per grading worker; each submission then gets a kernel that is a fork of it:
a new process that no student code has touched, with its own session, limits and working
folder, ready in a few milliseconds. Re-checks (:mod:`diffrn_grading.sandbox`) are forked
the same way.

Nothing a student starts outlives its kernel or re-check: each runs as the first process of
a PID namespace of its own, watched by a keeper process that leads its session (see
:func:`_start`). When it ends, or the keeper is killed, Linux ends every process of that
namespace, including any that left the session or double-forked to detach.

The zygote is a fresh interpreter (``python -m diffrn_grading.zygote``) started with
``close_fds``, so its children inherit none of the grading worker's pipes, only the zygote's
sockets, which they close first. Linux only (fork, prctl).

A worker starts a zygote of its own on first use. A batch of local workers shares one instead
(:func:`shared_zygote`, :func:`use_shared`): one interpreter's start-up for the whole batch rather
than one per worker. The shared zygote listens on a Unix socket in the batch's scratch folder
and answers only processes of its own PID namespace, which no kernel or re-check is in; each
child's keeper also ends it when the worker that asked for it dies, as a worker's own zygote
would.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection, wait
from pathlib import Path

# The zygote's environment. One BLAS thread: the children are small, and a BLAS thread pool
# does not survive fork.
ENVIRONMENT = {"MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# What a kernel that grades a problem set imports; loaded once, in the zygote.
def _preload() -> list[str]:
    import diffrn.checks

    checks = sorted(Path(diffrn.checks.__file__).resolve().parent.glob("ps*.py"))
    # Also what a kernel imports as it starts (its debugger, inspector, the storemagic extension,
    # the history's sqlite3) and numpy.random, which numpy loads on first use and each child
    # reseeds: else every kernel and re-check imports them again.
    return ["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
            "IPython.core.completer", "IPython.core.completerlib", "IPython.core.debugger", "IPython.core.logger",
            "IPython.core.oinspect", "IPython.extensions.storemagic", "IPython.utils.wildcard", "pdb", "sqlite3",
            "psutil", "runpy", "tornado.platform.asyncio", "numpy", "numpy.random",
            *(f"diffrn.checks.{path.stem}" for path in checks),
            "diffrn_grading.sandbox", "diffrn_grading.confine", "landlock"]


PRELOAD = _preload()


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no orphans after a kill -9)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux/glibc: the time limits still apply
        pass


CLONE_NEWUSER, CLONE_NEWPID = 0x10000000, 0x20000000


def _unshare_pid_namespace() -> bool:
    """Make this process's next child the first process (PID 1) of a new PID namespace.

    When that first process ends, Linux kills every other process of its namespace, however
    it detached (a new session, a double fork): nothing started inside can outlive it. Root
    (CAP_SYS_ADMIN) can create the namespace directly; any other user needs a user namespace
    around it, in which its own uid and gid are mapped to themselves. False where neither works.
    """
    import ctypes

    try:
        unshare = ctypes.CDLL(None, use_errno=True).unshare
    except (OSError, AttributeError):  # not Linux
        return False
    if unshare(CLONE_NEWPID) == 0:
        return True
    uid, gid = os.getuid(), os.getgid()
    if unshare(CLONE_NEWUSER | CLONE_NEWPID) != 0:
        return False
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        try:
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
        except OSError:  # unmapped ids still work; only os.getuid() reads differently
            pass
    return True


@functools.cache
def isolation_available() -> bool:
    """Whether kernels and re-checks get a PID namespace of their own on this machine (tried once
    per process)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            if _unshare_pid_namespace():
                child = os.fork()
                if child == 0:
                    os._exit(0 if os.getpid() == 1 else 1)
                code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


class ForkedProcess:
    """What jupyter_client and the grader use of :class:`subprocess.Popen`, for a process the
    zygote forked. It is not our child, so it is watched through a pidfd (Linux 5.3+)."""

    def __init__(self, pid: int, scratch: str | None = None):
        self.pid = pid
        self.scratch = scratch
        self.returncode: int | None = None
        self.stdin = self.stdout = self.stderr = None
        try:
            self._pidfd = os.pidfd_open(pid)
        except ProcessLookupError:  # it already ended
            self._pidfd = None
            self._close(-signal.SIGKILL)
        except (AttributeError, OSError):  # older kernels: poll with kill(pid, 0)
            self._pidfd = None

    def _ended(self, timeout: float) -> bool:
        if self._pidfd is not None:
            return bool(select.select([self._pidfd], [], [], timeout)[0])
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(timeout)
        return False

    def poll(self) -> int | None:
        """None while it runs; then a negative code (the zygote reaps it, so the status is lost)."""
        if self.returncode is None and self._ended(0):
            self._close(-signal.SIGKILL)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = 0.5 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            self._ended(min(left, 0.5))
        return self.returncode

    def _close(self, code: int) -> None:
        self.returncode = code
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def send_signal(self, signum: int) -> None:
        if self.returncode is not None:
            return
        try:
            # The child leads its own session; the first process of its PID namespace is in
            # its process group, and what detached from both dies with that namespace.
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            try:
                os.kill(self.pid, signum)  # it may not have called setsid yet
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


# How long a worker waits for the batch's shared zygote to be ready before starting its own.
SHARED_READY_SECONDS = 60


class Zygote:
    """A warm process that forks kernels and sandboxes on request: a worker's own, or a
    connection to the batch's shared one (``address``, see :func:`shared_zygote`)."""

    _instance: "Zygote | None" = None
    _shared_address: str | None = None
    _lock = threading.Lock()

    def __init__(self, address: str | None = None):
        self.owner = os.getpid()
        self.broken = False
        if address is not None:
            self.process = None
            ours = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            ours.connect(address)
            self.connection = Connection(ours.detach())
            ready = self.connection.recv() if self.connection.poll(SHARED_READY_SECONDS) else None
            if ready != "ready":
                self.connection.close()
                raise RuntimeError(f"the batch's kernel zygote at {address} did not answer")
            return
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "diffrn_grading.zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=dict(os.environ, **ENVIRONMENT),
        )
        theirs.close()
        self.connection = Connection(ours.detach())
        try:
            ready = self.connection.recv()
        except EOFError:
            ready = None
        if ready != "ready":
            raise RuntimeError(f"the kernel zygote did not start (exit code {self.process.wait()}); "
                               f"run `python -m diffrn_grading.zygote` to see why")

    def _alive(self) -> bool:
        return not self.broken and (self.process is None or self.process.poll() is None)

    @classmethod
    def shared(cls) -> "Zygote":
        """This process's zygote: the batch's shared one if it has one and it answers, else its
        own, started on first use and again if it died."""
        with cls._lock:
            zygote = cls._instance
            if zygote is None or zygote.owner != os.getpid() or not zygote._alive():
                if zygote is not None and zygote.owner == os.getpid():
                    zygote.connection.close()
                zygote = None
                if cls._shared_address is not None:
                    try:
                        zygote = cls(cls._shared_address)
                    except (OSError, EOFError, RuntimeError) as error:
                        # Gone or never started: this worker carries on with a zygote of its own.
                        print(f"grading worker {os.getpid()}: {error}; starting its own zygote", file=sys.stderr)
                        cls._shared_address = None
                cls._instance = zygote = zygote or cls()
            return zygote

    def fork(self, kind: str, scratch: str | None = None, **request) -> ForkedProcess:
        """Fork a ``kind`` child ("kernel" or "sandbox") and return it, running.

        The child gets a scratch folder of its own (its TMPDIR, IPython and matplotlib
        folders; ``scratch`` if given, else a new one), removed once it has ended.
        """
        given = scratch is not None
        scratch = scratch if given else tempfile.mkdtemp(prefix=f"diffrn-{kind}-")
        with self._lock:
            try:
                self.connection.send(dict(request, kind=kind, scratch=scratch))
                reply = self.connection.recv()
            except (EOFError, OSError) as error:
                self.broken = True
                reply = f"the kernel zygote stopped ({error}); the next fork starts a new one"
        if isinstance(reply, str):
            if not given:  # the caller's folder stays for its retry
                shutil.rmtree(scratch, ignore_errors=True)
            raise RuntimeError(f"the kernel zygote could not fork: {reply}")
        return ForkedProcess(reply, scratch)

    def close(self) -> None:
        """End the zygote (its running children end with it), or the connection to a shared one."""
        self.connection.close()
        if self.process is not None:
            self.process.wait()


@contextlib.contextmanager
def shared_zygote(folder: str):
    """A zygote for every worker of a batch, listening in ``folder``, while the block runs: its
    address, or None where it cannot be shared (no PID namespaces, so no keeper to end a dead
    worker's kernel; or a folder too deep for a socket's path). Workers find it through
    :func:`use_shared`. It is killed when the block ends; its children's keepers die with it,
    and the children with them."""
    address = os.path.join(folder, "zygote.sock")
    if len(os.fsencode(address)) >= 108 or not isolation_available():
        yield None
        return
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "diffrn_grading.zygote", "--shared", str(listener.fileno())],
            pass_fds=[listener.fileno()], stdin=subprocess.DEVNULL, start_new_session=True,
            env=dict(os.environ, TMPDIR=folder, **ENVIRONMENT),
        )
    finally:
        listener.close()
    try:
        yield address
    finally:
        process.kill()
        process.wait()


def use_shared(address: str | None) -> None:
    """In a worker: fork from the batch's shared zygote at ``address`` (None: a zygote of its own)."""
    Zygote._shared_address = address


def fork(kind: str, **request) -> ForkedProcess:
    """Fork a child of this process's zygote (retrying once with a new zygote if it died)."""
    try:
        return Zygote.shared().fork(kind, **request)
    except RuntimeError:
        return Zygote.shared().fork(kind, **request)


# ----------------------------------------------------------------------------- in the zygote

def _start(request: dict) -> int:
    """In a freshly forked child: run the request in a PID namespace of its own; the exit code.

    This process leads a new session and stays outside the namespace as its keeper: it only
    waits for the namespace's first process, which runs the request. Ending the keeper (the
    grader kills its process group on a timeout, and it dies with the zygote) ends that
    process, and Linux then ends everything else in the namespace, detached or not.
    """
    os.setsid()  # its own session, so a timeout's killpg reaches it and what it started
    die_with_parent()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the zygote ignores it; the keeper waits
    if not _unshare_pid_namespace():  # no namespaces here: the session is all there is
        _become(request)
        return 0
    child = os.fork()
    if child == 0:
        code = 1
        try:
            die_with_parent()
            _become(request, ppid=1)
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    # An interrupt sent to the process group is for the kernel (it handles SIGINT), not for us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if request.get("owner"):
        _end_with_owner(child, request["owner"])
    code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    return code if code >= 0 else 128 - code


def _end_with_owner(child: int, owner: int) -> None:
    """Return when ``child`` ends; kill it first if the process ``owner`` ends (or has ended)."""
    try:
        owner_ended = os.pidfd_open(owner)
        child_ended = os.pidfd_open(child)
    except OSError:  # the owner is gone already (or no pidfds): nobody is waiting for the child
        os.kill(child, signal.SIGKILL)
        return
    while child_ended not in select.select([child_ended, owner_ended], [], [])[0]:
        os.kill(child, signal.SIGKILL)


def _become(request: dict, ppid: int | None = None) -> None:
    """Take on the requested environment, then run the request (a kernel or a re-check)."""
    from diffrn_grading.confine import confine

    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    scratch = request["scratch"]
    os.environ.update(TMPDIR=scratch, IPYTHONDIR=os.path.join(scratch, "ipython"),
                      MPLCONFIGDIR=os.path.join(scratch, "matplotlib"))
    argv = request.get("argv", [])
    connection_file = [argv[argv.index("-f") + 1]] if "-f" in argv else []
    confine(writable=[request["cwd"], scratch], readable_files=connection_file,
            answers_only=request["kind"] == "sandbox")
    # A fork copies numpy's global random state (Python's `random` reseeds itself after a fork):
    # give each child fresh entropy, as a newly started kernel would have.
    import numpy

    numpy.random.seed()
    if request["kind"] == "kernel":
        from ipykernel.kernelapp import IPKernelApp

        if request.get("memory_bytes"):
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (request["memory_bytes"], request["memory_bytes"]))

        # Without a parent handle the kernel prints a console banner meant for `ipython kernel`.
        # Its history would go to a file outside the confined folders: keep it in memory.
        # In its own PID namespace the kernel's parent is outside and reads as 0; 1 means "no
        # polling" to ipykernel (die_with_parent already ends it with its keeper).
        argv = [*argv, f"--IPKernelApp.parent_handle={ppid or os.getppid()}"]
        if not any(a.startswith("--HistoryManager.hist_file") for a in argv):
            argv.append("--HistoryManager.hist_file=:memory:")
        sys.argv = ["ipykernel_launcher", *argv]
        IPKernelApp.launch_instance(argv=argv)
    else:
        import resource

        from diffrn_grading import sandbox

        memory, cpu = request["memory_bytes"], int(request["cpu_seconds"]) + 5
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        sandbox.main(request["request_path"], request["result_path"])


def _become_zygote() -> None:
    """End with the process that started this one, reap children as they end (so none lingers as
    a zombie), and import what they need."""
    die_with_parent()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    for module in PRELOAD:
        importlib.import_module(module)


def _serve(fd: int) -> None:
    """A worker's own zygote: fork what the worker at the other end of ``fd`` asks for, until it
    closes its end."""
    _become_zygote()
    connection = Connection(fd)
    connection.send("ready")
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):  # the worker closed its end or died
            os._exit(0)
        _fork_for(connection, request, [connection])


def _serve_shared(fd: int) -> None:
    """The batch's zygote: accept workers on the listening socket ``fd`` and fork what each asks
    for, until the batch ends."""
    listener = socket.socket(fileno=fd)
    _become_zygote()
    own_namespace = os.readlink("/proc/self/ns/pid")
    workers: dict[Connection, int] = {}
    while True:
        for ready in wait([listener, *workers]):
            if ready is listener:
                accepted, _ = listener.accept()
                pid, uid, _gid = struct.unpack("3i", accepted.getsockopt(
                    socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
                try:
                    # A kernel or re-check is in a PID namespace of its own: it may not ask for forks.
                    trusted = uid == os.getuid() and os.readlink(f"/proc/{pid}/ns/pid") == own_namespace
                except OSError:
                    trusted = False
                if not trusted:
                    accepted.close()
                    continue
                connection = Connection(accepted.detach())
                workers[connection] = pid
                _send(connection, "ready", workers)
                continue
            try:
                request = ready.recv()
            except (EOFError, OSError):  # that worker ended
                workers.pop(ready, None)
                ready.close()
                continue
            _fork_for(ready, dict(request, owner=workers[ready]), [listener, *workers], workers)


def _send(connection: Connection, message, workers: dict | None = None) -> None:
    try:
        connection.send(message)
    except OSError:  # the worker died meanwhile
        if workers is not None:
            workers.pop(connection, None)
        connection.close()


def _fork_for(connection: Connection, request: dict, sockets: list, workers: dict | None = None) -> None:
    """Fork the requested child and send its pid (or why not) over ``connection``."""
    try:
        pid = os.fork()
    except OSError as error:
        _send(connection, f"{type(error).__name__}: {error}", workers)
        return
    if pid == 0:
        code = 1
        try:
            for open_socket in sockets:
                open_socket.close()
            code = _start(request)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except BaseException:  # shown on the worker's stderr, for whoever debugs the grader
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    _send(connection, pid, workers)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--shared" and sys.argv[2].isdigit():
        _serve_shared(int(sys.argv[2]))
    elif len(sys.argv) == 2 and sys.argv[1].isdigit():
        _serve(int(sys.argv[1]))
    else:
        # Run by hand: show that the preloads import (the usual reason a zygote fails to start).
        for module in PRELOAD:
            importlib.import_module(module)
        print(f"imported {len(PRELOAD)} modules; the zygote is started by the grader with a socket")
