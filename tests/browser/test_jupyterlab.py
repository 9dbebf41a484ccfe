"""A student opens a released problem set in JupyterLab, runs every cell and reads the diagnosis.

JupyterLab is started by the test on 127.0.0.1 with the course's own Python; the notebook is
the nbgrader release of ps3, solved except for one typical mistake typed into an answer cell.
"""
from __future__ import annotations

import os
import shutil
import sys

import nbformat
import pytest

from server_helpers import answered_release, free_port, running_server
from site_paths import SCREENSHOTS

ASSIGNMENT = "ps3-backprop"
MISTAKE = "def relu_vjp(x, g):\n    return np.where(np.asarray(x) >= 0, g, 0.0)\n"
TOKEN = "diffrn-browser-test"


@pytest.fixture(scope="module")
def student_folder(tmp_path_factory):
    from diffrn_grading.course import DEFAULT_COURSE, Course

    course_root = tmp_path_factory.mktemp("course")
    shutil.copy(DEFAULT_COURSE / "nbgrader_config.py", course_root)
    # Every other function solved: Run All stops at the first failing check, which is then this one.
    notebook = answered_release(Course(course_root), ASSIGNMENT, {"relu_vjp": MISTAKE})
    home = tmp_path_factory.mktemp("student")
    nbformat.write(notebook, str(home / f"{ASSIGNMENT}.ipynb"))
    return home


@pytest.fixture(scope="module")
def jupyterlab(student_folder, tmp_path_factory):
    port = free_port()
    settings = tmp_path_factory.mktemp("jupyter")
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={student_folder}",
               "--ServerApp.port_retries=0", "--LabApp.news_url=", "--allow-root", f"--LabApp.user_settings_dir={settings}",
               f"--LabApp.workspaces_dir={settings}"]
    url = f"http://127.0.0.1:{port}"
    with running_server(command, f"{url}/api/status?token={TOKEN}", settings / "server.log",
                        env={**os.environ, "JUPYTER_CONFIG_DIR": str(settings)}, timeout=90):
        yield url


def test_running_all_cells_shows_the_one_line_diagnosis(browser, jupyterlab):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{jupyterlab}/lab/tree/{ASSIGNMENT}.ipynb?token={TOKEN}", wait_until="load")
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=90000)
        # Run All before the kernel is up would be dropped: wait for the status bar to say Idle.
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        diagnosis = page.locator(".jp-OutputArea-output", has_text="✗ relu_vjp:")
        diagnosis.first.wait_for(timeout=120000)
        text = diagnosis.first.text_content()
        assert "the mask is x > 0, not x >= 0" in text
        assert "core.py" not in text and "Traceback" not in text
        assert len([line for line in text.splitlines() if line.strip()]) == 1, text
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        diagnosis.first.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab-ps3-diagnosis.png"))
    except Exception:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab-ps3-failure.png"))
        raise
    finally:
        context.close()
