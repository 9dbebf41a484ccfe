"""Keep student code away from instructor files: a Landlock filesystem sandbox (Linux ≥ 5.13).

A graded kernel runs as the instructor's user, so without more it could open the source
notebook in its private course copy, ``solutions/`` next to the package, or another student's
folder, and copy the answers. :func:`confine` is called in a freshly forked kernel or sandbox
before any student code runs. From then on that process, and everything it starts, can

* read and run the Python installation, the system libraries and the ``diffrn`` package;
* read and write only its own working folder and a scratch folder;
* not read anything else: the course, the repository, other students, the home folder.

The restriction is the kernel's (Landlock), so no student code can lift it. Where Landlock is
missing (another OS, an older kernel), :func:`available` is False and grading says so in
its summary; the re-checks and the review flags still apply.
"""
from __future__ import annotations

import os
import site
import sys
from pathlib import Path

SYSTEM = ["/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc"]
DEVICES = ["/dev", "/proc", "/sys"]


def available() -> bool:
    """Whether this machine can confine kernels (Landlock ABI 1 or later)."""
    try:
        import landlock

        return landlock.landlock_abi_version() >= 1
    except Exception:  # not Linux, no Landlock, or the module is missing
        return False


def readable_roots() -> list[str]:
    """Folders a confined process may read: Python, its packages, the system, diffrn itself."""
    import diffrn

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(diffrn.__file__).resolve().parent)}
    roots.update(site.getsitepackages())
    roots.update(p for p in SYSTEM if os.path.isdir(p))
    roots = {r for r in roots if os.path.isdir(r)}
    checkout = Path(diffrn.__file__).resolve().parents[1]
    if (checkout / "solutions").is_dir():  # an editable install: never open the checkout itself
        roots = {r for r in roots if not checkout.is_relative_to(Path(r).resolve())}
    # The grader's own code (how answers are judged) stays closed, wherever it is installed.
    return sorted(_without(roots, [Path(__file__).resolve().parent]))


def _without(roots: set[str], hidden: list[Path]) -> set[str]:
    """``roots`` minus the folders ``hidden``: a root holding one is replaced by its other entries.

    A Landlock rule opens everything below its folder, so a hidden folder inside a readable
    one (this package in site-packages) is cut out by allowing its siblings instead.
    """
    kept = set()
    for root in roots:
        folder = Path(root).resolve()
        if folder in hidden:
            continue
        inside = [h for h in hidden if h.is_relative_to(folder)]
        if not inside or not folder.is_dir():
            kept.add(root)
            continue
        for entry in folder.iterdir():
            kept |= _without({str(entry)}, inside)
    return kept


def answer_roots(packages: tuple[str, ...] = ("numpy",)) -> list[str]:
    """What a re-check may read: the standard library, ``packages`` and the course's checks.

    Narrower than :func:`readable_roots`: no other installed package and no other part of
    ``diffrn`` (its engine computes derivatives), because answers may use numpy and the
    standard library only. Modules the process loaded before are forgotten by the sandbox's
    import guard; this makes their files unreadable too.
    """
    import importlib.util
    import sysconfig

    import diffrn

    roots = set()
    for key in ("stdlib", "platstdlib"):
        folder = Path(sysconfig.get_paths()[key])
        if folder.is_dir():
            # Each entry but site-packages: a Landlock rule covers everything below its folder.
            roots.update(str(entry) for entry in folder.iterdir() if entry.name != "site-packages")
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec and spec.submodule_search_locations:
            for location in spec.submodule_search_locations:
                roots.add(location)
                libs = Path(location).with_name(Path(location).name + ".libs")  # bundled shared libraries
                if libs.is_dir():
                    roots.add(str(libs))
    package_root = Path(diffrn.__file__).resolve().parent
    roots.update([str(package_root / "checks"), str(package_root / "__init__.py")])
    roots.update(p for p in SYSTEM if os.path.isdir(p))
    return sorted(r for r in roots if os.path.exists(r))


def answer_listing_roots() -> list[str]:
    """Folders a re-check may list but whose files it may not read.

    Python finds a module by listing the folders on ``sys.path``. :func:`answer_roots` grants
    the standard library's entries one by one (to leave out its site-packages), so the folders
    themselves must stay listable, or a standard module imported for the first time by an
    answer (``functools``, ``tracemalloc``...) would not be found. Listing shows names only.
    """
    import site
    import sysconfig

    import diffrn

    folders = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    folders.update(site.getsitepackages())
    folders.add(str(Path(diffrn.__file__).resolve().parent))
    return sorted(folder for folder in folders if os.path.isdir(folder))


def confine(writable: list[str], readable_files: list[str] = (), answers_only: bool = False) -> bool:
    """Restrict this process (and its future children) as described above; False if unavailable.

    ``writable`` folders get every right; ``readable_files`` (such as a kernel's connection
    file) may be read. With ``answers_only`` the process may read only what an answer may use
    (:func:`answer_roots`) instead of every installed package. Call it while the process has a
    single thread.
    """
    if not available():
        return False
    from landlock import FSAccess, Ruleset

    read = FSAccess.EXECUTE | FSAccess.READ_FILE | FSAccess.READ_DIR
    ruleset = Ruleset()
    for root in (answer_roots() if answers_only else readable_roots()):
        # A single file (diffrn/__init__.py) cannot take directory rights.
        ruleset.allow(root, rules=read if os.path.isdir(root) else FSAccess.READ_FILE | FSAccess.EXECUTE)
    if answers_only:
        ruleset.allow(*answer_listing_roots(), rules=FSAccess.READ_DIR)
    devices = read | FSAccess.WRITE_FILE  # /dev/null, /dev/shm, /proc/self/...
    ruleset.allow(*(p for p in DEVICES if os.path.isdir(p)), rules=devices & ruleset.restrict_rules)
    for path in readable_files:
        ruleset.allow(path, rules=FSAccess.READ_FILE)
    ruleset.allow(*writable)
    ruleset.apply()
    return True
