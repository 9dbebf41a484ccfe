"""The notebooks run where the site sends readers: a Colab-like and a Binder environment.

Each test makes a fresh virtual environment under Python 3.12 (what Colab and .binder/runtime.txt
use), installs pinned packages from PyPI (pip's cache makes a repeat fast), and runs the
published notebooks there with nbclient, as a reader who clicks "run all" would:

* Colab: the course package is not installed; the only course install is the notebook's own
  first cell, with the site's wheel URL pointed at the wheel the book build wrote.
* Binder: the environment is built from .binder/ alone (requirements.txt, then postBuild in the
  checkout); a chapter is opened from its MyST source (as jupytext does on Binder) and a
  released problem set from the site (what nbgitpuller fetches from the notebooks branch).

They need the built site (`make book`). Measured on this course's 2-core machine while other
work loaded it (load average about 5), pip's cache warm: Colab 167 s (7 chapters and 7 problem
sets, side by side, one per core), Binder 61 s, the package's tests on 3.12 and 3.13 37 s each:
about 5 minutes for the file. With a cold pip cache the first run also downloads the pinned
wheels (about 130, JAX's among them) from PyPI.
"""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from site_paths import REPO, SITE

sys.path.insert(0, str(REPO / "_ext"))
import course_notebooks  # noqa: E402  (the extension that writes the notebooks)

COLAB_PACKAGES = ["ipykernel", "nbclient", "nbformat", "numpy", "matplotlib", "ipywidgets", "jax", "jaxlib"]

DRIVER = textwrap.dedent('''
    """Run one notebook in this environment; print a JSON report of every cell's errors."""
    import json, sys
    import nbformat
    from nbclient import NotebookClient

    source, workdir, old, new = sys.argv[1:5]
    if source.endswith(".md"):
        import jupytext
        notebook = jupytext.read(source)
    else:
        notebook = nbformat.read(source, as_version=4)
    if old:
        assert old in notebook.cells[0].source, "the setup cell does not name the wheel URL"
        notebook.cells[0].source = notebook.cells[0].source.replace(old, new)
    NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": workdir}}).execute()
    report = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        report.append({
            "grade_id": cell.metadata.get("nbgrader", {}).get("grade_id"),
            "graded": bool(cell.metadata.get("nbgrader", {}).get("grade")),
            "errors": [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"],
            "text": "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream"),
        })
    print(json.dumps(report))
''')


def python_version(version: str = "3.12") -> str:
    """A working Python of this version: $DIFFRN_PYTHON312 (313...), python3.12 on PATH, or pyenv's."""
    digits = version.replace(".", "")
    candidates = [os.environ.get(f"DIFFRN_PYTHON{digits}", ""), shutil.which(f"python{version}") or ""]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.stdout.strip() == version:
            return candidate
    pytest.fail(f"no Python {version} found (the course supports 3.11-3.13; Colab and Binder run 3.12): "
                f"install one or set DIFFRN_PYTHON{digits}")


def python312() -> str:
    return python_version("3.12")


