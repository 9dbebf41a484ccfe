"""Publishing and launch configuration: workflows, Binder files, licences, the one repository URL.

These need no built site; tests/browser/test_site_launch.py and test_launch_envs.py check the
built links and run the notebooks.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "_ext"))
import course_notebooks  # noqa: E402

CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
WORKFLOWS = REPO / ".github" / "workflows"


def _pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def test_workflows_pass_actionlint():
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert actionlint, "actionlint is missing: it is pinned in requirements.txt (make setup installs it)"
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    assert len(workflows) == 2
    result = subprocess.run([actionlint, "-no-color", *map(str, workflows)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """The lint is real: an unknown event and an undefined step output fail it."""
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("on: pull_requests\njobs:\n  a:\n    runs-on: ubuntu-24.04\n"
                      "    steps:\n      - run: echo ${{ steps.nope.outputs.x }}\n")
    result = subprocess.run([actionlint, "-no-color", str(broken)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0


def test_pages_workflow_builds_with_the_readme_command_and_deploys_with_the_pages_actions():
    workflow = yaml.safe_load((WORKFLOWS / "pages.yml").read_text())
    text = (WORKFLOWS / "pages.yml").read_text()
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    uses = [step.get("uses", "").split("@")[0] for job in workflow["jobs"].values() for step in job["steps"]]
    assert "make book" in runs
    assert {"actions/configure-pages", "actions/upload-pages-artifact", "actions/deploy-pages"} <= set(uses)
    assert "_build/html" in text
    assert workflow["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert "notebooks_branch" in text, "the notebooks branch name must come from _config.yml"


def test_test_workflow_runs_the_readme_command_on_pull_requests():
    workflow = yaml.safe_load((WORKFLOWS / "tests.yml").read_text())
    events = workflow.get(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in events
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "make test" in runs
    assert "make test" in (REPO / "README.md").read_text()


def test_binder_files_stand_alone_and_agree_with_the_pins():
    binder = REPO / ".binder"
    requirements = binder / "requirements.txt"
    for line in requirements.read_text().splitlines():
        line = line.split("#")[0].strip()
        # repo2docker installs a requirements file before copying the repository in.
        assert not line.startswith(("-r", "-e", "-c", ".", "/")) and "file:" not in line, line
        assert not line or "==" in line, f"unpinned: {line}"
    binder_pins, pins = _pins(requirements), _pins(REPO / "requirements.txt")
    differ = {name: (version, pins.get(name)) for name, version in binder_pins.items() if pins.get(name) != version}
    assert not differ, f".binder/requirements.txt disagrees with requirements.txt: {differ}"
    assert {"jupytext", "jupyterlab", "nbgitpuller", "numpy", "matplotlib", "ipywidgets", "myst-nb"} <= set(binder_pins)
    assert re.fullmatch(r"python-3\.1[123]", (binder / "runtime.txt").read_text().strip())
    post = (binder / "postBuild").read_text()
    assert os.access(binder / "postBuild", os.X_OK)
    assert "pip install --no-deps --no-cache-dir ." in post
    assert "Jupytext Notebook" in post


def test_citation_and_licences():
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    assert citation["repository-code"] == CONFIG["repository"]["url"], \
        "CITATION.cff must name the repository of _config.yml (a fork updates both)"
    assert citation["license"] == "MIT"
    assert "MIT License" in (REPO / "LICENSE").read_text()
    assert "CC BY 4.0" in (REPO / "LICENSE-CONTENT").read_text()
    footer = CONFIG["html"]["extra_footer"]
    assert "MIT" in footer and "CC BY 4.0" in footer


def _settings(url="https://github.com/someone/my-fork", branch="dev", launch=None, baseurl=""):
    config = SimpleNamespace(html_theme_options={"repository_url": url, "repository_branch": branch},
                             diffrn_launch=launch or {}, html_baseurl=baseurl)
    return course_notebooks.site_settings(config)


def test_a_fork_changes_every_link_through_config_alone():
    site = _settings()
    assert site.url == "https://someone.github.io/my-fork/"
    links = course_notebooks.launch_links(site, "01-jacobian", "ps1-jacobians")
    remote = [url for service in ("binder", "colab") for _, url in links[service]]
    assert all("someone/my-fork" in url or "someone%2Fmy-fork" in url for url in remote), remote
    assert links["binder"][0][1] == "https://mybinder.org/v2/gh/someone/my-fork/dev?urlpath=lab%2Ftree%2Fchapters%2F01-jacobian.md"
    assert "jupyterhub" not in links
    assert "https://someone.github.io/my-fork/wheels/" in course_notebooks.setup_cell_source(
        f"{site.url}wheels/{course_notebooks.wheel_name('0.1.0')}", chapter=False)
    assert _settings(baseurl="https://course.example.org/calc").url == "https://course.example.org/calc/"


def test_jupyterhub_link_is_an_nbgitpuller_link_when_a_hub_is_set():
    site = _settings(launch={"jupyterhub_url": "https://hub.example.edu/"})
    links = course_notebooks.launch_links(site, "02-chain-rule", "ps2-chain-rule")
    label, url = links["jupyterhub"][1]
    assert url.startswith("https://hub.example.edu/hub/user-redirect/git-pull?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["repo"] == "https://github.com/someone/my-fork" and query["branch"] == "notebooks"
    assert query["urlpath"] == f"lab/tree/{query['targetPath']}/exercises/ps2-chain-rule.ipynb"
    binder_pull = unquote(links["binder"][1][1].split("urlpath=", 1)[1])
    assert binder_pull.startswith("git-pull?")


@pytest.mark.parametrize("bad", ["https://gitlab.com/a/b", "github.com/a/b", ""])
def test_a_repository_url_that_is_not_github_is_refused(bad):
    with pytest.raises(Exception, match="GitHub repository URL"):
        _settings(url=bad)


def test_static_demos_are_decided_by_the_extension_not_the_makefile(monkeypatch):
    assert "DIFFRN_DEMO_MODE" not in (REPO / "Makefile").read_text()
    monkeypatch.setenv("DIFFRN_DEMO_MODE", "live")  # restored after the test
    config = SimpleNamespace(html_theme_options={"repository_url": CONFIG["repository"]["url"],
                                                 "launch_buttons": {"colab_url": "x"}},
                             diffrn_launch={}, html_baseurl="")
    app = SimpleNamespace(outdir=str(REPO / "_build" / "html"), registry=SimpleNamespace(
        css_files=[("https://fonts.example/x.css", {}), ("local.css", {})]))
    course_notebooks._config_inited(app, config)
    from diffrn.demos.core import frames_mode

    assert frames_mode()
    assert config.html_theme_options["use_download_button"] is False
    assert "launch_buttons" not in config.html_theme_options
    assert app.registry.css_files == [("local.css", {})], "a page would fetch a stylesheet from another host"


def test_setup_cell_is_a_no_op_where_the_package_imports():
    """Executed in this environment (diffrn installed), the cell installs nothing."""
    from IPython.core.inputtransformer2 import TransformerManager

    source = course_notebooks.setup_cell_source("https://example.org/wheels/diffrn-0.1.0-py3-none-any.whl", chapter=True)
    code = TransformerManager().transform_cell(source)
    calls = []
    namespace = {"get_ipython": lambda: SimpleNamespace(run_line_magic=lambda *a: calls.append(a))}
    exec(compile(code, "setup", "exec"), namespace)
    assert calls == []
    assert "diffrn" in namespace


def test_makefile_accepts_python_3_11_to_3_13():
    result = subprocess.run(["make", "-s", "--no-print-directory", "--eval", "print-python: ; @echo $(PYTHON)",
                             "print-python"], cwd=REPO, capture_output=True, text=True)
    python = result.stdout.strip()
    assert python, result.stderr
    version = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True)
    assert version.stdout.strip() in {"(3, 11)", "(3, 12)", "(3, 13)"}
    makefile = (REPO / "Makefile").read_text()
    assert "(3, 11) <= sys.version_info[:2] <= (3, 13)" in makefile
