"""Sphinx extension: how a reader runs each chapter and its problem set, and what the site ships.

* The build decides how demos are drawn: a site has no kernel behind it, so every build of the
  book renders demos as frames (``DIFFRN_DEMO_MODE=frames`` is set here, for the kernels that
  execute the chapters). A plain ``jupyter-book build .`` gives working sliders, and the
  execution cache only ever holds frame-mode outputs.
* At the top of each chapter page, one box: download the chapter and the student version of its
  problem set as notebooks, or open them in JupyterLite, Binder, Colab and (when
  ``diffrn_launch.jupyterhub_url`` is set) a JupyterHub through nbgitpuller. The theme's own
  download menu and launch buttons are off, so there is one of each.
* When the build finishes, the files behind those links are written into the site:
  ``notebooks/<chapter>.ipynb`` (from the MyST source, no outputs), ``exercises/<ps>.ipynb``
  (nbgrader's release: no solutions, no hidden tests) and ``wheels/diffrn-<version>-...whl``
  (the course package). Each notebook starts with one setup cell that installs the course
  package where it is missing (Colab from the wheel on the site, JupyterLite from the site's own
  package index) and does nothing where ``import diffrn`` already works (Jupyter with the course
  environment, Binder, a JupyterHub with the package, the grader). The same notebooks are the
  contents of the JupyterLite site, which ``jupyterlite-sphinx`` builds into ``lite/`` right
  after (this extension runs first).

Everything about where the site and the notebooks live comes from ``repository`` in _config.yml
(a GitHub URL and branch): the site is ``https://<owner>.github.io/<name>/`` unless
``html.baseurl`` says otherwise, Binder builds ``.binder/`` of that branch, and Colab and
nbgitpuller open the generated notebooks from the branch ``diffrn_launch.notebooks_branch``,
which the Pages workflow fills with the site's ``notebooks/`` and ``exercises/`` folders.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)
CHAPTER_PREFIX = "chapters/"
FRAMES_ENV = "DIFFRN_DEMO_MODE"  # read by diffrn.demos.core.frames_mode in the executing kernel
SETUP_TAG = "diffrn-setup"
LAUNCH_DEFAULTS = {
    "binderhub_url": "https://mybinder.org",
    "colab_url": "https://colab.research.google.com",
    "jupyterhub_url": "",
    "notebooks_branch": "notebooks",
}


@dataclass(frozen=True)
class Site:
    """Where the repository, the published site and the generated notebooks live."""

    owner: str
    name: str
    branch: str
    url: str  # the published site, ending in "/"
    notebooks_branch: str
    binderhub_url: str
    colab_url: str
    jupyterhub_url: str

    @property
    def repository(self) -> str:
        return f"https://github.com/{self.owner}/{self.name}"


def site_settings(config) -> Site:
    """Read the repository and launch settings (from _config.yml) once, with clear errors."""
    theme = config.html_theme_options or {}
    url = (theme.get("repository_url") or "").rstrip("/")
    match = re.fullmatch(r"https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?", url)
    if not match:
        raise ExtensionError(
            f"repository.url in _config.yml must be a GitHub repository URL "
            f"(https://github.com/<owner>/<name>), found {url!r}"
        )
    owner, name = match.groups()
    launch = {**LAUNCH_DEFAULTS, **(config.diffrn_launch or {})}
    unknown = set(launch) - set(LAUNCH_DEFAULTS)
    if unknown:
        raise ExtensionError(f"unknown diffrn_launch settings in _config.yml: {sorted(unknown)}")
    site_url = (config.html_baseurl or f"https://{owner.lower()}.github.io/{name}/").rstrip("/") + "/"
    return Site(owner=owner, name=name, branch=theme.get("repository_branch") or "main", url=site_url,
                notebooks_branch=launch["notebooks_branch"], binderhub_url=launch["binderhub_url"].rstrip("/"),
                colab_url=launch["colab_url"].rstrip("/"), jupyterhub_url=(launch["jupyterhub_url"] or "").rstrip("/"))


def wheel_name(version: str) -> str:
    return f"diffrn-{version}-py3-none-any.whl"


def package_version(root: Path) -> str:
    text = (root / "pyproject.toml").read_text()
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
    if not match:
        raise ExtensionError("no version in pyproject.toml")
    return match.group(1)


def setup_cell_source(wheel_url: str, chapter: bool) -> str:
    """The first cell of every published notebook: the course package where it is missing."""
    lines = [
        "# Setup: the course package `diffrn`. Where it is installed already (Jupyter with the course",
        "# environment, Binder, a course JupyterHub) this cell does nothing; on Colab it installs the",
        "# package from the course website, in JupyterLite from the site's own package index.",
        "try:",
        "    import diffrn",
        "except ModuleNotFoundError:",
        "    import sys",
        "    if sys.platform == \"emscripten\":  # JupyterLite: Python in the browser",
        "        %pip install -q diffrn",
        "    else:",
        f"        %pip install -q {wheel_url}",
    ]
    if chapter:
        lines += [
            "",
            "# The chapters hand computed numbers to the website's text with myst_nb's `glue`; outside",
            "# the website build it only needs to show a value, so a stand-in does where myst_nb is absent.",
            "import importlib.util",
            "if importlib.util.find_spec(\"myst_nb\") is None:",
            "    import sys, types",
            "    from IPython.display import display as _display",
            "    def _glue(name, value, display=True):",
            "        if display:",
            "            _display(value)",
            "    sys.modules[\"myst_nb\"] = types.SimpleNamespace(glue=_glue)",
        ]
    return "\n".join(lines)


def _chapters(app) -> list[str]:
    return sorted(name for name in app.env.found_docs if name.startswith(CHAPTER_PREFIX))


def launch_links(site: Site, stem: str, exercise: str | None) -> dict[str, list[tuple[str, str]]]:
    """Every place a chapter and its problem set open, as {service: [(label, url), ...]}.

    Page-relative links (download, JupyterLite) start with "../" (chapter pages live in chapters/).
    """
    items = [("chapter", f"chapters/{stem}", f"notebooks/{stem}.ipynb")]
    if exercise:
        items.append(("problem set " + exercise, None, f"exercises/{exercise}.ipynb"))
    links: dict[str, list[tuple[str, str]]] = {"download": [], "jupyterlite": [], "binder": [], "colab": []}
    if site.jupyterhub_url:
        links["jupyterhub"] = []
    binder = f"{site.binderhub_url}/v2/gh/{site.owner}/{site.name}/{quote(site.branch, safe='')}"
    pulled = f"{site.name}-{site.notebooks_branch}"
    for label, source, published in items:
        links["download"].append((label, f"../{published}"))
        lite_path = published.replace("notebooks/", "chapters/", 1)
        links["jupyterlite"].append((label, f"../lite/lab/index.html?path={lite_path}"))
        if source:  # a chapter is in the repository as MyST Markdown: Binder opens it with jupytext
            links["binder"].append((label, f"{binder}?urlpath={quote(f'lab/tree/{source}.md', safe='')}"))
        else:  # a student release exists only on the site and the notebooks branch: nbgitpuller fetches it
            pull = _git_pull(site, pulled, published)
            links["binder"].append((label, f"{binder}?urlpath={quote(pull, safe='')}"))
        links["colab"].append((label, f"{site.colab_url}/github/{site.owner}/{site.name}/blob/"
                                      f"{site.notebooks_branch}/{published}"))
        if site.jupyterhub_url:
            links["jupyterhub"].append((label, f"{site.jupyterhub_url}/hub/user-redirect/"
                                               f"{_git_pull(site, pulled, published)}"))
    return links


def _git_pull(site: Site, target: str, path: str) -> str:
    query = urlencode({"repo": site.repository, "branch": site.notebooks_branch, "targetPath": target,
                       "urlpath": f"lab/tree/{target}/{path}"})
    return f"git-pull?{query}"


SERVICE_NAMES = {
    "download": "Download (.ipynb)",
    "jupyterlite": "JupyterLite (Python in your browser, nothing to install)",
    "binder": "Binder (a temporary Jupyter server)",
    "colab": "Colab (a Google account)",
    "jupyterhub": "Your course JupyterHub",
}


def _links_html(app, docname: str) -> str:
    from html import escape

    stem = docname[len(CHAPTER_PREFIX):]
    links = launch_links(app.diffrn_site, stem, app.config.diffrn_exercises.get(docname))
    rows = []
    for service, entries in links.items():
        anchors = []
        for label, url in entries:
            attrs = ' download' if service == "download" else ' target="_blank" rel="noopener"'
            kind = "download" if service == "download" else "external"
            anchors.append(f'<a class="reference {kind}" data-launch="{service}" href="{escape(url)}"{attrs}>'
                           f"{escape(label)}</a>")
        rows.append(f"<li>{SERVICE_NAMES[service]}: {' · '.join(anchors)}</li>")
    return (
        '<div class="admonition tip course-notebooks"><p class="admonition-title">Run it yourself</p>'
        f"<ul>{''.join(rows)}</ul>"
        "<p>Work you do in JupyterLite is saved in this browser only (clearing the site's data erases "
        "it). To hand in a problem set, right-click the notebook in JupyterLite's file browser, choose "
        "<em>Download</em>, and submit that <code>.ipynb</code> file. On Binder, download it the same "
        "way before you close the tab: a Binder session is deleted after a few minutes idle.</p></div>"
    )


def _insert_links(app, doctree, docname):
    if app.builder.format != "html" or not docname.startswith(CHAPTER_PREFIX):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    title_index = next((i for i, child in enumerate(section.children) if isinstance(child, nodes.title)), -1)
    section.insert(title_index + 1, nodes.raw("", _links_html(app, docname), format="html"))


def _with_setup_cell(notebook, wheel_url: str, chapter: bool):
    import nbformat

    cell = nbformat.v4.new_code_cell(setup_cell_source(wheel_url, chapter))
    cell.metadata["tags"] = [SETUP_TAG]
    notebook.cells.insert(0, cell)
    return notebook


def _write_notebooks(app, exception):
    """Write the published notebooks and wheel, and hand them to the JupyterLite build."""
    if exception is not None or app.builder.format != "html":
        return
    import jupytext
    import nbformat

    site: Site = app.diffrn_site
    root = Path(app.srcdir)
    out = Path(app.outdir)
    version = package_version(root)
    wheels = out / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    # setuptools packs whatever is in build/lib: modules since moved or deleted would ship.
    shutil.rmtree(root / "build", ignore_errors=True)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "-w", str(wheels), str(root)], capture_output=True, text=True)
    if built.returncode != 0:
        raise ExtensionError(f"building the course package's wheel failed:\n{built.stderr[-3000:]}")
    wheel = wheels / wheel_name(version)
    if not wheel.is_file():
        raise ExtensionError(f"building the course package gave {sorted(p.name for p in wheels.iterdir())}, "
                             f"not {wheel.name}")
    wheel_url = f"{site.url}wheels/{wheel.name}"

    lite_contents = Path(app.config.jupyterlite_content_dir)
    shutil.rmtree(lite_contents, ignore_errors=True)
    for folder in ("notebooks", "exercises"):
        shutil.rmtree(out / folder, ignore_errors=True)
        (out / folder).mkdir()
    (lite_contents / "chapters").mkdir(parents=True)
    (lite_contents / "exercises").mkdir(parents=True)
    for docname in _chapters(app):
        stem = docname[len(CHAPTER_PREFIX):]
        notebook = jupytext.read(root / f"{docname}.md")
        notebook.metadata.pop("jupytext", None)
        _with_setup_cell(notebook, wheel_url, chapter=True)
        jupytext.write(notebook, out / "notebooks" / f"{stem}.ipynb", fmt="ipynb")
        jupytext.write(notebook, lite_contents / "chapters" / f"{stem}.ipynb", fmt="ipynb")
    release = root / app.config.diffrn_release_dir
    for exercise in sorted(set(app.config.diffrn_exercises.values())):
        student_version = release / exercise / f"{exercise}.ipynb"
        if not student_version.is_file():
            raise ExtensionError(
                f"{student_version} is missing: run `make assignments` before building the book "
                "(`make book` does it)."
            )
        notebook = _with_setup_cell(nbformat.read(str(student_version), as_version=4), wheel_url, chapter=False)
        for target in (out / "exercises", lite_contents / "exercises"):
            nbformat.write(notebook, str(target / f"{exercise}.ipynb"))
    # jupyterlite-sphinx runs `jupyter lite build` next, into lite/ (emptied first: no stale files
    # from an earlier build); its piplite index serves the wheel.
    shutil.rmtree(out / "lite", ignore_errors=True)
    options = dict(app.config.jupyterlite_build_command_options or {})
    options["piplite-wheels"] = str(wheel)
    app.config.jupyterlite_build_command_options = options


def _refuse_live_outputs(app, pagename, templatename, context, doctree):
    """Stop if a chapter's saved widgets are live-mode ones (no frames: dead sliders on the site).

    Builds always execute in frame mode (see _config_inited), so this only fires on outputs that
    an older build left in the execution cache.
    """
    if not pagename.startswith(CHAPTER_PREFIX):
        return
    from myst_nb.sphinx_ import NbMetadataCollector

    state = NbMetadataCollector.get_js_files(app.env, pagename).get("ipywidgets_state")
    if state and '"StackModel"' not in state[1].get("body", ""):
        raise ExtensionError(
            f"{pagename}: its demos were executed live (no frames), so its sliders would do nothing "
            "on the site. These outputs come from an old execution cache: delete _build/.jupyter_cache "
            "and build again."
        )


def _config_inited(app, config):
    # The website has no kernel: demos must be frames. Set here, not by whoever runs the build,
    # so that every build (and so the execution cache) gets the same outputs.
    os.environ[FRAMES_ENV] = "frames"
    theme = config.html_theme_options
    theme["use_download_button"] = False  # the course box offers the notebooks that actually run
    theme.pop("launch_buttons", None)  # the theme's would open the .md sources in Colab
    app.diffrn_site = site_settings(config)
    build = Path(app.outdir).parent / "jupyterlite"
    config.jupyterlite_dir = str(build)
    config.jupyterlite_content_dir = str(build / "contents")
    config.jupyterlite_bind_ipynb_suffix = False
    # jupyterlite-sphinx links a web font from Google on every page; the site stays offline.
    app.registry.css_files[:] = [(name, attrs) for name, attrs in app.registry.css_files
                                 if not str(name).startswith(("http://", "https://"))]


def setup(app):
    app.setup_extension("jupyterlite_sphinx")
    app.add_config_value("diffrn_exercises", {}, "html")
    app.add_config_value("diffrn_launch", {}, "html")
    app.add_config_value("diffrn_release_dir", "autograder/release", "html")  # nbgrader's student versions
    # Before jupyterlite-sphinx's own config-inited (it creates the contents folder).
    app.connect("config-inited", _config_inited, priority=100)
    app.connect("doctree-resolved", _insert_links)
    app.connect("html-page-context", _refuse_live_outputs)
    # Before jupyterlite-sphinx's build-finished (priority 500): the notebooks are its contents.
    app.connect("build-finished", _write_notebooks, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