def pins() -> dict[str, str]:
    found = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def clean_env(home: Path) -> dict[str, str]:
    """The environment of a fresh session: no course paths, no build-time demo mode."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"PYTHONPATH", "DIFFRN_DEMO_MODE", "MPLBACKEND", "VIRTUAL_ENV", "JUPYTER_PATH",
                          "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "PYTHONHASHSEED"}}
    env["HOME"] = str(home)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env["XDG_CACHE_HOME"] = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))  # pip's cache
    return env


def make_venv(where: Path, env: dict[str, str], version: str = "3.12") -> Path:
    subprocess.run([python_version(version), "-m", "venv", str(where)], check=True)
    return where / "bin" / "python"


def pip_install(python: Path, env: dict[str, str], *args: str) -> None:
    result = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check", *args],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


def run_notebook(python: Path, env, source: Path, workdir: Path, old: str = "", new: str = "") -> list[dict]:
    driver = workdir / "run_notebook.py"
    driver.write_text(DRIVER)
    result = subprocess.run([str(python), str(driver), str(source), str(workdir), old, new],
                            env=env, cwd=workdir, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_exercise_ran(name: str, report: list[dict]) -> None:
    """A student release, unanswered: only its graded check cells may fail, and the summary runs."""
    ungraded_errors = [(cell["grade_id"], cell["errors"]) for cell in report if cell["errors"] and not cell["graded"]]
    assert not ungraded_errors, f"{name}: cells other than graded checks failed: {ungraded_errors}"
    assert any(cell["graded"] and cell["errors"] for cell in report), f"{name}: no check failed on an empty answer"
    summary = next(cell for cell in report if cell["grade_id"] == "summary")
    assert summary["text"].strip(), f"{name}: the summary cell printed nothing"


def exercises() -> list[Path]:
    found = sorted((SITE / "exercises").glob("*.ipynb"))
    if not found:
        pytest.fail(f"no exercises in {SITE}: run `make book` first")
    return found


def site_wheel() -> tuple[str, Path]:
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    version = course_notebooks.package_version(REPO)
    wheel = SITE / "wheels" / course_notebooks.wheel_name(version)
    assert wheel.is_file(), f"{wheel} missing: the book build publishes the course package"
    owner, name = config["repository"]["url"].rstrip("/").split("/")[-2:]
    base = (config.get("html", {}).get("baseurl") or f"https://{owner.lower()}.github.io/{name}/").rstrip("/") + "/"
    return f"{base}wheels/{wheel.name}", wheel


def test_colab_runs_every_published_notebook_with_only_its_setup_cell(tmp_path):
    """Like Colab: Python 3.12 with numpy, matplotlib, ipywidgets and JAX, and no course package."""
    env = clean_env(tmp_path)
    python = make_venv(tmp_path / "venv", env)
    pinned = pins()
    pip_install(python, env, "-c", str(REPO / "requirements.txt"),
                *[f"{name}=={pinned[name]}" for name in COLAB_PACKAGES])
    probe = subprocess.run([str(python), "-c", "import diffrn"], env=env, cwd=tmp_path, capture_output=True)
    assert probe.returncode != 0, "the fresh environment already has the course package"
    wheel_url, wheel = site_wheel()

    chapters = sorted((SITE / "notebooks").glob("*.ipynb"))
    assert chapters, "no chapter notebooks on the site"
    notebooks = exercises() + chapters

    def run(notebook):
        workdir = tmp_path / notebook.stem
        workdir.mkdir()
        return notebook, run_notebook(python, env, notebook, workdir, old=wheel_url, new=str(wheel))

    # The first notebook installs the package alone; the rest run side by side, one per core.
    first = run(notebooks[0])
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = [first, *pool.map(run, notebooks[1:])]
    for notebook, report in results:
        assert not report[0]["errors"], f"{notebook.name}: setup cell failed: {report[0]['errors']}"
        if notebook.parent.name == "notebooks":
            failed = [(i, cell["errors"]) for i, cell in enumerate(report) if cell["errors"]]
            assert not failed, f"{notebook.name} fails on Colab: {failed}"
        else:
            assert_exercise_ran(notebook.name, report)
    installed = subprocess.run([str(python), "-m", "pip", "show", "diffrn"], env=env, capture_output=True, text=True)
    assert "Location: " + str(tmp_path / "venv") in installed.stdout, installed.stdout


def test_binder_environment_from_dot_binder_alone(tmp_path):
    """repo2docker's steps: .binder/requirements.txt, then .binder/postBuild in the checkout."""
    binder = REPO / ".binder"
    runtime = (binder / "runtime.txt").read_text().strip()
    assert runtime == "python-3.12", runtime
    env = clean_env(tmp_path)
    python = make_venv(tmp_path / "venv", env)
    pip_install(python, env, "-r", str(binder / "requirements.txt"))
    env["PATH"] = f"{python.parent}{os.pathsep}{env['PATH']}"  # as in the image: its python first
    post = subprocess.run(["bash", str(binder / "postBuild")], env=env, cwd=REPO, capture_output=True, text=True)
    assert post.returncode == 0, post.stderr[-3000:]

    settings = tmp_path / ".jupyter/lab/user-settings/@jupyterlab/docmanager-extension/plugin.jupyterlab-settings"
    viewers = json.loads(settings.read_text())["defaultViewers"]
    assert viewers["markdown"] == "Jupytext Notebook" and viewers["myst"] == "Jupytext Notebook"
    labextensions = python.parent.parent / "share" / "jupyter" / "labextensions"
    assert (labextensions / "jupyterlab-jupytext").is_dir(), "jupytext's JupyterLab extension is not installed"
    # The server extensions that open .md files as notebooks and serve git-pull links.
    enabled = "".join(p.read_text() for p in (python.parent.parent / "etc" / "jupyter").rglob("*.json"))
    assert '"jupyterlab_jupytext"' in enabled and '"nbgitpuller"' in enabled, "jupytext or nbgitpuller server extension not enabled"

    chapter_dir = tmp_path / "chapter"
    chapter_dir.mkdir()
    shutil.copy(REPO / "chapters" / "01-jacobian.md", chapter_dir)
    exercise = next(p for p in exercises() if p.stem.startswith("ps1"))
    work = tmp_path / "exercise"
    work.mkdir()
    with ThreadPoolExecutor(max_workers=2) as pool:
        chapter_run = pool.submit(run_notebook, python, env, chapter_dir / "01-jacobian.md", chapter_dir)
        exercise_run = pool.submit(run_notebook, python, env, exercise, work)
        report = chapter_run.result()
        failed = [(i, cell["errors"]) for i, cell in enumerate(report) if cell["errors"]]
        assert not failed, f"Chapter 1 fails on Binder: {failed}"
        report = exercise_run.result()
    assert "pip" not in report[0]["text"].lower(), "the setup cell installed something where diffrn is present"
    assert_exercise_ran(exercise.name, report)


PACKAGE_TESTS_ELSEWHERE = ("browser", "grading", "checks", "test_launch_config.py", "test_jax_agreement.py",
                           "test_integrity.py")


@pytest.mark.parametrize("version", ["3.12", "3.13"])
def test_the_course_package_works_on_newer_pythons(tmp_path, version):
    """What a student installs (the site's wheel) passes the package's own tests on 3.12 and 3.13.

    3.11 is the course environment itself (`make pytest`). Left out here: the grading pipeline
X
    """
    env = clean_env(tmp_path)
    python = make_venv(tmp_path / "venv", env, version)
    _, wheel = site_wheel()
    pinned = pins()
    pip_install(python, env, "-c", str(REPO / "requirements.txt"), str(wheel),
                *[f"{name}=={pinned[name]}" for name in ("numpy", "matplotlib", "ipywidgets", "pytest", "autograd")])
    tests = tmp_path / "tests"
    shutil.copytree(REPO / "tests", tests, ignore=shutil.ignore_patterns(*PACKAGE_TESTS_ELSEWHERE, "__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)  # pytest's settings
    env["MPLBACKEND"] = "Agg"
    result = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]
